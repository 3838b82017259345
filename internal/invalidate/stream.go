package invalidate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/cachectl/cachectl/internal/backends"
)

// lister lists one pattern: page hands a node's keys (node "" on a single
// server); round(slots) comes before slots are listed again, round(nil)
// before the whole pattern is (a listing restarted after a failover).
type lister func(ctx context.Context, page func(node string, keys []string) error, round func(slots []int) error) error

// pagesPerNode bounds what a listing may run ahead of a node's deleter:
// memory stays a few pages per primary whatever the keyspace.
const pagesPerNode = 2

// scanLister lists a single server with Scan. A listing cut off by a lost
// server, on a backend that rides through failovers, waits for the
// deployment, has what it listed deleted (round(nil)) and lists the pattern
// again from the start: a cursor does not survive a new master.
func (r *runner) scanLister(pattern string) lister {
	return func(ctx context.Context, page func(string, []string) error, round func([]int) error) error {
		r.switched(ctx)
		for relist := 0; ; relist++ {
			gen := r.recoveries.Load()
			err := r.b.Scan(ctx, pattern, func(keys []string) error { return page("", keys) })
			if err == nil && r.switched(ctx) && relist < maxRetries {
				// The master changed under the cursor: what it walked is
				// not the new master's table. Wait for it, then as below.
				if _, rerr := r.b.(backends.Recoverer).Recover(ctx, r.opts.RecoverWait); rerr != nil {
					return r.recoverFailed(ctx, errors.New("the master changed while it was listed"), rerr)
				}
			} else if err == nil || !r.canRide(ctx, err) || relist == maxRetries {
				return err
			} else if rerr := r.recover(ctx, gen); rerr != nil {
				return r.recoverFailed(ctx, err, rerr)
			}
			if err := round(nil); err != nil {
				return err
			}
		}
	}
}

// shardLister lists every primary with ScanShards. The backend recovers
// from a lost node itself and lists its slots again in a round.
func (r *runner) shardLister(ss backends.ShardedScanner, pattern string) lister {
	return func(ctx context.Context, page func(string, []string) error, round func([]int) error) error {
		return ss.ScanShards(ctx, pattern, backends.ShardHandler{
			Page: page,
			Round: func(slots []int) error {
				r.mu.Lock()
				r.sum.Rounds++
				r.disturbed()
				r.mu.Unlock()
				if slots == nil {
					slots = []int{} // nil would mean the whole pattern
				}
				return round(slots)
			},
		})
	}
}

// stream runs one listing: in a dry run it counts here; otherwise each node
// gets a deleter goroutine fed through a bounded channel, so the primaries
// delete in parallel while the listing goes on.
func (r *runner) stream(ctx context.Context, pattern string, earlier []string, list lister) error {
	if r.opts.DryRun {
		return r.count(ctx, pattern, earlier, list)
	}
	live, stop := context.WithCancel(ctx)
	defer stop()
	s := &fanout{r: r, ctx: ctx, live: live, stop: stop, workers: map[string]*deleter{}}
	r.mu.Lock()
	began := r.disturbances
	r.mu.Unlock()
	page := func(node string, keys []string) error {
		kept := r.filter(pattern, earlier, keys)
		if len(kept) == 0 {
			return nil
		}
		// A key handed to a delete before (a listing restarted after a
		// failover, the verification, a cursor that crossed a master
		// switch, a slot listed at both ends) is not matched again: it is
		// deleted again, and counts only if it came back.
		var known []string
		switch {
		case r.capped.Load():
			// Max is reached: only keys deleted before go, again.
			if known = r.mem.known(kept); len(known) == 0 {
				return nil
			}
			kept = nil
		case r.mem != nil:
			kept, known = r.mem.split(kept)
		}
		d := s.deleter(node)
		r.listed(node, len(kept))
		select {
		case d.in <- order{keys: kept, again: known}:
			return nil
		case <-live.Done():
			r.droppedKeys(node, kept)
			return live.Err()
		}
	}
	// round is a barrier: every key handed so far is deleted before the
	// listing goes on, so a rescan sees what is left and counts nothing twice.
	round := func([]int) error {
		acks := make([]chan error, 0, len(s.order))
		for _, d := range s.order {
			ack := make(chan error, 1)
			select {
			case d.in <- order{flush: ack}:
				acks = append(acks, ack)
			case <-live.Done():
				return live.Err()
			}
		}
		var first error
		for _, ack := range acks {
			if err := <-ack; err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	if err := list(live, page, round); err != nil {
		s.fail(err) // the deleters drop what they hold
	}
	for _, d := range s.order {
		close(d.in)
	}
	s.wg.Wait()
	if r.mem != nil {
		r.listingDone(live, began, s.err == nil)
	}
	return s.err
}

// listingDone keeps the memory's account at the end of a listing begun at
// disturbance count began. A listing since the last stable point may have
// missed keys the memory dropped: that many may count twice. One that went
// from start to end with no failover, recovery or round (the primaries
// looked at again) is a stable point.
func (r *runner) listingDone(ctx context.Context, began int64, ok bool) {
	if ok && r.sharded {
		r.switched(ctx) // a cluster's listing does not look by itself
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.disturbances != r.stableMark {
		r.sum.MaybeCountedTwice = max(r.sum.MaybeCountedTwice, r.mem.dropped())
	}
	if ok && r.disturbances == began {
		r.mem.stable()
		r.stableMark = r.disturbances
	}
}

// fanout is one listing's deleters, one per node.
type fanout struct {
	r    *runner
	ctx  context.Context // the run's
	live context.Context // done once the listing stops
	stop context.CancelFunc

	workers map[string]*deleter // touched by the listing only
	order   []*deleter
	wg      sync.WaitGroup

	mu  sync.Mutex
	err error
}

type deleter struct {
	node string
	in   chan order
}

// order is a page of keys (again: those the run had handed to a delete
// before), or a request to delete everything held so far and say how it
// went.
type order struct {
	keys, again []string
	flush       chan error
}

func (s *fanout) deleter(node string) *deleter {
	d := s.workers[node]
	if d == nil {
		d = &deleter{node: node, in: make(chan order, pagesPerNode)}
		s.workers[node] = d
		s.order = append(s.order, d)
		s.wg.Add(1)
		go s.run(d)
	}
	return d
}

// fail stops the listing and every deleter; the run returns the first
// failure of the highest rank.
func (s *fanout) fail(err error) {
	s.mu.Lock()
	if s.err == nil || errorRank(err) > errorRank(s.err) {
		s.err = err
	}
	s.mu.Unlock()
	s.stop()
}

// run is one node's deleter: it batches the node's keys and deletes them.
// Once the listing has stopped it drops what it holds and what still comes
// (uncounting it), but a batch already sent is always awaited.
func (s *fanout) run(d *deleter) {
	defer s.wg.Done()
	r, size := s.r, s.r.opts.Batch
	var batch, again []string
	var err error
	// Keys held go before keys known again: a key listed twice is deleted
	// first as itself, and the second delete finds nothing to count.
	deleteHeld := func() {
		if len(batch) > 0 && err == nil {
			err = r.deleteBatch(s.ctx, s.live, d.node, batch)
			batch = batch[:0]
		}
	}
	deleteFull := func() {
		for len(batch) >= size && err == nil {
			err = r.deleteBatch(s.ctx, s.live, d.node, batch[:size])
			batch = append(batch[:0], batch[size:]...)
		}
		for len(again) >= size && err == nil {
			if deleteHeld(); err == nil {
				err = r.deleteAgain(s.ctx, s.live, d.node, again[:size])
				again = append(again[:0], again[size:]...)
			}
		}
	}
	deleteAll := func() {
		if deleteHeld(); err == nil && len(again) > 0 {
			err = r.deleteAgain(s.ctx, s.live, d.node, again)
			again = again[:0]
		}
	}
	for o := range d.in {
		if err == nil {
			err = s.live.Err()
		}
		if err == nil {
			batch = append(batch, o.keys...)
			again = append(again, o.again...)
			deleteFull()
			if o.flush != nil {
				deleteAll()
			}
		} else {
			r.droppedKeys(d.node, o.keys)
		}
		if err != nil {
			r.droppedKeys(d.node, batch)
			batch, again = nil, nil // keys known again were counted before
			s.fail(err)
		}
		if o.flush != nil {
			o.flush <- err
		}
	}
	if err == nil {
		if deleteAll(); err != nil {
			r.droppedKeys(d.node, batch)
			s.fail(err)
		}
	}
}

// count is a dry run's listing. Per node it keeps each slot's count (when
// the backend names slots), so that a round takes back what the slots it
// lists again gave before; a whole-pattern round takes back the pattern.
func (r *runner) count(ctx context.Context, pattern string, earlier []string, list lister) error {
	ks, _ := r.b.(backends.ShardedScanner)
	slots := map[string]*[backends.SlotCount]int32{}
	byNode := map[string]int64{}
	page := func(node string, keys []string) error {
		kept := r.filter(pattern, earlier, keys)
		if len(kept) == 0 {
			return nil
		}
		if ks != nil {
			counts := slots[node]
			if counts == nil {
				counts = new([backends.SlotCount]int32)
				slots[node] = counts
			}
			for _, k := range kept {
				slot := ks.KeySlot(k)
				if slot < 0 || slot >= backends.SlotCount {
					return fmt.Errorf("the backend put a key in slot %d, outside 0..%d", slot, backends.SlotCount-1)
				}
				counts[slot]++
			}
		}
		byNode[node] += int64(len(kept))
		r.counted(node, kept)
		return nil
	}
	round := func(again []int) error {
		if again == nil {
			for node, n := range byNode {
				r.dropped(node, int(n))
			}
			clear(byNode)
			clear(slots)
			return nil
		}
		for _, node := range sortedKeys(slots) {
			counts := slots[node]
			n := 0
			for _, slot := range again {
				if slot >= 0 && slot < backends.SlotCount {
					n += int(counts[slot])
					counts[slot] = 0
				}
			}
			byNode[node] -= int64(n)
			r.dropped(node, n)
		}
		return nil
	}
	return list(ctx, page, round)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
