package header

import (
	"context"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
)

type connectedMsg struct {
	b   backends.Backend
	err error
}

// statsMsg is one probe: the figures, and the topology of a backend of
// several nodes. s may come with err when only some nodes answered.
type statsMsg struct {
	s       *backends.Stats
	err     error
	topo    *backends.Topology // nil when the backend has none or it failed
	topoErr error
	at      time.Time
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

// fetchStats reads the figures and, beside them (so a dead node costs one
// timeout, not two), the topology. After a failure (resync) a backend that
// rides through failovers first brings its routing up to date with one
// attempt, so that reads of keys whose primary was replaced reach the new
// one; it fails at once while keys still have no primary.
func fetchStats(ctx context.Context, b backends.Backend, timeout time.Duration, now func() time.Time, resync bool) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var msg statsMsg
		if r, ok := b.(backends.Recoverer); ok && resync {
			_, _ = r.Recover(ctx, 0) // the figures below say how it went
		}
		var wg sync.WaitGroup
		if tr, ok := b.(backends.TopologyReporter); ok {
			wg.Add(1)
			go func() {
				defer wg.Done()
				msg.topo, msg.topoErr = tr.Topology(ctx)
			}()
		}
		msg.s, msg.err = b.Stats(ctx)
		wg.Wait()
		msg.at = now()
		return msg
	}
}
