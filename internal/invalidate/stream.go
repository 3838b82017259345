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
				r.unverified = true
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
	page := func(node string, keys []string) error {
		kept := r.filter(pattern, earlier, keys)
		if len(kept) == 0 {
			return nil
		}
		d := s.deleter(node)
		r.listed(node, len(kept))
		select {
		case d.in <- order{keys: kept}:
			return nil
		case <-live.Done():
			r.dropped(node, len(kept))
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
	return s.err
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

// order is a page of keys, or a request to delete everything held so far
// and say how it went.
type order struct {
	keys  []string
	flush chan error
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
	var batch []string
	var err error
	deleteFull := func() {
		for len(batch) >= size && err == nil {
			err = r.deleteBatch(s.ctx, s.live, d.node, batch[:size])
			batch = append(batch[:0], batch[size:]...)
		}
	}
	for o := range d.in {
		if err == nil {
			err = s.live.Err()
		}
		if err == nil {
			batch = append(batch, o.keys...)
			deleteFull()
			if o.flush != nil && err == nil && len(batch) > 0 {
				err = r.deleteBatch(s.ctx, s.live, d.node, batch)
				batch = batch[:0]
			}
		} else {
			r.dropped(d.node, len(o.keys))
		}
		if err != nil {
			r.dropped(d.node, len(batch))
			batch = nil
			s.fail(err)
		}
		if o.flush != nil {
			o.flush <- err
		}
	}
	if err == nil && len(batch) > 0 {
		if err = r.deleteBatch(s.ctx, s.live, d.node, batch); err != nil {
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
