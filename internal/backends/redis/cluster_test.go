package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/testenv"
)

// openURL opens a cluster or Sentinel URL as the commands do.
func openURL(t *testing.T, raw string, opts backends.Options) backends.Backend {
	t.Helper()
	u, err := backends.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(context.Background(), u, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// uniquePrefix keeps tests sharing the one cluster out of each other's keys.
func uniquePrefix(t *testing.T) string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	return strings.ReplaceAll(t.Name(), "/", "-") + "-" + hex.EncodeToString(r[:]) + ":"
}

// ownerOf finds the primary serving key's slot as the test's own view of the
// cluster says (testenv reads CLUSTER NODES independently of the backend).
func ownerOf(nodes []testenv.ClusterNode, key string) string {
	slot := keySlot(key)
	for _, n := range nodes {
		for _, r := range n.Slots {
			if n.Primary && slot >= r[0] && slot <= r[1] {
				return n.Addr
			}
		}
	}
	return ""
}

func fill(t *testing.T, cc *goredis.ClusterClient, keys []string) {
	t.Helper()
	ctx := context.Background()
	for start := 0; start < len(keys); start += 2000 {
		_, err := cc.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, k := range keys[start:min(start+2000, len(keys))] {
				p.Set(ctx, k, "v", time.Hour)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestClusterCommands(t *testing.T) {
	env := testenv.Cluster(t)
	b := openURL(t, env.URL, backends.Options{})
	ctx := context.Background()
	p := uniquePrefix(t)
	nodes := env.Nodes(t)

	var keys []string
	servers := map[string]bool{}
	for i := range 40 {
		k := fmt.Sprintf("%sk%d", p, i)
		keys = append(keys, k)
		servers[ownerOf(nodes, k)] = true
		if err := b.Set(ctx, k, []byte("value-"+k), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if len(servers) < 3 {
		t.Fatalf("40 keys landed on %d primaries; the test needs keys on every one", len(servers))
	}
	for _, k := range keys[:10] {
		e, err := b.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if string(e.Value) != "value-"+k || !e.TTL.Expires {
			t.Fatalf("%s: %+v", k, e)
		}
		if want := ownerOf(nodes, k); e.Server != want {
			t.Errorf("%s: Server %q, want the owner of slot %d, %s", k, e.Server, keySlot(k), want)
		}
	}
	infos, err := b.Inspect(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	for i, ki := range infos {
		if ki.Missing || ki.Type != "string" || ki.Server != ownerOf(nodes, keys[i]) {
			t.Errorf("Inspect %s: %+v", keys[i], ki)
		}
	}
	if err := b.Expire(ctx, keys[0], 0); err != nil {
		t.Fatal(err)
	}
	if ttl, err := b.TTL(ctx, keys[0]); err != nil || ttl.Expires {
		t.Fatalf("after persist: %+v %v", ttl, err)
	}
	if _, err := b.TTL(ctx, p+"missing"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("TTL of a missing key: %v", err)
	}
	// Keys in many slots plus missing ones: the count is exact.
	n, err := b.Delete(ctx, append(slices.Clone(keys), p+"missing1", p+"missing2")...)
	if err != nil || n != int64(len(keys)) {
		t.Fatalf("Delete = %d, %v; want %d", n, err, len(keys))
	}
	if n, err := b.Delete(ctx, keys...); err != nil || n != 0 {
		t.Fatalf("second Delete = %d, %v; want 0", n, err)
	}
}

func TestClusterListsEveryPrimaryExactly(t *testing.T) {
	env := testenv.Cluster(t)
	b := openURL(t, env.URL, backends.Options{ScanCount: 100})
	ctx := context.Background()
	p := uniquePrefix(t)
	want := map[string]bool{}
	var keys []string
	for i := range 3000 {
		k := fmt.Sprintf("%s%d", p, i)
		keys = append(keys, k)
		want[k] = true
	}
	fill(t, env.ClusterClient(t), keys)
	t.Cleanup(func() { b.Delete(context.Background(), keys...) })
	nodes := env.Nodes(t)

	got := map[string]int{}
	pageNodes := map[string]bool{}
	sh := b.(backends.ShardedScanner)
	err := sh.ScanShards(ctx, p+"*", backends.ShardHandler{
		Page: func(node string, ks []string) error {
			pageNodes[node] = true
			for _, k := range ks {
				got[k]++
				if owner := ownerOf(nodes, k); owner != node {
					t.Errorf("%s listed by %s, but %s owns slot %d", k, node, owner, keySlot(k))
				}
			}
			return nil
		},
		Round: func(slots []int) error { t.Errorf("a stable cluster listed %d slots again", len(slots)); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(pageNodes) != 3 {
		t.Fatalf("listed %d keys from %d nodes, want %d from 3", len(got), len(pageNodes), len(want))
	}
	for k, c := range got {
		if !want[k] || c != 1 {
			t.Fatalf("%s listed %d times (wanted: %v)", k, c, want[k])
		}
	}

	// A pattern that pins one slot is listed on its owner alone.
	tag := p + "{user42}:"
	var tagged []string
	for i := range 50 {
		tagged = append(tagged, fmt.Sprintf("%s%d", tag, i))
	}
	fill(t, env.ClusterClient(t), tagged)
	t.Cleanup(func() { b.Delete(context.Background(), tagged...) })
	pageNodes = map[string]bool{}
	count := 0
	err = sh.ScanShards(ctx, tag+"*", backends.ShardHandler{Page: func(node string, ks []string) error {
		pageNodes[node] = true
		count += len(ks)
		return nil
	}})
	if err != nil || count != 50 || len(pageNodes) != 1 || !pageNodes[ownerOf(nodes, tagged[0])] {
		t.Fatalf("pinned listing: %d keys from %v, %v; want 50 from %s only", count, pageNodes, err, ownerOf(nodes, tagged[0]))
	}
}

func TestClusterRefusesWithoutCredentials(t *testing.T) {
	env := testenv.Cluster(t)
	bare := "redis+cluster://" + strings.Join(env.Addrs[:2], ",")
	b := openURL(t, bare, backends.Options{Timeout: 2 * time.Second})
	_, err := b.Get(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), "authentication") && !strings.Contains(err.Error(), "NOAUTH") && !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("no credentials: %v", err)
	}
	if strings.Contains(err.Error(), env.Password) {
		t.Fatal("the error shows the password")
	}
}

func TestClusterStatsAndTopology(t *testing.T) {
	env := testenv.Cluster(t)
	b := openURL(t, env.URL, backends.Options{})
	ctx := context.Background()
	top, err := b.(backends.TopologyReporter).Topology(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if all, up := top.Primaries(); all != 3 || up != 3 {
		t.Errorf("primaries %d/%d, want 3/3", up, all)
	}
	if all, up := top.Replicas(); all != 3 || up != 3 {
		t.Errorf("replicas %d/%d, want 3/3", up, all)
	}
	if top.SlotsCovered != backends.SlotCount || top.Failover {
		t.Errorf("slots %d, failover %v", top.SlotsCovered, top.Failover)
	}
	s, err := b.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Servers) != 6 {
		t.Fatalf("%d server rows, want 6", len(s.Servers))
	}
	slots, keys := 0, int64(0)
	for _, r := range s.Servers {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Address, r.Err)
		}
		switch r.Role {
		case "primary":
			for _, sr := range r.Slots {
				slots += sr[1] - sr[0] + 1
			}
			keys += r.Stats.Keys
		case "replica":
			if r.Link != "up" || r.Primary == "" {
				t.Errorf("replica %s: link %q primary %q", r.Address, r.Link, r.Primary)
			}
		default:
			t.Errorf("%s: role %q", r.Address, r.Role)
		}
	}
	if slots != backends.SlotCount || s.Keys != keys {
		t.Errorf("primaries serve %d slots and hold %d keys; totals say %d keys", slots, keys, s.Keys)
	}
}

// TestClusterListingThroughReshard moves slots while the keys are listed
// again and again: no listing may miss a key, and a caller that forgets
// what Round names counts every key exactly once.
func TestClusterListingThroughReshard(t *testing.T) {
	env := testenv.PrivateCluster(t)
	b := openURL(t, env.URL, backends.Options{ScanCount: 50})
	ctx := context.Background()
	var keys []string
	for i := range 20000 {
		keys = append(keys, fmt.Sprintf("r:%d", i))
	}
	fill(t, env.ClusterClient(t), keys)
	nodes := env.Nodes(t)
	var from, to testenv.ClusterNode
	for _, n := range nodes {
		if n.Primary && from.ID == "" {
			from = n
		} else if n.Primary && to.ID == "" {
			to = n
		}
	}
	reshardCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := env.RedisCLICommand(reshardCtx, "--cluster", "reshard", from.Addr, "--cluster-from", from.ID,
		"--cluster-to", to.ID, "--cluster-slots", "1500", "--cluster-yes", "--cluster-pipeline", "20")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	sh := b.(backends.ShardedScanner)
	listings, rounds := 0, 0
	for finished := false; !finished; listings++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("reshard: %v\n%s", err, out.String())
			}
			finished = true
		default:
		}
		var mu sync.Mutex
		perSlot := make([]int, backends.SlotCount)
		seen := map[string]bool{}
		err := sh.ScanShards(ctx, "r:*", backends.ShardHandler{
			Page: func(_ string, ks []string) error {
				mu.Lock()
				defer mu.Unlock()
				for _, k := range ks {
					perSlot[keySlot(k)]++
					seen[k] = true
				}
				return nil
			},
			Round: func(slots []int) error {
				rounds++
				for _, s := range slots {
					perSlot[s] = 0
				}
				return nil
			},
		})
		if err != nil {
			t.Fatalf("listing %d: %v", listings, err)
		}
		total := 0
		for _, c := range perSlot {
			total += c
		}
		if len(seen) != len(keys) || total != len(keys) {
			t.Fatalf("listing %d during the reshard saw %d distinct keys and counted %d; want %d", listings, len(seen), total, len(keys))
		}
	}
	t.Logf("%d exact listings during the reshard, %d rounds of moved slots", listings, rounds)
	if moved := env.Node(t, to.Addr).SlotCount() - to.SlotCount(); moved != 1500 {
		t.Fatalf("the reshard moved %d slots, want 1500", moved)
	}
}

// TestClusterDeletesAcrossFailover promotes a replica while keys are being
// deleted: every delete's count is exact, only what got no answer is left
// unconfirmed, and Recover reports the new primary.
func TestClusterDeletesAcrossFailover(t *testing.T) {
	env := testenv.PrivateCluster(t)
	b := openURL(t, env.URL, backends.Options{})
	ctx := context.Background()
	var keys []string
	for i := range 30000 {
		keys = append(keys, fmt.Sprintf("f:%d", i))
	}
	fill(t, env.ClusterClient(t), keys)
	var replica testenv.ClusterNode
	for _, n := range env.Nodes(t) {
		if !n.Primary {
			replica = n
			break
		}
	}
	pd := b.(backends.PartialDeleter)
	failed := make(chan error, 1)
	var deleted int64
	var unanswered []string
	for i := 0; i < len(keys); i += 500 {
		if i == 5000 {
			go func() { failed <- env.Client(t, replica.Addr).ClusterFailover(ctx).Err() }()
		}
		res, err := pd.DeleteKeys(ctx, keys[i:i+500])
		deleted += res.Deleted
		unanswered = append(unanswered, res.Unanswered...)
		if err != nil {
			var ce *backends.ConnError
			if !errors.As(err, &ce) {
				t.Fatalf("batch %d: %v", i, err)
			}
			if _, err := b.(backends.Recoverer).Recover(ctx, 30*time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := <-failed; err != nil {
		t.Fatal(err)
	}
	env.WaitOK(t, 30*time.Second)
	if _, err := b.(backends.Recoverer).Recover(ctx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if !env.Node(t, replica.Addr).Primary {
		t.Fatalf("%s was not promoted", replica.Addr)
	}
	// Whatever got no answer is sent again: only keys still there count.
	res, err := pd.DeleteKeys(ctx, unanswered)
	if err != nil {
		t.Fatal(err)
	}
	left := 0
	for _, n := range env.Primaries(t) {
		left += len(env.Client(t, n).Keys(ctx, "f:*").Val())
	}
	// Every key existed: each was either confirmed deleted or got no answer.
	if left != 0 || deleted+int64(len(unanswered)) != int64(len(keys)) {
		t.Fatalf("deleted %d + %d after the failover, %d unanswered, %d left; %d keys", deleted, res.Deleted, len(unanswered), left, len(keys))
	}
	t.Logf("deleted %d, unanswered %d (of which %d still there afterwards)", deleted, len(unanswered), res.Deleted)
}

func TestSentinelCommands(t *testing.T) {
	env := testenv.Sentinel(t)
	b := openURL(t, env.URL, backends.Options{SentinelPassword: env.SentinelPassword})
	ctx := context.Background()
	p := uniquePrefix(t)
	if err := b.Set(ctx, p+"a", []byte("1"), time.Minute); err != nil {
		t.Fatal(err)
	}
	e, err := b.Get(ctx, p+"a")
	if err != nil || string(e.Value) != "1" || e.Server != env.Master(t) {
		t.Fatalf("Get: %+v %v (master %s)", e, err, env.Master(t))
	}
	var listed []string
	if err := b.Scan(ctx, p+"*", func(ks []string) error { listed = append(listed, ks...); return nil }); err != nil || len(listed) != 1 {
		t.Fatalf("Scan: %v %v", listed, err)
	}
	if n, err := b.Delete(ctx, p+"a", p+"b"); err != nil || n != 1 {
		t.Fatalf("Delete = %d, %v", n, err)
	}
	top, err := b.(backends.TopologyReporter).Topology(ctx)
	if err != nil || len(top.Nodes) != 2 || top.Nodes[0].Address != env.Master(t) || top.Nodes[1].Link != "up" {
		t.Fatalf("Topology: %+v %v", top, err)
	}
	s, err := b.Stats(ctx)
	if err != nil || len(s.Servers) != 2 || s.Servers[0].Role != "primary" || s.Servers[1].Role != "replica" {
		t.Fatalf("Stats: %+v %v", s, err)
	}

	// The sentinels' password is not the data nodes'.
	wrong := openURL(t, env.URL, backends.Options{SentinelPassword: "not-it", Timeout: 2 * time.Second})
	_, err = wrong.Get(ctx, p+"a")
	if err == nil || !strings.Contains(err.Error(), "the sentinels refused the password") || strings.Contains(err.Error(), "not-it") {
		t.Fatalf("wrong sentinel password: %v", err)
	}
}

func TestSentinelRecoverAfterFailover(t *testing.T) {
	env := testenv.PrivateSentinel(t)
	b := openURL(t, env.URL, backends.Options{SentinelPassword: env.SentinelPassword})
	ctx := context.Background()
	if err := b.Set(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	old := env.Master(t)
	if err := env.SentinelClient(t, env.SentinelAddrs[0]).Failover(ctx, env.MasterName).Err(); err != nil {
		t.Fatal(err)
	}
	newMaster := env.WaitPromoted(t, old, 30*time.Second)
	changed, err := b.(backends.Recoverer).Recover(ctx, 30*time.Second)
	if err != nil || !changed {
		t.Fatalf("Recover = %v, %v; want a new master", changed, err)
	}
	e, err := b.Get(ctx, "k")
	if err != nil || e.Server != newMaster {
		t.Fatalf("after the failover: %+v %v (new master %s)", e, err, newMaster)
	}
	if err := b.Set(ctx, "k2", []byte("v"), 0); err != nil {
		t.Fatalf("write after the failover: %v", err)
	}
}

// TestClusterListsAHalfMigratedSlot: a reshard stopped halfway leaves a
// slot migrating, its keys split between the two nodes; each node shows
// that state only in its own CLUSTER NODES line. Every key is listed, once
// in the counts, and deleted (those on the importing node through ASK).
func TestClusterListsAHalfMigratedSlot(t *testing.T) {
	env := testenv.PrivateCluster(t)
	b := openURL(t, env.URL, backends.Options{Timeout: 500 * time.Millisecond})
	ctx := context.Background()
	var keys []string
	for i := range 100 {
		keys = append(keys, fmt.Sprintf("mig:{c}:%d", i))
	}
	fill(t, env.ClusterClient(t), keys)
	slot := keySlot(keys[0])
	nodes := env.Nodes(t)
	var src, dst testenv.ClusterNode
	for _, n := range nodes {
		switch {
		case !n.Primary:
		case ownerOf(nodes, keys[0]) == n.Addr:
			src = n
		case dst.ID == "":
			dst = n
		}
	}
	s, d := env.Client(t, src.Addr), env.Client(t, dst.Addr)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(d.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", src.ID).Err())
	must(s.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", dst.ID).Err())
	host, port, _ := strings.Cut(dst.Addr, ":")
	args := []any{"MIGRATE", host, port, "", 0, 5000, "AUTH2", env.User, env.Password, "KEYS"}
	for _, k := range keys[:50] {
		args = append(args, k)
	}
	must(s.Do(ctx, args...).Err())
	if n := d.ClusterCountKeysInSlot(ctx, slot).Val(); n != 50 {
		t.Fatalf("the importing node holds %d keys, want 50", n)
	}

	seen := map[string]bool{}
	count := 0
	err := b.(backends.ShardedScanner).ScanShards(ctx, "mig:*", backends.ShardHandler{
		Page: func(_ string, ks []string) error {
			for _, k := range ks {
				seen[k] = true
			}
			count += len(ks)
			return nil
		},
		Round: func(slots []int) error { count = 0; seen = map[string]bool{}; return nil },
	})
	if err != nil || len(seen) != 100 || count != 100 {
		t.Fatalf("listed %d distinct keys, counted %d, %v; want 100", len(seen), count, err)
	}
	n, err := b.Delete(ctx, keys...)
	if err != nil || n != 100 {
		t.Fatalf("Delete = %d, %v; want 100", n, err)
	}
	if left := s.ClusterCountKeysInSlot(ctx, slot).Val() + d.ClusterCountKeysInSlot(ctx, slot).Val(); left != 0 {
		t.Fatalf("%d keys left in slot %d", left, slot)
	}
}

// TestClusterHungSeedCostsAMoment: a seed that accepts but never answers
// (a hung host) is skipped after a moment, not after the whole timeout.
func TestClusterHungSeedCostsAMoment(t *testing.T) {
	env := testenv.Cluster(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveEach(t, ln, func(c net.Conn) { <-t.Context().Done() }) // held open, never answered
	u := strings.Replace(env.URL, "@", "@"+ln.Addr().String()+",", 1)
	b := openURL(t, u, backends.Options{Timeout: 5 * time.Second})
	start := time.Now()
	if _, err := b.(backends.TopologyReporter).Topology(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the slot map took %v with a hung first seed", took)
	}
}

// serveEach accepts connections on ln until the test ends, handling each
// with fn in its own goroutine and closing it afterwards.
func serveEach(t *testing.T, ln net.Listener, fn func(net.Conn)) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fn(c)
			}()
		}
	}()
}
