package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/textesc"
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

// box frames lines that are already exactly width-2 cells wide.
func (m *Model) box(lines []string, width, height int, focused bool) []string {
	inner := max(0, width-2)
	p := m.st.borderPaint
	if focused {
		p = m.st.focusPaint
	}
	side := p.pre + "│" + p.suf
	out := make([]string, 0, height)
	out = append(out, p.pre+"╭"+strings.Repeat("─", inner)+"╮"+p.suf)
	blank := strings.Repeat(" ", inner)
	for i := range max(0, height-2) {
		l := blank
		if i < len(lines) {
			l = lines[i]
		}
		out = append(out, side+l+side)
	}
	return append(out, p.pre+"╰"+strings.Repeat("─", inner)+"╯"+p.suf)
}

// padTo cuts styled text to w cells and pads it to exactly w.
func padTo(s string, w int) string {
	n := ansi.StringWidth(s)
	if n > w {
		s = ansi.Truncate(s, w, "…")
		n = ansi.StringWidth(s)
	}
	return s + strings.Repeat(" ", max(0, w-n))
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

// fit cuts plain text to w cells and pads it to exactly w. Escaped keys are
// nearly always ASCII, whose width is its length: that path skips grapheme
// segmentation, the main cost of a frame.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if isASCII(s) {
		if len(s) > w {
			return s[:w-1] + "…"
		}
		return s + strings.Repeat(" ", w-len(s))
	}
	if ansi.StringWidth(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	if pad := w - ansi.StringWidth(s); pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return s
}

func (m *Model) header() string {
	st := m.st
	parts := []string{st.title.Render("cachectl"), st.key.Render(m.opts.Kind), st.dim.Render(textesc.Key(m.opts.Address))}
	if m.opts.Context != "" || m.opts.Label != "" {
		label := m.opts.Label
		if label == "" {
			label = m.opts.Context
		}
		parts = append(parts, st.contextBadge(textesc.Key(label), m.opts.LabelColor, m.opts.Production))
	}
	if m.opts.ReadOnly {
		parts = append(parts, st.roBadge.Render("READ-ONLY"))
	}
	left := strings.Join(parts, " ")
	right := m.connView()
	line1 := left + gap(m.width, left, right) + right
	return lipgloss.NewStyle().MaxWidth(m.width).Render(line1) + "\n" +
		lipgloss.NewStyle().MaxWidth(m.width).Render(m.statsView())
}

func gap(width int, left, right string) string {
	return strings.Repeat(" ", max(1, width-lipgloss.Width(left)-lipgloss.Width(right)))
}

func (m *Model) connView() string {
	st := m.st
	switch m.conn {
	case connUp:
		return st.ok.Render("● connected")
	case connDown:
		wait := max(0, m.retryAt.Sub(m.opts.Now()).Round(time.Second))
		return st.errText.Render(fmt.Sprintf("✕ unreachable · retry in %s", human.Duration(wait)))
	}
	return st.warn.Render("◌ connecting…")
}

func (m *Model) statsView() string {
	st := m.st
	s := m.stats
	if s == nil {
		return st.dim.Render("keys – · memory – · hit ratio – · ops/s –")
	}
	fig := func(name, value string) string { return st.dim.Render(name+" ") + st.fieldValue.Render(value) }
	known := func(k string) bool { return s.Known[k] }
	var parts []string
	if known("keys") {
		parts = append(parts, fig("keys", groupDigits(s.Keys)))
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
	parts = append(parts, st.dim.Render("ops/s ")+st.spark.Render(sparkline(m.ops, 16))+" "+st.fieldValue.Render(strconv.FormatFloat(last, 'f', 0, 64)))
	if s.Version != "" {
		parts = append(parts, st.dim.Render(textesc.Key(s.Version)))
	}
	return strings.Join(parts, st.dim.Render(" · "))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			return false
		}
	}
	return true
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
	lines = append(lines, padTo(m.listTitle(inner), inner))
	rows := m.store.Rows()
	for i := m.offset; i < m.offset+h; i++ {
		if i >= rows {
			if i == 0 {
				lines = append(lines, st.dimPaint.wrap(fit(m.emptyText(), inner)))
			}
			continue
		}
		line, isBranch := m.rowText(i, inner)
		switch {
		case i == m.cursor && m.focus == focusList:
			line = st.selectedPaint.wrap(line)
		case i == m.cursor:
			line = st.blurPaint.wrap(line)
		case isBranch:
			line = st.branchPaint.wrap(line)
		}
		lines = append(lines, line)
	}
	return m.box(lines, width, m.bodyHeight(), m.focus == focusList)
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
	n := groupDigits(int64(m.store.Len()))
	title := st.title.Render("Keys") + " " + st.fieldValue.Render(n)
	if m.scanning {
		title += st.warn.Render(" scanning…")
	} else if m.scanErr != nil {
		title += st.errText.Render(" incomplete")
	}
	if m.filtered() {
		title += st.dim.Render(" · ") + st.key.Render(textesc.Key(m.pattern))
	}
	if m.store.Tree() {
		title += st.dim.Render(" · tree")
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
		return fit(textesc.Key(k), width), false
	}
	indent := strings.Repeat("  ", r.Depth)
	if !r.Branch {
		return fit(indent+"  "+textesc.Key(r.Label), width), false
	}
	arrow := "▸ "
	if r.Expanded {
		arrow = "▾ "
	}
	label := indent + arrow + textesc.Key(r.Label)
	count := " " + groupDigits(int64(r.Count))
	lw := width - ansi.StringWidth(count)
	if lw < 4 {
		return fit(label, width), true
	}
	return fit(label, lw) + count, true
}

func (m *Model) detailPane(width int) []string {
	inner := max(1, width-2)
	lines := m.detailHeader(inner)
	for i, l := range lines {
		lines[i] = padTo(l, inner)
	}
	lines = append(lines, m.detailBody(inner)...)
	return m.box(lines, width, m.bodyHeight(), m.focus == focusDetail)
}

func (m *Model) detailHeader(width int) []string {
	st := m.st
	field := func(name, value string) string {
		return st.dim.Render(fit(name, 7)) + " " + value
	}
	d := m.det
	out := make([]string, 0, detailHeaderLines)
	cut := func(s string) string { return ansi.Truncate(s, width, "…") }
	if d.key == "" {
		return append(out, st.dim.Render("no key selected"), "", "", "", "")
	}
	if d.branch {
		out = append(out, cut(field("branch", st.branch.Render(textesc.Key(d.key)))))
		var count int
		if m.store.Rows() > 0 {
			count = m.store.Row(m.cursor).Count
		}
		out = append(out, cut(field("keys", groupDigits(int64(count))+" loaded beneath")), st.dim.Render("enter/→ expands, ← collapses"), "", "")
		return out
	}
	out = append(out, cut(field("key", st.title.Render(textesc.Key(d.key)))))
	out = append(out, cut(field("type", m.metaLine())))
	out = append(out, cut(field("ttl", m.ttlText())))
	out = append(out, cut(m.modeLine()))
	switch {
	case d.err != nil:
		out = append(out, cut(st.errText.Render("error: "+oneLine(d.err.Error()))))
	case d.rendered.note != "":
		out = append(out, cut(st.warn.Render("⚠ "+oneLine(d.rendered.note))))
	case m.tag() != "":
		out = append(out, cut(field("what", st.key.Render(textesc.Text(m.tag())))))
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
			return m.st.dim.Render("loading…")
		}
		return "–"
	}
	info := d.info
	if info.Missing {
		return m.st.warn.Render("gone (expired or deleted elsewhere)")
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
		parts = append(parts, groupDigits(info.Length)+" elements")
	}
	if info.HasFlags {
		parts = append(parts, "flags "+strconv.FormatUint(uint64(info.Flags), 10))
	}
	if info.Server != "" {
		parts = append(parts, "on "+textesc.Key(info.Server))
	}

	return strings.Join(parts, m.st.dim.Render(" · "))
}

func (m *Model) ttlText() string {
	info := m.det.info
	switch {
	case info == nil || info.Missing:
		return "–"
	case info.TTL.Unknown:
		return m.st.dim.Render("unknown (classic protocol)")
	case !info.TTL.Expires:
		return "no expiry"
	}
	r := m.remaining()
	if r <= 0 {
		return m.st.warn.Render("expired")
	}
	return m.st.warn.Render(human.Duration(r.Round(time.Second)))
}

func (m *Model) modeLine() string {
	st := m.st
	var parts []string
	for i, name := range modeNames {
		if viewMode(i) == m.det.mode {
			parts = append(parts, st.modeActive.Render(name))
		} else {
			parts = append(parts, st.mode.Render(name))
		}
	}
	line := strings.Join(parts, "")
	switch {
	case m.det.rendered.cut:
		line += st.warn.Render(" preview · a loads all")
	case m.det.all:
		line += st.dim.Render(" all")
	}
	if total := m.det.vp.TotalLineCount(); total > m.det.vp.Height() {
		line += st.dim.Render(fmt.Sprintf(" %d%%", int(m.det.vp.ScrollPercent()*100)))
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
		return []string{st.dimPaint.wrap(fit(msg, width))}
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
			return lipgloss.NewStyle().MaxWidth(w).Render(st.warn.Render("Delete "+textesc.Key(p.key)+"? ") + st.title.Render("y") + st.dim.Render("/N"))
		}
		return lipgloss.NewStyle().MaxWidth(w).Render(p.input.View())
	}
	if m.inv != nil {
		p := m.invNow.p
		return lipgloss.NewStyle().MaxWidth(w).Render(st.warn.Render(fmt.Sprintf("deleting %s: %s of %s matched deleted · %s",
			textesc.Key(m.invP), groupDigits(p.Deleted), groupDigits(p.Matched), human.Duration(p.Elapsed))))
	}
	switch {
	case m.status != "" && m.statusErr:
		return ansi.Truncate(st.errText.Render(m.status), w, "…")
	case m.status != "":
		return ansi.Truncate(st.ok.Render(m.status), w, "…")
	case m.conn == connDown && m.connErr != nil:
		return ansi.Truncate(st.errText.Render(oneLine(m.connErr.Error())), w, "…")
	case m.scanErr != nil:
		return ansi.Truncate(st.errText.Render("listing: "+oneLine(m.scanErr.Error())), w, "…")
	}
	return ""
}

func (m *Model) helpLine() string {
	hv := helpView{k: m.km, detail: m.focus == focusDetail, tree: m.store.Tree(), filter: m.filtered()}
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
