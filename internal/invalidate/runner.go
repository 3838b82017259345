package invalidate

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/glob"
)

// runner is one run of the engine. The counts are shared by the deleters
// (one per primary on a sharded backend), so they live under mu.
type runner struct {
	b     backends.Backend
	opts  Options
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	start time.Time
	// sharded: the backend lists per primary; the summary gets Nodes.
	sharded bool

	// mu guards sum, nodes, reserved and unverified. Progress is called
	// under it, so never concurrently and always with the latest figures.
	mu    sync.Mutex
	sum   *Summary
	nodes map[string]*NodeSummary
	// reserved: deletions granted to batches still in flight (Max).
	reserved int64
	// freed is signalled when a reservation ends or a run stops.
	freed *sync.Cond
	// unverified: a recovery or a round happened since the last
	// verification listing began.
	unverified bool
	// lastRoles: the deployment's nodes and roles when last looked at (see
	// switched); nil before.
	lastRoles map[string]string
	// disturbances counts the recoveries, master switches and rounds so
	// far; stableMark is its value at the last point the deployment was
	// known stable (see listed).
	disturbances, stableMark int64

	// mem: the keys handed to deletes (nil when no failover or round can
	// bring any back: then it would only cost memory).
	mem *memory
	// contact: the deployment has answered the run at least once. Until it
	// has, a lost connection is a deployment that is not there, not a
	// failover to wait for.
	contact atomic.Bool
	// capped: Max was reached on a run a failover disturbed. The listings
	// go on, but delete again only keys the run had deleted (see afterMax).
	capped atomic.Bool

	pacing *schedule // the slots of Rate, shared by the workers of a replica set

	beforeMu sync.Mutex // Before (the backup) is called for one batch at a time
	// beforeErr is the backup's failure, under beforeMu: once the backup
	// failed no batch waiting its turn is backed up (and then deleted),
	// even before the run's cancellation reaches it.
	beforeErr error

	recMu      sync.Mutex   // one Recover at a time
	recoveries atomic.Int64 // successful Recover calls so far
}

func newRunner(b backends.Backend, opts Options, sum *Summary, now func() time.Time, start time.Time) *runner {
	if opts.RecoverWait <= 0 {
		opts.RecoverWait = DefaultRecoverWait
	}
	r := &runner{b: b, opts: opts, sum: sum, now: now, start: start, sleep: opts.Sleep, pacing: opts.pacing}
	if r.pacing == nil {
		r.pacing = &schedule{}
	}
	if r.sleep == nil {
		r.sleep = sleep
	}
	r.freed = sync.NewCond(&r.mu)
	if _, ok := b.(backends.ShardedScanner); ok {
		r.sharded = true
		r.nodes = map[string]*NodeSummary{}
	}
	if _, ok := b.(backends.Recoverer); (ok || r.sharded) && !opts.DryRun {
		n := opts.Memory
		if n <= 0 {
			n = MemoryKeys
		}
		r.mem = newMemory(n)
	}
	return r
}

// disturbed notes a recovery, a master switch or a round: what a failover
// brought back may be left, so a verification listing follows. mu held.
func (r *runner) disturbed() {
	r.unverified = true
	r.disturbances++
}

// answered notes that the deployment answered the run.
func (r *runner) answered() { r.contact.Store(true) }

// run handles the patterns in order, then verifies what a failover may
// have brought back.
func (r *runner) run(ctx context.Context) error {
	if r.opts.DryRun {
		return r.patterns(ctx)
	}
	r.switched(ctx)
	err := r.patterns(ctx)
	if err == nil {
		r.switched(ctx)
		err = r.verify(ctx)
	}
	if errors.Is(err, errMax) {
		return r.afterMax(ctx)
	}
	return err
}

// afterMax follows a run that reached Max. If a failover disturbed it since
// the deployment was last known stable, deletes it counted may have come
// back, beyond the listing that reached Max: the patterns are listed again
// (and verified, as after any failover), deleting only keys the run had
// deleted, so that the deleted figure is true at the end and no new key is
// deleted past Max. Should that listing not finish, the summary says how
// many deleted keys may be back (MaybeBack).
func (r *runner) afterMax(ctx context.Context) error {
	if r.mem == nil {
		return errMax
	}
	r.switched(ctx) // a master that changed without an error is seen here
	r.mu.Lock()
	if r.disturbances == r.stableMark {
		r.mu.Unlock()
		return errMax
	}
	r.unverified = true
	r.capped.Store(true)
	r.mu.Unlock()
	err := r.verify(ctx)
	if err != nil {
		r.mu.Lock()
		r.sum.MaybeBack = min(r.mem.sinceStable(), r.sum.Deleted+r.sum.Unconfirmed)
		r.mu.Unlock()
		return err
	}
	return errMax
}

func (r *runner) patterns(ctx context.Context) error {
	for i, p := range r.opts.Patterns {
		if err := r.pattern(ctx, p, r.opts.Patterns[:i]); err != nil {
			return err
		}
	}
	return nil
}

// pattern lists the keys of one pattern and deletes them while the listing
// goes on (or after it, for unstable listings).
func (r *runner) pattern(ctx context.Context, pattern string, earlier []string) error {
	if ss, ok := r.b.(backends.ShardedScanner); ok {
		return r.stream(ctx, pattern, earlier, r.shardLister(ss, pattern))
	}
	if u, ok := r.b.(UnstableListing); ok && u.ListingSkipsUnderDeletes() && !r.opts.DryRun {
		// Such a listing can also miss keys the server moves while it walks
		// (memcached's LRU maintainer): list again until a pass finds nothing.
		for pass := 0; pass < maxPasses; pass++ {
			before := r.matched()
			if err := r.spilled(ctx, pattern, earlier); err != nil {
				return err
			}
			if r.matched() == before {
				break
			}
		}
		return nil
	}
	return r.stream(ctx, pattern, earlier, r.scanLister(pattern))
}

// finish writes the per-node figures into the summary.
func (r *runner) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.sharded {
		return
	}
	r.sum.Nodes = make([]NodeSummary, 0, len(r.nodes))
	for _, n := range r.nodes {
		r.sum.Nodes = append(r.sum.Nodes, *n)
	}
	slices.SortFunc(r.sum.Nodes, func(a, b NodeSummary) int { return strings.Compare(a.Node, b.Node) })
}

// wants reports whether a key listed for pattern is to be deleted: it
// matches the pattern (checked again whatever the server did), no earlier
// pattern already took it, and it passes Match.
func (o Options) wants(pattern string, earlier []string, k string) bool {
	return glob.Match(pattern, k) && !matchesAny(earlier, k) && (o.Match == nil || o.Match(k))
}

func matchesAny(patterns []string, k string) bool {
	for _, p := range patterns {
		if glob.Match(p, k) {
			return true
		}
	}
	return false
}

// filter keeps the keys of a page that are to be deleted, in a new slice
// (the backend may reuse its page).
func (r *runner) filter(pattern string, earlier []string, keys []string) []string {
	r.answered() // a page came
	var kept []string
	for _, k := range keys {
		if r.opts.wants(pattern, earlier, k) {
			if kept == nil {
				kept = make([]string, 0, len(keys))
			}
			kept = append(kept, k)
		}
	}
	return kept
}

// node is the figures of one primary; nil on a single-node backend. mu held.
func (r *runner) node(name string) *NodeSummary {
	if !r.sharded {
		return nil
	}
	n := r.nodes[name]
	if n == nil {
		n = &NodeSummary{Node: name}
		r.nodes[name] = n
	}
	return n
}

func (r *runner) matched() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sum.Matched
}

// listed counts n keys of node as matched (handed to a deleter, or counted).
func (r *runner) listed(node string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sum.Matched += int64(n)
	if ns := r.node(node); ns != nil {
		ns.Matched += int64(n)
	}
}

// dropped takes back n keys counted by listed that will not be deleted (the
// run stops, Max is reached, or a dry run will count them again).
func (r *runner) dropped(node string, n int) {
	if n == 0 {
		return
	}
	r.listed(node, -n)
}

// droppedKeys is dropped for keys the memory remembered but no delete got.
func (r *runner) droppedKeys(node string, keys []string) {
	if r.mem != nil {
		r.mem.forget(keys)
	}
	r.dropped(node, len(keys))
}

// counted adds a dry run's page: matched, the sample (without duplicates:
// a rescanned slot may hand a key again), a report.
func (r *runner) counted(node string, keys []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sum.Matched += int64(len(keys))
	if ns := r.node(node); ns != nil {
		ns.Matched += int64(len(keys))
	}
	for _, k := range keys {
		if len(r.sum.Sample) >= r.opts.Sample {
			break
		}
		if !slices.Contains(r.sum.Sample, k) {
			r.sum.Sample = append(r.sum.Sample, k)
		}
	}
	r.reportLocked()
}

// deleteBatch deletes keys of node, listed and counted as matched, in as
// many sends as Max lets through; keys it does not send are taken back
// from matched. live is checked before each send: once it is done (Ctrl-C,
// another deleter failed) nothing more is sent. ctx is the run's own.
func (r *runner) deleteBatch(ctx, live context.Context, node string, keys []string) error {
	for len(keys) > 0 {
		if err := live.Err(); err != nil {
			r.droppedKeys(node, keys)
			return err
		}
		granted, err := r.reserve(live, len(keys))
		if err != nil {
			r.droppedKeys(node, keys)
			return err
		}
		if err := r.send(ctx, live, node, keys[:granted], false); err != nil {
			r.droppedKeys(node, keys[granted:])
			return err
		}
		keys = keys[granted:]
	}
	return nil
}

// reserve grants up to n deletions within Max, counting those in flight on
// other nodes as done: Max is never exceeded, however many deleters run.
// With nothing left it waits for the batches in flight (their keys may have
// vanished) and gives errMax once none are.
func (r *runner) reserve(live context.Context, n int) (int, error) {
	if r.opts.Max <= 0 {
		return n, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	stop := context.AfterFunc(live, r.wake)
	defer stop()
	for {
		if err := live.Err(); err != nil {
			return 0, err
		}
		// Unconfirmed keys may have been deleted: they count.
		left := r.opts.Max - r.sum.Deleted - r.sum.Unconfirmed - r.reserved
		if left > 0 {
			g := int(min(int64(n), left))
			r.reserved += int64(g)
			return g, nil
		}
		if r.reserved == 0 {
			return 0, errMax
		}
		r.freed.Wait()
	}
}

// wake lets reservations waiting for Max look again.
func (r *runner) wake() {
	r.mu.Lock()
	r.freed.Broadcast()
	r.mu.Unlock()
}

// deleteAgain deletes keys of node the run had handed to a delete before
// (known to its memory): each one deleted now was brought back, and counts
// as restored, not as matched or deleted again. They are not held to Max,
// which counted them the first time.
func (r *runner) deleteAgain(ctx, live context.Context, node string, keys []string) error {
	if err := live.Err(); err != nil {
		return err
	}
	return r.send(ctx, live, node, keys, true)
}

// send paces, backs up and deletes one batch whose deletions reserve
// granted (again: a batch of deleteAgain), and counts what became of it.
func (r *runner) send(ctx, live context.Context, node string, keys []string, again bool) error {
	reserved := r.granted(len(keys))
	if again {
		reserved = 0
	}
	abandon := func(err error) error {
		r.mu.Lock()
		r.reserved -= reserved
		r.freed.Broadcast()
		r.mu.Unlock()
		if !again {
			r.droppedKeys(node, keys)
		}
		return err
	}
	if err := r.pace(live, len(keys)); err != nil {
		return abandon(err)
	}
	if r.opts.Before != nil {
		// A key found again is backed up again: the value that came back
		// may not be the one saved (the replica's, or the app's since).
		if err := r.backup(ctx, live, keys); err != nil {
			return abandon(err)
		}
	}
	deleted, unconfirmed, err := r.deleteRide(ctx, live, keys)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reserved -= reserved
	r.freed.Broadcast()
	if again {
		// Unconfirmed ones were counted when first deleted.
		r.sum.Restored += deleted
	} else {
		r.sum.Deleted += deleted
		r.sum.Unconfirmed += unconfirmed
		if ns := r.node(node); ns != nil {
			ns.Deleted += deleted
			ns.Unconfirmed += unconfirmed
		}
	}
	if err != nil {
		return err
	}
	r.reportLocked()
	if !again && r.opts.Max > 0 && r.sum.Deleted+r.sum.Unconfirmed >= r.opts.Max {
		return errMax
	}
	return nil
}

// backup calls Before for one batch, one batch at a time. Reading the
// entries cut off by a lost server, on a backend that rides through
// failovers, waits for the deployment and backs the batch up again (its
// entries already written are written twice; the first is restored).
func (r *runner) backup(ctx, live context.Context, keys []string) error {
	r.beforeMu.Lock()
	defer r.beforeMu.Unlock()
	if r.beforeErr != nil {
		return r.beforeErr
	}
	for try := 0; ; try++ {
		if err := live.Err(); err != nil { // the run may have stopped while this batch waited its turn
			return err
		}
		gen := r.recoveries.Load()
		err := r.opts.Before(live, keys)
		if err == nil {
			r.answered()
			return nil
		}
		if !r.canRide(live, err) || try == maxRetries {
			r.beforeErr = err
			return err
		}
		if rerr := r.recover(live, gen); rerr != nil {
			r.beforeErr = r.recoverFailed(ctx, err, rerr)
			return r.beforeErr
		}
	}
}

// granted is what reserve counted for a batch of n keys.
func (r *runner) granted(n int) int64 {
	if r.opts.Max <= 0 {
		return 0
	}
	return int64(n)
}

// del sends one delete on a context Ctrl-C does not cancel, so that its
// count is known. Without PartialDeleter, which keys got no answer is not
// known when it fails: all of them may not have.
func (r *runner) del(ctx context.Context, keys []string) (backends.DeleteResult, error) {
	ctx = context.WithoutCancel(ctx)
	if pd, ok := r.b.(backends.PartialDeleter); ok {
		return pd.DeleteKeys(ctx, keys)
	}
	n, err := r.b.Delete(ctx, keys...)
	res := backends.DeleteResult{Deleted: n}
	if err != nil && !refused(err) {
		res.Unanswered = keys
	}
	return res, err
}

// refused reports a delete the server's ACL refused: every key got its
// answer, and those not counted as deleted are still there.
func refused(err error) bool {
	var pe *backends.PermissionError
	return errors.As(err, &pe)
}

// delAnswered is del, noting whether the deployment answered any of it.
func (r *runner) delAnswered(ctx context.Context, keys []string) (backends.DeleteResult, error) {
	res, err := r.del(ctx, keys)
	if err == nil || res.Deleted > 0 || len(res.Unanswered) < len(keys) {
		r.answered()
	}
	return res, err
}

// pace waits until n more deletions keep within Rate per second, a total
// over every deleter: each batch takes the next slot of the one schedule.
// An idle spell earns no credit, so no burst follows it.
func (r *runner) pace(ctx context.Context, n int) error {
	if r.opts.Rate <= 0 {
		return nil
	}
	per := time.Duration(n) * time.Second / time.Duration(r.opts.Rate)
	r.pacing.mu.Lock()
	now := r.now()
	at := r.pacing.next
	if at.Before(now) {
		at = now
	}
	r.pacing.next = at.Add(per)
	r.pacing.mu.Unlock()
	if wait := at.Sub(now); wait > 0 {
		return r.sleep(ctx, wait)
	}
	return nil
}

// schedule is when the deletions granted so far may have happened at Rate.
type schedule struct {
	mu   sync.Mutex
	next time.Time
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reportLocked calls Progress with the current figures; mu held.
func (r *runner) reportLocked() {
	if r.opts.Progress == nil {
		return
	}
	p := Progress{Matched: r.sum.Matched, Deleted: r.sum.Deleted, Elapsed: r.now().Sub(r.start)}
	if r.sharded {
		p.Nodes = make([]NodeProgress, 0, len(r.nodes))
		for _, n := range r.nodes {
			p.Nodes = append(p.Nodes, NodeProgress{Node: n.Node, Matched: n.Matched, Deleted: n.Deleted})
		}
		slices.SortFunc(p.Nodes, func(a, b NodeProgress) int { return strings.Compare(a.Node, b.Node) })
	}
	r.opts.Progress(p)
}

// errorRank orders the failures of a run's goroutines: the one the run
// returns is the first of the highest rank. A plain cancellation is usually
// the echo of another failure (the listing stopped because a deleter failed).
func errorRank(err error) int {
	var ie *InterruptedError
	switch {
	case errors.As(err, &ie):
		return 2
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return 0
	case errors.Is(err, errMax):
		return 1
	}
	return 3
}
