// Package invalidate deletes every key matching a set of globs, streaming:
// the backend lists one page of keys while the previous page is being
// deleted, so the key list is never held in memory and listing and deleting
// overlap. It is the engine behind `cachectl invalidate` (and the dashboard's
// "delete the filter").
package invalidate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/glob"
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
	// back the entries up); an error stops the run before that batch.
	Before func(ctx context.Context, keys []string) error
	// Progress, when set, is called after each batch.
	Progress func(Progress)
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Progress is the running count.
type Progress struct {
	Matched, Deleted int64
	Elapsed          time.Duration
}

// Summary is what a run did. When Run returns an error, Deleted is still
// exact for every batch the server confirmed; Unconfirmed counts the keys of
// the batch that failed, which may or may not have been deleted.
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

	r := &runner{b: b, opts: opts, sum: &sum, now: now, start: start}
	for i, p := range opts.Patterns {
		if err = r.pattern(ctx, p, opts.Patterns[:i]); err != nil {
			if errors.Is(err, errMax) {
				return sum, nil
			}
			return sum, err
		}
	}
	return sum, nil
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

type runner struct {
	b     backends.Backend
	opts  Options
	sum   *Summary
	now   func() time.Time
	start time.Time
	// paced is when the deletions so far may have happened at Rate.
	paced time.Time
}

// pattern lists the keys of one pattern in a goroutine and deletes them here,
// one batch behind the listing (or after it, for unstable listings).
func (r *runner) pattern(ctx context.Context, pattern string, earlier []string) error {
	if u, ok := r.b.(UnstableListing); ok && u.ListingSkipsUnderDeletes() && !r.opts.DryRun {
		// Such a listing can also miss keys the server moves while it walks
		// (memcached's LRU maintainer): list again until a pass finds nothing.
		for pass := 0; pass < maxPasses; pass++ {
			before := r.sum.Matched
			if err := r.spilled(ctx, pattern, earlier); err != nil {
				return err
			}
			if r.sum.Matched == before {
				break
			}
		}
		return nil
	}
	listCtx, stopListing := context.WithCancel(ctx)
	defer stopListing()
	pages := make(chan []string, 2) // bounded: the listing waits for the deletes
	listErr := make(chan error, 1)
	go func() {
		defer close(pages)
		listErr <- r.b.Scan(listCtx, pattern, func(keys []string) error {
			page := make([]string, 0, len(keys))
			for _, k := range keys {
				// The server already matched (Redis); check again anyway: a
				// key that does not match must never be deleted.
				if !r.opts.wants(pattern, earlier, k) {
					continue
				}
				page = append(page, k)
			}
			if len(page) == 0 {
				return nil
			}
			select {
			case pages <- page:
				return nil
			case <-listCtx.Done():
				return listCtx.Err()
			}
		})
	}()
	batch := pending{r: r}
	for page := range pages {
		for _, k := range page {
			r.sum.Matched++
			if r.opts.DryRun {
				if len(r.sum.Sample) < r.opts.Sample {
					r.sum.Sample = append(r.sum.Sample, k)
				}
				continue
			}
			if err := batch.add(ctx, k); err != nil {
				stopListing()
				return err
			}
		}
		if r.opts.DryRun {
			r.report()
		}
	}
	if err := <-listErr; err != nil {
		// Keys listed but not yet deleted stay in the cache; say so exactly.
		r.sum.Matched -= int64(len(batch.keys))
		return err
	}
	return batch.flush(ctx)
}

// pending collects keys and deletes them a batch at a time.
type pending struct {
	r    *runner
	keys []string
}

func (p *pending) add(ctx context.Context, k string) error {
	p.keys = append(p.keys, k)
	if len(p.keys) < p.r.opts.Batch {
		return nil
	}
	return p.flush(ctx)
}

func (p *pending) flush(ctx context.Context) error {
	if len(p.keys) == 0 {
		return nil
	}
	err := p.r.delete(ctx, p.keys)
	p.keys = p.keys[:0]
	return err
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

// delete removes one batch, honouring Max and Rate. The delete itself runs
// on a context that Ctrl-C does not cancel, so that its count is known.
func (r *runner) delete(ctx context.Context, keys []string) error {
	if err := ctx.Err(); err != nil {
		r.sum.Matched -= int64(len(keys)) // listed, never deleted
		return err
	}
	if r.opts.Max > 0 {
		left := r.opts.Max - r.sum.Deleted
		if left <= 0 {
			r.sum.Matched -= int64(len(keys))
			return errMax
		}
		if int64(len(keys)) > left {
			r.sum.Matched -= int64(len(keys)) - left
			keys = keys[:left]
		}
	}
	if err := r.pace(ctx, len(keys)); err != nil {
		r.sum.Matched -= int64(len(keys))
		return err
	}
	if r.opts.Before != nil {
		if err := r.opts.Before(ctx, keys); err != nil {
			r.sum.Matched -= int64(len(keys))
			return err
		}
	}
	n, err := r.b.Delete(context.WithoutCancel(ctx), keys...)
	r.sum.Deleted += n
	if err != nil {
		r.sum.Unconfirmed = int64(len(keys)) - n
		return inFlight(ctx, err)
	}
	r.report()
	if r.opts.Max > 0 && r.sum.Deleted >= r.opts.Max {
		return errMax
	}
	return nil
}

// pace waits until n more deletions keep within Rate per second.
func (r *runner) pace(ctx context.Context, n int) error {
	if r.opts.Rate <= 0 {
		return nil
	}
	if r.paced.IsZero() {
		r.paced = r.now()
	}
	r.paced = r.paced.Add(time.Duration(n) * time.Second / time.Duration(r.opts.Rate))
	wait := r.paced.Sub(r.now()) - time.Duration(n)*time.Second/time.Duration(r.opts.Rate)
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *runner) report() {
	if r.opts.Progress != nil {
		r.opts.Progress(Progress{Matched: r.sum.Matched, Deleted: r.sum.Deleted, Elapsed: r.now().Sub(r.start)})
	}
}
