package invalidate

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/backends/httpmem"
	"github.com/cachectl/cachectl/internal/memserver"
)

const (
	serverDel  = 30000
	serverKeep = 1000
)

// serverStore is a real serve store with serverDel keys to delete and
// serverKeep to keep.
func serverStore(t *testing.T) *memserver.Store {
	t.Helper()
	s := memserver.NewStore(memserver.Options{})
	for i := range serverDel {
		_ = s.Set("del:"+strconv.Itoa(i), []byte("v"), 0, "")
	}
	for i := range serverKeep {
		_ = s.Set("keep:"+strconv.Itoa(i), []byte("v"), 0, "")
	}
	return s
}

// left counts what the server really still holds.
func left(t *testing.T, s *memserver.Store, pattern string) int64 {
	t.Helper()
	var n int64
	for cursor := ""; ; {
		keys, next, err := s.Scan(cursor, pattern, memserver.MaxCount)
		if err != nil {
			t.Fatal(err)
		}
		n += int64(len(keys))
		if next == "" {
			return n
		}
		cursor = next
	}
}

// faulty wraps the real handler: the failAt-th invalidate request that
// deletes is carried out by the server, then its answer is lost as fault
// says: "cut" closes the connection, "stall" answers nothing until the client
// gives up, "cancel" calls onFail (Ctrl-C) and answers normally. oldServer
// hides the invalidate-chunked capability.
type faulty struct {
	h         http.Handler
	failAt    int32
	fault     string
	oldServer bool
	onFail    func()
	n         atomic.Int32
}

func (f *faulty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.oldServer && r.URL.Path == "/v1/capabilities" {
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, r)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(bytes.ReplaceAll(rec.Body.Bytes(), []byte(`,"invalidate-chunked"`), nil))
		return
	}
	if r.URL.Path != "/v1/invalidate" {
		f.h.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if bytes.Contains(body, []byte(`"dry_run":true`)) || f.n.Add(1) != f.failAt {
		f.h.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r) // the server deletes...
	switch f.fault {
	case "cancel":
		f.onFail()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	case "cut": // ...and the answer never arrives
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	case "stall":
		<-r.Context().Done()
	}
}

func openHTTP(t *testing.T, h http.Handler, timeout time.Duration) backends.Backend {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return open(t, srv.URL, httpmem.Open, backends.Options{Timeout: timeout})
}

// TestServerSideChunked: a server-side run goes chunk by chunk, reports
// progress after each, and deletes exactly the matching keys.
func TestServerSideChunked(t *testing.T) {
	s := serverStore(t)
	b := openHTTP(t, memserver.NewHandler(s, memserver.HandlerOptions{}), 5*time.Second)
	var reports int
	var last Progress
	sum, err := Run(context.Background(), b, Options{Patterns: []string{"del:*"}, Batch: 1000, Progress: func(p Progress) { reports++; last = p }})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.ServerSide || sum.Deleted != serverDel || sum.Matched != serverDel || sum.Unconfirmed != 0 {
		t.Fatalf("summary %+v, want %d deleted server-side", sum, serverDel)
	}
	if reports < serverDel/1000 || last.Deleted != serverDel {
		t.Fatalf("%d progress reports (last %+v), want one per chunk of at most 1000", reports, last)
	}
	if l := left(t, s, "del:*"); l != 0 {
		t.Fatalf("%d del: keys left", l)
	}
	if l := left(t, s, "keep:*"); l != serverKeep {
		t.Fatalf("%d keep: keys left, want %d", l, serverKeep)
	}
}

// TestServerSideFaults: the answer to a chunk that the server carried out is
// lost (connection cut, a stall past the timeout). The summary's Deleted is
// what was confirmed and Deleted+Unconfirmed brackets what the server really
// deleted; on Ctrl-C the chunk in flight is awaited and the count is exact.
// A server without chunks says nothing exact, so the whole count is at stake.
func TestServerSideFaults(t *testing.T) {
	for _, tc := range []struct {
		fault     string
		oldServer bool
	}{
		{"cut", false}, {"stall", false}, {"cancel", false},
		{"cut", true}, {"stall", true}, {"cancel", true},
	} {
		name := tc.fault
		if tc.oldServer {
			name += " old server"
		}
		t.Run(name, func(t *testing.T) {
			s := serverStore(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := &faulty{h: memserver.NewHandler(s, memserver.HandlerOptions{}), failAt: 5, fault: tc.fault, oldServer: tc.oldServer, onFail: cancel}
			if tc.oldServer {
				f.failAt = 1
			}
			b := openHTTP(t, f, 500*time.Millisecond)
			sum, err := Run(ctx, b, Options{Patterns: []string{"del:*"}, Batch: 1000})
			switch {
			case tc.fault == "cancel" && tc.oldServer:
				// The one request was awaited and did everything.
				if err != nil || sum.Deleted != serverDel || sum.Unconfirmed != 0 {
					t.Fatalf("interrupted on an old server: summary %+v, %v; want all %d confirmed", sum, err, serverDel)
				}
			case tc.fault == "cancel":
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("interrupted: error %v, want context.Canceled", err)
				}
			case err == nil:
				t.Fatal("the run did not fail")
			}
			really := serverDel - left(t, s, "del:*")
			if l := left(t, s, "keep:*"); l != serverKeep {
				t.Fatalf("%d keep: keys left, want %d", l, serverKeep)
			}
			t.Logf("%s: summary deleted %d unconfirmed %d; the server deleted %d; %v", name, sum.Deleted, sum.Unconfirmed, really, err)
			if really < sum.Deleted || really > sum.Deleted+sum.Unconfirmed {
				t.Fatalf("summary deleted %d + up to %d unconfirmed does not bracket the %d the server deleted", sum.Deleted, sum.Unconfirmed, really)
			}
			switch {
			case tc.fault == "cancel" && !tc.oldServer:
				if sum.Unconfirmed != 0 || sum.Deleted != really || really == 0 {
					t.Fatalf("interrupted: summary %+v, server deleted %d; want exact", sum, really)
				}
			case tc.oldServer && tc.fault != "cancel":
				if sum.Deleted != 0 || sum.Unconfirmed != serverDel {
					t.Fatalf("old server: summary %+v, want 0 confirmed and %d at stake", sum, serverDel)
				}
			case !tc.oldServer:
				if sum.Unconfirmed == 0 || sum.Unconfirmed > 1000 || sum.Deleted == 0 {
					t.Fatalf("summary %+v, want confirmed chunks and at most one chunk (1000) unconfirmed", sum)
				}
			}
		})
	}
}

// TestServerSideRefused: when the server's capabilities cannot be read,
// nothing is sent and the zero count is exact.
func TestServerSideRefused(t *testing.T) {
	s := serverStore(t)
	h := memserver.NewHandler(s, memserver.HandlerOptions{})
	b := openHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/capabilities") {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		h.ServeHTTP(w, r)
	}), time.Second)
	sum, err := Run(context.Background(), b, Options{Patterns: []string{"del:*"}})
	if err == nil || sum.Deleted != 0 || sum.Unconfirmed != 0 || left(t, s, "del:*") != serverDel {
		t.Fatalf("capabilities refused: summary %+v, %v; want an error before anything is sent", sum, err)
	}
}

// liar answers every invalidate request with a fixed body; the other
// endpoints are a real serve's (with or without invalidate-chunked).
type liar struct {
	h         http.Handler
	answer    string
	oldServer bool
	requests  atomic.Int32
}

func (l *liar) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/v1/capabilities":
		rec := httptest.NewRecorder()
		l.h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if l.oldServer {
			body = bytes.ReplaceAll(body, []byte(`,"invalidate-chunked"`), nil)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	case "/v1/invalidate":
		l.requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, l.answer)
	default:
		l.h.ServeHTTP(w, r)
	}
}

// A server whose answers cannot be true stops the run with an error; its
// counts are not believed, and it cannot keep the client looping.
func TestServerSideLies(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		oldServer    bool
		deleted      int64 // believed before the lie
	}{
		{"same cursor forever", `{"matched":1,"deleted":1,"cursor":"x"}`, false, 1},
		{"more than the limit", `{"matched":1000000000000000,"deleted":1000000000000000,"cursor":""}`, false, 0},
		{"negative", `{"matched":-7,"deleted":-7,"cursor":""}`, false, 0},
		{"deleted more than matched", `{"matched":0,"deleted":50,"cursor":""}`, false, 0},
		{"old server, deleted more than matched", `{"matched":0,"deleted":50}`, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &liar{h: memserver.NewHandler(memserver.NewStore(memserver.Options{}), memserver.HandlerOptions{}), answer: tc.answer, oldServer: tc.oldServer}
			b := openHTTP(t, l, 5*time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			sum, err := Run(ctx, b, Options{Patterns: []string{"a*"}, Batch: 100})
			var lie *InconsistentError
			if !errors.As(err, &lie) {
				t.Fatalf("err = %v, want the answer refused", err)
			}
			if sum.Deleted != tc.deleted || sum.Unconfirmed > 100 {
				t.Fatalf("summary %+v: want %d deleted and at most the chunk limit unconfirmed", sum, tc.deleted)
			}
			if n := l.requests.Load(); n > 3 {
				t.Fatalf("%d invalidate requests: the client kept going", n)
			}
		})
	}
}
