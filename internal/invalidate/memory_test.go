package invalidate

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
)

// TestMemoryOverflow: a run that remembers fewer deletes than a failover
// brings back counts the forgotten ones twice, and says up to how many.
func TestMemoryOverflow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		memory int
	}{{"remembers every delete", 1000}, {"forgets most", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(1)
			c.page = 10
			c.switchAt = 12
			c.lag = 6
			all := seedFake(t, c, []string{"inv", "keep"}, 300)
			take, keep := matchingOf(all, []string{"inv:*"}, nil)
			sum, err := Run(context.Background(), singleSentinel{c, c, c}, Options{Patterns: []string{"inv:*"}, Batch: 7, Memory: tc.memory})
			if err != nil {
				t.Fatal(err)
			}
			checkLeft(t, c, keep)
			n := int64(len(take))
			twice := sum.Deleted - n
			if c.resurrected != 6 || sum.Deleted+sum.Restored != n+c.resurrected || sum.Matched != sum.Deleted {
				t.Fatalf("summary %+v; %d came back, %d matching", sum, c.resurrected, n)
			}
			// The switch is seen once the listing is over: the keys that
			// came back were listed 300 keys before.
			forgets := tc.memory < 300
			if twice > sum.MaybeCountedTwice || forgets != (twice > 0) || forgets != (sum.MaybeCountedTwice > 0) {
				t.Fatalf("memory of %d: %d counted twice, the summary says up to %d", tc.memory, twice, sum.MaybeCountedTwice)
			}
		})
	}
}

// TestMemoryQuietRun: a run the deployment never disturbs remembers its
// deletes for nothing, and its summary says so: nothing twice, restored
// or verified, however many keys it forgot.
func TestMemoryQuietRun(t *testing.T) {
	c := newFakeCluster(1)
	c.page = 10
	seedFake(t, c, []string{"inv"}, 200)
	sum, err := Run(context.Background(), singleSentinel{c, c, c}, Options{Patterns: []string{"inv:*", "x:*"}, Batch: 7, Memory: 5})
	if err != nil || sum.Deleted != 200 || sum.Matched != 200 || sum.Restored != 0 || sum.MaybeCountedTwice != 0 || sum.Recovered != 0 {
		t.Fatalf("%+v, %v", sum, err)
	}
}

// doubling hands every page of its listing twice, the second time later
// (a SCAN cursor that crossed a master switch, a rehashing table).
type doubling struct{ *fakeCluster }

func (d doubling) Scan(ctx context.Context, pattern string, fn func([]string) error) error {
	var prev []string
	err := d.fakeCluster.Scan(ctx, pattern, func(keys []string) error {
		if err := fn(keys); err != nil {
			return err
		}
		if prev != nil {
			if err := fn(prev); err != nil {
				return err
			}
		}
		prev = slices.Clone(keys)
		return nil
	})
	if err == nil && prev != nil {
		err = fn(prev)
	}
	return err
}

// TestListedTwiceCountsOnce: keys a listing hands twice are matched and
// deleted once; the second delete finds nothing to count as restored.
func TestListedTwiceCountsOnce(t *testing.T) {
	c := newFakeCluster(1)
	c.page = 10
	all := seedFake(t, c, []string{"inv", "keep"}, 300)
	take, keep := matchingOf(all, []string{"inv:*"}, nil)
	sum, err := Run(context.Background(), singleRecoverer{doubling{c}, c}, Options{Patterns: []string{"inv:*"}, Batch: 7})
	if err != nil {
		t.Fatal(err)
	}
	checkLeft(t, c, keep)
	n := int64(len(take))
	if sum.Matched != n || sum.Deleted != n || sum.Restored != 0 || c.removed != n {
		t.Fatalf("summary %+v for %d matching keys", sum, n)
	}
}

// TestBackupRidesThrough: the backup's reads cut off by a lost server are
// a failover like a delete's: the run waits, backs the batch up again,
// deletes it, and every deleted key is in the backup.
func TestBackupRidesThrough(t *testing.T) {
	for _, sharded := range []bool{false, true} {
		t.Run(map[bool]string{false: "single", true: "sharded"}[sharded], func(t *testing.T) {
			c := newFakeCluster(3)
			if !sharded {
				c = newFakeCluster(1)
			}
			c.backedUp = map[string]bool{}
			all := seedFake(t, c, []string{"inv", "keep"}, 200)
			take, keep := matchingOf(all, []string{"inv:*"}, nil)
			var b backends.Backend = c
			if !sharded {
				b = singleRecoverer{c, c}
			}
			var calls atomic.Int32
			sum, err := Run(context.Background(), b, Options{Patterns: []string{"inv:*"}, Batch: 10, Before: func(ctx context.Context, keys []string) error {
				if calls.Add(1) == 4 {
					return &backends.ConnError{Address: "10.0.0.1:6379", Err: errors.New("read: connection reset by peer")}
				}
				c.mu.Lock()
				defer c.mu.Unlock()
				for _, k := range keys {
					c.backedUp[k] = true
				}
				return nil
			}})
			if err != nil {
				t.Fatalf("%v (summary %+v)", err, sum)
			}
			checkLeft(t, c, keep)
			if c.recovers != 1 || sum.Recovered != 1 || sum.Deleted != int64(len(take)) || c.unbacked != 0 {
				t.Fatalf("summary %+v; %d Recover calls, %d keys deleted without a backup", sum, c.recovers, c.unbacked)
			}
		})
	}
}

// TestFirstContactFails: a deployment that never answered is not waited
// for: the run fails at once, without a Recover.
func TestFirstContactFails(t *testing.T) {
	c := newFakeCluster(1)
	seedFake(t, c, []string{"inv"}, 50)
	c.down[0] = true
	c.recoverWait = make(chan struct{}) // never closed: a Recover would hang until the deadline
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sum, err := Run(ctx, singleRecoverer{c, c}, Options{Patterns: []string{"inv:*"}})
	var ce *backends.ConnError
	if !errors.As(err, &ce) || ctx.Err() != nil || c.recovers != 0 || sum.Recovered != 0 {
		t.Fatalf("err %v after %d Recover calls (%+v), want the connection error at once", err, c.recovers, sum)
	}
}
