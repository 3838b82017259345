package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/demo"
	"github.com/cachectl/cachectl/internal/memserver"
	"github.com/cachectl/cachectl/internal/tui"
)

type demoOptions struct {
	f     *Factory
	Addr  string
	NoUI  bool
	Token string
}

// NewCmdDemo builds `cachectl demo`.
func NewCmdDemo(f *Factory, runF func(context.Context, *demoOptions) error) *cobra.Command {
	opts := &demoOptions{f: f}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Try cachectl on a sample cache, no setup needed",
		Long: `Start an in-memory cache in this process, on a free loopback port, filled
with entries like those Python web apps keep: aiocache JSON under namespaces,
pickled orders with datetimes and Decimals, msgpack feeds, Litestar and Django
responses and sessions, rate limits that expire while you watch, and a few
large values. It prints the cache's URL and commands to try, then opens the
dashboard on it (cachectl ui); quitting the dashboard stops the cache. With
--no-ui, or off a terminal, it only serves, until Ctrl-C.`,
		Example: `  cachectl demo
  cachectl demo --no-ui --addr 127.0.0.1:8750`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Token = f.Global.Token // required off loopback
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return demoRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Addr, "addr", "127.0.0.1:0", "address to listen on (port 0 picks a free port)")
	cmd.Flags().BoolVar(&opts.NoUI, "no-ui", false, "only serve; do not open the dashboard")
	return cmd
}

func demoRun(ctx context.Context, opts *demoOptions) error {
	f := opts.f
	if err := checkListenAddr(opts.Addr, opts.Token); err != nil {
		return err
	}
	entries, err := demo.Entries(f.Now())
	if err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	store := memserver.NewStore(memserver.Options{})
	for _, e := range entries {
		if err := store.Set(e.Key, e.Value, e.TTL, e.Format); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
	}
	srv, err := startServer(ctx, f, store, opts.Addr, opts.Token, 16<<20)
	if err != nil {
		return err
	}
	fmt.Fprintln(f.IO.Out, srv.URL)
	cs := f.IO.ColorScheme()
	u := srv.URL
	fmt.Fprintf(f.IO.ErrOut, `%s a sample cache with %d entries is at %s

Try, in another terminal:
  cachectl -u %s keys -l
  cachectl -u %s get orders:100001          %s
  cachectl -u %s get api:user:7 -o json     %s
  cachectl -u %s get 'LITESTAR:GET/itemspage=1&size=20'
  cachectl -u %s keys 'ratelimit:*' -l      %s
  cachectl -u %s stats
  export CACHECTL_URL=%s                     %s

`, cs.Green("✓"), len(entries), u,
		u, u, cs.Dim("# a pickle: datetimes, Decimals, a UUID"),
		u, cs.Dim("# aiocache JSON"),
		u, u, cs.Dim("# TTLs running out"),
		u, u, cs.Dim("# then leave out -u"))
	if opts.NoUI || !f.IO.IsStdinTTY() || !f.IO.IsStdoutTTY() {
		fmt.Fprintln(f.IO.ErrOut, "Stop with Ctrl-C.")
		return srv.Wait(ctx)
	}
	fmt.Fprintln(f.IO.ErrOut, "The cache stopped when the dashboard closed.")
	open := func(ctx context.Context, warn func(string)) (backends.Backend, error) {
		return f.Drivers.Open(ctx, u, backends.Options{Timeout: f.Global.Timeout, Token: opts.Token, Warn: warn})
	}
	uiErr := tui.Run(ctx, f.IO.In, f.IO.Out, tui.Options{Kind: "http", Address: u, Label: "demo", Timeout: f.Global.Timeout, Now: f.Now}, open)
	stopCtx, stop := context.WithCancel(ctx)
	stop() // the dashboard is closed: shut the server down now
	if err := srv.Wait(stopCtx); err != nil && !errors.Is(err, errStopped) {
		return err
	}
	return uiErr
}
