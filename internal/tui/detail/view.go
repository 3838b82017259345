package detail

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/textesc"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

const headerLines = 5 // key, meta, ttl, modes, note

// View is the pane, framed, exactly its size.
func (m *Model) View() string { return strings.Join(m.Lines(), "\n") }

// Lines are the pane's lines, each exactly its width.
func (m *Model) Lines() []string {
	inner := max(1, m.width-2)
	lines := m.header(inner)
	for i, l := range lines {
		lines[i] = uictx.PadTo(l, inner)
	}
	lines = append(lines, m.body(inner)...)
	return m.c.Styles.Box(lines, m.width, m.height, m.focused)
}

func (m *Model) header(width int) []string {
	st := m.c.Styles
	field := func(name, value string) string {
		return st.Dim.Render(uictx.Fit(name, 7)) + " " + value
	}
	out := make([]string, 0, headerLines)
	cut := func(s string) string { return ansi.Truncate(s, width, "…") }
	if m.key == "" {
		return append(out, st.Dim.Render("no key selected"), "", "", "", "")
	}
	if m.branch {
		out = append(out, cut(field("branch", st.Branch.Render(textesc.Key(m.key)))))
		var count int
		if r, ok := m.opts.Cursor(); ok {
			count = r.Count
		}
		out = append(out, cut(field("keys", uictx.GroupDigits(int64(count))+" loaded beneath")), st.Dim.Render("enter/→ expands, ← collapses"), "", "")
		return out
	}
	out = append(out, cut(field("key", st.Title.Render(textesc.Key(m.key)))))
	out = append(out, cut(field("type", m.metaLine())))
	out = append(out, cut(field("ttl", m.ttlLine())))
	out = append(out, cut(m.modeLine()))
	switch {
	case m.err != nil:
		// The retry goes first: a long error is cut at the pane's edge.
		out = append(out, cut(st.ErrText.Render("error"+m.retryText()+": "+uictx.ErrLine(m.err))))
	case m.rendered.Note != "":
		out = append(out, cut(st.Warn.Render("⚠ "+uictx.OneLine(m.rendered.Note))))
	case m.tag() != "":
		out = append(out, cut(field("what", st.Key.Render(textesc.Text(m.tag())))))
	default:
		out = append(out, "")
	}
	return out
}

// tag is what the selected key is in its framework's terms, or "".
func (m *Model) tag() string {
	if m.opts.Tag == nil || m.key == "" {
		return ""
	}
	var head []byte
	if m.entry != nil {
		head = m.entry.Value[:min(len(m.entry.Value), 64)]
	}
	return m.opts.Tag(m.key, head)
}

func (m *Model) metaLine() string {
	st := m.c.Styles
	if m.gone != "" {
		return st.Warn.Render("gone: " + m.gone + " (live)")
	}
	if m.info == nil {
		if m.loading {
			return st.Dim.Render("loading…")
		}
		return "–"
	}
	info := m.info
	if info.Missing {
		return st.Warn.Render("gone (expired or deleted elsewhere)")
	}
	parts := []string{info.Type}
	if m.rendered.Format != "" && m.rendered.Format != info.Type {
		parts = append(parts, m.rendered.Format)
	}
	switch {
	case info.Type == "string" || info.Type == "":
		if info.Size >= 0 {
			parts = append(parts, human.Bytes(info.Size))
		}
	default:
		parts = append(parts, uictx.GroupDigits(info.Length)+" elements")
	}
	if info.HasFlags {
		parts = append(parts, "flags "+strconv.FormatUint(uint64(info.Flags), 10))
	}
	return strings.Join(parts, st.Dim.Render(" · "))
}

// node names the server holding the entry, where the backend has several
// (a pool member, a cluster's primary), as read last.
func (m *Model) node() string {
	if m.entry != nil && m.entry.Server != "" {
		return m.entry.Server
	}
	return m.info.Server
}

// retryText says when a failed read is tried again, unless the server is
// down: then the header says when it is probed.
func (m *Model) retryText() string {
	if !m.retrying() || m.c.Conn.State == uictx.Down {
		return ""
	}
	if m.loading {
		return " (retrying…)"
	}
	wait := max(time.Second, m.retryAt.Sub(m.c.Now()).Round(time.Second)) // the next tick at the soonest
	return " (retry in " + human.Duration(wait) + ")"
}

// ttlLine is the TTL, then the node holding the entry where the backend
// has several: the line has room where the type's may not.
func (m *Model) ttlLine() string {
	st := m.c.Styles
	line := m.ttlText()
	if m.info == nil || m.info.Missing || m.gone != "" {
		return line
	}
	if !m.changed.IsZero() {
		line += st.Dim.Render(" · written " + m.changed.In(m.c.Now().Location()).Format("15:04:05"))
	}
	if node := m.node(); node != "" {
		line += st.Dim.Render(" · ") + "on " + textesc.Key(node)
		if slices.Contains(m.c.NodesDown, node) {
			line += st.ErrText.Render(" (down)")
		}
	}
	return line
}

func (m *Model) ttlText() string {
	st := m.c.Styles
	info := m.info
	switch {
	case info == nil || info.Missing || m.gone != "":
		return "–"
	case info.TTL.Unknown:
		return st.Dim.Render("unknown (classic protocol)")
	case !info.TTL.Expires:
		return "no expiry"
	}
	r := m.remaining()
	if r <= 0 {
		return st.Warn.Render("expired")
	}
	return st.Warn.Render(human.Duration(r.Round(time.Second)))
}

func (m *Model) modeLine() string {
	st := m.c.Styles
	var parts []string
	for i, name := range modeNames {
		if Mode(i) == m.mode {
			parts = append(parts, st.ModeActive.Render(name))
		} else {
			parts = append(parts, st.Mode.Render(name))
		}
	}
	line := strings.Join(parts, "")
	switch {
	case m.rendered.Cut:
		line += st.Warn.Render(" preview · a loads all")
	case m.all:
		line += st.Dim.Render(" all")
	}
	if total := m.vp.TotalLineCount(); total > m.vp.Height() {
		line += st.Dim.Render(fmt.Sprintf(" %d%%", int(m.vp.ScrollPercent()*100)))
	}
	return line
}

// body is the value's lines, each exactly width cells.
func (m *Model) body(width int) []string {
	st := m.c.Styles
	msg := ""
	switch {
	case m.key == "" || m.branch:
	case m.info != nil && m.info.Missing:
		msg = "This key no longer exists."
	case m.info != nil && m.entry == nil && m.err == nil && !m.loading:
		msg = fmt.Sprintf("The value is %s; press a to load it all.", human.Bytes(m.info.Size))
	case m.entry == nil && m.loading:
		msg = "loading…"
	}
	if msg != "" {
		return []string{st.DimPaint.Wrap(uictx.Fit(msg, width))}
	}
	if m.vp.Width() != width {
		return nil // not laid out yet
	}
	return strings.Split(m.vp.View(), "\n")
}
