package commands

import (
	"cmp"
	"context"
	"fmt"
	"github.com/cachectl/cachectl/internal/appurl"
	"os"
	"strings"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/backends/drivers"
	"github.com/cachectl/cachectl/internal/config"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/profiles"
	"github.com/cachectl/cachectl/internal/textesc"
)

// GlobalOptions are the flags every command shares (README "Commands and flags").
type GlobalOptions struct {
	URL         string
	URLSet      bool
	Context     string
	ConfigPath  string
	Profile     string
	ProfileSet  bool // --profile was given: the context's profile settings are ignored
	Namespace   string
	KeyPrefix   string
	KeyVersion  string
	Output      string
	Timeout     time.Duration
	TimeoutSet  bool // --timeout was given: it beats an app URL's ?timeout=
	ReadOnly    bool
	NoColor     bool
	Verbose     bool
	EscapedKeys bool
	// ReadFromReplicas: a listing-only command (keys, dump) reads from
	// replicas of a Redis Cluster or Sentinel setup.
	ReadFromReplicas bool
	ScanCount        int
	Token            string
	// SSH is --ssh ([user@]host[:port]); SSHInsecure skips host key checks.
	SSH         string
	SSHSet      bool
	SSHInsecure bool
}

// Factory carries what commands need from the outside world. Everything is
// lazy so `--help` and flag errors never read files or dial servers.
type Factory struct {
	IO      *iostreams.IOStreams
	Getenv  iostreams.Getenv
	Now     func() time.Time
	Drivers backends.Drivers
	Global  *GlobalOptions

	// ctx is the running command line's context (Run sets it), for the
	// look-ups the Factory makes lazily on a command's behalf.
	ctx      context.Context
	resolved *config.Resolved
	// app is what the URL said for the app's own client (aiocache's
	// ?namespace=, ?timeout=…), taken out of resolved.URL.
	app     appurl.App
	profile *profiles.Profile
	warned  map[string]bool
	// ssh is the tunnel every dial goes through, when one is set.
	ssh *sshTunnel
}

// NewFactory wires the production dependencies.
func NewFactory(io *iostreams.IOStreams, getenv iostreams.Getenv) *Factory {
	return &Factory{
		IO:      io,
		Getenv:  getenv,
		Now:     time.Now,
		Drivers: drivers.All(),
		Global:  &GlobalOptions{Timeout: 5 * time.Second, Output: "text", ScanCount: 1000},
	}
}

// ConfigPath is --config, else $XDG_CONFIG_HOME/cachectl/config.yaml.
func (f *Factory) ConfigPath() (string, error) {
	if f.Global.ConfigPath != "" {
		return f.Global.ConfigPath, nil
	}
	if v, ok := f.Getenv("CACHECTL_CONFIG"); ok && v != "" {
		return v, nil
	}
	return config.DefaultPath(f.Getenv)
}

// Config loads the contexts file (a missing file is an empty one).
func (f *Factory) Config() (*config.File, string, error) {
	path, err := f.ConfigPath()
	if err != nil {
		return nil, "", err
	}
	file, err := config.Load(path)
	if err != nil {
		return nil, path, err
	}
	return file, path, nil
}

// Resolve decides which cache to talk to, once per process.
func (f *Factory) Resolve() (*config.Resolved, error) {
	if f.resolved != nil {
		return f.resolved, nil
	}
	file, _, err := f.Config()
	if err != nil {
		return nil, err
	}
	r, err := config.Resolve(config.ResolveInput{
		FlagURL:      f.Global.URL,
		FlagURLSet:   f.Global.URLSet,
		FlagContext:  f.Global.Context,
		FlagReadOnly: f.Global.ReadOnly,
		FlagSSH:      f.Global.SSH,
		FlagSSHSet:   f.Global.SSHSet,
		Getenv:       f.Getenv,
		File:         file,
	})
	if err != nil {
		return nil, err
	}
	clean, app, err := appurl.Split(r.URL)
	if err != nil {
		return nil, &UsageError{Msg: fmt.Sprintf("%s: %v", r.Source, err)}
	}
	r.URL = clean
	if app.Password != "" {
		r.Password = app.Password // in the URL, so it beats the environment's
	}
	if f.Global.Verbose {
		fmt.Fprintf(f.IO.ErrOut, "using %s (from %s)\n", config.RedactURL(r.URL), r.Source)
		if app.Timeout > 0 && !f.Global.TimeoutSet {
			fmt.Fprintf(f.IO.ErrOut, "the URL's timeout=%v sets the operation timeout\n", app.Timeout)
		}
		if app.Namespace != "" {
			fmt.Fprintf(f.IO.ErrOut, "the URL's namespace=%s is the aiocache namespace under --profile aiocache or auto\n", textesc.Line(app.Namespace))
		}
		if len(app.Ignored) > 0 {
			fmt.Fprintf(f.IO.ErrOut, "ignoring the app's own settings in the URL: %s\n", strings.Join(app.Ignored, ", "))
		}
	}
	f.resolved, f.app = r, app
	return r, nil
}

// Backend opens the resolved cache; warnings go to stderr.
func (f *Factory) Backend(ctx context.Context) (backends.Backend, error) {
	return f.OpenBackend(ctx, f.warn)
}

// OpenBackend opens the resolved cache with warnings sent to warn (the
// dashboard shows them in its status line, where stderr would tear the screen).
func (f *Factory) OpenBackend(ctx context.Context, warn func(string)) (backends.Backend, error) {
	r, err := f.Resolve()
	if err != nil {
		return nil, err
	}
	dial, err := f.dialer(r, warn)
	if err != nil {
		return nil, err
	}
	return f.Drivers.Open(ctx, r.URL, backends.Options{
		Dial:     dial,
		Timeout:  f.timeout(),
		Password: r.Password,
		// The sentinels' own password; the data nodes take Password.
		SentinelPassword: r.SentinelPassword,
		ReadFromReplicas: f.Global.ReadFromReplicas,
		Token:            cmp.Or(f.Global.Token, r.Token),
		ScanCount:        f.Global.ScanCount,
		Warn:             warn,
	})
}

// timeout is --timeout, else an app URL's ?timeout=, else the default.
func (f *Factory) timeout() time.Duration {
	if f.app.Timeout > 0 && !f.Global.TimeoutSet {
		return f.app.Timeout
	}
	return f.Global.Timeout
}

// warn prints a backend's warning on stderr, once per message.
func (f *Factory) warn(msg string) {
	if f.warned == nil {
		f.warned = map[string]bool{}
	}
	if f.warned[msg] {
		return
	}
	f.warned[msg] = true
	// Warnings may quote the server (a NOPERM reply): escaped, one line.
	fmt.Fprintf(f.IO.ErrOut, "%s %s\n", f.IO.ColorScheme().Yellow("warning:"), textesc.Line(msg))
}

// CheckWritable refuses writes in read-only mode (exit 4) before any dial.
func (f *Factory) CheckWritable(what string) error {
	r, err := f.Resolve()
	if err != nil {
		return err
	}
	if r.ReadOnly {
		src := "--read-only"
		if r.ContextName != "" && !f.Global.ReadOnly {
			src = fmt.Sprintf("context %q is read-only", r.ContextName)
		}
		return &RefusedError{Msg: fmt.Sprintf("refusing to %s: %s", what, src)}
	}
	return nil
}

// Profile is the framework layout in use: --profile and its options, else
// the context's, else none.
func (f *Factory) Profile() (*profiles.Profile, error) {
	if f.profile != nil {
		return f.profile, nil
	}
	g := f.Global
	o := profiles.Options{Namespace: g.Namespace, KeyPrefix: g.KeyPrefix, KeyVersion: g.KeyVersion}
	name := g.Profile
	r, err := f.Resolve()
	if err != nil {
		// No cache to talk to: the command will say so when it dials. Until
		// then keys map by the flags alone (tests of flag parsing, --help).
		return profiles.Lookup(name, o)
	}
	o.Backend = f.Drivers.Kind(r.URL)
	if c := r.Context; c != nil && !g.ProfileSet && c.Profile != "" {
		name = c.Profile
		o.Namespace = cmp.Or(o.Namespace, c.Namespace)
		o.KeyPrefix = cmp.Or(o.KeyPrefix, c.KeyPrefix)
		o.KeyVersion = cmp.Or(o.KeyVersion, c.KeyVersion)
	}
	// An aiocache URL's namespace: the namespace of the aiocache profile,
	// and what --profile auto picks.
	if ns := f.app.Namespace; ns != "" && o.Namespace == "" && (name == "aiocache" || name == "auto") {
		name, o.Namespace = "aiocache", ns
	}
	if name == "litestar" && o.Backend == "http" {
		if o.BareStore, err = f.bareLitestarStore(); err != nil {
			return nil, err
		}
	}
	p, err := profiles.Lookup(name, o)
	if err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	f.profile = p
	return p, nil
}

// bareLitestarStore asks an HTTP cache which store it serves: the adapter
// serving a Litestar MemoryStore or FileStore keeps keys bare, while
// `cachectl serve` (and a server that does not say) is laid out like the
// RedisStore, NS:key.
func (f *Factory) bareLitestarStore() (bool, error) {
	ctx := f.ctx
	if ctx == nil {
		ctx = context.Background() // tests that build a Factory without Run
	}
	b, err := f.Backend(ctx)
	if err != nil {
		return false, err
	}
	defer b.Close()
	sr, ok := b.(backends.StoreReporter)
	if !ok {
		return false, nil
	}
	st, err := sr.Store(ctx)
	if err != nil {
		return false, err
	}
	bare := st.Library == "litestar" && st.Namespace == nil
	if f.Global.Verbose {
		layout := "keys under the RedisStore's namespace (LITESTAR:key)"
		if bare {
			layout = "bare keys"
		}
		what := textesc.Line(strings.TrimSpace(st.Library + " " + st.Class))
		if what == "" {
			what = "a store it does not name"
		}
		fmt.Fprintf(f.IO.ErrOut, "the cache serves %s: %s\n", what, layout)
	}
	return bare, nil
}

// keyMapper maps key arguments under --escaped-keys and the profile.
func (f *Factory) keyMapper() keyMapper {
	return keyMapper{Escaped: func() bool { return f.Global.EscapedKeys }, Profile: f.Profile}
}

// Output is the -o format asked for.
func (f *Factory) Output() outputFormat { return outputFormat(f.Global.Output) }

// osGetenv is os.LookupEnv, the only environment access in the program.
func osGetenv(k string) (string, bool) { return os.LookupEnv(k) }
