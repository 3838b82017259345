package commands

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/analyze"
	"github.com/cachectl/cachectl/internal/analyze/report"
	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/iostreams"
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
			patterns, err := opts.Mapper.Patterns(args)
			if err != nil {
				return err
			}
			opts.Patterns = append(opts.Patterns, patterns...)
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
	progress := newProgressLine(opts.IO, true)
	started := time.Now()
	run := report.Analyze(ctx, b, report.Options{
		Patterns: opts.Patterns, Depth: opts.Depth, Delimiter: opts.Delimiter, Top: opts.Top,
		Sample: opts.Sample, Capacity: opts.Capacity, Formats: opts.Formats, Profile: prof,
	}, func(seen int64) { showProgress(progress, started, seen) })
	progress.done()
	res, runErr := run.Result, run.Err
	if runErr != nil && res.Keys == 0 && !run.Interrupted {
		return runErr
	}
	if err := writeAnalysis(opts, b.Describe(), run); err != nil {
		return err
	}
	if run.Interrupted {
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

// showProgress redraws the stderr line on a terminal, at most every 100 ms.
func showProgress(p *progressLine, started time.Time, seen int64) {
	if !p.on || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	rate := 0.0
	if s := time.Since(started).Seconds(); s > 0 {
		rate = float64(seen) / s
	}
	p.draw([]string{fmt.Sprintf("analyzed %d keys so far (%.0f keys/s)", seen, rate)})
}
