// Package tui is the full-screen dashboard (`cachectl ui`): a live key
// browser with the decoded entry beside it. All server I/O runs in tea.Cmds
// under timeouts; Update only ever changes state, so the UI never blocks on a
// slow server and never dies on a bad value.
//
// The screen is made of components, each a package with its own Update,
// View and SetSize that shares a uictx.Context: header (connection and
// figures), keylist (the keys), detail (the selected entry) and status (the
// status line, its prompt and the help); deleter, which draws nothing, does
// the deletes. This root owns the layout and the focus, hands each message
// to the components and delivers the events they publish on the context to
// all of them; components never import each other.
package tui

import (
	"context"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/profiles"
	"github.com/cachectl/cachectl/internal/tui/analysis"
	"github.com/cachectl/cachectl/internal/tui/deleter"
	"github.com/cachectl/cachectl/internal/tui/detail"
	"github.com/cachectl/cachectl/internal/tui/header"
	"github.com/cachectl/cachectl/internal/tui/keylist"
	"github.com/cachectl/cachectl/internal/tui/live"
	"github.com/cachectl/cachectl/internal/tui/status"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// Options configure a dashboard. Open is called (and retried) from a tea.Cmd,
// so a dead server at start-up shows as such instead of failing the command.
type Options struct {
	Open       func(ctx context.Context) (backends.Backend, error)
	Kind       string // "redis", "memcached", "http": shown before connecting
	Address    string // redacted
	Context    string // context name, "" for none
	Label      string // the context's label ("PRODUCTION")
	LabelColor string
	Production bool
	ReadOnly   bool
	Pattern    string // initial filter; "" means every key
	Delim      string // tree view delimiter; "" means ":"
	Tree       bool   // start in tree view
	Timeout    time.Duration
	// StatsEvery is how often the header's figures refresh (default 2s).
	StatsEvery time.Duration
	// MaxFetch is the largest value fetched without "load all" (default 8 MiB).
	MaxFetch int64
	Now      func() time.Time
	// Tag says what a key is in its framework's terms ("django page GET"),
	// from the key and the first bytes of its value; nil for none.
	Tag func(key string, value []byte) string
	// Display shows a stored key in the profile's terms in the flat list
	// (Django's ":1:greeting" as "greeting"); nil shows it as stored.
	Display func(stored string) string
	// Scope maps a filter typed in the dashboard to the stored-key glob
	// (a profile's namespace); nil uses it as typed.
	Scope func(userGlob string) string
	// Profile adds its framework targets to the analysis view; nil for none.
	Profile *profiles.Profile
	// LiveOff starts with live mode off (L turns it on).
	LiveOff bool
	// EnableNotifications lets live mode turn Redis keyspace notifications
	// on (the user asked with a flag); ignored when ReadOnly.
	EnableNotifications bool
}

type focusPane int

const (
	focusList focusPane = iota
	focusDetail
)

// component is what the root asks of every part of the dashboard.
type component interface {
	Update(tea.Msg) tea.Cmd
}

// quitHolder is a component that may hold the quit (q, ctrl+c) back while
// it winds something down.
type quitHolder interface {
	HoldQuit(ctrlC bool) bool
}

// closer is a component with background work to stop when the dashboard ends.
type closer interface {
	Close()
}

// Model is the root of the dashboard. It is used through a pointer, as are
// its components: the key store is shared state anyway, and copying structs
// per message buys nothing.
type Model struct {
	c    *uictx.Context
	opts Options

	header   *header.Model
	list     *keylist.Model
	detail   *detail.Model
	deleter  *deleter.Model
	live     *live.Model
	analysis *analysis.Model
	status   *status.Model
	all      []component // in the order messages reach them

	focus focusPane
}

// New builds the dashboard model; Run starts it.
func New(ctx context.Context, opts Options) *Model {
	if opts.Delim == "" {
		opts.Delim = ":"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.StatsEvery <= 0 {
		opts.StatsEvery = 2 * time.Second
	}
	if opts.MaxFetch == 0 {
		opts.MaxFetch = 8 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Pattern == "" {
		opts.Pattern = "*"
	}
	c := uictx.New(ctx, opts.Now, opts.Timeout, opts.ReadOnly)
	m := &Model{c: c, opts: opts}
	m.header = header.New(c, header.Options{Open: opts.Open, Kind: opts.Kind, Address: opts.Address,
		Context: opts.Context, Label: opts.Label, LabelColor: opts.LabelColor, Production: opts.Production,
		StatsEvery: opts.StatsEvery})
	m.list = keylist.New(c, keylist.Options{Pattern: opts.Pattern, Delim: opts.Delim, Tree: opts.Tree,
		Display: opts.Display, Scope: opts.Scope})
	m.detail = detail.New(c, detail.Options{MaxFetch: opts.MaxFetch, Tag: opts.Tag, Cursor: m.list.Current})
	m.deleter = deleter.New(c)
	m.live = live.New(c, live.Options{Off: opts.LiveOff, EnableNotifications: opts.EnableNotifications && !opts.ReadOnly, Pattern: opts.Pattern})
	m.analysis = analysis.New(c, analysis.Options{Pattern: opts.Pattern, Delim: opts.Delim, Profile: opts.Profile})
	m.status = status.New(c)
	m.all = []component{m.header, m.list, m.detail, m.deleter, m.live, m.analysis, m.status}
	m.setFocus(focusList)
	m.layout()
	return m
}

// Init connects, asks the terminal for its background colour (to pick
// readable colours) and starts the clock.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.header.Init(), tea.RequestBackgroundColor, tick(time.Second))
}

// Close stops the components' background work and releases the backend.
func (m *Model) Close() {
	for _, c := range m.all {
		if c, ok := c.(closer); ok {
			c.Close()
		}
	}
	if m.c.Backend != nil {
		_ = m.c.Backend.Close()
	}
}

// Update applies one message: the root's own (size, colours, clock, keys),
// anything else to every component, then the events they published.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.Width, m.c.Height = msg.Width, msg.Height
		cmd = m.layout()
	case tea.BackgroundColorMsg:
		m.c.Styles = uictx.NewStyles(msg.IsDark())
		cmd = m.broadcast(msg)
	case uictx.Tick:
		cmd = tea.Batch(tick(time.Second), m.broadcast(msg))
	case tea.KeyPressMsg:
		cmd = m.onKey(msg)
	default:
		cmd = m.broadcast(msg)
	}
	return m, tea.Batch(cmd, m.deliver())
}

func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	cmds := make([]tea.Cmd, 0, len(m.all))
	for _, c := range m.all {
		cmds = append(cmds, c.Update(msg))
	}
	return tea.Batch(cmds...)
}

// deliver hands the published events to the root and every component, and
// the events those raise, until none is left.
func (m *Model) deliver() tea.Cmd {
	var cmds []tea.Cmd
	for evs := m.c.Events(); len(evs) > 0; evs = m.c.Events() {
		for _, e := range evs {
			switch e.(type) {
			case uictx.Open:
				m.setFocus(focusDetail)
			case uictx.Back:
				m.setFocus(focusList)
			case uictx.Connected:
				cmds = append(cmds, m.layout()) // a topology takes a header line
			}
			cmds = append(cmds, m.broadcast(e))
		}
	}
	return tea.Batch(cmds...)
}

// onKey applies a key: all of them to an open prompt; else the root's own
// (quit, help, focus, refresh), else to every component, each of which acts
// on its own bindings whichever pane has the focus, and a pane moves only
// while it has it.
func (m *Model) onKey(msg tea.KeyPressMsg) tea.Cmd {
	cmd := m.key(msg)
	m.setFocus(m.focus) // the analysis view may have opened or closed
	return tea.Batch(cmd, m.deliver())
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	if m.status.Prompting() {
		return m.status.Update(msg)
	}
	k := m.c.Keys
	switch {
	case key.Matches(msg, k.Quit):
		if m.holdQuit(msg.String() == "ctrl+c") {
			return nil
		}
		return tea.Quit
	case key.Matches(msg, k.Help):
		m.status.ToggleHelp()
		return m.layout()
	case key.Matches(msg, k.Focus):
		if m.focus == focusList {
			m.setFocus(focusDetail)
		} else {
			m.setFocus(focusList)
		}
		return nil
	case key.Matches(msg, k.Refresh):
		m.c.SetStatus("", false)
		m.c.Publish(uictx.Refresh{})
		return nil
	}
	return m.broadcast(msg)
}

// holdQuit asks each component that may hold the quit back whether it does.
func (m *Model) holdQuit(ctrlC bool) bool {
	for _, c := range m.all {
		if h, ok := c.(quitHolder); ok && h.HoldQuit(ctrlC) {
			return true
		}
	}
	return false
}

func (m *Model) setFocus(f focusPane) {
	m.focus = f
	m.list.SetFocused(f == focusList)
	m.detail.SetFocused(f == focusDetail && !m.analysis.Active())
	m.analysis.SetFocused(f == focusDetail && m.analysis.Active())
}

func tick(d time.Duration) tea.Cmd {
	return tea.Tick(d, func(t time.Time) tea.Msg { return uictx.Tick(t) })
}
