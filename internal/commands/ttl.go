package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/textesc"
)

type ttlOptions struct {
	IO      *iostreams.IOStreams
	Backend func(context.Context) (backends.Backend, error)
	Mapper  keyMapper
	Output  outputFormat

	Key string
}

// NewCmdTTL builds `cachectl ttl`.
func NewCmdTTL(f *Factory, runF func(context.Context, *ttlOptions) error) *cobra.Command {
	opts := &ttlOptions{IO: f.IO, Backend: f.Backend, Mapper: f.keyMapper()}
	cmd := &cobra.Command{
		Use:   "ttl KEY",
		Short: "Show the remaining time to live of a key",
		Long: `Print the remaining time to live of KEY. In a pipe it prints whole seconds,
or "none" when the key never expires; on a terminal a readable duration.
A missing key exits 3. -o json gives {"key", "ttl"} with ttl in seconds or null.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			key, err := opts.Mapper.Key(args[0])
			if err != nil {
				return err
			}
			opts.Key = key
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return ttlRun(cmd.Context(), opts)
		},
		ValidArgsFunction: f.completeKeys(1),
	}
	return cmd
}

func ttlRun(ctx context.Context, opts *ttlOptions) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	t, err := b.TTL(ctx, opts.Key)
	if err != nil {
		return err
	}
	if opts.Output.JSON() {
		return writeKeyTTL(opts.IO, opts.Key, t)
	}
	if opts.IO.IsStdoutTTY() {
		_, err = fmt.Fprintln(opts.IO.Out, t.Human())
		return err
	}
	_, err = fmt.Fprintln(opts.IO.Out, scriptTTL(t))
	return err
}

// writeKeyTTL writes ttl's and expire's JSON document.
func writeKeyTTL(ios *iostreams.IOStreams, key string, t backends.TTL) error {
	return writeJSON(ios.Out, ios.IsStdoutTTY(), struct {
		Key any      `json:"key"`
		TTL *float64 `json:"ttl"`
	}{jsonKey(key), ttlJSON(t)})
}

type expireOptions struct {
	IO            *iostreams.IOStreams
	Backend       func(context.Context) (backends.Backend, error)
	Mapper        keyMapper
	CheckWritable func(what string) error
	Output        outputFormat

	Key      string
	Duration time.Duration
}

// NewCmdExpire builds `cachectl expire`.
func NewCmdExpire(f *Factory, runF func(context.Context, *expireOptions) error) *cobra.Command {
	opts := &expireOptions{IO: f.IO, Backend: f.Backend, Mapper: f.keyMapper(), CheckWritable: f.CheckWritable}
	cmd := &cobra.Command{
		Use:   "expire KEY DURATION",
		Short: "Change the time to live of a key",
		Long: `Set KEY to expire after DURATION: 300 (seconds), 30s, 5m, 1h30m, 2d.
A DURATION of 0 removes the expiry. A missing key exits 3.`,
		Example: `  cachectl expire session:42 15m
  cachectl expire config:flags 0     # never expire`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			key, err := opts.Mapper.Key(args[0])
			if err != nil {
				return err
			}
			opts.Key = key
			d, err := human.ParseTTL(args[1])
			if err != nil {
				return usagef("%v", err)
			}
			opts.Duration = d
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return expireRun(cmd.Context(), opts)
		},
		ValidArgsFunction: f.completeKeys(1),
	}
	return cmd
}

func expireRun(ctx context.Context, opts *expireOptions) error {
	if err := opts.CheckWritable("change the TTL of " + textesc.Key(opts.Key)); err != nil {
		return err
	}
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	t := backends.NoExpiry
	if opts.Duration > 0 {
		t = backends.ExpiresIn(opts.Duration)
	}
	if rw, ok := b.(backends.ReplicaWriter); ok {
		f, err := rw.ExpireEach(ctx, opts.Key, opts.Duration)
		if err != nil {
			return err
		}
		if opts.Output.JSON() {
			if err := writeJSON(opts.IO.Out, opts.IO.IsStdoutTTY(), struct {
				Key     any          `json:"key"`
				TTL     *float64     `json:"ttl"`
				Workers *workersJSON `json:"workers"`
			}{jsonKey(opts.Key), ttlJSON(t), fanoutDoc(f)}); err != nil {
				return err
			}
		} else {
			fanoutNote(opts.IO, fmt.Sprintf("%s now has %s", textesc.Key(opts.Key), t.Human()), f)
		}
		return f.Err("changed")
	}
	if err := b.Expire(ctx, opts.Key, opts.Duration); err != nil {
		return err
	}
	if opts.Output.JSON() {
		return writeKeyTTL(opts.IO, opts.Key, t)
	}
	if opts.IO.IsStderrTTY() {
		fmt.Fprintf(opts.IO.ErrOut, "%s %s now has %s\n", opts.IO.ColorScheme().Green("✓"), textesc.Key(opts.Key), t.Human())
	}
	return nil
}
