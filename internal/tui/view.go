package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/textesc"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// Fixed parts of the screen, in lines.
const (
	headerLines       = 2
	statusLines       = 1
	detailHeaderLines = 5 // key, meta, ttl, modes, note
)

// View draws the whole screen. Only the visible rows of the key list are
// built, so a frame costs the same with ten keys or ten million.
func (m *Model) View() tea.View {
	v := tea.NewView(m.screen())
	v.AltScreen = true
	v.WindowTitle = "cachectl " + m.opts.Kind + " " + textesc.Line(m.opts.Address) // a BEL would end the title early
	return v
}

func (m *Model) screen() string {
	left, right := m.paneWidths()
	l, r := m.listPane(left), m.detailPane(right)
	var b strings.Builder
	b.Grow(m.width * (m.height + 4) * 2)
	b.WriteString(m.header())
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
	b.WriteString(m.statusLine())
	b.WriteByte('\n')
	b.WriteString(m.helpLine())
	return b.String()
}

func (m *Model) helpHeight() int {
	if !m.showHelp {
		return 1
	}
	return lipgloss.Height(m.helpLine())
}

func (m *Model) bodyHeight() int {
	return max(5, m.height-headerLines-statusLines-m.helpHeight())
}

func (m *Model) paneWidths() (left, right int) {
	left = m.width * 2 / 5
	if m.width >= 60 {
		left = max(28, min(left, 72))
	}
	return left, max(10, m.width-left)
}

// listHeight is the number of key rows that fit in the list pane.
func (m *Model) listHeight() int { return max(1, m.bodyHeight()-3) }

// layout sizes the viewport after a resize and re-renders the value when its
// width changed (long containers wrap to the pane).
func (m *Model) layout() tea.Cmd {
	_, right := m.paneWidths()
	w := max(10, right-2)
	h := max(1, m.bodyHeight()-2-detailHeaderLines)
	changed := w != m.det.vp.Width()
	m.det.vp.SetWidth(w)
	m.det.vp.SetHeight(h)
	m.help.SetWidth(m.width)
	m.clampCursor()
	if changed {
		return m.render()
	}
	return nil
}

func (m *Model) header() string {
	st := m.st
	parts := []string{st.Title.Render("cachectl"), st.Key.Render(m.opts.Kind), st.Dim.Render(textesc.Key(m.opts.Address))}
	if m.opts.Context != "" || m.opts.Label != "" {
		label := m.opts.Label
		if label == "" {
			label = m.opts.Context
		}
		parts = append(parts, st.ContextBadge(textesc.Key(label), m.opts.LabelColor, m.opts.Production))
	}
	if m.opts.ReadOnly {
		parts = append(parts, st.ROBadge.Render("READ-ONLY"))
	}
	left := strings.Join(parts, " ")
	right := m.connView()
	line1 := left + uictx.Gap(m.width, left, right) + right
	return lipgloss.NewStyle().MaxWidth(m.width).Render(line1) + "\n" +
		lipgloss.NewStyle().MaxWidth(m.width).Render(m.statsView())
}

func (m *Model) connView() string {
	st := m.st
	switch m.conn {
	case connUp:
		return st.OK.Render("● connected")
	case connDown:
		wait := max(0, m.retryAt.Sub(m.opts.Now()).Round(time.Second))
		return st.ErrText.Render(fmt.Sprintf("✕ unreachable · retry in %s", human.Duration(wait)))
	}
	return st.Warn.Render("◌ connecting…")
}

func (m *Model) statsView() string {
	st := m.st
	s := m.stats
	if s == nil {
		return st.Dim.Render("keys – · memory – · hit ratio – · ops/s –")
	}
	fig := func(name, value string) string { return st.Dim.Render(name+" ") + st.FieldValue.Render(value) }
	known := func(k string) bool { return s.Known[k] }
	var parts []string
	if known("keys") {
		parts = append(parts, fig("keys", uictx.GroupDigits(s.Keys)))
	} else {
		parts = append(parts, fig("keys", "–"))
	}
	if known("memory") {
		parts = append(parts, fig("memory", human.Bytes(s.MemoryBytes)))
	}
	if r, ok := s.HitRatio(); ok {
		parts = append(parts, fig("hit ratio", strconv.FormatFloat(r*100, 'f', 1, 64)+"%"))
	} else {
		parts = append(parts, fig("hit ratio", "–"))
	}
	var last float64
	if len(m.ops) > 0 {
		last = m.ops[len(m.ops)-1]
	}
	parts = append(parts, st.Dim.Render("ops/s ")+st.Spark.Render(sparkline(m.ops, 16))+" "+st.FieldValue.Render(strconv.FormatFloat(last, 'f', 0, 64)))
	if s.Version != "" {
		parts = append(parts, st.Dim.Render(textesc.Key(s.Version)))
	}
	return strings.Join(parts, st.Dim.Render(" · "))
}

var sparkBars = []rune("▁▂▃▄▅▆▇█")

// sparkline draws the last n samples scaled to their maximum; it grows as
// samples arrive rather than padding with blanks.
func sparkline(samples []float64, n int) string {
	if len(samples) > n {
		samples = samples[len(samples)-n:]
	}
	peak := 0.0
	for _, v := range samples {
		peak = max(peak, v)
	}
	var b strings.Builder
	for _, v := range samples {
		i := 0
		if peak > 0 {
			i = min(len(sparkBars)-1, int(v/peak*float64(len(sparkBars)-1)+0.5))
		}
		b.WriteRune(sparkBars[i])
	}
	return b.String()
}

func (m *Model) listPane(width int) []string {
	st := m.st
	inner := max(1, width-2)
	h := m.listHeight()
	lines := make([]string, 0, h+1)
	lines = append(lines, uictx.PadTo(m.listTitle(inner), inner))
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
		case i == m.cursor && m.focus == focusList:
			line = st.SelectedPaint.Wrap(line)
		case i == m.cursor:
			line = st.BlurPaint.Wrap(line)
		case isBranch:
			line = st.BranchPaint.Wrap(line)
		}
		lines = append(lines, line)
	}
	return m.st.Box(lines, width, m.bodyHeight(), m.focus == focusList)
}

func (m *Model) emptyText() string {
	switch {
	case m.scanning:
		return "scanning…"
	case m.b == nil:
		return "not connected"
	case m.scanErr != nil:
		return "listing failed; retrying"
	case m.filtered():
		return "no keys match the filter"
	}
	return "the cache is empty"
}

func (m *Model) listTitle(width int) string {
	st := m.st
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
		return uictx.Fit(textesc.Key(k), width), false
	}
	indent := strings.Repeat("  ", r.Depth)
	if !r.Branch {
		return uictx.Fit(indent+"  "+textesc.Key(r.Label), width), false
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

func (m *Model) detailPane(width int) []string {
	inner := max(1, width-2)
	lines := m.detailHeader(inner)
	for i, l := range lines {
		lines[i] = uictx.PadTo(l, inner)
	}
	lines = append(lines, m.detailBody(inner)...)
	return m.st.Box(lines, width, m.bodyHeight(), m.focus == focusDetail)
}

func (m *Model) detailHeader(width int) []string {
	st := m.st
	field := func(name, value string) string {
		return st.Dim.Render(uictx.Fit(name, 7)) + " " + value
	}
	d := m.det
	out := make([]string, 0, detailHeaderLines)
	cut := func(s string) string { return ansi.Truncate(s, width, "…") }
	if d.key == "" {
		return append(out, st.Dim.Render("no key selected"), "", "", "", "")
	}
	if d.branch {
		out = append(out, cut(field("branch", st.Branch.Render(textesc.Key(d.key)))))
		var count int
		if m.store.Rows() > 0 {
			count = m.store.Row(m.cursor).Count
		}
		out = append(out, cut(field("keys", uictx.GroupDigits(int64(count))+" loaded beneath")), st.Dim.Render("enter/→ expands, ← collapses"), "", "")
		return out
	}
	out = append(out, cut(field("key", st.Title.Render(textesc.Key(d.key)))))
	out = append(out, cut(field("type", m.metaLine())))
	out = append(out, cut(field("ttl", m.ttlText())))
	out = append(out, cut(m.modeLine()))
	switch {
	case d.err != nil:
		out = append(out, cut(st.ErrText.Render("error: "+uictx.OneLine(d.err.Error()))))
	case d.rendered.note != "":
		out = append(out, cut(st.Warn.Render("⚠ "+uictx.OneLine(d.rendered.note))))
	case m.tag() != "":
		out = append(out, cut(field("what", st.Key.Render(textesc.Text(m.tag())))))
	default:
		out = append(out, "")
	}
	return out
}

// tag is what the selected key is in its framework's terms, or "".
func (m *Model) tag() string {
	d := m.det
	if m.opts.Tag == nil || d.key == "" {
		return ""
	}
	var head []byte
	if d.entry != nil {
		head = d.entry.Value[:min(len(d.entry.Value), 64)]
	}
	return m.opts.Tag(d.key, head)
}

func (m *Model) metaLine() string {
	d := m.det
	if d.info == nil {
		if d.loading {
			return m.st.Dim.Render("loading…")
		}
		return "–"
	}
	info := d.info
	if info.Missing {
		return m.st.Warn.Render("gone (expired or deleted elsewhere)")
	}
	parts := []string{info.Type}
	if d.rendered.format != "" && d.rendered.format != info.Type {
		parts = append(parts, d.rendered.format)
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
	if info.Server != "" {
		parts = append(parts, "on "+textesc.Key(info.Server))
	}

	return strings.Join(parts, m.st.Dim.Render(" · "))
}

func (m *Model) ttlText() string {
	info := m.det.info
	switch {
	case info == nil || info.Missing:
		return "–"
	case info.TTL.Unknown:
		return m.st.Dim.Render("unknown (classic protocol)")
	case !info.TTL.Expires:
		return "no expiry"
	}
	r := m.remaining()
	if r <= 0 {
		return m.st.Warn.Render("expired")
	}
	return m.st.Warn.Render(human.Duration(r.Round(time.Second)))
}

func (m *Model) modeLine() string {
	st := m.st
	var parts []string
	for i, name := range modeNames {
		if viewMode(i) == m.det.mode {
			parts = append(parts, st.ModeActive.Render(name))
		} else {
			parts = append(parts, st.Mode.Render(name))
		}
	}
	line := strings.Join(parts, "")
	switch {
	case m.det.rendered.cut:
		line += st.Warn.Render(" preview · a loads all")
	case m.det.all:
		line += st.Dim.Render(" all")
	}
	if total := m.det.vp.TotalLineCount(); total > m.det.vp.Height() {
		line += st.Dim.Render(fmt.Sprintf(" %d%%", int(m.det.vp.ScrollPercent()*100)))
	}
	return line
}

// detailBody is the value's lines, each exactly width cells.
func (m *Model) detailBody(width int) []string {
	st := m.st
	d := m.det
	msg := ""
	switch {
	case d.key == "" || d.branch:
	case d.info != nil && d.info.Missing:
		msg = "This key no longer exists."
	case d.info != nil && d.entry == nil && d.err == nil && !d.loading:
		msg = fmt.Sprintf("The value is %s; press a to load it all.", human.Bytes(d.info.Size))
	case d.entry == nil && d.loading:
		msg = "loading…"
	}
	if msg != "" {
		return []string{st.DimPaint.Wrap(uictx.Fit(msg, width))}
	}
	if d.vp.Width() != width {
		return nil // not laid out yet
	}
	return strings.Split(d.vp.View(), "\n")
}

func (m *Model) statusLine() string {
	st := m.st
	w := m.width
	if p := m.prompt; p != nil {
		if p.kind == promptDelete {
			return lipgloss.NewStyle().MaxWidth(w).Render(st.Warn.Render("Delete "+textesc.Key(p.key)+"? ") + st.Title.Render("y") + st.Dim.Render("/N"))
		}
		return lipgloss.NewStyle().MaxWidth(w).Render(p.input.View())
	}
	if m.inv != nil {
		p := m.invNow.p
		return lipgloss.NewStyle().MaxWidth(w).Render(st.Warn.Render(fmt.Sprintf("deleting %s: %s of %s matched deleted · %s",
			textesc.Key(m.invP), uictx.GroupDigits(p.Deleted), uictx.GroupDigits(p.Matched), human.Duration(p.Elapsed))))
	}
	switch {
	case m.status != "" && m.statusErr:
		return ansi.Truncate(st.ErrText.Render(m.status), w, "…")
	case m.status != "":
		return ansi.Truncate(st.OK.Render(m.status), w, "…")
	case m.conn == connDown && m.connErr != nil:
		return ansi.Truncate(st.ErrText.Render(uictx.OneLine(m.connErr.Error())), w, "…")
	case m.scanErr != nil:
		return ansi.Truncate(st.ErrText.Render("listing: "+uictx.OneLine(m.scanErr.Error())), w, "…")
	}
	return ""
}

func (m *Model) helpLine() string {
	hv := m.helpKeys()
	var out string
	if !m.showHelp {
		out = m.help.ShortHelpView(hv.ShortHelp())
	} else {
		// Columns side by side while they fit, then a new band of columns.
		groups := hv.FullHelp()
		var bands []string
		for len(groups) > 0 {
			n := len(groups)
			for n > 1 && lipgloss.Width(m.help.FullHelpView(groups[:n])) > m.width {
				n--
			}
			bands = append(bands, m.help.FullHelpView(groups[:n]))
			groups = groups[n:]
		}
		out = strings.Join(bands, "\n")
	}
	// bubbles/help can overrun its width by an item; never let a line wrap.
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, m.width, "…")
	}
	return strings.Join(lines, "\n")
}

func (m *Model) helpKeys() uictx.Help {
	k := m.km
	if m.focus == focusDetail {
		return uictx.Help{Keys: k, Short: []key.Binding{k.Focus, k.Mode, k.LoadAll, k.Delete, k.TTL, k.Copy, k.Help, k.Quit}}
	}
	out := []key.Binding{k.Filter}
	if m.filtered() {
		out = append(out, k.ClearFilter)
	}
	out = append(out, k.Find, k.Next, k.Tree, k.Delete, k.Invalidate, k.TTL, k.Refresh, k.Help, k.Quit)
	return uictx.Help{Keys: k, Short: out}
}
