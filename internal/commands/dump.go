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
	"github.com/cachectl/cachectl/internal/textesc"
)

type dumpOptions struct {
	f       *Factory
	Pattern string
	File    string
	Append  bool
	Force   bool
	RawDump bool
}

// NewCmdDump builds `cachectl dump`.
func NewCmdDump(f *Factory, runF func(context.Context, *dumpOptions) error) *cobra.Command {
	opts := &dumpOptions{f: f}
	cmd := &cobra.Command{
		Use:   "dump [PATTERN] -f FILE",
		Short: "Export matching entries (value and TTL) as JSON lines",
		Long: `Export every entry matching PATTERN (default "*") as JSON lines: key, value
and remaining TTL, one entry per line, streamed. -f - writes to stdout.
cachectl restore reads the file back, into any backend (e.g. Memcached to
Redis). Redis hashes, lists, sets, sorted sets and streams are exported
whole, read page by page and written in parts of at most 1000 elements;
--raw-dump exports every Redis value as its exact DUMP payload instead
(restorable only by Redis of the same major version, but of any type).

An existing FILE is never overwritten: --append adds to it (after checking
it is a whole dump file), --force keeps it as FILE.~N~ and starts anew. The
file is created with mode 0600, never through a symbolic link.`,
		Example: `  cachectl dump 'user:*' -f users.jsonl
  cachectl -u memcached://old:11211 dump -f - | cachectl -u redis://new:6379/0 restore -`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Pattern = "*"
			if len(args) == 1 {
				p, err := f.StoredPattern(args[0])
				if err != nil {
					return err
				}
				opts.Pattern = p
			}
			if opts.File == "" {
				return usagef("dump needs -f FILE (or -f - for stdout)")
			}
			if err := checkFileMode(opts.Append, opts.Force, "-f", opts.File); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return dumpRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.File, "file", "f", "", "file to write (- for stdout)")
	cmd.Flags().BoolVar(&opts.Append, "append", false, "add to FILE when it exists (it must be a whole dump file)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "when FILE exists, keep it as FILE.~N~ and write a new one")
	cmd.Flags().BoolVar(&opts.RawDump, "raw-dump", false, "Redis: write each value as its exact DUMP payload (any type; restorable by Redis of the same major version)")
	return cmd
}

// checkFileMode validates --append and --force for a file flag.
func checkFileMode(appendMode, force bool, flag, path string) error {
	switch {
	case appendMode && force:
		return usagef("--append and --force exclude each other")
	case (appendMode || force) && (path == "" || path == "-"):
		return usagef("--append and --force need %s FILE", flag)
	}
	return nil
}

func dumpRun(ctx context.Context, opts *dumpOptions) error {
	f := opts.f
	b, err := f.Backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := checkRawDump(b, opts.RawDump); err != nil {
		return err
	}
	var out io.Writer = f.IO.Out
	var file *dumpfile.File
	if opts.File != "-" {
		if file, err = createDumpFile(f, opts.File, opts.Append, opts.Force); err != nil {
			return err
		}
		out = file
	}
	w := dumpfile.NewWriter(out)
	err = b.Scan(ctx, opts.Pattern, func(keys []string) error {
		return writeEntries(ctx, b, w, keys, opts.RawDump, func(key string, err error) error {
			fmt.Fprintf(f.IO.ErrOut, "%s skipped %s: %s\n", f.IO.ColorScheme().Yellow("warning:"), textesc.Key(key), ErrorMessage(err))
			return nil
		})
	})
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("dump stopped after %d entries: %w", w.Count(), err)
	}
	if opts.File != "-" && f.IO.IsStderrTTY() {
		fmt.Fprintf(f.IO.ErrOut, "%s wrote %d entries to %s\n", f.IO.ColorScheme().Green("✓"), w.Count(), textesc.Key(opts.File))
	}
	return nil
}

// checkRawDump refuses --raw-dump where there are no DUMP payloads.
func checkRawDump(b backends.Backend, raw bool) error {
	if _, ok := b.(backends.RawDumper); raw && !ok {
		return usagef("--raw-dump needs a Redis server (%s has no DUMP payloads)", b.Describe().Kind)
	}
	return nil
}

// createDumpFile opens a dump or backup file with dumpfile.Create's rules
// and says where an old file went.
func createDumpFile(f *Factory, path string, appendMode, force bool) (*dumpfile.File, error) {
	mode := dumpfile.New
	switch {
	case appendMode:
		mode = dumpfile.Append
	case force:
		mode = dumpfile.Replace
	}
	file, err := dumpfile.Create(path, mode)
	var refused *dumpfile.RefusedError
	if errors.As(err, &refused) {
		return nil, &RefusedError{Msg: textesc.Text(refused.Msg)}
	}
	if err != nil {
		return nil, err
	}
	if file.MovedAside != "" {
		fmt.Fprintf(f.IO.ErrOut, "note: kept the old %s as %s\n", textesc.Key(path), textesc.Key(file.MovedAside))
	}
	return file, nil
}

// collectionPage is how many elements one read of a collection asks for.
const collectionPage = 1000

// writeEntries reads keys and writes them as dump lines, collections whole
// and in parts; keys gone meanwhile are left out. A key that cannot be
// saved goes to cannot, whose error stops the batch.
func writeEntries(ctx context.Context, b backends.Backend, w *dumpfile.Writer, keys []string, raw bool, cannot func(key string, err error) error) error {
	for _, k := range keys {
		if raw {
			kind, ttl, payload, err := b.(backends.RawDumper).DumpRaw(ctx, k)
			if errors.Is(err, backends.ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", textesc.Key(k), err)
			}
			if err := w.Write(dumpfile.Entry{Key: k, Type: kind, Encoding: dumpfile.EncodingRedisDump, Value: payload, TTL: ttl}); err != nil {
				return err
			}
			continue
		}
		e, err := b.Get(ctx, k)
		if errors.Is(err, backends.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", textesc.Key(k), err)
		}
		if e.Collection != nil {
			cd, ok := b.(backends.CollectionDumper)
			if !ok {
				if err := cannot(k, fmt.Errorf("a %s this backend cannot read whole", e.Type)); err != nil {
					return err
				}
				continue
			}
			err := writeCollection(ctx, cd, w, k)
			var unsupported *backends.UnsupportedError
			if errors.As(err, &unsupported) {
				err = cannot(k, fmt.Errorf("a %s value, which only --raw-dump saves", textesc.Text(e.Type)))
			}
			if err != nil {
				return err
			}
			continue
		}
		de := dumpfile.Entry{Key: k, Value: e.Value, TTL: e.TTL}
		if e.HasFlags {
			flags := e.Flags
			de.Flags = &flags
		}
		if err := w.Write(de); err != nil {
			return err
		}
	}
	return nil
}

// writeCollection streams one collection into the file, page by page; a
// failure midway ends its parts with an "aborted" line.
func writeCollection(ctx context.Context, cd backends.CollectionDumper, w *dumpfile.Writer, key string) error {
	var cw *dumpfile.CollectionWriter
	err := cd.DumpCollection(ctx, key, collectionPage, func(h backends.CollectionHead) error {
		cw = w.Collection(key, h.Kind, h.TTL, h.Stream)
		return nil
	}, func(items []backends.Item) error { return cw.Add(items...) })
	if cw == nil {
		if errors.Is(err, backends.ErrNotFound) {
			return nil
		}
		return err
	}
	if err == nil {
		_, err = cw.End()
	}
	if err != nil {
		if aerr := cw.Abort(); aerr != nil {
			return aerr
		}
		return fmt.Errorf("read %s: %w", textesc.Key(key), err)
	}
	return nil
}

type restoreOptions struct {
	f       *Factory
	File    string
	Replace bool
}

// NewCmdRestore builds `cachectl restore`.
func NewCmdRestore(f *Factory, runF func(context.Context, *restoreOptions) error) *cobra.Command {
	opts := &restoreOptions{f: f}
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

type flagSetter interface {
	SetFlags(ctx context.Context, key string, value []byte, flags uint32, ttl time.Duration) error
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
	f := opts.f
	if err := f.CheckWritable("restore " + opts.File); err != nil {
		return err
	}
	var in io.Reader = f.IO.In
	if opts.File != "-" {
		file, err := os.Open(opts.File)
		if err != nil {
			return err
		}
		defer file.Close()
		in = file
	}
	b, err := f.Backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	rs := &restorer{f: f, b: b, replace: opts.Replace}
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
	if f.JSON() {
		return writeJSON(f.IO.Out, f.IO.IsStdoutTTY(), rs.n)
	}
	fmt.Fprintf(f.IO.Out, "restored %d entries", rs.n.Restored)
	if rs.n.Kept > 0 {
		fmt.Fprintf(f.IO.Out, "; kept %d existing keys (--replace overwrites them)", rs.n.Kept)
	}
	if rs.n.Expired > 0 {
		fmt.Fprintf(f.IO.Out, "; %d had expired", rs.n.Expired)
	}
	fmt.Fprintln(f.IO.Out)
	return nil
}

// restorer writes entries back, one line at a time; a collection in parts
// is built aside and put in place when its last part has been written.
type restorer struct {
	f       *Factory
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
	warn := rs.f.IO.ColorScheme().Yellow("warning:")
	if rs.n.FarFuture > 0 {
		fmt.Fprintf(rs.f.IO.ErrOut, "%s %d entries had TTLs over 100 years (first %s, line %d), restored without expiry\n", warn, rs.n.FarFuture, textesc.Key(rs.farKey), rs.farLine)
	}
	if rs.n.Incomplete > 0 {
		fmt.Fprintf(rs.f.IO.ErrOut, "%s %d values were cut while being written (first %s, line %d) and are not restored; the run that wrote them did not delete them\n", warn, rs.n.Incomplete, textesc.Key(rs.cutKey), rs.cutLine)
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
	if !rs.replace {
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
		if err != nil {
			return fmt.Errorf("%s: %w", textesc.Key(e.Key), err)
		}
		if done {
			rs.n.Restored++
		} else {
			rs.n.Kept++
		}
		return nil
	case e.IsCollection():
		return rs.collection(ctx, e)
	}
	if ok, err := rs.start(ctx, e); !ok || err != nil {
		return err
	}
	var err error
	fs, hasFlags := rs.b.(flagSetter)
	switch {
	case e.Flags != nil && hasFlags:
		err = fs.SetFlags(ctx, e.Key, e.Value, *e.Flags, ttlOf(e))
	default:
		if fset, ok := rs.b.(backends.FormatSetter); ok {
			err = fset.SetFormat(ctx, e.Key, e.Value, ttlOf(e), storedFormat("raw", e.Value))
		} else {
			err = rs.b.Set(ctx, e.Key, e.Value, ttlOf(e))
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", textesc.Key(e.Key), err)
	}
	rs.n.Restored++
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
	if err != nil {
		return fmt.Errorf("%s: %w", textesc.Key(e.Key), err)
	}
	if done {
		rs.n.Restored++
	} else {
		rs.n.Kept++
	}
	return nil
}

// checkBackup validates invalidate's --backup flags, and the file itself
// (a link, an existing file without --append/--force), before anything is
// counted, asked or deleted.
func (opts *invalidateOptions) checkBackup() error {
	if opts.Backup == "" {
		if opts.BackupAppend || opts.BackupForce || opts.RawDump {
			return usagef("--append, --force and --raw-dump go with --backup FILE")
		}
		return nil
	}
	if err := checkFileMode(opts.BackupAppend, opts.BackupForce, "--backup", opts.Backup); err != nil {
		return err
	}
	if opts.Backup == "-" {
		return usagef("--backup needs a file (not -): the backup must be on disk before each deletion")
	}
	if opts.DryRun {
		return nil
	}
	mode := dumpfile.New
	switch {
	case opts.BackupAppend:
		mode = dumpfile.Append
	case opts.BackupForce:
		mode = dumpfile.Replace
	}
	err := dumpfile.Precheck(opts.Backup, mode)
	var refused *dumpfile.RefusedError
	if errors.As(err, &refused) {
		return &RefusedError{Msg: textesc.Text(refused.Msg)}
	}
	return err
}

// backupHook opens the backup file and returns invalidate's Before hook:
// each batch is read, written and fsynced before it is deleted, so the file
// holds every deleted key; a key it cannot save stops the run before its
// batch is deleted. close syncs and closes the file.
func (opts *invalidateOptions) backupHook(b backends.Backend) (before func(context.Context, []string) error, closeFile func() error, err error) {
	file, err := createDumpFile(opts.f, opts.Backup, opts.BackupAppend, opts.BackupForce)
	if err != nil {
		return nil, nil, fmt.Errorf("--backup: %w", err)
	}
	w := dumpfile.NewWriter(file)
	before = func(ctx context.Context, keys []string) error {
		err := writeEntries(ctx, b, w, keys, opts.RawDump, func(key string, err error) error {
			return fmt.Errorf("%s is %s; nothing of this batch was deleted", textesc.Key(key), ErrorMessage(err))
		})
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
		if err == nil {
			err = file.Sync()
		}
		if err != nil {
			return fmt.Errorf("backup to %s: %w", textesc.Key(opts.Backup), err)
		}
		return nil
	}
	return before, file.Close, nil
}
