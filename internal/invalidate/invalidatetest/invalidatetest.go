// Package invalidatetest checks the invalidate engine against a real
// backend: what every backend must keep whatever happens during a run
// (nothing matching left, nothing else touched, counts that add up, --max
// never exceeded), for the backends' own tests, e.g. Redis Cluster under a
// reshard or a failover, Sentinel across a master switch:
//
//	for _, c := range invalidatetest.Cases() {
//		t.Run(c.Name, func(t *testing.T) { invalidatetest.Check(t, b, prefix(t), 2000, c) })
//	}
//	invalidatetest.Check(t, b, "reshard:", 20000, invalidatetest.Case{
//		Name: "reshard", DisturbAfter: 2000, Disturb: moveSlots})
//
// The backend must hold no other key under the prefix while it runs.
package invalidatetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/glob"
	"github.com/cachectl/cachectl/internal/invalidate"
)

// Case is one run of the engine.
type Case struct {
	Name string
	// Opts are the engine's options. Patterns are relative to the prefix
	// (default: "inv:*"); Progress, Before and Now are the check's own
	// (Before: see Backup).
	Opts invalidate.Options
	// Backup sets Before to a hook that records each batch (and checks
	// that batches are never backed up two at a time).
	Backup bool
	// Disturb, when set, runs once in its own goroutine when the run has
	// deleted DisturbAfter keys (in a dry run: matched): start a reshard,
	// a CLUSTER FAILOVER, a SENTINEL FAILOVER. Check waits for it to end
	// and fails on its error.
	Disturb      func(ctx context.Context) error
	DisturbAfter int64
}

// Cases are the runs every backend should pass undisturbed.
func Cases() []Case {
	return []Case{
		{Name: "plain"},
		{Name: "small-batches", Opts: invalidate.Options{Batch: 7}},
		// The last pattern overlaps the first: its keys are the first's.
		{Name: "patterns", Opts: invalidate.Options{Patterns: []string{"inv:*", "other:1*", "inv:1*"}, Batch: 50}},
		{Name: "exact-match", Opts: invalidate.Options{Batch: 40, Match: func(k string) bool { return k[len(k)-1] != '3' }}},
		{Name: "max", Opts: invalidate.Options{Batch: 30, Max: 123}}, // bites from n = 124
		{Name: "rate", Opts: invalidate.Options{Batch: 100, Rate: 20000}},
		{Name: "backup", Opts: invalidate.Options{Batch: 25}, Backup: true},
		{Name: "dry-run", Opts: invalidate.Options{DryRun: true, Sample: 20}},
	}
}

// Seed writes n keys under prefix+"inv:" and n under prefix+"other:" (some
// with glob characters, some sharing a hash tag so one slot holds many),
// and returns them sorted.
func Seed(t testing.TB, b backends.Backend, prefix string, n int) []string {
	t.Helper()
	ctx := context.Background()
	var all []string
	for _, name := range []string{"inv", "other"} {
		for i := range n {
			k := fmt.Sprintf("%s%s:%d", prefix, name, i)
			switch {
			case i%11 == 0:
				k += "[x]*?"
			case i%5 == 0:
				k = fmt.Sprintf("%s%s:{tag}:%d", prefix, name, i)
			}
			if err := b.Set(ctx, k, []byte("v"), 0); err != nil {
				t.Fatalf("seed %s: %v", k, err)
			}
			all = append(all, k)
		}
	}
	slices.Sort(all)
	return all
}

// Check seeds n keys of each kind under prefix, runs c and checks what the
// backend holds afterwards against the summary. It returns the summary.
func Check(t testing.TB, b backends.Backend, prefix string, n int, c Case) invalidate.Summary {
	t.Helper()
	ctx := context.Background()
	all := Seed(t, b, prefix, n)
	// Servers shared by every test package are left as they were found.
	t.Cleanup(func() { _, _ = b.Delete(context.Background(), all...) })
	opts := c.Opts
	patterns := opts.Patterns
	if len(patterns) == 0 {
		patterns = []string{"inv:*"}
	}
	opts.Patterns = nil
	for _, p := range patterns {
		opts.Patterns = append(opts.Patterns, prefix+p)
	}
	var take, keep []string
	for _, k := range all {
		if matchesAny(opts.Patterns, k) && (opts.Match == nil || opts.Match(k)) {
			take = append(take, k)
		} else {
			keep = append(keep, k)
		}
	}

	var disturbed sync.WaitGroup
	var disturbErr error
	var once sync.Once
	var reports atomic.Int64
	opts.Progress = func(p invalidate.Progress) {
		reports.Add(1)
		done := p.Deleted
		if opts.DryRun {
			done = p.Matched
		}
		if c.Disturb != nil && done >= c.DisturbAfter {
			once.Do(func() {
				disturbed.Add(1)
				go func() {
					defer disturbed.Done()
					disturbErr = c.Disturb(ctx)
				}()
			})
		}
	}
	var backedUp sync.Map
	var busy, overlaps atomic.Int32
	if c.Backup {
		opts.Before = func(ctx context.Context, keys []string) error {
			if busy.Add(1) > 1 {
				overlaps.Add(1)
			}
			defer busy.Add(-1)
			for _, k := range keys {
				backedUp.Store(k, true)
			}
			return nil
		}
	}
	start := time.Now()
	sum, err := invalidate.Run(ctx, b, opts)
	elapsed := time.Since(start)
	disturbed.Wait()
	if disturbErr != nil {
		t.Fatalf("disturbing the run: %v", disturbErr)
	}
	if err != nil {
		t.Fatalf("run: %v (summary %+v)", err, sum)
	}
	t.Logf("%s: matched %d, deleted %d, unconfirmed %d, verified %d, restored %d, recovered %d, rounds %d, maybe twice %d, nodes %+v",
		c.Name, sum.Matched, sum.Deleted, sum.Unconfirmed, sum.Verified, sum.Restored, sum.Recovered, sum.Rounds, sum.MaybeCountedTwice, sum.Nodes)

	left := list(t, b, prefix+"*")
	leftSet := map[string]bool{}
	for _, k := range left {
		leftSet[k] = true
	}
	for _, k := range keep {
		if !leftSet[k] {
			t.Fatalf("%s does not match and was deleted", k)
		}
	}
	if len(left) < len(keep) {
		t.Fatalf("%d keys left, fewer than the %d that do not match", len(left), len(keep))
	}
	gone := int64(len(all) - len(left))
	checkNodes(t, b, sum)
	quiet := sum.Recovered == 0 && sum.Rounds == 0
	switch {
	case opts.DryRun:
		if gone != 0 || sum.Deleted != 0 || sum.Matched != int64(len(take)) {
			t.Fatalf("dry run: matched %d of %d, deleted %d, %d gone", sum.Matched, len(take), sum.Deleted, gone)
		}
		seen := map[string]bool{}
		for _, k := range sum.Sample {
			if seen[k] || !slices.Contains(take, k) {
				t.Fatalf("sample %q: a duplicate or a key that does not match", sum.Sample)
			}
			seen[k] = true
		}
		want := opts.Sample
		if want <= 0 {
			want = 10 // the engine's default
		}
		if len(sum.Sample) != min(len(take), want) {
			t.Fatalf("sample of %d, want %d", len(sum.Sample), min(len(take), want))
		}
	case opts.Max > 0:
		if sum.Deleted+sum.Unconfirmed > opts.Max || gone < sum.Deleted || gone > sum.Deleted+sum.Unconfirmed {
			t.Fatalf("--max %d: deleted %d, unconfirmed %d, %d gone", opts.Max, sum.Deleted, sum.Unconfirmed, gone)
		}
		if quiet && sum.Deleted != min(opts.Max, int64(len(take))) {
			t.Fatalf("--max %d: deleted %d of %d", opts.Max, sum.Deleted, len(take))
		}
	default:
		if len(left) != len(keep) {
			t.Fatalf("%d keys left, want exactly the %d that do not match", len(left), len(keep))
		}
		// Every matching key was deleted, confirmed or with its answer lost.
		n, done := int64(len(take)), sum.Deleted+sum.Unconfirmed
		if remembers(b) {
			// Each key counts once: one a failover brought back (a delete
			// the old primary acknowledged and its replica never got) is
			// deleted again as restored; one handed twice (a slot listed
			// at both ends, a cursor across a master switch) is matched
			// once. Only keys beyond the run's memory may count twice.
			if sum.Matched != done || done < n || done > n+sum.MaybeCountedTwice || sum.Restored > n*int64(sum.Recovered) {
				t.Fatalf("matched %d, deleted %d, unconfirmed %d, restored %d, verified %d, recovered %d, maybe twice %d for %d matching keys",
					sum.Matched, sum.Deleted, sum.Unconfirmed, sum.Restored, sum.Verified, sum.Recovered, sum.MaybeCountedTwice, n)
			}
		} else if sum.Matched < done || done < n || done > n*int64(1+sum.Recovered) {
			t.Fatalf("matched %d, deleted %d, unconfirmed %d, verified %d, recovered %d for %d matching keys", sum.Matched, sum.Deleted, sum.Unconfirmed, sum.Verified, sum.Recovered, n)
		}
		if quiet && (sum.Matched != n || sum.Deleted != n || sum.Unconfirmed != 0 || sum.Verified != 0 || sum.Restored != 0) {
			t.Fatalf("an undisturbed run: matched %d, deleted %d, unconfirmed %d, verified %d of %d", sum.Matched, sum.Deleted, sum.Unconfirmed, sum.Verified, n)
		}
	}
	if c.Backup {
		if overlaps.Load() != 0 {
			t.Fatalf("%d batches backed up at the same time", overlaps.Load())
		}
		for _, k := range take {
			if _, ok := backedUp.Load(k); !ok && !leftSet[k] {
				t.Fatalf("%s was deleted without a backup", k)
			}
		}
	}
	if opts.Rate > 0 && !opts.DryRun {
		if min := time.Duration(sum.Deleted-int64(max(opts.Batch, 1)))*time.Second/time.Duration(opts.Rate) - 10*time.Millisecond; elapsed < min {
			t.Fatalf("%d deletions at --rate %d took %v", sum.Deleted, opts.Rate, elapsed)
		}
	}
	if !opts.DryRun && sum.Deleted > 0 && reports.Load() == 0 {
		t.Fatal("no progress reported")
	}
	return sum
}

// remembers: the engine remembers its deletes on this backend (one that
// rides through failovers or lists per shard), so each key counts once.
func remembers(b backends.Backend) bool {
	_, rec := b.(backends.Recoverer)
	_, sharded := b.(backends.ShardedScanner)
	return rec || sharded
}

// checkNodes: a sharded backend reports per node, adding up; others don't.
func checkNodes(t testing.TB, b backends.Backend, sum invalidate.Summary) {
	t.Helper()
	if _, ok := b.(backends.ShardedScanner); !ok {
		if sum.Nodes != nil {
			t.Fatalf("a single-node backend reported nodes: %+v", sum.Nodes)
		}
		return
	}
	var m, d, u int64
	for i, n := range sum.Nodes {
		if i > 0 && sum.Nodes[i-1].Node >= n.Node {
			t.Fatalf("nodes not sorted or repeated: %+v", sum.Nodes)
		}
		m, d, u = m+n.Matched, d+n.Deleted, u+n.Unconfirmed
	}
	if m != sum.Matched || d != sum.Deleted || u != sum.Unconfirmed {
		t.Fatalf("nodes %+v do not add up to matched %d, deleted %d, unconfirmed %d", sum.Nodes, sum.Matched, sum.Deleted, sum.Unconfirmed)
	}
}

func matchesAny(patterns []string, k string) bool {
	for _, p := range patterns {
		if glob.Match(p, k) {
			return true
		}
	}
	return false
}

// list is every key matching pattern, sorted and without the duplicates a
// listing may give.
func list(t testing.TB, b backends.Backend, pattern string) []string {
	t.Helper()
	var out []string
	if err := b.Scan(context.Background(), pattern, func(ks []string) error { out = append(out, ks...); return nil }); err != nil {
		t.Fatalf("list %s: %v", pattern, err)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
