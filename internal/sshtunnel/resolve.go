package sshtunnel

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"
)

// Settings are the tunnel settings the user gave (a flag, a context's ssh:
// block); what is left empty comes from ~/.ssh/config, then the defaults.
type Settings struct {
	// Host is [user@]host[:port]: a host name, an IP address or a Host
	// alias of ~/.ssh/config.
	Host string
	// User and Port beat those in Host and in ~/.ssh/config.
	User string
	Port int
	// IdentityFiles replace ~/.ssh/config's IdentityFile and the defaults.
	IdentityFiles []string
	// KnownHosts replace ~/.ssh/config's UserKnownHostsFile and ~/.ssh/known_hosts.
	KnownHosts []string
	// ProxyJump is a comma list of [user@]host[:port] jump hosts, as
	// OpenSSH's; "none" ignores the one ~/.ssh/config names.
	ProxyJump string
	// InsecureIgnoreHostKey skips host key verification (with a warning).
	InsecureIgnoreHostKey bool
}

// Env is what resolution reads from outside: the environment (HOME, USER,
// LOGNAME, SSH_AUTH_SOCK) through Getenv, and the ssh client configuration
// file, ConfigFile ("" means $HOME/.ssh/config).
type Env struct {
	Getenv     func(string) (string, bool)
	ConfigFile string
}

func (e Env) get(name string) string {
	if e.Getenv == nil {
		return ""
	}
	v, _ := e.Getenv(name)
	return v
}

// Hop is one SSH server on the way: a jump host or the target.
type Hop struct {
	Alias         string // as written (a ~/.ssh/config Host alias or the host)
	Host          string // the HostName it resolved to
	User          string
	Port          int
	IdentityFiles []string // in the order they are offered; missing ones are skipped
	// ExplicitIdentity: IdentityFiles were named by the user or
	// ~/.ssh/config, not defaults, so a missing one is worth saying.
	ExplicitIdentity bool
	KnownHosts       []string
}

// Addr is host:port for dialling.
func (h Hop) Addr() string { return net.JoinHostPort(h.Host, strconv.Itoa(h.Port)) }

// String is user@host:port, for messages.
func (h Hop) String() string { return Dest{User: h.User, Host: h.Host, Port: h.Port}.String() }

// Plan is the resolved tunnel: the jump hosts in order, then the target.
type Plan struct {
	Jumps       []Hop
	Target      Hop
	Insecure    bool
	AgentSocket string // SSH_AUTH_SOCK; "" = no agent
}

// String says the way, e.g. "deploy@bastion:22 (jump me@gw:2222)".
func (p *Plan) String() string {
	s := p.Target.String()
	if len(p.Jumps) > 0 {
		jumps := make([]string, len(p.Jumps))
		for i, j := range p.Jumps {
			jumps[i] = j.String()
		}
		s += " (jump " + strings.Join(jumps, ", ") + ")"
	}
	return s
}

// SettingsError is a setting that cannot work whatever the network does: a
// malformed destination, an unreadable ~/.ssh/config, no user name.
type SettingsError struct{ Msg string }

func (e *SettingsError) Error() string { return e.Msg }

// defaultIdentities are the keys ssh offers when nothing names one, in its order.
var defaultIdentities = []string{"~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"}

// Resolve turns the settings into a plan: explicit settings beat
// ~/.ssh/config (Host patterns; HostName, User, Port, IdentityFile,
// UserKnownHostsFile, ProxyJump), which beats the defaults (the local user
// from $USER, port 22, ~/.ssh/id_ed25519, id_ecdsa, id_rsa, ~/.ssh/known_hosts).
func Resolve(s Settings, env Env) (*Plan, error) {
	dest, err := ParseDest(strings.TrimSpace(s.Host))
	if err != nil {
		return nil, &SettingsError{Msg: err.Error()}
	}
	if s.User != "" {
		if err := checkName(s.User); err != nil {
			return nil, &SettingsError{Msg: "bad SSH user name: " + err.Error()}
		}
		dest.User = s.User
	}
	if s.Port != 0 {
		if s.Port < 1 || s.Port > 65535 {
			return nil, &SettingsError{Msg: fmt.Sprintf("bad SSH port %d (want 1 to 65535)", s.Port)}
		}
		dest.Port = s.Port
	}
	cfg, err := loadConfig(env)
	if err != nil {
		return nil, err
	}
	r := resolver{env: env, cfg: cfg, identity: s.IdentityFiles, known: s.KnownHosts}
	target, err := r.hop(dest)
	if err != nil {
		return nil, err
	}
	jump := strings.TrimSpace(s.ProxyJump)
	if jump == "" {
		jump = r.lookup(dest.Host, "ProxyJump")
	}
	p := &Plan{Target: target, Insecure: s.InsecureIgnoreHostKey, AgentSocket: env.get("SSH_AUTH_SOCK")}
	if jump != "" && !strings.EqualFold(jump, "none") {
		for _, j := range strings.Split(jump, ",") {
			d, err := ParseDest(strings.TrimSpace(j))
			if err != nil {
				return nil, &SettingsError{Msg: "ProxyJump: " + err.Error()}
			}
			h, err := r.hop(d)
			if err != nil {
				return nil, err
			}
			p.Jumps = append(p.Jumps, h)
		}
	}
	return p, nil
}

// loadConfig parses ~/.ssh/config (or env.ConfigFile); a missing file is none.
func loadConfig(env Env) (*ssh_config.Config, error) {
	path := env.ConfigFile
	if path == "" {
		home := env.get("HOME")
		if home == "" {
			return nil, nil
		}
		path = filepath.Join(home, ".ssh", "config")
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &SettingsError{Msg: fmt.Sprintf("read %s: %v", path, unwrapPath(err))}
	}
	cfg, err := ssh_config.DecodeBytes(data)
	if err != nil {
		return nil, &SettingsError{Msg: fmt.Sprintf("read %s: %v", path, err)}
	}
	return cfg, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

type resolver struct {
	env      Env
	cfg      *ssh_config.Config
	identity []string
	known    []string
}

func (r resolver) lookup(alias, key string) string {
	if r.cfg == nil {
		return ""
	}
	v, err := r.cfg.Get(alias, key)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(v)
}

func (r resolver) lookupAll(alias, key string) []string {
	if r.cfg == nil {
		return nil
	}
	vs, err := r.cfg.GetAll(alias, key)
	if err != nil {
		return nil
	}
	var out []string
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// hop resolves one destination: what it names beats ~/.ssh/config, which
// beats the defaults.
func (r resolver) hop(d Dest) (Hop, error) {
	h := Hop{Alias: d.Host, Host: d.Host, User: d.User, Port: d.Port}
	if v := r.lookup(d.Host, "HostName"); v != "" {
		h.Host = expandTokens(v, h, r.localUser(), r.env.get("HOME"))
		if err := checkHost(strings.Trim(h.Host, "[]")); err != nil {
			return Hop{}, &SettingsError{Msg: fmt.Sprintf("~/.ssh/config: HostName of %s %v", d.Host, err)}
		}
		h.Host = strings.Trim(h.Host, "[]")
	}
	if h.User == "" {
		h.User = r.lookup(d.Host, "User")
	}
	if h.User == "" {
		h.User = r.localUser()
	}
	if h.User == "" {
		return Hop{}, &SettingsError{Msg: fmt.Sprintf("no SSH user for %s: write user@%s, or set User in ~/.ssh/config (USER is not set)", d.Host, d.Host)}
	}
	if h.Port == 0 {
		if v := r.lookup(d.Host, "Port"); v != "" {
			p, err := strconv.Atoi(v)
			if err != nil || p < 1 || p > 65535 {
				return Hop{}, &SettingsError{Msg: fmt.Sprintf("~/.ssh/config: bad Port %s for %s", strconv.Quote(v), d.Host)}
			}
			h.Port = p
		}
	}
	if h.Port == 0 {
		h.Port = 22
	}
	home := r.env.get("HOME")
	ids, explicit := r.identity, true
	if len(ids) == 0 {
		ids = r.lookupAll(d.Host, "IdentityFile")
	}
	if len(ids) == 0 {
		ids, explicit = defaultIdentities, false
	}
	for _, id := range ids {
		h.IdentityFiles = append(h.IdentityFiles, expandPath(id, h, r.localUser(), home))
	}
	h.ExplicitIdentity = explicit
	known := r.known
	if len(known) == 0 {
		for _, v := range r.lookupAll(d.Host, "UserKnownHostsFile") {
			known = append(known, strings.Fields(v)...)
		}
	}
	if len(known) == 0 {
		known = []string{"~/.ssh/known_hosts"}
	}
	for _, k := range known {
		if strings.EqualFold(k, "none") {
			continue
		}
		h.KnownHosts = append(h.KnownHosts, expandPath(k, h, r.localUser(), home))
	}
	return h, nil
}

func (r resolver) localUser() string {
	if u := r.env.get("USER"); u != "" {
		return u
	}
	return r.env.get("LOGNAME")
}

// expandPath expands ~/ and the tokens ssh_config(5) allows in file names.
func expandPath(p string, h Hop, localUser, home string) string {
	if p == "~" {
		return home
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok && home != "" {
		p = filepath.Join(home, rest)
	}
	return expandTokens(p, h, localUser, home)
}

// expandTokens replaces %% %d %h %n %p %r %u as ssh_config(5) does.
func expandTokens(s string, h Hop, localUser, home string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case '%':
			b.WriteByte('%')
		case 'd':
			b.WriteString(home)
		case 'h':
			b.WriteString(h.Host)
		case 'n':
			b.WriteString(h.Alias)
		case 'p':
			b.WriteString(strconv.Itoa(h.Port))
		case 'r':
			b.WriteString(h.User)
		case 'u':
			b.WriteString(localUser)
		default:
			b.WriteByte('%')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
