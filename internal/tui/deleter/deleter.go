// Package deleter is the dashboard's writes that remove keys: delete the
// selected key (d), looking it up again while its answer is lost, and delete
// the keys of the filter (D), asked with the count typed out and stopped
// before the dashboard quits. It draws nothing: it follows the selection and
// the filter through uictx events, asks through the status prompt, and
// tells the key list what is gone by events too.
package deleter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/invalidate"
	"github.com/cachectl/cachectl/internal/textesc"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// Model is the deletes: one key at a time, or a filter's keys in bulk.
type Model struct {
	c *uictx.Context

	// selKey and selBranch are the key list's row, as last Selected.
	selKey    string
	selBranch bool
	// filter is what the key list lists, as last announced.
	filter uictx.Filter

	// unconfirmed holds keys whose delete was sent but never answered: they
	// may be gone. Each is looked up again until the server answers.
	unconfirmed map[string]bool
	checkInFly  bool

	inv    *invalidation
	invGen int // answers of an earlier bulk delete are dropped
	// quitAfterInv: q was pressed during a bulk delete, which is stopping.
	quitAfterInv bool
}

// New builds the deletes with nothing selected.
func New(c *uictx.Context) *Model { return &Model{c: c} }

// Close stops a running bulk delete.
func (m *Model) Close() {
	if m.inv != nil {
		m.inv.cancel()
	}
}

// Invalidating reports whether a bulk delete (D) runs.
func (m *Model) Invalidating() bool { return m.inv != nil }

// Update follows the selection and the filter, applies the answers of its
// writes, re-checks on the clock and acts on d and D whichever pane has the
// focus.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case uictx.Selected:
		m.selKey, m.selBranch = msg.Key, msg.Branch
	case uictx.Filter:
		m.filter = msg
	case deletedMsg:
		return m.onDeleted(msg)
	case checkedMsg:
		return m.onChecked(msg)
	case countedMsg:
		return m.onCounted(msg)
	case invProgressMsg:
		return m.onInvProgress(msg)
	case invDoneMsg:
		return m.onInvalidated(msg)
	case uictx.Tick:
		return m.recheck()
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, m.c.Keys.Delete):
			m.askDelete()
		case key.Matches(msg, m.c.Keys.Invalidate):
			return m.askInvalidate()
		}
	}
	return nil
}

func (m *Model) askDelete() {
	if !m.c.Writable() {
		return
	}
	if m.selKey == "" {
		return
	}
	if m.selBranch {
		m.c.SetStatus("d deletes one key; to delete a group, filter it (/) and press D", false)
		return
	}
	k := m.selKey
	m.c.Publish(uictx.Ask{
		Label: "Delete " + textesc.Key(k) + "? ",
		YesNo: true,
		Answer: func(string) tea.Cmd {
			m.c.SetStatus("deleting "+textesc.Key(k)+"…", false)
			return deleteKey(m.c.Ctx, m.c.Backend, k, m.c.Timeout)
		},
		Decline: func() tea.Cmd {
			m.c.SetStatus("not deleted", false)
			return nil
		},
	})
}

func (m *Model) onDeleted(msg deletedMsg) tea.Cmd {
	var ce *backends.ConnError
	if errors.As(msg.err, &ce) {
		// The UNLINK may have reached the server and only its answer got
		// lost: say so, and look again until the server tells.
		m.c.SetStatus("delete of "+textesc.Key(msg.key)+" unconfirmed: "+uictx.ErrLine(msg.err)+"; press r to refresh", true)
		if m.unconfirmed == nil {
			m.unconfirmed = map[string]bool{}
		}
		m.unconfirmed[msg.key] = true
		return m.recheck()
	}
	if msg.err != nil { // the server answered: nothing was deleted
		m.c.SetStatus("delete failed: "+uictx.ErrLine(msg.err), true)
		return nil
	}
	delete(m.unconfirmed, msg.key)
	if msg.n == 0 {
		m.c.SetStatus(textesc.Key(msg.key)+" was already gone", false)
	} else {
		m.c.SetStatus("deleted "+textesc.Key(msg.key), false)
	}
	m.removed(msg.key)
	return nil
}

// removed tells the others that the server no longer holds key.
func (m *Model) removed(key string) {
	m.c.Publish(uictx.KeyDeleted{Key: key})
	m.c.Publish(uictx.KeysChanged{})
}

// recheck looks up one key whose delete is unconfirmed, one at a time.
func (m *Model) recheck() tea.Cmd {
	if m.c.Backend == nil || m.checkInFly || len(m.unconfirmed) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m.unconfirmed))
	for k := range m.unconfirmed {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	m.checkInFly = true
	return checkKey(m.c.Ctx, m.c.Backend, keys[0], m.c.Timeout)
}

// onChecked shows what became of an unconfirmed delete; while the server
// does not answer, the tick asks again.
func (m *Model) onChecked(msg checkedMsg) tea.Cmd {
	m.checkInFly = false
	if msg.err != nil || !m.unconfirmed[msg.key] {
		return nil
	}
	delete(m.unconfirmed, msg.key)
	if !msg.gone {
		m.c.SetStatus(textesc.Key(msg.key)+" is still there: the delete did not happen", true)
		return m.recheck()
	}
	m.c.SetStatus("deleted "+textesc.Key(msg.key)+" (confirmed by looking again)", false)
	m.removed(msg.key)
	return m.recheck()
}

// askInvalidate counts the filter's keys first: the prompt asks for that
// count typed out.
func (m *Model) askInvalidate() tea.Cmd {
	if !m.c.Writable() {
		return nil
	}
	if m.inv != nil {
		m.c.SetStatus("a deletion is already running", true)
		return nil
	}
	if !m.filter.Filtered {
		m.c.SetStatus("D deletes the keys of the filter: set one with / first (the whole cache needs `cachectl invalidate --all`)", true)
		return nil
	}
	pattern := m.filter.Pattern
	m.c.SetStatus("counting keys matching "+textesc.Key(pattern)+"…", false)
	return countPattern(m.c.Ctx, m.c.Backend, pattern, m.c.Timeout)
}

func (m *Model) onCounted(msg countedMsg) tea.Cmd {
	if msg.pattern != m.filter.Pattern {
		return nil
	}
	if msg.err != nil {
		m.c.SetStatus("counting failed: "+uictx.ErrLine(msg.err), true)
		return nil
	}
	if msg.sum.Matched == 0 {
		m.c.SetStatus("no keys match "+textesc.Key(msg.pattern), false)
		return nil
	}
	m.c.SetStatus("", false)
	want := strconv.FormatInt(msg.sum.Matched, 10)
	pattern := msg.pattern
	m.c.Publish(uictx.Ask{
		Label: fmt.Sprintf("Delete %s keys matching %s? Type %s to confirm: ",
			uictx.GroupDigits(msg.sum.Matched), textesc.Key(pattern), want),
		Width:  max(10, m.c.Width-2),
		Answer: func(v string) tea.Cmd { return m.invalidate(pattern, v == want) },
	})
	return nil
}

// invalidate deletes the keys of pattern once the count was typed right.
func (m *Model) invalidate(pattern string, confirmed bool) tea.Cmd {
	if !confirmed {
		m.c.SetStatus("not confirmed; nothing was deleted", false)
		return nil
	}
	m.c.Publish(uictx.Deleting{Pattern: pattern}) // the list is about to change under its scan
	m.invGen++
	m.inv = startInvalidate(m.c.Ctx, m.c.Backend, pattern, m.invGen)
	m.progress(invalidate.Progress{})
	m.c.SetStatus("", false)
	return m.inv.next()
}

// progress shows how far the bulk delete is, over the status line.
func (m *Model) progress(p invalidate.Progress) {
	m.c.Publish(uictx.Activity{Text: fmt.Sprintf("deleting %s: %s of %s matched deleted · %s",
		textesc.Key(m.inv.pattern), uictx.GroupDigits(p.Deleted), uictx.GroupDigits(p.Matched), human.Duration(p.Elapsed))})
}

func (m *Model) onInvProgress(msg invProgressMsg) tea.Cmd {
	if m.inv == nil || msg.gen != m.inv.gen {
		return nil
	}
	m.progress(msg.p)
	return m.inv.next()
}

func (m *Model) onInvalidated(msg invDoneMsg) tea.Cmd {
	if m.inv == nil || msg.gen != m.inv.gen {
		return nil
	}
	pattern := m.inv.pattern
	m.inv = nil
	m.c.Publish(uictx.Activity{})
	sum := msg.sum
	text := fmt.Sprintf("deleted %s keys matching %s in %s", uictx.GroupDigits(sum.Deleted), textesc.Key(pattern), human.Duration(sum.Elapsed))
	switch {
	case msg.err != nil && errors.Is(msg.err, context.Canceled):
		m.c.SetStatus("stopped: "+text, true)
	case msg.err != nil:
		m.c.SetStatus(text+"; then failed: "+uictx.ErrLine(msg.err), true)
	default:
		m.c.SetStatus(text, false)
	}
	if m.quitAfterInv {
		return tea.Quit
	}
	m.c.Publish(uictx.Deleted{Pattern: pattern})
	m.c.Publish(uictx.KeysChanged{})
	return nil
}

// HoldQuit is asked before the dashboard quits (q, ctrl+c). While a bulk
// delete runs it stops that after its current batch instead, and the
// dashboard quits when it has; a second ctrl+c quits at once.
func (m *Model) HoldQuit(ctrlC bool) bool {
	if m.inv == nil || ctrlC && m.quitAfterInv {
		return false
	}
	m.inv.cancel()
	m.quitAfterInv = true
	m.c.SetStatus("stopping the deletion after its current batch… (ctrl+c again quits at once)", false)
	return true
}
