package memserver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// kinds returns "kind key" for each event, in order.
func kinds(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Kind + " " + e.Key
	}
	return out
}

func takeAll(t *testing.T, sub *Subscription) ([]Event, Gap) {
	t.Helper()
	select {
	case <-sub.Ready():
	default:
		return nil, Gap{}
	}
	return sub.Take()
}

func TestStoreEmitsEvents(t *testing.T) {
	clock := newClock()
	s := NewStore(Options{Now: clock.Now})
	sub, err := s.Subscribe("*", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	must(t, s.Set("a", []byte("1"), 0, ""))
	must(t, s.Set("a", []byte("2"), 0, ""))
	s.Expire("a", time.Minute)
	s.Delete("a")
	s.Delete("a") // absent: no event
	must(t, s.Set("t1", []byte("x"), time.Second, ""))
	must(t, s.Set("t2", []byte("x"), time.Second, ""))
	clock.Advance(2 * time.Second)
	s.Get("t1")                          // a read finds it expired
	s.SweepExpired(context.Background()) // the sweep finds t2
	must(t, s.Set("p:1", []byte("x"), 0, ""))
	must(t, s.Set("p:2", []byte("x"), 0, ""))
	if _, _, err := s.Invalidate(context.Background(), []string{"p:*"}, false); err != nil {
		t.Fatal(err)
	}
	evs, gap := takeAll(t, sub)
	got := kinds(evs)
	want := []string{"set a", "set a", "expire a", "del a", "set t1", "set t2", "expired t1", "expired t2", "set p:1", "set p:2"}
	if strings.Join(got[:len(want)], ",") != strings.Join(want, ",") {
		t.Fatalf("events %v, want %v then two del", got, want)
	}
	dels := strings.Join(got[len(want):], ",")
	if dels != "del p:1,del p:2" && dels != "del p:2,del p:1" {
		t.Errorf("invalidate events %q, want del of p:1 and p:2", dels)
	}
	if gap.Dropped != 0 {
		t.Errorf("gap %+v without overflow", gap)
	}
	for _, e := range evs {
		if !e.Time.Equal(clock.Now()) && !e.Time.Equal(clock.Now().Add(-2*time.Second)) {
			t.Errorf("event %v has time %v, not the store's clock", e.Kind, e.Time)
		}
	}
}

func TestStoreEmitsEvictions(t *testing.T) {
	s := NewStore(Options{MaxMemory: 3 * (entryOverhead + 10)})
	sub, err := s.Subscribe("*", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for i := range 4 {
		must(t, s.Set(fmt.Sprintf("k%d", i), []byte("123456789"), 0, ""))
	}
	evs, _ := takeAll(t, sub)
	got := strings.Join(kinds(evs), ",")
	if !strings.Contains(got, "evicted k0") {
		t.Errorf("events %s: want k0 evicted", got)
	}
}

func TestSubscriptionMatchAndClose(t *testing.T) {
	s := NewStore(Options{})
	sub, err := s.Subscribe("user:*", 0)
	if err != nil {
		t.Fatal(err)
	}
	must(t, s.Set("user:1", []byte("x"), 0, ""))
	must(t, s.Set("other", []byte("x"), 0, ""))
	evs, _ := takeAll(t, sub)
	if got := strings.Join(kinds(evs), ","); got != "set user:1" {
		t.Errorf("events %q, want only set user:1", got)
	}
	sub.Close()
	must(t, s.Set("user:2", []byte("x"), 0, ""))
	if evs, _ := takeAll(t, sub); len(evs) != 0 {
		t.Errorf("closed subscription got %v", kinds(evs))
	}
	if s.events.active() {
		t.Error("hub still active after the last subscriber left")
	}
}

func TestSubscriptionOverflowIsAGap(t *testing.T) {
	clock := newClock()
	s := NewStore(Options{Now: clock.Now})
	sub, err := s.Subscribe("*", 3)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for i := range 10 {
		must(t, s.Set(fmt.Sprintf("k%d", i), nil, 0, ""))
		clock.Advance(time.Second)
	}
	evs, gap := takeAll(t, sub)
	if got := strings.Join(kinds(evs), ","); got != "set k0,set k1,set k2" {
		t.Errorf("kept %q, want the three oldest", got)
	}
	if gap.Dropped != 7 || !gap.Since.Equal(newClock().Now().Add(3*time.Second)) {
		t.Errorf("gap %+v, want 7 dropped since k3's write", gap)
	}
	// After a Take the buffer is free again.
	must(t, s.Set("next", nil, 0, ""))
	evs, gap = takeAll(t, sub)
	if len(evs) != 1 || gap.Dropped != 0 {
		t.Errorf("after the gap: %v %+v", kinds(evs), gap)
	}
}

func TestSubscribeBounded(t *testing.T) {
	s := NewStore(Options{})
	for range MaxSubscribers {
		sub, err := s.Subscribe("*", 1)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
	}
	if _, err := s.Subscribe("*", 1); err != ErrTooManySubscribers {
		t.Errorf("subscriber %d: %v, want ErrTooManySubscribers", MaxSubscribers+1, err)
	}
}

// sseReader reads the data lines of an event stream, skipping comments.
type sseReader struct {
	t  *testing.T
	sc *bufio.Scanner
}

func (r *sseReader) next() map[string]any {
	r.t.Helper()
	for r.sc.Scan() {
		line := r.sc.Text()
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			r.t.Fatalf("data line %q: %v", data, err)
		}
		return m
	}
	r.t.Fatalf("stream ended: %v", r.sc.Err())
	return nil
}

func openEvents(t *testing.T, srv *httptest.Server, query string, header http.Header) (*http.Response, *sseReader) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/events"+query, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, &sseReader{t: t, sc: bufio.NewScanner(resp.Body)}
}

func TestEventsStream(t *testing.T) {
	s := NewStore(Options{})
	srv := httptest.NewServer(NewHandler(s, HandlerOptions{Token: "sekrit"}))
	t.Cleanup(srv.Close) // after the streams' own cleanups, which end them
	auth := http.Header{"Authorization": {"Bearer sekrit"}}

	resp, _ := openEvents(t, srv, "", nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the token: %s, want 401", resp.Status)
	}
	resp, _ = openEvents(t, srv, "", http.Header{"Authorization": {"Bearer sekrit"}, "Origin": {"http://evil.example"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin: %s, want 403", resp.Status)
	}
	resp, _ = openEvents(t, srv, "?heartbeat=0.1", auth)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("heartbeat 0.1 s: %s, want 400", resp.Status)
	}

	resp, r := openEvents(t, srv, "?match=user%3A*&heartbeat=1", auth)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Cache-Heartbeat") != "1" {
		t.Fatalf("events: %s %v", resp.Status, resp.Header)
	}
	must(t, s.Set("other", []byte("x"), 0, ""))
	must(t, s.Set("user:\xff", []byte("x"), 0, ""))
	must(t, s.Set("user:1", []byte("x"), 0, ""))
	s.Delete("user:1")
	e := r.next()
	if e["event"] != "set" || fmt.Sprint(e["key"]) != "map[$bytes:dXNlcjr/]" {
		t.Errorf("first event %v, want set of the bytes key", e)
	}
	if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(e["time"])); err != nil {
		t.Errorf("time %v: %v", e["time"], err)
	}
	if e = r.next(); e["event"] != "set" || e["key"] != "user:1" {
		t.Errorf("second event %v", e)
	}
	if e = r.next(); e["event"] != "del" || e["key"] != "user:1" {
		t.Errorf("third event %v", e)
	}
	// A quiet stream sends heartbeats.
	deadline := time.Now().Add(5 * time.Second)
	for r.sc.Scan() {
		if r.sc.Text() == ": heartbeat" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no heartbeat")
		}
	}
}

// gateWriter holds the stream's first write until released, so that a
// test can publish while the handler cannot take events.
type gateWriter struct {
	http.ResponseWriter
	entered, release chan struct{}
	once             sync.Once
}

func (g *gateWriter) Write(b []byte) (int, error) {
	g.once.Do(func() {
		close(g.entered)
		<-g.release
	})
	return g.ResponseWriter.Write(b)
}

func (g *gateWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

func TestEventsStreamGap(t *testing.T) {
	s := NewStore(Options{})
	h := NewHandler(s, HandlerOptions{EventBuffer: 2})
	gate := &gateWriter{entered: make(chan struct{}), release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gate.ResponseWriter = w
		h.ServeHTTP(gate, r)
	}))
	t.Cleanup(srv.Close) // after the streams' own cleanups, which end them
	type opened struct {
		resp *http.Response
		r    *sseReader
	}
	got := make(chan opened, 1)
	go func() {
		resp, r := openEvents(t, srv, "", nil)
		got <- opened{resp, r}
	}()
	<-gate.entered // subscribed, its first write held
	for i := range 10 {
		must(t, s.Set(fmt.Sprintf("k%d", i), nil, 0, ""))
	}
	close(gate.release)
	o := <-got
	if o.resp.StatusCode != http.StatusOK {
		t.Fatal(o.resp.Status)
	}
	var seen []string
	for range 3 {
		e := o.r.next()
		seen = append(seen, fmt.Sprint(e["event"], " ", e["key"], " ", e["dropped"]))
	}
	if want := "set k0 <nil>,set k1 <nil>,gap <nil> 8"; strings.Join(seen, ",") != want {
		t.Errorf("events %v, want %s", seen, want)
	}
}

func TestEventsStreamEndsOnStop(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(NewHandler(NewStore(Options{}), HandlerOptions{Stop: stop}))
	t.Cleanup(srv.Close) // after the streams' own cleanups, which end them
	resp, r := openEvents(t, srv, "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatal(resp.Status)
	}
	if !r.sc.Scan() || r.sc.Text() != ": subscribed" {
		t.Fatalf("first line %q", r.sc.Text())
	}
	close(stop)
	for r.sc.Scan() {
	}
	// The body ended: reaching here at all is the check (a stuck stream
	// would time the test out).
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
