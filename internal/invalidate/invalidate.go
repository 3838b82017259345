// Package invalidate deletes every key matching a set of globs, streaming:
// the backend lists one page of keys while the previous page is being
// deleted, so the key list is never held in memory and listing and deleting
// overlap. It is the engine behind `cachectl invalidate` (and the dashboard's
// "delete the filter").
//
// On a sharded backend (backends.ShardedScanner: Redis Cluster) every
// primary is listed at once and each has a deleter of its own, so deletes run
// on all of them in parallel; rate and max stay totals. On a backend that can
// ride through a failover (backends.Recoverer) a batch or a listing cut off
// by a lost server is sent again once the deployment answers, and the run
// ends with a verification listing.
package invalidate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
)

// Options says what to delete and how gently.
type Options struct {
	Patterns []string
	// DryRun counts the matching keys and keeps a sample; nothing is deleted.
	DryRun bool
	// Batch is how many keys go to the backend per delete (default 1000).
	Batch int
	// Rate bounds deletions per second; 0 means as fast as the server goes.
	Rate int
	// Max stops after this many deletions; 0 means no limit.
	Max int64
	// Sample is how many matching keys a dry run keeps (default 10).
	Sample int
	// Match, when set, is an exact check every listed key must also pass
	// (a framework target the globs only approximate, like a route whose
	// longer paths the glob would also match).
	Match func(key string) bool
	// Before, when set, is called with each batch before it is deleted (to
	// back the entries up); an error stops the run before that batch, but
	// for a lost connection (a *backends.ConnError) on a backend that
	// rides through failovers: the run waits for the deployment and calls
	// it again with the same batch.
	Before func(ctx context.Context, keys []string) error
	// BeforeOn, when set, gives the Before of one worker of a replica set,
	// so a backup saves the copy of the worker that deletes it; Before
	// serves the others.
	BeforeOn func(b backends.Backend) func(ctx context.Context, keys []string) error
	// Progress, when set, is called after each batch (in a dry run, each
	// page); never by two goroutines at once.
	Progress func(Progress)
	// RecoverWait bounds each wait for the deployment to answer again after
	// a connection failure, on backends that ride through failovers
	// (backends.Recoverer); 0 means DefaultRecoverWait.
	RecoverWait time.Duration
	// Memory bounds the keys a run remembers having deleted, to tell a key
	// a failover brought back from a new one (see Summary.Restored); 0
	// means MemoryKeys.
	Memory int
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Sleep waits d, or until ctx is done (tests: a fake clock with Now);
	// nil waits on a timer. --rate waits through it.
	Sleep func(ctx context.Context, d time.Duration) error

	// pacing, when set, is a Rate schedule shared with other runs: the
	// workers of a replica set, run one after another, keep one total rate
	// (each run's first batch would otherwise go at once).
	pacing *schedule
}

// DefaultRecoverWait is how long a run waits for a failover to finish (a
// replica promoted, Sentinel naming a new master) before it gives up.
// Sentinel's own failover-timeout defaults to 3 minutes, but a promotion
// usually takes seconds: 30 s rides through the common case without leaving
// a deploy hook hanging when the deployment is really gone.
const DefaultRecoverWait = 30 * time.Second

// Progress is the running count.
type Progress struct {
	Matched, Deleted int64
	Elapsed          time.Duration
	// Nodes are the figures per primary of a sharded backend, sorted by
	// node; nil for other backends. Each call gets a fresh slice.
	Nodes []NodeProgress
}

// NodeProgress is one primary's running count. A key counts for the node
// that listed it, wherever its delete was routed.
type NodeProgress struct {
	Node             string
	Matched, Deleted int64
}

// NodeSummary is what a run did on one primary of a sharded backend, or on
// one worker of a replica set.
type NodeSummary struct {
	Node                          string
	Matched, Deleted, Unconfirmed int64
	// Err is why a worker's run failed (replica sets: the others go on).
	Err error
}

// Summary is what a run did. When Run returns an error, Deleted is still
// exact for every batch the server confirmed; Unconfirmed counts the keys of
// the batches that failed, which may or may not have been deleted.
//
// A run that rode through a failover and succeeded may also have Unconfirmed
// keys: their delete got no answer and the retry found them gone, so this
// run most likely deleted them, but no server said so. They are not in
// Deleted. Matched is Deleted + Unconfirmed + the keys that vanished by
// themselves between their listing and their delete (expired, deleted by
// the app). Each key counts once in Matched, Deleted and Unconfirmed (but
// see MaybeCountedTwice); one deleted again after a failover brought it
// back is in Restored.
type Summary struct {
	Patterns    []string
	Matched     int64
	Deleted     int64
	Unconfirmed int64
	DryRun      bool
	Elapsed     time.Duration
	Sample      []string
	// ServerSide: the server deleted the keys itself (HTTP caches).
	ServerSide bool
	// Recovered counts the failovers the run rode through
	// (backends.Recoverer): a lost connection it waited for the deployment
	// after, or a new master the client followed by itself. A reshard,
	// which moves slots between the same primaries, is not one.
	Recovered int
	// Rounds counts the times a sharded listing listed slots again because
	// they moved (a reshard, a failover) while they were listed.
	Rounds int
	// Verified counts the keys the verification listing found, after a
	// recovery or a round, and deleted that this run had not deleted
	// before: missed by a listing the failover disturbed (a cursor that
	// walked another master's table), written meanwhile, or brought back
	// beyond the memory (see MaybeCountedTwice). They are also in Matched
	// and Deleted.
	Verified int64
	// Restored counts the keys this run had deleted that were found again
	// after a failover, by the listing restarted after it or by the
	// verification listing, and deleted again: deletes the old primary
	// acknowledged and its replica never got (or keys the app wrote again).
	// They are not in Matched or Deleted a second time. Only a backend that
	// rides through failovers or lists per shard remembers its deletes.
	Restored int64
	// MaybeCountedTwice: the run deleted more keys since the deployment was
	// last known stable than it remembers (Options.Memory), so up to this
	// many keys found again after a failover may be in Matched and Deleted
	// twice instead of in Restored.
	MaybeCountedTwice int64
	// MaybeBack: Max was reached on a run a failover disturbed, and the
	// run stopped (an error, Ctrl-C) before its listing for the deleted keys
	// the failover may have brought back was done. Up to this many of
	// Deleted and Unconfirmed (those since the deployment was last known
	// stable) may be present again.
	MaybeBack int64
	// Nodes are the figures per primary of a sharded backend, sorted by
	// node, or per worker of a replica set, in member order; nil for other
	// backends.
	Nodes []NodeSummary
	// Workers: the backend is a replica set (backends.ReplicaSet) and Nodes
	// are its workers, each run on its own.
	Workers bool
}

// UnstableListing is implemented by backends whose key listing can skip
// keys that are deleted while it runs (memcached: its LRU crawler misses a
// few items when others are unlinked mid-crawl). For them each pattern is
// listed completely first, into a temporary file, and deleted afterwards.
type UnstableListing interface {
	ListingSkipsUnderDeletes() bool
}

// ServerInvalidator is a backend that deletes matching keys itself.
type ServerInvalidator interface {
	Invalidate(ctx context.Context, patterns []string, dryRun bool) (matched, deleted int64, err error)
}

// ChunkedInvalidator is a ServerInvalidator whose server may also delete in
// bounded chunks (HTTP capability invalidate-chunked): at most limit keys per
// call, from cursor, next "" when done. A failure then leaves at most one
// chunk's fate unknown.
type ChunkedInvalidator interface {
	ServerInvalidator
	ChunkedInvalidate(ctx context.Context) (bool, error)
	InvalidateChunk(ctx context.Context, patterns []string, dryRun bool, cursor string, limit int) (matched, deleted int64, next string, err error)
}

// InterruptedError is a batch that failed after the run was interrupted
// (Ctrl-C) while it was in flight: typically the wait for its count ran
// into the timeout. Both are true, so it wraps both: the exit says
// "interrupted" and the message still says what became of the batch.
type InterruptedError struct{ Err error }

func (e *InterruptedError) Error() string { return e.Err.Error() }

func (e *InterruptedError) Unwrap() []error { return []error{context.Canceled, e.Err} }

// inFlight is err, the failure of a batch sent on an uncancellable context,
// marked interrupted when ctx was cancelled meanwhile.
func inFlight(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil || errors.Is(err, context.Canceled) {
		return err
	}
	return &InterruptedError{Err: err}
}

// maxPasses bounds the listings of one pattern on an unstable listing; keys
// an app keeps writing meanwhile are not chased forever.
const maxPasses = 5

// errMax stops the listing once Max deletions are reached.
var errMax = errors.New("max reached")

// Run deletes (or, with DryRun, counts) every key matching any pattern.
// A key matching several patterns is handled once, by the first of them.
// Cancelling ctx (Ctrl-C) stops the run after the batch being deleted, whose
// count is still awaited, so the summary stays exact.
func Run(ctx context.Context, b backends.Backend, opts Options) (sum Summary, err error) {
	if opts.Batch <= 0 {
		opts.Batch = 1000
	}
	if opts.Sample <= 0 {
		opts.Sample = 10
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	sum = Summary{Patterns: opts.Patterns, DryRun: opts.DryRun}
	defer func() { sum.Elapsed = now().Sub(start) }() // named results: set on every return

	if rs, ok := b.(backends.ReplicaSet); ok {
		err = runMembers(ctx, rs, opts, &sum, func() time.Duration { return now().Sub(start) })
		return sum, err
	}

	// An HTTP cache deletes on its side in one request, unless the caller
	// needs to see each batch (backup), pace it or cap it.
	if si, ok := b.(ServerInvalidator); ok && opts.Before == nil && opts.Match == nil && opts.Rate == 0 && opts.Max == 0 {
		sum.ServerSide = true
		err = serverSide(ctx, si, opts, &sum, func() {
			if opts.Progress != nil {
				opts.Progress(Progress{Matched: sum.Matched, Deleted: sum.Deleted, Elapsed: now().Sub(start)})
			}
		})
		if opts.DryRun && err == nil {
			err = sample(ctx, b, opts, &sum)
		}
		return sum, err
	}

	r := newRunner(b, opts, &sum, now, start)
	err = r.run(ctx)
	r.finish()
	if errors.Is(err, errMax) {
		return sum, nil
	}
	return sum, err
}

// serverSide lets the server delete. In chunks when it can: each request is
// awaited even after Ctrl-C (within the operation timeout), the run stops
// between chunks with an exact count, and a failed chunk leaves at most its
// limit unconfirmed. An older server takes one request; the keys are counted
// first so that a failure can say how many were at stake, never a sure 0.
func serverSide(ctx context.Context, si ServerInvalidator, opts Options, sum *Summary, report func()) error {
	if ci, ok := si.(ChunkedInvalidator); ok {
		chunked, err := ci.ChunkedInvalidate(ctx)
		if err != nil {
			return err
		}
		if chunked {
			// A server that hands out a cursor it gave before would keep the
			// run going forever: every cursor is remembered (a few bytes per
			// chunk of opts.Batch keys).
			seen := map[string]bool{}
			for cursor := ""; ; {
				if err := ctx.Err(); err != nil {
					return err
				}
				m, d, next, err := ci.InvalidateChunk(context.WithoutCancel(ctx), opts.Patterns, opts.DryRun, cursor, opts.Batch)
				if err == nil {
					err = checkChunk(m, d, opts)
				}
				if err == nil && next != "" && seen[next] {
					err = &InconsistentError{Why: "it handed out a cursor it had given before, so the run would never end"}
				}
				if err != nil {
					if !opts.DryRun {
						sum.Unconfirmed = int64(opts.Batch)
					}
					return inFlight(ctx, err)
				}
				sum.Matched += m
				sum.Deleted += d
				report()
				if next == "" {
					return nil
				}
				seen[next] = true
				cursor = next
			}
		}
	}
	if opts.DryRun {
		m, _, err := si.Invalidate(ctx, opts.Patterns, true)
		sum.Matched = m
		return err
	}
	pre, _, err := si.Invalidate(ctx, opts.Patterns, true)
	if err != nil {
		return err
	}
	m, d, err := si.Invalidate(context.WithoutCancel(ctx), opts.Patterns, false)
	if err == nil && (m < 0 || d < 0 || d > m) {
		err = &InconsistentError{Why: fmt.Sprintf("it reported %d deleted of %d matched", d, m)}
	}
	if err != nil {
		sum.Matched, sum.Unconfirmed = max(pre, 0), max(pre, 0)
		return inFlight(ctx, err)
	}
	sum.Matched, sum.Deleted = m, d
	report()
	return nil
}

// InconsistentError is a server-side invalidation whose answer cannot be
// true: its counts are not believed, and the run stops.
type InconsistentError struct{ Why string }

func (e *InconsistentError) Error() string {
	return "the server's invalidate answer does not add up: " + e.Why
}

// checkChunk refuses counts no server that keeps the protocol can give: a
// chunk deletes at most its limit, never more than it matched.
func checkChunk(m, d int64, opts Options) error {
	switch {
	case m < 0 || d < 0:
		return &InconsistentError{Why: fmt.Sprintf("negative counts (matched %d, deleted %d)", m, d)}
	case opts.DryRun && d != 0:
		return &InconsistentError{Why: fmt.Sprintf("a dry run deleted %d", d)}
	case d > int64(opts.Batch):
		return &InconsistentError{Why: fmt.Sprintf("it deleted %d in a chunk limited to %d", d, opts.Batch)}
	case d > m:
		return &InconsistentError{Why: fmt.Sprintf("it deleted %d of %d matched", d, m)}
	}
	return nil
}

// sample lists the first few matching keys for a server-side dry run.
func sample(ctx context.Context, b backends.Backend, opts Options, sum *Summary) error {
	stop := errors.New("enough")
	for _, p := range opts.Patterns {
		err := b.Scan(ctx, p, func(keys []string) error {
			for _, k := range keys {
				if len(sum.Sample) >= opts.Sample {
					return stop
				}
				if opts.Match != nil && !opts.Match(k) {
					continue
				}
				sum.Sample = append(sum.Sample, k)
			}
			return nil
		})
		if err != nil && !errors.Is(err, stop) {
			return err
		}
	}
	return nil
}
