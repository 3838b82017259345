package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/testenv"
)

// dumpAll reads a collection whole, checking that no page exceeds page.
func dumpAll(t *testing.T, b *Backend, key string, page int) (backends.CollectionHead, []backends.Item) {
	t.Helper()
	var head backends.CollectionHead
	var items []backends.Item
	err := b.DumpCollection(context.Background(), key, page, func(h backends.CollectionHead) error {
		head = h
		return nil
	}, func(p []backends.Item) error {
		if len(p) > 4*page { // SCAN's COUNT is a hint; LRANGE and XRANGE are exact
			t.Errorf("a page of %d items for page size %d", len(p), page)
		}
		items = append(items, p...)
		return nil
	})
	if err != nil {
		t.Fatalf("dump %s: %v", key, err)
	}
	return head, items
}

func restore(t *testing.T, b *Backend, key string, h backends.CollectionHead, items []backends.Item, chunk int, replace bool) bool {
	t.Helper()
	ctx := context.Background()
	r, err := b.RestoreCollection(ctx, key, h.Kind)
	if err != nil {
		t.Fatal(err)
	}
	for start := 0; start < len(items); start += chunk {
		if err := r.Append(ctx, items[start:min(start+chunk, len(items))]); err != nil {
			t.Fatalf("append to %s: %v", key, err)
		}
	}
	ttl := time.Duration(0)
	if h.TTL.Expires {
		ttl = h.TTL.Remaining
	}
	ok, err := r.Commit(ctx, ttl, h.Stream, replace)
	if err != nil {
		t.Fatalf("commit %s: %v", key, err)
	}
	return ok
}

func TestCollectionsRoundTrip(t *testing.T) {
	b, u := fresh(t)
	c := testenv.RedisClient(t, u)
	ctx := context.Background()
	// Hash and set big enough to be hashtables (SCAN pages), with binary
	// fields and members; a list of 2500; a zset with infinities and a
	// score that only round-trips with 17 digits; a stream with a deleted
	// entry and a deleted tail.
	hash := map[string]string{"\xff\x00": "bin", "f": ""}
	for i := range 700 {
		hash[fmt.Sprintf("field:%d", i)] = strings.Repeat("v", i%13)
	}
	c.HSet(ctx, "h", hash)
	for i := range 2500 {
		c.RPush(ctx, "l", fmt.Sprint(i))
	}
	c.RPush(ctx, "l", "\x80")
	for i := range 600 {
		c.SAdd(ctx, "s", fmt.Sprintf("m%d", i))
	}
	c.SAdd(ctx, "s", "\xfe")
	c.ZAdd(ctx, "z", goredis.Z{Score: math.Inf(-1), Member: "lo"}, goredis.Z{Score: 0.1, Member: "x"}, goredis.Z{Score: math.Inf(1), Member: "hi"}, goredis.Z{Score: 1.0 / 3, Member: "\x00third"})
	for i := 1; i <= 30; i++ {
		c.XAdd(ctx, &goredis.XAddArgs{Stream: "x", ID: fmt.Sprintf("%d-%d", i, i%3), Values: []any{"f", i, "\xff", "dup", "f", "again"}})
	}
	c.XDel(ctx, "x", "7-1", "30-0")
	for k, ttl := range map[string]time.Duration{"h": time.Hour, "l": 2 * time.Hour, "s": 3 * time.Hour, "z": 4 * time.Hour, "x": 5 * time.Hour} {
		c.Expire(ctx, k, ttl)
	}
	want := snapshot(t, c)

	type dumped struct {
		h     backends.CollectionHead
		items []backends.Item
	}
	got := map[string]dumped{}
	for _, k := range []string{"h", "l", "s", "z", "x"} {
		h, items := dumpAll(t, b, k, 7)
		got[k] = dumped{h, items}
		if !h.TTL.Expires || h.TTL.Remaining <= 0 {
			t.Errorf("%s: TTL %+v", k, h.TTL)
		}
	}
	if h := got["x"].h.Stream; h.LastID != "30-0" || h.MaxDeletedID != "30-0" || h.EntriesAdded != 30 {
		t.Errorf("stream meta %+v", h)
	}
	if n := len(got["l"].items); n != 2501 {
		t.Errorf("list: %d items", n)
	}
	c.FlushDB(ctx)
	for k, d := range got {
		if !restore(t, b, k, d.h, d.items, 11, false) {
			t.Errorf("%s was not restored", k)
		}
	}
	compare(t, snapshot(t, c), want)
	keys, _ := c.Keys(ctx, "*").Result()
	if len(keys) != 5 {
		t.Fatalf("keys after restore: %q (a temporary key left?)", keys)
	}

	// Without replace an existing key is kept and the temporary one dropped;
	// with it, the value is replaced at once.
	c.Set(ctx, "h", "other", 0)
	if restore(t, b, "h", got["h"].h, got["h"].items, 100, false) {
		t.Error("restore without replace overwrote a key")
	}
	if v, _ := c.Get(ctx, "h").Result(); v != "other" {
		t.Errorf("kept key is now %q", v)
	}
	if !restore(t, b, "h", got["h"].h, got["h"].items, 100, true) {
		t.Error("restore with replace kept the key")
	}
	if n, _ := c.HLen(ctx, "h").Result(); n != int64(len(hash)) {
		t.Errorf("replaced hash has %d fields", n)
	}
	if n, _ := c.DBSize(ctx).Result(); n != 5 {
		t.Errorf("%d keys: a temporary key was left", n)
	}
}

func compare(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if g := got[k]; g != w {
			t.Errorf("%s restored as\n%.300s\nwant\n%.300s", k, g, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d keys, want %d", len(got), len(want))
	}
}

// snapshot describes every key's value and TTL (to the minute) exactly.
func snapshot(t *testing.T, c *goredis.Client) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		ttl, _ := c.PTTL(ctx, k).Result()
		s := fmt.Sprintf("ttl %v ", ttl.Round(time.Minute))
		switch typ, _ := c.Type(ctx, k).Result(); typ {
		case "stream":
			r, _ := c.Do(ctx, "XRANGE", k, "-", "+").Result()
			info, err := c.XInfoStream(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			s += fmt.Sprintf("%q length=%d last=%s maxdel=%s added=%d", r, info.Length, info.LastGeneratedID, info.MaxDeletedEntryID, info.EntriesAdded)
		case "set":
			m, _ := c.SMembers(ctx, k).Result()
			sort.Strings(m)
			s += fmt.Sprintf("%q", m)
		case "hash":
			m, _ := c.HGetAll(ctx, k).Result()
			pairs := make([]string, 0, len(m))
			for f, v := range m {
				pairs = append(pairs, f+"\x00"+v)
			}
			sort.Strings(pairs)
			s += fmt.Sprintf("%q", pairs)
		default: // list, zset: same elements in the same order
			d, _ := c.Dump(ctx, k).Result()
			s += fmt.Sprintf("%x", d)
		}
		out[k] = s
	}
	return out
}

func TestEmptyStreamsAndKeysGoneMeanwhile(t *testing.T) {
	b, u := fresh(t)
	c := testenv.RedisClient(t, u)
	ctx := context.Background()
	c.XAdd(ctx, &goredis.XAddArgs{Stream: "e", ID: "5-3", Values: []any{"f", "v"}})
	c.XDel(ctx, "e", "5-3")
	c.Do(ctx, "XGROUP", "CREATE", "z", "g", "0", "MKSTREAM")
	c.Do(ctx, "XGROUP", "DESTROY", "z", "g")
	want := snapshot(t, c)
	var dumped []backends.CollectionHead
	for _, k := range []string{"e", "z"} {
		h, items := dumpAll(t, b, k, 10)
		if len(items) != 0 {
			t.Fatalf("%s: %d items", k, len(items))
		}
		dumped = append(dumped, h)
	}
	c.FlushDB(ctx)
	for i, k := range []string{"e", "z"} {
		restore(t, b, k, dumped[i], nil, 1, false)
	}
	compare(t, snapshot(t, c), want)
	err := b.DumpCollection(ctx, "missing", 10, func(backends.CollectionHead) error { return nil }, func([]backends.Item) error { return nil })
	if !errors.Is(err, backends.ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
	// A hash restore with nothing in it is refused, not a silent success.
	r, _ := b.RestoreCollection(ctx, "h", "hash")
	if _, err := r.Commit(ctx, 0, backends.StreamMeta{}, false); err == nil {
		t.Error("an empty hash was committed")
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	b, u := fresh(t)
	c := testenv.RedisClient(t, u)
	ctx := context.Background()
	r, _ := b.RestoreCollection(ctx, "l", "list")
	if err := r.Append(ctx, []backends.Item{{Value: []byte("a")}}); err != nil {
		t.Fatal(err)
	}
	// The half-written value lives under another name, expiring on its own.
	keys, _ := c.Keys(ctx, "*").Result()
	if len(keys) != 1 || keys[0] == "l" {
		t.Fatalf("keys while restoring: %q", keys)
	}
	if ttl, _ := c.TTL(ctx, keys[0]).Result(); ttl <= 0 || ttl > tempTTL {
		t.Errorf("temporary key TTL %v", ttl)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := r.Abort(cancelled); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.DBSize(ctx).Result(); n != 0 {
		t.Errorf("%d keys after abort", n)
	}
}

func TestRawDumpRoundTrip(t *testing.T) {
	b, u := fresh(t)
	c := testenv.RedisClient(t, u)
	ctx := context.Background()
	c.HSet(ctx, "h", "f", "v")
	c.Expire(ctx, "h", time.Hour)
	kind, ttl, payload, err := b.DumpRaw(ctx, "h")
	if err != nil || kind != "hash" || !ttl.Expires || len(payload) == 0 {
		t.Fatalf("%s %+v %d %v", kind, ttl, len(payload), err)
	}
	if _, _, _, err := b.DumpRaw(ctx, "missing"); !errors.Is(err, backends.ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	if ok, err := b.RestoreRaw(ctx, "h", payload, ttl.Remaining, false); ok || err != nil {
		t.Errorf("over an existing key without replace: %v %v", ok, err)
	}
	c.Del(ctx, "h")
	if ok, err := b.RestoreRaw(ctx, "h", payload, ttl.Remaining, false); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if v, _ := c.HGet(ctx, "h", "f").Result(); v != "v" {
		t.Errorf("restored %q", v)
	}
	if d, _ := c.TTL(ctx, "h").Result(); d < 59*time.Minute {
		t.Errorf("TTL %v", d)
	}
	if _, err := b.RestoreRaw(ctx, "bad", []byte("not a payload"), 0, true); err == nil {
		t.Error("a bad payload was accepted")
	}
}
