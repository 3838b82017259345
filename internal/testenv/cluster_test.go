package testenv

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseExports(t *testing.T) {
	got, err := parseExports("export A=redis+cluster://app:app-secret@127.0.0.1:1,127.0.0.1:2\n" +
		"export B='redis+sentinel://h:1/m?sentinel_password_env=X'\n" +
		"export C=/tmp/a\\ b/run.x\n" +
		"export D=\n")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"A": "redis+cluster://app:app-secret@127.0.0.1:1,127.0.0.1:2",
		"B": "redis+sentinel://h:1/m?sentinel_password_env=X",
		"C": "/tmp/a b/run.x",
		"D": "",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for _, bad := range []string{"A=1", "export A=$'\\n'", "export A='x", "export A=a b", "export =1"} {
		if _, err := parseExports(bad); err == nil {
			t.Errorf("parseExports(%q) accepted it", bad)
		}
	}
}

func TestParseClusterNodes(t *testing.T) {
	lines, err := parseClusterNodes("" +
		"07c3 127.0.0.1:30004@31004,host replica,slave e7d1 0 1426238317239 4 connected\n" +
		"e7d1 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 6000 [5461->-67ed]\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0].addr != "127.0.0.1:30004" || lines[0].primaryID != "e7d1" || lines[0].has("master") {
		t.Errorf("replica line parsed as %+v", lines[0])
	}
	p := lines[1]
	if !p.has("master") || !p.migrating || !slices.Equal(p.slots, [][2]int{{0, 5460}, {6000, 6000}}) {
		t.Errorf("primary line parsed as %+v", p)
	}
	if _, err := parseClusterNodes("e7d1 127.0.0.1:1@2 master - 0 0 1 connected 9-3\n"); err == nil {
		t.Error("a backwards slot range was accepted")
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// checkLogin checks that addr answers user/password and refuses a client
// without credentials, with a wrong password and as the default user.
func checkLogin(t *testing.T, addr, user, password string) {
	t.Helper()
	ctx := ctxT(t)
	for _, c := range []struct{ what, user, password, refusal string }{
		{"the right credentials", user, password, ""},
		{"no credentials", "", "", "NOAUTH"},
		{"a wrong password", user, "not-" + password, "WRONGPASS"},
		{"the default user", "", password, "WRONGPASS"},
	} {
		cl := nodeClient(addr, c.user, c.password)
		err := cl.Ping(ctx).Err()
		_ = cl.Close()
		switch {
		case c.refusal == "" && err != nil:
			t.Errorf("%s with %s: %v", addr, c.what, err)
		case c.refusal != "" && (err == nil || !strings.Contains(err.Error(), c.refusal)):
			t.Errorf("%s with %s: %v, want a %s refusal", addr, c.what, err, c.refusal)
		}
	}
}

func TestSharedClusterNeedsCredentials(t *testing.T) {
	t.Parallel()
	c := Cluster(t)
	if len(c.Addrs) != 6 {
		t.Fatalf("shared cluster has %d nodes (%v), want 6", len(c.Addrs), c.Addrs)
	}
	if !strings.HasPrefix(c.URL, "redis+cluster://"+c.User+":"+c.Password+"@") {
		t.Errorf("cluster URL %q does not carry the credentials", c.URL)
	}
	for _, addr := range c.Addrs {
		checkLogin(t, addr, c.User, c.Password)
	}
}

// checkShape checks a settled cluster: primaries primaries owning all slots,
// each with replicas replicas.
func checkShape(t *testing.T, c ClusterEnv, primaries, replicas int) []ClusterNode {
	t.Helper()
	nodes := c.Nodes(t)
	if len(nodes) != primaries*(1+replicas) {
		t.Fatalf("%d nodes, want %d: %+v", len(nodes), primaries*(1+replicas), nodes)
	}
	slots, reps := 0, map[string]int{}
	for _, n := range nodes {
		if !n.Up {
			t.Errorf("node %s is not up", n.Addr)
		}
		if n.Primary {
			slots += n.SlotCount()
		} else {
			reps[n.PrimaryAddr]++
		}
	}
	if slots != TotalSlots {
		t.Errorf("primaries own %d slots, want %d", slots, TotalSlots)
	}
	got := c.Primaries(t)
	if len(got) != primaries {
		t.Fatalf("primaries %v, want %d", got, primaries)
	}
	for _, p := range got {
		if reps[p] != replicas {
			t.Errorf("primary %s has %d replicas, want %d", p, reps[p], replicas)
		}
	}
	return nodes
}

func TestSharedClusterShape(t *testing.T) {
	t.Parallel()
	c := Cluster(t)
	c.WaitOK(t, 10*time.Second)
	checkShape(t, c, 3, 1)

	// Keys in every slot range round-trip through a cluster client.
	ctx := ctxT(t)
	cc := c.ClusterClient(t)
	prefix := fmt.Sprintf("testenv:shape:%d:", time.Now().UnixNano())
	var keys []string
	for i := range 64 {
		keys = append(keys, fmt.Sprintf("%s%d", prefix, i))
	}
	t.Cleanup(func() {
		for _, k := range keys {
			_ = cc.Del(context.Background(), k).Err()
		}
	})
	for _, k := range keys {
		if err := cc.Set(ctx, k, k, time.Minute).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
	}
	for _, k := range keys {
		if v, err := cc.Get(ctx, k).Result(); err != nil || v != k {
			t.Fatalf("GET %s = %q, %v", k, v, err)
		}
	}
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
