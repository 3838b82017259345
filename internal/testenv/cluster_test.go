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
