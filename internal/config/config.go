// Package config reads and writes the contexts file, resolves which cache a
// command talks to (flags > env > context), and redacts credentials for
// display.
//
// The package holds no global state and never reads the process environment
// itself: every environment lookup goes through an injected function with the
// signature of os.LookupEnv, and every file path is passed in.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/cachectl/cachectl/internal/redact"
)

// MaxNameLen is the longest context name accepted, in bytes.
const MaxNameLen = 100

// File is the contexts file, usually $XDG_CONFIG_HOME/cachectl/config.yaml.
type File struct {
	CurrentContext string              `yaml:"current-context,omitempty"`
	Contexts       map[string]*Context `yaml:"contexts,omitempty"`
}

// Context is one named cache: where it is, how to authenticate and how
// carefully to treat it.
type Context struct {
	// URL may hold a password inline; display it only through RedactURL.
	URL string `yaml:"url,omitempty"`
	// PasswordEnv names the environment variable that holds the password.
	PasswordEnv string `yaml:"password_env,omitempty"`
	// SentinelPasswordEnv names the variable holding the Redis Sentinels'
	// password (the data nodes take PasswordEnv's).
	SentinelPasswordEnv string `yaml:"sentinel_password_env,omitempty"`
	// TokenEnv names the environment variable that holds an HTTP bearer token.
	TokenEnv  string `yaml:"token_env,omitempty"`
	ReadOnly  bool   `yaml:"read_only,omitempty"`
	Profile   string `yaml:"profile,omitempty"`
	Namespace string `yaml:"namespace,omitempty"`
	// KeyPrefix and KeyVersion are Django's KEY_PREFIX and VERSION (and
	// async-caches' key_prefix and version).
	KeyPrefix  string `yaml:"key_prefix,omitempty"`
	KeyVersion string `yaml:"key_version,omitempty"`
	// Label is shown in the dashboard header, in Color.
	Label string `yaml:"label,omitempty"`
	Color string `yaml:"color,omitempty"`
	// Production asks for extra confirmations before destructive operations.
	Production bool `yaml:"production,omitempty"`
	// SSH, when set, tunnels every connection to the cache through an SSH server.
	SSH *SSH `yaml:"ssh,omitempty"`
}

// SSH is a context's tunnel: what is left empty comes from ~/.ssh/config,
// then ssh's defaults. Skipping host key verification is never a setting:
// only the --ssh-insecure-ignore-host-key flag does it, each time. The JSON
// names are those of config view and get-contexts -o json.
type SSH struct {
	// Host is [user@]host[:port], a host name or a ~/.ssh/config alias.
	Host          string   `yaml:"host,omitempty" json:"host"`
	User          string   `yaml:"user,omitempty" json:"user,omitempty"`
	Port          int      `yaml:"port,omitempty" json:"port,omitempty"`
	IdentityFiles []string `yaml:"identity_files,omitempty" json:"identity_files,omitempty"`
	KnownHosts    []string `yaml:"known_hosts,omitempty" json:"known_hosts,omitempty"`
	// ProxyJump is a comma list of [user@]host[:port] jump hosts.
	ProxyJump string `yaml:"proxy_jump,omitempty" json:"proxy_jump,omitempty"`
}

// NoContextError is returned for a context name that the file does not hold.
type NoContextError struct {
	Name string
}

func (e *NoContextError) Error() string { return fmt.Sprintf("no context %q", e.Name) }

// NameError is an invalid context name.
type NameError struct {
	Name   string
	Reason string
}

func (e *NameError) Error() string {
	return fmt.Sprintf("invalid context name %q: %s", e.Name, e.Reason)
}

// ValidateName reports whether name can be used as a context name: non-empty,
// at most MaxNameLen bytes of valid UTF-8, without whitespace, control or
// invisible formatting characters (which could spoof terminal output).
func ValidateName(name string) error {
	switch {
	case name == "":
		return &NameError{Name: name, Reason: "empty"}
	case len(name) > MaxNameLen:
		return &NameError{Name: name[:20] + "...", Reason: fmt.Sprintf("longer than %d bytes", MaxNameLen)}
	case !utf8.ValidString(name):
		return &NameError{Name: name, Reason: "not valid UTF-8"}
	}
	for _, r := range name {
		switch {
		case unicode.IsSpace(r):
			return &NameError{Name: name, Reason: "contains whitespace"}
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			return &NameError{Name: name, Reason: "contains a control character"}
		}
	}
	return nil
}

// DefaultPath returns where the contexts file lives:
// $XDG_CONFIG_HOME/cachectl/config.yaml, else $HOME/.config/cachectl/config.yaml.
// A relative XDG_CONFIG_HOME is ignored, as the XDG spec requires. getenv has
// the signature of os.LookupEnv; variables set to "" count as unset.
func DefaultPath(getenv func(string) (string, bool)) (string, error) {
	if xdg := lookup(getenv, "XDG_CONFIG_HOME"); xdg != "" && filepath.IsAbs(xdg) {
		return filepath.Join(xdg, "cachectl", "config.yaml"), nil
	}
	if home := lookup(getenv, "HOME"); home != "" {
		return filepath.Join(home, ".config", "cachectl", "config.yaml"), nil
	}
	return "", errors.New("cannot locate the config file: neither XDG_CONFIG_HOME nor HOME is set (pass --config)")
}

// lookup returns the value of an environment variable, "" when it is unset,
// empty, or getenv is nil.
func lookup(getenv func(string) (string, bool), name string) string {
	if getenv == nil {
		return ""
	}
	v, ok := getenv(name)
	if !ok {
		return ""
	}
	return v
}

// Load reads the contexts file at path. A missing file is an empty File.
// Unknown keys, invalid YAML and invalid context names are errors of the form
// "read config PATH: line N: ...". Error messages never quote YAML values.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &File{Contexts: map[string]*Context{}}, nil
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in our own prefix already
		}
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	f, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	return f, nil
}

func parse(data []byte) (*File, error) {
	f := &File{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(err)
		}
		return nil, fmt.Errorf("line %d: more than one YAML document", extra.Line)
	}
	if f.Contexts == nil {
		f.Contexts = map[string]*Context{}
	}
	for _, name := range f.Names() {
		if err := ValidateName(name); err != nil {
			return nil, err
		}
		if f.Contexts[name] == nil { // "prod:" with no body
			f.Contexts[name] = &Context{}
		}
	}
	return f, nil
}

var (
	// yaml.v3 quotes (a prefix of) offending values in backticks: drop them,
	// a value may be a password.
	reQuotedValue = regexp.MustCompile("\\s*`[^`]*`")
	reUnknownKey  = regexp.MustCompile(`^(line \d+): field (.*) not found in type \S+$`)
	reGoType      = regexp.MustCompile(`\*?(map\[string\]\*?)?config\.(Context|File)\b`)
)

// yamlError turns a yaml.v3 error into one line that names the line and
// never quotes a value.
func yamlError(err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		m = strings.TrimSpace(strings.TrimPrefix(m, "yaml: "))
		if sm := reUnknownKey.FindStringSubmatch(m); sm != nil {
			m = fmt.Sprintf("%s: unknown key %q", sm[1], redact.URL(sm[2]))
		} else {
			m = reQuotedValue.ReplaceAllString(m, "")
			m = reGoType.ReplaceAllStringFunc(m, func(s string) string {
				if strings.HasPrefix(strings.TrimPrefix(s, "*"), "map") {
					return "a mapping of contexts"
				}
				return "a mapping"
			})
		}
		m = strings.Join(strings.Fields(m), " ") // one line
		out = append(out, m)
	}
	return errors.New(strings.Join(out, "; "))
}

// Save writes f to path atomically (a temporary file in the same directory,
// then a rename) with mode 0600, creating the parent directory with mode 0700
// if needed. If path is a symbolic link, the file it points to is replaced.
func (f *File) Save(path string) error {
	for _, name := range f.Names() {
		if err := ValidateName(name); err != nil {
			return fmt.Errorf("write config %s: %w", path, err)
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f.normalized()); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := writeAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	return nil
}

// normalized is f with nil contexts replaced by empty ones, for encoding.
func (f *File) normalized() *File {
	out := &File{CurrentContext: f.CurrentContext}
	if len(f.Contexts) > 0 {
		out.Contexts = make(map[string]*Context, len(f.Contexts))
		for name, c := range f.Contexts {
			if c == nil {
				c = &Context{}
			}
			out.Contexts[name] = c
		}
	}
	return out
}

func writeAtomic(path string, data []byte) error {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return unwrapPath(err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return unwrapPath(err)
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return unwrapPath(err)
	}
	if _, err := tmp.Write(data); err != nil {
		return unwrapPath(err)
	}
	if err := tmp.Sync(); err != nil {
		return unwrapPath(err)
	}
	if err := tmp.Close(); err != nil {
		return unwrapPath(err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return err
	}
	ok = true
	return nil
}

// unwrapPath drops the temporary file's name from an *fs.PathError.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// Names returns the context names, sorted.
func (f *File) Names() []string {
	if f == nil {
		return nil
	}
	names := make([]string, 0, len(f.Contexts))
	for name := range f.Contexts {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Get returns the named context. The pointer is the one stored in f.
func (f *File) Get(name string) (*Context, bool) {
	if f == nil {
		return nil, false
	}
	c, ok := f.Contexts[name]
	if ok && c == nil {
		c = &Context{}
		f.Contexts[name] = c
	}
	return c, ok
}

// Set stores a copy of c under name, replacing any context of that name.
func (f *File) Set(name string, c *Context) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if c == nil {
		c = &Context{}
	}
	if f.Contexts == nil {
		f.Contexts = map[string]*Context{}
	}
	cp := *c
	f.Contexts[name] = &cp
	return nil
}

// Delete removes the named context; deleting the current context clears
// current-context. An unknown name is a *NoContextError.
func (f *File) Delete(name string) error {
	if _, ok := f.Contexts[name]; !ok {
		return &NoContextError{Name: name}
	}
	delete(f.Contexts, name)
	if f.CurrentContext == name {
		f.CurrentContext = ""
	}
	return nil
}

// Use makes name the current context. An unknown name is a *NoContextError.
func (f *File) Use(name string) error {
	if _, ok := f.Contexts[name]; !ok {
		return &NoContextError{Name: name}
	}
	f.CurrentContext = name
	return nil
}

// Redacted returns a deep copy of f with the password of every URL replaced
// by "***" (and any password_env or token_env that holds a secret rather
// than a variable name), for `cachectl config view`.
func (f *File) Redacted() *File {
	out := &File{Contexts: map[string]*Context{}}
	if f == nil {
		return out
	}
	out.CurrentContext = f.CurrentContext
	for name, c := range f.Contexts {
		cp := Context{}
		if c != nil {
			cp = *c
		}
		cp.URL = RedactURL(cp.URL)
		cp.PasswordEnv = RedactEnvName(cp.PasswordEnv)
		cp.TokenEnv = RedactEnvName(cp.TokenEnv)
		cp.SentinelPasswordEnv = RedactEnvName(cp.SentinelPasswordEnv)
		out.Contexts[name] = &cp
	}
	return out
}
