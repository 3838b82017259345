package keylist

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/cachectl/cachectl/internal/textesc"
	"github.com/cachectl/cachectl/internal/tui/keystore"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// View is the pane, framed, exactly its size.
func (m *Model) View() string { return strings.Join(m.Lines(), "\n") }

// Lines are the pane's lines, each exactly its width: the root sets them
// beside another pane's by concatenation. Only the visible rows are built.
func (m *Model) Lines() []string {
	st := m.c.Styles
	inner := max(1, m.width-2)
	h := m.listHeight()
	lines := make([]string, 0, h+1)
	lines = append(lines, uictx.PadTo(m.title(inner), inner))
	rows := m.store.Rows()
	for i := m.offset; i < m.offset+h; i++ {
		if i >= rows {
			if i == 0 {
				lines = append(lines, st.DimPaint.Wrap(uictx.Fit(m.emptyText(), inner)))
			}
			continue
		}
		line, isBranch := m.rowText(i, inner)
		switch {
		case i == m.cursor && m.focused:
			line = st.SelectedPaint.Wrap(line)
		case i == m.cursor:
			line = st.BlurPaint.Wrap(line)
		case isBranch:
			line = st.BranchPaint.Wrap(line)
		}
		lines = append(lines, line)
	}
	return st.Box(lines, m.width, m.height, m.focused)
}

func (m *Model) emptyText() string {
	switch {
	case m.scanning:
		return "scanning…"
	case m.c.Backend == nil:
		return "not connected"
	case uictx.Refused(m.scanErr):
		return "listing refused"
	case m.scanErr != nil:
		return "listing failed; retrying"
	case m.filtered():
		return "no keys match the filter"
	}
	return "the cache is empty"
}

func (m *Model) title(width int) string {
	st := m.c.Styles
	n := uictx.GroupDigits(int64(m.store.Len()))
	title := st.Title.Render("Keys") + " " + st.FieldValue.Render(n)
	if m.scanning {
		title += st.Warn.Render(" scanning…")
	} else if m.scanErr != nil {
		title += st.ErrText.Render(" incomplete")
	}
	if m.filtered() {
		title += st.Dim.Render(" · ") + st.Key.Render(textesc.Key(m.pattern))
	}
	if m.store.Tree() {
		title += st.Dim.Render(" · tree")
	}
	return lipgloss.NewStyle().MaxWidth(width).Render(title)
}

// rowText is one row of the list, escaped, cut and padded to width.
func (m *Model) rowText(i, width int) (string, bool) {
	r := m.store.Row(i)
	if !m.store.Tree() {
		k := r.Key
		if m.opts.Display != nil {
			k = m.opts.Display(k)
		}
		return uictx.Fit(textesc.Key(k)+m.goneMark(r), width), false
	}
	indent := strings.Repeat("  ", r.Depth)
	if !r.Branch {
		return uictx.Fit(indent+"  "+textesc.Key(r.Label)+m.goneMark(r), width), false
	}
	arrow := "▸ "
	if r.Expanded {
		arrow = "▾ "
	}
	label := indent + arrow + textesc.Key(r.Label)
	count := " " + uictx.GroupDigits(int64(r.Count))
	lw := width - ansi.StringWidth(count)
	if lw < 4 {
		return uictx.Fit(label, width), true
	}
	return uictx.Fit(label, lw) + count, true
}

// goneMark marks the selected key live mode saw go.
func (m *Model) goneMark(r keystore.Row) string {
	if m.gone != "" && !r.Branch && r.Key == m.gone {
		return " ✕"
	}
	return ""
}
