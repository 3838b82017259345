package commands

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/build"
	"github.com/cachectl/cachectl/internal/config"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/memserver"
)

type serveOptions struct {
	IO      *iostreams.IOStreams
	Verbose bool // log every request to stderr

	Addr      string
	Token     string // the global --token, else CACHECTL_TOKEN
	MaxMemory int64
	MaxBody   int64
}

// DefaultServeAddr is where serve listens unless told otherwise.
const DefaultServeAddr = "127.0.0.1:8750"

// NewCmdServe builds `cachectl serve`.
func NewCmdServe(f *Factory, runF func(context.Context, *serveOptions) error) *cobra.Command {
	opts := &serveOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run an in-memory cache that speaks the HTTP cache protocol",
		Long: `Run an in-memory cache reachable over HTTP (protocol v1, docs/http-protocol.md),
for trying cachectl, for tests, or as a small shared cache. Point cachectl at
it with -u http://ADDR.

It listens on 127.0.0.1:8750 by default. Any other than a loopback address
needs a token (--token or CACHECTL_TOKEN), which clients send as a bearer
token. SIGTERM or Ctrl-C stops it gracefully. -v logs every request to stderr.
The URL is printed on stdout once the server listens, so scripts can read it.`,
		Example: `  cachectl serve
  cachectl serve --addr 127.0.0.1:0 --max-memory 256MiB
  CACHECTL_TOKEN=s3cret cachectl serve --addr 0.0.0.0:8750`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Token, opts.Verbose = f.Global.Token, f.Global.Verbose
			if opts.Token == "" {
				opts.Token, _ = f.Getenv("CACHECTL_TOKEN")
				// A token of spaces would be required of clients as if it were one.
				if err := config.CheckToken(opts.Token, "env "+config.EnvToken); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return serveRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Addr, "addr", DefaultServeAddr, "address to listen on (port 0 picks a free port)")
	cmd.Flags().Var(newByteSize(&opts.MaxMemory, 0), "max-memory", "evict least recently used entries beyond this size (e.g. 256MiB; 0 = no limit)")
	cmd.Flags().Var(newByteSize(&opts.MaxBody, 16<<20), "max-body", "largest value a client may store")
	return cmd
}

func serveRun(ctx context.Context, opts *serveOptions) error {
	if err := checkListenAddr(opts.Addr, opts.Token); err != nil {
		return err
	}
	store := memserver.NewStore(memserver.Options{MaxMemory: opts.MaxMemory})
	srv, err := startServer(ctx, requestLog(opts.IO, opts.Verbose), store, opts.Addr, opts.Token, opts.MaxBody)
	if err != nil {
		return err
	}
	fmt.Fprintln(opts.IO.Out, srv.URL)
	fmt.Fprintf(opts.IO.ErrOut, "serving an in-memory cache at %s (protocol v1)%s; stop with Ctrl-C\n", srv.URL, tokenNote(opts.Token))
	return srv.Wait(ctx)
}

func tokenNote(token string) string {
	if token == "" {
		return ", no token"
	}
	return ", bearer token required"
}

// checkListenAddr refuses to serve a non-loopback address without a token:
// anyone who can reach it could read and change the cache.
func checkListenAddr(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("--addr %q: want HOST:PORT, e.g. 127.0.0.1:8750", addr)
	}
	if token != "" || isLoopback(host) {
		return nil
	}
	return &RefusedError{Msg: fmt.Sprintf("refusing to serve on %s without a token: anyone who reaches it could read and change the cache; set --token or CACHECTL_TOKEN, or listen on 127.0.0.1", addr)}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// runningServer is an HTTP cache server started by serve or demo.
type runningServer struct {
	URL  string
	srv  *http.Server
	errc chan error
	stop context.CancelFunc
}

// requestLog logs a server's requests to stderr with -v, else nowhere (nil).
func requestLog(ios *iostreams.IOStreams, verbose bool) func(string, ...any) {
	if !verbose {
		return nil
	}
	return func(format string, args ...any) { fmt.Fprintf(ios.ErrOut, format+"\n", args...) }
}

// startServer listens on addr and serves store until Wait's context ends;
// logf, when not nil, logs each request.
func startServer(ctx context.Context, logf func(string, ...any), store *memserver.Store, addr, token string, maxBody int64) (*runningServer, error) {
	streamsDone := make(chan struct{})
	h := memserver.NewHandler(store, memserver.HandlerOptions{Token: token, MaxBody: maxBody, Version: "cachectl/" + build.Version, Log: logf, Stop: streamsDone})
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	sweepCtx, stop := context.WithCancel(context.Background())
	go store.Run(sweepCtx, time.Second)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
	}
	// Event streams last until the client leaves: a shutdown ends them
	// instead of waiting for them.
	srv.RegisterOnShutdown(func() { close(streamsDone) })
	rs := &runningServer{URL: "http://" + ln.Addr().String(), srv: srv, errc: make(chan error, 1), stop: stop}
	go func() { rs.errc <- srv.Serve(ln) }()
	return rs, nil
}

// Wait serves until ctx ends (Ctrl-C, SIGTERM), then shuts down gracefully:
// requests in flight get up to five seconds to finish.
func (rs *runningServer) Wait(ctx context.Context) error {
	defer rs.stop()
	select {
	case err := <-rs.errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rs.srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down: %w", err)
	}
	return errStopped
}

// errStopped ends a command that runs until it is told to stop (serve,
// demo): a signal is its normal end, so the exit code is 0, not 130.
var errStopped = &stoppedError{}

type stoppedError struct{}

func (*stoppedError) Error() string { return "stopped" }
