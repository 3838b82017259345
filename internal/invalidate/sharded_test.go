package invalidate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/glob"
)

// seedFake writes n keys under each name, and returns all of them.
func seedFake(t *testing.T, c *fakeCluster, names []string, n int) []string {
	t.Helper()
	var all []string
	for _, name := range names {
		for i := range n {
			k := fmt.Sprintf("%s:%d", name, i)
			if err := c.Set(context.Background(), k, nil, 0); err != nil {
				t.Fatal(err)
			}
			all = append(all, k)
		}
	}
	slices.Sort(all)
	return all
}

// matchingOf splits keys into those a run of patterns (with match) takes
// and those it must leave.
func matchingOf(all []string, patterns []string, match func(string) bool) (take, keep []string) {
	for _, k := range all {
		if matchesAny(patterns, k) && (match == nil || match(k)) {
			take = append(take, k)
		} else {
			keep = append(keep, k)
		}
	}
	return take, keep
}

// checkLeft fails unless the fake holds exactly keep.
func checkLeft(t *testing.T, c *fakeCluster, keep []string) {
	t.Helper()
	if left := c.all(); !slices.Equal(left, keep) {
		t.Fatalf("%d keys left, want exactly the %d that do not match", len(left), len(keep))
	}
}

// checkNodes fails unless the per-node figures add up to the totals.
func checkNodes(t *testing.T, sum Summary, nodes int) {
	t.Helper()
	var m, d, u int64
	for i, n := range sum.Nodes {
		if i > 0 && sum.Nodes[i-1].Node >= n.Node {
			t.Fatalf("nodes not sorted: %+v", sum.Nodes)
		}
		m, d, u = m+n.Matched, d+n.Deleted, u+n.Unconfirmed
	}
	if len(sum.Nodes) != nodes || m != sum.Matched || d != sum.Deleted || u != sum.Unconfirmed {
		t.Fatalf("nodes %+v do not add up to the summary %+v", sum.Nodes, sum)
	}
}

// TestShardedExactAndParallel: every primary deletes its own keys at the
// same time; exactly the matching keys go, each counted once.
func TestShardedExactAndParallel(t *testing.T) {
	c := newFakeCluster(3)
	c.waitPeer = true
	all := seedFake(t, c, []string{"user", "users", "session", "usr"}, 300)
	patterns := []string{"user:*", "session:1*", "user:1*"} // the last overlaps the first
	take, keep := matchingOf(all, patterns, nil)
	var progress []Progress
	sum, err := Run(context.Background(), c, Options{Patterns: patterns, Batch: 20, Progress: func(p Progress) { progress = append(progress, p) }})
	if err != nil {
		t.Fatal(err)
	}
	checkLeft(t, c, keep)
	if n := int64(len(take)); sum.Matched != n || sum.Deleted != n || sum.Unconfirmed != 0 || c.removed != n {
		t.Fatalf("summary %+v, the servers removed %d; want %d matched and deleted", sum, c.removed, n)
	}
	if sum.Recovered != 0 || sum.Rounds != 0 || sum.Verified != 0 {
		t.Fatalf("a quiet run verified or recovered: %+v", sum)
	}
	checkNodes(t, sum, 3)
	for _, n := range sum.Nodes {
		if n.Deleted == 0 {
			t.Fatalf("node %s deleted nothing: %+v", n.Node, sum.Nodes)
		}
	}
	if c.maxInFlight.Load() < 2 {
		t.Fatalf("at most %d delete in flight at once: the primaries were not deleting in parallel", c.maxInFlight.Load())
	}
	last := progress[len(progress)-1]
	if len(progress) < 10 || len(last.Nodes) != 3 || last.Deleted != sum.Deleted {
		t.Fatalf("%d progress reports, the last %+v", len(progress), last)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i].Deleted < progress[i-1].Deleted {
			t.Fatalf("progress went back: %+v then %+v", progress[i-1], progress[i])
		}
	}
}

// TestShardedSingleNodeSummary: a non-sharded backend gets no Nodes, so
// its output stays as it was.
func TestShardedSingleNodeSummary(t *testing.T) {
	c := newFakeCluster(1)
	seedFake(t, c, []string{"a"}, 50)
	sum, err := Run(context.Background(), singleRecoverer{c, c}, Options{Patterns: []string{"a:*"}, Progress: func(p Progress) {
		if p.Nodes != nil {
			t.Errorf("progress of a single server has nodes: %+v", p)
		}
	}})
	if err != nil || sum.Deleted != 50 || sum.Nodes != nil {
		t.Fatalf("%+v, %v", sum, err)
	}
}

// TestShardedReshard: slots move while they are listed. Deleting, each
// Round is a barrier (everything handed is gone before the rescan), and
// nothing is missed or counted twice; counting, a Round takes back what
// the moved slots gave, so the count is exact too.
func TestShardedReshard(t *testing.T) {
	slotsOf := func(from, to int) []int {
		var s []int
		for i := from; i < to; i++ {
			s = append(s, i)
		}
		return s
	}
	moves := []fakeMove{
		{afterPage: 4, slots: slotsOf(0, 3000), to: 1},                         // node 0 → 1
		{afterPage: 9, slots: slotsOf(12000, 16384), to: 0},                    // node 2 → 0
		{afterPage: 15, slots: append(slotsOf(1000, 2000), 9000, 9001), to: 2}, // moved again
	}
	for _, dry := range []bool{false, true} {
		t.Run(fmt.Sprintf("dry-run=%v", dry), func(t *testing.T) {
			c := newFakeCluster(3)
			c.moves = slices.Clone(moves)
			all := seedFake(t, c, []string{"inv", "keep"}, 600)
			patterns := []string{"inv:*"}
			match := func(k string) bool { return !strings.HasSuffix(k, "7") } // the exact check still applies
			take, keep := matchingOf(all, patterns, match)
			if !dry {
				c.afterRound = func() {
					c.mu.Lock()
					defer c.mu.Unlock()
					for _, k := range c.handed {
						if match(k) && c.data[c.ownerOf(k)][k] {
							t.Errorf("Round returned before %s, handed earlier, was deleted", k)
							return
						}
					}
				}
			}
			sum, err := Run(context.Background(), c, Options{Patterns: patterns, Match: match, Batch: 16, DryRun: dry, Sample: 8})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Rounds != len(moves) {
				t.Fatalf("%d rounds, want %d", sum.Rounds, len(moves))
			}
			// Slots moved between the same primaries: no failover.
			if sum.Recovered != 0 || sum.Restored != 0 || c.recovers != 0 {
				t.Fatalf("a reshard counted as a failover: %+v, %d Recover calls", sum, c.recovers)
			}
			n := int64(len(take))
			if dry {
				checkLeft(t, c, all)
				if sum.Matched != n || sum.Deleted != 0 || len(sum.Sample) != 8 {
					t.Fatalf("dry run %+v, want %d matched", sum, n)
				}
				seen := map[string]bool{}
				for _, k := range sum.Sample {
					if seen[k] || !slices.Contains(take, k) {
						t.Fatalf("sample %q: duplicate or not matching", sum.Sample)
					}
					seen[k] = true
				}
			} else {
				checkLeft(t, c, keep)
				// The verification after the rounds finds nothing left.
				if sum.Matched != n || sum.Deleted != n || c.removed != n || sum.Verified != 0 {
					t.Fatalf("summary %+v, removed %d; want %d matched and deleted once each", sum, c.removed, n)
				}
			}
			checkNodes(t, sum, 3)
		})
	}
}

// TestShardedRideThrough: a primary dies mid-batch (half of it done, no
// answers) and its replica, promoted, lacks the last deletes it had
// acknowledged. The run waits, sends again what got no answer, counts what
// the retry found gone as unconfirmed, and its verification listing deletes
// what came back: nothing matching is left.
func TestShardedRideThrough(t *testing.T) {
	for _, partial := range []bool{true, false} {
		t.Run(fmt.Sprintf("partial=%v", partial), func(t *testing.T) {
			c := newFakeCluster(3)
			c.failDelete[1] = 3
			c.lag = 7
			all := seedFake(t, c, []string{"inv", "keep"}, 500)
			take, keep := matchingOf(all, []string{"inv:*"}, nil)
			var b backends.Backend = c
			if !partial {
				b = shardedPlain{c, c, c}
			}
			sum, err := Run(context.Background(), b, Options{Patterns: []string{"inv:*"}, Batch: 20})
			if err != nil {
				t.Fatal(err)
			}
			checkLeft(t, c, keep)
			if c.lostAnswers == 0 || c.resurrected != 7 || c.recovers != 1 {
				t.Fatalf("the fault did not happen: %d lost answers, %d resurrected, %d recoveries", c.lostAnswers, c.resurrected, c.recovers)
			}
			// Each key counts once; the keys that came back and were
			// deleted again are restored, not deleted twice.
			if sum.Recovered != 1 || sum.Unconfirmed != c.lostAnswers || sum.Deleted+sum.Unconfirmed != int64(len(take)) ||
				c.removed != int64(len(take))+c.resurrected || sum.Restored != c.resurrected || sum.Verified != 0 ||
				sum.Matched != sum.Deleted+sum.Unconfirmed || sum.MaybeCountedTwice != 0 {
				t.Fatalf("summary %+v; servers removed %d (%d with answers lost), %d came back, %d matching",
					sum, c.removed, c.lostAnswers, c.resurrected, len(take))
			}
			if c.lastWait != DefaultRecoverWait {
				t.Fatalf("Recover was given %v", c.lastWait)
			}
			checkNodes(t, sum, 3)
			if n := sum.Nodes[1]; n.Unconfirmed != c.lostAnswers {
				t.Fatalf("node %+v: the unconfirmed keys are its own", n)
			}
		})
	}
}

// TestShardedWithoutRecoverer: a lost server on a backend that cannot ride
// through stops the run, with what may have been deleted unconfirmed.
func TestShardedWithoutRecoverer(t *testing.T) {
	c := newFakeCluster(3)
	c.failDelete[2] = 2
	seedFake(t, c, []string{"inv"}, 400)
	sum, err := Run(context.Background(), shardedOnly{c, c}, Options{Patterns: []string{"inv:*"}, Batch: 20})
	var ce *backends.ConnError
	if !errors.As(err, &ce) {
		t.Fatalf("err %v, want the connection error", err)
	}
	// Without PartialDeleter every key of the batch not confirmed is unconfirmed.
	if c.recovers != 0 || sum.Deleted > c.removed || c.removed > sum.Deleted+sum.Unconfirmed || sum.Unconfirmed != 20-20/3 {
		t.Fatalf("summary %+v; the servers removed %d", sum, c.removed)
	}
	if sum.Matched != sum.Deleted+sum.Unconfirmed {
		t.Fatalf("matched %d counts keys never sent: %+v", sum.Matched, sum)
	}
}

// TestShardedServerError: a reply error is an answer, not a lost server:
// no ride-through, the run stops with exact counts.
func TestShardedServerError(t *testing.T) {
	c := newFakeCluster(3)
	c.failDelete[0] = 2
	c.serverError = true
	seedFake(t, c, []string{"inv"}, 400)
	sum, err := Run(context.Background(), c, Options{Patterns: []string{"inv:*"}, Batch: 20})
	var se *backends.ServerError
	if !errors.As(err, &se) || c.recovers != 0 {
		t.Fatalf("err %v after %d recoveries, want the server's refusal and none", err, c.recovers)
	}
	// The refused batch was answered: nothing unconfirmed, but matched.
	if sum.Deleted != c.removed || sum.Unconfirmed != 0 || sum.Matched != sum.Deleted+20 || sum.Deleted == 400 {
		t.Fatalf("summary %+v; the servers removed %d", sum, c.removed)
	}
}

// TestRecoverFails: the deployment does not come back: the run stops with
// both errors and what may have been deleted unconfirmed.
func TestRecoverFails(t *testing.T) {
	c := newFakeCluster(3)
	c.failDelete[1] = 2
	c.recoverErr = errors.New("no primary for slot 6000 after 30s")
	seedFake(t, c, []string{"inv"}, 400)
	sum, err := Run(context.Background(), c, Options{Patterns: []string{"inv:*"}, Batch: 20})
	var ce *backends.ConnError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "no primary for slot") {
		t.Fatalf("err %v", err)
	}
	if sum.Recovered != 0 || sum.Deleted > c.removed || c.removed > sum.Deleted+sum.Unconfirmed || sum.Unconfirmed == 0 {
		t.Fatalf("summary %+v; the servers removed %d", sum, c.removed)
	}
}

// TestInterruptDuringRecover: Ctrl-C while the run waits for a failover:
// an interruption that still says what became of the batch.
func TestInterruptDuringRecover(t *testing.T) {
	c := newFakeCluster(3)
	c.failDelete[1] = 1
	c.recoverWait = make(chan struct{}) // never closed: only Ctrl-C ends the wait
	seedFake(t, c, []string{"inv"}, 400)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			c.mu.Lock()
			down := len(c.down) > 0
			c.mu.Unlock()
			if down {
				break
			}
		}
		cancel()
	}()
	sum, err := Run(ctx, c, Options{Patterns: []string{"inv:*"}, Batch: 20})
	var ie *InterruptedError
	var ce *backends.ConnError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &ie) || !errors.As(err, &ce) {
		t.Fatalf("err %v (%T), want an interruption wrapping the connection error", err, err)
	}
	if sum.Deleted > c.removed || c.removed > sum.Deleted+sum.Unconfirmed || sum.Unconfirmed != 20-20/3 { // all but the answered third
		t.Fatalf("summary %+v; the servers removed %d", sum, c.removed)
	}
}

// TestShardedMax: --max is exact across nodes, even when keys vanish
// before their delete (a batch that deletes fewer than it was granted).
func TestShardedMax(t *testing.T) {
	for _, vanish := range []int{0, 3} {
		t.Run(fmt.Sprintf("vanish=%d", vanish), func(t *testing.T) {
			c := newFakeCluster(3)
			c.vanish = vanish
			c.overlap = 5 * time.Millisecond
			seedFake(t, c, []string{"inv"}, 600)
			sum, err := Run(context.Background(), c, Options{Patterns: []string{"inv:*"}, Batch: 16, Max: 250})
			if err != nil {
				t.Fatal(err)
			}
			left := int64(len(c.all()))
			if c.removed != 250 || sum.Deleted != 250 || left != 600-250-int64(c.vanishedN) {
				t.Fatalf("--max 250: %+v; the servers removed %d, %d vanished, %d left", sum, c.removed, c.vanishedN, left)
			}
			if sum.Matched < sum.Deleted || sum.Matched > sum.Deleted+int64(c.vanishedN) {
				t.Fatalf("matched %d, deleted %d, %d vanished", sum.Matched, sum.Deleted, c.vanishedN)
			}
			checkNodes(t, sum, 3)
		})
	}
}

// TestShardedRate: --rate is a total over the nodes: by any time t, the
// deletes sent since the start add up to at most rate*t + one batch.
func TestShardedRate(t *testing.T) {
	c := newFakeCluster(3)
	clock := newFakeClock()
	c.clock = clock
	seedFake(t, c, []string{"inv"}, 900)
	start := clock.Now()
	const rate, batch = 1000, 50
	sum, err := Run(context.Background(), c, Options{Patterns: []string{"inv:*"}, Batch: batch, Rate: rate, Now: clock.Now, Sleep: clock.Sleep})
	if err != nil || sum.Deleted != 900 {
		t.Fatalf("%+v, %v", sum, err)
	}
	times := slices.Clone(c.times)
	slices.SortFunc(times, func(a, b timedDelete) int { return a.at.Compare(b.at) })
	sent := 0
	for i, d := range times {
		sent += d.n
		if i+1 < len(times) && times[i+1].at.Equal(d.at) {
			continue // all the deletes at this instant first
		}
		allowed := rate*d.at.Sub(start).Seconds() + batch
		if float64(sent) > allowed+1e-6 {
			t.Fatalf("%d keys deleted by %v, allowed %.0f at --rate %d", sent, d.at.Sub(start), allowed, rate)
		}
	}
	if e := sum.Elapsed; e < (900-batch)*time.Second/rate {
		t.Fatalf("900 keys at --rate %d in %v", rate, e)
	}
}

// TestShardedBackup: Before is called for one batch at a time and sees
// every key before its delete is sent.
func TestShardedBackup(t *testing.T) {
	c := newFakeCluster(3)
	c.backedUp = map[string]bool{}
	c.waitPeer = true
	seedFake(t, c, []string{"inv"}, 300)
	var busy atomic.Int32
	var overlaps atomic.Int32
	sum, err := Run(context.Background(), c, Options{Patterns: []string{"inv:*"}, Batch: 10, Before: func(ctx context.Context, keys []string) error {
		if busy.Add(1) > 1 {
			overlaps.Add(1)
		}
		defer busy.Add(-1)
		time.Sleep(100 * time.Microsecond) // a write to the backup file, long enough to overlap if unserialised
		c.mu.Lock()
		for _, k := range keys {
			c.backedUp[k] = true
		}
		c.mu.Unlock()
		return nil
	}})
	if err != nil || sum.Deleted != 300 {
		t.Fatalf("%+v, %v", sum, err)
	}
	if overlaps.Load() != 0 || c.unbacked != 0 {
		t.Fatalf("%d overlapping backups, %d keys deleted before their backup", overlaps.Load(), c.unbacked)
	}
}

// TestShardedBackupError: a failing backup stops the run before its batch;
// the other nodes' batches in flight are awaited and counted.
func TestShardedBackupError(t *testing.T) {
	c := newFakeCluster(3)
	seedFake(t, c, []string{"inv"}, 300)
	var calls atomic.Int32
	sum, err := Run(context.Background(), c, Options{Patterns: []string{"inv:*"}, Batch: 10, Before: func(ctx context.Context, keys []string) error {
		if calls.Add(1) == 5 {
			return errors.New("disk full")
		}
		return nil
	}})
	if err == nil || err.Error() != "disk full" {
		t.Fatalf("err %v", err)
	}
	// Backups are one at a time and none starts after the failure: only the
	// four batches backed up before it may be deleted.
	if n := calls.Load(); n != 5 {
		t.Fatalf("Before was called %d times; none may follow the failing 5th", n)
	}
	if sum.Deleted != c.removed || sum.Matched != sum.Deleted || sum.Deleted > 40 {
		t.Fatalf("summary %+v; the servers removed %d", sum, c.removed)
	}
}

// TestShardedCancel: Ctrl-C stops the listing and every node's deleter; the
// batches in flight are awaited, and the count is exactly what is gone.
func TestShardedCancel(t *testing.T) {
	c := newFakeCluster(3)
	seedFake(t, c, []string{"inv"}, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	sum, err := Run(ctx, c, Options{Patterns: []string{"inv:*"}, Batch: 10, Progress: func(p Progress) {
		if p.Deleted >= 100 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if sum.Deleted != c.removed || sum.Matched != sum.Deleted || sum.Deleted < 100 || sum.Deleted >= 1000 || int64(len(c.all())) != 1000-sum.Deleted {
		t.Fatalf("summary %+v; the servers removed %d", sum, c.removed)
	}
	checkNodes(t, sum, 3)
}

// TestSingleServerRideThrough: one server behind Sentinel loses its master
// while it is listed and again while it deletes. The listing starts over
// after the failover (a cursor does not survive a new master) once what it
// listed is deleted; counts stay exact; a dry run counts each key once.
func TestSingleServerRideThrough(t *testing.T) {
	for _, tc := range []struct {
		name    string
		partial bool
		dry     bool
	}{{"plain", false, false}, {"partial", true, false}, {"dry-run", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(1)
			c.page = 10
			c.failScanAt = 12 // 120 keys in
			c.lag = 4
			all := seedFake(t, c, []string{"inv", "keep"}, 300)
			take, keep := matchingOf(all, []string{"inv:*"}, nil)
			if !tc.dry {
				c.failKey = take[250] // listed only after the listing started over
			}
			var b backends.Backend = singleRecoverer{c, c}
			if tc.partial {
				b = singlePartial{c, c, c}
			}
			sum, err := Run(context.Background(), b, Options{Patterns: []string{"inv:*"}, Batch: 7, DryRun: tc.dry, Sample: 300})
			if err != nil {
				t.Fatal(err)
			}
			n := int64(len(take))
			if tc.dry {
				checkLeft(t, c, all)
				slices.Sort(sum.Sample)
				if sum.Recovered != 1 || sum.Matched != n || !slices.Equal(sum.Sample, take) {
					t.Fatalf("dry run %+v, want %d matched once each", sum, n)
				}
				return
			}
			checkLeft(t, c, keep)
			if sum.Recovered != 2 || c.recovers != 2 {
				t.Fatalf("recovered %d (%d calls), want the listing's and the delete's", sum.Recovered, c.recovers)
			}
			if sum.Deleted+sum.Unconfirmed != n || c.removed != n+c.resurrected || sum.Unconfirmed != c.lostAnswers ||
				sum.Matched != sum.Deleted+sum.Unconfirmed || sum.Nodes != nil {
				t.Fatalf("summary %+v; servers removed %d (%d with answers lost), %d came back, %d matching",
					sum, c.removed, c.lostAnswers, c.resurrected, n)
			}
			// What the first failover brought back, the new listing found;
			// what the second did, the verification (or, when the listing
			// ran into the same failover and started over, that listing):
			// deleted again, restored, never counted as deleted twice.
			if len(c.resurrectedBy) != 2 || c.resurrectedBy[1] == 0 || sum.Restored != c.resurrected || sum.Verified != 0 {
				t.Fatalf("restored %d, verified %d; recoveries brought back %v", sum.Restored, sum.Verified, c.resurrectedBy)
			}
		})
	}
}

// TestDeletesRaceOneRecover: the client loses every node at once, seen by
// every deleter with a batch in flight: one Recover serves them all.
func TestDeletesRaceOneRecover(t *testing.T) {
	c := newFakeCluster(3)
	c.overlap = 5 * time.Millisecond
	c.failDelete[0] = 2
	c.outage = true
	c.lag = 3
	all := seedFake(t, c, []string{"inv", "keep"}, 300)
	take, keep := matchingOf(all, []string{"inv:*"}, nil)
	var mu sync.Mutex
	sum, err := Run(context.Background(), lockedRecover{c, &mu}, Options{Patterns: []string{"inv:*"}, Batch: 10})
	if err != nil {
		t.Fatal(err)
	}
	checkLeft(t, c, keep)
	if sum.Recovered != 1 || c.recovers != 1 || sum.Deleted+sum.Unconfirmed != int64(len(take)) || c.removed != int64(len(take))+c.resurrected ||
		sum.Unconfirmed != c.lostAnswers || sum.Restored != c.resurrected {
		t.Fatalf("summary %+v; %d Recover calls, servers removed %d (%d answers lost, %d came back)", sum, c.recovers, c.removed, c.lostAnswers, c.resurrected)
	}
}

// lockedRecover fails the test if Recover is entered twice at once.
type lockedRecover struct {
	*fakeCluster
	mu *sync.Mutex
}

func (l lockedRecover) Recover(ctx context.Context, wait time.Duration) (bool, error) {
	if !l.mu.TryLock() {
		panic("two Recover calls at once")
	}
	defer l.mu.Unlock()
	return l.fakeCluster.Recover(ctx, wait)
}

// TestGlobRecheckSharded: keys a backend hands that do not match are never
// deleted, whatever the server matched.
func TestGlobRecheckSharded(t *testing.T) {
	c := newFakeCluster(2)
	seedFake(t, c, []string{"a", "b"}, 100)
	sum, err := Run(context.Background(), lying{c}, Options{Patterns: []string{"a:*"}, Batch: 10})
	if err != nil || sum.Deleted != 100 {
		t.Fatalf("%+v, %v", sum, err)
	}
	for _, k := range c.all() {
		if glob.Match("a:*", k) {
			t.Fatalf("%s left", k)
		}
	}
	if len(c.all()) != 100 {
		t.Fatalf("%d keys left, want the 100 b:*", len(c.all()))
	}
}

// lying lists every key whatever the pattern.
type lying struct{ *fakeCluster }

func (l lying) ScanShards(ctx context.Context, _ string, h backends.ShardHandler) error {
	return l.fakeCluster.ScanShards(ctx, "*", h)
}

// TestSilentMasterSwitch: the master changes under a listing without any
// error (the client follows the new one, the cursor walks on, the last
// deletes the old master acknowledged are missing). Seen by comparing the
// primaries before and after: the listing starts over, and nothing
// matching is left.
func TestSilentMasterSwitch(t *testing.T) {
	for _, tc := range []struct {
		name           string
		page, deletion int
	}{{"listing", 12, 0}, {"last deletes", 0, 43}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(1)
			c.page = 10
			c.switchAt, c.switchAtDelete = tc.page, tc.deletion // 300 keys: 43 deletes of 7
			c.lag = 6
			all := seedFake(t, c, []string{"inv", "keep"}, 300)
			take, keep := matchingOf(all, []string{"inv:*"}, nil)
			sum, err := Run(context.Background(), singleSentinel{c, c, c}, Options{Patterns: []string{"inv:*"}, Batch: 7})
			if err != nil {
				t.Fatal(err)
			}
			checkLeft(t, c, keep)
			if c.resurrected == 0 || sum.Recovered != 1 || sum.Deleted != int64(len(take)) || sum.Restored != c.resurrected || sum.Matched != sum.Deleted {
				t.Fatalf("summary %+v; %d came back, %d matching", sum, c.resurrected, len(take))
			}
		})
	}
}

// TestMaxAcrossFailover: a failover brings back deletes the old master
// acknowledged, and --max is reached before the run found them all. The
// run goes on listing and deletes again only keys it had deleted (not held
// to Max, which counted them), so that what it says it deleted is gone:
// exactly Max matching keys fewer than seeded, none new past Max.
func TestMaxAcrossFailover(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		scanAt, deletion, maxDel int
	}{{"silent switch", 0, 20, 200}, {"lost listing", 12, 0, 200}, {"max before the switch is seen", 0, 28, 200}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(1)
			c.page = 10
			c.switchAtDelete, c.failScanAt = tc.deletion, tc.scanAt
			c.lag = 30
			all := seedFake(t, c, []string{"inv", "keep"}, 300)
			take, _ := matchingOf(all, []string{"inv:*"}, nil)
			sum, err := Run(context.Background(), singleSentinel{c, c, c}, Options{Patterns: []string{"inv:*"}, Batch: 7, Max: int64(tc.maxDel)})
			if err != nil {
				t.Fatal(err)
			}
			left := 0
			for _, k := range c.all() {
				if glob.Match("inv:*", k) {
					left++
				}
			}
			if c.resurrected == 0 || sum.Recovered != 1 || sum.Deleted+sum.Unconfirmed != int64(tc.maxDel) || sum.Restored != c.resurrected ||
				left != len(take)-tc.maxDel || sum.MaybeBack != 0 {
				t.Fatalf("summary %+v; %d came back, %d matching left of %d", sum, c.resurrected, left, len(take))
			}
		})
	}
}

// TestMaxAcrossFailoverCut: the listing after Max for the deletes a
// failover brought back fails: the run says so, and the summary says how
// many deleted keys may be back instead of keeping quiet.
func TestMaxAcrossFailoverCut(t *testing.T) {
	c := newFakeCluster(1)
	c.page = 10
	c.switchAtDelete = 20
	c.lag = 30
	seedFake(t, c, []string{"inv", "keep"}, 300)
	b := &failingRelist{singleSentinel: singleSentinel{c, c, c}}
	sum, err := Run(context.Background(), b, Options{Patterns: []string{"inv:*"}, Batch: 7, Max: 200})
	if !errors.Is(err, errRelist) {
		t.Fatalf("err %v, want the listing's", err)
	}
	if sum.Deleted != 200 || sum.MaybeBack != 200 || sum.Restored != 0 {
		t.Fatalf("summary %+v, want 200 deleted, all of them maybe back", sum)
	}
}

var errRelist = errors.New("the listing broke")

// failingRelist fails every listing but the first.
type failingRelist struct {
	singleSentinel
	scans int
}

func (f *failingRelist) Scan(ctx context.Context, pattern string, fn func([]string) error) error {
	if f.scans++; f.scans > 1 {
		return errRelist
	}
	return f.singleSentinel.Scan(ctx, pattern, fn)
}
