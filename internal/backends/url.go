package backends

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"
)

// Options are the connection settings shared by every backend.
type Options struct {
	// Timeout bounds each operation (one round trip, or one page of a scan).
	Timeout time.Duration
	// Password is used when the URL carries none (from password_env or
	// CACHECTL_PASSWORD), so it never has to appear on a command line.
	Password string
	// Token authenticates to HTTP caches.
	Token string
	// ScanCount is the COUNT hint for each SCAN page.
	ScanCount int
	// MaxItems bounds reads of collection values (hash, list, ...).
	MaxItems int
	// Warn reports a degraded operation that still goes on (e.g. a partial
	// key listing); nil drops the warnings.
	Warn func(msg string)
}

// DefaultOptions are used where a caller leaves a field zero.
var DefaultOptions = Options{Timeout: 5 * time.Second, ScanCount: 1000, MaxItems: 100}

// WithDefaults fills zero fields from DefaultOptions.
func (o Options) WithDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultOptions.Timeout
	}
	if o.ScanCount <= 0 {
		o.ScanCount = DefaultOptions.ScanCount
	}
	if o.MaxItems <= 0 {
		o.MaxItems = DefaultOptions.MaxItems
	}
	return o
}

// Opener connects to the cache a parsed URL names.
type Opener func(ctx context.Context, u *url.URL, opts Options) (Backend, error)

// Openers maps URL schemes to the backend that serves them.
type Openers map[string]Opener

// Open parses rawURL and hands it to the opener registered for its scheme.
func (o Openers) Open(ctx context.Context, rawURL string, opts Options) (Backend, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	open, ok := o[u.Scheme]
	if !ok {
		return nil, &URLError{URL: Redact(rawURL), Reason: "unknown scheme " + quoteScheme(u.Scheme) + " (want " + o.schemes() + ")"}
	}
	return open(ctx, u, opts.WithDefaults())
}

func (o Openers) schemes() string {
	order := []string{"redis", "rediss", "unix", "redis+sentinel", "redis+cluster", "memcached", "http", "https"}
	var have []string
	for _, s := range order {
		if _, ok := o[s]; ok {
			have = append(have, s+"://")
		}
	}
	return strings.Join(have, ", ")
}

func quoteScheme(s string) string {
	if s == "" {
		return "(none)"
	}
	return `"` + s + `"`
}

// ParseURL parses a cache URL. Its errors never echo a password: net/url's
// own errors quote the whole input, so they are replaced.
func ParseURL(rawURL string) (*url.URL, error) {
	if strings.TrimSpace(rawURL) == "" {
		return nil, &URLError{Reason: "empty URL"}
	}
	if !strings.Contains(rawURL, "://") {
		return nil, &URLError{URL: Redact(rawURL), Reason: "missing scheme, e.g. redis://host:6379/0"}
	}
	// A server list ("a:1,b,c:3") is not a host net/url accepts when an entry
	// before the last has a port: parse with a stand-in host, then put it back.
	list, orig := "", rawURL
	if i := strings.Index(rawURL, "://"); i >= 0 {
		rest := rawURL[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		auth := rest[:end]
		hostStart := strings.LastIndex(auth, "@") + 1
		if hosts := auth[hostStart:]; strings.Contains(hosts, ",") {
			list = hosts
			rawURL = rawURL[:i+3] + auth[:hostStart] + "server-list" + rest[end:]
		}
	}
	u, err := url.Parse(rawURL)
	if err == nil && list != "" {
		u.Host = list
	}
	if err != nil {
		reason := "malformed URL; characters such as @ : / # ? % in a user name or password must be percent-encoded"
		var ue *url.Error
		if errors.As(err, &ue) {
			if msg := ue.Err.Error(); strings.HasPrefix(msg, "invalid port ") {
				reason = "bad port " + strings.TrimSuffix(strings.TrimPrefix(msg, "invalid port "), " after host")
			}
		}
		return nil, &URLError{URL: Redact(orig), Reason: reason}
	}
	u.Scheme = strings.ToLower(u.Scheme)
	return u, nil
}

// Redact returns raw with any password replaced by "***":
// "redis://user:***@host:6379/0". It works on strings that do not parse as
// URLs too (a password holding '/', '#', '?' or '@'): everything from the
// first ':' after "scheme://" (or from the start, without a scheme) up to the
// last '@' of the string is masked. Over-masking a URL that has '@' in its
// path or query is accepted; leaking a password is not. A URL without a ':'
// before its last '@' has no password and is returned unchanged.
func Redact(raw string) string {
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 && validScheme(raw[:i]) {
		start = i + len("://")
	}
	at := strings.LastIndex(raw, "@")
	if at < start {
		return raw
	}
	colon := strings.IndexByte(raw[start:at], ':')
	if colon < 0 {
		return raw
	}
	return raw[:start+colon] + ":***" + raw[at:]
}

// validScheme reports whether s is an RFC 3986 scheme. Without this check a
// "://" inside the password of a scheme-less string would be taken for the
// end of a scheme, and the password before it would be left unmasked.
func validScheme(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// RedactURL is Redact for a parsed URL.
func RedactURL(u *url.URL) string { return Redact(u.String()) }
