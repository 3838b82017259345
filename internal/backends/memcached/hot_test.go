package memcached

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/testenv"
	"github.com/cachectl/cachectl/internal/watchtest"
)

// TestHotFetchers: reads that find their item are counted per key and per
// server of the pool; misses, writes and keys of other patterns are not.
func TestHotFetchers(t *testing.T) {
	a, b2 := testenv.MemcachedAddr(t), testenv.Memcached2Addr(t)
	b := open(t, "memcached://"+a+","+b2, backends.Options{})
	p := prefix(t)
	hostile := p + "\x1b[31m\xff"
	store(t, a, p+"hot", 0)
	store(t, a, p+"warm", 0)
	store(t, b2, hostile, 0)
	store(t, a, "other:"+p, 0)
	store(t, b2, p+"end", 0)
	s := watchtest.StartHot(t, b, backends.HotOptions{Patterns: []string{p + "*"}})
	if s.Method != backends.HotFetchers {
		t.Fatalf("method %q", s.Method)
	}
	for range 12 {
		raw(t, a, p+"hot")
	}
	for range 4 {
		raw(t, a, p+"warm")
		raw(t, a, "other:"+p)
		raw(t, a, p+"missing")
	}
	raw(t, b2, hostile)
	raw(t, b2, hostile)
	store(t, a, p+"hot", 0)
	raw(t, b2, p+"end")
	s.AwaitCount(t, b2, p+"end", 1, 10*time.Second)
	s.AwaitCount(t, a, p+"hot", 12, 10*time.Second)
	r, err := s.Stop()
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	want := []backends.HotKey{{Key: p + "hot", Node: a, Count: 12}, {Key: p + "warm", Node: a, Count: 4}, {Key: hostile, Node: b2, Count: 2}, {Key: p + "end", Node: b2, Count: 1}}
	if len(r.Keys) != len(want) {
		t.Fatalf("keys %+v", r.Keys)
	}
	for i, k := range want {
		if r.Keys[i] != k {
			t.Errorf("key %d: %+v, want %+v", i, r.Keys[i], k)
		}
	}
	if r.Accesses != 19 || len(r.Nodes) != 2 || r.Nodes[0].Node != a || r.Nodes[0].Accesses != 16 || r.Gaps {
		t.Errorf("report %+v", r)
	}
	if _, err := b.HotKeys(context.Background(), backends.HotOptions{Method: backends.HotMonitor}); err == nil {
		t.Error("MONITOR on memcached was not refused")
	}
}
