package header

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
)

type connectedMsg struct {
	b   backends.Backend
	err error
}

type statsMsg struct {
	s   *backends.Stats
	err error
	at  time.Time
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

func fetchStats(ctx context.Context, b backends.Backend, timeout time.Duration, now func() time.Time) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		s, err := b.Stats(ctx)
		return statsMsg{s: s, err: err, at: now()}
	}
}
