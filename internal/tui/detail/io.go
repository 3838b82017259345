package detail

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
)

type fetchMsg struct{ seq int } // debounce: fetch if the selection is still seq

type entryMsg struct {
	seq   int
	key   string
	info  *backends.KeyInfo
	entry *backends.Entry // nil when the value was too big to fetch or missing
	err   error
	at    time.Time
}

type renderedMsg struct{ Rendered }

type expiredMsg struct {
	key string
	ttl time.Duration
	err error
}

func debounceFetch(seq int, d time.Duration) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return fetchMsg{seq: seq} })
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

func expireKey(ctx context.Context, b backends.Backend, key string, ttl, timeout time.Duration) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return expiredMsg{key: key, ttl: ttl, err: b.Expire(ctx, key, ttl)}
	}
}
