package memserver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"
)

func newTestStore(maxMemory int64) (*Store, *fakeClock) {
	c := newClock()
	return NewStore(Options{MaxMemory: maxMemory, Now: c.Now}), c
}

func TestStoreSetGetDelete(t *testing.T) {
	s, _ := newTestStore(0)
	if _, ok := s.Get("a"); ok {
		t.Fatal("Get on an empty store found something")
	}
	if err := s.Set("", []byte("x"), 0, ""); !errors.Is(err, ErrEmptyKey) {
		t.Fatalf("Set empty key: %v, want ErrEmptyKey", err)
	}
	if err := s.Set("a", []byte("one"), 0, "string"); err != nil {
		t.Fatal(err)
	}
	e, ok := s.Get("a")
	if !ok || string(e.Value) != "one" || e.Format != "string" || e.TTL != NoExpiry {
		t.Fatalf("Get a = %+v %v", e, ok)
	}
	if err := s.Set("a", []byte("two!"), 0, ""); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Get("a"); string(e.Value) != "two!" || e.Format != "" {
		t.Fatalf("after replace: %+v", e)
	}
	if string(e.Value) != "one" {
		t.Fatalf("a value handed out earlier changed to %q", e.Value)
	}
	if !s.Delete("a") || s.Delete("a") {
		t.Fatal("Delete should report true once, then false")
	}
	st := s.Stats()
	if st.Keys != 0 || st.Bytes != 0 || st.Hits != 2 || st.Misses != 1 {
		t.Fatalf("stats %+v", st)
	}
	checkInvariants(t, s)
}

func TestStoreTTL(t *testing.T) {
	s, clock := newTestStore(0)
	_ = s.Set("k", []byte("v"), 10*time.Second, "")
	clock.Advance(9500 * time.Millisecond)
	e, ok := s.Get("k")
	if !ok || e.TTL != 500*time.Millisecond {
		t.Fatalf("after 9.5s: %+v %v, want TTL 0.5s", e, ok)
	}
	clock.Advance(500 * time.Millisecond)
	if _, ok := s.Get("k"); ok {
		t.Fatal("key alive at its expiry time")
	}
	if st := s.Stats(); st.Keys != 0 || st.Expired != 1 || st.Misses != 1 {
		t.Fatalf("stats %+v", st)
	}

	// Expire: sets, removes, and refuses missing or expired keys.
	_ = s.Set("k", []byte("v"), 0, "")
	if !s.Expire("k", time.Minute) {
		t.Fatal("Expire on an existing key failed")
	}
	if e, _ := s.Get("k"); e.TTL != time.Minute {
		t.Fatalf("TTL %v, want 1m", e.TTL)
	}
	if !s.Expire("k", 0) {
		t.Fatal("Expire 0 failed")
	}
	if e, _ := s.Get("k"); e.TTL != NoExpiry {
		t.Fatalf("TTL %v after Expire 0, want none", e.TTL)
	}
	if s.Expire("missing", time.Second) {
		t.Fatal("Expire on a missing key succeeded")
	}
	_ = s.Expire("k", time.Second)
	clock.Advance(time.Second)
	if s.Expire("k", time.Minute) || s.Delete("k") {
		t.Fatal("an expired key could be expired or deleted")
	}
	// A TTL beyond MaxTTL is cut to it.
	_ = s.Set("far", nil, 1<<62, "")
	if e, _ := s.Get("far"); e.TTL != MaxTTL {
		t.Fatalf("TTL %v, want MaxTTL", e.TTL)
	}
	checkInvariants(t, s)
}

func TestStoreEvictsLeastRecentlyUsed(t *testing.T) {
	val := make([]byte, 100)
	key := func(i int) string { return fmt.Sprintf("k%02d", i) }
	size := int64(3+len(val)) + entryOverhead
	s, _ := newTestStore(10 * size)
	for i := range 10 {
		if err := s.Set(key(i), val, 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.Evictions != 0 || st.Bytes != 10*size {
		t.Fatalf("full store: %+v", st)
	}
	if _, ok := s.Get(key(0)); !ok { // k00 becomes the most recently used
		t.Fatal("k00 missing")
	}
	_ = s.Set(key(10), val, 0, "")
	_ = s.Set(key(11), val, 0, "")
	for i, want := range []bool{true, false, false, true, true, true, true, true, true, true, true, true} {
		if _, ok := s.Get(key(i)); ok != want {
			t.Errorf("%s present %v, want %v", key(i), ok, want)
		}
	}
	st := s.Stats()
	if st.Evictions != 2 || st.Bytes > st.MaxBytes || st.MaxBytes != 10*size {
		t.Fatalf("stats %+v", st)
	}
	// One entry bigger than the whole store is refused, and evicts nothing.
	if err := s.Set("huge", make([]byte, 10*size), 0, ""); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Set huge: %v, want ErrTooLarge", err)
	}
	if s.Stats().Evictions != 2 {
		t.Fatal("a refused Set evicted")
	}
	checkInvariants(t, s)
}

func TestStoreEvictsExpiredAsExpired(t *testing.T) {
	size := int64(2) + entryOverhead
	s, clock := newTestStore(2 * size)
	_ = s.Set("a1", nil, time.Second, "")
	_ = s.Set("a2", nil, 0, "")
	clock.Advance(time.Second)
	_ = s.Set("a3", nil, 0, "")
	if st := s.Stats(); st.Expired != 1 || st.Evictions != 0 || st.Keys != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestNextPosVisitsEveryBucketOnce(t *testing.T) {
	for _, n := range []uint64{1, 2, 8, 1024} {
		seen := map[uint64]bool{}
		v := uint64(0)
		for {
			if seen[v] {
				t.Fatalf("size %d: bucket %d twice", n, v)
			}
			seen[v] = true
			if v = nextPos(v, n-1); v == 0 {
				break
			}
		}
		if uint64(len(seen)) != n {
			t.Fatalf("size %d: %d buckets visited", n, len(seen))
		}
	}
}

// scanAll lists the whole store by cursor, calling between before each page.
func scanAll(t *testing.T, s *Store, match string, count int, between func(page int)) map[string]int {
	t.Helper()
	seen := map[string]int{}
	cursor := ""
	for page := 0; ; page++ {
		if between != nil {
			between(page)
		}
		keys, next, err := s.Scan(cursor, match, count)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) > count && count >= 16 {
			t.Fatalf("page of %d keys for count %d", len(keys), count)
		}
		for _, k := range keys {
			seen[k.Key]++
		}
		if next == "" {
			return seen
		}
		if next == cursor {
			t.Fatalf("cursor %q did not move", cursor)
		}
		cursor = next
		if page > 1e6 {
			t.Fatal("listing does not end")
		}
	}
}

func tableSizes(s *Store) []int {
	out := make([]int, numShards)
	for i := range s.shards {
		s.shards[i].mu.Lock()
		out[i] = len(s.shards[i].buckets)
		s.shards[i].mu.Unlock()
	}
	return out
}

// The SCAN guarantee on a 100k-key store while other keys come and go, both
// from a concurrent writer and in bursts between pages that make the tables
// grow mid-listing.
func TestStoreScanCompleteUnderChurn(t *testing.T) {
	s, _ := newTestStore(0)
	const stable = 100_000
	for i := range stable {
		_ = s.Set("stable:"+strconv.Itoa(i), []byte("v"), 0, "")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(1, 2))
		for ctx.Err() == nil {
			k := "churn:" + strconv.Itoa(r.IntN(50_000))
			if r.IntN(2) == 0 {
				_ = s.Set(k, []byte("c"), 0, "")
			} else {
				s.Delete(k)
			}
		}
	}()
	before := tableSizes(s)
	grew := false
	seen := scanAll(t, s, "*", 1000, func(page int) {
		switch page {
		case 20, 60: // add a burst: the tables double
			for i := range 150_000 {
				_ = s.Set("burst:"+strconv.Itoa(i), nil, 0, "")
			}
		case 40, 80:
			for i := range 150_000 {
				s.Delete("burst:" + strconv.Itoa(i))
			}
		}
		for i, n := range tableSizes(s) {
			grew = grew || n > before[i]
		}
	})
	cancel()
	wg.Wait()
	if !grew {
		t.Error("no table grew during the listing; the test does not test resizing")
	}
	missing := 0
	for i := range stable {
		if seen["stable:"+strconv.Itoa(i)] == 0 {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d stable keys never listed", missing, stable)
	}
	checkInvariants(t, s)
}

// Shrinking tables mid-listing may repeat keys but must not lose any.
func TestStoreScanCompleteAcrossShrink(t *testing.T) {
	s, _ := newTestStore(0)
	const stable = 3000
	for i := range stable {
		_ = s.Set("stable:"+strconv.Itoa(i), nil, 0, "")
	}
	for i := range 200_000 {
		_ = s.Set("tmp:"+strconv.Itoa(i), nil, 0, "")
	}
	big := tableSizes(s)
	shrank := false
	seen := scanAll(t, s, "stable:*", 100, func(page int) {
		if page == 3 {
			for i := range 200_000 {
				s.Delete("tmp:" + strconv.Itoa(i))
			}
			for i, n := range tableSizes(s) {
				shrank = shrank || n < big[i]
			}
		}
	})
	if !shrank {
		t.Fatal("no table shrank; the test does not test shrinking")
	}
	for i := range stable {
		if seen["stable:"+strconv.Itoa(i)] == 0 {
			t.Fatalf("stable:%d never listed", i)
		}
	}
	checkInvariants(t, s)
}

func TestStoreScan(t *testing.T) {
	s, clock := newTestStore(0)
	for i := range 50 {
		_ = s.Set("user:"+strconv.Itoa(i), []byte("abc"), 0, "json")
		_ = s.Set("session:"+strconv.Itoa(i), nil, time.Minute, "")
	}
	_ = s.Set("gone", nil, time.Second, "")
	clock.Advance(time.Second)

	seen := scanAll(t, s, "user:*", 7, nil)
	if len(seen) != 50 {
		t.Fatalf("user:* listed %d keys, want 50", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s listed %d times without any change to the store", k, n)
		}
	}
	if n := len(scanAll(t, s, "*", 1, nil)); n != 100 {
		t.Fatalf("* listed %d keys, want 100 (the expired one left out)", n)
	}
	if n := len(scanAll(t, s, "", 10, nil)); n != 0 {
		t.Fatalf("the empty pattern listed %d keys", n)
	}

	// A literal pattern is one lookup and one complete page.
	keys, next, err := s.Scan("", "user:7", 10)
	if err != nil || next != "" || len(keys) != 1 || keys[0] != (KeyInfo{Key: "user:7", Size: 3, Format: "json", TTL: NoExpiry}) {
		t.Fatalf("Scan user:7 = %+v %q %v", keys, next, err)
	}
	keys, _, _ = s.Scan("", "session:1", 10)
	if len(keys) != 1 || keys[0].TTL != 59*time.Second {
		t.Fatalf("Scan session:1 = %+v", keys)
	}
	if keys, next, _ := s.Scan("", "gone", 10); len(keys) != 0 || next != "" {
		t.Fatalf("Scan gone = %+v %q", keys, next)
	}

	for _, c := range []string{"x", "-1", "+1", " 1", "1.5", "18446744073709551616", "0x10"} {
		if _, _, err := s.Scan(c, "*", 10); !errors.Is(err, ErrBadCursor) {
			t.Errorf("cursor %q: %v, want ErrBadCursor", c, err)
		}
	}
	// Any uint64 is a position; the last one ends the listing.
	if _, _, err := s.Scan("18446744073709551615", "*", 10); err != nil {
		t.Error(err)
	}
}

// A sparse match gives pages that may be empty and still not the last.
func TestStoreScanBoundsWork(t *testing.T) {
	s, _ := newTestStore(0)
	for i := range 20_000 {
		_ = s.Set("k:"+strconv.Itoa(i), nil, 0, "")
	}
	_ = s.Set("needle", nil, 0, "")
	pages, found := 0, 0
	cursor := ""
	for {
		keys, next, err := s.Scan(cursor, "n*", 1)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		found += len(keys)
		if next == "" {
			break
		}
		cursor = next
	}
	if found != 1 || pages < 5 {
		t.Fatalf("found %d in %d pages; want 1 in several bounded pages", found, pages)
	}
}

func TestStoreInvalidate(t *testing.T) {
	ctx := context.Background()
	s, clock := newTestStore(0)
	for i := range 100 {
		_ = s.Set("user:"+strconv.Itoa(i), nil, 0, "")
		_ = s.Set("session:"+strconv.Itoa(i), nil, 0, "")
		_ = s.Set("other:"+strconv.Itoa(i), nil, 0, "")
	}
	_ = s.Set("user:expiring", nil, time.Second, "")
	clock.Advance(time.Second)

	m, d, err := s.Invalidate(ctx, []string{"user:*", "session:1?"}, true)
	if err != nil || m != 110 || d != 0 {
		t.Fatalf("dry run: %d %d %v, want 110 0", m, d, err)
	}
	if st := s.Stats(); st.Keys != 300 {
		t.Fatalf("a dry run removed keys: %+v", st)
	}
	m, d, err = s.Invalidate(ctx, []string{"user:*", "session:1?", "user:1*"}, false)
	if err != nil || m != 110 || d != 110 {
		t.Fatalf("invalidate: %d %d %v, want 110 110", m, d, err)
	}
	if st := s.Stats(); st.Keys != 190 {
		t.Fatalf("keys left %d, want 190", st.Keys)
	}
	// Literal patterns: looked up, each counted once.
	m, d, _ = s.Invalidate(ctx, []string{"other:1", "other:1", "other:\\2", "nope"}, true)
	if m != 2 || d != 0 {
		t.Fatalf("literal dry run: %d %d, want 2 0", m, d)
	}
	m, d, _ = s.Invalidate(ctx, []string{"other:1", "other:1", "other:\\2", "nope"}, false)
	if m != 2 || d != 2 {
		t.Fatalf("literal: %d %d, want 2 2", m, d)
	}
	if m, d, _ := s.Invalidate(ctx, nil, false); m != 0 || d != 0 {
		t.Fatal("no patterns matched something")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.Invalidate(cctx, []string{"*"}, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled invalidate: %v", err)
	}
	checkInvariants(t, s)
}

func TestStoreSweep(t *testing.T) {
	s, clock := newTestStore(0)
	for i := range 5000 {
		ttl := time.Duration(0)
		if i%2 == 0 {
			ttl = time.Second
		}
		_ = s.Set(strconv.Itoa(i), []byte("v"), ttl, "")
	}
	if n := s.SweepExpired(context.Background()); n != 0 {
		t.Fatalf("swept %d before anything expired", n)
	}
	clock.Advance(time.Second)

	// Run's loop, driven by a tick channel the test owns: the second send
	// is only received once the first sweep is over.
	ctx, cancel := context.WithCancel(context.Background())
	ticks := make(chan time.Time)
	done := make(chan struct{})
	go func() {
		s.runLoop(ctx, ticks)
		close(done)
	}()
	ticks <- time.Time{}
	ticks <- time.Time{}
	cancel()
	<-done
	st := s.Stats()
	if st.Keys != 2500 || st.Expired != 2500 {
		t.Fatalf("after sweeping: %+v", st)
	}
	checkInvariants(t, s)

	// Run itself returns once its context ends: no goroutine is left.
	ctx, cancel = context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() {
		s.Run(ctx, time.Hour)
		close(done)
	}()
	cancel()
	<-done
}

func TestStoreStats(t *testing.T) {
	s, clock := newTestStore(1 << 20)
	_ = s.Set("ab", []byte("cde"), 0, "json")
	s.Get("ab")
	s.Get("zz")
	clock.Advance(90 * time.Second)
	want := Stats{Keys: 1, Bytes: 2 + 3 + 4 + entryOverhead, MaxBytes: 1 << 20, Hits: 1, Misses: 1, Uptime: 90 * time.Second}
	if st := s.Stats(); st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
}

// Many goroutines at once, under -race, with evictions and expiry going on;
// the bookkeeping must add up afterwards.
func TestStoreConcurrent(t *testing.T) {
	s, clock := newTestStore(200 * (entryOverhead + 40))
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for i := range 3000 {
				k := fmt.Sprintf("k%d", r.IntN(500))
				switch r.IntN(10) {
				case 0, 1, 2:
					_ = s.Set(k, make([]byte, r.IntN(40)), time.Duration(r.IntN(3))*time.Second, "f")
				case 3:
					s.Delete(k)
				case 4:
					s.Expire(k, time.Duration(r.IntN(2))*time.Second)
				case 5:
					_, _, _ = s.Scan(strconv.Itoa(r.IntN(1<<20)), "k1*", 20)
				case 6:
					if i%100 == 0 {
						_, _, _ = s.Invalidate(ctx, []string{"k4?"}, r.IntN(2) == 0)
					}
				case 7:
					if i%50 == 0 {
						clock.Advance(time.Second)
						s.SweepExpired(ctx)
						s.Stats()
					}
				default:
					if e, ok := s.Get(k); ok && len(e.Value) > 40 {
						t.Errorf("value of %d bytes", len(e.Value))
					}
				}
			}
		}()
	}
	wg.Wait()
	checkInvariants(t, s)
	if st := s.Stats(); st.Bytes > st.MaxBytes {
		t.Fatalf("store over its bound: %+v", st)
	}
}
