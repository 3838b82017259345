package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/config"
	"github.com/cachectl/cachectl/internal/profiles"
	"github.com/cachectl/cachectl/internal/sshtunnel"
)

// NewCmdConfig builds `cachectl config` and its kubectl-style subcommands.
func NewCmdConfig(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Manage named contexts (cache URLs and their settings)",
		Long: `A context names a cache and how to treat it: its URL, where its password
comes from (password_env: the name of an environment variable), whether it is
read-only, and a label for production. Contexts live in
$XDG_CONFIG_HOME/cachectl/config.yaml (or --config FILE / CACHECTL_CONFIG).

Which cache a command uses: --url, then --context, then CACHECTL_URL, then
CACHE_URL, then CACHECTL_CONTEXT, then the current context.`,
		Example: `  cachectl config set-context prod --url redis://app@redis.internal:6379/0 \
      --password-env PROD_REDIS_PASSWORD --read-only --label PRODUCTION --color red
  cachectl config use-context prod
  cachectl config get-contexts
  cachectl -c prod get user:1`,
	}
	cmd.AddCommand(
		newCmdConfigView(f),
		newCmdGetContexts(f),
		newCmdCurrentContext(f),
		newCmdUseContext(f),
		newCmdSetContext(f),
		newCmdDeleteContext(f),
	)
	return cmd
}

func newCmdConfigView(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "view",
		Short: "Print the config file, passwords redacted",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, _, err := f.Config()
			if err != nil {
				return err
			}
			red := file.Redacted()
			if f.Output().JSON() {
				return writeJSON(f.IO.Out, f.IO.IsStdoutTTY(), contextsJSON(red))
			}
			out, err := yaml.Marshal(red)
			if err != nil {
				return fmt.Errorf("encode config: %w", err)
			}
			_, err = f.IO.Out.Write(out)
			return err
		},
	}
}

type contextJSON struct {
	Name        string      `json:"name"`
	Current     bool        `json:"current"`
	URL         string      `json:"url"`
	PasswordEnv string      `json:"password_env,omitempty"`
	TokenEnv    string      `json:"token_env,omitempty"`
	ReadOnly    bool        `json:"read_only"`
	Profile     string      `json:"profile,omitempty"`
	Namespace   string      `json:"namespace,omitempty"`
	KeyPrefix   string      `json:"key_prefix,omitempty"`
	KeyVersion  string      `json:"key_version,omitempty"`
	Label       string      `json:"label,omitempty"`
	Color       string      `json:"color,omitempty"`
	Production  bool        `json:"production"`
	SSH         *config.SSH `json:"ssh,omitempty"`
}

func contextsJSON(file *config.File) []contextJSON {
	out := []contextJSON{}
	for _, name := range file.Names() {
		c, _ := file.Get(name)
		out = append(out, contextJSON{
			Name: name, Current: name == file.CurrentContext, URL: config.RedactURL(c.URL),
			PasswordEnv: config.RedactEnvName(c.PasswordEnv), TokenEnv: config.RedactEnvName(c.TokenEnv), ReadOnly: c.ReadOnly,
			Profile: c.Profile, Namespace: c.Namespace, KeyPrefix: c.KeyPrefix, KeyVersion: c.KeyVersion, Label: c.Label, Color: c.Color,
			Production: c.Production, SSH: c.SSH,
		})
	}
	return out
}

func newCmdGetContexts(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "get-contexts",
		Short: "List the contexts",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, _, err := f.Config()
			if err != nil {
				return err
			}
			list := contextsJSON(file)
			if f.Output().JSON() {
				return writeJSON(f.IO.Out, f.IO.IsStdoutTTY(), list)
			}
			if len(list) == 0 {
				if f.IO.IsStderrTTY() {
					fmt.Fprintln(f.IO.ErrOut, "no contexts yet; add one with: cachectl config set-context NAME --url URL")
				}
				return nil
			}
			cs := f.IO.ColorScheme()
			tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CURRENT\tNAME\tURL\tMODE\tLABEL")
			for _, c := range list {
				cur, mode := "", "read-write"
				if c.Current {
					cur = "*"
				}
				if c.ReadOnly {
					mode = "read-only"
				}
				name := c.Name
				if c.Production {
					name = cs.Red(name)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cur, name, c.URL, mode, c.Label)
			}
			return tw.Flush()
		},
	}
}

func newCmdCurrentContext(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "current-context",
		Short: "Print the name of the current context",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, _, err := f.Config()
			if err != nil {
				return err
			}
			if file.CurrentContext == "" {
				return usagef("no current context; choose one with cachectl config use-context NAME")
			}
			_, err = fmt.Fprintln(f.IO.Out, file.CurrentContext)
			return err
		},
	}
}

func newCmdUseContext(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:               "use-context NAME",
		Short:             "Make NAME the current context",
		Args:              exactArgs(1),
		ValidArgsFunction: f.completeContexts,
		RunE: func(cmd *cobra.Command, args []string) error {
			return editConfig(f, (*config.File).Use, args[0], "switched to context %q\n")
		},
	}
}

func newCmdSetContext(f *Factory) *cobra.Command {
	var c config.Context
	var current bool
	var sshFlags config.SSH
	cmd := &cobra.Command{
		Use:   "set-context NAME",
		Short: "Create a context or change some of its settings",
		Long: `Create the context NAME, or change the settings given as flags and keep the
others. Put passwords in an environment variable and name it with
--password-env, so they stay out of the file, the shell history and the
process list.`,
		Example: `  cachectl config set-context local --url redis://127.0.0.1:6379/0
  cachectl config set-context prod --url redis://app@redis.internal:6379/0 --password-env PROD_REDIS_PASSWORD --read-only --production
  cachectl config set-context prod --read-only=false`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			file, path, err := f.Config()
			if err != nil {
				return err
			}
			existing, ok := file.Get(name)
			merged := config.Context{}
			if ok {
				merged = *existing
			}
			fl := cmd.Flags()
			set := func(flag string, dst *string, v string) {
				if fl.Changed(flag) {
					*dst = v
				}
			}
			// A value that is no variable name is probably the secret itself:
			// refuse it before it reaches the file, and do not echo it.
			for _, fv := range []struct{ flag, v string }{{"password-env", c.PasswordEnv}, {"sentinel-password-env", c.SentinelPasswordEnv}, {"token-env", c.TokenEnv}} {
				if fl.Changed(fv.flag) && fv.v != "" && !config.ValidVarName(fv.v) {
					return usagef("--%s takes the name of an environment variable (letters, digits and _), not the secret itself; nothing was saved", fv.flag)
				}
			}
			set("url", &merged.URL, c.URL)
			set("password-env", &merged.PasswordEnv, c.PasswordEnv)
			set("sentinel-password-env", &merged.SentinelPasswordEnv, c.SentinelPasswordEnv)
			set("token-env", &merged.TokenEnv, c.TokenEnv)
			set("profile", &merged.Profile, c.Profile)
			set("namespace", &merged.Namespace, c.Namespace)
			set("key-prefix", &merged.KeyPrefix, c.KeyPrefix)
			set("key-version", &merged.KeyVersion, c.KeyVersion)
			set("label", &merged.Label, c.Label)
			set("color", &merged.Color, c.Color)
			if fl.Changed("read-only") {
				merged.ReadOnly = c.ReadOnly
			}
			if fl.Changed("production") {
				merged.Production = c.Production
			}
			if err := setSSH(fl, &merged, sshFlags); err != nil {
				return err
			}
			if merged.URL == "" {
				return usagef("context %q needs --url", name)
			}
			if _, err := profiles.Lookup(merged.Profile, profiles.Options{Namespace: merged.Namespace, KeyPrefix: merged.KeyPrefix, KeyVersion: merged.KeyVersion, Backend: f.Drivers.Kind(merged.URL)}); err != nil {
				return usagef("context %q: %v", name, err)
			}
			if err := validateURL(cmd.Context(), f.Drivers, merged.URL); err != nil {
				return err
			}
			if err := file.Set(name, &merged); err != nil {
				return usagef("%v", err)
			}
			if current || file.CurrentContext == "" {
				file.CurrentContext = name
			}
			if err := file.Save(path); err != nil {
				return err
			}
			verb := "created"
			if ok {
				verb = "updated"
			}
			fmt.Fprintf(f.IO.ErrOut, "%s context %q in %s\n", verb, name, path)
			return nil
		},
	}
	fl := cmd.Flags()
	// These flags are local to set-context and shadow the global --url etc.
	fl.StringVar(&c.URL, "url", "", "cache URL (a password in it is stored in the file; prefer --password-env)")
	fl.StringVar(&c.PasswordEnv, "password-env", "", "name of the environment variable holding the password")
	fl.StringVar(&c.SentinelPasswordEnv, "sentinel-password-env", "", "name of the environment variable holding the Redis Sentinels' password")
	fl.StringVar(&c.TokenEnv, "token-env", "", "name of the environment variable holding an HTTP bearer token")
	fl.BoolVar(&c.ReadOnly, "read-only", false, "refuse every write through this context")
	fl.StringVar(&c.Profile, "profile", "", "framework key layout: "+strings.Join(profiles.Names, ", "))
	fl.StringVar(&c.Namespace, "namespace", "", "namespace of the profile (aiocache, litestar)")
	fl.StringVar(&c.KeyPrefix, "key-prefix", "", "KEY_PREFIX (django) or key_prefix (asgi-caches)")
	fl.StringVar(&c.KeyVersion, "key-version", "", "VERSION (django, default 1) or version (asgi-caches)")
	fl.StringVar(&c.Label, "label", "", "label shown by the dashboard")
	fl.StringVar(&c.Color, "color", "", "colour of the label (red, yellow, green, blue, ...)")
	fl.BoolVar(&c.Production, "production", false, "ask for typed confirmation before destructive operations")
	fl.BoolVar(&current, "current", false, "also make it the current context")
	fl.StringVar(&sshFlags.Host, "ssh", "", "tunnel through this SSH server: [user@]host[:port] or a ~/.ssh/config Host (\"\" or none removes the ssh block)")
	fl.StringVar(&sshFlags.User, "ssh-user", "", "SSH user (beats user@ and ~/.ssh/config)")
	fl.IntVar(&sshFlags.Port, "ssh-port", 0, "SSH port (beats :port and ~/.ssh/config)")
	fl.StringSliceVar(&sshFlags.IdentityFiles, "ssh-identity-file", nil, "private key to log in with (repeatable; replaces ~/.ssh/config's IdentityFile; \"\" clears)")
	fl.StringSliceVar(&sshFlags.KnownHosts, "ssh-known-hosts", nil, "known_hosts file to verify host keys with (repeatable; default ~/.ssh/known_hosts; \"\" clears)")
	fl.StringVar(&sshFlags.ProxyJump, "ssh-proxy-jump", "", "jump hosts, a comma list of [user@]host[:port], as ssh -J")
	return cmd
}

// setSSH applies set-context's --ssh* flags to c's ssh block; --ssh "" (or
// none) removes the block. Destinations are checked before anything is saved.
func setSSH(fl *pflag.FlagSet, c *config.Context, v config.SSH) error {
	changed := false
	for _, name := range []string{"ssh", "ssh-user", "ssh-port", "ssh-identity-file", "ssh-known-hosts", "ssh-proxy-jump"} {
		changed = changed || fl.Changed(name)
	}
	if !changed {
		return nil
	}
	if fl.Changed("ssh") && (strings.TrimSpace(v.Host) == "" || strings.EqualFold(strings.TrimSpace(v.Host), "none")) {
		if fl.Changed("ssh-user") || fl.Changed("ssh-port") || fl.Changed("ssh-identity-file") || fl.Changed("ssh-known-hosts") || fl.Changed("ssh-proxy-jump") {
			return usagef("--ssh %q removes the ssh block; the other --ssh-* flags need a host", v.Host)
		}
		c.SSH = nil
		return nil
	}
	s := config.SSH{}
	if c.SSH != nil {
		s = *c.SSH
	}
	if fl.Changed("ssh") {
		s.Host = strings.TrimSpace(v.Host)
	}
	if fl.Changed("ssh-user") {
		s.User = v.User
	}
	if fl.Changed("ssh-port") {
		if v.Port < 0 || v.Port > 65535 {
			return usagef("--ssh-port must be from 1 to 65535 (0 for the default)")
		}
		s.Port = v.Port
	}
	if fl.Changed("ssh-identity-file") {
		s.IdentityFiles = nonEmpty(v.IdentityFiles)
	}
	if fl.Changed("ssh-known-hosts") {
		s.KnownHosts = nonEmpty(v.KnownHosts)
	}
	if fl.Changed("ssh-proxy-jump") {
		s.ProxyJump = strings.TrimSpace(v.ProxyJump)
	}
	if s.Host == "" {
		return usagef("the context's ssh block needs a host: add --ssh [user@]host[:port]")
	}
	if _, err := sshtunnel.ParseDest(s.Host); err != nil {
		return usagef("--ssh: %v", err)
	}
	if s.ProxyJump != "" && !strings.EqualFold(s.ProxyJump, "none") {
		for _, j := range strings.Split(s.ProxyJump, ",") {
			if _, err := sshtunnel.ParseDest(strings.TrimSpace(j)); err != nil {
				return usagef("--ssh-proxy-jump: %v", err)
			}
		}
	}
	c.SSH = &s
	return nil
}

func nonEmpty(list []string) []string {
	var out []string
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func newCmdDeleteContext(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:               "delete-context NAME",
		Short:             "Delete a context",
		Args:              exactArgs(1),
		ValidArgsFunction: f.completeContexts,
		RunE: func(cmd *cobra.Command, args []string) error {
			return editConfig(f, (*config.File).Delete, args[0], "deleted context %q\n")
		},
	}
}

// validateURL checks a URL the way a command would open it, without any
// network I/O (drivers connect lazily). Features not supported yet are
// accepted: the context will work once they are.
func validateURL(ctx context.Context, drivers backends.Drivers, raw string) error {
	b, err := drivers.Open(ctx, raw, backends.Options{})
	var unsupported *backends.UnsupportedError
	if errors.As(err, &unsupported) {
		return nil
	}
	if err != nil {
		return withSecretsHidden(err, []string{raw})
	}
	return b.Close()
}

// editConfig applies one change to the named context, saves the file and
// reports it on stderr.
func editConfig(f *Factory, change func(*config.File, string) error, name, done string) error {
	file, path, err := f.Config()
	if err != nil {
		return err
	}
	if err := change(file, name); err != nil {
		return err
	}
	if err := file.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.ErrOut, done, name)
	return nil
}
