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
Redis). Only string values are exported; a Redis hash, list, set, sorted set
or stream is reported and skipped.`,
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
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return dumpRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.File, "file", "f", "", "file to write (- for stdout)")
	return cmd
}

func dumpRun(ctx context.Context, opts *dumpOptions) error {
	f := opts.f
	b, err := f.Backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	out, closeOut, err := createOutput(f, opts.File)
	if err != nil {
		return err
	}
	w := dumpfile.NewWriter(out)
	err = b.Scan(ctx, opts.Pattern, func(keys []string) error {
		return writeEntries(ctx, b, w, keys, func(key, kind string) error {
			fmt.Fprintf(f.IO.ErrOut, "%s skipped %s: a %s (dump exports string values)\n", f.IO.ColorScheme().Yellow("warning:"), textesc.Key(key), kind)
			return nil
		})
	})
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("dump stopped after %d entries: %w", w.Count(), err)
	}
	if opts.File != "-" && f.IO.IsStderrTTY() {
		fmt.Fprintf(f.IO.ErrOut, "%s wrote %d entries to %s\n", f.IO.ColorScheme().Green("✓"), w.Count(), opts.File)
	}
	return nil
}

// createOutput opens the dump or backup file; "-" is stdout.
func createOutput(f *Factory, path string) (io.Writer, func() error, error) {
	if path == "-" {
		return f.IO.Out, func() error { return nil }, nil
	}
	file, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, nil, err
	}
	return file, func() error {
		if err := file.Sync(); err != nil {
			file.Close()
			return err
		}
		return file.Close()
	}, nil
}

// writeEntries reads keys and writes them as dump lines; keys gone meanwhile
// are left out, and non-string values go to nonString, whose error stops.
func writeEntries(ctx context.Context, b backends.Backend, w *dumpfile.Writer, keys []string, nonString func(key, kind string) error) error {
	for _, k := range keys {
		e, err := b.Get(ctx, k)
		if errors.Is(err, backends.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", textesc.Key(k), err)
		}
		if e.Collection != nil {
			if err := nonString(k, e.Type); err != nil {
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
backends; memcached flags are kept where the target stores them.`,
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
	r := dumpfile.NewReader(in)
	var restored, kept, expired int64
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("restore stopped after %d entries: %s: %w", restored, opts.File, err)
		}
		if e.TTL.Expires && e.TTL.Remaining <= 0 {
			expired++
			continue
		}
		if !opts.Replace {
			_, err := b.TTL(ctx, e.Key)
			if err == nil {
				kept++
				continue
			}
			var unsupported *backends.UnsupportedError
			if !errors.Is(err, backends.ErrNotFound) && !errors.As(err, &unsupported) {
				return fmt.Errorf("restore stopped after %d entries: %w", restored, err)
			}
		}
		var ttl time.Duration
		if e.TTL.Expires {
			ttl = e.TTL.Remaining
		}
		fs, hasFlags := b.(flagSetter)
		switch {
		case e.Flags != nil && hasFlags:
			err = fs.SetFlags(ctx, e.Key, e.Value, *e.Flags, ttl)
		default:
			if fset, ok := b.(backends.FormatSetter); ok {
				err = fset.SetFormat(ctx, e.Key, e.Value, ttl, storedFormat("raw", e.Value))
			} else {
				err = b.Set(ctx, e.Key, e.Value, ttl)
			}
		}
		if err != nil {
			return fmt.Errorf("restore stopped after %d entries: %s: %w", restored, textesc.Key(e.Key), err)
		}
		restored++
	}
	if f.JSON() {
		return writeJSON(f.IO.Out, f.IO.IsStdoutTTY(), struct {
			Restored int64 `json:"restored"`
			Kept     int64 `json:"kept"`
			Expired  int64 `json:"expired"`
		}{restored, kept, expired})
	}
	fmt.Fprintf(f.IO.Out, "restored %d entries", restored)
	if kept > 0 {
		fmt.Fprintf(f.IO.Out, "; kept %d existing keys (--replace overwrites them)", kept)
	}
	if expired > 0 {
		fmt.Fprintf(f.IO.Out, "; %d had expired", expired)
	}
	fmt.Fprintln(f.IO.Out)
	return nil
}
