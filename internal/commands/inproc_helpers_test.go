package commands

// The in-process tier: each test runs a command line through Run against a
// real memserver.Store behind the real HTTP handler, reached through the real
// httpmem backend, the way gh tests its commands against httpmock. No Redis
// or Memcached is needed, so these tests never skip.

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/memserver"
)

// memEpoch is the frozen time of every in-process cache and command clock:
// TTLs read back exactly as they were set, and "expires" stamps are stable.
var memEpoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// memClock is a clock that moves only when a test says so.
type memClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *memClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *memClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// memCache is an in-process HTTP cache: the Store to seed and inspect, the
// URL to point commands at, and a log of the requests it answered.
type memCache struct {
	URL   string
	Store *memserver.Store
	Clock *memClock

	mu       sync.Mutex
	requests []string // "METHOD /path", in order
	bodies   []string // request bodies of POST /v1/invalidate
}

// memCacheOptions change how the server behaves, for the paths that depend
// on what it advertises.
type memCacheOptions struct {
	// NoChunkedInvalidate removes "invalidate-chunked" from the
	// capabilities, as an older server would answer.
	NoChunkedInvalidate bool
	// NoEvents removes "events" (GET /v1/events) likewise.
	NoEvents bool
	Token    string
}

// startMemCache serves a fresh Store on a loopback port for this test.
func startMemCache(t *testing.T) *memCache { return startMemCacheWith(t, memCacheOptions{}) }

func startMemCacheWith(t *testing.T, o memCacheOptions) *memCache {
	t.Helper()
	clock := &memClock{t: memEpoch}
	c := &memCache{Store: memserver.NewStore(memserver.Options{Now: clock.Now}), Clock: clock}
	h := memserver.NewHandler(c.Store, memserver.HandlerOptions{Token: o.Token, Version: "cachectl/test"})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.record(r)
		if (o.NoChunkedInvalidate || o.NoEvents) && r.URL.Path == "/v1/capabilities" {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if o.NoChunkedInvalidate {
				body = bytes.Replace(body, []byte(`,"invalidate-chunked"`), nil, 1)
			}
			if o.NoEvents {
				body = bytes.Replace(body, []byte(`,"events"`), nil, 1)
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			w.Write(body)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

func (c *memCache) record(r *http.Request) {
	var body string
	if r.Method == http.MethodPost && r.URL.Path == "/v1/invalidate" && r.Body != nil {
		var buf bytes.Buffer
		buf.ReadFrom(r.Body)
		body = buf.String()
		r.Body = readCloser{bytes.NewReader(buf.Bytes())}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests = append(c.requests, r.Method+" "+r.URL.Path)
	if body != "" {
		c.bodies = append(c.bodies, body)
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// count is how many requests the server answered for "METHOD /path".
func (c *memCache) count(req string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.requests {
		if r == req {
			n++
		}
	}
	return n
}

// invalidateBodies are the bodies of the invalidate requests so far.
func (c *memCache) invalidateBodies() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.bodies)
}

// seed stores entries with no expiry and no format, as an app would.
func (c *memCache) seed(t *testing.T, kv ...string) {
	t.Helper()
	if len(kv)%2 != 0 {
		t.Fatal("seed takes key, value pairs")
	}
	for i := 0; i < len(kv); i += 2 {
		c.put(t, kv[i], []byte(kv[i+1]), 0, "")
	}
}

func (c *memCache) put(t *testing.T, key string, value []byte, ttl time.Duration, format string) {
	t.Helper()
	if err := c.Store.Set(key, value, ttl, format); err != nil {
		t.Fatalf("seed %q: %v", key, err)
	}
}

// keys lists every key the server holds, sorted, straight from the Store.
func (c *memCache) keys(t *testing.T) []string {
	t.Helper()
	var out []string
	cursor := ""
	for {
		page, next, err := c.Store.Scan(cursor, "*", memserver.MaxCount)
		if err != nil {
			t.Fatal(err)
		}
		for _, ki := range page {
			out = append(out, ki.Key)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	slices.Sort(out)
	return out
}

// entry reads one key straight from the Store (counts as a hit or miss in
// the server's stats).
func (c *memCache) entry(t *testing.T, key string) (memserver.Entry, bool) {
	t.Helper()
	return c.Store.Get(key)
}

// wantKeys fails unless the server holds exactly these keys.
func (c *memCache) wantKeys(t *testing.T, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := c.keys(t); !slices.Equal(got, want) {
		t.Fatalf("server holds %q, want %q", got, want)
	}
}

// streams says which of the standard streams are terminals.
type streams int

const (
	pipe      streams = 0
	ttyOut    streams = 1 << iota // stdout is a terminal
	ttyErr                        // stderr is a terminal
	ttyIn                         // stdin is a terminal
	tty       = ttyOut | ttyErr
	ttyPrompt = ttyOut | ttyErr | ttyIn // can prompt
)

func (s streams) String() string {
	if s == pipe {
		return "pipe"
	}
	var parts []string
	for _, p := range []struct {
		bit  streams
		name string
	}{{ttyOut, "stdout"}, {ttyErr, "stderr"}, {ttyIn, "stdin"}} {
		if s&p.bit != 0 {
			parts = append(parts, p.name)
		}
	}
	return "tty(" + strings.Join(parts, ",") + ")"
}

// memRun is one finished command line: its exit code and output.
type memRun struct {
	*testRun
	code int
}

func (m *memRun) out() string { return m.stdout.String() }
func (m *memRun) err() string { return m.stderr.String() }

// runIn runs args against c with the given terminals, stdin and
// environment; "-u URL" goes first unless the environment or a context
// names the cache.
func (c *memCache) runIn(t *testing.T, s streams, env map[string]string, stdin string, args ...string) *memRun {
	t.Helper()
	r := newTestRun(t, env)
	r.f.Now = c.Clock.Now
	r.f.IO.SetStdoutTTY(s&ttyOut != 0)
	r.f.IO.SetStderrTTY(s&ttyErr != 0)
	r.f.IO.SetStdinTTY(s&ttyIn != 0)
	r.stdin.WriteString(stdin)
	return &memRun{testRun: r, code: r.run(args...)}
}

// run runs a command line against c: `cachectl -u URL args...`.
func (c *memCache) run(t *testing.T, s streams, args ...string) *memRun {
	t.Helper()
	return c.runIn(t, s, nil, "", append([]string{"-u", c.URL}, args...)...)
}

// expect fails unless the run exited with code and printed exactly stdout
// (and, when stderr is not nil, exactly *stderr).
func (m *memRun) expect(t *testing.T, code int, stdout string) {
	t.Helper()
	if m.code != code || m.out() != stdout {
		t.Fatalf("exit %d, want %d\nstdout: %q\n  want: %q\nstderr: %q", m.code, code, m.out(), stdout, m.err())
	}
}

// expectErr also checks stderr exactly.
func (m *memRun) expectErr(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	m.expect(t, code, stdout)
	if m.err() != stderr {
		t.Fatalf("stderr: %q\n  want: %q", m.err(), stderr)
	}
}

// writeContexts writes a config file of contexts and returns the
// environment that makes commands read it.
func writeContexts(t *testing.T, yaml string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "cachectl", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"XDG_CONFIG_HOME": dir}
}

// deadURL is the URL of a loopback port nothing listens on any more.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

// wantFileLines fails unless the file holds exactly these lines, in any
// order (dump and backup files follow the server's listing order).
func wantFileLines(t *testing.T, path string, want ...string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want = slices.Clone(want)
	slices.Sort(want)
	if got := lines(string(data)); !slices.Equal(got, want) || !strings.HasSuffix(string(data), "\n") {
		t.Fatalf("%s holds\n%q\nwant\n%q", path, data, want)
	}
}
