package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// TotalSlots is the number of hash slots of a Redis Cluster.
const TotalSlots = 16384

// ClusterEnv is a Redis Cluster started by scripts/test-servers.sh: the
// shared one (Cluster), which tests in every package use at once and must
// leave as they found it, or a private one (PrivateCluster) a test may
// reshard, fail over or kill nodes of.
type ClusterEnv struct {
	// URL is redis+cluster://user:password@ naming every node.
	URL string
	// Addrs are every node's host:port, primaries and replicas.
	Addrs []string
	// Servers: User and Password (both empty on a cluster started without
	// ACL, ClusterOptions.NoAuth), State, Client, Kill and Restart.
	Servers
}

// Cluster returns the shared cluster of scripts/test-servers.sh start: 3
// primaries with a replica each, every node refusing clients that do not log
// in as User. Never change its topology; use PrivateCluster for that.
func Cluster(t testing.TB) ClusterEnv {
	t.Helper()
	return clusterFrom(func(name, what string) string { return need(t, name, what) })
}

// clusterFrom builds a ClusterEnv from test-servers.sh's variables, as get
// returns them (what says what a variable is).
func clusterFrom(get func(name, what string) string) ClusterEnv {
	return ClusterEnv{
		URL:   get("CACHECTL_TEST_CLUSTER_URL", "Redis Cluster"),
		Addrs: splitAddrs(get("CACHECTL_TEST_CLUSTER_ADDRS", "Redis Cluster")),
		Servers: Servers{
			User:     get("CACHECTL_TEST_CLUSTER_USER", "Redis Cluster user"),
			Password: get("CACHECTL_TEST_CLUSTER_PASSWORD", "Redis Cluster password"),
		},
	}
}

// ClusterOptions shape a private cluster.
type ClusterOptions struct {
	// Primaries is the number of primaries: 3 when 0, at least 3.
	Primaries int
	// NoReplicas starts primaries only; otherwise each has one replica.
	NoReplicas bool
	// NoAuth leaves the default user on without a password (for benchmarks).
	NoAuth bool
}

// PrivateCluster starts a cluster of the test's own (3 primaries with a
// replica each, ACL as on the shared one) with `scripts/test-servers.sh
// cluster`, settled, and stops it when the test ends. It takes a few seconds.
func PrivateCluster(t testing.TB) ClusterEnv {
	t.Helper()
	return PrivateClusterWith(t, ClusterOptions{})
}

// PrivateClusterWith is PrivateCluster shaped by opts.
func PrivateClusterWith(t testing.TB, opts ClusterOptions) ClusterEnv {
	t.Helper()
	env := []string{"CACHECTL_TEST_CLUSTER_AUTH=1", "CACHECTL_TEST_CLUSTER_REPLICAS=1", "CACHECTL_TEST_CLUSTER_PRIMARIES=3"}
	if opts.NoAuth {
		env[0] = "CACHECTL_TEST_CLUSTER_AUTH=0"
	}
	if opts.NoReplicas {
		env[1] = "CACHECTL_TEST_CLUSTER_REPLICAS=0"
	}
	if opts.Primaries != 0 {
		env[2] = "CACHECTL_TEST_CLUSTER_PRIMARIES=" + strconv.Itoa(opts.Primaries)
	}
	vars := startPrivate(t, "cluster", "CACHECTL_TEST_CLUSTER_STATE", env...)
	c := clusterFrom(func(name, _ string) string { return vars[name] })
	c.State = vars["CACHECTL_TEST_CLUSTER_STATE"]
	if c.URL == "" || len(c.Addrs) == 0 {
		t.Fatalf("scripts/test-servers.sh cluster printed no cluster URL or addresses: %v", vars)
	}
	return c
}

// ClusterClient returns a go-redis cluster client of every node, logged in,
// for arranging and checking data behind cachectl's back; closed when the test ends.
func (c ClusterEnv) ClusterClient(t testing.TB) *redis.ClusterClient {
	t.Helper()
	cl := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:           c.Addrs,
		Username:        c.User,
		Password:        c.Password,
		Protocol:        2,
		DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	})
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// RedisCLI runs redis-cli logged in as the cluster's user (the password goes
// through REDISCLI_AUTH) with args, e.g. "--cluster", "reshard", addr,
// "--cluster-from", id, ...; it fails the test when redis-cli fails and
// returns its output. From a goroutine other than the test's, use RedisCLICommand.
func (c ClusterEnv) RedisCLI(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := c.RedisCLICommand(ctx, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// RedisCLICommand is the redis-cli command RedisCLI runs, not started.
func (c ClusterEnv) RedisCLICommand(ctx context.Context, args ...string) *exec.Cmd {
	return redisCLI(ctx, c.User, c.Password, args...)
}

func redisCLI(ctx context.Context, user, password string, args ...string) *exec.Cmd {
	var full []string
	if user != "" {
		full = append(full, "--user", user)
	}
	cmd := exec.CommandContext(ctx, "redis-cli", append(full, args...)...)
	// Only the password given here: not one inherited from the environment.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "REDISCLI_AUTH=") })
	if password != "" {
		cmd.Env = append(cmd.Env, "REDISCLI_AUTH="+password)
	}
	return cmd
}

// ClusterNode is one node as the cluster sees it.
type ClusterNode struct {
	ID   string
	Addr string
	// Primary is true for a primary (even one without slots), false for a replica.
	Primary bool
	// PrimaryID and PrimaryAddr name a replica's primary.
	PrimaryID, PrimaryAddr string
	// Slots are a primary's slot ranges, both ends included, in order.
	Slots [][2]int
	// Up is true when the node answers and no node flags it as failing.
	Up bool
}

// SlotCount is how many slots the node serves.
func (n ClusterNode) SlotCount() int {
	total := 0
	for _, r := range n.Slots {
		total += r[1] - r[0] + 1
	}
	return total
}

// Nodes returns every node, sorted by address, as all the nodes that answer
// agree they are (roles, replication and slot ownership; it waits up to 10s
// for them to agree), e.g. to find the node IDs redis-cli --cluster reshard
// wants, or a primary's replica to fail over to.
func (c ClusterEnv) Nodes(t testing.TB) []ClusterNode {
	t.Helper()
	var nodes []ClusterNode
	err := poll(10*time.Second, func(ctx context.Context) error {
		snap, err := c.snapshot(ctx)
		if err != nil {
			return err
		}
		nodes, err = snap.agreed()
		return err
	})
	if err != nil {
		t.Fatalf("cluster %s: %v", strings.Join(c.Addrs, ","), err)
	}
	return nodes
}

// Primaries returns the addresses of the primaries that are up (see Nodes), sorted.
func (c ClusterEnv) Primaries(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, n := range c.Nodes(t) {
		if n.Primary && n.Up {
			out = append(out, n.Addr)
		}
	}
	slices.Sort(out)
	return out
}

// Node returns the node at addr (see Nodes).
func (c ClusterEnv) Node(t testing.TB, addr string) ClusterNode {
	t.Helper()
	for _, n := range c.Nodes(t) {
		if n.Addr == addr {
			return n
		}
	}
	t.Fatalf("cluster has no node %s", addr)
	return ClusterNode{}
}

// WaitOK waits until the cluster is settled, or fails the test after timeout:
// every node that answers says cluster_state:ok, all of them agree on every
// node's role and on which primary owns each of the 16384 slots (all owned
// by nodes that answer, none migrating), none of them flags one that answers
// as failing, and every replica that answers is linked to its primary. Nodes
// that do not answer (killed) are left out, as long as they own no slots.
func (c ClusterEnv) WaitOK(t testing.TB, timeout time.Duration) {
	t.Helper()
	start := time.Now()
	err := poll(timeout, func(ctx context.Context) error {
		snap, err := c.snapshot(ctx)
		if err != nil {
			return err
		}
		return snap.settled(ctx, c)
	})
	if err != nil {
		t.Fatalf("cluster %s not settled after %s: %v", strings.Join(c.Addrs, ","), timeout, err)
	}
	t.Logf("cluster settled after %s", time.Since(start).Round(10*time.Millisecond))
}

// nodeLine is one line of CLUSTER NODES.
type nodeLine struct {
	id, addr, primaryID string
	flags               []string
	connected           bool
	slots               [][2]int
	migrating           bool // an importing or migrating slot
}

func (l nodeLine) has(flag string) bool { return slices.Contains(l.flags, flag) }

func (l nodeLine) failing() bool {
	return l.has("fail") || l.has("fail?") || l.has("handshake") || l.has("noaddr")
}

func parseClusterNodes(text string) ([]nodeLine, error) {
	var out []nodeLine
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 8 {
			return nil, fmt.Errorf("malformed CLUSTER NODES line %q", line)
		}
		// ip:port@cport[,hostname]
		addr, _, _ := strings.Cut(f[1], "@")
		l := nodeLine{id: f[0], addr: addr, flags: strings.Split(f[2], ","), connected: f[7] == "connected"}
		if f[3] != "-" {
			l.primaryID = f[3]
		}
		for _, s := range f[8:] {
			if strings.HasPrefix(s, "[") {
				l.migrating = true
				continue
			}
			lo, hi, isRange := strings.Cut(s, "-")
			if !isRange {
				hi = lo
			}
			a, err1 := strconv.Atoi(lo)
			b, err2 := strconv.Atoi(hi)
			if err1 != nil || err2 != nil || a > b {
				return nil, fmt.Errorf("bad slot range %q in CLUSTER NODES line %q", s, line)
			}
			l.slots = append(l.slots, [2]int{a, b})
		}
		out = append(out, l)
	}
	return out, nil
}

// clusterSnapshot is what every node that answered said, by address.
type clusterSnapshot struct {
	order []string // the nodes that answered, in Addrs order
	info  map[string]string
	views map[string][]nodeLine
}

func (c ClusterEnv) snapshot(ctx context.Context) (*clusterSnapshot, error) {
	s := &clusterSnapshot{info: map[string]string{}, views: map[string][]nodeLine{}}
	for _, addr := range c.Addrs {
		cl := nodeClient(addr, c.User, c.Password)
		info, err := cl.ClusterInfo(ctx).Result()
		var text string
		if err == nil {
			text, err = cl.ClusterNodes(ctx).Result()
		}
		_ = cl.Close()
		if unreachable(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", addr, err)
		}
		view, err := parseClusterNodes(text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", addr, err)
		}
		s.order = append(s.order, addr)
		s.info[addr] = info
		s.views[addr] = view
	}
	if len(s.order) == 0 {
		return nil, errors.New("no node answers")
	}
	return s, nil
}

// canonical is a view reduced to what nodes must agree on: per node
// address, its role, its primary's address and its slots.
func canonical(view []nodeLine) map[string]string {
	addrOf := map[string]string{}
	for _, l := range view {
		addrOf[l.id] = l.addr
	}
	out := map[string]string{}
	for _, l := range view {
		if l.has("master") {
			out[l.addr] = fmt.Sprintf("primary %v", l.slots)
		} else {
			out[l.addr] = "replica of " + addrOf[l.primaryID]
		}
	}
	return out
}

// agreed returns the nodes as every node that answered sees them, or why they disagree.
func (s *clusterSnapshot) agreed() ([]ClusterNode, error) {
	first := s.order[0]
	want := canonical(s.views[first])
	for _, addr := range s.order[1:] {
		got := canonical(s.views[addr])
		for a, w := range want {
			if got[a] != w {
				return nil, fmt.Errorf("%s sees %s as %q, %s as %q", first, a, w, addr, got[a])
			}
		}
		for a, g := range got {
			if _, ok := want[a]; !ok {
				return nil, fmt.Errorf("%s knows %s (%s), %s does not", addr, a, g, first)
			}
		}
	}
	up := map[string]bool{}
	for _, a := range s.order {
		up[a] = true
	}
	for _, view := range s.views {
		for _, l := range view {
			if l.failing() {
				up[l.addr] = false
			}
		}
	}
	view := s.views[first]
	addrOf := map[string]string{}
	for _, l := range view {
		addrOf[l.id] = l.addr
	}
	var nodes []ClusterNode
	for _, l := range view {
		n := ClusterNode{ID: l.id, Addr: l.addr, Primary: l.has("master"), Slots: l.slots, Up: up[l.addr]}
		if !n.Primary {
			n.PrimaryID, n.PrimaryAddr = l.primaryID, addrOf[l.primaryID]
		}
		nodes = append(nodes, n)
	}
	slices.SortFunc(nodes, func(a, b ClusterNode) int { return strings.Compare(a.Addr, b.Addr) })
	return nodes, nil
}

// settled is WaitOK's condition on one snapshot.
func (s *clusterSnapshot) settled(ctx context.Context, c ClusterEnv) error {
	for _, addr := range s.order {
		if !strings.Contains(s.info[addr], "cluster_state:ok") {
			return fmt.Errorf("%s: cluster_state is not ok", addr)
		}
		for _, l := range s.views[addr] {
			if l.migrating {
				return fmt.Errorf("%s: a slot of %s is migrating", addr, l.addr)
			}
			if answers := s.info[l.addr] != ""; answers && (l.failing() || !l.connected) {
				return fmt.Errorf("%s sees %s as %s (link %v)", addr, l.addr, strings.Join(l.flags, ","), l.connected)
			}
		}
	}
	nodes, err := s.agreed()
	if err != nil {
		return err
	}
	covered := 0
	for _, n := range nodes {
		if n.Primary {
			covered += n.SlotCount()
			if n.SlotCount() > 0 && s.info[n.Addr] == "" {
				return fmt.Errorf("primary %s owns %d slots but does not answer", n.Addr, n.SlotCount())
			}
		}
	}
	if covered != TotalSlots {
		return fmt.Errorf("%d of %d slots covered", covered, TotalSlots)
	}
	for _, n := range nodes {
		if n.Primary || s.info[n.Addr] == "" {
			continue
		}
		cl := nodeClient(n.Addr, c.User, c.Password)
		info, err := cl.Info(ctx, "replication").Result()
		_ = cl.Close()
		if err != nil {
			return fmt.Errorf("replica %s: %w", n.Addr, err)
		}
		_, port, _ := strings.Cut(n.PrimaryAddr, ":")
		if !strings.Contains(info, "master_link_status:up") || !strings.Contains(info, "master_port:"+port+"\r\n") {
			return fmt.Errorf("replica %s is not linked to its primary %s yet", n.Addr, n.PrimaryAddr)
		}
	}
	return nil
}
