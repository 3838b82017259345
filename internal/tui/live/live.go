// Package live is the dashboard's live mode: where the backend reports key
// events (backends.Watcher), it watches them in the background and publishes
// them, coalesced, as uictx.LiveBatch for the key list and the detail pane,
// and a uictx.LiveGap when some may have been missed. It draws nothing; the
// header's strip shows uictx.Context.Live. A watch that fails is retried
// with backoff on its own: it is no outage of the dashboard.
package live

import (
	"context"
	"errors"
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// Options shape live mode.
type Options struct {
	// Off starts the dashboard with live mode off (L turns it on).
	Off bool
	// EnableNotifications lets a Redis watch turn keyspace notifications on
	// (the user asked for it with a flag; never in read-only mode). The old
	// value is restored when the watch ends.
	EnableNotifications bool
	// Pattern is the stored-key glob listed first.
	Pattern string
}

// Model is live mode.
type Model struct {
	c       *uictx.Context
	opts    Options
	on      bool // the user's wish (L)
	pattern string

	feed    *feed
	gen     int
	backoff time.Duration
	toldOff bool // the status line said notifications are off

	// The rate: events counted at the last tick.
	counted int64
	countAt time.Time
}

// New builds live mode; it starts once the backend is connected.
func New(c *uictx.Context, opts Options) *Model {
	if opts.Pattern == "" {
		opts.Pattern = "*"
	}
	return &Model{c: c, opts: opts, on: !opts.Off, pattern: opts.Pattern}
}

// Close stops the watch (a Redis watch that enabled notifications puts
// the old value back on its way out).
func (m *Model) Close() {
	m.feed.stop()
	m.feed.wait(5 * time.Second)
}

// Running reports whether a watch runs (subscribing or subscribed).
func (m *Model) Running() bool { return m.feed != nil }

// Update starts the watch on connecting, follows the filter, applies the
// feed's batches and L.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case uictx.Connected:
		return m.start()
	case uictx.Filter:
		m.pattern = msg.Pattern
		if m.feed != nil {
			m.feed.setPattern(msg.Pattern)
		}
	case batchMsg:
		return m.onBatch(msg)
	case endedMsg:
		return m.onEnded(msg)
	case uictx.Tick:
		return m.onTick()
	case uictx.Reconnected:
		if m.c.Live.State == uictx.LiveRetrying {
			return m.start() // the server is back: no need to wait the backoff out
		}
	case tea.KeyPressMsg:
		if key.Matches(msg, m.c.Keys.Live) {
			return m.toggle()
		}
	}
	return nil
}

func (m *Model) watcher() (backends.Watcher, bool) {
	if m.c.Backend == nil {
		return nil, false
	}
	w, ok := m.c.Backend.(backends.Watcher)
	return w, ok
}

// start subscribes, unless live mode is off or the backend has no events.
func (m *Model) start() tea.Cmd {
	w, ok := m.watcher()
	if !ok {
		m.c.Live = uictx.Live{State: uictx.LiveUnavailable}
		return nil
	}
	if !m.on {
		m.c.Live = uictx.Live{State: uictx.LiveOff}
		return nil
	}
	m.feed.stop()
	m.gen++
	m.feed = startFeed(m.c.Ctx, w, m.pattern, m.opts.EnableNotifications && !m.c.ReadOnly, m.gen)
	m.c.Live = uictx.Live{State: uictx.LiveStarting}
	m.counted, m.countAt = 0, m.c.Now()
	return m.feed.next()
}

func (m *Model) stop() {
	m.feed.stop()
	m.feed = nil
	m.gen++
}

func (m *Model) toggle() tea.Cmd {
	if _, ok := m.watcher(); !ok {
		if m.c.Backend == nil {
			m.c.SetStatus("live mode starts once connected", false)
		} else {
			m.c.SetStatus("live mode needs a backend that reports key events; "+m.c.Backend.Describe().Kind+" here does not", true)
		}
		return nil
	}
	if m.c.Live.State == uictx.LiveRefused {
		m.c.SetStatus("live mode refused: "+uictx.ErrLine(m.c.Live.Err), true)
		return nil
	}
	m.on = !m.on
	if !m.on {
		m.stop()
		m.c.Live = uictx.Live{State: uictx.LiveOff}
		m.c.SetStatus("live mode off: the list changes only on r", false)
		return nil
	}
	m.backoff = 0
	m.c.SetStatus("live mode on", false)
	// What changed while it was off is read by listing again.
	m.c.Publish(uictx.LiveGap{Why: "live mode turned on"})
	return m.start()
}

func (m *Model) onBatch(msg batchMsg) tea.Cmd {
	if msg.gen != m.gen || m.feed == nil {
		return nil
	}
	if msg.ready && m.c.Live.State == uictx.LiveStarting {
		m.c.Live.State, m.c.Live.Err = uictx.LiveOn, nil
		m.backoff, m.toldOff = 0, false
	}
	if len(msg.events) > 0 {
		m.c.Publish(uictx.LiveBatch{Pattern: msg.pattern, Events: msg.events})
	}
	switch {
	case msg.dropped > 0:
		m.c.Publish(uictx.LiveGap{Why: fmt.Sprintf("more events than the dashboard follows (%d dropped)", msg.dropped)})
	case msg.gap != nil:
		why := "events may have been missed"
		if msg.gap.Detail != "" {
			why += " (" + uictx.OneLine(msg.gap.Detail) + ")"
		}
		if !msg.gap.Since.IsZero() && msg.gap.Time.After(msg.gap.Since) {
			why += fmt.Sprintf(" for %s", msg.gap.Time.Sub(msg.gap.Since).Round(100*time.Millisecond))
		}
		m.c.Publish(uictx.LiveGap{Why: why})
	}
	return m.feed.next()
}

// onEnded takes a watch that returned: events off on the server, refused,
// or failed; the first two say what to do, the last is tried again.
func (m *Model) onEnded(msg endedMsg) tea.Cmd {
	if msg.gen != m.gen {
		return nil
	}
	m.feed.stop()
	m.feed = nil
	err := msg.err
	if errors.Is(err, context.Canceled) && m.c.Ctx.Err() != nil {
		return nil // the dashboard is closing
	}
	var off *backends.NotificationsOffError
	switch {
	case errors.As(err, &off):
		// Asked again now and then: an operator may turn them on meanwhile.
		told := m.toldOff
		m.toldOff = true
		m.c.Live = uictx.Live{State: uictx.LiveNotifyOff, Err: err, RetryAt: m.c.Now().Add(30 * time.Second)}
		if told {
			return nil
		}
		// Not an error: Redis ships with them off. The dashboard never
		// turns them on unless the user asked with the flag.
		m.c.SetStatus(fmt.Sprintf("live off: keyspace notifications are off on %s; run with --enable-notifications, or CONFIG SET notify-keyspace-events KEA", uictx.OneLine(off.Node)), false)
		return nil
	case uictx.Refused(err):
		// The strip says so; L says why. The status line stays for what
		// the user can act on (a listing refused too, say).
		m.c.Live = uictx.Live{State: uictx.LiveRefused, Err: err}
		return nil
	}
	if err == nil {
		err = errors.New("the watch ended")
	}
	m.backoff = min(max(time.Second, 2*m.backoff), 15*time.Second)
	m.c.Live = uictx.Live{State: uictx.LiveRetrying, Err: err, RetryAt: m.c.Now().Add(m.backoff)}
	return nil
}

// onTick updates the rate and restarts a watch whose retry came due.
func (m *Model) onTick() tea.Cmd {
	now := m.c.Now()
	switch m.c.Live.State {
	case uictx.LiveRetrying, uictx.LiveNotifyOff:
		if m.on && !now.Before(m.c.Live.RetryAt) {
			return m.start()
		}
	case uictx.LiveOn, uictx.LiveStarting:
		if f := m.feed; f != nil {
			n := f.total.Load()
			if d := now.Sub(m.countAt).Seconds(); d > 0 {
				m.c.Live.Rate = float64(n-m.counted) / d
			}
			m.counted, m.countAt = n, now
		}
	}
	return nil
}
