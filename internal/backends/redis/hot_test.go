package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/testenv"
	"github.com/cachectl/cachectl/internal/watchtest"
)

// reads sends GET key n times, pipelined.
func reads(t *testing.T, cl goredis.Cmdable, key string, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := cl.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for range n {
			p.Get(ctx, key)
		}
		return nil
	}); err != nil && !errors.Is(err, goredis.Nil) {
		t.Fatal(err)
	}
}

func counts(r *backends.HotReport) map[string]int64 {
	m := map[string]int64{}
	for _, k := range r.Keys {
		m[k.Key] = k.Count
	}
	return m
}

// TestHotMonitorCounts: under the default policy the sample is MONITOR's;
// every access of a matching key in the backend's database is counted
// exactly (a table far below its capacity), multi-key commands count each
// key, escaped and hostile key bytes come back whole, and keys of other
// patterns and other databases are left out.
func TestHotMonitorCounts(t *testing.T) {
	dbURL := testenv.RedisURL(t)
	b := open(t, dbURL, backends.Options{})
	cl := testenv.RedisClient(t, dbURL)
	other := testenv.RedisClient(t, testenv.RedisBaseURL(t)+fmt.Sprintf("/%d", (b.target.DB+1)%16))
	ctx := context.Background()
	p := fmt.Sprintf("hot:%d:", time.Now().UnixNano())
	hostile := p + "\x1b[31m\n\"\\\xff"
	s := watchtest.StartHot(t, b, backends.HotOptions{Patterns: []string{p + "*"}, Method: backends.HotMonitor, Top: 10})
	reads(t, cl, p+"a", 50)
	reads(t, cl, p+"b", 20)
	reads(t, cl, p+"c", 5)
	reads(t, cl, hostile, 3)
	reads(t, cl, "other:"+p, 30)
	reads(t, other, p+"a", 40)
	if err := cl.MGet(ctx, p+"c", p+"c").Err(); err != nil {
		t.Fatal(err)
	}
	if err := cl.Set(ctx, p+"b", strings.Repeat("v", 200<<10), time.Minute).Err(); err != nil {
		t.Fatal(err) // a line longer than the reader keeps: cut, its key still counted
	}
	reads(t, cl, p+"end", 1) // MONITOR keeps a server's order: all before it is in
	s.AwaitCount(t, "", p+"end", 1, 10*time.Second)
	r, err := s.Stop()
	if !errors.Is(err, context.Canceled) || r == nil {
		t.Fatalf("stopped sample: %v, %v", r, err)
	}
	want := map[string]int64{p + "a": 50, p + "b": 21, p + "c": 7, hostile: 3, p + "end": 1}
	got := counts(r)
	if len(got) != len(want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%q counted %d times, want %d", k, got[k], n)
		}
	}
	if r.Keys[0].Key != p+"a" || r.Keys[1].Key != p+"b" || r.Method != backends.HotMonitor || r.Approximate {
		t.Errorf("report %+v", r)
	}
	if r.Accesses != 82 || r.Commands < 82 || r.Keys[0].Node != b.serverName() {
		t.Errorf("commands %d, accesses %d, node %q", r.Commands, r.Accesses, r.Keys[0].Node)
	}
}

// TestHotMethodsAndRefusals: the method follows the policy (MONITOR by
// default, OBJECT FREQ under allkeys-lfu, where a key read 1000 times
// ranks first), and a user refused the command is told which grant it needs.
func TestHotMethodsAndRefusals(t *testing.T) {
	env := testenv.PrivateRedis(t)
	admin := env.Client(t, env.Addr)
	ctx := context.Background()
	b := open(t, env.URL, backends.Options{})
	var methods []string
	r, err := b.HotKeys(ctx, backends.HotOptions{Duration: 10 * time.Millisecond, Started: func(m string) { methods = append(methods, m) }})
	if err != nil || r.Method != backends.HotMonitor || len(methods) != 1 || methods[0] != backends.HotMonitor || r.Duration < 10*time.Millisecond {
		t.Fatalf("default policy: %+v %v (started %v)", r, err, methods)
	}
	admin.Set(ctx, "k:0", "v", 0)
	if _, err := b.HotKeys(ctx, backends.HotOptions{Method: backends.HotFreq}); err == nil || !strings.Contains(err.Error(), "LFU maxmemory-policy") {
		t.Fatalf("OBJECT FREQ without LFU: %v", err)
	}
	noMonitor := open(t, testenv.RedisUserURL(t, env.URL, "+@all", "-monitor", "~*"), backends.Options{})
	_, err = noMonitor.HotKeys(ctx, backends.HotOptions{Duration: time.Second})
	if pe := permission(t, "MONITOR refused", err); pe.Command != "monitor" || pe.Category != "@admin" || !strings.Contains(err.Error(), "+monitor") {
		t.Fatalf("MONITOR refused: %v", err)
	}

	if err := admin.ConfigSet(ctx, "maxmemory-policy", "allkeys-lfu").Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		admin.Set(ctx, fmt.Sprintf("k:%d", i), "v", 0)
	}
	admin.Set(ctx, "hot", "v", 0)
	admin.Set(ctx, "x:hot", "v", 0)
	reads(t, admin, "hot", 1000)
	reads(t, admin, "x:hot", 1000)
	reads(t, admin, "k:3", 3)
	r, err = b.HotKeys(ctx, backends.HotOptions{Patterns: []string{"hot", "k:*", "hot"}, Top: 5})
	if err != nil || r.Method != backends.HotFreq {
		t.Fatalf("LFU: %+v %v", r, err)
	}
	if len(r.Keys) != 5 || r.Keys[0].Key != "hot" || r.Keys[0].Freq <= r.Keys[1].Freq || r.Commands != 21 || r.Duration != 0 {
		t.Fatalf("LFU report: %+v", r)
	}
	noObject := open(t, testenv.RedisUserURL(t, env.URL, "+@all", "-object", "~*"), backends.Options{})
	_, err = noObject.HotKeys(ctx, backends.HotOptions{})
	if pe := permission(t, "OBJECT refused", err); pe.Command != "object|freq" {
		t.Fatalf("OBJECT refused: %v", err)
	}
	// Without CONFIG the policy is told by OBJECT FREQ's answer.
	var notes []string
	noConfig := open(t, testenv.RedisUserURL(t, env.URL, "+@all", "-config", "~*"), backends.Options{})
	r, err = noConfig.HotKeys(ctx, backends.HotOptions{Top: 1, Note: func(m string) { notes = append(notes, m) }})
	if err != nil || r.Method != backends.HotFreq || r.Keys[0].Key != "hot" && r.Keys[0].Key != "x:hot" || len(notes) != 1 || !strings.Contains(notes[0], "CONFIG GET") {
		t.Fatalf("no CONFIG: %+v %v %q", r, err, notes)
	}
}

// TestHotCluster: every primary is sampled; each key is counted on the
// node that holds it, and each node's totals are its own.
func TestHotCluster(t *testing.T) {
	env := testenv.Cluster(t)
	b := openURL(t, env.URL, backends.Options{})
	cc := env.ClusterClient(t)
	nodes := env.Nodes(t)
	p := fmt.Sprintf("hot:%d:", time.Now().UnixNano())
	byNode := map[string]string{}
	for i := 0; len(byNode) < len(env.Primaries(t)); i++ {
		k := fmt.Sprintf("%s%d", p, i)
		if o := ownerOf(nodes, k); byNode[o] == "" {
			byNode[o] = k
		}
	}
	s := watchtest.StartHot(t, b.(backends.HotKeyer), backends.HotOptions{Patterns: []string{p + "*"}, Method: backends.HotMonitor})
	want := map[string]int64{}
	n := 10
	for _, k := range byNode {
		reads(t, cc, k, n)
		want[k] = int64(n)
		n += 10
	}
	for node, k := range byNode {
		s.AwaitCount(t, node, k, want[k], 10*time.Second)
	}
	r, err := s.Stop()
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if len(r.Keys) != len(byNode) || len(r.Nodes) != len(byNode) {
		t.Fatalf("keys %+v nodes %+v", r.Keys, r.Nodes)
	}
	for i, k := range r.Keys {
		if byNode[k.Node] != k.Key || k.Count != want[k.Key] {
			t.Errorf("%q counted %d on %s, want %d on %s", k.Key, k.Count, k.Node, want[k.Key], ownerOf(nodes, k.Key))
		}
		if i > 0 && k.Count > r.Keys[i-1].Count {
			t.Errorf("not ranked: %+v", r.Keys)
		}
	}
	for _, nd := range r.Nodes {
		if nd.Accesses != want[byNode[nd.Node]] {
			t.Errorf("node %s: %d accesses, want %d", nd.Node, nd.Accesses, want[byNode[nd.Node]])
		}
	}
}
