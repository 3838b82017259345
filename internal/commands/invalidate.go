package commands

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/config"
	"github.com/cachectl/cachectl/internal/glob"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/invalidate"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/profiles"
	"github.com/cachectl/cachectl/internal/textesc"
)

type invalidateOptions struct {
	IO            *iostreams.IOStreams
	Backend       func(context.Context) (backends.Backend, error)
	Mapper        keyMapper
	CheckWritable func(what string) error
	Resolve       func() (*config.Resolved, error) // for the context's production mark
	Output        outputFormat

	Patterns []string
	DryRun   bool
	Yes      bool
	All      bool
	Batch    int
	Rate     int
	Max      int64
	Backup   string
	// With --backup: add to an existing file, or keep it aside and start
	// anew; --raw-dump saves Redis DUMP payloads.
	BackupAppend, BackupForce, RawDump bool
	// Framework targets (need a --profile): a literal prefix, an aiocache
	// function, a Litestar/Starlite route, a Django/asgi-caches page.
	Prefix, Function, Route, Page string
	match                         func(string) bool
}

// typedConfirmAbove is the count above which a terminal confirmation asks
// for the number of keys to be typed, not just "y".
const typedConfirmAbove = 1000

// NewCmdInvalidate builds `cachectl invalidate`.
func NewCmdInvalidate(f *Factory, runF func(context.Context, *invalidateOptions) error) *cobra.Command {
	opts := &invalidateOptions{IO: f.IO, Backend: f.Backend, Mapper: f.keyMapper(), CheckWritable: f.CheckWritable, Resolve: f.Resolve}
	cmd := &cobra.Command{
		Use:   "invalidate PATTERN...",
		Short: "Delete every key matching glob patterns",
		Long: `Delete every key matching any of the patterns (Redis globs: * ? [abc] [^a]
[a-z], \ escapes), streaming: keys are listed page by page and deleted while
the next page is listed, never all held in memory. Redis deletes with
pipelined UNLINK (DEL on servers before 4.0); Memcached lists each server with
metadump and deletes with pipelined quiet md; HTTP caches delete on their side.
On a Redis Cluster every primary deletes its keys in parallel (--rate and
--max are totals); a failover mid-run is waited for (up to 30s), the keys
whose answer was lost are sent again, and a verification listing ends the run.

Safety: --dry-run counts the matches and shows a sample. On a terminal the
count is shown and confirmed first (the count must be typed above 1000 keys or
in a production context); off a terminal nothing is deleted without --yes
(exit 4). A pattern that matches every key ("*", "**", "?*"…) also needs
--all. Read-only contexts refuse (exit 4).

Ctrl-C stops after the batch in flight and reports exactly what was deleted
(exit 130). An error midway reports the exact count too (exit 1).`,
		Example: `  cachectl invalidate 'user:*' --dry-run
  cachectl invalidate 'user:*' 'session:*' --yes -o json     # in a deploy hook
  cachectl invalidate 'page:*' --yes --rate 5000 --batch 500  # gently, on a busy server
  cachectl invalidate '*' --all --yes`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			patterns, err := opts.Mapper.Patterns(args)
			if err != nil {
				return err
			}
			opts.Patterns = append(opts.Patterns, patterns...)
			if err := opts.addTargets(cmd); err != nil {
				return err
			}
			if len(opts.Patterns) == 0 {
				return usagef("%s needs a PATTERN, or --prefix, --function, --route or --page (see %s --help)", cmd.CommandPath(), cmd.CommandPath())
			}
			if opts.Batch < 1 || opts.Batch > 100000 {
				return usagef("--batch must be between 1 and 100000")
			}
			if opts.Rate < 0 || opts.Max < 0 {
				return usagef("--rate and --max cannot be negative")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return invalidateRun(cmd.Context(), opts)
		},
		ValidArgsFunction: f.completeKeys(-1),
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "count the matching keys and show a sample; delete nothing")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask (needed off a terminal)")
	cmd.Flags().BoolVar(&opts.All, "all", false, `allow a pattern that matches every key ("*", "**", "?*"…)`)
	cmd.Flags().IntVar(&opts.Batch, "batch", 1000, "keys per delete round trip")
	cmd.Flags().IntVar(&opts.Rate, "rate", 0, "at most N deletions per second (0: no limit)")
	cmd.Flags().Int64Var(&opts.Max, "max", 0, "stop after N deletions (0: no limit)")
	cmd.Flags().StringVar(&opts.Prefix, "prefix", "", "delete the keys starting with this literal text (no glob), under the profile's layout")
	cmd.Flags().StringVar(&opts.Function, "function", "", "aiocache: every cached result of module.function (e.g. app.services.get_user)")
	cmd.Flags().StringVar(&opts.Route, "route", "", "litestar, starlite: every cached response of a route, all query strings ('GET /items')")
	cmd.Flags().StringVar(&opts.Page, "page", "", "django, asgi-caches: the cached page and header keys of an absolute URL")
	cmd.Flags().StringVar(&opts.Backup, "backup", "", "write each entry (value, TTL; any Redis type) to FILE as JSON lines before deleting it; cachectl restore FILE brings them back. An existing FILE is refused")
	cmd.Flags().BoolVar(&opts.BackupAppend, "append", false, "with --backup: add to an existing FILE (it must be a whole dump file)")
	cmd.Flags().BoolVar(&opts.BackupForce, "force", false, "with --backup: keep an existing FILE as FILE.~N~ and start a new one")
	cmd.Flags().BoolVar(&opts.RawDump, "raw-dump", false, "with --backup on Redis: save each value as its exact DUMP payload (any type; restorable by Redis of the same major version)")
	return cmd
}

type invalidateJSON struct {
	Patterns    []any   `json:"patterns"`
	Matched     int64   `json:"matched"`
	Deleted     int64   `json:"deleted"`
	Unconfirmed int64   `json:"unconfirmed,omitempty"`
	DryRun      bool    `json:"dry_run"`
	ElapsedMS   int64   `json:"elapsed_ms"`
	Backup      *string `json:"backup"`
	Sample      []any   `json:"sample,omitempty"`
	Interrupted bool    `json:"interrupted,omitempty"`
	Error       string  `json:"error,omitempty"`
	ServerSide  bool    `json:"server_side,omitempty"`
	// Sharded backends and ride-throughs only, so that the document of a
	// single server stays as it was.
	Nodes []invalidateNodeJSON `json:"nodes,omitempty"`
	// Workers: nodes are the workers of an app (a replica set), each of
	// which was run on its own.
	Workers   bool  `json:"workers,omitempty"`
	Recovered int   `json:"recovered,omitempty"`
	Rounds    int   `json:"rounds,omitempty"`
	Verified  int64 `json:"verified,omitempty"`
	Restored  int64 `json:"restored,omitempty"`
	// MaybeCountedTwice: up to this many keys may be in matched and
	// deleted twice (more deletes than the run remembers, then a failover).
	MaybeCountedTwice int64 `json:"maybe_counted_twice,omitempty"`
	// MaybeBack: up to this many of the keys counted as deleted may be
	// back (Max reached after a failover, and the run stopped before it
	// had deleted again what the failover brought back).
	MaybeBack int64 `json:"maybe_back,omitempty"`
}

type invalidateNodeJSON struct {
	Node        string `json:"node"`
	Matched     int64  `json:"matched"`
	Deleted     int64  `json:"deleted"`
	Unconfirmed int64  `json:"unconfirmed"`
	// Error: why a worker of a replica set did not finish (the others went on).
	Error string `json:"error,omitempty"`
}

// addTargets turns --prefix, --function, --route and --page into patterns
// plus an exact check. Only one framework target at a time: each has its own
// exact rule.
func (opts *invalidateOptions) addTargets(cmd *cobra.Command) error {
	given := 0
	for _, name := range []string{"prefix", "function", "route", "page"} {
		if cmd.Flags().Changed(name) {
			given++
		}
	}
	if given == 0 {
		return nil
	}
	if given > 1 || len(opts.Patterns) > 0 {
		return usagef("give one of PATTERN, --prefix, --function, --route or --page")
	}
	prof, err := opts.Mapper.Profile()
	if err != nil {
		return err
	}
	var t *profiles.Target
	switch {
	case cmd.Flags().Changed("prefix"):
		// Mapped as keys --prefix maps it; empty, it would be every key.
		k, err := opts.Mapper.Parse(opts.Prefix)
		if err != nil {
			return err
		}
		if k == "" {
			return usagef("--prefix needs some text (the whole cache is PATTERN '*' with --all)")
		}
		p, err := opts.Mapper.PrefixPattern(opts.Prefix)
		if err != nil {
			return err
		}
		opts.Patterns = []string{p}
		return nil
	case cmd.Flags().Changed("function"):
		t, err = prof.Function(opts.Function)
	case cmd.Flags().Changed("route"):
		t, err = prof.Route(opts.Route)
	default:
		t, err = prof.Page(opts.Page)
	}
	if err != nil {
		return usagef("%v", err)
	}
	opts.Patterns, opts.match = t.Patterns, t.Match
	return nil
}

func invalidateRun(ctx context.Context, opts *invalidateOptions) error {
	for _, p := range opts.Patterns {
		// By meaning, not spelling: "**" and "?*" delete everything too.
		if glob.MatchesAll(p) && !opts.All {
			return &RefusedError{Msg: fmt.Sprintf("refusing to delete every key: the pattern %s matches them all, which also needs --all", textesc.Key(p))}
		}
	}
	if err := opts.checkBackup(); err != nil {
		return err
	}
	what := "invalidate " + textesc.Keys(opts.Patterns)
	if !opts.DryRun {
		if err := opts.CheckWritable(what); err != nil {
			return err
		}
		if !opts.Yes && !opts.IO.CanPrompt() {
			return &RefusedError{Msg: "refusing to " + what + " without --yes: standard input is not a terminal to confirm on (try --dry-run first)"}
		}
	}
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := checkRawDump(b, opts.RawDump); err != nil {
		return err
	}

	if !opts.DryRun && !opts.Yes {
		// Count first, then ask.
		pre, err := invalidate.Run(ctx, b, invalidate.Options{Patterns: opts.Patterns, Match: opts.match, DryRun: true, Sample: 5})
		if err != nil {
			return fmt.Errorf("count the matching keys: %w", err)
		}
		if pre.Matched == 0 {
			fmt.Fprintf(opts.IO.ErrOut, "no keys match %s; nothing to delete\n", textesc.Keys(opts.Patterns))
			// Nothing to confirm: the outcome is --yes's (0 deleted), not
			// a dry run, which is only what --dry-run asks for.
			pre.DryRun = false
			return writeInvalidate(opts, pre, nil)
		}
		ok, err := confirmInvalidate(opts, pre)
		if err != nil {
			return err
		}
		if !ok {
			return &RefusedError{Msg: "not confirmed; nothing was deleted"}
		}
	}

	run := invalidate.Options{
		Patterns: opts.Patterns,
		Match:    opts.match,
		DryRun:   opts.DryRun,
		Batch:    opts.Batch,
		Rate:     opts.Rate,
		Max:      opts.Max,
	}
	if opts.Backup != "" && !opts.DryRun {
		before, closeBackup, err := opts.backupHook()
		if err != nil {
			return err
		}
		defer closeBackup()
		run.Before, run.BeforeOn = before(b), before
	}
	progress := newProgressLine(opts.IO, opts.DryRun)
	run.Progress = progress.update
	sum, runErr := invalidate.Run(ctx, b, run)
	progress.done()
	return writeInvalidate(opts, sum, runErr)
}

// confirmInvalidate asks on the terminal: y/N, or the count typed out when
// there are many keys or the context is marked production.
func confirmInvalidate(opts *invalidateOptions, pre invalidate.Summary) (bool, error) {
	errOut := opts.IO.ErrOut
	cs := opts.IO.ColorScheme()
	r, _ := opts.Resolve()
	production := r != nil && r.Context != nil && r.Context.Production
	fmt.Fprintf(errOut, "%s %d key(s) match %s, e.g.:\n", cs.Yellow("!"), pre.Matched, textesc.Keys(opts.Patterns))
	for _, k := range pre.Sample {
		fmt.Fprintf(errOut, "    %s\n", textesc.Key(k))
	}
	in := bufio.NewReader(opts.IO.In)
	if production || pre.Matched > typedConfirmAbove {
		why := "that many keys"
		if production {
			why = "a production context"
		}
		fmt.Fprintf(errOut, "This deletes them (%s). Type %d to go on: ", why, pre.Matched)
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			return false, nil
		}
		return strings.TrimSpace(line) == strconv.FormatInt(pre.Matched, 10), nil
	}
	fmt.Fprint(errOut, "Delete them? [y/N] ")
	line, err := in.ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}

// writeInvalidate reports a run: the JSON summary, or a line for people; then
// the exit status (1 for an error, 130 for Ctrl-C) with exact counts.
func writeInvalidate(opts *invalidateOptions, sum invalidate.Summary, runErr error) error {
	interrupted := errors.Is(runErr, context.Canceled)
	if opts.Output.JSON() {
		doc := invalidateJSON{Matched: sum.Matched, Deleted: sum.Deleted, Unconfirmed: sum.Unconfirmed, DryRun: sum.DryRun,
			ElapsedMS: sum.Elapsed.Milliseconds(), Interrupted: interrupted, ServerSide: sum.ServerSide,
			Recovered: sum.Recovered, Rounds: sum.Rounds, Verified: sum.Verified, Restored: sum.Restored, MaybeCountedTwice: sum.MaybeCountedTwice,
			MaybeBack: sum.MaybeBack}
		doc.Workers = sum.Workers
		for _, n := range sum.Nodes {
			nj := invalidateNodeJSON{Node: n.Node, Matched: n.Matched, Deleted: n.Deleted, Unconfirmed: n.Unconfirmed}
			if n.Err != nil {
				nj.Error = ErrorMessage(n.Err)
			}
			doc.Nodes = append(doc.Nodes, nj)
		}
		for _, p := range opts.Patterns {
			doc.Patterns = append(doc.Patterns, jsonKey(p))
		}
		for _, k := range sum.Sample {
			doc.Sample = append(doc.Sample, jsonKey(k))
		}
		if runErr != nil && !interrupted {
			doc.Error = ErrorMessage(runErr)
		}
		if inner := inFlightErr(runErr); inner != nil {
			doc.Error = ErrorMessage(inner) // what became of the batch in flight
		}
		if opts.Backup != "" && !opts.DryRun {
			doc.Backup = &opts.Backup
		}
		if err := writeJSON(opts.IO.Out, opts.IO.IsStdoutTTY(), doc); err != nil {
			return err
		}
	} else {
		w := opts.IO.Out
		switch {
		case sum.DryRun && runErr != nil:
			// A count cut short is a lower bound, not the answer.
			fmt.Fprintf(w, "at least %d key(s) match %s (dry run stopped early: nothing deleted)\n", sum.Matched, textesc.Keys(opts.Patterns))
		case sum.DryRun:
			fmt.Fprintf(w, "%d key(s) match %s (dry run: nothing deleted)\n", sum.Matched, textesc.Keys(opts.Patterns))
			for _, k := range sum.Sample {
				fmt.Fprintf(w, "  %s\n", textesc.Key(k))
			}
		default:
			fmt.Fprintf(w, "deleted %d key(s) matching %s in %s\n", sum.Deleted, textesc.Keys(opts.Patterns), human.Duration(sum.Elapsed.Round(time.Millisecond)))
		}
		if sum.Workers {
			workerLines(w, sum)
		}
		if runErr == nil {
			rideThroughNotes(opts.IO, sum)
		}
		if sum.MaybeBack > 0 {
			fmt.Fprintf(opts.IO.ErrOut, "%s up to %d of the key(s) counted as deleted may be present again: --max was reached after a failover, and the run stopped before it had deleted again the keys the failover brought back\n",
				opts.IO.ColorScheme().Dim("note:"), sum.MaybeBack)
		}
	}
	var partial *backends.PartialError
	switch {
	case runErr == nil:
		return nil
	case errors.As(runErr, &partial) && !interrupted:
		// The other workers went on: the figures above are exact, the error
		// names the workers that did not.
		return runErr
	case sum.DryRun && interrupted:
		fmt.Fprintf(opts.IO.ErrOut, "interrupted: counted %d matching key(s) before stopping; nothing was deleted (dry run)\n", sum.Matched)
		return &silentError{err: runErr}
	case sum.DryRun:
		return fmt.Errorf("stopped after counting %d matching key(s); nothing was deleted (dry run): %w", sum.Matched, runErr)
	case interrupted && sum.Unconfirmed > 0 && inFlightErr(runErr) != nil:
		// Ctrl-C came while a batch was in flight, and its count never came.
		fmt.Fprintf(opts.IO.ErrOut, "interrupted: deleted %d key(s) before stopping; up to %d more may or may not have been deleted (unconfirmed): %s\n",
			sum.Deleted, sum.Unconfirmed, ErrorMessage(inFlightErr(runErr)))
		return &silentError{err: runErr}
	case interrupted:
		fmt.Fprintf(opts.IO.ErrOut, "interrupted: deleted %d key(s) before stopping\n", sum.Deleted)
		return &silentError{err: runErr}
	case sum.Unconfirmed > 0:
		return fmt.Errorf("stopped after deleting %d key(s); up to %d more may or may not have been deleted (unconfirmed): %w", sum.Deleted, sum.Unconfirmed, runErr)
	}
	return fmt.Errorf("stopped after deleting %d key(s): %w", sum.Deleted, runErr)
}

// workerLines are the figures of each worker of a replica set, in member
// order, below the total: a worker that failed says why.
func workerLines(w io.Writer, sum invalidate.Summary) {
	for _, n := range sum.Nodes {
		name := textesc.Line(n.Node)
		switch {
		case n.Err != nil && sum.DryRun:
			fmt.Fprintf(w, "  worker %s: at least %d match, then failed: %s\n", name, n.Matched, ErrorMessage(n.Err))
		case n.Err != nil:
			fmt.Fprintf(w, "  worker %s: deleted %d, then failed: %s\n", name, n.Deleted, ErrorMessage(n.Err))
		case sum.DryRun:
			fmt.Fprintf(w, "  worker %s: %d match\n", name, n.Matched)
		default:
			fmt.Fprintf(w, "  worker %s: deleted %d\n", name, n.Deleted)
		}
	}
}

// rideThroughNotes says, after a run that succeeded, what a failover (or a
// reshard) did to it: the keys whose answer was lost are not in the count,
// the keys a failover brought back are not in it twice, and the
// verification listing is why the run still says "done".
func rideThroughNotes(ios *iostreams.IOStreams, sum invalidate.Summary) {
	note := ios.ColorScheme().Dim("note:")
	if sum.Recovered > 0 {
		fmt.Fprintf(ios.ErrOut, "%s rode through %d failover(s): the run went on once the deployment answered again\n", note, sum.Recovered)
	}
	if sum.Unconfirmed > 0 {
		fmt.Fprintf(ios.ErrOut, "%s %d key(s) unconfirmed: their answer was lost in a failover and they were gone when sent again (most likely deleted by this run, not in its count)\n", note, sum.Unconfirmed)
	}
	if sum.Restored > 0 {
		fmt.Fprintf(ios.ErrOut, "%s %d key(s) this run had deleted came back (deletes a failed primary had acknowledged, or written again) and were deleted again: counted once, not in the count again\n", note, sum.Restored)
	}
	if sum.MaybeCountedTwice > 0 {
		fmt.Fprintf(ios.ErrOut, "%s up to %d key(s) may be counted twice: the run deleted more keys since the deployment was last stable than the %d it remembers\n", note, sum.MaybeCountedTwice, invalidate.MemoryKeys)
	}
	switch {
	case sum.Verified > 0:
		fmt.Fprintf(ios.ErrOut, "%s the verification listing found %d matching key(s) this run had not deleted (missed by a listing the failover disturbed, or written meanwhile) and deleted them\n", note, sum.Verified)
	case (sum.Recovered > 0 || sum.Unconfirmed > 0) && sum.Restored > 0:
		fmt.Fprintf(ios.ErrOut, "%s the verification listing found no other matching key left\n", note)
	case sum.Recovered > 0 || sum.Unconfirmed > 0:
		fmt.Fprintf(ios.ErrOut, "%s the verification listing found none left\n", note)
	}
}

// inFlightErr is why the batch in flight at Ctrl-C failed, or nil.
func inFlightErr(err error) error {
	var ie *invalidate.InterruptedError
	if errors.As(err, &ie) {
		return ie.Err
	}
	return nil
}

// progressLine rewrites one stderr line on a terminal; elsewhere it is
// silent. On a sharded backend it draws one more line per primary below the
// total, redrawn in place.
type progressLine struct {
	out    io.Writer
	on     bool
	dryRun bool // counting only: the line says matched, never deleted
	width  int
	last   time.Time
	drawn  int // lines on screen
}

// maxNodeLines bounds the per-node lines: a big cluster's figures beyond
// it are summed on one line.
const maxNodeLines = 8

func newProgressLine(ios *iostreams.IOStreams, dryRun bool) *progressLine {
	return &progressLine{out: ios.ErrOut, on: ios.IsStderrTTY(), dryRun: dryRun, width: ios.TerminalWidth()}
}

func (p *progressLine) update(pr invalidate.Progress) {
	if !p.on || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	n := pr.Deleted // the rate is of what the run does: delete, or in a dry run count
	if p.dryRun {
		n = pr.Matched
	}
	rate := 0.0
	if s := pr.Elapsed.Seconds(); s > 0 {
		rate = float64(n) / s
	}
	var lines []string
	if p.dryRun {
		lines = append(lines, fmt.Sprintf("%d matched so far (%.0f keys/s)", pr.Matched, rate))
	} else {
		lines = append(lines, fmt.Sprintf("deleted %d of %d matched so far (%.0f keys/s)", pr.Deleted, pr.Matched, rate))
	}
	if len(pr.Nodes) > 1 {
		lines = append(lines, p.nodeLines(pr.Nodes)...)
	}
	p.draw(lines)
}

// nodeLines are the per-primary figures, the node's name escaped (a
// cluster's servers name themselves) and cut to the terminal's width.
func (p *progressLine) nodeLines(nodes []invalidate.NodeProgress) []string {
	figures := func(m, d int64) string {
		if p.dryRun {
			return fmt.Sprintf("%d matched", m)
		}
		return fmt.Sprintf("deleted %d of %d", d, m)
	}
	var lines []string
	for i, n := range nodes {
		if i == maxNodeLines-1 && len(nodes) > maxNodeLines {
			var m, d int64
			for _, rest := range nodes[i:] {
				m, d = m+rest.Matched, d+rest.Deleted
			}
			lines = append(lines, fmt.Sprintf("  %d more nodes: %s", len(nodes)-i, figures(m, d)))
			break
		}
		fig := figures(n.Matched, n.Deleted)
		// The figures always show; a long name gives way.
		name := human.Cut(textesc.Line(n.Node), max(p.width-len(fig)-6, 8))
		lines = append(lines, fmt.Sprintf("  %s: %s", name, fig))
	}
	return lines
}

// draw replaces the lines on screen with lines: back up to the first,
// rewrite each, clear what is left below.
func (p *progressLine) draw(lines []string) {
	var b strings.Builder
	if p.drawn > 1 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn-1)
	}
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("\r\x1b[K")
		// A line that wraps would throw the backing up off by one.
		b.WriteString(human.Cut(l, max(p.width-1, 8)))
	}
	if len(lines) < p.drawn {
		b.WriteString("\x1b[J")
	}
	p.drawn = len(lines)
	io.WriteString(p.out, b.String())
}

func (p *progressLine) done() {
	switch {
	case p.drawn == 1:
		fmt.Fprint(p.out, "\r\x1b[K")
	case p.drawn > 1:
		fmt.Fprintf(p.out, "\x1b[%dA\r\x1b[J", p.drawn-1)
	}
	p.drawn = 0
}
