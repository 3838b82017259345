package memserver

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is the tests' Options.Now: time moves only when a test says so.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// checkInvariants verifies the store's internal bookkeeping: every entry is in
// the bucket its hash names and on its shard's LRU list, and the counts and
// byte totals add up.
func checkInvariants(t *testing.T, s *Store) {
	t.Helper()
	var total int64
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n := len(sh.buckets)
		if n < minBuckets || n&(n-1) != 0 {
			t.Errorf("shard %d: %d buckets, want a power of two >= %d", i, n, minBuckets)
		}
		var count, bytes int64
		inTable := map[*entry]bool{}
		for b, e := range sh.buckets {
			for ; e != nil; e = e.chain {
				if int(e.hash>>shardShift) != i || int(e.hash&uint64(n-1)) != b {
					t.Errorf("shard %d bucket %d: key %q misplaced", i, b, e.key)
				}
				count++
				bytes += e.size()
				inTable[e] = true
			}
		}
		var lru int64
		var newer *entry
		for e := sh.head; e != nil; e = e.older {
			if e.newer != newer {
				t.Errorf("shard %d: LRU back link broken at %q", i, e.key)
			}
			if !inTable[e] {
				t.Errorf("shard %d: LRU holds %q, not in the table", i, e.key)
			}
			newer = e
			lru++
			if lru > count+1 {
				break
			}
		}
		if sh.tail != newer {
			t.Errorf("shard %d: tail is not the last LRU entry", i)
		}
		wantTail := int64(1<<63 - 1)
		if sh.tail != nil {
			wantTail = sh.tail.stamp
		}
		if got := sh.tailStamp.Load(); got != wantTail {
			t.Errorf("shard %d: tailStamp %d, want %d", i, got, wantTail)
		}
		if count != sh.count || lru != count || bytes != sh.bytes {
			t.Errorf("shard %d: count %d, LRU %d, table %d; bytes %d, table %d", i, sh.count, lru, count, sh.bytes, bytes)
		}
		if sh.walkers != 0 {
			t.Errorf("shard %d: %d walkers left", i, sh.walkers)
		}
		total += bytes
		sh.mu.Unlock()
	}
	if used := s.used.Load(); used != total {
		t.Errorf("used %d, entries add up to %d", used, total)
	}
}

// escapeKey percent-encodes every byte outside RFC 3986's unreserved set.
func escapeKey(k string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		c := k[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

type testServer struct {
	*httptest.Server
	store *Store
	clock *fakeClock
	token string
}

func newTestServer(t *testing.T, so Options, ho HandlerOptions) *testServer {
	t.Helper()
	clock := newClock()
	so.Now = clock.Now
	s := NewStore(so)
	srv := httptest.NewServer(NewHandler(s, ho))
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, store: s, clock: clock, token: ho.Token}
}

type response struct {
	status int
	header http.Header
	body   string
}

// do sends one request; target is the path and query after the server URL.
// headers come in name, value pairs.
func (ts *testServer) do(t *testing.T, method, target string, body io.Reader, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+target, body)
	if err != nil {
		t.Fatal(err)
	}
	if ts.token != "" {
		req.Header.Set("Authorization", "Bearer "+ts.token)
	}
	if strings.HasPrefix(target, "/v1/invalidate") {
		req.Header.Set("Content-Type", "application/json") // as the protocol requires; headers may override it
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// expect checks status and the exact body.
func (r response) expect(t *testing.T, status int, body string) {
	t.Helper()
	if r.status != status || r.body != body {
		t.Errorf("got %d %q, want %d %q", r.status, r.body, status, body)
	}
	if status >= 400 || strings.HasPrefix(body, "{") {
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
	}
}

// TestMain fails the run when a sweeper goroutine outlives the tests: every
// Run and runLoop a test starts must have returned.
func TestMain(m *testing.M) {
	code := m.Run()
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	if code == 0 && strings.Contains(stacks, "memserver.(*Store).runLoop") {
		fmt.Fprintln(os.Stderr, "leaked sweeper goroutine:\n"+stacks)
		code = 1
	}
	os.Exit(code)
}
