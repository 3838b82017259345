package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/analyze/report"
	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/textesc"
)

type hotOptions struct {
	IO      *iostreams.IOStreams
	Backend func(context.Context) (backends.Backend, error)
	Mapper  keyMapper
	Output  outputFormat

	Patterns []string
	Duration time.Duration
	// DurationSet: --duration was given (the LFU counters need none).
	DurationSet bool
	Top         int
	Method      string
	Capacity    int
}

// hotMethods are what --method accepts ("auto": the backend chooses).
var hotMethods = []string{"auto", backends.HotCPU, backends.HotMonitor, backends.HotFreq, backends.HotFetchers}

// NewCmdHot builds `cachectl hot`.
func NewCmdHot(f *Factory, runF func(context.Context, *hotOptions) error) *cobra.Command {
	opts := &hotOptions{IO: f.IO, Backend: f.Backend, Mapper: f.keyMapper()}
	cmd := &cobra.Command{
		Use:   "hot [PATTERN...]",
		Short: "Show the most accessed keys, and how the figures were measured",
		Long: `Find the hot keys among those matching the patterns (default every key), and
say which method produced the figures and what they mean:

  hotkeys      Redis 8.6+ (where the server has HOTKEYS): its own tracking of
               the CPU time spent per key, for --duration. Untested: no
               Redis 8.6 was at hand; if it cannot start, the next method
               is used, with a note.
  object-freq  Redis under an LFU maxmemory policy (allkeys-lfu, volatile-lfu):
               OBJECT FREQ of every matching key (SCAN, pipelined), read at
               once; --duration is not needed. The figure is Redis' LFU
               counter (0-255): logarithmic and decaying, so it ranks keys but
               is not a count.
  monitor      Redis otherwise: MONITOR for --duration, every key access of
               the commands seen counted per key (reads and writes; key
               positions from COMMAND). MONITOR copies every command to
               cachectl and slows a busy server while it runs: keep the
               duration short. Needs the monitor permission (ACL @admin).
  fetchers     Memcached (1.5.19+): the "watch fetchers" log of every server
               of the pool for --duration, reads that found their item
               counted per key.

On a Redis Cluster every primary is measured, each key named with its node,
with per-node totals; behind Sentinel, the master. Reads served by replicas
are not seen. A sample counts at most 10000 distinct keys exactly; beyond,
counts are marked approximate (~), over-counting by at most the figure shown.
HTTP caches report no reads, so they have no hot keys to show.

Ctrl-C ends a sample early and prints what was measured (exit 130; with
--duration 0 the sample runs until Ctrl-C, its normal end, exit 0).`,
		Example: `  cachectl hot
  cachectl hot 'session:*' --duration 30s --top 20
  cachectl -u redis+cluster://node1:7000 hot -o json | jq '.keys[:5]'
  cachectl -u memcached://mc1,mc2 hot --duration 1m`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			opts.DurationSet = cmd.Flags().Changed("duration")
			patterns, err := opts.Mapper.Patterns(args)
			if err != nil {
				return err
			}
			opts.Patterns = append(opts.Patterns, patterns...)
			switch {
			case opts.Duration < 0:
				return usagef("--duration cannot be negative")
			case opts.Top < 1 || opts.Top > 10000:
				return usagef("--top must be between 1 and 10000")
			case opts.Capacity < 10 || opts.Capacity > 1000000:
				return usagef("--capacity must be between 10 and 1000000")
			case !slices.Contains(hotMethods, opts.Method):
				return usagef("invalid --method %q: want %s", opts.Method, strings.Join(hotMethods, ", "))
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return hotRun(cmd.Context(), opts)
		},
		ValidArgsFunction: f.completeKeys(-1),
	}
	cmd.Flags().DurationVar(&opts.Duration, "duration", 10*time.Second, "how long a sample runs (monitor, fetchers); 0: until Ctrl-C")
	cmd.Flags().IntVar(&opts.Top, "top", 10, "how many keys to show")
	cmd.Flags().StringVar(&opts.Method, "method", "auto", "how to measure: auto, hotkeys, monitor, object-freq (Redis) or fetchers (memcached)")
	cmd.Flags().IntVar(&opts.Capacity, "capacity", backends.DefaultHotCapacity, "distinct keys a sample counts (exact below, approximate above)")
	_ = cmd.Flags().MarkHidden("capacity")
	_ = cmd.RegisterFlagCompletionFunc("method", fixedCompletion(hotMethods...))
	return cmd
}

// hotNotes collects the backend's remarks, once each.
type hotNotes struct {
	mu    sync.Mutex
	notes []string
}

func (n *hotNotes) add(msg string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !slices.Contains(n.notes, msg) {
		n.notes = append(n.notes, msg)
	}
}

func (n *hotNotes) list() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.notes)
}

func hotRun(ctx context.Context, opts *hotOptions) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	info := b.Describe()
	hk, ok := b.(backends.HotKeyer)
	if !ok {
		return usagef("hot keys need Redis or Memcached: %s caches report no reads to count", info.Kind)
	}
	prof, err := opts.Mapper.Profile()
	if err != nil {
		return err
	}
	method := opts.Method
	if method == "auto" {
		method = ""
	}
	notes := &hotNotes{}
	cs := opts.IO.ColorScheme()
	ho := backends.HotOptions{
		Patterns: opts.Patterns, Duration: opts.Duration, Top: opts.Top, Capacity: opts.Capacity, Method: method,
		Note: notes.add,
		Started: func(m string) {
			// Where messages belong, and before the wait: the user knows
			// what runs and what it costs while it does.
			switch m {
			case backends.HotMonitor:
				fmt.Fprintf(opts.IO.ErrOut, "%s MONITOR copies every command the server runs to cachectl, which slows a busy server while it runs\n", cs.Yellow("warning:"))
				fmt.Fprintf(opts.IO.ErrOut, "sampling commands with MONITOR %s (Ctrl-C stops early)\n", hotFor(opts.Duration))
			case backends.HotFetchers:
				fmt.Fprintf(opts.IO.ErrOut, "counting reads from watch fetchers on %s %s (Ctrl-C stops early)\n", textesc.Line(info.Address), hotFor(opts.Duration))
			case backends.HotCPU:
				fmt.Fprintf(opts.IO.ErrOut, "tracking CPU time per key with HOTKEYS on %s %s (Ctrl-C stops early)\n", textesc.Line(info.Address), hotFor(opts.Duration))
			case backends.HotFreq:
				fmt.Fprintf(opts.IO.ErrOut, "reading the LFU counters of the keys on %s (Ctrl-C stops early)\n", textesc.Line(info.Address))
			}
		},
	}
	started := time.Now()
	rep, runErr := hk.HotKeys(ctx, ho)
	if rep == nil {
		if runErr == nil {
			runErr = errors.New("no report")
		}
		if m := hotMethodOf(runErr); m != "" {
			return fmt.Errorf("%s: %w", m, runErr)
		}
		return runErr
	}
	interrupted := ctx.Err() != nil
	if rep.LongKeys > 0 {
		notes.add(fmt.Sprintf("%d access(es) of keys longer than %d bytes were counted by their first %d bytes", rep.LongKeys, backends.MaxHotKeyLen, backends.MaxHotKeyLen))
	}
	if rep.Method == backends.HotFreq && opts.DurationSet {
		notes.add("--duration does not apply to the LFU counters: they were read at once")
	}
	for _, n := range notes.list() {
		fmt.Fprintln(opts.IO.ErrOut, cs.Dim("note:")+" "+textesc.Line(n))
	}
	hr := &hotResult{info: info, rep: rep, patterns: opts.Patterns, keys: &keyPrinter{prof: prof}, notes: notes.list(),
		elapsed: time.Since(started), partial: interrupted || runErr != nil, asked: opts.Duration}
	if opts.Output.JSON() {
		err = writeJSON(opts.IO.Out, opts.IO.IsStdoutTTY(), hr.json(runErr))
	} else {
		w := &errWriter{w: opts.IO.Out}
		hr.print(w, opts.IO)
		err = w.err
	}
	if err != nil {
		return err
	}
	switch {
	case interrupted && opts.Duration == 0 && rep.Method != backends.HotFreq:
		return errStopped // a sample until Ctrl-C ends this way
	case interrupted:
		fmt.Fprintf(opts.IO.ErrOut, "interrupted after %s: the figures above cover that time only\n", rep.Duration.Round(time.Millisecond))
		if runErr == nil {
			runErr = ctx.Err()
		}
		return &silentError{err: runErr}
	case runErr != nil:
		return fmt.Errorf("stopped early (the figures above cover what was measured): %w", runErr)
	}
	return nil
}

// hotMethodOf names what a refusal stopped, for a PermissionError whose
// command tells it.
func hotMethodOf(err error) string {
	var pe *backends.PermissionError
	if !errors.As(err, &pe) {
		return ""
	}
	switch pe.Command {
	case "monitor":
		return "cannot sample commands with MONITOR (used when the maxmemory-policy is not an LFU one)"
	case "object|freq":
		return "cannot read the LFU counters (OBJECT FREQ)"
	}
	return ""
}

func hotFor(d time.Duration) string {
	if d == 0 {
		return "until Ctrl-C"
	}
	return "for " + d.String()
}

// hotResult is what `hot` prints.
type hotResult struct {
	info     backends.Info
	rep      *backends.HotReport
	patterns []string
	keys     *keyPrinter
	notes    []string
	elapsed  time.Duration
	partial  bool
	asked    time.Duration
}

// limits says what the method's figures are and are not.
func (h *hotResult) limits() string {
	switch h.rep.Method {
	case backends.HotFreq:
		return "Redis' LFU counter (0-255): grows logarithmically with accesses and decays with idle time (lfu-log-factor, lfu-decay-time); it ranks keys, it is not a count"
	case backends.HotMonitor:
		return "key accesses (reads and writes) of the commands seen in this sample only, keys by COMMAND's key positions: a script's keys through its own calls; the sources of movable-key commands (ZUNIONSTORE, XREAD, SORT BY) and container subcommands (OBJECT, MEMORY USAGE) are not counted; reads served by replicas are not seen; MONITOR slows the server while it runs"
	case backends.HotCPU:
		return "the server's own HOTKEYS tracking (Redis 8.6+; untested by cachectl): CPU time spent on each key during the sample, in microseconds, its top keys as the server ranks them (the patterns are applied to those afterwards); not a count of accesses"
	case backends.HotFetchers:
		return "reads that found their item (get, gets, gat, mg hits) during the sample only; misses are not counted, nor writes (memcached logs a write's own lookup as a read: it is told apart by the write that follows); lookups of touch and delete count as reads; entries the server drops when the watch falls behind are lost"
	}
	return ""
}

// headline is the method line: "MONITOR sample for 10s: 12345 commands
// seen, 11000 key accesses counted".
func (h *hotResult) headline() string {
	r := h.rep
	took := r.Duration.Round(time.Millisecond)
	switch r.Method {
	case backends.HotFreq:
		return fmt.Sprintf("OBJECT FREQ (LFU counter, logarithmic, not a count): %d key(s) read", r.Commands)
	case backends.HotMonitor:
		return fmt.Sprintf("MONITOR sample for %s: %d command(s) seen, %d key access(es) counted; MONITOR slows the server", took, r.Commands, r.Accesses)
	case backends.HotFetchers:
		return fmt.Sprintf("watch fetchers for %s: %d read(s) seen", took, r.Accesses)
	case backends.HotCPU:
		return fmt.Sprintf("HOTKEYS for %s: CPU time per key, in microseconds (untested)", took)
	}
	return r.Method
}

func (h *hotResult) several() bool { return len(h.rep.Nodes) > 1 }

// hotJSON is `hot -o json` (README "JSON output").
type hotJSON struct {
	Backend  string `json:"backend"`
	Address  string `json:"address"`
	Patterns []any  `json:"patterns"`
	// Method is monitor, object-freq or fetchers; Limits says in words
	// what its figures are.
	Method     string `json:"method"`
	Limits     string `json:"limits"`
	DurationMS int64  `json:"duration_ms"`
	// SampledCommands: commands (monitor), reads (fetchers) or keys read
	// (object-freq); KeyAccesses: the accesses counted.
	SampledCommands int64 `json:"sampled_commands"`
	KeyAccesses     int64 `json:"key_accesses"`
	// Approximate: more distinct keys than the table holds; a count may
	// over-count by its "overcount". Gaps: some traffic was not seen.
	Approximate bool          `json:"approximate"`
	Gaps        bool          `json:"gaps"`
	Partial     bool          `json:"partial"`
	Keys        []hotKeyJSON  `json:"keys"`
	Nodes       []hotNodeJSON `json:"nodes"`
	Notes       []string      `json:"notes,omitempty"`
	Error       string        `json:"error,omitempty"`
}

type hotKeyJSON struct {
	Key       any    `json:"key"`
	StoredKey any    `json:"stored_key,omitempty"`
	Count     *int64 `json:"count,omitempty"`
	Overcount *int64 `json:"overcount,omitempty"`
	Freq      *int64 `json:"freq,omitempty"`
	CPU       *int64 `json:"cpu_us,omitempty"`
	Node      string `json:"node"`
}

type hotNodeJSON struct {
	Node     string `json:"node"`
	Commands int64  `json:"commands"`
	Accesses int64  `json:"accesses"`
	Error    string `json:"error,omitempty"`
}

func (h *hotResult) json(runErr error) hotJSON {
	r := h.rep
	doc := hotJSON{Backend: h.info.Kind, Address: h.info.Address, Patterns: []any{}, Method: r.Method, Limits: h.limits(),
		DurationMS: r.Duration.Milliseconds(), SampledCommands: r.Commands, KeyAccesses: r.Accesses,
		Approximate: r.Approximate, Gaps: r.Gaps, Partial: h.partial, Keys: []hotKeyJSON{}, Nodes: []hotNodeJSON{}, Notes: h.notes}
	for _, p := range h.patterns {
		doc.Patterns = append(doc.Patterns, jsonKey(p))
	}
	for _, k := range r.Keys {
		u, stored := h.keys.shown(k.Key)
		kj := hotKeyJSON{Key: jsonKey(u), StoredKey: stored, Node: k.Node}
		switch r.Method {
		case backends.HotFreq:
			kj.Freq = &k.Freq
		case backends.HotCPU:
			kj.CPU = &k.CPU
		default:
			kj.Count = &k.Count
			if r.Approximate {
				kj.Overcount = &k.Error
			}
		}
		doc.Keys = append(doc.Keys, kj)
	}
	for _, n := range r.Nodes {
		doc.Nodes = append(doc.Nodes, hotNodeJSON{Node: n.Node, Commands: n.Commands, Accesses: n.Accesses, Error: n.Err})
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		doc.Error = ErrorMessage(runErr)
	}
	return doc
}

func (h *hotResult) print(w io.Writer, ios *iostreams.IOStreams) {
	cs := ios.ColorScheme()
	r := h.rep
	what := "hot keys"
	if h.partial {
		what = "hot keys (partial)"
	}
	matching := ""
	if len(h.patterns) > 0 {
		matching = " matching " + textesc.Keys(h.patterns)
	}
	fmt.Fprintf(w, "%s%s on %s\n", what, matching, textesc.Line(h.info.Address))
	fmt.Fprintf(w, "  %s  %s\n", cs.Bold("method"), h.headline())
	for i, line := range wrapWords(h.limits(), 88) {
		label := "      "
		if i == 0 {
			label = cs.Bold("limits")
		}
		fmt.Fprintf(w, "  %s  %s\n", label, cs.Dim(line))
	}
	if r.Gaps {
		fmt.Fprintf(w, "  %s\n", cs.Yellow("some of the traffic was not seen: the counts are lower bounds"))
	}
	fmt.Fprintln(w)
	if len(r.Keys) == 0 {
		fmt.Fprintln(w, "  "+cs.Dim("no key"+matching+" was seen"))
	} else {
		figure, counted := "COUNT", true
		switch r.Method {
		case backends.HotFreq:
			figure, counted = "FREQ", false
		case backends.HotCPU:
			figure, counted = "CPU µs", false
		}
		head := []string{"RANK", figure}
		if counted {
			head = append(head, "SHARE")
		}
		if h.several() {
			head = append(head, "NODE")
		}
		t := report.NewTable(append(head, "KEY")...)
		for i, k := range r.Keys {
			u, _ := h.keys.shown(k.Key)
			cells := []string{fmt.Sprint(i + 1)}
			switch r.Method {
			case backends.HotFreq:
				cells = append(cells, fmt.Sprint(k.Freq))
			case backends.HotCPU:
				cells = append(cells, fmt.Sprint(k.CPU))
			default:
				cells = append(cells, report.Approx(k.Count, k.Error > 0), report.Share(k.Count, r.Accesses))
			}
			if h.several() {
				cells = append(cells, textesc.Line(k.Node))
			}
			t.Row(append(cells, human.Cut(textesc.Key(u), report.MaxKeyWidth))...)
		}
		t.Print(w, cs)
		if r.Approximate {
			fmt.Fprintln(w, "  "+cs.Dim("~ approximate: more distinct keys than the sample counts; a ~ row may over-count, and rarely seen keys may be missing"))
		}
	}
	if h.several() {
		fmt.Fprintln(w)
		label := strings.ToUpper(nodeLabel(h.info, false))
		if label == "" {
			label = "NODE"
		}
		figure, accesses := "COMMANDS", "ACCESSES"
		switch r.Method {
		case backends.HotFreq:
			figure = "KEYS READ"
		case backends.HotCPU:
			figure = "KEYS"
		case backends.HotFetchers:
			figure = "READS"
		}
		cols := []string{label, figure}
		if r.Method == backends.HotMonitor {
			cols = append(cols, accesses)
		}
		failed := slices.ContainsFunc(r.Nodes, func(n backends.HotNode) bool { return n.Err != "" })
		if failed {
			cols = append(cols, "STATUS")
		}
		t := report.NewTable(cols...)
		for _, n := range r.Nodes {
			cells := []string{textesc.Line(n.Node), fmt.Sprint(n.Commands)}
			if r.Method == backends.HotMonitor {
				cells = append(cells, fmt.Sprint(n.Accesses))
			}
			if failed {
				status := "ok"
				if n.Err != "" {
					status = "stopped early: " + textesc.Line(n.Err)
				}
				cells = append(cells, status)
			}
			t.Row(cells...)
		}
		t.Print(w, cs)
	}
}

// wrapWords breaks text into lines of at most width bytes where it can.
func wrapWords(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
