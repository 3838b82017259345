// Package analysis is the dashboard's analysis view (A): in place of the
// entry pane, the tables of `cachectl analyze` for the key list's filter —
// totals, TTLs, formats, prefixes and targets with bars, the biggest keys —
// computed in the background with progress. The key list stays usable
// meanwhile; closing the view or changing the filter cancels the run.
package analysis

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/cachectl/cachectl/internal/analyze"
	"github.com/cachectl/cachectl/internal/analyze/report"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/profiles"
	"github.com/cachectl/cachectl/internal/textesc"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// Options say how keys are grouped.
type Options struct {
	Pattern string // the stored-key glob listed first
	Delim   string // between prefix levels
	// Profile adds its framework targets (aiocache functions, …); nil for none.
	Profile *profiles.Profile
}

// Model is the analysis view.
type Model struct {
	c       *uictx.Context
	opts    Options
	width   int
	height  int
	focused bool

	active  bool
	pattern string

	gen     int
	cancel  context.CancelFunc
	seen    *atomic.Int64 // keys the running analysis has seen
	running bool
	started time.Time

	run    *report.Run // the last finished, nil before
	lines  []string
	offset int
	drawnW int // the width lines were drawn for
}

// doneMsg is a finished (or failed) analysis.
type doneMsg struct {
	gen int
	run *report.Run
}

// progressMsg redraws the progress while an analysis runs.
type progressMsg struct{ gen int }

const progressEvery = 200 * time.Millisecond

// New builds the view, closed.
func New(c *uictx.Context, opts Options) *Model {
	if opts.Pattern == "" {
		opts.Pattern = "*"
	}
	return &Model{c: c, opts: opts, pattern: opts.Pattern}
}

// Active reports whether the view is shown.
func (m *Model) Active() bool { return m.active }

// Running reports whether an analysis is computing.
func (m *Model) Running() bool { return m.running }

// Result is the last finished analysis, nil before.
func (m *Model) Result() *report.Run { return m.run }

// Close cancels a running analysis.
func (m *Model) Close() { m.stop() }

// SetSize sizes the pane; the tables are drawn again for a new width.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	if m.run != nil && m.drawnW != m.inner() {
		m.draw()
	}
	m.clamp()
}

// SetFocused says whether the pane has the focus.
func (m *Model) SetFocused(f bool) { m.focused = f }

// ShortHelp is the one-line help while the pane has the focus.
func (m *Model) ShortHelp() []key.Binding {
	k := m.c.Keys
	return []key.Binding{k.Focus, k.Up, k.Down, k.Analyze, k.Refresh, k.Help, k.Quit}
}

func (m *Model) inner() int { return max(1, m.width-2) }

// Update toggles the view (A), follows the filter, takes the results and
// scrolls while focused.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		return m.onKey(msg)
	case uictx.Filter:
		if msg.Pattern == m.pattern {
			return nil
		}
		m.pattern = msg.Pattern
		m.stop()
		m.run, m.lines, m.offset = nil, nil, 0 // the old filter's figures are of no use
		if m.active {
			return m.start()
		}
	case uictx.Connected, uictx.Reconnected:
		if m.active && !m.running && (m.run == nil || m.run.Partial) {
			return m.start()
		}
	case uictx.Refresh:
		if m.active {
			return m.start()
		}
	case progressMsg:
		if msg.gen == m.gen && m.running {
			return progress(m.gen)
		}
	case doneMsg:
		if msg.gen != m.gen {
			return nil
		}
		m.running = false
		m.cancel = nil
		m.run = msg.run
		m.draw()
		if r := msg.run; r.Err != nil && !r.Interrupted {
			m.c.Down(r.Err)
		}
	}
	return nil
}

func (m *Model) onKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.c.Keys
	if key.Matches(msg, k.Analyze) {
		m.active = !m.active
		if !m.active {
			m.stop()
			return nil
		}
		if m.run == nil || m.run.Partial || m.run.Opts.Patterns[0] != m.pattern {
			return m.start()
		}
		return nil
	}
	if !m.active || !m.focused {
		return nil
	}
	h := m.bodyHeight()
	switch {
	case key.Matches(msg, k.ClearFilter), key.Matches(msg, k.Collapse):
		m.c.Publish(uictx.Back{})
	case key.Matches(msg, k.Up):
		m.offset--
	case key.Matches(msg, k.Down):
		m.offset++
	case key.Matches(msg, k.PageUp):
		m.offset -= h
	case key.Matches(msg, k.PageDown):
		m.offset += h
	case key.Matches(msg, k.Top):
		m.offset = 0
	case key.Matches(msg, k.Bottom):
		m.offset = len(m.lines)
	}
	m.clamp()
	return nil
}

// start runs an analysis of the filter in the background, replacing any.
func (m *Model) start() tea.Cmd {
	m.stop()
	b := m.c.Backend
	if b == nil {
		return nil
	}
	m.gen++
	ctx, cancel := context.WithCancel(m.c.Ctx)
	m.cancel, m.running, m.started = cancel, true, m.c.Now()
	seen := new(atomic.Int64)
	m.seen = seen
	gen := m.gen
	opts := report.Options{Patterns: []string{m.pattern}, Depth: analyze.DefaultDepth, Delimiter: m.opts.Delim,
		Top: analyze.DefaultTop, Capacity: analyze.DefaultCapacity, Profile: m.opts.Profile}
	run := func() tea.Msg {
		r := report.Analyze(ctx, b, opts, func(n int64) { seen.Store(n) })
		return doneMsg{gen: gen, run: r}
	}
	return tea.Batch(run, progress(gen))
}

func progress(gen int) tea.Cmd {
	return tea.Tick(progressEvery, func(time.Time) tea.Msg { return progressMsg{gen: gen} })
}

func (m *Model) stop() {
	if m.cancel != nil {
		m.cancel()
		m.cancel = nil
	}
	if m.running {
		m.running = false
		m.gen++ // its answer is dropped
	}
}

// draw lays the tables out for the pane's width: the same text as
// `cachectl analyze`, without colour, bars narrowed to fit.
func (m *Model) draw() {
	w := m.inner()
	m.drawnW = w
	var buf bytes.Buffer
	bar := min(report.DefaultBarWidth, max(6, w-60))
	info := m.c.Backend.Describe()
	m.run.WriteText(&buf, &iostreams.ColorScheme{}, info, report.TextOptions{BarWidth: bar})
	text := strings.TrimRight(buf.String(), "\n")
	if r := m.run; r.Err != nil && !r.Interrupted {
		text += "\n\nstopped early: " + uictx.ErrLine(r.Err)
	}
	m.lines = strings.Split(text, "\n")
	m.clamp()
}

func (m *Model) bodyHeight() int { return max(1, m.height-3) }

func (m *Model) clamp() {
	m.offset = max(0, min(m.offset, len(m.lines)-m.bodyHeight()))
}

// Lines are the pane's lines, each exactly its width.
func (m *Model) Lines() []string {
	st := m.c.Styles
	inner := m.inner()
	h := m.bodyHeight()
	lines := make([]string, 0, h+1)
	lines = append(lines, uictx.PadTo(lipgloss.NewStyle().MaxWidth(inner).Render(m.title()), inner))
	switch {
	case m.c.Backend == nil:
		lines = append(lines, st.DimPaint.Wrap(uictx.Fit("not connected", inner)))
	case m.run == nil && m.running:
		lines = append(lines, st.DimPaint.Wrap(uictx.Fit("reading the keys of the filter…", inner)))
	}
	if m.run != nil {
		end := min(len(m.lines), m.offset+h)
		for _, l := range m.lines[m.offset:end] {
			lines = append(lines, uictx.Fit(l, inner))
		}
	}
	return st.Box(lines, m.width, m.height, m.focused)
}

func (m *Model) title() string {
	st := m.c.Styles
	t := st.Title.Render("Analysis") + st.Dim.Render(" · ") + st.Key.Render(textesc.Key(m.pattern))
	switch {
	case m.running:
		n := int64(0)
		if m.seen != nil {
			n = m.seen.Load()
		}
		t += st.Warn.Render(" analyzing… " + uictx.GroupDigits(n) + " keys")
		if m.run != nil {
			t += st.Dim.Render(" (below: the last run)")
		}
	case m.run != nil && m.run.Partial:
		t += st.ErrText.Render(" partial")
	}
	if len(m.lines) > m.bodyHeight() {
		t += st.Dim.Render(" · ↑/↓ scroll")
	}
	return t
}
