package header

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/textesc"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// cachedLine is a drawn line and what it was drawn for: the topology line
// changes only with a probe, not with every frame.
type cachedLine struct {
	gen, width int
	dark       bool
	stale      bool
	text       string
	ok         bool
}

// topologyView is the third line: the nodes up of each role, the slots
// served, a failover and the nodes down. While the backend is unreachable
// it is the last one seen, dimmed.
func (m *Model) topologyView() string {
	stale := m.c.Conn.State == uictx.Down
	key := cachedLine{gen: m.topoGen, width: m.width, dark: m.c.Styles.IsDark, stale: stale, ok: true}
	if c := m.topoLine; c.ok && c.gen == key.gen && c.width == key.width && c.dark == key.dark && c.stale == key.stale {
		return c.text
	}
	key.text = lipgloss.NewStyle().MaxWidth(m.width).Render(m.drawTopology(stale))
	m.topoLine = key
	return key.text
}

func (m *Model) drawTopology(stale bool) string {
	st := m.c.Styles
	t := m.topo
	if t == nil {
		return st.Dim.Render("topology –")
	}
	paint := func(s lipgloss.Style, text string) string {
		if stale {
			return st.Dim.Render(text)
		}
		return s.Render(text)
	}
	// count is "up/all noun", red when some are missing.
	count := func(up, all int, noun string) string {
		s := st.FieldValue
		if up < all {
			s = st.ErrText
		}
		return paint(s, strconv.Itoa(up)+"/"+strconv.Itoa(all)) + st.Dim.Render(" "+noun)
	}
	var parts []string
	prim, primUp := m.count("primary")
	repl, replUp := m.count("replica")
	if t.Kind == "workers" {
		// An app's workers, each with its own copy: how many answer.
		all, up := m.count("worker")
		parts = append(parts, paint(st.Key, "workers")+" "+count(up, all, "up"))
	} else if t.Kind == "sentinel" {
		master, up := "–", false
		for _, n := range t.Nodes {
			if n.Role == "primary" {
				master, up = textesc.Key(n.Address), m.alive(n)
				break
			}
		}
		ms := st.FieldValue
		if !up {
			ms, master = st.ErrText, master+" (down)"
		}
		parts = append(parts, paint(st.Key, "sentinel")+" "+paint(st.FieldValue, textesc.Key(t.Master)),
			st.Dim.Render("master ")+paint(ms, master), count(replUp, repl, "replicas"))
	} else {
		parts = append(parts, paint(st.Key, textesc.Key(t.Kind))+" "+count(primUp, prim, "primaries"),
			count(replUp, repl, "replicas"))
		if n := m.uncovered(); n > 0 {
			parts = append(parts, paint(st.ErrText, strconv.Itoa(n)+" slots uncovered"))
		} else {
			parts = append(parts, count(backends.SlotCount, backends.SlotCount, "slots"))
		}
		moving := 0
		for _, n := range t.Nodes {
			moving += len(n.Migrating)
		}
		if moving > 0 {
			parts = append(parts, paint(st.Warn, fmt.Sprintf("%d slots moving", moving)))
		}
	}
	if down := m.c.NodesDown; len(down) > 0 {
		esc := make([]string, len(down))
		for i, a := range down {
			esc[i] = textesc.Key(a)
		}
		parts = append(parts, paint(st.ErrText, "down "+strings.Join(esc, ", ")))
	}
	line := strings.Join(parts, st.Dim.Render(" · "))
	switch {
	case stale:
		line = st.Dim.Render("last seen: ") + line
	case m.failover():
		line = st.ProdBadge.Render("FAILOVER") + " " + line
	}
	return line
}

// alive: the topology does not flag n down and its figures came. A cluster
// flags a dead node only after its node timeout; the figures tell at once.
func (m *Model) alive(n backends.Node) bool {
	if !n.Up {
		return false
	}
	if m.stats != nil {
		for _, r := range m.stats.Servers {
			if r.Err != nil && r.Address == n.Address {
				return false
			}
		}
	}
	return true
}

// count is how many nodes have role, and how many of them are alive.
func (m *Model) count(role string) (all, up int) {
	for _, n := range m.topo.Nodes {
		if n.Role == role {
			all++
			if m.alive(n) {
				up++
			}
		}
	}
	return all, up
}

// uncovered counts a cluster's slots that no live primary serves.
func (m *Model) uncovered() int {
	t := m.topo
	if t == nil || t.Kind != "cluster" {
		return 0
	}
	served := 0
	for _, n := range t.Nodes {
		if n.Role == "primary" && m.alive(n) {
			for _, r := range n.Slots {
				served += r[1] - r[0] + 1
			}
		}
	}
	return max(0, backends.SlotCount-served)
}

// failover: keys have no live primary, or the backend says it is replacing one.
func (m *Model) failover() bool {
	t := m.topo
	if t == nil {
		return false
	}
	if t.Failover || m.uncovered() > 0 {
		return true
	}
	if t.Kind == "sentinel" {
		for _, n := range t.Nodes {
			if n.Role == "primary" {
				return !m.alive(n)
			}
		}
	}
	return false
}

// downNodes are the addresses of the nodes the topology flags down and of
// those whose figures did not come (the cluster may not have noticed yet).
func (m *Model) downNodes() []string {
	var out []string
	if m.topo != nil {
		for _, n := range m.topo.Nodes {
			if !n.Up {
				out = append(out, cmp.Or(n.Address, n.ID))
			}
		}
	}
	if m.stats != nil {
		for _, r := range m.stats.Servers {
			if r.Err != nil && !slices.Contains(out, r.Address) {
				out = append(out, r.Address)
			}
		}
	}
	return out
}
