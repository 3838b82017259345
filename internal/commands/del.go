package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

type delOptions struct {
	f    *Factory
	Keys []string
}

// NewCmdDel builds `cachectl del`.
func NewCmdDel(f *Factory, runF func(context.Context, *delOptions) error) *cobra.Command {
	opts := &delOptions{f: f}
	cmd := &cobra.Command{
		Use:   "del KEY...",
		Short: "Delete keys",
		Long: `Delete the given keys and print how many existed. Missing keys are not an
error (exit 0), as with redis-cli DEL. To delete by pattern use invalidate.`,
		Example: `  cachectl del session:42
  cachectl del a b c -o json      # {"deleted":3}`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, err := f.StoredKeys(args)
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
	f := opts.f
	what := "delete keys"
	if len(opts.Keys) == 1 {
		what = "delete a key"
	}
	if err := f.CheckWritable(what); err != nil {
		return err
	}
	b, err := f.Backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	n, err := b.Delete(ctx, opts.Keys...)
	if err != nil {
		if n > 0 {
			return fmt.Errorf("deleted %d key(s), then: %w", n, err)
		}
		return err
	}
	if f.JSON() {
		return writeJSON(f.IO.Out, f.IO.IsStdoutTTY(), struct {
			Deleted int64 `json:"deleted"`
		}{n})
	}
	_, err = fmt.Fprintln(f.IO.Out, n)
	return err
}
