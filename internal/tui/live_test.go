package tui

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/backends/memcached"
	"github.com/cachectl/cachectl/internal/backends/redis"
	"github.com/cachectl/cachectl/internal/testenv"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// privateRedis is a Redis of the test's own (its notifications are the
// test's to change), its admin client and an opener for the dashboard.
func privateRedis(t *testing.T) (testenv.RedisEnv, *goredis.Client, func(context.Context) (backends.Backend, error)) {
	t.Helper()
	env := testenv.PrivateRedis(t)
	u, err := url.Parse(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	opts := backends.Options{Timeout: 2 * time.Second}
	return env, env.Client(t, env.Addr), func(ctx context.Context) (backends.Backend, error) { return redis.Open(ctx, u, opts) }
}

func notifyConfig(t *testing.T, admin *goredis.Client) string {
	t.Helper()
	v, err := admin.ConfigGet(context.Background(), "notify-keyspace-events").Result()
	if err != nil {
		t.Fatal(err)
	}
	return v["notify-keyspace-events"]
}

// held reports whether the key list shows key (flat view).
func (d *driver) held(key string) bool {
	_, ok := d.m.list.Store().Locate(key, false)
	return ok
}

func (d *driver) liveOn() bool { return d.m.c.Live.State == uictx.LiveOn }

func (d *driver) refreshed() bool {
	for _, m := range d.seen {
		if _, ok := m.(uictx.Refresh); ok {
			return true
		}
	}
	return false
}

// TestLiveKeysAppearAndVanish: with notifications on, a key another client
// writes appears without a refresh, keys deleted or expiring vanish, the
// cursor stays on its key as rows above it go, the open entry refreshes
// when written and says when it expired, and the strip shows the rate.
func TestLiveKeysAppearAndVanish(t *testing.T) {
	_, admin, open := privateRedis(t)
	ctx := context.Background()
	if err := admin.ConfigSet(ctx, "notify-keyspace-events", "KEA").Err(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a:1", "a:2", "a:3"} {
		admin.Set(ctx, k, "v-"+k, 0)
	}
	d := newDriver(t, Options{Open: open, Kind: "redis", Address: "redis://test", StatsEvery: time.Hour})
	d.until("listing and live", func() bool { return d.scanDone() && d.liveOn() })
	contains(t, d.screen(), "live · 0 ev/s")

	d.selectKey("a:2")
	admin.Set(ctx, "b:new", "fresh", 0)
	d.until("b:new listed", func() bool { return d.held("b:new") })
	if d.refreshed() {
		t.Fatal("the listing was refreshed; live mode should have added the key by itself")
	}
	contains(t, d.screen(), "b:new")

	// Rows above the cursor go; the cursor stays on a:2.
	admin.Del(ctx, "a:1")
	d.until("a:1 gone", func() bool { return !d.held("a:1") })
	if r, _ := d.m.list.Current(); r.Key != "a:2" || d.m.detail.Key() != "a:2" {
		t.Fatalf("cursor on %q, detail %q after a row above went; want a:2", r.Key, d.m.detail.Key())
	}

	// The open entry refreshes when written.
	admin.Set(ctx, "a:2", "rewritten", 0)
	d.until("a:2 refreshed", func() bool {
		e := d.m.detail.Entry()
		return e != nil && string(e.Value) == "rewritten" && !d.m.detail.Loading()
	})
	contains(t, d.screen(), "rewritten", "written ")

	// A key that expires vanishes by itself.
	admin.Set(ctx, "t:short", "x", 300*time.Millisecond)
	d.until("t:short listed", func() bool { return d.held("t:short") })
	d.until("t:short expired", func() bool { return !d.held("t:short") })

	// The selected key expires: it stays, marked, until the cursor leaves.
	admin.Set(ctx, "a:2", "soon gone", 400*time.Millisecond)
	d.until("a:2 expired", func() bool { return d.m.detail.Gone() != "" })
	if !strings.HasPrefix(d.m.detail.Gone(), "expired at ") || d.m.list.Gone() != "a:2" {
		t.Fatalf("detail gone %q, list gone %q", d.m.detail.Gone(), d.m.list.Gone())
	}
	contains(t, d.screen(), "gone: expired at", "a:2 ✕")
	d.press("down")
	if d.held("a:2") {
		t.Fatal("a:2 still listed after the cursor left it")
	}
	if r, _ := d.m.list.Current(); r.Key == "a:2" {
		t.Fatalf("cursor still on a:2")
	}

	// The filter narrows the events too.
	d.press("/", "a:*", "enter")
	d.until("filtered listing", func() bool { return d.scanDone() && d.m.list.Pattern() == "a:*" })
	admin.Set(ctx, "zz", "1", 0)
	admin.Set(ctx, "a:9", "1", 0)
	d.until("a:9 listed", func() bool { return d.held("a:9") })
	if d.held("zz") {
		t.Fatal("a key outside the filter was listed")
	}
	// The rate counts the events of the filter.
	d.m.c.Now = func() time.Time { return time.Now().Add(time.Second) }
	d.apply(uictx.Tick(time.Now()))
	if d.m.c.Live.Rate <= 0 {
		t.Fatalf("rate %v after events", d.m.c.Live.Rate)
	}
}

// TestLiveNotificationsOff: Redis ships with notifications off; the
// dashboard says so and how to turn them on, and leaves them alone unless
// asked with the flag, which read-only mode overrides. Asked, it turns
// them on and puts the old value back when it closes.
func TestLiveNotificationsOff(t *testing.T) {
	_, admin, open := privateRedis(t)
	if v := notifyConfig(t, admin); v != "" {
		t.Fatalf("a fresh Redis has notify-keyspace-events %q", v)
	}
	d := newDriver(t, Options{Open: open, Kind: "redis", Address: "redis://test", StatsEvery: time.Hour})
	d.until("notifications off", func() bool { return d.scanDone() && d.m.c.Live.State == uictx.LiveNotifyOff })
	if s := d.statusText(); !strings.Contains(s, "keyspace notifications are off") || !strings.Contains(s, "--enable-notifications") || d.statusErr() {
		t.Fatalf("status %q (error %v)", s, d.statusErr())
	}
	contains(t, d.screen(), "notifications off")
	if v := notifyConfig(t, admin); v != "" {
		t.Fatalf("the dashboard changed notify-keyspace-events to %q unasked", v)
	}

	ro := newDriver(t, Options{Open: open, Kind: "redis", ReadOnly: true, EnableNotifications: true, StatsEvery: time.Hour})
	ro.until("read-only: notifications off", func() bool { return ro.m.c.Live.State == uictx.LiveNotifyOff })
	if v := notifyConfig(t, admin); v != "" {
		t.Fatalf("a read-only dashboard changed notify-keyspace-events to %q", v)
	}

	on := newDriver(t, Options{Open: open, Kind: "redis", EnableNotifications: true, StatsEvery: time.Hour})
	on.until("live", on.liveOn)
	if v := notifyConfig(t, admin); !strings.Contains(v, "E") {
		t.Fatalf("with --enable-notifications notify-keyspace-events = %q", v)
	}
	on.m.Close()
	if v := notifyConfig(t, admin); v != "" {
		t.Fatalf("after closing notify-keyspace-events = %q, want it off again", v)
	}
}

// TestLiveGapRescans: the server restarts (losing its keys and its
// notification setting); the watch comes back and reports the gap, and the
// dashboard lists again, so the keys that went without an event go too.
func TestLiveGapRescans(t *testing.T) {
	env, admin, open := privateRedis(t)
	ctx := context.Background()
	for _, k := range []string{"k:1", "k:2"} {
		admin.Set(ctx, k, "1", 0)
	}
	d := newDriver(t, Options{Open: open, Kind: "redis", EnableNotifications: true, StatsEvery: time.Second})
	d.until("listing and live", func() bool { return d.scanDone() && d.liveOn() && d.held("k:2") })
	env.Kill(t, env.Addr)
	env.Restart(t, env.Addr)
	d.until("gap reported", func() bool { return strings.Contains(d.statusText(), "listing again") })
	d.until("keys lost in the restart gone", func() bool { return d.scanDone() && !d.held("k:1") && !d.held("k:2") })
	d.until("live again", d.liveOn)
	admin.Set(ctx, "k:after", "1", 0)
	d.until("k:after listed", func() bool { return d.held("k:after") })
}

// TestLiveToggle: L turns live mode off (events no longer change the list)
// and on again, listing again to catch up on what it missed.
func TestLiveToggle(t *testing.T) {
	_, admin, open := privateRedis(t)
	ctx := context.Background()
	if err := admin.ConfigSet(ctx, "notify-keyspace-events", "KEA").Err(); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, Options{Open: open, Kind: "redis", StatsEvery: time.Hour})
	d.until("live", func() bool { return d.scanDone() && d.liveOn() })
	d.press("L")
	if d.m.c.Live.State != uictx.LiveOff || d.m.live.Running() {
		t.Fatalf("after L: state %v, running %v", d.m.c.Live.State, d.m.live.Running())
	}
	contains(t, d.screen(), "live off (L)")
	admin.Set(ctx, "while:off", "1", 0)
	d.settle()
	if d.held("while:off") {
		t.Fatal("live mode off, yet a key appeared")
	}
	d.press("L")
	d.until("caught up", func() bool { return d.liveOn() && d.held("while:off") })
}

func liveBatch(kind string, keys ...string) uictx.LiveBatch {
	b := uictx.LiveBatch{Pattern: "*"}
	for _, k := range keys {
		b.Events = append(b.Events, backends.Event{Kind: kind, Key: k})
	}
	return b
}

// TestLiveBatchesKeepTheSelection feeds batches into the model in tree
// view: rows appear above and below the cursor and go, a branch appears
// and vanishes with its keys, and the cursor stays on its key (or its
// branch) and on its line of the pane throughout.
func TestLiveBatchesKeepTheSelection(t *testing.T) {
	d := newDriver(t, Options{Open: goldenCache(t), Kind: "http", Tree: true, StatsEvery: time.Hour})
	d.until("listing", d.scanDone)
	d.apply(tea.WindowSizeMsg{Width: 100, Height: 12}) // a pane of 5 rows: the list scrolls
	d.press("G", "right", "down", "down")              // orders: open, on orders:100002
	if r, _ := d.m.list.Current(); r.Key != "orders:100002" {
		t.Fatalf("cursor on %q", r.Key)
	}
	line := d.m.list.Cursor() - d.m.list.Offset()
	check := func(what string) {
		t.Helper()
		if r, _ := d.m.list.Current(); r.Key != "orders:100002" || d.m.detail.Key() != "orders:100002" {
			t.Fatalf("%s: cursor on %q, detail on %q", what, r.Key, d.m.detail.Key())
		}
		// Where there are rows enough above it, it keeps its line.
		if l := d.m.list.Cursor() - d.m.list.Offset(); l != min(line, d.m.list.Cursor()) {
			t.Fatalf("%s: the cursor moved from line %d to %d of the pane", what, line, l)
		}
	}
	d.apply(liveBatch(backends.EventSet, "aaa:1", "aaa:2", "orders:100000", "zz1", "zz2", "zz3", "zz4"))
	check("rows added above and below")
	if _, ok := d.m.list.Store().Locate("aaa:", true); !ok {
		t.Fatal("branch aaa: not shown")
	}
	d.apply(liveBatch(backends.EventDel, "aaa:1", "orders:100000", "orders:100001"))
	check("rows removed above")
	d.apply(liveBatch(backends.EventExpired, "aaa:2", "feed:1"))
	check("branches emptied above")
	if _, ok := d.m.list.Store().Locate("aaa:", true); ok {
		t.Fatal("branch aaa: left without keys")
	}
	// A batch for another filter (one already replaced) changes nothing.
	d.apply(uictx.LiveBatch{Pattern: "other:*", Events: []backends.Event{{Kind: backends.EventSet, Key: "other:1"}}})
	if _, ok := d.m.list.Store().Locate("other:1", false); ok {
		t.Fatal("a stale batch was applied")
	}
	// On a branch: it stays selected as keys come and go beneath others.
	d.press("g")
	r, _ := d.m.list.Current()
	d.apply(liveBatch(backends.EventSet, "0:first"))
	if now, _ := d.m.list.Current(); now.Key != r.Key || !now.Branch {
		t.Fatalf("branch selection moved from %q to %q", r.Key, now.Key)
	}
}

// TestLiveMemcached: on Memcached (its watch mutations stream) a key set
// by another client appears in the filter's listing without a refresh.
func TestLiveMemcached(t *testing.T) {
	u, err := url.Parse("memcached://" + testenv.MemcachedAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	opts := backends.Options{Timeout: 2 * time.Second}
	open := func(ctx context.Context) (backends.Backend, error) { return memcached.Open(ctx, u, opts) }
	other, err := open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	prefix := fmt.Sprintf("live%d:", time.Now().UnixNano())
	ctx := context.Background()
	if err := other.Set(ctx, prefix+"old", []byte("1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, Options{Open: open, Kind: "memcached", Pattern: prefix + "*", StatsEvery: time.Hour})
	d.until("listing and live", func() bool { return d.scanDone() && d.liveOn() && d.held(prefix+"old") })
	if err := other.Set(ctx, prefix+"new", []byte("2"), time.Hour); err != nil {
		t.Fatal(err)
	}
	d.until("the new key listed", func() bool { return d.held(prefix + "new") })
	// Deletes are logged only by servers newer than 1.6.18 (the watch asks
	// for "deletions" where the server knows them), so they are not checked.
	if d.refreshed() {
		t.Fatal("the listing was refreshed")
	}
}
