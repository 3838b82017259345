package httpmem

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/faultproxy"
	"github.com/cachectl/cachectl/internal/memserver"
	"github.com/cachectl/cachectl/internal/watchtest"
)

// sweeping runs the store's expiry sweep as `cachectl serve` does, faster.
func sweeping(t *testing.T, s *memserver.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go s.Run(ctx, 20*time.Millisecond)
}

func TestWatchMemserver(t *testing.T) {
	ctx := context.Background()
	store := memserver.NewStore(memserver.Options{})
	sweeping(t, store)
	mux := http.NewServeMux()
	mux.Handle("/base/", http.StripPrefix("/base", memserver.NewHandler(store, memserver.HandlerOptions{Token: "tk"})))
	b := openURL(t, serve(t, mux)+"/base", "tk")

	w := watchtest.Start(t, b, backends.WatchOptions{Patterns: []string{"w:*"}})
	must(t, b.Set(ctx, "other", []byte("x"), 0))
	must(t, b.Set(ctx, "w:1", []byte("x"), 0))
	must(t, b.Expire(ctx, "w:1", time.Hour))
	if _, err := b.Delete(ctx, "w:1"); err != nil {
		t.Fatal(err)
	}
	must(t, b.Set(ctx, "w:\xff", []byte("x"), 0))
	must(t, b.Set(ctx, "w:short", []byte("x"), 50*time.Millisecond))
	e, before := w.Await(t, backends.EventExpired, "w:short", 10*time.Second)
	if got, want := eventsText(before), "set w:1,expire w:1,del w:1,set w:\xff,set w:short"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	if e.Node != b.display || e.Time.IsZero() {
		t.Errorf("event %+v: want node %s and a time", e, b.display)
	}

	// The wrong token is the server's 401, at once.
	bad := openURL(t, serve(t, mux)+"/base", "wrong")
	err := bad.Watch(ctx, backends.WatchOptions{}, func(backends.Event) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong token: %v, want a 401", err)
	}
}

func TestWatchWithoutCapability(t *testing.T) {
	// A server of the protocol from before the events capability.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"protocol":1,"capabilities":["keys","get","set","delete"]}`))
	}))
	t.Cleanup(srv.Close)
	b := openURL(t, srv.URL, "")
	err := b.Watch(context.Background(), backends.WatchOptions{}, func(backends.Event) error { return nil })
	var ue *backends.UnsupportedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "`events` capability") {
		t.Errorf("watch on an old server: %v, want an UnsupportedError naming the capability", err)
	}
}

// TestWatchReconnects: a stream that stalls (no heartbeat) or a server that
// restarts is reopened and reported as a gap with its span; events written
// afterwards arrive.
func TestWatchReconnects(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wk := startWorker(t, ln, "")
	proxy := faultproxy.New(t, wk.addr)
	warn := &warnings{}
	u, _ := backends.ParseURL("http://" + proxy.Addr() + "/_cache")
	opened, err := Open(ctx, u, backends.Options{Timeout: 500 * time.Millisecond, Warn: warn.add})
	if err != nil {
		t.Fatal(err)
	}
	b := opened.(*Backend)
	b.heartbeat = time.Second
	w := watchtest.Start(t, b, backends.WatchOptions{})

	// A stall: the next bytes toward the client never arrive.
	fired := proxy.Arm(faultproxy.Rule{Fault: faultproxy.Stall, Dir: faultproxy.Down})
	must(t, wk.store.Set("lost", []byte("x"), 0, ""))
	<-fired
	start := time.Now()
	gap, _ := w.Await(t, backends.EventGap, "", 10*time.Second)
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("gap after %v: sooner than two heartbeats", took)
	}
	if gap.Since.IsZero() || !gap.Since.Before(gap.Time) || !strings.Contains(gap.Detail, "no event or heartbeat within") {
		t.Errorf("gap %+v: want a span and the reason", gap)
	}
	must(t, wk.store.Set("after-stall", []byte("x"), 0, ""))
	w.Await(t, backends.EventSet, "after-stall", 5*time.Second)

	// A restart: the server goes away and comes back on its address.
	wk.srv.Close()
	ln2, err := net.Listen("tcp", wk.addr)
	if err != nil {
		t.Fatal(err)
	}
	wk2 := startWorker(t, ln2, "")
	gap, _ = w.Await(t, backends.EventGap, "", 10*time.Second)
	if gap.Since.IsZero() || !strings.Contains(gap.Detail, "reconnected after") {
		t.Errorf("restart gap %+v", gap)
	}
	must(t, wk2.store.Set("after-restart", []byte("x"), 0, ""))
	w.Await(t, backends.EventSet, "after-restart", 5*time.Second)
	if !strings.Contains(warn.all(), "lost the event stream of") {
		t.Errorf("warnings %q: want the lost stream said", warn.all())
	}
}

// TestWatchPool: one stream per worker, each event naming its worker.
func TestWatchPool(t *testing.T) {
	ws := tcpWorkers(t, 2)
	p := openPool(t, "http://"+ws[0].addr+"/_cache,"+ws[1].addr+"/_cache", "", nil)
	w := watchtest.Start(t, p.(backends.Watcher), backends.WatchOptions{})
	must(t, ws[1].store.Set("on-b", []byte("x"), 0, ""))
	e, _ := w.Await(t, backends.EventSet, "on-b", 5*time.Second)
	if e.Node != ws[1].addr {
		t.Errorf("node %q, want worker %s", e.Node, ws[1].addr)
	}
	must(t, ws[0].store.Set("on-a", []byte("x"), 0, ""))
	if e, _ := w.Await(t, backends.EventSet, "on-a", 5*time.Second); e.Node != ws[0].addr {
		t.Errorf("node %q, want worker %s", e.Node, ws[0].addr)
	}
}

// eventsText is "kind key" of each event, joined by commas.
func eventsText(evs []backends.Event) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind+" "+e.Key)
	}
	return strings.Join(out, ",")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
