package keylist

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/invalidate"
	"github.com/cachectl/cachectl/internal/textesc"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// deletes tracks single deletes whose answer never came.
type deletes struct {
	// unconfirmed holds keys whose delete was sent but never answered: they
	// may be gone. Each is looked up again until the server answers.
	unconfirmed map[string]bool
	checkInFly  bool
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
		m.c.SetStatus("delete of "+textesc.Key(msg.key)+" unconfirmed: "+uictx.OneLine(msg.err.Error())+"; press r to refresh", true)
		if m.deletes.unconfirmed == nil {
			m.deletes.unconfirmed = map[string]bool{}
		}
		m.deletes.unconfirmed[msg.key] = true
		return m.recheck()
	}
	if msg.err != nil { // the server answered: nothing was deleted
		m.c.SetStatus("delete failed: "+uictx.OneLine(msg.err.Error()), true)
		return nil
	}
	delete(m.deletes.unconfirmed, msg.key)
	if msg.n == 0 {
		m.c.SetStatus(textesc.Key(msg.key)+" was already gone", false)
	} else {
		m.c.SetStatus("deleted "+textesc.Key(msg.key), false)
	}
	m.removed(msg.key)
	return nil
}

// removed drops a key the server no longer holds.
func (m *Model) removed(key string) {
	m.store.Remove(key)
	m.clampCursor()
	m.selectionChanged()
	m.c.Publish(uictx.KeysChanged{})
}

// recheck looks up one key whose delete is unconfirmed, one at a time.
func (m *Model) recheck() tea.Cmd {
	d := &m.deletes
	if m.c.Backend == nil || d.checkInFly || len(d.unconfirmed) == 0 {
		return nil
	}
	keys := make([]string, 0, len(d.unconfirmed))
	for k := range d.unconfirmed {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	d.checkInFly = true
	return checkKey(m.c.Ctx, m.c.Backend, keys[0], m.c.Timeout)
}

// onChecked shows what became of an unconfirmed delete; while the server
// does not answer, the tick asks again.
func (m *Model) onChecked(msg checkedMsg) tea.Cmd {
	d := &m.deletes
	d.checkInFly = false
	if msg.err != nil || !d.unconfirmed[msg.key] {
		return nil
	}
	delete(d.unconfirmed, msg.key)
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
	if !m.filtered() {
		m.c.SetStatus("D deletes the keys of the filter: set one with / first (the whole cache needs `cachectl invalidate --all`)", true)
		return nil
	}
	m.c.SetStatus("counting keys matching "+textesc.Key(m.pattern)+"…", false)
	return countPattern(m.c.Ctx, m.c.Backend, m.pattern, m.c.Timeout)
}

func (m *Model) onCounted(msg countedMsg) tea.Cmd {
	if msg.pattern != m.pattern {
		return nil
	}
	if msg.err != nil {
		m.c.SetStatus("counting failed: "+uictx.OneLine(msg.err.Error()), true)
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
	m.scanGen++ // the list is about to change under the scan
	m.scan.stop()
	m.scanning = false
	m.inv = startInvalidate(m.c.Ctx, m.c.Backend, pattern, m.scanGen)
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
		m.c.SetStatus(text+"; then failed: "+uictx.OneLine(msg.err.Error()), true)
	default:
		m.c.SetStatus(text, false)
	}
	if m.quitAfterInv {
		return tea.Quit
	}
	cmd := m.restartScan(false)
	m.c.Publish(uictx.KeysChanged{})
	m.selectionChanged()
	return cmd
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
