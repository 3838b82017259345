package tui

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// clusterData is a few keys on each shard of the fake cluster.
func clusterData() map[string]string {
	data := map[string]string{}
	for i := range 12 {
		data[fmt.Sprintf("user:%d", i)] = fmt.Sprintf(`{"id": %d}`, i)
	}
	return data
}

// A primary dies while the dashboard is open: the header says so at once
// (before the cluster flags it), the pane shows a failed read and retries
// it, and when the replica takes over everything recovers without a
// restart: the entry is read from its new node, the key list stays whole,
// and the node back as a replica brings the header back to normal.
func TestClusterNodeDownAndFailover(t *testing.T) {
	fc := newFakeCluster(clusterData())
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	d := newDriver(t, Options{Open: fc.open, Kind: "redis", Address: fc.Describe().Address, Now: now, StatsEvery: 2 * time.Second})
	// tick moves the clock on by dt and delivers the second's tick.
	tick := func(dt time.Duration) {
		skew.Add(int64(dt))
		d.apply(uictx.Tick(now()))
	}
	d.until("keys and topology", func() bool { return d.scanDone() && d.m.header.Topology() != nil })
	a, replica := nodeAddr(1), nodeAddr(4)
	onA := fc.keyOn(a)
	if len(onA) < 2 {
		t.Fatalf("keys on %s: %q", a, onA)
	}
	d.selectKey(onA[0])
	contains(t, d.screen(), "● connected", "cluster 3/3 primaries · 3/3 replicas · 16384/16384 slots", "on "+a)
	if strings.Contains(d.screen(), "FAILOVER") {
		t.Fatalf("a healthy cluster shows a failover:\n%s", d.screen())
	}

	fc.kill(a)
	tick(2 * time.Second)
	d.until("degraded", func() bool { return d.m.c.Conn.State == uictx.Degraded })
	contains(t, d.screen(), "◐ 1 of 6 nodes down", "FAILOVER", "cluster 2/3 primaries · 3/3 replicas · 5461 slots uncovered · down "+a,
		"on "+a+" (down)", "1 of 6 nodes did not answer: cannot reach "+a+": connection refused")
	// While keys have no primary the header looks again each second.
	if wait := d.m.c.Conn.RetryAt.Sub(now()); wait > time.Second {
		t.Errorf("next probe in %v during a failover", wait)
	}

	// A read of another key of the dead node fails, says so, and is retried.
	for range len(clusterData()) {
		if d.m.detail.Key() == onA[1] {
			break
		}
		d.press("down")
	}
	d.until("the read fails", func() bool { return d.m.detail.Err() != nil && !d.m.detail.Loading() })
	contains(t, d.screen(), "error (retry in 1s): cannot reach "+a+": connection refused")
	if d.m.c.Conn.State != uictx.Degraded {
		t.Fatalf("one node's failed read took the whole cluster down: %+v", d.m.c.Conn)
	}
	fc.mu.Lock()
	before := fc.inspects
	fc.mu.Unlock()
	tick(time.Second)
	d.until("retried", func() bool {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		return fc.inspects > before && !d.m.detail.Loading()
	})
	contains(t, d.screen(), "error (retry in 2s)")

	// The cluster flags the node and promotes its replica.
	fc.flag(a)
	fc.promote(a)
	tick(time.Second)
	d.until("the entry read from the promoted replica", func() bool {
		e := d.m.detail.Entry()
		return e != nil && e.Server == replica && d.entryShown() && strings.Contains(d.screen(), "3/4 primaries")
	})
	s := d.screen()
	contains(t, s, "◐ 1 of 6 nodes down", "cluster 3/4 primaries · 2/2 replicas · 16384/16384 slots · down "+a, "on "+replica)
	if strings.Contains(s, "FAILOVER") || strings.Contains(s, "error") {
		t.Errorf("the failover is over, yet:\n%s", s)
	}
	fc.mu.Lock()
	recovers := fc.recovers
	fc.mu.Unlock()
	if recovers == 0 {
		t.Error("the probes never asked the backend to follow the failover")
	}
	if n := d.m.list.Store().Len(); n != len(clusterData()) {
		t.Errorf("%d keys listed after the failover, want %d", n, len(clusterData()))
	}

	fc.restart(a)
	tick(2 * time.Second)
	d.until("up", func() bool { return d.m.c.Conn.State == uictx.Up })
	s = d.screen()
	contains(t, s, "● connected", "cluster 3/3 primaries · 3/3 replicas · 16384/16384 slots", "all servers answer again")
	if strings.Contains(s, "down") {
		t.Errorf("a node still shows down:\n%s", s)
	}

	// The whole cluster gone: unreachable, as a single dead server, the
	// topology kept as last seen; the recovery text gives way to the error.
	for i := range 6 {
		fc.kill(nodeAddr(i + 1))
	}
	tick(2 * time.Second)
	d.until("down", func() bool { return d.m.c.Conn.State == uictx.Down })
	s = d.screen()
	contains(t, s, "✕ unreachable", "last seen: cluster 3/3 primaries")
	if strings.Contains(s, "all servers answer again") {
		t.Errorf("the status line still says the cluster is back:\n%s", s)
	}
}
