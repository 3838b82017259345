// Package keylist is the dashboard's left pane: the keys of the filter,
// streamed in from Scan, flat or as a tree, with the cursor, the filter (on
// the server), find (among the loaded keys) and copy. It announces its row
// (uictx.Selected) and what it lists (uictx.Filter), and drops the keys the
// writes report gone. The pane draws only the rows in view, so a frame costs
// the same with ten keys or ten million.
package keylist

import (
	"context"
	"errors"
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/textesc"
	"github.com/cachectl/cachectl/internal/tui/keystore"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// Options say what to list and how to show it.
type Options struct {
	Pattern string // the stored-key glob listed first
	Delim   string // the tree view's delimiter
	Tree    bool   // start in tree view
	// Display shows a stored key in the profile's terms in the flat list
	// (Django's ":1:greeting" as "greeting"); nil shows it as stored.
	Display func(stored string) string
	// Scope maps a filter typed in the dashboard to the stored-key glob
	// (a profile's namespace); nil uses it as typed.
	Scope func(userGlob string) string
}

// Model is the key list.
type Model struct {
	c       *uictx.Context
	opts    Options
	width   int
	height  int
	focused bool

	store   *keystore.Store
	cursor  int
	offset  int
	pattern string // the stored-key glob being listed
	// filterText is the filter as typed (before Scope), for the prompt.
	filterText string
	findText   string

	scan     *scanner
	del      bool // a bulk delete is under way (Deleting until Deleted)
	scanGen  int
	scanning bool
	scanErr  error

	// selKey and selBranch are the row last announced as Selected.
	selKey    string
	selBranch bool

	// gone is the selected key after live mode saw it go: it stays on its
	// row, marked, until the cursor leaves it, so the entry being read
	// does not vanish under the reader.
	gone string
	// sweep: the listing running is a rescan that keeps the rows (after a
	// live gap); rescanDue: another is wanted once rescanAt comes.
	sweep     bool
	rescanDue bool
	rescanAt  time.Time
}

// rescanEvery spaces the rescans that gaps ask for: a flood that keeps
// overflowing live mode must not turn into a listing without end.
const rescanEvery = 5 * time.Second

// New builds an empty list; it scans once the backend is connected.
func New(c *uictx.Context, opts Options) *Model {
	m := &Model{c: c, opts: opts, store: keystore.New(opts.Delim), pattern: opts.Pattern}
	// Keep the tree up to date while keys stream in (about 1 µs a key), so
	// switching to tree view later is instant rather than a pause to build it.
	m.store.SetTree(true)
	m.store.SetTree(opts.Tree)
	return m
}

// Close stops the scan.
func (m *Model) Close() { m.scan.stop() }

// SetSize sizes the pane.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	m.clampCursor()
}

// SetFocused says whether the pane has the focus.
func (m *Model) SetFocused(f bool) { m.focused = f }

// ShortHelp is the one-line help while the list has the focus.
func (m *Model) ShortHelp() []key.Binding {
	k := m.c.Keys
	out := []key.Binding{k.Filter}
	if m.filtered() {
		out = append(out, k.ClearFilter)
	}
	return append(out, k.Find, k.Next, k.Tree, k.Delete, k.Invalidate, k.TTL, k.Refresh, k.Help, k.Quit)
}

// Store is the loaded keys.
func (m *Model) Store() *keystore.Store { return m.store }

// Pattern is the stored-key glob being listed.
func (m *Model) Pattern() string { return m.pattern }

// ScanErr is why the last listing failed, nil if it did not.
func (m *Model) ScanErr() error { return m.scanErr }

// ScanDone reports whether a listing was started and is no longer running.
func (m *Model) ScanDone() bool { return !m.scanning && m.scan != nil }

// Current is the row under the cursor; false when the list is empty.
func (m *Model) Current() (keystore.Row, bool) {
	if m.store.Rows() == 0 {
		return keystore.Row{}, false
	}
	return m.store.Row(m.cursor), true
}

// scoped is the stored-key glob of a filter the user typed.
func (m *Model) scoped(user string) string {
	if m.opts.Scope != nil {
		return m.opts.Scope(user)
	}
	return user
}

// filtered reports whether a filter narrows the listing beyond the scope.
func (m *Model) filtered() bool { return m.pattern != m.scoped("*") }

// Update applies the scan's batches, the events that make it list again or
// drop keys, and its keys.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case scanMsg:
		return m.onScan(msg)
	case uictx.KeyDeleted:
		m.store.Remove(msg.Key)
		m.clampCursor()
		m.selectionChanged()
		return nil
	case uictx.Deleting:
		m.del = true
		m.scanGen++ // the list is about to change under the scan
		m.scan.stop()
		m.scanning = false
		return nil
	case uictx.Deleted:
		m.del = false
		cmd := m.restartScan(false)
		m.selectionChanged()
		return cmd
	case uictx.Connected:
		return m.restartScan(false)
	case uictx.Reconnected:
		if m.scanErr != nil {
			// The scan died with the connection: list again, keeping what is loaded.
			return m.restartScan(true)
		}
		return nil
	case uictx.Refresh:
		cmd := m.restartScan(false)
		m.selectionChanged()
		return cmd
	case uictx.LiveBatch:
		m.onLive(msg)
		return nil
	case uictx.LiveGap:
		m.c.SetStatus("live: "+msg.Why+"; listing again", false)
		m.rescanDue = true
		return m.rescan()
	case uictx.Tick:
		if m.rescanDue {
			return m.rescan()
		}
		return nil
	case tea.KeyPressMsg:
		return m.onKey(msg)
	}
	return nil
}

// selectionChanged tells the other components which row the cursor is on.
// A key live mode saw go is dropped once the cursor has left it.
func (m *Model) selectionChanged() {
	if m.gone != "" {
		if r, ok := m.Current(); !ok || r.Branch || r.Key != m.gone {
			gone := m.gone
			m.gone = ""
			m.keepRow(r, ok, func() { m.store.Remove(gone) })
		}
	}
	r, ok := m.Current()
	m.selKey, m.selBranch = r.Key, r.Branch
	m.c.Publish(uictx.Selected{Key: r.Key, Branch: r.Branch, None: !ok})
}

// restartScan drops the loaded keys (unless keep) and lists the filter again.
func (m *Model) restartScan(keep bool) tea.Cmd {
	if m.c.Backend == nil {
		return nil
	}
	m.scan.stop()
	m.scanGen++
	if !keep {
		m.store.Reset()
		m.cursor, m.offset = 0, 0
	}
	m.scanning, m.scanErr = true, nil
	m.sweep = false
	m.store.CancelSweep()
	if !keep {
		m.gone = ""
	}
	m.c.Publish(uictx.Listing{})
	m.c.Publish(uictx.Filter{Pattern: m.pattern, Filtered: m.filtered()})
	m.scan = startScan(m.c.Ctx, m.c.Backend, m.pattern, m.scanGen)
	return m.scan.next()
}

func (m *Model) onScan(msg scanMsg) tea.Cmd {
	if msg.gen != m.scanGen {
		return nil
	}
	hadRows := m.store.Rows() > 0
	m.store.Add(msg.keys)
	var cmd tea.Cmd
	if !msg.done {
		cmd = m.scan.next()
	} else {
		m.scanning = false
		if msg.err != nil && !errors.Is(msg.err, context.Canceled) {
			m.scanErr = msg.err
			m.c.Publish(uictx.Listing{Err: msg.err})
			m.c.Down(msg.err)
		}
		if m.sweep {
			m.sweep = false
			m.endSweep(msg.err == nil)
		}
	}
	m.clampCursor()
	if !hadRows && m.store.Rows() > 0 {
		m.selectionChanged()
	}
	return cmd
}

// onLive applies what live mode saw: keys written appear (at the end of
// the flat list, in their place in the tree), keys gone vanish, and the
// cursor stays on its row's key however the rows above it changed.
func (m *Model) onLive(b uictx.LiveBatch) {
	if b.Pattern != m.pattern || m.deleting() {
		return
	}
	var add, remove []string
	for _, e := range b.Events {
		switch e.Kind {
		case backends.EventSet, backends.EventExpire:
			add = append(add, e.Key)
			if e.Key == m.gone {
				m.gone = "" // written again: it stays
			}
		case backends.EventDel, backends.EventExpired, backends.EventEvicted:
			if e.Key == m.selKey && !m.selBranch {
				m.gone = e.Key
				continue
			}
			remove = append(remove, e.Key)
		}
	}
	if len(add) == 0 && len(remove) == 0 {
		return
	}
	hadRows := m.store.Rows() > 0
	r, ok := m.Current()
	m.keepRow(r, ok, func() {
		m.store.Remove(remove...)
		m.store.Add(add)
		m.store.Compact()
	})
	if !hadRows && m.store.Rows() > 0 || hadRows && m.store.Rows() == 0 {
		m.selectionChanged()
		return
	}
	if r, ok := m.Current(); ok && (r.Key != m.selKey || r.Branch != m.selBranch) {
		m.selectionChanged() // its branch went with its last key
	}
}

// keepRow runs change and puts the cursor back on row r (ok: there was
// one), keeping it where it was on the screen.
func (m *Model) keepRow(r keystore.Row, ok bool, change func()) {
	change()
	if !ok {
		m.clampCursor()
		return
	}
	if row, found := m.store.Locate(r.Key, r.Branch); found {
		m.offset += row - m.cursor
		m.cursor = row
	}
	m.clampCursor()
}

// rescan lists the filter again keeping the rows, then drops what it did
// not list: after a gap, nothing missed stays stale. At most one every
// rescanEvery; one already running is let finish, then another follows.
func (m *Model) rescan() tea.Cmd {
	if m.c.Backend == nil || m.deleting() || m.scanning || m.c.Now().Before(m.rescanAt) {
		return nil
	}
	m.rescanDue = false
	m.rescanAt = m.c.Now().Add(rescanEvery)
	cmd := m.restartScan(true)
	m.sweep = true
	m.store.BeginSweep()
	return cmd
}

// endSweep drops the keys a complete rescan did not list.
func (m *Model) endSweep(complete bool) {
	if !complete {
		m.store.CancelSweep()
		return
	}
	r, ok := m.Current()
	m.keepRow(r, ok, func() { m.store.EndSweep() })
	if r2, ok2 := m.Current(); ok2 != ok || r2.Key != r.Key || r2.Branch != r.Branch {
		m.selectionChanged()
	}
}

// deleting reports a bulk delete under way: the list waits for its end.
func (m *Model) deleting() bool { return m.del }

// Cursor and Offset are the cursor's row and the first row in view.
func (m *Model) Cursor() int { return m.cursor }
func (m *Model) Offset() int { return m.offset }

// Gone is the selected key live mode saw go ("" for none).
func (m *Model) Gone() string { return m.gone }

func (m *Model) onKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.c.Keys
	switch {
	case key.Matches(msg, k.Filter):
		m.c.Publish(uictx.Ask{Label: "filter (glob): ", Value: m.filterValue(), Answer: m.setFilter})
		return nil
	case key.Matches(msg, k.Find):
		m.c.Publish(uictx.Ask{Label: "find: ", Value: m.findText, Answer: m.find})
		return nil
	case key.Matches(msg, k.Next), key.Matches(msg, k.Prev):
		m.findNext(key.Matches(msg, k.Next))
		return nil
	case key.Matches(msg, k.Copy):
		return m.copyKey()
	case key.Matches(msg, k.Tree):
		m.toggleTree()
		return nil
	}
	if m.focused {
		return m.moveKey(msg)
	}
	return nil
}

// moveKey applies the keys that move through the list while it has focus.
func (m *Model) moveKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.c.Keys
	rows := m.store.Rows()
	before := m.cursor
	switch {
	case key.Matches(msg, k.ClearFilter):
		if m.filtered() {
			m.pattern = m.scoped("*")
			m.c.SetStatus("filter cleared", false)
			cmd := m.restartScan(false)
			m.selectionChanged()
			return cmd
		}
		return nil
	case key.Matches(msg, k.Up):
		m.cursor--
	case key.Matches(msg, k.Down):
		m.cursor++
	case key.Matches(msg, k.PageUp):
		m.cursor -= m.listHeight()
	case key.Matches(msg, k.PageDown):
		m.cursor += m.listHeight()
	case key.Matches(msg, k.Top):
		m.cursor = 0
	case key.Matches(msg, k.Bottom):
		m.cursor = rows - 1
	case key.Matches(msg, k.Expand):
		if rows > 0 && m.store.Row(m.cursor).Branch {
			m.store.Expand(m.cursor)
		}
	case key.Matches(msg, k.Collapse):
		if rows > 0 && m.store.Tree() {
			r := m.store.Row(m.cursor)
			if r.Branch && r.Expanded {
				m.store.Collapse(m.cursor)
			} else if p := m.store.Parent(m.cursor); p >= 0 {
				m.cursor = p
			}
		}
	case key.Matches(msg, k.Enter):
		if rows == 0 {
			return nil
		}
		if m.store.Row(m.cursor).Branch {
			m.store.Toggle(m.cursor)
		} else {
			m.c.Publish(uictx.Open{})
		}
	}
	m.clampCursor()
	if m.cursor != before || rows > 0 && m.store.Row(m.cursor).Key != m.selKey {
		m.selectionChanged()
	}
	return nil
}

// listHeight is the number of key rows that fit in the pane.
func (m *Model) listHeight() int { return max(1, m.height-3) }

// center scrolls so a row the cursor jumped to sits mid-pane, with its
// neighbours in view, rather than on the bottom edge.
func (m *Model) center() {
	if h := m.listHeight(); m.cursor < m.offset || m.cursor >= m.offset+h {
		m.offset = m.cursor - h/2
	}
	m.clampCursor()
}

func (m *Model) clampCursor() {
	rows := m.store.Rows()
	m.cursor = max(0, min(m.cursor, rows-1))
	h := m.listHeight()
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+h {
		m.offset = m.cursor - h + 1
	}
	m.offset = max(0, min(m.offset, rows-h))
}

func (m *Model) toggleTree() {
	key := m.selKey
	m.store.SetTree(!m.store.Tree())
	m.cursor, m.offset = 0, 0
	if key != "" && !m.selBranch {
		if row, ok := m.store.Reveal(key); ok {
			m.cursor = row
		}
	}
	m.center()
	if m.store.Rows() > 0 && m.store.Row(m.cursor).Key == key {
		return // same entry: keep the detail as it is
	}
	m.selectionChanged()
}

// setFilter lists the keys of the filter the user typed.
func (m *Model) setFilter(v string) tea.Cmd {
	m.filterText = v
	if v == "" {
		v = "*"
	}
	v = m.scoped(v)
	if v == m.pattern {
		return nil
	}
	m.pattern = v
	m.c.SetStatus("", false)
	cmd := m.restartScan(false)
	m.selectionChanged()
	return cmd
}

// filterValue is what the filter prompt starts with.
func (m *Model) filterValue() string {
	if !m.filtered() {
		return ""
	}
	return m.filterText
}

// find jumps to the first loaded key containing v.
func (m *Model) find(v string) tea.Cmd {
	m.findText = v
	if v == "" {
		return nil
	}
	// Search from just before the cursor so the current row can be the hit.
	from := m.cursor - 1
	if from < 0 {
		from = m.store.Rows() - 1
	}
	m.findFrom(from, true)
	return nil
}

func (m *Model) findNext(forward bool) {
	if m.findText == "" {
		m.c.SetStatus("press f to find a key among those loaded", false)
		return
	}
	m.findFrom(m.cursor, forward)
}

func (m *Model) findFrom(from int, forward bool) {
	if m.store.Rows() == 0 {
		return
	}
	row, ok := m.store.Find(from, m.findText, forward)
	if !ok {
		m.c.SetStatus(fmt.Sprintf("no loaded key contains %s", textesc.Key(m.findText)), true)
		return
	}
	m.c.SetStatus("", false)
	m.cursor = row
	m.center()
	m.selectionChanged()
}

// copyKey puts the selected key on the clipboard (OSC 52). A key holding
// control bytes goes there in its escaped form, as the screen shows it: its
// raw bytes pasted into a shell would run whatever follows a newline. The
// escaped form is what `cachectl -E` reads back.
func (m *Model) copyKey() tea.Cmd {
	if m.selKey == "" {
		return nil
	}
	shown := textesc.Key(m.selKey)
	if textesc.NeedsQuoting(m.selKey) {
		m.c.SetStatus("copied the escaped form "+shown+" (OSC 52): the key holds bytes unsafe to paste; cachectl -E takes it back", false)
	} else {
		m.c.SetStatus("copied "+shown+" (OSC 52)", false)
	}
	return tea.SetClipboard(shown)
}
