package testenv

import (
	"slices"
	"strings"
	"testing"
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
