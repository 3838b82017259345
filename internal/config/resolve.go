package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Environment variables read by Resolve.
const (
	EnvURL      = "CACHECTL_URL"
	EnvCacheURL = "CACHE_URL" // the aiocache/Starlette .env convention
	EnvContext  = "CACHECTL_CONTEXT"
	EnvPassword = "CACHECTL_PASSWORD"
	EnvToken    = "CACHECTL_TOKEN"
	// EnvSSH is [user@]host[:port] of an SSH server to tunnel through.
	EnvSSH = "CACHECTL_SSH"
	// EnvSentinelPassword holds the Redis Sentinels' password when neither
	// the URL (?sentinel_password_env=) nor the context names a variable.
	EnvSentinelPassword = "CACHECTL_SENTINEL_PASSWORD"
)

// ErrNoURL means that neither flags, environment nor contexts name a cache.
var ErrNoURL = errors.New("no cache URL: pass --url, set CACHECTL_URL or CACHE_URL, or choose a context with cachectl config use-context")

// ResolveInput is what Resolve chooses from.
type ResolveInput struct {
	FlagURL     string // -u/--url
	FlagURLSet  bool
	FlagContext string // -c/--context ("" = not given)
	// FlagReadOnly is --read-only.
	FlagReadOnly bool
	// FlagSSH is --ssh ([user@]host[:port], or "none" for no tunnel).
	FlagSSH    string
	FlagSSHSet bool
	// Getenv has the signature of os.LookupEnv. Variables set to "" count as
	// unset; so do URL and context variables holding only whitespace.
	Getenv func(string) (string, bool)
	// File is the loaded contexts file; nil counts as empty.
	File *File
}

// Resolved is the cache a command talks to and the credentials to use.
type Resolved struct {
	URL         string // may contain a password if the user wrote one: display via RedactURL
	Source      string // "flag --url", "env CACHECTL_URL", "env CACHE_URL", `context "prod"`
	ContextName string // "" when no context is used
	Context     *Context
	Password    string // from the context's password_env, else env CACHECTL_PASSWORD
	Token       string // from the context's token_env, else env CACHECTL_TOKEN
	// SentinelPassword is from the URL's ?sentinel_password_env=, else the
	// context's sentinel_password_env, else env CACHECTL_SENTINEL_PASSWORD.
	SentinelPassword string
	ReadOnly         bool // --read-only, or the context's read_only
	// SSH is the tunnel to go through (nil: none), from SSHSource:
	// "flag --ssh", "env CACHECTL_SSH" or `context "prod"`.
	SSH       *SSH
	SSHSource string
}

// Resolve picks the cache URL in this order: --url > --context >
// CACHECTL_URL > CACHE_URL > CACHECTL_CONTEXT > the file's current-context.
// A context named by flag, env or current-context that does not exist is an
// error wrapping *NoContextError; when nothing names a cache the error is
// ErrNoURL. Error messages name environment variables, never their values.
func Resolve(in ResolveInput) (*Resolved, error) {
	r, err := resolve(in)
	if err != nil {
		return nil, err
	}
	if r.SentinelPassword, err = sentinelPassword(in.Getenv, r); err != nil {
		return nil, err
	}
	r.SSH, r.SSHSource = resolveSSH(in, r.Context, r.ContextName)
	return r, nil
}

// resolveSSH picks the tunnel: --ssh, else CACHECTL_SSH, else the context's
// ssh block. The flag or variable replaces the whole block (its identity
// files, known_hosts and jumps were meant for its own host); "none" turns
// the tunnel off.
func resolveSSH(in ResolveInput, c *Context, ctxName string) (*SSH, string) {
	pick := func(host, source string) (*SSH, string) {
		if strings.EqualFold(host, "none") {
			return nil, ""
		}
		return &SSH{Host: host}, source
	}
	if in.FlagSSHSet {
		return pick(strings.TrimSpace(in.FlagSSH), "flag --ssh")
	}
	if v := strings.TrimSpace(lookup(in.Getenv, EnvSSH)); v != "" {
		return pick(v, "env "+EnvSSH)
	}
	if c != nil && c.SSH != nil && strings.TrimSpace(c.SSH.Host) != "" {
		copied := *c.SSH
		return &copied, fmt.Sprintf("context %q", ctxName)
	}
	return nil, ""
}

// sentinelPassword reads the variable the URL's sentinel_password_env
// names, else the context's, else CACHECTL_SENTINEL_PASSWORD.
func sentinelPassword(getenv func(string) (string, bool), r *Resolved) (string, error) {
	if u, err := url.Parse(r.URL); err == nil {
		if !strings.Contains(strings.ToLower(u.Scheme), "sentinel") {
			// The backend refuses the parameter on other URLs, as a usage error.
			return "", nil
		}
		if name := u.Query().Get("sentinel_password_env"); name != "" {
			if !ValidVarName(name) {
				return "", &SettingError{Msg: fmt.Sprintf("%s: sentinel_password_env is not a valid environment variable name (it must name a variable, not hold the secret)", r.Source)}
			}
			v := lookup(getenv, name)
			if v == "" {
				return "", fmt.Errorf("%s: sentinel_password_env %s is not set", r.Source, name)
			}
			return v, nil
		}
	}
	if r.Context != nil && r.Context.SentinelPasswordEnv != "" {
		return secret(getenv, r.ContextName, "sentinel_password_env", r.Context.SentinelPasswordEnv, EnvSentinelPassword)
	}
	return lookup(getenv, EnvSentinelPassword), nil
}

func resolve(in ResolveInput) (*Resolved, error) {
	env := func(name string) string { return lookup(in.Getenv, name) }
	trimmed := func(name string) string { return strings.TrimSpace(env(name)) }

	fromEnv := func(r *Resolved) (*Resolved, error) {
		r.Password = env(EnvPassword)
		r.Token = env(EnvToken)
		r.ReadOnly = in.FlagReadOnly
		if err := CheckToken(r.Token, "env "+EnvToken); err != nil {
			return nil, err
		}
		return r, nil
	}

	switch {
	case in.FlagURLSet:
		u := strings.TrimSpace(in.FlagURL)
		if u == "" {
			return nil, errors.New("flag --url is empty")
		}
		return fromEnv(&Resolved{URL: u, Source: "flag --url"})
	case in.FlagContext != "":
		return resolveContext(in, in.FlagContext)
	}
	if u := trimmed(EnvURL); u != "" {
		return fromEnv(&Resolved{URL: u, Source: "env " + EnvURL})
	}
	if u := trimmed(EnvCacheURL); u != "" {
		return fromEnv(&Resolved{URL: u, Source: "env " + EnvCacheURL})
	}
	if name := trimmed(EnvContext); name != "" {
		return resolveContext(in, name)
	}
	if in.File != nil && in.File.CurrentContext != "" {
		return resolveContext(in, in.File.CurrentContext)
	}
	return nil, ErrNoURL
}

func resolveContext(in ResolveInput, name string) (*Resolved, error) {
	c, ok := in.File.Get(name)
	if !ok {
		return nil, fmt.Errorf("%w (see cachectl config get-contexts)", &NoContextError{Name: name})
	}
	if strings.TrimSpace(c.URL) == "" {
		return nil, fmt.Errorf("context %q has no url (set one with cachectl config set-context)", name)
	}
	r := &Resolved{
		URL:         strings.TrimSpace(c.URL),
		Source:      fmt.Sprintf("context %q", name),
		ContextName: name,
		Context:     c,
		ReadOnly:    in.FlagReadOnly || c.ReadOnly,
	}
	var err error
	if r.Password, err = secret(in.Getenv, name, "password_env", c.PasswordEnv, EnvPassword); err != nil {
		return nil, err
	}
	if r.Token, err = secret(in.Getenv, name, "token_env", c.TokenEnv, EnvToken); err != nil {
		return nil, err
	}
	src := "env " + EnvToken
	if c.TokenEnv != "" {
		src = fmt.Sprintf("context %q: token_env %s", name, c.TokenEnv)
	}
	if err := CheckToken(r.Token, src); err != nil {
		return nil, err
	}
	return r, nil
}

// secret reads the variable a context names in key (password_env or
// token_env); a context that names none falls back to fallback.
func secret(getenv func(string) (string, bool), ctxName, key, varName, fallback string) (string, error) {
	if varName == "" {
		return lookup(getenv, fallback), nil
	}
	if !ValidVarName(varName) {
		// Do not echo it: it may be the password itself, pasted in error.
		return "", fmt.Errorf("context %q: %s is not a valid environment variable name (it must name a variable, not hold the secret)", ctxName, key)
	}
	v := lookup(getenv, varName)
	if v == "" {
		return "", fmt.Errorf("context %q: %s %s is not set", ctxName, key, varName)
	}
	return v, nil
}

// ValidVarName reports whether s looks like a POSIX environment variable name.
func ValidVarName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// TokenError is a bearer token that cannot be meant: one of only spaces
// would be sent (or required) as if it were a secret. It maps to the usage
// exit code.
type TokenError struct{ Source string }

func (e *TokenError) Error() string {
	return e.Source + " holds only whitespace: give a real token, or leave it unset for none"
}

// CheckToken refuses a token that is not empty but only whitespace; source
// says where it came from ("flag --token", "env CACHECTL_TOKEN").
func CheckToken(token, source string) error {
	if token != "" && strings.TrimSpace(token) == "" {
		return &TokenError{Source: source}
	}
	return nil
}

// SettingError is a setting that cannot be right whatever the environment
// holds (a variable name that is no name): a usage error.
type SettingError struct{ Msg string }

func (e *SettingError) Error() string { return e.Msg }
