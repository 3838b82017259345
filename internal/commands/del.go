package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/iostreams"
)

type delOptions struct {
	IO            *iostreams.IOStreams
	Backend       func(context.Context) (backends.Backend, error)
	Mapper        keyMapper
	CheckWritable func(what string) error
	Output        outputFormat

	Keys []string
}

// NewCmdDel builds `cachectl del`.
func NewCmdDel(f *Factory, runF func(context.Context, *delOptions) error) *cobra.Command {
	opts := &delOptions{IO: f.IO, Backend: f.Backend, Mapper: f.keyMapper(), CheckWritable: f.CheckWritable}
	cmd := &cobra.Command{
		Use:   "del KEY...",
		Short: "Delete keys",
		Long: `Delete the given keys and print how many existed. Missing keys are not an
error (exit 0), as with redis-cli DEL. To delete by pattern use invalidate.`,
		Example: `  cachectl del session:42
  cachectl del a b c -o json      # {"deleted":3}`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			keys, err := opts.Mapper.Keys(args)
			if err != nil {
				return err
			}
			opts.Keys = keys
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return delRun(cmd.Context(), opts)
		},
		ValidArgsFunction: f.completeKeys(-1),
	}
	return cmd
}

func delRun(ctx context.Context, opts *delOptions) error {
	what := "delete keys"
	if len(opts.Keys) == 1 {
		what = "delete a key"
	}
	if err := opts.CheckWritable(what); err != nil {
		return err
	}
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	if rw, ok := b.(backends.ReplicaWriter); ok {
		return delWorkers(ctx, opts, rw)
	}
	n, err := b.Delete(ctx, opts.Keys...)
	if err != nil {
		if n > 0 {
			return fmt.Errorf("deleted %d key(s), then: %w", n, err)
		}
		return err
	}
	if opts.Output.JSON() {
		return writeJSON(opts.IO.Out, opts.IO.IsStdoutTTY(), struct {
			Deleted int64 `json:"deleted"`
		}{n})
	}
	_, err = fmt.Fprintln(opts.IO.Out, n)
	return err
}

// delWorkers deletes the keys on every worker of a replica set: the count
// is of keys some worker held (each once), as on a single server; copies
// and the workers reached go beside it.
func delWorkers(ctx context.Context, opts *delOptions, rw backends.ReplicaWriter) error {
	n, copies, f, err := rw.DeleteEach(ctx, opts.Keys...)
	if err != nil {
		return err
	}
	partial := f.Err("deleted")
	if partial != nil && f.Done+f.Missing == 0 {
		return partial
	}
	if opts.Output.JSON() {
		if err := writeJSON(opts.IO.Out, opts.IO.IsStdoutTTY(), struct {
			Deleted int64        `json:"deleted"`
			Copies  int64        `json:"copies"`
			Workers *workersJSON `json:"workers"`
		}{n, copies, fanoutDoc(f)}); err != nil {
			return err
		}
		return partial
	}
	if _, err := fmt.Fprintln(opts.IO.Out, n); err != nil {
		return err
	}
	fanoutNote(opts.IO, fmt.Sprintf("deleted %d copies", copies), f)
	return partial
}
