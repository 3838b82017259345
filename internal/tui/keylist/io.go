package keylist

import (
	"context"
	"errors"

	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
)

// scanMsg is a batch of the listing, read off the UI goroutine and tagged
// with its scan so that a replaced scan's batches are dropped.
type scanMsg struct {
	gen  int
	keys []string
	done bool
	err  error
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

// ScanBatch is keys arriving for the current listing as if from the
// backend's scan, for benchmarks that load a million keys without a server.
func (m *Model) ScanBatch(keys []string) tea.Msg { return scanMsg{gen: m.scanGen, keys: keys} }
