package httpmem

import (
	"crypto/tls"
	"crypto/x509"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/redact"
)

// target is what an HTTP cache URL names: one server, a list of workers,
// every address of a DNS name (?workers=dns), or a directory of unix
// sockets (http+unix://).
type target struct {
	scheme  string
	display string // the URL, redacted, for messages
	tls     *tls.Config
	// members of the static forms (a server, a list, one socket).
	members []memberURL
	// dnsHost and dnsPort: ?workers=dns, resolved when first used; path is
	// the base path every address shares.
	dnsHost, dnsPort, path string
	// dir: http+unix:// of a directory; path is the ?path= prefix.
	dir string
}

// memberURL is one worker: its base URL (whose host goes in the Host
// header), how output names it, and where it dials when not the host.
type memberURL struct {
	name, base string
	to         *dialTarget
}

func (t *target) single() bool { return t.dnsHost == "" && t.dir == "" && len(t.members) == 1 }

// parseTarget reads the URL forms of docs/http-protocol.md ("Several
// workers"): http://a:8000/_cache,b:8000/_cache (each worker its own path),
// http://a:8000,b:8000/_cache (one path for all), http://name:8000/_cache?workers=dns,
// http+unix:///run/app/cachectl[?path=/_cache] (every *.sock of the
// directory, or one socket file).
func parseTarget(u *url.URL) (*target, error) {
	t := &target{scheme: u.Scheme, display: redact.ParsedURL(u), tls: &tls.Config{MinVersion: tls.VersionTLS12}}
	bad := func(reason string) error { return &backends.URLError{URL: t.display, Reason: reason} }
	if u.User != nil {
		return nil, bad("HTTP caches take a bearer token (--token, CACHECTL_TOKEN or a context's token_env), not a user or password in the URL")
	}
	if u.Fragment != "" {
		return nil, bad("a fragment (#…) means nothing to a cache URL")
	}
	workers, prefix := "", ""
	for name, vals := range u.Query() {
		v := vals[len(vals)-1]
		switch {
		case name == "insecure" && u.Scheme == "https":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, bad("insecure= takes true or false")
			}
			t.tls.InsecureSkipVerify = b
		case name == "ca" && u.Scheme == "https":
			pem, err := os.ReadFile(v)
			if err != nil {
				return nil, bad("cannot read the CA file: " + err.Error())
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, bad("no certificate found in the CA file " + v)
			}
			t.tls.RootCAs = pool
		case name == "workers" && u.Scheme != "http+unix":
			if v != "dns" {
				return nil, bad("workers= takes dns (every address the host name resolves to is a worker)")
			}
			workers = v
		case name == "path" && u.Scheme == "http+unix":
			if !strings.HasPrefix(v, "/") {
				return nil, bad("path= is the HTTP path of the cache on each socket and starts with /, e.g. path=/_cache")
			}
			prefix = v
		default:
			takes := "workers=dns"
			switch u.Scheme {
			case "https":
				takes = "workers=dns, ca= and insecure="
			case "http+unix":
				takes = "path="
			}
			return nil, bad("unknown parameter " + strconv.Quote(name) + " (" + u.Scheme + " URLs take " + takes + ")")
		}
	}
	if u.Scheme == "http+unix" {
		return t, t.unix(u, prefix, bad)
	}
	if u.Host == "" {
		return nil, bad("no host, e.g. http://127.0.0.1:8750")
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	if workers == "dns" {
		if strings.Contains(u.Host, ",") || strings.Contains(path, ",") {
			return nil, bad("workers=dns takes one host name, whose addresses are the workers")
		}
		t.dnsHost, t.dnsPort, t.path = u.Hostname(), u.Port(), path
		if t.dnsPort == "" {
			t.dnsPort = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		return t, nil
	}
	return t, t.list(u, path, bad)
}

// list reads the server-list forms. A comma in the path starts the next
// worker, host[:port][/path]: a comma inside a base path must be written %2C.
func (t *target) list(u *url.URL, path string, bad func(string) error) error {
	type entry struct{ host, path string }
	var entries []entry
	hosts := strings.Split(u.Host, ",")
	if segs := strings.Split(path, ","); len(segs) > 1 {
		if len(hosts) > 1 {
			return bad("give the workers as http://a:8000,b:8000/_cache or as http://a:8000/_cache,b:8000/_cache, not both at once")
		}
		entries = append(entries, entry{hosts[0], segs[0]})
		for _, s := range segs[1:] {
			host, p, _ := strings.Cut(s, "/")
			if p != "" {
				p = "/" + p
			}
			entries = append(entries, entry{host, strings.TrimRight(p, "/")})
		}
	} else {
		for _, h := range hosts {
			entries = append(entries, entry{h, path})
		}
	}
	seen := map[string]bool{}
	for _, e := range entries {
		base := u.Scheme + "://" + e.host + e.path
		if e.host == "" {
			return bad("an empty worker in the list (two commas, or one at an end)")
		}
		if pu, err := url.Parse(base); err != nil || pu.Host != e.host || pu.User != nil {
			return bad("worker " + strconv.Quote(redact.URL(e.host)) + " is not host[:port]")
		}
		if seen[base] {
			return bad("worker " + strconv.Quote(e.host+e.path) + " is listed twice")
		}
		seen[base] = true
		t.members = append(t.members, memberURL{name: e.host, base: base})
	}
	// Two workers on one host:port under different paths are told apart by path.
	for i := range t.members {
		for j := range t.members {
			if i != j && entries[i].host == entries[j].host {
				t.members[i].name = entries[i].host + entries[i].path
			}
		}
	}
	return nil
}

// unix reads http+unix:///PATH: a directory of worker sockets or one socket.
// The path is taken as given (links in it are followed: the user named it);
// the entries of a directory are checked when it is read (sockets.go).
func (t *target) unix(u *url.URL, prefix string, bad func(string) error) error {
	if u.Host != "" {
		return bad("http+unix:// takes an absolute path after it, e.g. http+unix:///run/app/cachectl (three slashes)")
	}
	if !filepath.IsAbs(u.Path) {
		return bad("http+unix:// takes an absolute path, e.g. http+unix:///run/app/cachectl")
	}
	base := "http://localhost" + strings.TrimRight((&url.URL{Path: prefix}).EscapedPath(), "/")
	p := filepath.Clean(u.Path)
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		t.dir, t.path = p, base
		return nil
	}
	// Not a directory: one socket (a missing one fails when dialled, clearly).
	t.members = []memberURL{{name: p, base: base, to: &dialTarget{network: "unix", addr: p}}}
	return nil
}
