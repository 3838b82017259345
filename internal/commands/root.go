// Package commands is cachectl's cobra command tree. Each command has an
// Options struct, a NewCmdX constructor and an xRun function, as in the
// GitHub CLI: NewCmdX fills the Options with what the run uses from the
// Factory (streams, a lazy backend opener, the key mapping, the clock) and
// the flags, and xRun sees only the Options. Nothing here calls os.Exit or
// reads the environment except through the Factory.
package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/config"
	"github.com/cachectl/cachectl/internal/profiles"

	"github.com/cachectl/cachectl/internal/build"
	"github.com/cachectl/cachectl/internal/iostreams"
)

// Main runs cachectl with the process's arguments and returns the exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first Ctrl-C lets the request in flight answer (within --timeout)
	// so the command can say exactly what it did; a second one, back under
	// the default handling, ends the process at once.
	context.AfterFunc(ctx, stop)
	f := NewFactory(iostreams.System(osGetenv), osGetenv)
	return Run(ctx, f, os.Args[1:])
}

// Run executes one command line against a Factory and reports the exit code;
// tests call it with a test Factory.
func Run(ctx context.Context, f *Factory, args []string) int {
	f.ctx = ctx
	root := NewRootCmd(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	err := f.endTunnel(root.ExecuteContext(ctx))
	var stopped *stoppedError
	if errors.As(err, &stopped) {
		return ExitOK // serve, demo: stopped by a signal, as they should be
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		err = f.hideSecrets(err)
		cs := f.IO.ColorScheme()
		// Nobody reads a closed pipe: say nothing more, just the exit status.
		if !silent(err) && !isBrokenPipe(err) {
			fmt.Fprintln(f.IO.ErrOut, cs.Red("error:")+" "+ErrorMessage(err))
		}
		return ExitCode(err)
	}
	return ExitOK
}

// NewRootCmd builds the command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	g := f.Global
	root := &cobra.Command{
		Use:   "cachectl",
		Short: "Inspect and administer Redis, Memcached and in-process caches",
		Long: `cachectl reads, writes, lists, expires and invalidates cache entries in
Redis, Memcached and in-process caches over HTTP, decodes the values Python
apps store, and shows exactly what a key holds. Try it: cachectl demo.

Data goes to stdout, messages to stderr; exit codes: 0 ok, 1 error, 2 usage,
3 key not found, 4 refused for safety, 130 interrupted, 141 stdout closed
(as in cachectl keys | head).`,
		Version:       build.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			g.URLSet = cmd.Flags().Changed("url")
			g.SSHSet = cmd.Flags().Changed("ssh")
			g.TimeoutSet = cmd.Flags().Changed("timeout")
			switch g.Output {
			case "text", "json", "jsonl":
			default:
				return usagef("invalid --output %q: want text, json or jsonl", g.Output)
			}
			if g.Timeout <= 0 {
				return usagef("--timeout must be positive, got %v", g.Timeout)
			}
			if err := config.CheckToken(g.Token, "flag --token"); err != nil {
				return err
			}
			if g.ScanCount < 1 {
				return usagef("--scan-count must be at least 1")
			}
			if g.NoColor {
				f.IO.SetColorEnabled(false)
			}
			g.ProfileSet = cmd.Flags().Changed("profile")
			if !slices.Contains(profiles.Names, g.Profile) && g.Profile != "async-caches" {
				return usagef("unknown --profile %q (want %s)", g.Profile, joinNames(profiles.Names))
			}
			if g.ProfileSet {
				// Options that do not fit the profile are refused before any dial.
				if _, err := profiles.Lookup(g.Profile, profiles.Options{Namespace: g.Namespace, KeyPrefix: g.KeyPrefix, KeyVersion: g.KeyVersion}); err != nil {
					return usagef("%v", err)
				}
			}
			return nil
		},
	}
	root.SetVersionTemplate("cachectl version {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Msg: err.Error()} })

	pf := root.PersistentFlags()
	pf.StringVarP(&g.URL, "url", "u", "", "cache URL: redis://[user[:pass]@]host[:port][/db], rediss://, unix:///path.sock, memcached://host[:port][,host…], http://host:port[/prefix] (env CACHECTL_URL, CACHE_URL)")
	pf.StringVarP(&g.Context, "context", "c", "", "named context from the config file (env CACHECTL_CONTEXT)")
	pf.StringVar(&g.ConfigPath, "config", "", "config file (default $XDG_CONFIG_HOME/cachectl/config.yaml; env CACHECTL_CONFIG)")
	pf.StringVar(&g.Profile, "profile", "none", "framework key layout: "+joinNames(profiles.Names)+" (a context's profile applies unless given)")
	pf.StringVarP(&g.Namespace, "namespace", "n", "", "namespace: aiocache's, or a Litestar store's (sessions means LITESTAR_sessions)")
	pf.StringVar(&g.KeyPrefix, "key-prefix", "", "Django KEY_PREFIX, asgi-caches key_prefix (default empty)")
	pf.StringVar(&g.KeyVersion, "key-version", "", "Django VERSION (default 1), asgi-caches version (default empty)")
	pf.StringVarP(&g.Output, "output", "o", "text", "output format: text, json or jsonl")
	pf.DurationVar(&g.Timeout, "timeout", g.Timeout, "timeout of each operation")
	pf.BoolVar(&g.ReadOnly, "read-only", false, "refuse every write (exit 4)")
	pf.BoolVar(&g.NoColor, "no-color", false, "never colour output (also NO_COLOR=1)")
	pf.BoolVarP(&g.Verbose, "verbose", "v", false, "say which cache and settings are used")
	pf.BoolVarP(&g.EscapedKeys, "escaped-keys", "E", false, `key arguments use the escaped form that output prints ("a\x00b", \n, \t, \\, \xNN, \uNNNN)`)
	pf.IntVar(&g.ScanCount, "scan-count", g.ScanCount, "COUNT hint of each SCAN page")
	pf.StringVar(&g.SSH, "ssh", "", "reach the cache through an SSH server, [user@]host[:port] or a ~/.ssh/config Host (env CACHECTL_SSH; none for no tunnel; beats a context's ssh block)")
	pf.BoolVar(&g.SSHInsecure, "ssh-insecure-ignore-host-key", false, "do not verify the SSH server's host key against known_hosts (warns; anyone on the way could pose as the server)")
	pf.StringVar(&g.Token, "token", "", "bearer token of an HTTP cache (env CACHECTL_TOKEN; a context's token_env); for serve and demo, the token clients must send")
	_ = root.RegisterFlagCompletionFunc("output", fixedCompletion("text", "json", "jsonl"))
	_ = root.RegisterFlagCompletionFunc("profile", fixedCompletion(profiles.Names...))
	_ = root.RegisterFlagCompletionFunc("context", f.completeContexts)

	root.AddCommand(
		NewCmdGet(f, nil),
		NewCmdSet(f, nil),
		NewCmdDel(f, nil),
		NewCmdKeys(f, nil),
		NewCmdTTL(f, nil),
		NewCmdExpire(f, nil),
		NewCmdStats(f, nil),
		NewCmdInvalidate(f, nil),
		NewCmdAnalyze(f, nil),
		NewCmdWatch(f, nil),
		NewCmdHot(f, nil),
		NewCmdDump(f, nil),
		NewCmdRestore(f, nil),
		NewCmdServe(f, nil),
		NewCmdDemo(f, nil),
		NewCmdUI(f, nil),
		NewCmdConfig(f),
		NewCmdVersion(f),
		NewCmdMan(f),
	)
	return root
}

// hideSecrets makes sure no credential this command line was given, by flag,
// environment or context, appears in the text of err.
func (f *Factory) hideSecrets(err error) error {
	urls := []string{f.Global.URL}
	values := []string{f.Global.Token}
	if r := f.resolved; r != nil {
		urls = append(urls, r.URL)
		values = append(values, r.Password, r.Token)
	}
	if f.Getenv != nil {
		for _, name := range []string{config.EnvURL, config.EnvCacheURL} {
			if v, ok := f.Getenv(name); ok {
				urls = append(urls, v)
			}
		}
		for _, name := range []string{config.EnvPassword, config.EnvToken} {
			if v, ok := f.Getenv(name); ok {
				values = append(values, v)
			}
		}
	}
	return withSecretsHidden(err, urls, values...)
}

// silentError has already been reported to the user (e.g. per-key "not
// found" lines); only its exit code remains to be returned.
type silentError struct{ err error }

func (e *silentError) Error() string { return e.err.Error() }
func (e *silentError) Unwrap() error { return e.err }

func silent(err error) bool {
	// Through the wrapper that hides a URL's password as well.
	var s *silentError
	return errors.As(err, &s)
}
