package tui

import (
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/textesc"
)

// promptKind is what the bottom line is asking for.
type promptKind int

const (
	promptFilter     promptKind = iota // a glob, applied server-side
	promptFind                         // a substring among loaded keys
	promptTTL                          // a duration
	promptDelete                       // y/N for one key
	promptInvalidate                   // the count typed out
)

// prompt takes over the status line while it is open; every key goes to it,
// so a stray keypress cannot reach a destructive binding behind it.
type prompt struct {
	kind    promptKind
	input   textinput.Model
	key     string // promptDelete, promptTTL
	pattern string // promptInvalidate
	want    string // promptInvalidate: the text that confirms
}

func (m *Model) openPrompt(kind promptKind, label, value string) {
	in := textinput.New()
	in.SetStyles(textinput.DefaultStyles(m.st.IsDark))
	in.Prompt = label
	in.SetValue(value)
	in.CursorEnd()
	in.SetWidth(max(10, m.width-len(label)-2))
	m.prompt = &prompt{kind: kind, input: in}
}

func (m *Model) onPromptKey(msg tea.KeyPressMsg) tea.Cmd {
	p := m.prompt
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	if p.kind == promptDelete {
		m.prompt = nil
		if msg.String() == "y" || msg.String() == "Y" {
			m.setStatus("deleting "+textesc.Key(p.key)+"…", false)
			return deleteKey(m.ctx, m.b, p.key, m.opts.Timeout)
		}
		m.setStatus("not deleted", false)
		return nil
	}
	switch msg.String() {
	case "esc":
		m.prompt = nil
		m.setStatus("", false)
		return nil
	case "enter":
		m.prompt = nil
		return m.submit(p, strings.TrimSpace(p.input.Value()))
	}
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	return cmd
}

func (m *Model) submit(p *prompt, v string) tea.Cmd {
	switch p.kind {
	case promptFilter:
		m.filterText = v
		if v == "" {
			v = "*"
		}
		v = m.scoped(v)
		if v == m.pattern {
			return nil
		}
		m.pattern = v
		m.setStatus("", false)
		return tea.Batch(m.restartScan(false), m.selectionChanged())
	case promptFind:
		m.findText = v
		if v == "" {
			return nil
		}
		// Search from just before the cursor so the current row can be the hit.
		from := m.cursor - 1
		if from < 0 {
			from = m.store.Rows() - 1
		}
		return m.findFrom(from, true)
	case promptTTL:
		d, err := human.ParseTTL(v)
		if err != nil {
			m.setStatus(err.Error(), true)
			return nil
		}
		return expireKey(m.ctx, m.b, p.key, d, m.opts.Timeout)
	case promptInvalidate:
		if v != p.want {
			m.setStatus("not confirmed; nothing was deleted", false)
			return nil
		}
		m.scanGen++ // the list is about to change under the scan
		m.scan.stop()
		m.scanning = false
		m.inv = startInvalidate(m.ctx, m.b, p.pattern, m.scanGen)
		m.invP = p.pattern
		m.invNow = invProgressMsg{}
		m.setStatus("", false)
		return m.inv.next()
	}
	return nil
}
