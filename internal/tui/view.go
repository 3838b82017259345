package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/textesc"
)

// View draws the whole screen: the header, the two panes side by side, the
// status line and the help.
func (m *Model) View() tea.View {
	v := tea.NewView(m.screen())
	v.AltScreen = true
	v.WindowTitle = "cachectl " + m.opts.Kind + " " + textesc.Line(m.opts.Address) // a BEL would end the title early
	return v
}

func (m *Model) screen() string {
	right := m.detail.Lines
	switch {
	case m.focus == focusDetail && m.analysis.Active():
		m.status.SetShortHelp(m.analysis.ShortHelp())
	case m.focus == focusDetail:
		m.status.SetShortHelp(m.detail.ShortHelp())
	default:
		m.status.SetShortHelp(m.list.ShortHelp())
	}
	if m.analysis.Active() {
		right = m.analysis.Lines // in the entry's place, beside the keys
	}
	l, r := m.list.Lines(), right()
	var b strings.Builder
	b.Grow(m.c.Width * (m.c.Height + 4) * 2)
	b.WriteString(m.header.View())
	// Both panes are drawn to exact widths, so joining them is concatenation:
	// no re-measuring of every cell (lipgloss.JoinHorizontal would).
	for i := range l {
		b.WriteByte('\n')
		b.WriteString(l[i])
		if i < len(r) {
			b.WriteString(r[i])
		}
	}
	b.WriteByte('\n')
	b.WriteString(m.status.View())
	return b.String()
}

// layout sizes every component to the terminal: the header and the status
// line take what they need, the panes share the rest.
func (m *Model) layout() tea.Cmd {
	m.header.SetSize(m.c.Width)
	m.status.SetSize(m.c.Width)
	body := m.bodyHeight()
	left, right := m.paneWidths()
	m.list.SetSize(left, body)
	m.analysis.SetSize(right, body)
	return m.detail.SetSize(right, body)
}

func (m *Model) bodyHeight() int {
	return max(5, m.c.Height-m.header.Height()-m.status.Height())
}

func (m *Model) paneWidths() (left, right int) {
	left = m.c.Width * 2 / 5
	if m.c.Width >= 60 {
		left = max(28, min(left, 72))
	}
	return left, max(10, m.c.Width-left)
}
