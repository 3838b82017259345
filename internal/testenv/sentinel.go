package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelPasswordEnv is the environment variable the Sentinel URLs name
// (sentinel_password_env) for the sentinels' password; scripts/test-servers.sh
// start exports it.
const SentinelPasswordEnv = "CACHECTL_TEST_SENTINEL_PASSWORD"

// SentinelEnv is a Sentinel setup started by scripts/test-servers.sh: a
// master, one replica and three sentinels (quorum 2). The shared one
// (Sentinel) must never fail over; PrivateSentinel's may.
type SentinelEnv struct {
	// URL is redis+sentinel://user:password@SENTINELS/MASTER?sentinel_password_env=...
	URL string
	// SentinelAddrs are the three sentinels' host:port.
	SentinelAddrs []string
	// MasterName is the name the sentinels monitor the master under.
	MasterName string
	// SentinelPassword is the sentinels' own password (no user).
	SentinelPassword string
	// DataAddrs are the data nodes: the master at start, then its replica.
	DataAddrs []string
	// Servers: User and Password of the data nodes (the sentinels have
	// only SentinelPassword), State, Client, Kill and Restart.
	Servers
}

// Sentinel returns the shared Sentinel setup of scripts/test-servers.sh start.
// Never fail it over or stop its nodes; use PrivateSentinel for that.
func Sentinel(t testing.TB) SentinelEnv {
	t.Helper()
	return sentinelFrom(func(name, what string) string { return need(t, name, what) })
}

// sentinelFrom builds a SentinelEnv from test-servers.sh's variables, as get
// returns them (what says what a variable is).
func sentinelFrom(get func(name, what string) string) SentinelEnv {
	return SentinelEnv{
		URL:              get("CACHECTL_TEST_SENTINEL_URL", "Redis Sentinel setup"),
		SentinelAddrs:    splitAddrs(get("CACHECTL_TEST_SENTINEL_ADDRS", "Redis Sentinel setup")),
		MasterName:       get("CACHECTL_TEST_SENTINEL_MASTER", "Sentinel master name"),
		SentinelPassword: get(SentinelPasswordEnv, "sentinel password"),
		DataAddrs:        splitAddrs(get("CACHECTL_TEST_SENTINEL_DATA_ADDRS", "Sentinel data nodes")),
		Servers: Servers{
			User:     get("CACHECTL_TEST_SENTINEL_DATA_USER", "Sentinel data node user"),
			Password: get("CACHECTL_TEST_SENTINEL_DATA_PASSWORD", "Sentinel data node password"),
		},
	}
}

// PrivateSentinel starts a Sentinel setup of the test's own with
// `scripts/test-servers.sh sentinel`, settled (the sentinels see the master,
// its replica and each other), and stops it when the test ends. Its URL names
// the password by SentinelPasswordEnv like the shared one's, so that variable
// must be set as start exports it (the test skips, or fails when servers are
// required, otherwise).
func PrivateSentinel(t testing.TB) SentinelEnv {
	t.Helper()
	password := need(t, SentinelPasswordEnv, "sentinel password")
	vars := startPrivate(t, "sentinel", "CACHECTL_TEST_SENTINEL_STATE")
	s := sentinelFrom(func(name, _ string) string { return vars[name] })
	s.State = vars["CACHECTL_TEST_SENTINEL_STATE"]
	if s.URL == "" || len(s.SentinelAddrs) == 0 || len(s.DataAddrs) == 0 || s.MasterName == "" {
		t.Fatalf("scripts/test-servers.sh sentinel printed an incomplete setup: %v", vars)
	}
	if s.SentinelPassword != password {
		t.Fatalf("the private sentinels' password differs from $%s, which their URL names", SentinelPasswordEnv)
	}
	return s
}

// SentinelClient returns a client of the sentinel at addr, logged in with
// the sentinels' password, closed when the test ends.
func (s SentinelEnv) SentinelClient(t testing.TB, addr string) *redis.SentinelClient {
	t.Helper()
	cl := s.sentinel(addr)
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

func (s SentinelEnv) sentinel(addr string) *redis.SentinelClient {
	return redis.NewSentinelClient(nodeOptions(addr, "", s.SentinelPassword))
}

// Master returns the master's address as the sentinels report it, waiting up
// to 10s for every sentinel that answers to report the same one.
func (s SentinelEnv) Master(t testing.TB) string {
	t.Helper()
	var master string
	err := poll(10*time.Second, func(ctx context.Context) error {
		var err error
		master, err = s.reportedMaster(ctx)
		return err
	})
	if err != nil {
		t.Fatalf("sentinels %s: %v", strings.Join(s.SentinelAddrs, ","), err)
	}
	return master
}

// WaitMaster waits until the setup is settled on a master other than
// notAddr (any master when it is empty), or fails the test after timeout:
// the sentinels that answer all report it, with no failover in progress, it
// answers ROLE as a master, every other data node that answers is its
// replica, linked, and every sentinel could pick that replica for the next
// SENTINEL FAILOVER at once. Returns the master. After SENTINEL FAILOVER this
// takes some 10s; see WaitPromoted.
func (s SentinelEnv) WaitMaster(t testing.TB, notAddr string, timeout time.Duration) string {
	t.Helper()
	return s.waitMaster(t, notAddr, timeout, true)
}

// WaitPromoted waits only until the sentinels that answer all report the
// same master other than notAddr and it answers ROLE as a master, which after
// SENTINEL FAILOVER is about a second; WaitMaster also waits for the old
// master to be turned into its replica, which Sentinel does only some 10s
// later (it waits 8s before reconfiguring a node that still says it is a
// master, and asks replicas for INFO every 10s). Returns the new master.
func (s SentinelEnv) WaitPromoted(t testing.TB, notAddr string, timeout time.Duration) string {
	t.Helper()
	return s.waitMaster(t, notAddr, timeout, false)
}

// waitMaster is WaitMaster, or WaitPromoted unless settled.
func (s SentinelEnv) waitMaster(t testing.TB, notAddr string, timeout time.Duration, settled bool) string {
	t.Helper()
	start := time.Now()
	var master string
	err := poll(timeout, func(ctx context.Context) error {
		m, err := s.reportedMaster(ctx)
		if err != nil {
			return err
		}
		if m == notAddr {
			return fmt.Errorf("the sentinels still report %s", m)
		}
		if err := s.checkMaster(ctx, m); err != nil {
			return err
		}
		if settled {
			if err := s.checkReplicas(ctx, m); err != nil {
				return err
			}
			if err := s.checkSentinelViews(ctx, m); err != nil {
				return err
			}
		}
		master = m
		return nil
	})
	if err != nil {
		t.Fatalf("no new master after %s: %v", timeout, err)
	}
	t.Logf("master %s (settled: %v) after %s", master, settled, time.Since(start).Round(10*time.Millisecond))
	return master
}

// reportedMaster is the master every sentinel that answers reports.
func (s SentinelEnv) reportedMaster(ctx context.Context) (string, error) {
	master, answered := "", 0
	for _, addr := range s.SentinelAddrs {
		cl := s.sentinel(addr)
		hp, err := cl.GetMasterAddrByName(ctx, s.MasterName).Result()
		_ = cl.Close()
		if unreachable(err) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("sentinel %s: %w", addr, err)
		}
		if len(hp) != 2 {
			return "", fmt.Errorf("sentinel %s: get-master-addr-by-name answered %q", addr, hp)
		}
		m := net.JoinHostPort(hp[0], hp[1])
		if answered > 0 && m != master {
			return "", fmt.Errorf("sentinels disagree: %s, %s says %s", master, addr, m)
		}
		master = m
		answered++
	}
	if answered == 0 {
		return "", errors.New("no sentinel answers")
	}
	return master, nil
}

// checkReplicas checks that every data node but master that answers
// replicates it over a link that is up.
func (s SentinelEnv) checkReplicas(ctx context.Context, master string) error {
	_, mport, _ := net.SplitHostPort(master)
	for _, addr := range s.DataAddrs {
		if addr == master {
			continue
		}
		cl := nodeClient(addr, s.User, s.Password)
		info, err := cl.Info(ctx, "replication").Result()
		_ = cl.Close()
		if unreachable(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("data node %s: %w", addr, err)
		}
		if !strings.Contains(info, "role:slave") || !strings.Contains(info, "master_port:"+mport+"\r\n") ||
			!strings.Contains(info, "master_link_status:up") {
			return fmt.Errorf("data node %s is not a linked replica of %s yet", addr, master)
		}
	}
	return nil
}

// checkSentinelViews checks that every sentinel that answers is done with
// the failover and would start another: it sees master without a failover in
// progress and every other data node as a replica it reaches and has had INFO
// from. (What a replica said in that INFO, its role and link, may be up to
// 10s old: sentinels ask replicas every 10s.)
func (s SentinelEnv) checkSentinelViews(ctx context.Context, master string) error {
	for _, addr := range s.SentinelAddrs {
		cl := s.sentinel(addr)
		m, err := cl.Master(ctx, s.MasterName).Result()
		var replicas []map[string]string
		if err == nil {
			replicas, err = cl.Replicas(ctx, s.MasterName).Result()
		}
		_ = cl.Close()
		if unreachable(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sentinel %s: %w", addr, err)
		}
		if m["flags"] != "master" {
			return fmt.Errorf("sentinel %s sees master %s as %s", addr, master, m["flags"])
		}
		for _, d := range s.DataAddrs {
			if d == master {
				continue
			}
			i := slices.IndexFunc(replicas, func(r map[string]string) bool { return net.JoinHostPort(r["ip"], r["port"]) == d })
			if i < 0 {
				return fmt.Errorf("sentinel %s does not list %s as a replica yet", addr, d)
			}
			// info-refresh: milliseconds since the last INFO reply (since 1970 before the first).
			r := replicas[i]
			if refresh, err := strconv.ParseInt(r["info-refresh"], 10, 64); r["flags"] != "slave" || err != nil || refresh > 30000 {
				return fmt.Errorf("sentinel %s sees replica %s as %s, last INFO %sms ago", addr, d, r["flags"], r["info-refresh"])
			}
		}
	}
	return nil
}

// checkMaster checks that master answers ROLE as a master.
func (s SentinelEnv) checkMaster(ctx context.Context, master string) error {
	cl := nodeClient(master, s.User, s.Password)
	role, err := cl.Do(ctx, "ROLE").Slice()
	_ = cl.Close()
	if err != nil {
		return fmt.Errorf("master %s: ROLE: %w", master, err)
	}
	if len(role) == 0 || role[0] != "master" {
		return fmt.Errorf("%s answers ROLE %v", master, role)
	}
	return nil
}

// Replica returns the data node other than master (the setup has two).
func (s SentinelEnv) Replica(t testing.TB, master string) string {
	t.Helper()
	i := slices.IndexFunc(s.DataAddrs, func(a string) bool { return a != master })
	if i < 0 || !slices.Contains(s.DataAddrs, master) {
		t.Fatalf("%s is not one of the data nodes %v", master, s.DataAddrs)
	}
	return s.DataAddrs[i]
}
