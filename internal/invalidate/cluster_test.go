package invalidate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/backends/redis"
	"github.com/cachectl/cachectl/internal/invalidate"
	"github.com/cachectl/cachectl/internal/invalidate/invalidatetest"
	"github.com/cachectl/cachectl/internal/testenv"
)

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

func runPrefix(name string) string { return fmt.Sprintf("ic%d-%s-", rand.Uint32(), name) }

// TestClusterCases: the engine's checks on a real cluster, undisturbed.
func TestClusterCases(t *testing.T) {
	b := openURL(t, testenv.Cluster(t).URL, backends.Options{ScanCount: 50})
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
	env := testenv.Sentinel(t)
	b := openURL(t, env.URL, backends.Options{ScanCount: 50, SentinelPassword: env.SentinelPassword})
	for _, c := range invalidatetest.Cases() {
		t.Run(c.Name, func(t *testing.T) { invalidatetest.Check(t, b, runPrefix(c.Name), 600, c) })
	}
}

// primary is one of a cluster's primaries: address, node ID and a replica's address.
type primary struct{ addr, id, replica string }

func primaries(t *testing.T, env testenv.ClusterEnv) []primary {
	t.Helper()
	nodes := env.Nodes(t)
	var out []primary
	for _, n := range nodes {
		if n.Primary && n.SlotCount() > 0 {
			p := primary{addr: n.Addr, id: n.ID}
			for _, r := range nodes {
				if !r.Primary && r.PrimaryID == n.ID {
					p.replica = r.Addr
				}
			}
			out = append(out, p)
		}
	}
	return out
}

// reshard moves 600 slots from the first primary to the second with
// redis-cli, as an operator would.
func reshard(t *testing.T, env testenv.ClusterEnv) func(ctx context.Context) error {
	ps := primaries(t, env)
	from, to := ps[0], ps[1]
	return func(ctx context.Context) error {
		out, err := env.RedisCLICommand(ctx, "--cluster", "reshard", from.addr,
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
	env := testenv.PrivateCluster(t)
	b := openURL(t, env.URL, backends.Options{ScanCount: 20})
	sum := invalidatetest.Check(t, b, runPrefix("reshard"), 4000, invalidatetest.Case{
		Name: "reshard", Opts: invalidate.Options{Batch: 20, Rate: 2000},
		Disturb: reshard(t, env), DisturbAfter: 200,
	})
	t.Logf("reshard of 600 slots mid-run: %d rounds", sum.Rounds)
	// Slots moved between the same primaries, no connection lost: not a
	// failover, and nothing came back.
	if sum.Recovered != 0 || sum.Restored != 0 {
		t.Fatalf("a reshard counted as a failover: recovered %d, restored %d", sum.Recovered, sum.Restored)
	}
}

// TestClusterReshardDryRun: dry runs, one after the other while slots move,
// each count exact.
func TestClusterReshardDryRun(t *testing.T) {
	env := testenv.PrivateCluster(t)
	b := openURL(t, env.URL, backends.Options{ScanCount: 20})
	prefix := runPrefix("dry")
	const n = 4000
	invalidatetest.Seed(t, b, prefix, n)
	move := reshard(t, env)
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
	env := testenv.PrivateCluster(t)
	b := openURL(t, env.URL, backends.Options{ScanCount: 20, Timeout: 500 * time.Millisecond})
	victim := primaries(t, env)[2]
	if victim.replica == "" {
		t.Fatal("the primary has no replica")
	}
	p, r := env.Client(t, victim.addr), env.Client(t, victim.replica)
	failover := func(ctx context.Context) error {
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
	env := testenv.PrivateCluster(t)
	b := openURL(t, env.URL, backends.Options{ScanCount: 20, Timeout: 300 * time.Millisecond})
	p := env.Client(t, primaries(t, env)[0].addr)
	stall := func(ctx context.Context) error {
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
	env, b, before, failover := sentinelFailover(t)
	sum := invalidatetest.Check(t, b, runPrefix("sfailover"), 4000, invalidatetest.Case{
		Name: "sentinel-failover", Opts: invalidate.Options{Batch: 20, Rate: 2000, RecoverWait: 15 * time.Second},
		Disturb: failover, DisturbAfter: 300,
	})
	t.Logf("failover mid-run: recovered %d, unconfirmed %d, verified %d, restored %d; master %s, then %s", sum.Recovered, sum.Unconfirmed, sum.Verified, sum.Restored, before, env.WaitPromoted(t, before, 30*time.Second))
	// 4000 keys matched: never more deleted, however many the failover
	// brought back (Check also holds deleted + unconfirmed to exactly the
	// 4000, the keys deleted again being restored).
	if sum.Deleted > 4000 || sum.Matched > 4000 || sum.MaybeCountedTwice != 0 {
		t.Fatalf("across a master switch: %+v", sum)
	}
}

// TestSentinelFailoverMax: --max below the matching keys with the master
// switched mid-run: the keys counted as deleted are gone at the end (Check:
// deleted <= gone), including deletes the old master acknowledged that the
// switch brought back after Max was reached, and no more than Max went.
func TestSentinelFailoverMax(t *testing.T) {
	env, b, before, failover := sentinelFailover(t)
	sum := invalidatetest.Check(t, b, runPrefix("sfailovermax"), 4000, invalidatetest.Case{
		Name: "sentinel-failover-max", Opts: invalidate.Options{Batch: 20, Rate: 1000, Max: 3000, RecoverWait: 15 * time.Second},
		Disturb: failover, DisturbAfter: 500,
	})
	t.Logf("failover under --max: recovered %d, unconfirmed %d, restored %d, maybe back %d; master %s, then %s", sum.Recovered, sum.Unconfirmed, sum.Restored, sum.MaybeBack, before, env.WaitPromoted(t, before, 30*time.Second))
	if sum.MaybeBack != 0 {
		t.Fatalf("across a master switch: %+v", sum)
	}
}

// sentinelFailover is a private Sentinel deployment, a backend on it, its
// master, and a disturbance that switches masters (SENTINEL FAILOVER).
func sentinelFailover(t *testing.T) (testenv.SentinelEnv, backends.Backend, string, func(context.Context) error) {
	t.Helper()
	env := testenv.PrivateSentinel(t)
	b := openURL(t, env.URL, backends.Options{ScanCount: 20, Timeout: 500 * time.Millisecond, SentinelPassword: env.SentinelPassword})
	sentinel := env.SentinelClient(t, env.SentinelAddrs[0])
	before := env.Master(t)
	failover := func(ctx context.Context) error {
		if err := sentinel.Failover(ctx, env.MasterName).Err(); err != nil {
			return fmt.Errorf("SENTINEL FAILOVER: %w", err)
		}
		// Back only once the sentinels name the new master, so the run's
		// end and the check come after the switch.
		for deadline := time.Now().Add(15 * time.Second); ; {
			now, err := sentinel.GetMasterAddrByName(ctx, env.MasterName).Result()
			if err == nil && len(now) == 2 && now[0]+":"+now[1] != before {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the sentinels still name %v (%v)", now, err)
			}
			time.Sleep(50 * time.Millisecond) // polling the switch
		}
	}
	return env, b, before, failover
}
