package commands

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/serial"
	"github.com/cachectl/cachectl/internal/textesc"
)

// maxSetInput bounds what set reads from stdin or a file; Redis refuses
// strings over 512 MiB anyway, and reading more would only exhaust memory.
const maxSetInput = 512 << 20

type setOptions struct {
	IO            *iostreams.IOStreams
	Backend       func(context.Context) (backends.Backend, error)
	Mapper        keyMapper
	CheckWritable func(what string) error
	Output        outputFormat

	Key            string
	Value          *string // nil: read stdin or --file
	File           string
	TTL            string
	Serializer     string
	PickleProtocol int
}

// NewCmdSet builds `cachectl set`.
func NewCmdSet(f *Factory, runF func(context.Context, *setOptions) error) *cobra.Command {
	opts := &setOptions{IO: f.IO, Backend: f.Backend, Mapper: f.keyMapper(), CheckWritable: f.CheckWritable}
	cmd := &cobra.Command{
		Use:   "set KEY [VALUE|-]",
		Short: "Store a value",
		Long: `Store a value under KEY. The value comes from the VALUE argument, from
standard input ("-" or no VALUE), or from --file.

--serializer decides the stored bytes: raw (default) and string store the
input unchanged (string insists on UTF-8); json, pickle and msgpack parse the
input as JSON and store it as Python's json.dumps, pickle.dumps (protocol
--pickle-protocol, default 4) and msgpack.packb(use_bin_type=True) write it,
so the app reads back an equal object.`,
		Example: `  cachectl set greeting hello
  cachectl set user:1 '{"name": "Ada"}' --serializer json --ttl 5m
  curl -s https://example.org/blob | cachectl set blob - --ttl 1h
  cachectl set report --file report.pdf
  cachectl set session:1 '{"user_id": 7, "roles": ["admin"]}' --serializer pickle`,
		Args: rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			key, err := opts.Mapper.Key(args[0])
			if err != nil {
				return err
			}
			opts.Key = key
			if !cmd.Flags().Changed("serializer") {
				opts.Serializer = "" // the profile's default: raw without one
			}
			if len(args) == 2 && args[1] != "-" {
				opts.Value = &args[1]
			}
			if opts.File != "" && len(args) == 2 {
				return usagef("give the value either as an argument or with --file, not both")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return setRun(cmd.Context(), opts)
		},
		ValidArgsFunction: f.completeKeys(1),
	}
	cmd.Flags().StringVar(&opts.File, "file", "", "read the value from FILE")
	cmd.Flags().StringVar(&opts.TTL, "ttl", "", "time to live: 300 (seconds), 30s, 5m, 1h30m, 2d; 0 or absent = no expiry")
	cmd.Flags().StringVar(&opts.Serializer, "serializer", "raw", "how to store the input: "+joinNames(serial.Serializers())+"; under a --profile its app's default (aiocache, asgi-caches: json; django: ints as digits, else pickle; litestar, starlite: raw)")
	cmd.Flags().IntVar(&opts.PickleProtocol, "pickle-protocol", serial.DefaultPickleProtocol, "pickle protocol for --serializer pickle (2 to 5)")
	_ = cmd.RegisterFlagCompletionFunc("serializer", fixedCompletion(serial.Serializers()...))
	return cmd
}

func setRun(ctx context.Context, opts *setOptions) error {
	var ttl time.Duration
	if opts.TTL != "" {
		d, err := human.ParseTTL(opts.TTL)
		if err != nil {
			return usagef("--ttl: %v", err)
		}
		ttl = d
	}
	input, err := readSetInput(opts)
	if err != nil {
		return err
	}
	if opts.PickleProtocol < 2 || opts.PickleProtocol > 5 {
		return usagef("--pickle-protocol must be 2, 3, 4 or 5")
	}
	prof, err := opts.Mapper.Profile()
	if err != nil {
		return err
	}
	// The profile writes what its app reads back (Django: ints as digits,
	// else pickles; pymemcache flags on memcached); without one, raw.
	enc, err := prof.Encode(input, opts.Serializer, opts.PickleProtocol)
	if err != nil {
		return usagef("--serializer %s: %v", cmp.Or(opts.Serializer, prof.DefaultSerializer()), err)
	}
	value := enc.Value
	if err := opts.CheckWritable("set " + textesc.Key(opts.Key)); err != nil {
		return err
	}
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	fl, hasFlags := b.(backends.FlagSetter)
	var workers *backends.Fanout
	if rw, ok := b.(backends.ReplicaWriter); ok {
		var f backends.Fanout
		if f, err = rw.SetEach(ctx, opts.Key, value, ttl, storedFormat(enc.Serializer, value)); err == nil {
			workers = &f
		}
	} else if fs, ok := b.(backends.FormatSetter); ok {
		err = fs.SetFormat(ctx, opts.Key, value, ttl, storedFormat(enc.Serializer, value))
	} else if hasFlags && enc.HasFlags {
		err = fl.SetFlags(ctx, opts.Key, value, enc.Flags, ttl)
	} else {
		err = b.Set(ctx, opts.Key, value, ttl)
	}
	if err != nil {
		return fmt.Errorf("set %s: %w", textesc.Key(opts.Key), err)
	}
	t := backends.NoExpiry
	if ttl > 0 {
		t = backends.ExpiresIn(ttl)
	}
	var partial error
	doc := struct {
		Key    any      `json:"key"`
		Stored bool     `json:"stored"`
		Size   int      `json:"size"`
		TTL    *float64 `json:"ttl"`
		// Workers: a replica set's workers, each of which was written.
		Workers *workersJSON `json:"workers,omitempty"`
	}{jsonKey(opts.Key), true, len(value), ttlJSON(t), nil}
	if workers != nil {
		partial = workers.Err("stored")
		doc.Workers = fanoutDoc(*workers)
		doc.Stored = workers.Done > 0
		if workers.Done == 0 {
			return fmt.Errorf("set %s: %w", textesc.Key(opts.Key), partial)
		}
	}
	if opts.Output.JSON() {
		if err := writeJSON(opts.IO.Out, opts.IO.IsStdoutTTY(), doc); err != nil {
			return err
		}
		return partial
	}
	if workers != nil {
		fanoutNote(opts.IO, "stored "+textesc.Key(opts.Key), *workers)
		return partial
	}
	if opts.IO.IsStderrTTY() {
		cs := opts.IO.ColorScheme()
		fmt.Fprintf(opts.IO.ErrOut, "%s stored %s (%s, %s)\n", cs.Green("✓"), textesc.Key(opts.Key), human.Bytes(int64(len(value))), t.Human())
	}
	return nil
}

func readSetInput(opts *setOptions) ([]byte, error) {
	switch {
	case opts.Value != nil:
		return []byte(*opts.Value), nil
	case opts.File != "":
		fh, err := os.Open(opts.File)
		if err != nil {
			return nil, usagef("--file: %v", err)
		}
		defer fh.Close()
		return readLimited(fh, opts.File)
	default:
		if opts.IO.IsStdinTTY() {
			return nil, usagef("no value: pass VALUE, pipe it to standard input with -, or use --file")
		}
		return readLimited(opts.IO.In, "standard input")
	}
}

func readLimited(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSetInput+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > maxSetInput {
		return nil, usagef("%s is larger than %s, the most a cache value can hold", name, human.Bytes(maxSetInput))
	}
	return data, nil
}
