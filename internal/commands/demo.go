package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/demo"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/memserver"
	"github.com/cachectl/cachectl/internal/tui"
)

type demoOptions struct {
	IO      *iostreams.IOStreams
	Drivers backends.Drivers // the dashboard opens the demo's URL through them
	Now     func() time.Time
	Timeout time.Duration
	Verbose bool // log every request to stderr

	Addr  string
	NoUI  bool
	Token string
}

// NewCmdDemo builds `cachectl demo`.
func NewCmdDemo(f *Factory, runF func(context.Context, *demoOptions) error) *cobra.Command {
	opts := &demoOptions{IO: f.IO, Drivers: f.Drivers, Now: f.Now}
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
			opts.Timeout, opts.Verbose = f.Global.Timeout, f.Global.Verbose
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
	if err := checkListenAddr(opts.Addr, opts.Token); err != nil {
		return err
	}
	entries, err := demo.Entries(opts.Now())
	if err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	store := memserver.NewStore(memserver.Options{})
	for _, e := range entries {
		if err := store.Set(e.Key, e.Value, e.TTL, e.Format); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
	}
	srv, err := startServer(ctx, requestLog(opts.IO, opts.Verbose), store, opts.Addr, opts.Token, 16<<20)
	if err != nil {
		return err
	}
	fmt.Fprintln(opts.IO.Out, srv.URL)
	cs := opts.IO.ColorScheme()
	u := srv.URL
	fmt.Fprintf(opts.IO.ErrOut, `%s a sample cache with %d entries is at %s

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
	if opts.NoUI || !opts.IO.IsStdinTTY() || !opts.IO.IsStdoutTTY() {
		fmt.Fprintln(opts.IO.ErrOut, "Stop with Ctrl-C.")
		return srv.Wait(ctx)
	}
	fmt.Fprintln(opts.IO.ErrOut, "The cache stopped when the dashboard closed.")
	open := func(ctx context.Context, warn func(string)) (backends.Backend, error) {
		return opts.Drivers.Open(ctx, u, backends.Options{Timeout: opts.Timeout, Token: opts.Token, Warn: warn})
	}
	uiErr := tui.Run(ctx, opts.IO.In, opts.IO.Out, tui.Options{Kind: "http", Address: u, Label: "demo", Timeout: opts.Timeout, Now: opts.Now}, open)
	stopCtx, stop := context.WithCancel(ctx)
	stop() // the dashboard is closed: shut the server down now
	if err := srv.Wait(stopCtx); err != nil && !errors.Is(err, errStopped) {
		return err
	}
	return uiErr
}
