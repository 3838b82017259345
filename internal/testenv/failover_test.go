package testenv

// The tests on private setups, which take seconds each, come first in the
// package so that the longest ones start at once under -parallel.

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPrivateSentinelFailover fails a Sentinel setup of its own over with
// SENTINEL FAILOVER: the replica becomes the master, with the data, and the
// old master its replica.
func TestPrivateSentinelFailover(t *testing.T) {
	t.Parallel()
	s := PrivateSentinel(t)
	if s.State == "" {
		t.Fatalf("private Sentinel setup without state dir: %+v", s)
	}
	ctx := ctxT(t)
	old := s.Master(t)
	if old != s.DataAddrs[0] {
		t.Errorf("master at start is %s, want the first data node %s", old, s.DataAddrs[0])
	}
	checkSentinels(t, s, old)
	for _, addr := range s.DataAddrs {
		checkLogin(t, addr, s.User, s.Password)
	}
	if err := s.Client(t, old).Set(ctx, "before-failover", "yes", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// WAIT: the write reached the replica before it is promoted.
	if n, err := s.Client(t, old).Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 replica: %d, %v", n, err)
	}

	if err := s.SentinelClient(t, s.SentinelAddrs[0]).Failover(ctx, s.MasterName).Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER %s: %v", s.MasterName, err)
	}
	start := time.Now()
	if promoted, want := s.WaitPromoted(t, old, 30*time.Second), s.Replica(t, old); promoted != want {
		t.Fatalf("new master %s, want the replica %s", promoted, want)
	}
	promoted := s.WaitMaster(t, old, 30*time.Second)
	if want := s.Replica(t, old); promoted != want {
		t.Fatalf("new master %s, want the replica %s", promoted, want)
	}
	if v, err := s.Client(t, promoted).Get(ctx, "before-failover").Result(); err != nil || v != "yes" {
		t.Errorf("GET on the new master = %q, %v", v, err)
	}
	if got := s.Master(t); got != promoted {
		t.Errorf("Master = %s after WaitMaster said %s", got, promoted)
	}
	t.Logf("SENTINEL FAILOVER: %s -> %s in %s", old, promoted, time.Since(start).Round(10*time.Millisecond))
}

// TestPrivateCluster fails a primary over to its replica with CLUSTER
// FAILOVER, moves slots with keys in them with redis-cli --cluster reshard,
// then kills a primary and restarts it, on a cluster of its own.
func TestPrivateCluster(t *testing.T) {
	t.Parallel()
	c := PrivateCluster(t)
	if c.State == "" || c.User == "" {
		t.Fatalf("private cluster without state dir or user: %+v", c)
	}
	for _, addr := range c.Addrs {
		checkLogin(t, addr, c.User, c.Password)
	}
	nodes := checkShape(t, c, 3, 1)
	ctx := ctxT(t)

	cc := c.ClusterClient(t)
	const nkeys = 2000
	pipe := cc.Pipeline()
	for i := range nkeys {
		pipe.Set(ctx, fmt.Sprintf("k%d", i), i, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}

	var replica, primary ClusterNode
	for _, n := range nodes {
		if !n.Primary {
			replica = n
			break
		}
	}
	for _, n := range nodes {
		if n.Addr == replica.PrimaryAddr {
			primary = n
		}
	}
	if err := c.Client(t, replica.Addr).ClusterFailover(ctx).Err(); err != nil {
		t.Fatalf("CLUSTER FAILOVER on %s: %v", replica.Addr, err)
	}
	c.WaitOK(t, 30*time.Second)
	promoted, demoted := c.Node(t, replica.Addr), c.Node(t, primary.Addr)
	if !promoted.Primary || !slices.Equal(promoted.Slots, primary.Slots) {
		t.Errorf("after CLUSTER FAILOVER %s is %+v, want the primary of %v", replica.Addr, promoted, primary.Slots)
	}
	if demoted.Primary || demoted.PrimaryAddr != replica.Addr {
		t.Errorf("after CLUSTER FAILOVER %s is %+v, want a replica of %s", primary.Addr, demoted, replica.Addr)
	}
	if got := c.Primaries(t); !slices.Contains(got, replica.Addr) || slices.Contains(got, primary.Addr) {
		t.Errorf("primaries after the failover: %v", got)
	}

	// Move 100 slots from the promoted primary to another one.
	var target ClusterNode
	for _, n := range c.Nodes(t) {
		if n.Primary && n.Addr != promoted.Addr {
			target = n
			break
		}
	}
	dbsize := func(addr string) int64 {
		n, err := c.Client(t, addr).DBSize(ctx).Result()
		if err != nil {
			t.Fatalf("DBSIZE on %s: %v", addr, err)
		}
		return n
	}
	fromKeys, toKeys := dbsize(promoted.Addr), dbsize(target.Addr)
	c.RedisCLI(t, "--cluster", "reshard", promoted.Addr, "--cluster-from", promoted.ID,
		"--cluster-to", target.ID, "--cluster-slots", "100", "--cluster-yes")
	c.WaitOK(t, 30*time.Second)
	from, to := c.Node(t, promoted.Addr), c.Node(t, target.Addr)
	if from.SlotCount() != promoted.SlotCount()-100 || to.SlotCount() != target.SlotCount()+100 {
		t.Errorf("after resharding 100 slots: %s has %d (was %d), %s has %d (was %d)",
			from.Addr, from.SlotCount(), promoted.SlotCount(), to.Addr, to.SlotCount(), target.SlotCount())
	}
	moved := fromKeys - dbsize(promoted.Addr)
	if moved <= 0 || dbsize(target.Addr) != toKeys+moved {
		t.Errorf("%d keys left %s, %s went from %d to %d keys", moved, promoted.Addr, target.Addr, toKeys, dbsize(target.Addr))
	}
	for i := range nkeys {
		k := fmt.Sprintf("k%d", i)
		if v, err := cc.Get(ctx, k).Int(); err != nil || v != i {
			t.Fatalf("after the failover and reshard, GET %s = %d, %v", k, v, err)
		}
	}
	t.Logf("CLUSTER FAILOVER %s -> %s, then %d keys moved with 100 slots to %s", primary.Addr, replica.Addr, moved, target.Addr)

	// Crash the primary that received the slots: its replica takes over
	// with the keys, and the crashed node rejoins as the replica's replica.
	if n, err := c.Client(t, target.Addr).Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 replica on %s: %d, %v", target.Addr, n, err)
	}
	var heir string
	for _, n := range c.Nodes(t) {
		if n.PrimaryAddr == target.Addr {
			heir = n.Addr
		}
	}
	killed := time.Now()
	c.Kill(t, target.Addr)
	c.WaitOK(t, 30*time.Second)
	t.Logf("%s killed: %s took over after %s", target.Addr, heir, time.Since(killed).Round(10*time.Millisecond))
	if n := c.Node(t, heir); !n.Primary || !slices.Equal(n.Slots, to.Slots) {
		t.Errorf("after killing %s its replica %s is %+v, want the primary of %v", target.Addr, heir, n, to.Slots)
	}
	if n := c.Node(t, target.Addr); n.Up {
		t.Errorf("killed node %s is up: %+v", target.Addr, n)
	}
	c.Restart(t, target.Addr)
	c.WaitOK(t, 30*time.Second)
	if n := c.Node(t, target.Addr); !n.Up || n.Primary || n.PrimaryAddr != heir {
		t.Errorf("restarted %s is %+v, want a replica of %s", target.Addr, n, heir)
	}
	for i := range nkeys {
		k := fmt.Sprintf("k%d", i)
		if v, err := cc.Get(ctx, k).Int(); err != nil || v != i {
			t.Fatalf("after the kill, GET %s = %d, %v", k, v, err)
		}
	}
	checkShape(t, c, 3, 1)
}

// TestPrivateClusterNoAuth starts a cluster without ACL, 4 primaries and no replicas.
func TestPrivateClusterNoAuth(t *testing.T) {
	t.Parallel()
	c := PrivateClusterWith(t, ClusterOptions{Primaries: 4, NoReplicas: true, NoAuth: true})
	if c.User != "" || c.Password != "" || strings.Contains(c.URL, "@") {
		t.Errorf("a cluster without auth has credentials: %+v", c)
	}
	checkShape(t, c, 4, 0)
	ctx := ctxT(t)
	for _, addr := range c.Addrs {
		cl := nodeClient(addr, "", "")
		if err := cl.Ping(ctx).Err(); err != nil {
			t.Errorf("%s without credentials: %v", addr, err)
		}
		_ = cl.Close()
	}
	if out := c.RedisCLI(t, "--cluster", "check", c.Addrs[0]); !strings.Contains(out, "All 16384 slots covered") {
		t.Errorf("redis-cli --cluster check:\n%s", out)
	}
}
