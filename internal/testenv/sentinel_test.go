package testenv

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// checkSentinels checks that every sentinel refuses clients without its
// password and, with it, reports the master healthy with its replica and the
// two other sentinels, none of which it considers down (they log in to each
// other).
func checkSentinels(t *testing.T, s SentinelEnv, master string) {
	t.Helper()
	ctx := ctxT(t)
	for _, addr := range s.SentinelAddrs {
		anon := nodeClient(addr, "", "")
		err := anon.Ping(ctx).Err()
		_ = anon.Close()
		if err == nil || !strings.Contains(err.Error(), "NOAUTH") {
			t.Errorf("sentinel %s without its password: %v, want NOAUTH", addr, err)
		}
		sc := s.SentinelClient(t, addr)
		m, err := sc.Master(ctx, s.MasterName).Result()
		if err != nil {
			t.Errorf("sentinel %s: SENTINEL MASTER %s: %v", addr, s.MasterName, err)
			continue
		}
		want := map[string]string{"flags": "master", "num-slaves": "1", "num-other-sentinels": "2", "quorum": "2"}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("sentinel %s: %s is %q, want %q", addr, k, m[k], v)
			}
		}
		if got := m["ip"] + ":" + m["port"]; got != master {
			t.Errorf("sentinel %s reports master %s, want %s", addr, got, master)
		}
		peers, err := sc.Sentinels(ctx, s.MasterName).Result()
		if err != nil {
			t.Errorf("sentinel %s: SENTINEL SENTINELS: %v", addr, err)
			continue
		}
		for _, p := range peers {
			if p["flags"] != "sentinel" {
				t.Errorf("sentinel %s sees sentinel %s:%s as %s", addr, p["ip"], p["port"], p["flags"])
			}
		}
	}
}

func TestSharedSentinel(t *testing.T) {
	t.Parallel()
	s := Sentinel(t)
	if len(s.SentinelAddrs) != 3 || len(s.DataAddrs) != 2 || s.MasterName != "mymaster" {
		t.Fatalf("shared Sentinel setup: %+v", s)
	}
	if !strings.HasPrefix(s.URL, "redis+sentinel://"+s.User+":"+s.Password+"@") ||
		!strings.Contains(s.URL, "/"+s.MasterName+"?sentinel_password_env="+SentinelPasswordEnv) {
		t.Errorf("sentinel URL %q", s.URL)
	}
	master := s.Master(t)
	if !slices.Contains(s.DataAddrs, master) {
		t.Fatalf("master %s is not a data node %v", master, s.DataAddrs)
	}
	checkSentinels(t, s, master)
	for _, addr := range s.DataAddrs {
		checkLogin(t, addr, s.User, s.Password)
	}
}

// TestPrivateSentinelFailover fails a Sentinel setup of its own over with
// SENTINEL FAILOVER: the replica becomes the master, with the data, and the
// old master its replica.
func TestPrivateSentinelFailover(t *testing.T) {
	t.Parallel()
	s := PrivateSentinel(t)
	if s.State == "" {
		t.Fatalf("private Sentinel setup without state dir: %+v", s)
	}
	ctx := ctxT(t)
	old := s.Master(t)
	if old != s.DataAddrs[0] {
		t.Errorf("master at start is %s, want the first data node %s", old, s.DataAddrs[0])
	}
	checkSentinels(t, s, old)
	for _, addr := range s.DataAddrs {
		checkLogin(t, addr, s.User, s.Password)
	}
	if err := s.Client(t, old).Set(ctx, "before-failover", "yes", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// WAIT: the write reached the replica before it is promoted.
	if n, err := s.Client(t, old).Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 replica: %d, %v", n, err)
	}

	if err := s.SentinelClient(t, s.SentinelAddrs[0]).Failover(ctx, s.MasterName).Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER %s: %v", s.MasterName, err)
	}
	start := time.Now()
	if promoted, want := s.WaitPromoted(t, old, 30*time.Second), s.Replica(t, old); promoted != want {
		t.Fatalf("new master %s, want the replica %s", promoted, want)
	}
	promoted := s.WaitMaster(t, old, 30*time.Second)
	if want := s.Replica(t, old); promoted != want {
		t.Fatalf("new master %s, want the replica %s", promoted, want)
	}
	if v, err := s.Client(t, promoted).Get(ctx, "before-failover").Result(); err != nil || v != "yes" {
		t.Errorf("GET on the new master = %q, %v", v, err)
	}
	if got := s.Master(t); got != promoted {
		t.Errorf("Master = %s after WaitMaster said %s", got, promoted)
	}
	t.Logf("SENTINEL FAILOVER: %s -> %s in %s", old, promoted, time.Since(start).Round(10*time.Millisecond))
}
