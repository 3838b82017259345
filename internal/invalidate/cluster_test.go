package invalidate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/backends/redis"
	"github.com/cachectl/cachectl/internal/invalidate"
	"github.com/cachectl/cachectl/internal/invalidate/invalidatetest"
	"github.com/cachectl/cachectl/internal/testenv"
)

// deploymentURL is a real Redis Cluster's or Sentinel setup's URL from env.
func deploymentURL(t *testing.T, env, what string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		if testenv.Required() {
			t.Fatalf("%s is not set but CACHECTL_REQUIRE_SERVERS is: start the servers with `eval \"$(scripts/test-servers.sh start)\"`", env)
		}
		t.Skipf("no %s: set %s to run this test", what, env)
	}
	return v
}

func openURL(t *testing.T, raw string, opts backends.Options) backends.Backend {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := redis.Open(context.Background(), u, opts.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// admin is a go-redis client of the cluster, to disturb it behind the
// engine's back.
func admin(t *testing.T, raw string) *goredis.ClusterClient {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := u.User.Password()
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: strings.Split(u.Host, ","), Username: u.User.Username(), Password: pass})
	t.Cleanup(func() { c.Close() })
	return c
}

func runPrefix(name string) string { return fmt.Sprintf("ic%d-%s-", rand.Uint32(), name) }

// TestClusterCases: the engine's checks on a real cluster, undisturbed.
func TestClusterCases(t *testing.T) {
	b := openURL(t, deploymentURL(t, "CACHECTL_TEST_CLUSTER_URL", "Redis Cluster"), backends.Options{ScanCount: 50})
	for _, c := range invalidatetest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			sum := invalidatetest.Check(t, b, runPrefix(c.Name), 600, c)
			if len(sum.Nodes) < 2 {
				t.Fatalf("the keys of %d primaries came from %d", 3, len(sum.Nodes))
			}
		})
	}
}

// TestSentinelCases: the same behind Sentinel.
func TestSentinelCases(t *testing.T) {
	b := openURL(t, deploymentURL(t, "CACHECTL_TEST_SENTINEL_URL", "Redis Sentinel"), backends.Options{ScanCount: 50})
	for _, c := range invalidatetest.Cases() {
		t.Run(c.Name, func(t *testing.T) { invalidatetest.Check(t, b, runPrefix(c.Name), 600, c) })
	}
}

// primaries are the cluster's primaries: address and node ID, and one
// replica address of each.
type primary struct{ addr, id, replica string }

func primaries(t *testing.T, c *goredis.ClusterClient) []primary {
	t.Helper()
	slots, err := c.ClusterSlots(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []primary
	seen := map[string]bool{}
	for _, s := range slots {
		p := primary{addr: s.Nodes[0].Addr, id: s.Nodes[0].ID}
		if len(s.Nodes) > 1 {
			p.replica = s.Nodes[1].Addr
		}
		if !seen[p.id] {
			seen[p.id] = true
			out = append(out, p)
		}
	}
	return out
}

// reshard moves 600 slots from the first primary to the second with
// redis-cli, as an operator would.
func reshard(t *testing.T, c *goredis.ClusterClient) func(ctx context.Context) error {
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Skip("no redis-cli")
	}
	ps := primaries(t, c)
	from, to := ps[0], ps[1]
	return func(ctx context.Context) error {
		out, err := exec.CommandContext(ctx, "redis-cli", "--cluster", "reshard", from.addr,
			"--cluster-from", from.id, "--cluster-to", to.id, "--cluster-slots", "600",
			"--cluster-yes", "--cluster-pipeline", "10").CombinedOutput()
		if err != nil {
			return fmt.Errorf("redis-cli --cluster reshard: %v\n%s", err, out)
		}
		return nil
	}
}

// TestClusterReshardMidRun: slots move while invalidate deletes; nothing
// matching is left, nothing else touched, counts exact.
func TestClusterReshardMidRun(t *testing.T) {
	raw := deploymentURL(t, "CACHECTL_TEST_CLUSTER_URL", "Redis Cluster")
	b := openURL(t, raw, backends.Options{ScanCount: 20})
	sum := invalidatetest.Check(t, b, runPrefix("reshard"), 4000, invalidatetest.Case{
		Name: "reshard", Opts: invalidate.Options{Batch: 20, Rate: 2000},
		Disturb: reshard(t, admin(t, raw)), DisturbAfter: 200,
	})
	t.Logf("reshard of 600 slots mid-run: %d rounds", sum.Rounds)
}

// TestClusterReshardDryRun: dry runs, one after the other while slots move,
// each count exact.
func TestClusterReshardDryRun(t *testing.T) {
	raw := deploymentURL(t, "CACHECTL_TEST_CLUSTER_URL", "Redis Cluster")
	b := openURL(t, raw, backends.Options{ScanCount: 20})
	prefix := runPrefix("dry")
	const n = 4000
	invalidatetest.Seed(t, b, prefix, n)
	move := reshard(t, admin(t, raw))
	done := make(chan error, 1)
	go func() { done <- move(context.Background()) }()
	runs, rounds := 0, 0
	for moving := true; moving || runs == 0; runs++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			moving = false
		default:
		}
		sum, err := invalidate.Run(context.Background(), b, invalidate.Options{Patterns: []string{prefix + "inv:*"}, DryRun: true, Sample: 50})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Matched != n || len(sum.Sample) != 50 {
			t.Fatalf("dry run %d: matched %d of %d (sample %d) after %d rounds", runs, sum.Matched, n, len(sum.Sample), sum.Rounds)
		}
		if sum.Rounds > 0 {
			rounds++
		}
	}
	t.Logf("%d dry runs during the reshard, %d of them listed moved slots again", runs, rounds)
}

// TestClusterFailoverMidRun: a primary stops answering mid-run (CLIENT
// PAUSE WRITE: its deletes time out while listing goes on) and its replica
// takes over (CLUSTER FAILOVER TAKEOVER): the run
// rides through, and nothing matching is left.
func TestClusterFailoverMidRun(t *testing.T) {
	raw := deploymentURL(t, "CACHECTL_TEST_CLUSTER_URL", "Redis Cluster")
	c := admin(t, raw)
	b := openURL(t, raw, backends.Options{ScanCount: 20, Timeout: 500 * time.Millisecond})
	ps := primaries(t, c)
	victim := ps[2]
	if victim.replica == "" {
		t.Skip("the primary has no replica")
	}
	failover := func(ctx context.Context) error {
		p := goredis.NewClient(&goredis.Options{Addr: victim.addr})
		defer p.Close()
		r := goredis.NewClient(&goredis.Options{Addr: victim.replica})
		defer r.Close()
		if err := p.Do(ctx, "CLIENT", "PAUSE", "3000", "WRITE").Err(); err != nil {
			return fmt.Errorf("pause %s: %w", victim.addr, err)
		}
		if err := r.Do(ctx, "CLUSTER", "FAILOVER", "TAKEOVER").Err(); err != nil {
			return fmt.Errorf("takeover by %s: %w", victim.replica, err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; {
			role, err := r.Do(ctx, "ROLE").Slice()
			if err == nil && len(role) > 0 && role[0] == "master" {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s did not become a primary: %v %v", victim.replica, role, err)
			}
			time.Sleep(50 * time.Millisecond) // polling the promotion
		}
	}
	sum := invalidatetest.Check(t, b, runPrefix("failover"), 4000, invalidatetest.Case{
		Name: "failover", Opts: invalidate.Options{Batch: 20, Rate: 2000, RecoverWait: 15 * time.Second},
		Disturb: failover, DisturbAfter: 300,
	})
	t.Logf("failover mid-run: recovered %d, unconfirmed %d, verified %d, rounds %d", sum.Recovered, sum.Unconfirmed, sum.Verified, sum.Rounds)
}

// TestClusterStallMidRun: a primary holds its writes for a while (CLIENT
// PAUSE WRITE), so deletes sent to it time out unanswered, and then runs
// them: the run rides through (Recover finds every primary answering), sends
// the unanswered keys again, counts those already gone as unconfirmed, and
// leaves nothing matching.
func TestClusterStallMidRun(t *testing.T) {
	raw := deploymentURL(t, "CACHECTL_TEST_CLUSTER_URL", "Redis Cluster")
	c := admin(t, raw)
	b := openURL(t, raw, backends.Options{ScanCount: 20, Timeout: 300 * time.Millisecond})
	victim := primaries(t, c)[0]
	stall := func(ctx context.Context) error {
		p := goredis.NewClient(&goredis.Options{Addr: victim.addr})
		defer p.Close()
		return p.Do(ctx, "CLIENT", "PAUSE", "700", "WRITE").Err()
	}
	sum := invalidatetest.Check(t, b, runPrefix("stall"), 3000, invalidatetest.Case{
		Name: "stall", Opts: invalidate.Options{Batch: 20, Rate: 3000},
		Disturb: stall, DisturbAfter: 300,
	})
	if sum.Recovered == 0 {
		t.Fatalf("no delete was cut off by the stall: %+v", sum)
	}
}

// TestSentinelFailoverMidRun: the sentinels switch masters (SENTINEL
// FAILOVER) while invalidate runs: it rides through and leaves nothing
// matching, counts adding up.
func TestSentinelFailoverMidRun(t *testing.T) {
	raw := deploymentURL(t, "CACHECTL_TEST_SENTINEL_URL", "Redis Sentinel")
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	sentinel := goredis.NewSentinelClient(&goredis.Options{Addr: strings.Split(u.Host, ",")[0]})
	t.Cleanup(func() { sentinel.Close() })
	master := strings.Trim(u.Path, "/")
	b := openURL(t, raw, backends.Options{ScanCount: 20, Timeout: 500 * time.Millisecond})
	// A failover before this one may still be settling: writes to a master
	// about to be demoted would be lost, and the seed with them.
	if err := settled(context.Background(), sentinel, master); err != nil {
		t.Fatal(err)
	}
	before, err := sentinel.GetMasterAddrByName(context.Background(), master).Result()
	if err != nil {
		t.Fatal(err)
	}
	failover := func(ctx context.Context) error {
		if err := sentinel.Failover(ctx, master).Err(); err != nil {
			return fmt.Errorf("SENTINEL FAILOVER: %w", err)
		}
		for deadline := time.Now().Add(15 * time.Second); ; {
			now, err := sentinel.GetMasterAddrByName(ctx, master).Result()
			if err == nil && now[1] != before[1] {
				return settled(ctx, sentinel, master)
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the sentinels still name %v", now)
			}
			time.Sleep(50 * time.Millisecond) // polling the switch
		}
	}
	sum := invalidatetest.Check(t, b, runPrefix("sfailover"), 4000, invalidatetest.Case{
		Name: "sentinel-failover", Opts: invalidate.Options{Batch: 20, Rate: 2000, RecoverWait: 15 * time.Second},
		Disturb: failover, DisturbAfter: 300,
	})
	t.Logf("failover mid-run: recovered %d, unconfirmed %d, verified %d", sum.Recovered, sum.Unconfirmed, sum.Verified)
}

// settled waits until the master the sentinels name answers as a master and
// each replica it knows is connected to it.
func settled(ctx context.Context, sentinel *goredis.SentinelClient, master string) error {
	var last string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) { // polling the deployment
		addr, err := sentinel.GetMasterAddrByName(ctx, master).Result()
		if err != nil {
			last = err.Error()
			continue
		}
		m := goredis.NewClient(&goredis.Options{Addr: addr[0] + ":" + addr[1]})
		role, err := m.Do(ctx, "ROLE").Slice()
		m.Close()
		if err != nil || len(role) < 3 || role[0] != "master" {
			last = fmt.Sprintf("%v answers ROLE %v %v", addr, role, err)
			continue
		}
		replicas, _ := role[2].([]any)
		ok := len(replicas) > 0
		for _, rep := range replicas {
			f, _ := rep.([]any)
			if len(f) < 2 {
				ok = false
				break
			}
			r := goredis.NewClient(&goredis.Options{Addr: fmt.Sprint(f[0], ":", f[1])})
			rr, err := r.Do(ctx, "ROLE").Slice()
			r.Close()
			if err != nil || len(rr) < 4 || rr[0] != "slave" || rr[3] != "connected" {
				ok = false
				last = fmt.Sprintf("replica %v: ROLE %v %v", f, rr, err)
			}
		}
		if ok {
			return nil
		}
	}
	return fmt.Errorf("the Sentinel deployment did not settle: %s", last)
}
