package tui

import (
	"context"
	"errors"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/invalidate"
)

// Every server operation runs in a tea.Cmd (off the UI goroutine) under a
// timeout and comes back as one of these messages, tagged so that answers to
// questions no longer asked (an old filter, a key scrolled past) are dropped.

type connectedMsg struct {
	b   backends.Backend
	err error
}

type scanMsg struct {
	gen  int
	keys []string
	done bool
	err  error
}

type statsMsg struct {
	s   *backends.Stats
	err error
	at  time.Time
}

type tickMsg time.Time

type fetchMsg struct{ seq int } // debounce: fetch if the selection is still seq

type entryMsg struct {
	seq   int
	key   string
	info  *backends.KeyInfo
	entry *backends.Entry // nil when the value was too big to fetch or missing
	err   error
	at    time.Time
}

type renderedMsg struct {
	seq     int
	mode    viewMode
	width   int
	all     bool
	content string
	format  string
	note    string
	cut     bool
}

type deletedMsg struct {
	key string
	n   int64
	err error
}

// checkedMsg is a re-check of a key whose delete was unconfirmed.
type checkedMsg struct {
	key  string
	gone bool
	err  error
}

type expiredMsg struct {
	key string
	ttl time.Duration
	err error
}

type countedMsg struct {
	pattern string
	sum     invalidate.Summary
	err     error
}

type invProgressMsg struct {
	gen int
	p   invalidate.Progress
}

type invDoneMsg struct {
	gen int
	sum invalidate.Summary
	err error
}

type statusMsg struct {
	text string
	err  bool
}

// connect opens the backend; a failure is retried by the tick.
func connect(ctx context.Context, open func(context.Context) (backends.Backend, error), timeout time.Duration) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		b, err := open(ctx)
		return connectedMsg{b: b, err: err}
	}
}

// scanner streams one Scan into the UI, one message per batch. The channel is
// small so a slow UI slows the scan instead of piling keys up in memory.
type scanner struct {
	gen    int
	ch     chan scanMsg
	cancel context.CancelFunc
}

func startScan(ctx context.Context, b backends.Backend, pattern string, gen int) *scanner {
	ctx, cancel := context.WithCancel(ctx)
	s := &scanner{gen: gen, ch: make(chan scanMsg, 4), cancel: cancel}
	go func() {
		defer close(s.ch)
		err := b.Scan(ctx, pattern, func(keys []string) error {
			batch := append([]string(nil), keys...) // the backend may reuse its slice
			select {
			case s.ch <- scanMsg{gen: gen, keys: batch}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return // replaced by a newer scan: nobody is listening
		}
		select {
		case s.ch <- scanMsg{gen: gen, done: true, err: err}:
		case <-ctx.Done():
		}
	}()
	return s
}

// next waits for the next batch and folds in whatever else is already
// queued, so a fast server costs one frame per several batches.
func (s *scanner) next() tea.Cmd {
	return func() tea.Msg {
		m, ok := <-s.ch
		if !ok {
			return nil
		}
		for !m.done && len(m.keys) < 8192 {
			select {
			case more, ok := <-s.ch:
				if !ok {
					return m
				}
				m.keys = append(m.keys, more.keys...)
				m.done, m.err = more.done, more.err
			default:
				return m
			}
		}
		return m
	}
}

func (s *scanner) stop() {
	if s != nil {
		s.cancel()
	}
}

func fetchStats(ctx context.Context, b backends.Backend, timeout time.Duration, now func() time.Time) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		s, err := b.Stats(ctx)
		return statsMsg{s: s, err: err, at: now()}
	}
}

// fetchEntry reads a key's metadata first and its value only when it is
// small enough (or "load all" was asked): a 500 MB value is never pulled
// because the cursor passed over it.
func fetchEntry(ctx context.Context, b backends.Backend, key string, seq int, loadAll bool, maxFetch int64, timeout time.Duration, now func() time.Time) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		msg := entryMsg{seq: seq, key: key}
		infos, err := b.Inspect(ctx, []string{key})
		if err != nil {
			msg.err = err
			return msg
		}
		msg.at = now()
		if len(infos) == 1 {
			info := infos[0]
			msg.info = &info
			if info.Missing {
				return msg
			}
			if !loadAll && maxFetch > 0 && info.Size > maxFetch {
				return msg
			}
		}
		e, err := b.Get(ctx, key)
		if err != nil {
			msg.err = err
			return msg
		}
		msg.entry, msg.at = e, now()
		return msg
	}
}

func deleteKey(ctx context.Context, b backends.Backend, key string, timeout time.Duration) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		n, err := b.Delete(ctx, key)
		return deletedMsg{key: key, n: n, err: err}
	}
}

// checkKey looks the key up again after a delete whose answer was lost.
func checkKey(ctx context.Context, b backends.Backend, key string, timeout time.Duration) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		infos, err := b.Inspect(ctx, []string{key})
		if err == nil && len(infos) != 1 {
			err = errors.New("no answer for the key")
		}
		if err != nil {
			return checkedMsg{key: key, err: err}
		}
		return checkedMsg{key: key, gone: infos[0].Missing}
	}
}

func expireKey(ctx context.Context, b backends.Backend, key string, ttl, timeout time.Duration) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return expiredMsg{key: key, ttl: ttl, err: b.Expire(ctx, key, ttl)}
	}
}

// countPattern is the dry run shown before "delete the filter" asks.
func countPattern(ctx context.Context, b backends.Backend, pattern string, timeout time.Duration) tea.Cmd {
	return func() tea.Msg {
		// Counting walks the keyspace: allow it far longer than one operation.
		ctx, cancel := context.WithTimeout(ctx, 60*timeout)
		defer cancel()
		sum, err := invalidate.Run(ctx, b, invalidate.Options{Patterns: []string{pattern}, DryRun: true, Sample: 5})
		return countedMsg{pattern: pattern, sum: sum, err: err}
	}
}

// invalidation runs the engine and relays its progress to the UI; the
// channel keeps only the latest figures so a slow UI never stalls deletes.
type invalidation struct {
	gen      int
	progress chan invalidate.Progress
	done     chan invDoneMsg
	cancel   context.CancelFunc
}

func startInvalidate(ctx context.Context, b backends.Backend, pattern string, gen int) *invalidation {
	ctx, cancel := context.WithCancel(ctx)
	inv := &invalidation{gen: gen, progress: make(chan invalidate.Progress, 1), done: make(chan invDoneMsg, 1), cancel: cancel}
	go func() {
		sum, err := invalidate.Run(ctx, b, invalidate.Options{
			Patterns: []string{pattern},
			Progress: func(p invalidate.Progress) {
				select {
				case <-inv.progress: // drop the stale figure
				default:
				}
				inv.progress <- p
			},
		})
		inv.done <- invDoneMsg{gen: gen, sum: sum, err: err}
	}()
	return inv
}

func (inv *invalidation) next() tea.Cmd {
	return func() tea.Msg {
		select {
		case p := <-inv.progress:
			return invProgressMsg{gen: inv.gen, p: p}
		case d := <-inv.done:
			return d
		}
	}
}

func tick(d time.Duration) tea.Cmd {
	return tea.Tick(d, func(t time.Time) tea.Msg { return tickMsg(t) })
}

func debounceFetch(seq int, d time.Duration) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return fetchMsg{seq: seq} })
}
