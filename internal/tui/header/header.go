// Package header is the dashboard's top lines: what it is connected to and
// how that connection is, then the server's figures with an ops/s
// sparkline, and on a deployment of several nodes (Redis Cluster, Sentinel)
// its topology. It keeps the connection too: it connects, retries with
// backoff, and polls the figures, which double as the probe of a server or
// node that is down.
package header

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/textesc"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

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

	// multi: the backend reports a topology, drawn on a third line.
	multi bool
	topo  *backends.Topology // the last read, nil before the first
	// topoGen counts the probes, so the drawn line is reused until the
	// next one, or until the width, the colours or the staleness change.
	topoGen  int
	topoLine cachedLine
	// health is what the last probe found; when it rises the components
	// hear Reconnected.
	health health
}

// health is how much of the backend answers, worst first.
type health int

const (
	healthDown     health = iota // nothing answers
	healthFailover               // keys without a live primary
	healthDegraded               // some nodes do not answer
	healthUp
)

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

// Height is the header's lines: three on a backend with a topology.
func (m *Model) Height() int {
	if m.multi {
		return 3
	}
	return 2
}

// Stats are the last figures read, nil before the first.
func (m *Model) Stats() *backends.Stats { return m.stats }

// Topology is the last topology read, nil before the first or when the
// backend has none.
func (m *Model) Topology() *backends.Topology { return m.topo }

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
	_, m.multi = msg.b.(backends.TopologyReporter)
	m.health = healthUp
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
	resync := m.health != healthUp || m.c.Conn.State == uictx.Down
	return fetchStats(m.c.Ctx, m.c.Backend, m.c.Timeout, m.c.Now, resync)
}

// onStats takes a probe's answer. Nothing at all: the backend is down.
// Figures from only some nodes, or a topology with a failover: it is
// degraded, looked at again at the next refresh (each second while keys
// have no primary). Whenever it gets better (back up, a failover over, a
// node back) the components hear Reconnected and retry what failed.
func (m *Model) onStats(msg statsMsg) tea.Cmd {
	m.statsInFly = false
	m.topoGen++ // the line names the nodes whose figures failed too
	if msg.topo != nil && msg.topoErr == nil {
		m.topo = msg.topo
	}
	if msg.s == nil {
		m.health = healthDown
		m.c.Unreachable(msg.err)
		return nil
	}
	was := m.health
	if m.c.Conn.State == uictx.Down { // a component's operation failed since
		was = healthDown
	}
	m.prevStats, m.prevAt = m.stats, m.statsAt
	m.stats, m.statsAt = msg.s, msg.at
	m.ops = append(m.ops, m.opsRate())
	if len(m.ops) > 60 {
		m.ops = m.ops[len(m.ops)-60:]
	}
	m.c.NodesDown = m.downNodes()
	m.health = healthUp
	if why := m.degraded(msg); why != nil {
		m.health = healthDegraded
		next := m.opts.StatsEvery
		if m.failover() {
			m.health = healthFailover
			next = min(next, time.Second)
		}
		m.c.Degrade(why, m.c.Now().Add(next))
	} else {
		m.c.Up()
	}
	if m.health > was {
		m.c.Publish(uictx.Reconnected{})
	}
	return nil
}

// degraded says why a probe that got figures found the backend answering
// only in part, nil when it answers whole.
func (m *Model) degraded(msg statsMsg) error {
	if msg.err != nil {
		return msg.err // "1 of 6 nodes did not answer: …"
	}
	if down, all, first := rowsDown(msg.s); down > 0 {
		return fmt.Errorf("%d of %d %s did not answer: %w", down, all, m.nodes(), first)
	}
	if msg.topoErr != nil {
		return fmt.Errorf("topology: %w", msg.topoErr)
	}
	if t := m.topo; t != nil && m.failover() {
		if t.Kind == "sentinel" {
			return fmt.Errorf("failover: the sentinels are replacing master %s", textesc.Key(t.Master))
		}
		return fmt.Errorf("failover: %d of %d slots have no live primary", m.uncovered(), backends.SlotCount)
	}
	return nil
}

// nodes is what the backend calls its servers: a pool has servers.
func (m *Model) nodes() string {
	if m.multi {
		return "nodes"
	}
	return "servers"
}

// rowsDown counts the servers of s that did not answer.
func rowsDown(s *backends.Stats) (down, all int, first error) {
	for _, r := range s.Servers {
		if r.Err != nil {
			if first == nil {
				first = r.Err
			}
			down++
		}
	}
	return down, len(s.Servers), first
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
// down or degraded when due, and refreshes the figures every StatsEvery.
func (m *Model) onTick(now time.Time) tea.Cmd {
	switch {
	case m.c.Backend == nil:
		if !m.connInFly && !now.Before(m.c.Conn.RetryAt) {
			m.connInFly = true
			return connect(m.c.Ctx, m.opts.Open, m.c.Timeout)
		}
	case m.c.Conn.State == uictx.Down, m.c.Conn.State == uictx.Degraded:
		if !now.Before(m.c.Conn.RetryAt) {
			return m.RequestStats() // the probe: success means back up
		}
	case now.Sub(m.lastStats) >= m.opts.StatsEvery:
		return m.RequestStats()
	}
	return nil
}

// View is the header's lines, each at most the terminal's width.
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
	if l := m.liveView(); l != "" {
		right = l + st.Dim.Render(" · ") + right
	}
	// A long address (a cluster's seeds) gives way to the connection state.
	wl, wr := lipgloss.Width(left), lipgloss.Width(right)
	if room := m.width - wr - 1; wl > room {
		left = ansi.Truncate(left, max(0, room), "…")
		wl = lipgloss.Width(left)
	}
	line1 := left + strings.Repeat(" ", max(1, m.width-wl-wr)) + right
	out := lipgloss.NewStyle().MaxWidth(m.width).Render(line1) + "\n" +
		lipgloss.NewStyle().MaxWidth(m.width).Render(m.statsView())
	if m.multi {
		out += "\n" + m.topologyView()
	}
	return out
}

func (m *Model) connView() string {
	st := m.c.Styles
	wait := func() string {
		if m.statsInFly || m.connInFly {
			return " · retrying…"
		}
		return " · retry in " + human.Duration(max(time.Second, m.c.Conn.RetryAt.Sub(m.c.Now()).Round(time.Second)))
	}
	switch m.c.Conn.State {
	case uictx.Up:
		return st.OK.Render("● connected")
	case uictx.Down:
		return st.ErrText.Render("✕ unreachable" + wait())
	case uictx.Degraded:
		what := "degraded"
		if m.stats != nil {
			if down, all, _ := rowsDown(m.stats); down > 0 {
				what = fmt.Sprintf("%d of %d %s down", down, all, m.nodes())
			}
		}
		return st.Warn.Render("◐ " + what + wait())
	}
	return st.Warn.Render("◌ connecting…")
}

// liveView is the live mode's strip: its state and the event rate.
func (m *Model) liveView() string {
	st := m.c.Styles
	l := m.c.Live
	switch l.State {
	case uictx.LiveStarting:
		return st.Dim.Render("live…")
	case uictx.LiveOn:
		return st.OK.Render("live") + st.Dim.Render(" · ") + st.FieldValue.Render(rate(l.Rate)+" ev/s")
	case uictx.LiveOff:
		return st.Dim.Render("live off (L)")
	case uictx.LiveNotifyOff:
		return st.Warn.Render("notifications off")
	case uictx.LiveRefused:
		return st.Warn.Render("live refused")
	case uictx.LiveRetrying:
		return st.Warn.Render("live lost · retrying")
	}
	return ""
}

// rate is an event rate, whole above ten.
func rate(r float64) string {
	if r < 10 && r != float64(int(r)) {
		return strconv.FormatFloat(r, 'f', 1, 64)
	}
	return uictx.GroupDigits(int64(r + 0.5))
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
	for _, d := range s.Denied {
		if d.Command == "info" {
			// The server answers; its ACL keeps the figures from this
			// user, which is no error state.
			parts = append(parts, st.Warn.Render("no INFO permission"))
			if s.Version != "" {
				parts = append(parts, st.Dim.Render(textesc.Key(s.Version)))
			}
			return strings.Join(parts, st.Dim.Render(" · "))
		}
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
