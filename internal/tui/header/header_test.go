package header

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// The last n samples, scaled to the highest of them.
func TestSparklineScalesToItsPeak(t *testing.T) {
	if got := sparkline([]float64{0, 1, 2, 4, 8}, 4); got != "▂▃▅█" {
		t.Fatalf("sparkline %q", got)
	}
	if got := sparkline(nil, 4); got != "" {
		t.Fatalf("no samples drew %q", got)
	}
}

// A failed read marks the server down with a backoff; the next good one
// brings it back and tells the other components.
func TestStatsDownAndBackUp(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := uictx.New(context.Background(), func() time.Time { return now }, time.Second, false)
	m := New(c, Options{StatsEvery: time.Hour})
	m.Update(statsMsg{err: errors.New("refused")})
	if c.Conn.State != uictx.Down || !c.Conn.RetryAt.Equal(now.Add(time.Second)) {
		t.Fatalf("conn %+v", c.Conn)
	}
	c.Events()
	m.Update(statsMsg{s: &backends.Stats{Keys: 3, Known: map[string]bool{"keys": true}}, at: now})
	if c.Conn.State != uictx.Up || m.Stats().Keys != 3 {
		t.Fatalf("conn %+v stats %+v", c.Conn, m.Stats())
	}
	var back bool
	for _, e := range c.Events() {
		_, ok := e.(uictx.Reconnected)
		back = back || ok
	}
	if !back {
		t.Fatal("coming back up published no Reconnected")
	}
}

// topoBackend is a backend of several nodes for the header alone; what the
// header must not call stays the nil interface.
type topoBackend struct {
	backends.Backend
	topo     *backends.Topology
	recovers int
}

func (b *topoBackend) Topology(context.Context) (*backends.Topology, error) { return b.topo, nil }
func (b *topoBackend) Stats(context.Context) (*backends.Stats, error) {
	return &backends.Stats{Known: map[string]bool{}}, nil
}
func (b *topoBackend) Recover(context.Context, time.Duration) (bool, error) {
	b.recovers++
	return false, nil
}

func connected(t testing.TB, b backends.Backend, opts Options) (*Model, *uictx.Context) {
	t.Helper()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := uictx.New(context.Background(), func() time.Time { return now }, time.Second, false)
	c.Width = 120
	if opts.StatsEvery == 0 {
		opts.StatsEvery = 2 * time.Second
	}
	m := New(c, opts)
	m.SetSize(120)
	m.Update(m.Update(connectedMsg{b: b})()) // the first figures
	c.Events()
	return m, c
}

func line(m *Model, i int) string { return strings.Split(ansi.Strip(m.View()), "\n")[i] }

// A Sentinel setup: the master's name and address, its replicas; a
// failover in progress is flagged, a master down is named.
func TestSentinelTopologyLine(t *testing.T) {
	b := &topoBackend{topo: &backends.Topology{Kind: "sentinel", Master: "mymaster", Nodes: []backends.Node{
		{Address: "127.0.0.1:6380", Role: "primary", Up: true},
		{Address: "127.0.0.1:6381", Role: "replica", PrimaryAddress: "127.0.0.1:6380", Up: true, Link: "up"}}}}
	m, c := connected(t, b, Options{})
	if m.Height() != 3 {
		t.Fatalf("height %d with a topology", m.Height())
	}
	m.Update(fetchStats(c.Ctx, b, time.Second, c.Now, false)())
	if got := line(m, 2); got != "sentinel mymaster · master 127.0.0.1:6380 · 1/1 replicas" {
		t.Errorf("line %q", got)
	}
	if c.Conn.State != uictx.Up {
		t.Errorf("conn %+v", c.Conn)
	}
	b.topo.Failover, b.topo.Nodes[0].Up = true, false
	m.Update(fetchStats(c.Ctx, b, time.Second, c.Now, false)())
	if got := line(m, 2); got != " FAILOVER  sentinel mymaster · master 127.0.0.1:6380 (down) · 1/1 replicas · down 127.0.0.1:6380" {
		t.Errorf("failover line %q", got)
	}
	if c.Conn.State != uictx.Degraded || !strings.Contains(c.Conn.Err.Error(), "replacing master mymaster") {
		t.Errorf("conn %+v", c.Conn)
	}
}

// Addresses and names come from the servers: escaped before the terminal.
func TestTopologyIsEscaped(t *testing.T) {
	b := &topoBackend{topo: &backends.Topology{Kind: "sentinel", Master: "m\x1b]0;x\x07", Nodes: []backends.Node{
		{Address: "10.0.0.1:1\x1b[31m", Role: "primary", Up: false}}}}
	m, c := connected(t, b, Options{})
	m.Update(fetchStats(c.Ctx, b, time.Second, c.Now, false)())
	if v := m.View(); strings.ContainsAny(ansi.Strip(v), "\x1b\x07") || strings.Contains(v, "\x1b[31m") || strings.Contains(v, "\x07") {
		t.Fatalf("raw control bytes in %q", v)
	}
}

// The probes after a failure ask a backend that rides through failovers to
// follow it (so reads reach a promoted replica); a healthy one's do not.
func TestProbeResyncsOnlyAfterAFailure(t *testing.T) {
	b := &topoBackend{topo: &backends.Topology{Kind: "cluster", SlotsCovered: backends.SlotCount,
		Nodes: []backends.Node{{Address: "a:1", Role: "primary", Up: true, Slots: [][2]int{{0, backends.SlotCount - 1}}}}}}
	m, c := connected(t, b, Options{})
	if b.recovers != 0 {
		t.Fatalf("a healthy probe recovered %d times", b.recovers)
	}
	c.Down(errors.New("read failed"))
	m.Update(m.RequestStats()())
	if b.recovers != 1 || c.Conn.State != uictx.Up {
		t.Fatalf("recovers %d conn %+v", b.recovers, c.Conn)
	}
}

// A pool with a member down answers in part: degraded, not unreachable, and
// the member's return is announced.
func TestPoolMemberDownIsDegraded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := uictx.New(context.Background(), func() time.Time { return now }, time.Second, false)
	m := New(c, Options{StatsEvery: 2 * time.Second})
	m.SetSize(100)
	dead := &backends.ConnError{Address: "127.0.0.1:11212", Err: errors.New("connection refused")}
	part := &backends.Stats{Known: map[string]bool{"keys": true}, Keys: 3, Servers: []backends.ServerStats{
		{Address: "127.0.0.1:11211", Stats: &backends.Stats{}}, {Address: "127.0.0.1:11212", Err: dead}}}
	m.Update(statsMsg{s: part, err: errors.New("1 of 2 servers did not answer"), at: now})
	if c.Conn.State != uictx.Degraded || !c.Conn.RetryAt.Equal(now.Add(2*time.Second)) {
		t.Fatalf("conn %+v", c.Conn)
	}
	if got := line(m, 0); !strings.HasSuffix(got, "◐ 1 of 2 servers down · retry in 2s") {
		t.Errorf("line 1 %q", got)
	}
	if m.Height() != 2 || m.Stats().Keys != 3 {
		t.Errorf("height %d stats %+v", m.Height(), m.Stats())
	}
	c.Events()
	m.Update(statsMsg{s: &backends.Stats{Known: map[string]bool{}}, at: now})
	var back bool
	for _, e := range c.Events() {
		_, ok := e.(uictx.Reconnected)
		back = back || ok
	}
	if c.Conn.State != uictx.Up || !back {
		t.Fatalf("conn %+v, Reconnected %v", c.Conn, back)
	}
}

// A long address (a cluster's seeds) gives way to the connection state.
func TestLongAddressKeepsTheConnectionState(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := uictx.New(context.Background(), func() time.Time { return now }, time.Second, false)
	m := New(c, Options{Kind: "redis", Address: "redis+cluster://" + strings.Repeat("10.0.0.1:7000,", 8)})
	m.SetSize(60)
	c.Up()
	got := line(m, 0)
	if !strings.HasSuffix(got, "● connected") || ansi.StringWidth(got) > 60 || !strings.Contains(got, "…") {
		t.Errorf("line 1 %q", got)
	}
}

// BenchmarkViewCluster is the header's share of a frame on a cluster with a
// node down: the topology line is drawn once a probe, not once a frame.
func BenchmarkViewCluster(b *testing.B) {
	nodes := []backends.Node{}
	for i := range 6 {
		n := backends.Node{Address: "127.0.0.1:" + strconv.Itoa(7001+i), Role: "primary", Up: i != 0}
		if i >= 3 {
			n.Role = "replica"
		} else {
			n.Slots = [][2]int{{i * 5461, min(backends.SlotCount-1, i*5461+5460)}}
		}
		nodes = append(nodes, n)
	}
	tb := &topoBackend{topo: &backends.Topology{Kind: "cluster", Nodes: nodes, SlotsCovered: backends.SlotCount - 5461, Failover: true}}
	m, _ := connected(b, tb, Options{Kind: "redis", Address: "redis+cluster://127.0.0.1:7001,127.0.0.1:7002"})
	b.Run("topology", func(b *testing.B) {
		for range b.N {
			_ = m.View()
		}
	})
	m.multi = false // the same header without its third line
	b.Run("without", func(b *testing.B) {
		for range b.N {
			_ = m.View()
		}
	})
}

// noInfoBackend answers DBSIZE but its ACL refuses INFO, as a read-only
// Redis user's does (internal/tui's TestReadOnlyACLUser runs the real one).
type noInfoBackend struct{ backends.Backend }

func (noInfoBackend) Stats(context.Context) (*backends.Stats, error) {
	return &backends.Stats{Keys: 1234, Known: map[string]bool{"keys": true},
		Denied: []*backends.PermissionError{{Address: "redis://ro:***@10.0.0.1:6379", User: "ro", Command: "info", Category: "@dangerous"}}}, nil
}

// Without INFO the header is connected and says why the figures are
// missing, at the smallest supported width.
func TestNoInfoPermissionHeader(t *testing.T) {
	m, c := connected(t, noInfoBackend{}, Options{Kind: "redis", Address: "redis://ro:***@10.0.0.1:6379"})
	m.SetSize(80)
	want := "cachectl redis redis://ro:***@10.0.0.1:6379                          ● connected\n" +
		"keys 1,234 · no INFO permission"
	if got := ansi.Strip(m.View()); got != want || c.Conn.State != uictx.Up {
		t.Errorf("header (%v):\n%s\nwant:\n%s", c.Conn.State, got, want)
	}
}
