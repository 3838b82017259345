// Package detail is the dashboard's right pane: the selected entry's key,
// type, size, format and live TTL, and its value decoded, as JSON or as hex,
// scrollable. Values are read and rendered in tea.Cmds, a big one only on
// "load all", so neither a slow server nor a 10 MB pickle stalls the UI.
package detail

import (
	"errors"
	"strconv"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/textesc"
	"github.com/cachectl/cachectl/internal/tui/keystore"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// Mode is how the pane shows a value.
type Mode int

const (
	ModeDecoded Mode = iota // Python-like text, JSON pretty, text as is
	ModeJSON                // the decoded value mapped to JSON
	ModeHex                 // the stored bytes
)

var modeNames = [...]string{"decoded", "json", "hex"}

func (m Mode) String() string { return modeNames[m] }

// Rendered is a value drawn for the pane.
type Rendered struct {
	Seq     int // the selection it was drawn for
	Mode    Mode
	Width   int
	All     bool // not bounded to a preview
	Content string
	Format  string // what the value was decoded as
	Note    string // why it shows less than asked (a decode error)
	Cut     bool   // a preview: "load all" shows the rest
}

// Options are what the pane needs beyond the shared context.
type Options struct {
	// MaxFetch is the largest value read without "load all" (0: no limit).
	MaxFetch int64
	// Tag says what a key is in its framework's terms, from the key and
	// the first bytes of its value; nil for none.
	Tag func(key string, value []byte) string
	// Cursor is the row under the key list's cursor, read live: a branch's
	// count grows as keys stream in, and a value is read only while the
	// cursor rests on a key.
	Cursor func() (keystore.Row, bool)
}

// Model is the detail pane.
type Model struct {
	c       *uictx.Context
	opts    Options
	width   int
	height  int
	focused bool

	seq      int // the selection; answers for an older one are dropped
	key      string
	branch   bool
	loading  bool
	info     *backends.KeyInfo
	entry    *backends.Entry
	err      error
	at       time.Time // when info was read: the TTL counts down from it
	mode     Mode
	all      bool
	rendered Rendered
	vp       viewport.Model

	// retryAt is when a read that failed for want of the server is tried
	// again while the others answer (a node of a cluster is down); backoff
	// is the wait after the next failure.
	retryAt time.Time
	backoff time.Duration

	// gone says how live mode saw the entry go ("expired at 15:04:05");
	// changed is when it last saw it written.
	gone    string
	changed time.Time
	refetch bool
}

// New builds the pane with nothing selected.
func New(c *uictx.Context, opts Options) *Model {
	m := &Model{c: c, opts: opts, vp: viewport.New()}
	m.vp.SoftWrap = true
	return m
}

// SetSize sizes the pane and re-renders the value when its width changed
// (long containers wrap to the pane).
func (m *Model) SetSize(width, height int) tea.Cmd {
	m.width, m.height = width, height
	w := max(10, width-2)
	h := max(1, height-2-headerLines)
	changed := w != m.vp.Width()
	m.vp.SetWidth(w)
	m.vp.SetHeight(h)
	if changed {
		return m.render()
	}
	return nil
}

// SetFocused says whether the pane has the focus.
func (m *Model) SetFocused(f bool) { m.focused = f }

// ShortHelp is the one-line help while the pane has the focus.
func (m *Model) ShortHelp() []key.Binding {
	k := m.c.Keys
	return []key.Binding{k.Focus, k.Mode, k.LoadAll, k.Delete, k.TTL, k.Copy, k.Help, k.Quit}
}

// State, for tests and for the components that show it.
func (m *Model) Seq() int                { return m.seq }
func (m *Model) Key() string             { return m.key }
func (m *Model) Branch() bool            { return m.branch }
func (m *Model) Loading() bool           { return m.loading }
func (m *Model) Info() *backends.KeyInfo { return m.info }
func (m *Model) Entry() *backends.Entry  { return m.entry }
func (m *Model) Err() error              { return m.err }
func (m *Model) All() bool               { return m.all }
func (m *Model) Rendered() Rendered      { return m.rendered }
func (m *Model) ScrollOffset() int       { return m.vp.YOffset() }

// Update applies the pane's own messages, the selection, the clock and its
// keys: m, a and t whichever pane has the focus, scrolling when it has it.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case uictx.Selected:
		return m.selected(msg)
	case fetchMsg:
		if msg.seq != m.seq {
			return nil
		}
		return m.fetch()
	case entryMsg:
		return m.onEntry(msg)
	case renderedMsg:
		if msg.Seq == m.seq && msg.Mode == m.mode && msg.All == m.all {
			m.rendered = msg.Rendered
			m.vp.SetContent(msg.Content)
			m.loading = false
		}
		return nil
	case expiredMsg:
		return m.onExpired(msg)
	case uictx.Tick:
		// A TTL that ran out: read the key again to show it is gone.
		if e := m.info; e != nil && !e.Missing && e.TTL.Expires && !m.loading && m.remaining() <= 0 {
			return m.fetch()
		}
		// While the server is down the header's probe is the retry, and
		// Reconnected says when; otherwise the pane retries by itself.
		if m.retrying() && !m.loading && m.c.Conn.State != uictx.Down && !m.c.Now().Before(m.retryAt) {
			return m.fetch()
		}
		return nil
	case uictx.LiveBatch:
		return m.onLive(msg)
	case uictx.Reconnected:
		// What failed is tried again; what is shown may have changed, or
		// moved to another node, meanwhile.
		if m.key != "" && !m.branch && !m.loading {
			m.backoff = 0
			return m.fetch()
		}
		return nil
	case tea.KeyPressMsg:
		return m.onKey(msg)
	}
	return nil
}

// selected starts loading the entry under the cursor, debounced so holding
// j does not send a request per row.
func (m *Model) selected(s uictx.Selected) tea.Cmd {
	m.seq++
	m.info, m.entry, m.err, m.backoff = nil, nil, nil, 0
	m.gone, m.changed, m.refetch = "", time.Time{}, false
	m.rendered = Rendered{}
	m.all = false
	m.vp.SetContent("")
	m.vp.GotoTop()
	if s.None {
		m.key, m.branch, m.loading = "", false, false
		return nil
	}
	m.key, m.branch = s.Key, s.Branch
	if s.Branch {
		m.loading = false
		return nil
	}
	m.loading = true
	return debounceFetch(m.seq, 60*time.Millisecond)
}

// onLive refreshes the entry when live mode saw it written or its TTL
// changed, and says when it went; the last value read stays in view.
func (m *Model) onLive(b uictx.LiveBatch) tea.Cmd {
	if m.key == "" || m.branch {
		return nil
	}
	for _, e := range b.Events {
		if e.Key != m.key {
			continue
		}
		at := e.Time
		if at.IsZero() {
			at = m.c.Now()
		}
		switch e.Kind {
		case backends.EventSet, backends.EventExpire:
			m.gone, m.changed = "", at
			if m.loading {
				m.refetch = true // the read on its way may predate the write
				return nil
			}
			return m.fetch()
		case backends.EventDel, backends.EventExpired, backends.EventEvicted:
			word := map[string]string{backends.EventDel: "deleted", backends.EventExpired: "expired", backends.EventEvicted: "evicted"}[e.Kind]
			m.gone = word + " at " + at.In(m.c.Now().Location()).Format("15:04:05")
		}
		return nil
	}
	return nil
}

// Gone says how live mode saw the entry go, "" while it is there.
func (m *Model) Gone() string { return m.gone }

// onLeaf reports whether the list's cursor rests on a key.
func (m *Model) onLeaf() bool {
	r, ok := m.opts.Cursor()
	return ok && !r.Branch
}

func (m *Model) fetch() tea.Cmd {
	if m.c.Backend == nil || m.branch || !m.onLeaf() {
		return nil
	}
	m.loading = true
	return fetchEntry(m.c.Ctx, m.c.Backend, m.key, m.seq, m.all, m.opts.MaxFetch, m.c.Timeout, m.c.Now)
}

func (m *Model) onEntry(msg entryMsg) tea.Cmd {
	if msg.seq != m.seq || msg.key != m.key {
		return nil
	}
	if m.refetch {
		m.refetch = false
		return m.fetch()
	}
	m.err = msg.err
	if msg.err != nil {
		m.loading = false
		if m.retrying() {
			m.c.Down(msg.err)
			m.backoff = min(max(time.Second, 2*m.backoff), 15*time.Second)
			m.retryAt = m.c.Now().Add(m.backoff)
		}
		return nil
	}
	m.backoff = 0
	m.info, m.entry, m.at = msg.info, msg.entry, msg.at
	if msg.entry == nil {
		m.loading = false
		m.vp.SetContent("")
		return nil
	}
	return m.render()
}

func (m *Model) render() tea.Cmd {
	if m.entry == nil {
		return nil
	}
	m.loading = true
	return renderValue(m.entry, m.seq, m.mode, m.vp.Width(), m.all)
}

// retrying reports whether the last read failed for want of the server,
// and is to be tried again.
func (m *Model) retrying() bool {
	return m.err != nil && !errors.Is(m.err, backends.ErrNotFound) && !uictx.Refused(m.err)
}

// RetryAt is when a failed read is tried again; zero when none failed.
func (m *Model) RetryAt() time.Time {
	if !m.retrying() {
		return time.Time{}
	}
	return m.retryAt
}

// remaining is the live TTL countdown of the selected key.
func (m *Model) remaining() time.Duration {
	info := m.info
	if info == nil || !info.TTL.Expires {
		return 0
	}
	return info.TTL.Remaining - m.c.Now().Sub(m.at)
}

func (m *Model) onKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.c.Keys
	switch {
	case key.Matches(msg, k.Mode):
		m.mode = (m.mode + 1) % Mode(len(modeNames))
		return m.render()
	case key.Matches(msg, k.LoadAll):
		return m.loadAll()
	case key.Matches(msg, k.TTL):
		return m.askTTL()
	}
	if !m.focused {
		return nil
	}
	vp := &m.vp
	switch {
	case key.Matches(msg, k.ClearFilter), key.Matches(msg, k.Collapse):
		m.c.Publish(uictx.Back{})
	case key.Matches(msg, k.Up):
		vp.ScrollUp(1)
	case key.Matches(msg, k.Down):
		vp.ScrollDown(1)
	case key.Matches(msg, k.PageUp):
		vp.PageUp()
	case key.Matches(msg, k.PageDown):
		vp.PageDown()
	case key.Matches(msg, k.Top):
		vp.GotoTop()
	case key.Matches(msg, k.Bottom):
		vp.GotoBottom()
	}
	return nil
}

func (m *Model) loadAll() tea.Cmd {
	if m.key == "" || m.branch || m.all {
		return nil
	}
	m.all = true
	if m.entry == nil {
		return m.fetch() // too big to fetch until now
	}
	return m.render()
}

func (m *Model) askTTL() tea.Cmd {
	if !m.c.Writable() {
		return nil
	}
	if m.key == "" || m.branch {
		return nil
	}
	cur := ""
	if m.info != nil && m.info.TTL.Expires {
		cur = strconv.FormatInt(int64(max(0, m.remaining()).Round(time.Second)/time.Second), 10)
	}
	k := m.key
	m.c.Publish(uictx.Ask{
		Label: "TTL of " + textesc.Key(k) + " (300, 5m, 2d; 0 = no expiry): ",
		Value: cur,
		Answer: func(v string) tea.Cmd {
			d, err := human.ParseTTL(v)
			if err != nil {
				m.c.SetStatus(err.Error(), true)
				return nil
			}
			return expireKey(m.c.Ctx, m.c.Backend, k, d, m.c.Timeout)
		},
	})
	return nil
}

func (m *Model) onExpired(msg expiredMsg) tea.Cmd {
	if msg.err != nil {
		m.c.SetStatus("TTL not changed: "+uictx.ErrLine(msg.err), true)
		return nil
	}
	if msg.ttl == 0 {
		m.c.SetStatus(textesc.Key(msg.key)+" no longer expires", false)
	} else {
		m.c.SetStatus("TTL of "+textesc.Key(msg.key)+" set to "+human.Duration(msg.ttl), false)
	}
	if msg.key == m.key {
		return m.fetch()
	}
	return nil
}
