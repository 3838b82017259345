package commands

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/analyze"
	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/glob"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/profiles"
	"github.com/cachectl/cachectl/internal/serial"
)

type analyzeOptions struct {
	IO      *iostreams.IOStreams
	Backend func(context.Context) (backends.Backend, error)
	Mapper  keyMapper
	Output  outputFormat

	Patterns  []string
	Depth     int
	Delimiter string
	Top       int
	Sample    int64
	Capacity  int
	// Formats: how many values' first bytes are read to tell the format
	// mix: "sample", "all" or "none"; "" for the backend's default.
	Formats string
}

// Format sniffing reads headBytes of a value (enough for every magic
// number, a msgpack header, a UUID lock value whole); of every key up to
// headFirst, then of every headEvery-th: on Redis reading every head costs
// about an eighth more of the server's time, for a mix a sample tells as well.
const (
	headBytes = 40
	headFirst = 100000
	headEvery = 10
)

// NewCmdAnalyze builds `cachectl analyze`.
func NewCmdAnalyze(f *Factory, runF func(context.Context, *analyzeOptions) error) *cobra.Command {
	opts := &analyzeOptions{IO: f.IO, Backend: f.Backend, Mapper: f.keyMapper()}
	cmd := &cobra.Command{
		Use:   "analyze [PATTERN...]",
		Short: "Show what fills the cache: bytes per prefix, TTLs, formats, biggest keys",
		Long: `Analyze the keys matching the patterns (default "*") in one streaming pass
and show what fills the cache: totals; keys and bytes per key prefix, up to
--depth levels of --delimiter; the TTL distribution; the format mix of the
values; the keys without a TTL; the --top biggest keys; and under --profile
the framework targets (aiocache functions, Litestar routes, Django pages).
On a Redis Cluster, a Memcached pool or an app's workers: per node and in total.

Bytes are the server's own accounting where it has one (Redis MEMORY USAGE,
Memcached item sizes from its listing), else value lengths (HTTP caches, or a
Redis user without the MEMORY permission: then a note says so). Formats come
from the first bytes of values, never whole values: of every key up to 100000,
then of every tenth (--formats all reads every key's; Memcached, which can
only send whole values, reads none unless --formats is given).

Memory stays bounded on any keyspace: the prefix table keeps --capacity rows,
exact below it and marked approximate (~) above it. --sample N stops after N
keys (SCAN order: spread over the keyspace), said in the output. Ctrl-C
prints what was seen so far, marked partial, and exits 130.`,
		Example: `  cachectl analyze
  cachectl analyze 'user:*' --depth 3 --top 20
  cachectl analyze --profile aiocache -o json | jq '.targets[:5]'
  cachectl -u redis+cluster://node1:7000 analyze --sample 100000`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			if len(args) == 0 {
				args = []string{"*"}
			}
			for _, a := range args {
				p, err := opts.Mapper.Pattern(a)
				if err != nil {
					return err
				}
				opts.Patterns = append(opts.Patterns, p)
			}
			switch {
			case opts.Depth < 1 || opts.Depth > 16:
				return usagef("--depth must be between 1 and 16")
			case opts.Delimiter == "":
				return usagef("--delimiter cannot be empty")
			case opts.Top < 0 || opts.Top > 10000:
				return usagef("--top must be between 0 and 10000")
			case opts.Sample < 0:
				return usagef("--sample cannot be negative")
			case opts.Capacity < 10 || opts.Capacity > 1000000:
				return usagef("--capacity must be between 10 and 1000000")
			}
			if cmd.Flags().Changed("formats") {
				if !slices.Contains([]string{"sample", "all", "none"}, opts.Formats) {
					return usagef("invalid --formats %q: want sample, all or none", opts.Formats)
				}
			} else {
				opts.Formats = ""
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return analyzeRun(cmd.Context(), opts)
		},
		ValidArgsFunction: f.completeKeys(-1),
	}
	cmd.Flags().IntVar(&opts.Depth, "depth", analyze.DefaultDepth, "prefix levels to aggregate")
	cmd.Flags().StringVar(&opts.Delimiter, "delimiter", analyze.DefaultDelimiter, "what separates the levels of a key's prefix")
	cmd.Flags().IntVar(&opts.Top, "top", analyze.DefaultTop, "how many of the biggest keys to show (and prefixes, in text)")
	cmd.Flags().Int64Var(&opts.Sample, "sample", 0, "analyze only the first N keys listed (0: all)")
	cmd.Flags().IntVar(&opts.Capacity, "capacity", analyze.DefaultCapacity, "rows of the prefix and target tables (exact below, approximate above)")
	cmd.Flags().StringVar(&opts.Formats, "formats", "sample", "values whose first bytes tell the format mix: sample, all or none")
	_ = cmd.Flags().MarkHidden("capacity")
	_ = cmd.RegisterFlagCompletionFunc("formats", fixedCompletion("sample", "all", "none"))
	addReadFromReplicas(cmd, f)
	return cmd
}

// errSampleDone stops the listing once --sample keys were seen.
var errSampleDone = errors.New("sample complete")

// analysis is one run's state: the aggregate, and what the run says of it.
type analysis struct {
	a        *analyze.Analyzer
	prof     *profiles.Profile
	started  time.Time
	elapsed  time.Duration
	sampled  bool // --sample cut the listing short
	partial  bool // interrupted or failed midway
	mu       sync.Mutex
	notes    []string
	formats  string
	patterns []string
}

func (an *analysis) note(msg string) {
	an.mu.Lock()
	defer an.mu.Unlock()
	if !slices.Contains(an.notes, msg) {
		an.notes = append(an.notes, msg)
	}
}

// formatsSampled: some values' first bytes were skipped (past headFirst keys).
func (an *analysis) formatsSampled(res analyze.Result) bool {
	return an.formats == "sample" && res.Keys > headFirst
}

func analyzeRun(ctx context.Context, opts *analyzeOptions) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	prof, err := opts.Mapper.Profile()
	if err != nil {
		return err
	}
	an := &analysis{
		started:  time.Now(),
		formats:  opts.Formats,
		patterns: opts.Patterns,
	}
	if prof != nil && prof.Name() != "none" {
		an.prof = prof
	}
	an.a = analyze.New(analyze.Options{Delimiter: opts.Delimiter, Depth: opts.Depth, Top: opts.Top, Capacity: opts.Capacity, Targets: an.prof != nil})
	if an.formats == "" {
		an.formats = "sample"
		if b.Describe().Kind == "memcached" {
			// Its protocol sends whole values only: reading them is asked for.
			an.formats = "none"
		}
	}
	po := backends.ProfileOptions{HeadBytes: headBytes, Note: an.note}
	switch an.formats {
	case "all":
		po.HeadFirst = math.MaxInt64
	case "sample":
		po.HeadFirst, po.HeadEvery = headFirst, headEvery
	default:
		po.HeadBytes = 0
	}
	progress := newProgressLine(opts.IO, true)
	var seen int64
	var runErr error
	for i, pattern := range opts.Patterns {
		earlier := opts.Patterns[:i]
		runErr = backends.ProfileKeys(ctx, b, pattern, po, func(ps []backends.KeyProfile) error {
			for _, p := range ps {
				if opts.Sample > 0 && seen >= opts.Sample {
					return errSampleDone
				}
				// A key that several patterns match is counted once, under the first.
				if slices.ContainsFunc(earlier, func(e string) bool { return glob.Match(e, p.Key) }) {
					continue
				}
				an.a.Add(an.item(p))
				seen++
			}
			an.progress(progress, seen)
			if opts.Sample > 0 && seen >= opts.Sample {
				return errSampleDone
			}
			return nil
		})
		if errors.Is(runErr, errSampleDone) {
			runErr = nil
			an.sampled = true
			break
		}
		if runErr != nil {
			break
		}
	}
	progress.done()
	an.elapsed = time.Since(an.started)
	interrupted := errors.Is(runErr, context.Canceled) || ctx.Err() != nil
	if runErr != nil && seen == 0 && !interrupted {
		return runErr
	}
	an.partial = runErr != nil || interrupted
	res := an.a.Result()
	if !interrupted {
		an.addTypes(ctx, b, res.Biggest)
	}
	if err := writeAnalysis(opts, b.Describe(), an, res, runErr); err != nil {
		return err
	}
	if interrupted {
		fmt.Fprintf(opts.IO.ErrOut, "interrupted: analyzed %d key(s) before stopping; the figures above cover those only\n", res.Keys)
		if runErr == nil {
			runErr = ctx.Err()
		}
		return &silentError{err: runErr}
	}
	if runErr != nil {
		return fmt.Errorf("stopped after analyzing %d key(s) (the figures above cover those only): %w", res.Keys, runErr)
	}
	return nil
}

// item is what the analyzer counts of one profiled key.
func (an *analysis) item(p backends.KeyProfile) analyze.Item {
	it := analyze.Item{Key: p.Key, Type: p.Type, Bytes: p.Bytes, LengthSized: p.Bytes >= 0 && !p.BytesFromServer,
		HasTTL: p.TTL.Expires, Remaining: p.TTL.Remaining, TTLUnknown: p.TTL.Unknown, Node: p.Server}
	read := p.Head != nil || p.HeadComplete
	switch {
	case p.Hint != "":
		it.Format = p.Hint
	case read:
		it.Format = string(serial.Sniff(p.Head, p.HeadComplete))
	}
	if an.prof != nil {
		var head []byte
		if read {
			head = p.Head
		}
		if t, ok := an.prof.Recognize(p.Key, head); ok {
			if t.What == "response" && (t.Framework == "litestar" || t.Framework == "starlite") {
				t.Name = routeShape(t.Name)
			}
			if t.Framework == "aiocache" && t.What == "lock" {
				t.Name = lockOwner(an.prof, t.Name)
			}
			it.Target = analyze.TargetKey{Framework: t.Framework, What: t.What, Name: t.Name}
		}
	}
	return it
}

// lockOwner groups aiocache locks (one per locked key) by what they lock:
// the function whose cached result it is, else all in one row. Named by the
// locked key, a deploy's thousand locks would be a thousand rows.
func lockOwner(prof *profiles.Profile, locked string) string {
	if t, ok := prof.Recognize(prof.Key(locked), nil); ok && t.What == "cached result" {
		return t.Name
	}
	return ""
}

// routeShape names a cached response by its route and the names of its
// query parameters, not their values, so that the pages of one route add
// up: "GET /itemspage=11&size=20" is "GET /itemspage=*&size=*". (The keys
// glue path and query together, so where the path ends is not known.)
func routeShape(name string) string {
	i := strings.LastIndex(name, "/")
	if i < 0 || !strings.Contains(name[i:], "=") {
		return name
	}
	var b strings.Builder
	b.WriteString(name[:i])
	for j, part := range strings.Split(name[i:], "&") {
		if j > 0 {
			b.WriteByte('&')
		}
		k, _, ok := strings.Cut(part, "=")
		b.WriteString(k)
		if ok {
			b.WriteString("=*")
		}
	}
	return b.String()
}

// addTypes asks the types of the biggest keys, which the listing left out
// to spare the server a command per key. A failure leaves them unknown.
func (an *analysis) addTypes(ctx context.Context, b backends.Backend, big []analyze.Big) {
	var keys []string
	for _, k := range big {
		if k.Type == "" {
			keys = append(keys, k.Key)
		}
	}
	if len(keys) == 0 {
		return
	}
	infos, err := b.Inspect(ctx, keys)
	if err != nil {
		return
	}
	types := map[string]string{}
	for _, ki := range infos {
		if !ki.Missing {
			types[ki.Key] = ki.Type
		}
	}
	for i := range big {
		if big[i].Type == "" {
			big[i].Type = types[big[i].Key]
		}
	}
}

// progress redraws the stderr line on a terminal, at most every 100 ms.
func (an *analysis) progress(p *progressLine, seen int64) {
	if !p.on || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	rate := 0.0
	if s := time.Since(an.started).Seconds(); s > 0 {
		rate = float64(seen) / s
	}
	p.draw([]string{fmt.Sprintf("analyzed %d keys so far (%.0f keys/s)", seen, rate)})
}
