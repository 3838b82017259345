package backends

import (
	"context"
	"errors"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/cachectl/cachectl/internal/redact"
)

// Options are the connection settings shared by every backend.
type Options struct {
	// Timeout bounds each operation (one round trip, or one page of a scan).
	Timeout time.Duration
	// Password is used when the URL carries none (from password_env or
	// CACHECTL_PASSWORD), so it never has to appear on a command line.
	Password string
	// SentinelPassword authenticates to Redis Sentinels (from
	// ?sentinel_password_env= or a context's sentinel_password_env); the
	// data nodes take Password.
	SentinelPassword string
	// ReadFromReplicas lets listing-only commands read from replicas
	// (Redis Cluster, Sentinel), sparing the primaries.
	ReadFromReplicas bool
	// Token authenticates to HTTP caches.
	Token string
	// ScanCount is the COUNT hint for each SCAN page.
	ScanCount int
	// MaxItems bounds reads of collection values (hash, list, ...).
	MaxItems int
	// Dial, when set, opens every connection the backend makes (each
	// cluster node, sentinel, pool member, HTTP worker): an SSH tunnel
	// sets it. nil dials directly; use DialFunc rather than reading it.
	Dial DialFunc
	// Warn reports a degraded operation that still goes on (e.g. a partial
	// key listing); nil drops the warnings.
	Warn func(msg string)
}

// DialFunc opens one connection ("tcp" or "unix" network).
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Dialer is the function every backend dials with: Options.Dial when set
// (bounded by timeout), else a plain net.Dialer with that timeout.
func (o Options) Dialer(timeout time.Duration) DialFunc {
	if o.Dial == nil {
		return (&net.Dialer{Timeout: timeout}).DialContext
	}
	dial := o.Dial
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		return dial(ctx, network, addr)
	}
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
		return nil, &URLError{URL: redact.URL(orig), Reason: reason}
	}
	u.Scheme = strings.ToLower(u.Scheme)
	return u, nil
}
