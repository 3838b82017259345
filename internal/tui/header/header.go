// Package header is the dashboard's top two lines: what it is connected to
// and how that connection is, then the server's figures with an ops/s
// sparkline. It keeps the connection too: it connects, retries with backoff,
// and polls the figures, which double as the probe of a server that is down.
package header

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/textesc"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// Lines is the header's height.
const Lines = 2

// Options say what the header names and how it reaches the server.
type Options struct {
	// Open is called (and retried) from a tea.Cmd, so a dead server at
	// start-up shows as such instead of failing the command.
	Open       func(ctx context.Context) (backends.Backend, error)
	Kind       string // "redis", "memcached", "http"
	Address    string // redacted
	Context    string // context name, "" for none
	Label      string // the context's label ("PRODUCTION")
	LabelColor string
	Production bool
	StatsEvery time.Duration // how often the figures refresh
}

// Model is the header.
type Model struct {
	c     *uictx.Context
	opts  Options
	width int

	connInFly bool

	stats      *backends.Stats
	prevStats  *backends.Stats
	statsAt    time.Time
	prevAt     time.Time
	ops        []float64 // ops/s samples, the newest last
	statsInFly bool
	lastStats  time.Time
}

// New builds the header; Init connects.
func New(c *uictx.Context, opts Options) *Model {
	return &Model{c: c, opts: opts, width: c.Width}
}

// Init starts connecting.
func (m *Model) Init() tea.Cmd {
	m.connInFly = true
	return connect(m.c.Ctx, m.opts.Open, m.c.Timeout)
}

// SetSize sets the terminal's width.
func (m *Model) SetSize(width int) { m.width = width }

// Stats are the last figures read, nil before the first.
func (m *Model) Stats() *backends.Stats { return m.stats }

// Update applies the header's own messages, the clock and the events that
// make the figures stale.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case connectedMsg:
		return m.onConnected(msg)
	case statsMsg:
		return m.onStats(msg)
	case uictx.Tick:
		return m.onTick(m.c.Now())
	case uictx.KeysChanged, uictx.Refresh:
		return m.RequestStats()
	}
	return nil
}

func (m *Model) onConnected(msg connectedMsg) tea.Cmd {
	m.connInFly = false
	if msg.err != nil {
		m.c.Down(msg.err)
		return nil
	}
	m.c.Backend = msg.b
	m.c.Up()
	m.c.Publish(uictx.Connected{})
	return m.RequestStats()
}

// RequestStats reads the figures unless a read is already on its way.
func (m *Model) RequestStats() tea.Cmd {
	if m.c.Backend == nil || m.statsInFly {
		return nil
	}
	m.statsInFly = true
	m.lastStats = m.c.Now()
	return fetchStats(m.c.Ctx, m.c.Backend, m.c.Timeout, m.c.Now)
}

func (m *Model) onStats(msg statsMsg) tea.Cmd {
	m.statsInFly = false
	if msg.err != nil {
		m.c.Down(msg.err)
		return nil
	}
	wasDown := m.c.Conn.State == uictx.Down
	m.c.Up()
	m.prevStats, m.prevAt = m.stats, m.statsAt
	m.stats, m.statsAt = msg.s, msg.at
	m.ops = append(m.ops, m.opsRate())
	if len(m.ops) > 60 {
		m.ops = m.ops[len(m.ops)-60:]
	}
	if wasDown {
		m.c.Publish(uictx.Reconnected{})
	}
	return nil
}

// opsRate is the server's own ops/s where it reports one (Redis), else the
// lookups per second between the last two samples.
func (m *Model) opsRate() float64 {
	s := m.stats
	if s.Known["ops_per_sec"] {
		return s.OpsPerSec
	}
	p := m.prevStats
	if p == nil || !m.statsAt.After(m.prevAt) {
		return 0
	}
	d := float64((s.Hits + s.Misses) - (p.Hits + p.Misses))
	return max(0, d/m.statsAt.Sub(m.prevAt).Seconds())
}

// onTick connects again once the backoff ran out, probes a server that is
// down, and refreshes the figures every StatsEvery.
func (m *Model) onTick(now time.Time) tea.Cmd {
	switch {
	case m.c.Backend == nil:
		if !m.connInFly && !now.Before(m.c.Conn.RetryAt) {
			m.connInFly = true
			return connect(m.c.Ctx, m.opts.Open, m.c.Timeout)
		}
	case m.c.Conn.State == uictx.Down:
		if !now.Before(m.c.Conn.RetryAt) {
			return m.RequestStats() // the probe: success means back up
		}
	case now.Sub(m.lastStats) >= m.opts.StatsEvery:
		return m.RequestStats()
	}
	return nil
}

// View is the header's two lines.
func (m *Model) View() string {
	st := m.c.Styles
	parts := []string{st.Title.Render("cachectl"), st.Key.Render(m.opts.Kind), st.Dim.Render(textesc.Key(m.opts.Address))}
	if m.opts.Context != "" || m.opts.Label != "" {
		label := m.opts.Label
		if label == "" {
			label = m.opts.Context
		}
		parts = append(parts, st.ContextBadge(textesc.Key(label), m.opts.LabelColor, m.opts.Production))
	}
	if m.c.ReadOnly {
		parts = append(parts, st.ROBadge.Render("READ-ONLY"))
	}
	left := strings.Join(parts, " ")
	right := m.connView()
	line1 := left + uictx.Gap(m.width, left, right) + right
	return lipgloss.NewStyle().MaxWidth(m.width).Render(line1) + "\n" +
		lipgloss.NewStyle().MaxWidth(m.width).Render(m.statsView())
}

func (m *Model) connView() string {
	st := m.c.Styles
	switch m.c.Conn.State {
	case uictx.Up:
		return st.OK.Render("● connected")
	case uictx.Down:
		wait := max(0, m.c.Conn.RetryAt.Sub(m.c.Now()).Round(time.Second))
		return st.ErrText.Render(fmt.Sprintf("✕ unreachable · retry in %s", human.Duration(wait)))
	}
	return st.Warn.Render("◌ connecting…")
}

func (m *Model) statsView() string {
	st := m.c.Styles
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
