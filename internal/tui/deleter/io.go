package deleter

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
// questions no longer asked (an old filter, a bulk delete ended) are dropped.

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
	pattern  string
	progress chan invalidate.Progress
	done     chan invDoneMsg
	cancel   context.CancelFunc
}

func startInvalidate(ctx context.Context, b backends.Backend, pattern string, gen int) *invalidation {
	ctx, cancel := context.WithCancel(ctx)
	inv := &invalidation{gen: gen, pattern: pattern, progress: make(chan invalidate.Progress, 1), done: make(chan invDoneMsg, 1), cancel: cancel}
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
