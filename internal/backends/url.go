package backends

import (
	"context"
	"errors"
	"net/url"
	"regexp"
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

// hostPortOnly is a scheme-less "host:port", which is safe to echo back.
var hostPortOnly = regexp.MustCompile(`^[A-Za-z0-9.-]+:[0-9]{1,5}$`)

// ParseURL parses a cache URL. Its errors never echo a password: net/url's
// own errors quote the whole input, so they are replaced.
func ParseURL(rawURL string) (*url.URL, error) {
	if strings.TrimSpace(rawURL) == "" {
		return nil, &URLError{Reason: "empty URL"}
	}
	if !strings.Contains(rawURL, "://") {
		// The text is not echoed: it may be a password pasted in the wrong
		// place. Only a plain host:port is, to suggest the fix.
		if hostPortOnly.MatchString(rawURL) {
			return nil, &URLError{URL: rawURL, Reason: "missing scheme; did you mean redis://" + rawURL + " (or memcached://, http://)?"}
		}
		return nil, &URLError{Reason: "missing scheme, e.g. redis://host:6379/0"}
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
				if strings.Contains(orig, "@") {
					// What net/url took for a port may be the start of a
					// password holding '/', '#' or '?': do not quote it.
					reason = "bad port; characters such as @ : / # ? % in a user name or password must be percent-encoded"
				}
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
// before its last '@' keeps its user name where the scheme has user names
// (Redis ACLs); elsewhere a lone user part is a token or a misplaced
// password: "http://***@host", "memcached://***@host". Query parameters that carry secrets
// (?password=, ?token=, ...) are masked too.
func Redact(raw string) string {
	start := 0
	scheme := ""
	if i := strings.Index(raw, "://"); i >= 0 && validScheme(raw[:i]) {
		start = i + len("://")
		scheme = strings.ToLower(raw[:i])
	}
	out := raw
	// An HTTP cache has no user names: its user part is a token or a
	// misplaced password, whole ("http://S3cret:x@h"). Redis (ACL users) and
	// memcached (SASL) keep the user name.
	userNames := scheme != "http" && scheme != "https"
	if at := strings.LastIndex(raw, "@"); at >= start {
		if colon := strings.IndexByte(raw[start:at], ':'); colon >= 0 && userNames {
			out = raw[:start+colon] + ":***" + raw[at:]
		} else if colon >= 0 {
			out = raw[:start] + "***" + raw[at:]
		} else if scheme != "" && !strings.HasPrefix(scheme, "redis") && scheme != "unix" {
			// The user part before the query: an '@' in the query is a value.
			end := len(raw)
			if q := strings.IndexAny(raw[start:], "?#"); q >= 0 {
				end = start + q
			}
			if at := strings.LastIndex(raw[start:end], "@"); at > 0 {
				out = raw[:start] + "***" + raw[start+at:]
			}
		}
	}
	return redactQuery(out, start)
}

// secretParams are query parameters whose values are credentials, in the
// spellings URLs from other tools use (aiocache's ?password=, redis-py's).
var secretParams = []string{"password", "pass", "passwd", "pwd", "token", "secret", "auth", "access_token", "api_key", "apikey", "sentinel_password", "client_secret"}

// redactQuery masks the values of secret query parameters of raw, whose
// authority starts at start.
func redactQuery(raw string, start int) string {
	q := strings.IndexByte(raw[start:], '?')
	if q < 0 {
		return raw
	}
	q += start + 1
	end := len(raw)
	if h := strings.IndexByte(raw[q:], '#'); h >= 0 {
		end = q + h
	}
	params := strings.Split(raw[q:end], "&")
	changed := false
	for i, p := range params {
		name, value, ok := strings.Cut(p, "=")
		if !ok || value == "***" {
			continue
		}
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		for _, s := range secretParams {
			if strings.EqualFold(name, s) {
				params[i] = p[:len(p)-len(value)] + "***"
				changed = true
				break
			}
		}
	}
	if !changed {
		return raw
	}
	return raw[:q] + strings.Join(params, "&") + raw[end:]
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

// Secrets returns the parts of raw that Redact masks (passwords, tokens in a
// user part, secret query values), raw and percent-decoded, so that text
// built from raw by other code (a library's error, a quoted path) can be
// scrubbed of them too.
func Secrets(raw string) []string {
	red := Redact(raw)
	if red == raw {
		return nil
	}
	var out []string
	add := func(s string) {
		if s == "" || s == "***" {
			return
		}
		out = append(out, s)
		if d, err := url.PathUnescape(s); err == nil && d != s {
			out = append(out, d)
		}
		// net/url splits a password holding '/', '#' or '?' into host, path
		// and query, and a parser may quote one piece of it.
		if pieces := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune("/#?@", r) }); len(pieces) > 1 {
			for _, p := range pieces {
				if len(p) >= 4 {
					out = append(out, p)
				}
			}
		}
	}
	// Walk both strings: every "***" in red stands for one masked span of raw.
	i, j := 0, 0
	for i < len(red) && j < len(raw) {
		if strings.HasPrefix(red[i:], "***") && !strings.HasPrefix(raw[j:], "***") {
			rest := red[i+3:]
			// The span ends where raw continues as red does after the mask.
			end := len(raw)
			if rest != "" {
				next := rest
				if k := strings.IndexAny(rest, "&#@"); k >= 0 {
					next = rest[:k+1]
				}
				if k := strings.LastIndex(raw, next); k >= j && next[len(next)-1] == '@' {
					end = k
				} else if k := strings.Index(raw[j:], next); k >= 0 {
					end = j + k
				}
			}
			add(raw[j:end])
			i, j = i+3, end
			continue
		}
		i++
		j++
	}
	return out
}
