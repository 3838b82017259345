package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/testenv"
)

// collect profiles pattern on b, checking that fn is never called
// concurrently, and returns every profile by key.
func collect(t *testing.T, b backends.Backend, pattern string, o backends.ProfileOptions) (map[string]backends.KeyProfile, []string) {
	t.Helper()
	var mu sync.Mutex
	var notes []string
	o.Note = func(s string) { mu.Lock(); notes = append(notes, s); mu.Unlock() }
	got := map[string]backends.KeyProfile{}
	var inFn sync.Mutex
	err := backends.ProfileKeys(context.Background(), b, pattern, o, func(ps []backends.KeyProfile) error {
		if !inFn.TryLock() {
			t.Error("fn called concurrently")
			return nil
		}
		defer inFn.Unlock()
		for _, p := range ps {
			if _, dup := got[p.Key]; dup {
				t.Errorf("%q profiled twice", p.Key)
			}
			got[p.Key] = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, notes
}

func TestProfileKeysMatchesTheServer(t *testing.T) {
	dbURL := testenv.RedisURL(t)
	c := testenv.RedisClient(t, dbURL)
	ctx := context.Background()
	const n = 5000
	_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i := range n {
			ttl := time.Duration(0)
			if i%3 == 0 {
				ttl = time.Hour
			}
			p.Set(ctx, fmt.Sprintf("p:%d:%d", i%7, i), strings.Repeat("v", i%300), ttl)
		}
		p.HSet(ctx, "a-hash", "f", "v")
		p.Set(ctx, "other", "x", 0)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b := openURL(t, dbURL, backends.Options{ScanCount: 100})
	got, notes := collect(t, b, "p:*", backends.ProfileOptions{HeadBytes: 8, HeadFirst: 1000, HeadEvery: 10})
	if len(notes) != 0 {
		t.Errorf("notes %q", notes)
	}
	if len(got) != n {
		t.Fatalf("%d keys profiled, want %d", len(got), n)
	}
	heads := 0
	for k, p := range got {
		want, err := c.MemoryUsage(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if p.Bytes != want || !p.BytesFromServer {
			t.Fatalf("%s: %d bytes (from server %v), MEMORY USAGE says %d", k, p.Bytes, p.BytesFromServer, want)
		}
		var i int
		fmt.Sscanf(k[strings.LastIndex(k, ":")+1:], "%d", &i)
		if p.TTL.Expires != (i%3 == 0) || p.TTL.Expires && (p.TTL.Remaining <= 59*time.Minute || p.TTL.Remaining > time.Hour) {
			t.Fatalf("%s: TTL %+v", k, p.TTL)
		}
		if p.Head != nil || p.HeadComplete {
			heads++
			if want := strings.Repeat("v", min(i%300, 8)); string(p.Head) != want || p.HeadComplete != (i%300 <= 8) || p.Type != "string" {
				t.Fatalf("%s: head %q complete %v type %q", k, p.Head, p.HeadComplete, p.Type)
			}
		}
		if p.Server != "" {
			t.Fatalf("%s: a lone server named %q", k, p.Server)
		}
	}
	if want := 1000 + (n-1000+9)/10; heads != want {
		t.Errorf("%d heads read, want %d (the first 1000, then every 10th)", heads, want)
	}

	// Types when asked; a collection has no head and its MEMORY USAGE.
	got, _ = collect(t, b, "a-*", backends.ProfileOptions{Types: true, HeadBytes: 8, HeadFirst: math.MaxInt64})
	h := got["a-hash"]
	if want := c.MemoryUsage(ctx, "a-hash").Val(); h.Type != "hash" || h.Bytes != want || h.Head != nil {
		t.Errorf("a-hash: %+v, MEMORY USAGE %d", h, want)
	}
}

// TestProfileKeysWithoutMemoryPermission: sizes fall back to STRLEN,
// marked so, and one note names the grant.
func TestProfileKeysWithoutMemoryPermission(t *testing.T) {
	dbURL := testenv.RedisURL(t)
	c := testenv.RedisClient(t, dbURL)
	ctx := context.Background()
	for i := range 30 {
		c.Set(ctx, fmt.Sprintf("k%d", i), strings.Repeat("x", i), 0)
	}
	c.RPush(ctx, "list", "a", "b")
	u := testenv.RedisUserURL(t, dbURL, "~*", "+@read", "-memory")
	b := openURL(t, u, backends.Options{ScanCount: 10})
	got, notes := collect(t, b, "*", backends.ProfileOptions{})
	if len(got) != 31 {
		t.Fatalf("%d keys", len(got))
	}
	for i := range 30 {
		if p := got[fmt.Sprintf("k%d", i)]; p.Bytes != int64(i) || p.BytesFromServer {
			t.Errorf("k%d: %+v", i, p)
		}
	}
	if p := got["list"]; p.Bytes != -1 {
		t.Errorf("a list sized by STRLEN: %+v", p)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "MEMORY USAGE refused") || !strings.Contains(notes[0], "+memory|usage") || !strings.Contains(notes[0], "STRLEN") {
		t.Errorf("notes %q", notes)
	}
}

// TestProfileKeysOnTheCluster: every key once, named by the primary that
// owns its slot, each node's figures its own.
func TestProfileKeysOnTheCluster(t *testing.T) {
	env := testenv.Cluster(t)
	cc := env.ClusterClient(t)
	prefix := uniquePrefix(t)
	var keys []string
	for i := range 3000 {
		keys = append(keys, fmt.Sprintf("%s%d", prefix, i))
	}
	fill(t, cc, keys)
	t.Cleanup(func() { cc.Del(context.Background(), keys...) })
	nodes := env.Nodes(t)
	for _, rfr := range []bool{false, true} {
		b := openURL(t, env.URL, backends.Options{ReadFromReplicas: rfr})
		got, notes := collect(t, b, prefix+"*", backends.ProfileOptions{HeadBytes: 4, HeadFirst: math.MaxInt64})
		if len(got) != len(keys) || len(notes) != 0 {
			t.Fatalf("read from replicas %v: %d keys of %d; notes %q", rfr, len(got), len(keys), notes)
		}
		perNode := map[string]int{}
		for _, k := range keys {
			p, ok := got[k]
			if !ok {
				t.Fatalf("%s missing", k)
			}
			perNode[p.Server]++
			if !rfr && p.Server != ownerOf(nodes, k) {
				t.Fatalf("%s named %s, owned by %s", k, p.Server, ownerOf(nodes, k))
			}
			if string(p.Head) != "v" || !p.HeadComplete || p.Bytes <= 0 || !p.TTL.Expires {
				t.Fatalf("%s: %+v", k, p)
			}
		}
		if len(perNode) != 3 {
			t.Errorf("read from replicas %v: keys on %d nodes: %v", rfr, len(perNode), perNode)
		}
	}
}

// TestProfileKeysBehindSentinel: the master's keys, named by the master;
// with ReadFromReplicas the replica's copy, named by the replica.
func TestProfileKeysBehindSentinel(t *testing.T) {
	env := testenv.Sentinel(t)
	b := openURL(t, env.URL, backends.Options{SentinelPassword: env.SentinelPassword})
	ctx := context.Background()
	p := uniquePrefix(t)
	for i := range 20 {
		if err := b.Set(ctx, fmt.Sprintf("%s%d", p, i), []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for i := range 20 {
			b.Delete(context.Background(), fmt.Sprintf("%s%d", p, i))
		}
	})
	got, _ := collect(t, b, p+"*", backends.ProfileOptions{})
	if len(got) != 20 {
		t.Fatalf("%d keys", len(got))
	}
	for k, kp := range got {
		if kp.Server != env.DataAddrs[0] || kp.Bytes <= 0 {
			t.Fatalf("%s: %+v (master %s)", k, kp, env.DataAddrs[0])
		}
	}
	rb := openURL(t, env.URL, backends.Options{SentinelPassword: env.SentinelPassword, ReadFromReplicas: true})
	// The replica catches up asynchronously: wait for its copy.
	replica := testenv.RedisClient(t, "redis://"+env.User+":"+env.Password+"@"+env.DataAddrs[1])
	for deadline := time.Now().Add(5 * time.Second); ; {
		n, err := replica.Exists(ctx, fmt.Sprintf("%s%d", p, 19)).Result()
		if err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the replica never got the keys")
		}
		time.Sleep(20 * time.Millisecond) // polling replication; nothing to wait on
	}
	got, _ = collect(t, rb, p+"*", backends.ProfileOptions{})
	for k, kp := range got {
		if kp.Server != env.DataAddrs[1] {
			t.Fatalf("%s: %+v, want the replica %s", k, kp, env.DataAddrs[1])
		}
	}
	if len(got) != 20 {
		t.Fatalf("replica: %d keys", len(got))
	}
}

// TestProfileKeysStopsWhenCancelled: a cancellation (Ctrl-C) stops the
// listing and the pipelines in flight, and is what ProfileKeys returns.
func TestProfileKeysStopsWhenCancelled(t *testing.T) {
	dbURL := testenv.RedisURL(t)
	c := testenv.RedisClient(t, dbURL)
	ctx := context.Background()
	if _, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i := range 20000 {
			p.Set(ctx, fmt.Sprintf("k%d", i), "v", 0)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b := openURL(t, dbURL, backends.Options{ScanCount: 100})
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := 0
	err := backends.ProfileKeys(cctx, b, "*", backends.ProfileOptions{}, func(ps []backends.KeyProfile) error {
		if pages++; pages == 2 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || pages != 2 {
		t.Fatalf("err %v after %d pages", err, pages)
	}
}
