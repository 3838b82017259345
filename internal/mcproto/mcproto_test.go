package mcproto

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/testenv"
)

func dial(t *testing.T, addr string) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// prefix returns a key prefix no other test (or run) uses: the servers are shared.
func prefix(t *testing.T) string {
	return fmt.Sprintf("mcproto-%s-%d:", strings.ReplaceAll(t.Name(), "/", "-"), rand.Uint64())
}

func TestProbe(t *testing.T) {
	ctx := context.Background()
	meta, err := dial(t, testenv.MemcachedAddr(t)).Probe(ctx)
	if err != nil || !meta {
		t.Fatalf("memcached 1.6: meta=%v err=%v, want meta", meta, err)
	}
	c := dial(t, testenv.TwemproxyAddr(t))
	meta, err = c.Probe(ctx)
	if err != nil || meta {
		t.Fatalf("twemproxy: meta=%v err=%v, want no meta and no error", meta, err)
	}
	if !c.Broken() {
		t.Fatal("twemproxy closed the connection; the Conn must say it is broken")
	}
}

func TestSetGetDelete(t *testing.T) {
	ctx := context.Background()
	c := dial(t, testenv.MemcachedAddr(t))
	p := prefix(t)
	keys := []string{p + "plain", p + "with space", p + "ctl\x01\x1b[31m", p + "utf8-é", p + "nl\r\nx"}
	for i, k := range keys {
		if err := c.Set(ctx, k, []byte(fmt.Sprintf("v%d\r\nEND\r\n", i)), uint32(i+16), time.Duration(i*100)*time.Second); err != nil {
			t.Fatalf("set %q: %v", k, err)
		}
	}
	items, err := c.GetMany(ctx, append([]string{p + "missing"}, keys...), true)
	if err != nil {
		t.Fatal(err)
	}
	if items[0].Found {
		t.Fatalf("missing key found: %+v", items[0])
	}
	for i, it := range items[1:] {
		want := fmt.Sprintf("v%d\r\nEND\r\n", i)
		if !it.Found || string(it.Value) != want || it.Flags != uint32(i+16) || it.Size != int64(len(want)) || it.Key != keys[i] {
			t.Fatalf("item %d = %+v, want value %q flags %d", i, it, want, i+16)
		}
		switch {
		case i == 0 && it.TTL != -1:
			t.Fatalf("no-expiry key has TTL %d", it.TTL)
		case i > 0 && (it.TTL <= 0 || it.TTL > int64(i*100)):
			t.Fatalf("key %d TTL %d, want in (0, %d]", i, it.TTL, i*100)
		}
	}
	n, err := c.DeleteMany(ctx, append(keys[:3:3], p+"missing", p+"missing2"))
	if err != nil || n != 3 {
		t.Fatalf("DeleteMany = %d, %v; want 3", n, err)
	}
	items, err = c.GetMany(ctx, keys, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range items {
		if it.Found != (i >= 3) {
			t.Fatalf("after delete, key %q found=%v", keys[i], it.Found)
		}
	}
}

func TestTouch(t *testing.T) {
	ctx := context.Background()
	c := dial(t, testenv.MemcachedAddr(t))
	k := prefix(t) + "k"
	if ok, err := c.Touch(ctx, k, time.Minute); err != nil || ok {
		t.Fatalf("touch of a missing key = %v, %v", ok, err)
	}
	if err := c.Set(ctx, k, []byte("x"), 0, 0); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.Touch(ctx, k, 600*time.Second); err != nil || !ok {
		t.Fatalf("touch = %v, %v", ok, err)
	}
	it, _ := c.GetMany(ctx, []string{k}, false)
	if it[0].TTL <= 590 || it[0].TTL > 600 {
		t.Fatalf("TTL after touch 600s = %d", it[0].TTL)
	}
	// Beyond 30 days memcached reads exptime as a Unix time: still relative to us.
	if ok, err := c.Touch(ctx, k, 40*24*time.Hour); err != nil || !ok {
		t.Fatalf("touch 40d = %v, %v", ok, err)
	}
	it, _ = c.GetMany(ctx, []string{k}, false)
	if want := int64(40 * 24 * 3600); it[0].TTL < want-10 || it[0].TTL > want+2 { // the server clock ticks in whole seconds
		t.Fatalf("TTL after touch 40d = %d, want about %d", it[0].TTL, want)
	}
	// Lifetimes past 2038 end then: the item must not vanish at once (the
	// server answers HD to an exptime it then treats as past).
	for _, long := range []time.Duration{200_000 * time.Hour, 1e9 * time.Second} {
		if ok, err := c.Touch(ctx, k, long); err != nil || !ok {
			t.Fatalf("touch %v = %v, %v", long, ok, err)
		}
		it, _ = c.GetMany(ctx, []string{k}, false)
		if !it[0].Found || it[0].TTL < 365*24*3600 {
			t.Fatalf("after touch %v: %+v, want the key with a TTL of years", long, it[0])
		}
		if err := c.Set(ctx, k, []byte("x"), 0, long); err != nil {
			t.Fatal(err)
		}
		it, _ = c.GetMany(ctx, []string{k}, false)
		if !it[0].Found || it[0].TTL < 365*24*3600 {
			t.Fatalf("after set with ttl %v: %+v, want the key with a TTL of years", long, it[0])
		}
	}
	if ok, err := c.Touch(ctx, k, 0); err != nil || !ok {
		t.Fatalf("touch 0 = %v, %v", ok, err)
	}
	it, _ = c.GetMany(ctx, []string{k}, false)
	if it[0].TTL != -1 {
		t.Fatalf("TTL after touch 0 = %d, want -1 (never expires)", it[0].TTL)
	}
}

func TestKeyLimits(t *testing.T) {
	ctx := context.Background()
	c := dial(t, testenv.MemcachedAddr(t))
	var ke *KeyError
	for _, k := range []string{"", strings.Repeat("k", 251), strings.Repeat(" ", 187)} {
		if err := c.Set(ctx, k, []byte("x"), 0, 0); !errors.As(err, &ke) {
			t.Fatalf("set of a %d-byte key: %v, want a KeyError", len(k), err)
		}
	}
	if c.Broken() {
		t.Fatal("a refused key must not break the connection")
	}
	long := prefix(t) + strings.Repeat("k", 250)
	long = long[:250]
	if err := c.Set(ctx, long, []byte("x"), 0, 0); err != nil {
		t.Fatalf("a 250-byte key: %v", err)
	}
	bin := prefix(t)[:20] + strings.Repeat("\x00", 166)
	if err := c.Set(ctx, bin, []byte("x"), 0, 0); err != nil {
		t.Fatalf("a 186-byte binary key: %v", err)
	}
	it, err := c.GetMany(ctx, []string{long, bin}, true)
	if err != nil || !it[0].Found || !it[1].Found {
		t.Fatalf("long keys: %+v, %v", it, err)
	}
}

func TestTooLarge(t *testing.T) {
	ctx := context.Background()
	c := dial(t, testenv.MemcachedAddr(t))
	k := prefix(t) + "big"
	err := c.Set(ctx, k, make([]byte, 2<<20), 0, 0)
	var se *ServerError
	if !errors.As(err, &se) || !strings.Contains(se.Line, "too large") {
		t.Fatalf("2 MiB value: %v, want SERVER_ERROR object too large", err)
	}
	if err := c.NoOp(ctx); err != nil {
		t.Fatalf("the connection must stay usable after a too-large value: %v", err)
	}
}

func TestMetaDump(t *testing.T) {
	ctx := context.Background()
	addr := testenv.MemcachedAddr(t)
	c := dial(t, addr)
	p := prefix(t)
	want := map[string]bool{}
	for i := range 300 {
		k := fmt.Sprintf("%s%d", p, i)
		if i%3 == 0 {
			k += " sp%ace\x00\xff"
		}
		want[k] = true
		ttl := time.Duration(0)
		if i%2 == 0 {
			ttl = time.Hour
		}
		if err := c.Set(ctx, k, []byte("v"), 0, ttl); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{}
	now := time.Now().Unix()
	err := dial(t, addr).MetaDump(ctx, func(e DumpEntry) error {
		if !strings.HasPrefix(e.Key, p) {
			return nil
		}
		if got[e.Key] {
			t.Errorf("key %q listed twice", e.Key)
		}
		got[e.Key] = true
		if e.Exp != 0 && (e.Exp < now+3500 || e.Exp > now+3700) {
			t.Errorf("key %q exp %d, want about now+3600", e.Key, e.Exp)
		}
		if e.Size <= 0 || e.Class <= 0 || e.LastAccess <= 0 {
			t.Errorf("key %q: %+v", e.Key, e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("listed %d of %d keys", len(got), len(want))
	}
	for k := range want {
		if !got[k] {
			t.Fatalf("key %q not listed", k)
		}
	}
	// Stopping early returns the callback's error.
	stop := errors.New("stop")
	c2 := dial(t, addr)
	if err := c2.MetaDump(ctx, func(DumpEntry) error { return stop }); err != stop {
		t.Fatalf("MetaDump = %v, want the callback's error", err)
	}
	if !c2.Broken() {
		t.Fatal("an abandoned dump leaves the connection unusable; it must say so")
	}
}

func TestDumpRefused(t *testing.T) {
	ctx := context.Background()
	none := func(DumpEntry) error { return nil }
	c := dial(t, testenv.MemcachedNoCrawlerAddr(t))
	if err := c.MetaDump(ctx, none); !errors.Is(err, ErrNoCrawler) {
		t.Fatalf("crawler disabled: %v, want ErrNoCrawler", err)
	}
	// cachedump skips keys stored in binary form (spaces, control bytes); the
	// test server runs without the LRU maintainer, so every other key shows.
	p := prefix(t)
	for i := range 50 {
		if err := c.Set(ctx, fmt.Sprintf("%s%d", p, i), []byte("vv"), 0, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Set(ctx, p+"binary key", []byte("vv"), 0, 0); err != nil {
		t.Fatal(err)
	}
	found := map[string]DumpEntry{}
	if err := c.CacheDump(ctx, func(e DumpEntry) error {
		if strings.HasPrefix(e.Key, p) {
			found[e.Key] = e
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(found) != 50 {
		t.Fatalf("cachedump listed %d of our 50 plain keys", len(found))
	}
	for _, e := range found {
		if e.Size != 2 || e.Exp < time.Now().Unix()+3500 || e.Class <= 0 {
			t.Fatalf("cachedump entry %+v", e)
		}
	}

	c = dial(t, testenv.MemcachedNoDumpAddr(t))
	if err := c.MetaDump(ctx, none); !errors.Is(err, ErrDumpDisabled) {
		t.Fatalf("-X: %v, want ErrDumpDisabled", err)
	}
	if err := c.CacheDump(ctx, none); !errors.Is(err, ErrDumpDisabled) {
		t.Fatalf("-X cachedump: %v, want ErrDumpDisabled", err)
	}
}

func TestStats(t *testing.T) {
	st, err := dial(t, testenv.MemcachedAddr(t)).Stats(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, kv := range st {
		m[kv[0]] = kv[1]
	}
	if !strings.HasPrefix(m["version"], "1.") || m["curr_items"] == "" || m["uptime"] == "" {
		t.Fatalf("stats: %v", m)
	}
}

// TestSlowServer: a server that accepts but never answers fails within the
// timeout, and a cancelled context stops a blocked read at once.
func TestSlowServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c, err := Dial(context.Background(), ln.Addr().String(), 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, err = c.Version(context.Background())
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("silent server: %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("timeout took %v", d)
	}
	c2, _ := Dial(context.Background(), ln.Addr().String(), time.Hour)
	defer c2.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	if _, err := c2.Version(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("cancel took %v", d)
	}
}
