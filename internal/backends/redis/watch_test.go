package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/faultproxy"
	"github.com/cachectl/cachectl/internal/testenv"
	"github.com/cachectl/cachectl/internal/watchtest"
)

func notifyValue(t *testing.T, cl *goredis.Client) string {
	t.Helper()
	v, err := cl.ConfigGet(context.Background(), "notify-keyspace-events").Result()
	if err != nil {
		t.Fatal(err)
	}
	return v["notify-keyspace-events"]
}

// stopRestored stops w, which must end by its cancellation, and checks
// that admin's server has notify-keyspace-events with want's classes back.
func stopRestored(t *testing.T, w *watchtest.Watching, admin *goredis.Client, want string) {
	t.Helper()
	if err := w.Stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled watch returned %v", err)
	}
	if v := notifyValue(t, admin); !sameClasses(v, want) {
		t.Fatalf("after the watch notify-keyspace-events = %q, want %q back", v, want)
	}
}

func TestEventKinds(t *testing.T) {
	for name, want := range map[string]string{
		"set": "set", "setrange": "set", "incrby": "set", "append": "set", "lpush": "set", "hset": "set",
		"hdel": "set", "xadd": "set", "rename_to": "set", "restore": "set", "copy_to": "set", "some_future_event": "set",
		"del": "del", "rename_from": "del", "move_from": "del",
		"expired": "expired", "evicted": "evicted", "expire": "expire", "persist": "expire",
		"new": "", "keymiss": "",
	} {
		if got := eventKind(name); got != want {
			t.Errorf("eventKind(%q) = %q, want %q", name, got, want)
		}
	}
	for value, want := range map[string]string{
		"": "Eg$lshzxet", "AKE": "", "KEA": "", "xE": "g$lshzet", "Ex": "g$lshzet", "K": "Eg$lshzxet", "g$lshzxetE": "",
	} {
		if got := missingClasses(value); got != want {
			t.Errorf("missingClasses(%q) = %q, want %q", value, got, want)
		}
	}
}

// TestWatchStandalone: with notifications off the watch refuses and says
// so; --enable-notifications adds only the missing classes, events of
// writes, deletes and expiries arrive for matching keys only, and the old
// value is back when the watch is cancelled.
func TestWatchStandalone(t *testing.T) {
	env := testenv.PrivateRedis(t)
	admin := env.Client(t, env.Addr)
	ctx := context.Background()
	if err := admin.ConfigSet(ctx, "notify-keyspace-events", "Kx").Err(); err != nil {
		t.Fatal(err)
	}
	before := notifyValue(t, admin)
	b := open(t, env.URL+"/3", backends.Options{})

	err := b.Watch(ctx, backends.WatchOptions{}, func(backends.Event) error { return nil })
	var off *backends.NotificationsOffError
	if !errors.As(err, &off) || off.Value != before || off.Missing != "Eg$lshzet" || off.Node != env.Addr {
		t.Fatalf("Watch with notifications %q: %v", before, err)
	}

	w := watchtest.Start(t, b, backends.WatchOptions{Patterns: []string{"w:*", "other"}, EnableNotifications: true})
	if v := notifyValue(t, admin); missingClasses(v) != "" || !strings.Contains(v, "K") {
		t.Fatalf("during the watch notify-keyspace-events = %q", v)
	}
	data := env.Client(t, env.Addr)
	if err := data.Do(ctx, "SELECT", "3").Err(); err != nil {
		t.Fatal(err)
	}
	data.Set(ctx, "skip:me", "1", 0)
	data.Set(ctx, "w:a", "1", 0)
	data.Set(ctx, "w:t", "1", 150*time.Millisecond)
	data.LPush(ctx, "w:list", "x")
	data.Del(ctx, "w:a")
	data.Set(ctx, "w:\x00\x1b[31m", "hostile", 0)
	e, seen := w.Await(t, backends.EventSet, "w:a", 10*time.Second)
	if e.Node != env.Addr || e.Detail != "set" || len(seen) != 0 || e.Time.IsZero() {
		t.Fatalf("first event %+v after %v", e, seen)
	}
	w.Await(t, backends.EventSet, "w:t", 5*time.Second)
	w.Await(t, backends.EventExpire, "w:t", 5*time.Second)
	if e, _ := w.Await(t, backends.EventSet, "w:list", 5*time.Second); e.Detail != "lpush" {
		t.Fatalf("lpush: %+v", e)
	}
	w.Await(t, backends.EventDel, "w:a", 5*time.Second)
	w.Await(t, backends.EventSet, "w:\x00\x1b[31m", 5*time.Second)
	// The key expires when the server finds it so: a read makes it look.
	deadline := time.Now().Add(10 * time.Second)
	for data.Exists(ctx, "w:t").Val() == 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // nothing to wait on: the TTL runs out by the clock
	}
	e, seen = w.Await(t, backends.EventExpired, "w:t", 10*time.Second)
	for _, s := range append(seen, e) {
		if strings.HasPrefix(s.Key, "skip") {
			t.Fatalf("a key outside the patterns: %+v", s)
		}
	}
	stopRestored(t, w, admin, before)
}

// TestWatchRestartReportsGap: the server restarts mid-watch (its
// notifications, set at run time, are lost with it); the watch sets them
// again, reports the gap from the loss to the resubscription, and events
// flow again. The value is restored at the end.
func TestWatchRestartReportsGap(t *testing.T) {
	env := testenv.PrivateRedis(t)
	admin := env.Client(t, env.Addr)
	ctx := context.Background()
	b := open(t, env.URL, backends.Options{Timeout: 2 * time.Second})
	w := watchtest.Start(t, b, backends.WatchOptions{EnableNotifications: true})
	admin.Set(ctx, "before", "1", 0)
	w.Await(t, backends.EventSet, "before", 10*time.Second)

	killed := time.Now()
	env.Kill(t, env.Addr)
	env.Restart(t, env.Addr)
	gap, _ := w.Await(t, backends.EventGap, "", 30*time.Second)
	if gap.Node != env.Addr || gap.Since.IsZero() || gap.Since.Before(killed.Add(-time.Second)) || !gap.Time.After(gap.Since) || !strings.Contains(gap.Detail, "resubscribed") {
		t.Fatalf("gap %+v (killed at %v)", gap, killed)
	}
	admin.Set(ctx, "after", "1", 0)
	w.Await(t, backends.EventSet, "after", 10*time.Second)
	stopRestored(t, w, admin, "")
	t.Logf("gap %v: %s", gap.Time.Sub(gap.Since).Round(time.Millisecond), gap.Detail)
}

// TestWatchReadOnlyUser: a user without CONFIG is told that notifications
// could not be checked and watches anyway; enabling them is refused with
// the grant that would allow it; a user without channel rights is told
// which pattern to grant.
func TestWatchACL(t *testing.T) {
	env := testenv.PrivateRedis(t)
	admin := env.Client(t, env.Addr)
	ctx := context.Background()
	if err := admin.ConfigSet(ctx, "notify-keyspace-events", "AE").Err(); err != nil {
		t.Fatal(err)
	}
	u := testenv.RedisUserURL(t, env.URL, "+@all", "-config", "~*", "&*")
	var warnings []string
	b := open(t, u, backends.Options{Warn: func(m string) { warnings = append(warnings, m) }})
	w := watchtest.Start(t, b, backends.WatchOptions{})
	if len(warnings) != 1 || !strings.Contains(warnings[0], "could not check notify-keyspace-events") || !strings.Contains(warnings[0], "CONFIG GET") {
		t.Fatalf("warnings: %q", warnings)
	}
	admin.Set(ctx, "k", "v", 0)
	w.Await(t, backends.EventSet, "k", 10*time.Second)
	w.Stop()

	err := b.Watch(ctx, backends.WatchOptions{EnableNotifications: true}, func(backends.Event) error { return nil })
	var pe *backends.PermissionError
	if !errors.As(err, &pe) || pe.Command != "config|get" {
		t.Fatalf("enable without CONFIG: %v", err)
	}

	noChannels := open(t, testenv.RedisUserURL(t, env.URL, "+@all", "~*", "resetchannels"), backends.Options{})
	err = noChannels.Watch(ctx, backends.WatchOptions{}, func(backends.Event) error { return nil })
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "&__keyevent@0__:*") {
		t.Fatalf("no channels: %v", err)
	}
}

// TestWatchCluster: events of keys in the slots of every primary, each
// named by its node; a failover makes the promoted replica followed, with a
// gap, and its events arrive. The private cluster gets its old
// notify-keyspace-events back on every node.
func TestWatchCluster(t *testing.T) {
	env := testenv.PrivateCluster(t)
	b := openURL(t, env.URL, backends.Options{Timeout: 2 * time.Second})
	ctx := context.Background()
	w := watchtest.Start(t, b.(backends.Watcher), backends.WatchOptions{EnableNotifications: true, Patterns: []string{"c:*"}})
	nodes := env.Nodes(t)
	cc := env.ClusterClient(t)
	// A key on each primary.
	byNode := map[string]string{}
	for i := 0; len(byNode) < len(env.Primaries(t)); i++ {
		k := fmt.Sprintf("c:%d", i)
		if o := ownerOf(nodes, k); byNode[o] == "" {
			byNode[o] = k
		}
	}
	for node, k := range byNode {
		if err := cc.Set(ctx, k, "1", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if e, _ := w.Await(t, backends.EventSet, k, 10*time.Second); e.Node != node {
			t.Fatalf("%s from %s, want %s", k, e.Node, node)
		}
	}

	var replica testenv.ClusterNode
	for _, n := range nodes {
		if !n.Primary {
			replica = n
			break
		}
	}
	if err := env.Client(t, replica.Addr).ClusterFailover(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	env.WaitOK(t, 30*time.Second)
	gap, _ := w.Await(t, backends.EventGap, "", 30*time.Second)
	if gap.Node != replica.Addr || gap.Since.IsZero() || !strings.Contains(gap.Detail, "became a cluster primary") {
		t.Fatalf("gap %+v (promoted %s)", gap, replica.Addr)
	}
	var k string
	for i := 0; k == ""; i++ {
		if c := fmt.Sprintf("c:after:%d", i); ownerOf(env.Nodes(t), c) == replica.Addr {
			k = c
		}
	}
	if err := cc.Set(ctx, k, "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if e, _ := w.Await(t, backends.EventSet, k, 10*time.Second); e.Node != replica.Addr {
		t.Fatalf("after the failover %s came from %s", k, e.Node)
	}
	if err := w.Stop(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	for _, a := range env.Addrs {
		if v := notifyValue(t, env.Client(t, a)); v != "" {
			t.Errorf("%s kept notify-keyspace-events %q", a, v)
		}
	}
}

// TestWatchSentinelFailover: the watch follows the master the sentinels
// name through a failover, with a gap.
func TestWatchSentinelFailover(t *testing.T) {
	env := testenv.PrivateSentinel(t)
	b := openURL(t, env.URL, backends.Options{SentinelPassword: env.SentinelPassword, Timeout: 2 * time.Second})
	ctx := context.Background()
	old := env.Master(t)
	w := watchtest.Start(t, b.(backends.Watcher), backends.WatchOptions{EnableNotifications: true})
	env.Client(t, old).Set(ctx, "s1", "1", 0)
	if e, _ := w.Await(t, backends.EventSet, "s1", 10*time.Second); e.Node != old {
		t.Fatalf("s1 from %s, want the master %s", e.Node, old)
	}
	if err := env.SentinelClient(t, env.SentinelAddrs[0]).Failover(ctx, env.MasterName).Err(); err != nil {
		t.Fatal(err)
	}
	newMaster := env.WaitPromoted(t, old, 30*time.Second)
	gap, _ := w.Await(t, backends.EventGap, "", 30*time.Second)
	if gap.Node != newMaster || !strings.Contains(gap.Detail, "became the master") {
		t.Fatalf("gap %+v (new master %s)", gap, newMaster)
	}
	env.Client(t, newMaster).Set(ctx, "s2", "1", 0)
	if e, _ := w.Await(t, backends.EventSet, "s2", 10*time.Second); e.Node != newMaster {
		t.Fatalf("s2 from %s, want %s", e.Node, newMaster)
	}
	if err := w.Stop(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	for _, a := range env.DataAddrs {
		if v := notifyValue(t, env.Client(t, a)); v != "" {
			t.Errorf("%s kept notify-keyspace-events %q", a, v)
		}
	}
}

// TestWatchEnableCutShort: the CONFIG SET that enables notifications
// reaches the server but its reply never comes back (a hung link, Ctrl-C
// at that moment): the watch fails to start, and the value the server did
// take is put back all the same.
func TestWatchEnableCutShort(t *testing.T) {
	env := testenv.PrivateRedis(t)
	admin := env.Client(t, env.Addr)
	b, px := viaProxy(t, env.URL, backends.Options{Timeout: time.Second})
	fired := px.Arm(faultproxy.Rule{Fault: faultproxy.Stall, Dir: faultproxy.Up,
		When: faultproxy.AfterChunkWith([]byte("$3\r\nset\r\n$22\r\nnotify-keyspace-events"), 1)})
	err := b.Watch(context.Background(), backends.WatchOptions{EnableNotifications: true}, func(backends.Event) error { return nil })
	awaitFault(t, fired)
	if err == nil {
		t.Fatal("the watch started without an answer to CONFIG SET")
	}
	if v := notifyValue(t, admin); v != "" {
		t.Fatalf("after the failed start notify-keyspace-events = %q, want it off again", v)
	}
}

// TestWatchRestoresTheValueBeforeItsChange: someone sets a value of their
// own during the watch, lacking classes it needs; the watch adds them
// again (with a gap) and at its end puts back that newer value, not the
// one it found first.
func TestWatchRestoresTheValueBeforeItsChange(t *testing.T) {
	env := testenv.PrivateRedis(t)
	admin := env.Client(t, env.Addr)
	ctx := context.Background()
	b := open(t, env.URL, backends.Options{Timeout: time.Second})
	w := watchtest.Start(t, b, backends.WatchOptions{EnableNotifications: true})
	if err := admin.ConfigSet(ctx, "notify-keyspace-events", "Kx").Err(); err != nil {
		t.Fatal(err)
	}
	gap, _ := w.Await(t, backends.EventGap, "", 10*time.Second)
	if gap.Node != env.Addr || gap.Since.IsZero() || !strings.Contains(gap.Detail, "notify-keyspace-events") {
		t.Fatalf("gap %+v", gap)
	}
	admin.Set(ctx, "after", "1", 0)
	w.Await(t, backends.EventSet, "after", 10*time.Second)
	stopRestored(t, w, admin, "Kx")
}

// TestWatchNotificationsTurnedOff: two watches enable notifications; the
// first to end puts the old value back while the other runs. The other
// sees it (a gap, no silent loss), turns them on again and restores the
// old value at its own end. A watch without --enable-notifications whose
// notifications are turned off under it ends, saying so.
func TestWatchNotificationsTurnedOff(t *testing.T) {
	env := testenv.PrivateRedis(t)
	admin := env.Client(t, env.Addr)
	ctx := context.Background()
	b := open(t, env.URL, backends.Options{Timeout: time.Second})
	first := watchtest.Start(t, b, backends.WatchOptions{EnableNotifications: true})
	second := watchtest.Start(t, b, backends.WatchOptions{EnableNotifications: true})
	stopRestored(t, first, admin, "")
	gap, _ := second.Await(t, backends.EventGap, "", 10*time.Second)
	if gap.Since.IsZero() || !strings.Contains(gap.Detail, `notify-keyspace-events was changed to ""`) {
		t.Fatalf("gap %+v", gap)
	}
	admin.Set(ctx, "after", "1", 0)
	second.Await(t, backends.EventSet, "after", 10*time.Second)
	stopRestored(t, second, admin, "")

	if err := admin.ConfigSet(ctx, "notify-keyspace-events", "AE").Err(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() {
		ended <- b.Watch(ctx, backends.WatchOptions{Ready: func() { admin.ConfigSet(ctx, "notify-keyspace-events", "") }},
			func(backends.Event) error { return nil })
	}()
	select {
	case err := <-ended:
		var off *backends.NotificationsOffError
		if !errors.As(err, &off) || !strings.Contains(err.Error(), "during the watch") {
			t.Fatalf("notifications turned off under a watch: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a watch whose notifications were turned off went on silently")
	}
}

// TestWatchDeadlineEndsQuietly: a watch whose ctx has a deadline
// (--duration) ends with it, never warning of a lost subscription (the
// read cut by the deadline is not a lost link) nor reporting a gap.
func TestWatchDeadlineEndsQuietly(t *testing.T) {
	env := testenv.PrivateRedis(t)
	var mu sync.Mutex
	var warnings []string
	b := open(t, env.URL, backends.Options{Warn: func(m string) { mu.Lock(); warnings = append(warnings, m); mu.Unlock() }})
	for range 12 {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		err := b.Watch(ctx, backends.WatchOptions{EnableNotifications: true}, func(e backends.Event) error {
			return fmt.Errorf("unexpected event %+v", e)
		})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Watch = %v, want the deadline", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, w := range warnings {
		if strings.Contains(w, "lost") {
			t.Fatalf("warning at the deadline: %q", w)
		}
	}
}

// TestWatchWithoutConfig: a server whose CONFIG is renamed away (managed
// services) is watched anyway, with a warning that the setting could not
// be checked; --enable-notifications is refused in one line.
func TestWatchWithoutConfig(t *testing.T) {
	env := testenv.PrivateRedis(t, "--rename-command", "CONFIG", "", "--notify-keyspace-events", "KEA")
	var mu sync.Mutex
	var warnings []string
	b := open(t, env.URL, backends.Options{Warn: func(m string) { mu.Lock(); warnings = append(warnings, m); mu.Unlock() }})
	w := watchtest.Start(t, b, backends.WatchOptions{})
	env.Client(t, env.Addr).Set(context.Background(), "k", "v", 0)
	w.Await(t, backends.EventSet, "k", 10*time.Second)
	w.Stop()
	mu.Lock()
	if len(warnings) != 1 || !strings.Contains(warnings[0], "no CONFIG command") {
		t.Fatalf("warnings %q", warnings)
	}
	mu.Unlock()
	err := b.Watch(context.Background(), backends.WatchOptions{EnableNotifications: true}, func(backends.Event) error { return nil })
	var ue *backends.UnsupportedError
	if !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("--enable-notifications without CONFIG: %v", err)
	}
}
