package memcached

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/mchash"
	"github.com/cachectl/cachectl/internal/mcproto"
	"github.com/cachectl/cachectl/internal/testenv"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url, want, hash, err string
	}{
		{url: "memcached://127.0.0.1", want: "127.0.0.1:11211"},
		{url: "memcached://cache:11212/", want: "cache:11212"},
		{url: "memcached://a:1,b", want: "a:1 b:11211"},
		{url: "memcached://[::1]:3", want: "[::1]:3"},
		{url: "memcached://[::1]", want: "[::1]:11211"},
		{url: "memcached://a,b?hash=pylibmc", want: "a:11211 b:11211", hash: "pylibmc"},
		{url: "memcached://u:p@a", err: "no user or password"},
		{url: "memcached://a/0", err: "no path"},
		{url: "memcached://a,a:11211", err: "listed twice"},
		{url: "memcached://a,,b", err: "empty server"},
		{url: "memcached://a:0", err: "bad port"},
		{url: "memcached://a?hash=md5", err: "unknown hash"},
		{url: "memcached://a?db=1", err: "unknown parameter"},
	}
	for _, tt := range tests {
		u, err := backends.ParseURL(tt.url)
		if err != nil {
			if tt.err == "" {
				t.Fatalf("%s: %v", tt.url, err)
			}
			continue
		}
		got, err := parseURL(u)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("%s: error %v, want one saying %q", tt.url, err, tt.err)
			}
			var ue *backends.URLError
			if !errors.As(err, &ue) {
				t.Fatalf("%s: %T, want a URLError (usage exit code)", tt.url, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		if s := strings.Join(got.Addrs, " "); s != tt.want {
			t.Fatalf("%s: servers %q, want %q", tt.url, s, tt.want)
		}
		if want := cmp.Or(tt.hash, mchash.Default); got.Hash != want {
			t.Fatalf("%s: hash %q, want %q", tt.url, got.Hash, want)
		}
	}
}

func TestFormatHint(t *testing.T) {
	for flags, want := range map[uint32]string{0: "", 1: "pickle", 2: "int", 4: "int", 16: "string", 8: "zlib", 9: "zlib+pickle", 24: "zlib+string", 3: "", 32: "", 1 << 31: ""} {
		if got := FormatHint(flags); got != want {
			t.Fatalf("FormatHint(%d) = %q, want %q", flags, got, want)
		}
	}
}

func open(t *testing.T, raw string, opts backends.Options) *Backend {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(context.Background(), u, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b.(*Backend)
}

func prefix(t *testing.T) string {
	return fmt.Sprintf("mc-%s-%d:", strings.ReplaceAll(t.Name(), "/", "-"), rand.Uint64())
}

// raw reads key straight from one server, bypassing the backend.
func raw(t *testing.T, addr, key string) mcproto.Item {
	t.Helper()
	c, err := mcproto.Dial(context.Background(), addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	its, err := c.GetMany(context.Background(), []string{key}, true)
	if err != nil {
		t.Fatal(err)
	}
	return its[0]
}

func TestSingleServer(t *testing.T) {
	ctx := context.Background()
	addr := testenv.MemcachedAddr(t)
	b := open(t, "memcached://"+addr, backends.Options{})
	p := prefix(t)
	k := p + "user:1"
	if err := b.Set(ctx, k, []byte(`{"a":1}`), 600*time.Second); err != nil {
		t.Fatal(err)
	}
	e, err := b.Get(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Value) != `{"a":1}` || e.Size != 7 || e.Server != addr || !e.TTL.Expires || e.TTL.Remaining <= 0 || e.TTL.Remaining > 600*time.Second {
		t.Fatalf("entry %+v", e)
	}
	ttl, err := b.TTL(ctx, k)
	if err != nil || !ttl.Expires || ttl.Remaining > 600*time.Second || ttl.Remaining < 590*time.Second {
		t.Fatalf("TTL = %+v, %v", ttl, err)
	}
	if err := b.Expire(ctx, k, 0); err != nil {
		t.Fatal(err)
	}
	if ttl, _ := b.TTL(ctx, k); ttl.Expires {
		t.Fatalf("after expire 0, TTL %+v", ttl)
	}
	if err := b.Expire(ctx, p+"missing", time.Minute); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("expire of a missing key: %v", err)
	}
	if _, err := b.TTL(ctx, p+"missing"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("ttl of a missing key: %v", err)
	}
	if _, err := b.Get(ctx, p+"missing"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("get of a missing key: %v", err)
	}
	n, err := b.Delete(ctx, k, p+"missing")
	if err != nil || n != 1 {
		t.Fatalf("Delete = %d, %v", n, err)
	}
	var ke *backends.KeyError
	if err := b.Set(ctx, strings.Repeat("x", 251), []byte("v"), 0); !errors.As(err, &ke) {
		t.Fatalf("a 251-byte key: %v, want a KeyError", err)
	}
}

func TestScanAndInspect(t *testing.T) {
	ctx := context.Background()
	b := open(t, "memcached://"+testenv.MemcachedAddr(t), backends.Options{})
	p := prefix(t)
	want := map[string]bool{}
	for i := range 2500 {
		k := fmt.Sprintf("%sitem:%d", p, i)
		if i%10 == 0 {
			k = fmt.Sprintf("%sodd key\x1b[2J %d", p, i)
		}
		if i%2 == 0 {
			want[k] = true
		}
		if err := b.Set(ctx, k, []byte(strings.Repeat("v", i%100)), time.Duration(i%3)*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{}
	batches := 0
	// Even numbers only: keys ending in 0, 2, 4, 6 or 8.
	err := b.Scan(ctx, p+"*[02468]", func(keys []string) error {
		batches++
		if len(keys) > scanBatch {
			t.Errorf("a batch of %d keys", len(keys))
		}
		infos, err := b.Inspect(ctx, keys)
		if err != nil {
			return err
		}
		for i, ki := range infos {
			k := keys[i]
			if got[k] {
				t.Errorf("%q listed twice", k)
			}
			got[k] = true
			if ki.Missing || ki.Key != k || ki.Type != "string" || ki.Size != int64(len(ki.Prefix)) && !ki.Partial {
				t.Errorf("inspect %q: %+v", k, ki)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("scan listed %d keys, want %d", len(got), len(want))
	}
	for k := range want {
		if !got[k] {
			t.Fatalf("%q not listed", k)
		}
	}
	if batches < 2 {
		t.Fatalf("%d keys came in %d batch(es); want streaming in batches", len(got), batches)
	}
	stop := errors.New("stop")
	if err := b.Scan(ctx, p+"*", func([]string) error { return stop }); err != stop {
		t.Fatalf("Scan = %v, want the callback's error", err)
	}
}

func TestPool(t *testing.T) {
	ctx := context.Background()
	a1, a2 := testenv.MemcachedAddr(t), testenv.Memcached2Addr(t)
	b := open(t, "memcached://"+a1+","+a2, backends.Options{})
	pick, _ := mchash.New(mchash.PyMemcache, []string{a1, a2})
	p := prefix(t)
	var keys []string
	on := map[int]int{}
	for i := range 40 {
		k := fmt.Sprintf("%s%d", p, i)
		keys = append(keys, k)
		if err := b.Set(ctx, k, []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
		want := pick(k)
		on[want]++
		for si, addr := range []string{a1, a2} {
			if got := raw(t, addr, k).Found; got != (si == want) {
				t.Fatalf("%q on %s: %v; pymemcache puts it on server %d", k, addr, got, want)
			}
		}
		e, err := b.Get(ctx, k)
		if err != nil || e.Server != []string{a1, a2}[want] {
			t.Fatalf("get %q: %+v, %v", k, e, err)
		}
	}
	if on[0] == 0 || on[1] == 0 {
		t.Fatalf("40 keys all hashed to one server: %v", on)
	}

	// A key the app put on the "wrong" server (another hashing) is found and
	// updated where it is.
	odd := p + "elsewhere"
	other := 1 - pick(odd)
	c, _ := mcproto.Dial(ctx, []string{a1, a2}[other], time.Second)
	defer c.Close()
	if err := c.Set(ctx, odd, []byte("old"), 5, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Set(ctx, odd, []byte("new"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if it := raw(t, []string{a1, a2}[other], odd); string(it.Value) != "new" {
		t.Fatalf("update went elsewhere: %+v", it)
	}
	if it := raw(t, []string{a1, a2}[1-other], odd); it.Found {
		t.Fatal("update made a second copy")
	}
	if err := b.Expire(ctx, odd, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if ttl, err := b.TTL(ctx, odd); err != nil || ttl.Remaining > 10*time.Minute || ttl.Remaining < 9*time.Minute {
		t.Fatalf("TTL on the other server = %+v, %v", ttl, err)
	}

	// Listing visits both servers.
	var listed []string
	if err := b.Scan(ctx, p+"*", func(ks []string) error { listed = append(listed, ks...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 41 {
		t.Fatalf("pool listed %d keys, want 41", len(listed))
	}
	// A key on both servers counts twice and goes from both.
	dup := p + "dup"
	for _, addr := range []string{a1, a2} {
		c, _ := mcproto.Dial(ctx, addr, time.Second)
		_ = c.Set(ctx, dup, []byte("x"), 0, 0)
		c.Close()
	}
	n, err := b.Delete(ctx, append(keys, dup, odd)...)
	if err != nil || n != 43 {
		t.Fatalf("Delete = %d, %v; want 43", n, err)
	}
	listed = listed[:0]
	_ = b.Scan(ctx, p+"*", func(ks []string) error { listed = append(listed, ks...); return nil })
	if len(listed) != 0 {
		t.Fatalf("after delete: %q", listed)
	}

	st, err := b.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Servers) != 2 || st.Keys != st.Servers[0].Stats.Keys+st.Servers[1].Stats.Keys || !st.Known["keys"] {
		t.Fatalf("pool stats: %+v", st)
	}
}

func TestDeadServerInPool(t *testing.T) {
	ctx := context.Background()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	a1 := testenv.MemcachedAddr(t)
	b := open(t, "memcached://"+a1+","+dead, backends.Options{Timeout: time.Second})
	p := prefix(t)
	c, _ := mcproto.Dial(ctx, a1, time.Second)
	defer c.Close()
	_ = c.Set(ctx, p+"k", []byte("v"), 0, 0)
	if e, err := b.Get(ctx, p+"k"); err != nil || e.Server != a1 {
		t.Fatalf("a key on the live server: %+v, %v", e, err)
	}
	var ce *backends.ConnError
	if _, err := b.Get(ctx, p+"missing"); !errors.As(err, &ce) || !strings.Contains(err.Error(), dead) {
		t.Fatalf("a miss with a dead server must be an error naming it, not 'not found': %v", err)
	}
	st, err := b.Stats(ctx)
	if st == nil || err == nil || st.Servers[1].Err == nil || !strings.Contains(err.Error(), "1 of 2 servers") {
		t.Fatalf("stats: %+v, %v", st, err)
	}
}

func TestSlowServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // accept, never answer
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	b := open(t, "memcached://"+ln.Addr().String(), backends.Options{Timeout: 300 * time.Millisecond})
	start := time.Now()
	_, err = b.Get(context.Background(), "k")
	var ce *backends.ConnError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Fatalf("silent server: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestListingFallbacks(t *testing.T) {
	ctx := context.Background()
	var warnings []string
	b := open(t, "memcached://"+testenv.MemcachedNoCrawlerAddr(t), backends.Options{Warn: func(m string) { warnings = append(warnings, m) }})
	p := prefix(t)
	for i := range 50 {
		if err := b.Set(ctx, fmt.Sprintf("%s%d", p, i), []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
	}
	var listed []string
	if err := b.Scan(ctx, p+"*", func(ks []string) error { listed = append(listed, ks...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 50 || len(warnings) != 1 || !strings.Contains(warnings[0], "PARTIAL") {
		t.Fatalf("listed %d keys with %d warnings (%.200q)", len(listed), len(warnings), warnings)
	}
	for _, k := range listed {
		if !strings.HasPrefix(k, p) {
			t.Fatalf("%q does not match the pattern", k)
		}
	}

	b = open(t, "memcached://"+testenv.MemcachedNoDumpAddr(t), backends.Options{})
	err := b.Scan(ctx, "*", func([]string) error { return nil })
	var se *backends.ServerError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "-X") {
		t.Fatalf("-X server: %v", err)
	}
}

// TestClassicProtocol runs against twemproxy, which has no meta commands,
// stats or key listing: data commands work, the rest says why not.
func TestClassicProtocol(t *testing.T) {
	ctx := context.Background()
	proxy, behind := testenv.TwemproxyAddr(t), testenv.Memcached2Addr(t)
	b := open(t, "memcached://"+proxy, backends.Options{})
	p := prefix(t)
	k := p + "k"
	if err := b.Set(ctx, k, []byte("hello"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if it := raw(t, behind, k); string(it.Value) != "hello" || it.TTL <= 3500 {
		t.Fatalf("behind the proxy: %+v", it)
	}
	e, err := b.Get(ctx, k)
	if err != nil || string(e.Value) != "hello" || !e.TTL.Unknown {
		t.Fatalf("get through the proxy: %+v, %v", e, err)
	}
	var ue *backends.UnsupportedError
	if _, err := b.TTL(ctx, k); !errors.As(err, &ue) || !strings.Contains(err.Error(), "classic protocol") {
		t.Fatalf("TTL through the proxy: %v", err)
	}
	if err := b.Expire(ctx, k, 0); err != nil {
		t.Fatal(err)
	}
	if it := raw(t, behind, k); it.TTL != -1 {
		t.Fatalf("expire 0 through the proxy left TTL %d", it.TTL)
	}
	if err := b.Scan(ctx, "*", func([]string) error { return nil }); !errors.As(err, &ue) || !strings.Contains(err.Error(), "twemproxy") {
		t.Fatalf("listing through the proxy: %v", err)
	}
	if _, err := b.Stats(ctx); !errors.As(err, &ue) {
		t.Fatalf("stats through the proxy: %v", err)
	}
	if err := b.Set(ctx, p+"a b", []byte("x"), 0); err == nil || !strings.Contains(err.Error(), "classic protocol") {
		t.Fatalf("a key with a space through the proxy: %v", err)
	}
	n, err := b.Delete(ctx, k, p+"missing")
	if err != nil || n != 1 {
		t.Fatalf("Delete = %d, %v", n, err)
	}
	if slices.Contains(b.Describe().Capabilities, "pool") {
		t.Fatal("one server is not a pool")
	}
}

func TestScanInfo(t *testing.T) {
	ctx := context.Background()
	addr := testenv.MemcachedAddr(t)
	b := open(t, "memcached://"+addr, backends.Options{})
	p := prefix(t)
	if err := b.Set(ctx, p+"ttl", []byte("x"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := b.Set(ctx, p+"forever", []byte(strings.Repeat("y", 5000)), 0); err != nil {
		t.Fatal(err)
	}
	got := map[string]backends.KeyInfo{}
	// memcached reports times from a coarse clock that starts a few seconds
	// behind (process_started is set back at startup): allow for it.
	before := time.Now().Add(-10 * time.Second)
	err := b.ScanInfo(ctx, p+"*", func(infos []backends.KeyInfo) error {
		for _, ki := range infos {
			got[ki.Key] = ki
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ttl, forever := got[p+"ttl"], got[p+"forever"]
	if !ttl.TTL.Expires || ttl.TTL.Remaining < 59*time.Minute || ttl.TTL.Remaining > time.Hour+time.Second {
		t.Fatalf("ttl key: %+v", ttl)
	}
	if forever.TTL.Expires || forever.Size <= 5000 || forever.SlabClass <= ttl.SlabClass || forever.Server != addr {
		t.Fatalf("forever key (item size includes overhead; a bigger slab class): %+v vs %+v", forever, ttl)
	}
	if forever.LastAccess.Before(before) || forever.LastAccess.After(time.Now().Add(2*time.Second)) {
		t.Fatalf("last access %v", forever.LastAccess)
	}
}
