package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/dumpfile"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/textesc"
)

type restoreOptions struct {
	IO            *iostreams.IOStreams
	Backend       func(context.Context) (backends.Backend, error)
	CheckWritable func(what string) error
	Output        outputFormat

	File    string
	Replace bool
}

// NewCmdRestore builds `cachectl restore`.
func NewCmdRestore(f *Factory, runF func(context.Context, *restoreOptions) error) *cobra.Command {
	opts := &restoreOptions{IO: f.IO, Backend: f.Backend, CheckWritable: f.CheckWritable}
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Write entries from a dump or backup file back, with their TTLs",
		Long: `Write back the entries of a JSON-lines file made by cachectl dump or
invalidate --backup (- reads stdin), with the TTL each had when it was
written. Keys that exist are left alone unless --replace. Works across
backends; memcached flags are kept where the target stores them. Redis
collections are built under a temporary key and renamed into place, so none
is seen half restored; they restore only into Redis.

Every line is checked: a malformed one (no key, a missing or null value, a
negative TTL, parts out of sequence) stops the restore with exit 1, naming
the line and how many entries were restored before it. TTLs over 100 years
are restored without expiry, with a warning.`,
		Example: `  cachectl restore users.jsonl
  cachectl restore backup.jsonl --replace`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			opts.File = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return restoreRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Replace, "replace", false, "overwrite keys that exist")
	return cmd
}

// restoreCounts is what a restore did.
type restoreCounts struct {
	Restored   int64 `json:"restored"`
	Kept       int64 `json:"kept"`
	Expired    int64 `json:"expired"`
	FarFuture  int64 `json:"far_future,omitempty"`
	Incomplete int64 `json:"incomplete,omitempty"`
}

func restoreRun(ctx context.Context, opts *restoreOptions) error {
	if err := opts.CheckWritable("restore " + opts.File); err != nil {
		return err
	}
	var in io.Reader = opts.IO.In
	if opts.File != "-" {
		file, err := os.Open(opts.File)
		if err != nil {
			return err
		}
		defer file.Close()
		in = file
	}
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	rs := &restorer{io: opts.IO, b: b, replace: opts.Replace}
	defer rs.abort(ctx)
	r := dumpfile.NewReader(in)
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			err = rs.entry(ctx, &e)
			if err != nil && !errors.Is(err, context.Canceled) {
				err = fmt.Errorf("line %d: %w", e.Line, err)
			}
		}
		if err != nil {
			rs.warnings()
			return fmt.Errorf("restore stopped after %d entries: %s: %w", rs.n.Restored, textesc.Key(opts.File), err)
		}
	}
	rs.warnings()
	if opts.Output.JSON() {
		return writeJSON(opts.IO.Out, opts.IO.IsStdoutTTY(), rs.n)
	}
	out := opts.IO.Out
	fmt.Fprintf(out, "restored %d entries", rs.n.Restored)
	if rs.n.Kept > 0 {
		fmt.Fprintf(out, "; kept %d existing keys (--replace overwrites them)", rs.n.Kept)
	}
	if rs.n.Expired > 0 {
		fmt.Fprintf(out, "; %d had expired", rs.n.Expired)
	}
	fmt.Fprintln(out)
	return nil
}

// restorer writes entries back, one line at a time; a collection in parts
// is built aside and put in place when its last part has been written.
type restorer struct {
	io      *iostreams.IOStreams
	b       backends.Backend
	replace bool
	n       restoreCounts
	// the collection being restored, or skipped (kept or expired)
	cur      backends.CollectionRestorer
	curTTL   time.Duration
	skipping bool
	// first far-future and incomplete entries, for the warnings
	farLine, cutLine int
	farKey, cutKey   string
}

func (rs *restorer) abort(ctx context.Context) {
	if rs.cur != nil {
		_ = rs.cur.Abort(ctx)
		rs.cur = nil
	}
}

func (rs *restorer) warnings() {
	warn := rs.io.ColorScheme().Yellow("warning:")
	if rs.n.FarFuture > 0 {
		fmt.Fprintf(rs.io.ErrOut, "%s %d entries had TTLs over 100 years (first %s, line %d), restored without expiry\n", warn, rs.n.FarFuture, textesc.Key(rs.farKey), rs.farLine)
	}
	if rs.n.Incomplete > 0 {
		fmt.Fprintf(rs.io.ErrOut, "%s %d values were cut while being written (first %s, line %d) and are not restored; the run that wrote them did not delete them\n", warn, rs.n.Incomplete, textesc.Key(rs.cutKey), rs.cutLine)
	}
}

// start decides whether the entry beginning at e is written: not when it
// expired while being dumped, nor over an existing key without --replace.
func (rs *restorer) start(ctx context.Context, e *dumpfile.Entry) (bool, error) {
	// Under a millisecond no server keeps it: count it expired, not restored.
	if e.TTL.Expires && e.TTL.Remaining < time.Millisecond {
		rs.n.Expired++
		return false, nil
	}
	if e.FarFuture {
		if rs.n.FarFuture == 0 {
			rs.farKey, rs.farLine = e.Key, e.Line
		}
		rs.n.FarFuture++
	}
	if _, workers := rs.b.(backends.ReplicaSet); !rs.replace && !workers {
		_, err := rs.b.TTL(ctx, e.Key)
		if err == nil {
			rs.n.Kept++
			return false, nil
		}
		var unsupported *backends.UnsupportedError
		if !errors.Is(err, backends.ErrNotFound) && !errors.As(err, &unsupported) {
			return false, err
		}
	}
	return true, nil
}

func ttlOf(e *dumpfile.Entry) time.Duration {
	if e.TTL.Expires {
		return e.TTL.Remaining
	}
	return 0
}

func (rs *restorer) entry(ctx context.Context, e *dumpfile.Entry) error {
	kind := rs.b.Describe().Kind
	switch {
	case e.Encoding != "":
		rd, ok := rs.b.(backends.RawDumper)
		if !ok {
			return fmt.Errorf("%s is a Redis DUMP payload (--raw-dump), which only Redis restores, not %s", textesc.Key(e.Key), kind)
		}
		if ok, err := rs.start(ctx, e); !ok || err != nil {
			return err
		}
		done, err := rd.RestoreRaw(ctx, e.Key, e.Value, ttlOf(e), rs.replace)
		return rs.written(e.Key, done, err)
	case e.IsCollection():
		return rs.collection(ctx, e)
	}
	if ok, err := rs.start(ctx, e); !ok || err != nil {
		return err
	}
	if set, ok := rs.b.(backends.ReplicaSet); ok && !rs.replace {
		return rs.onWorkers(ctx, set, e)
	}
	if err := setEntry(ctx, rs.b, e); err != nil {
		return fmt.Errorf("%s: %w", textesc.Key(e.Key), err)
	}
	rs.n.Restored++
	return nil
}

// setEntry writes a string entry to b, with its flags or format.
func setEntry(ctx context.Context, b backends.Backend, e *dumpfile.Entry) error {
	if fs, ok := b.(backends.FlagSetter); ok && e.Flags != nil {
		return fs.SetFlags(ctx, e.Key, e.Value, *e.Flags, ttlOf(e))
	}
	if fset, ok := b.(backends.FormatSetter); ok {
		return fset.SetFormat(ctx, e.Key, e.Value, ttlOf(e), storedFormat("raw", e.Value))
	}
	return b.Set(ctx, e.Key, e.Value, ttlOf(e))
}

// onWorkers writes a string entry, without --replace, to each worker of a
// replica set that does not hold its key: a worker that holds it keeps its
// copy, the others get the line's (a key one worker kept is not "kept" on
// the workers that lost it). Restored when some worker got it, kept when
// every worker held it; a worker that fails makes it a PartialError.
func (rs *restorer) onWorkers(ctx context.Context, set backends.ReplicaSet, e *dumpfile.Entry) error {
	ms, err := set.Members(ctx)
	if err != nil {
		return err
	}
	stored := 0
	var failed []backends.MemberError
	for _, m := range ms {
		_, err := m.Backend.TTL(ctx, e.Key)
		if err == nil {
			continue
		}
		if errors.Is(err, backends.ErrNotFound) {
			if err = setEntry(ctx, m.Backend, e); err == nil {
				stored++
				continue
			}
		}
		failed = append(failed, backends.MemberError{Name: m.Name, Err: err})
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s: %w", textesc.Key(e.Key), &backends.PartialError{What: "restored", Done: len(ms) - len(failed), All: len(ms), Failed: failed})
	}
	if stored > 0 {
		rs.n.Restored++
	} else {
		rs.n.Kept++
	}
	return nil
}

func (rs *restorer) collection(ctx context.Context, e *dumpfile.Entry) error {
	if e.Part == 0 {
		cd, ok := rs.b.(backends.CollectionDumper)
		if !ok {
			return fmt.Errorf("%s is a %s; %s stores only strings (restore it into Redis)", textesc.Key(e.Key), e.Type, rs.b.Describe().Kind)
		}
		ok, err := rs.start(ctx, e)
		if err != nil {
			return err
		}
		rs.skipping = !ok
		if ok {
			if rs.cur, err = cd.RestoreCollection(ctx, e.Key, e.Type); err != nil {
				return err
			}
			rs.curTTL = ttlOf(e)
		}
	}
	if e.Aborted {
		if rs.cur != nil || !rs.skipping {
			if rs.n.Incomplete == 0 {
				rs.cutKey, rs.cutLine = e.Key, e.Line
			}
			rs.n.Incomplete++
		}
		rs.abort(ctx)
		rs.skipping = false
		return nil
	}
	if rs.skipping {
		rs.skipping = e.More
		return nil
	}
	if err := rs.cur.Append(ctx, e.Items); err != nil {
		return fmt.Errorf("%s: %w", textesc.Key(e.Key), err)
	}
	if e.More {
		return nil
	}
	done, err := rs.cur.Commit(ctx, rs.curTTL, e.Stream, rs.replace)
	rs.cur = nil
	return rs.written(e.Key, done, err)
}

// written counts the outcome of a write that keeps an existing key unless
// --replace (RESTORE, a collection's Commit): restored when done, else kept.
func (rs *restorer) written(key string, done bool, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", textesc.Key(key), err)
	}
	if done {
		rs.n.Restored++
	} else {
		rs.n.Kept++
	}
	return nil
}
