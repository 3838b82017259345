package commands

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/dumpfile"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/textesc"
)

type dumpOptions struct {
	IO      *iostreams.IOStreams
	Backend func(context.Context) (backends.Backend, error)
	Mapper  keyMapper

	Pattern string
	File    string
	Append  bool
	Force   bool
	RawDump bool
}

// NewCmdDump builds `cachectl dump`.
func NewCmdDump(f *Factory, runF func(context.Context, *dumpOptions) error) *cobra.Command {
	opts := &dumpOptions{IO: f.IO, Backend: f.Backend, Mapper: f.keyMapper()}
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
				p, err := opts.Mapper.Pattern(args[0])
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
	addReadFromReplicas(cmd, f)
	cmd.Flags().BoolVar(&opts.Append, "append", false, "add to FILE when it exists (it must be a whole dump file)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "when FILE exists, keep it as FILE.~N~ and write a new one")
	cmd.Flags().BoolVar(&opts.RawDump, "raw-dump", false, "Redis: write each value as its exact DUMP payload (any type; restorable by Redis of the same major version)")
	return cmd
}

func dumpRun(ctx context.Context, opts *dumpOptions) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := checkRawDump(b, opts.RawDump); err != nil {
		return err
	}
	var out io.Writer = opts.IO.Out
	var file *dumpfile.File
	if opts.File != "-" {
		if file, err = createDumpFile(opts.IO, opts.File, opts.Append, opts.Force); err != nil {
			return err
		}
		out = file
	}
	w := dumpfile.NewWriter(out)
	// Keys outside the user's ACL key patterns are counted, not warned of
	// one by one, and make the dump fail at its end: it is incomplete.
	var refused int
	var firstRefusal error
	err = b.Scan(ctx, opts.Pattern, func(keys []string) error {
		return writeEntries(ctx, b, w, keys, opts.RawDump, func(key string, err error) error {
			if keyRefused(err) {
				if refused++; firstRefusal == nil {
					firstRefusal = fmt.Errorf("%s: %w", textesc.Key(key), err)
				}
				return nil
			}
			fmt.Fprintf(opts.IO.ErrOut, "%s skipped %s: %s\n", opts.IO.ColorScheme().Yellow("warning:"), textesc.Key(key), ErrorMessage(err))
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
	if refused > 0 {
		return fmt.Errorf("dump wrote %d entries and left out %d key(s) this user may not read (the first: %w)", w.Count(), refused, firstRefusal)
	}
	if opts.File != "-" && opts.IO.IsStderrTTY() {
		fmt.Fprintf(opts.IO.ErrOut, "%s wrote %d entries to %s\n", opts.IO.ColorScheme().Green("✓"), w.Count(), textesc.Key(opts.File))
	}
	return nil
}
