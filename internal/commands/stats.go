package commands

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/textesc"
)

type statsOptions struct {
	IO      *iostreams.IOStreams
	Backend func(context.Context) (backends.Backend, error)
	Output  outputFormat

	Raw bool
}

// NewCmdStats builds `cachectl stats`.
func NewCmdStats(f *Factory, runF func(context.Context, *statsOptions) error) *cobra.Command {
	opts := &statsOptions{IO: f.IO, Backend: f.Backend}
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Show normalized server statistics",
		Long: `Show the server's keys, memory, hits, misses, hit ratio, evictions,
operations per second, connections, uptime and version, named the same way for
every backend. --raw adds the server's own figures (always in -o json).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return statsRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Raw, "raw", false, "also print every figure the server reports")
	return cmd
}

type statsJSON struct {
	Backend     string   `json:"backend"`
	Address     string   `json:"address"`
	Version     *string  `json:"version"`
	Keys        *int64   `json:"keys"`
	MemoryBytes *int64   `json:"memory_bytes"`
	Hits        *int64   `json:"hits"`
	Misses      *int64   `json:"misses"`
	HitRatio    *float64 `json:"hit_ratio"`
	Evictions   *int64   `json:"evictions"`
	Expired     *int64   `json:"expired"`
	OpsPerSec   *float64 `json:"ops_per_sec"`
	Connections *int64   `json:"connections"`
	UptimeS     *int64   `json:"uptime_s"`
	// Denied names the commands the server's ACL refused (["INFO"]): the
	// figures they give are null.
	Denied []string                     `json:"denied,omitempty"`
	Raw    map[string]map[string]string `json:"raw"`
	// Topology: a cluster's or Sentinel setup's nodes as they report
	// themselves; absent elsewhere.
	Topology *topologyJSON `json:"topology,omitempty"`
	// Servers: a pool's members or a cluster's nodes, each with the same
	// figures (or an error).
	Servers []serverStatsJSON `json:"servers,omitempty"`
}

// serverStatsJSON is one row of "servers". The node fields are left out for
// a pool's members, whose documents stay as they were before clusters.
type serverStatsJSON struct {
	Address    string   `json:"address"`
	Role       string   `json:"role,omitempty"`
	Slots      [][2]int `json:"slots,omitempty"`
	Primary    string   `json:"primary,omitempty"`
	Link       string   `json:"link,omitempty"`
	ReplOffset *int64   `json:"repl_offset,omitempty"`
	Error      string   `json:"error,omitempty"`
	*statsJSON
}

type topologyJSON struct {
	Kind        string `json:"kind"`
	Master      string `json:"master,omitempty"` // Sentinel's master name
	Primaries   int    `json:"primaries"`
	PrimariesUp int    `json:"primaries_up"`
	Replicas    int    `json:"replicas"`
	ReplicasUp  int    `json:"replicas_up"`
	// Workers: an app's workers (kind "workers"), and those whose figures came.
	Workers   *int `json:"workers,omitempty"`
	WorkersUp *int `json:"workers_up,omitempty"`
	// SlotsCovered: a cluster's slots served by a live primary.
	SlotsCovered *int `json:"slots_covered,omitempty"`
	Failover     bool `json:"failover"`
}

func statsRun(ctx context.Context, opts *statsOptions) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	s, statsErr := b.Stats(ctx)
	if s == nil {
		return statsErr
	}
	info := b.Describe()
	doc := statsDoc(info.Kind, info.Address, s)
	for _, srv := range s.Servers {
		doc.Servers = append(doc.Servers, serverDoc(srv))
	}
	if tr, ok := b.(backends.TopologyReporter); ok {
		t, err := tr.Topology(ctx)
		if err != nil {
			// The figures are still worth showing; the line above them is lost.
			fmt.Fprintf(opts.IO.ErrOut, "%s topology: %s\n", opts.IO.ColorScheme().Yellow("warning:"), ErrorMessage(err))
		} else {
			doc.Topology = topologyDoc(t)
			if t.Kind == "workers" {
				all, up := len(t.Nodes), 0
				for _, srv := range doc.Servers {
					if srv.Error == "" {
						up++
					}
				}
				doc.Topology.Workers, doc.Topology.WorkersUp = &all, &up
			}
		}
	}
	// err is reused for the output
	if opts.Output.JSON() {
		err = writeJSON(opts.IO.Out, opts.IO.IsStdoutTTY(), doc)
	} else {
		err = printStats(opts.IO, info, s, doc, opts.Raw)
	}
	if err != nil {
		return err
	}
	return statsErr // a pool member that did not answer: shown, and exit 1
}

// serverDoc maps one pool member's or node's figures; a node adds its role,
// slots and replication.
func serverDoc(srv backends.ServerStats) serverStatsJSON {
	sj := serverStatsJSON{Address: srv.Address}
	if srv.Role != "" {
		sj.Role, sj.Slots, sj.Primary, sj.Link = srv.Role, srv.Slots, srv.Primary, srv.Link
		if srv.ReplOffset >= 0 {
			off := srv.ReplOffset
			sj.ReplOffset = &off
		}
	}
	if srv.Err != nil {
		sj.Error = ErrorMessage(srv.Err)
	} else {
		sj.statsJSON = statsDoc("", "", srv.Stats)
		sj.statsJSON.Raw = nil
	}
	return sj
}

func topologyDoc(t *backends.Topology) *topologyJSON {
	tj := &topologyJSON{Kind: t.Kind, Master: t.Master, Failover: t.Failover}
	tj.Primaries, tj.PrimariesUp = t.Primaries()
	tj.Replicas, tj.ReplicasUp = t.Replicas()
	if t.Kind == "cluster" {
		covered := t.SlotsCovered
		tj.SlotsCovered = &covered
	}
	return tj
}

// statsDoc maps normalized stats to their JSON shape; unknown figures are null.
func statsDoc(kind, address string, s *backends.Stats) *statsJSON {
	known := func(name string) bool { return s.Known[name] }
	i64 := func(name string, v int64) *int64 {
		if !known(name) {
			return nil
		}
		return &v
	}
	doc := &statsJSON{Backend: kind, Address: address, Raw: s.Raw}
	for _, d := range s.Denied {
		doc.Denied = append(doc.Denied, d.CommandName())
	}
	if known("version") {
		doc.Version = &s.Version
	}
	doc.Keys = i64("keys", s.Keys)
	doc.MemoryBytes = i64("memory", s.MemoryBytes)
	doc.Hits = i64("hits", s.Hits)
	doc.Misses = i64("misses", s.Misses)
	doc.Evictions = i64("evictions", s.Evictions)
	doc.Expired = i64("expired", s.Expired)
	doc.Connections = i64("connections", s.Connections)
	doc.UptimeS = i64("uptime", int64(s.Uptime.Seconds()))
	if known("ops_per_sec") {
		doc.OpsPerSec = &s.OpsPerSec
	}
	if r, ok := s.HitRatio(); ok && known("hits") && known("misses") {
		r = math.Round(r*10000) / 10000
		doc.HitRatio = &r
	}
	return doc
}

func printStats(ios *iostreams.IOStreams, info backends.Info, s *backends.Stats, doc *statsJSON, raw bool) error {
	cs := ios.ColorScheme()
	tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	row := func(name, value string) { fmt.Fprintf(tw, "%s\t%s\n", cs.Bold(name), value) }
	unknown := cs.Dim("unknown")
	num := func(p *int64) string {
		if p == nil {
			return unknown
		}
		return fmt.Sprint(*p)
	}
	row("backend", info.Kind+"  "+textesc.Line(info.Address))
	if doc.Topology != nil {
		row("topology", topologyLine(cs, doc.Topology))
	}
	if doc.Version != nil {
		row("version", textesc.Line(*doc.Version))
	}
	row("keys", num(doc.Keys))
	if doc.MemoryBytes != nil {
		row("memory", human.Bytes(*doc.MemoryBytes))
	} else {
		row("memory", unknown)
	}
	row("hits", num(doc.Hits))
	row("misses", num(doc.Misses))
	switch {
	case doc.HitRatio != nil:
		row("hit ratio", fmt.Sprintf("%.1f%%", *doc.HitRatio*100))
	case doc.Hits == nil || doc.Misses == nil:
		row("hit ratio", unknown)
	default:
		row("hit ratio", cs.Dim("n/a (no lookups yet)"))
	}
	row("evictions", num(doc.Evictions))
	row("expired", num(doc.Expired))
	if doc.OpsPerSec != nil {
		row("ops/s", fmt.Sprintf("%g", *doc.OpsPerSec))
	}
	row("connections", num(doc.Connections))
	if doc.UptimeS != nil {
		row("uptime", human.Duration(s.Uptime))
	}
	for _, d := range s.Denied {
		// The figures above say "unknown"; this says why and what would tell them.
		row("note", cs.Yellow("no "+d.CommandName()+" permission")+" for user "+strconv.Quote(d.User)+": "+d.Hint())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case slices.ContainsFunc(doc.Servers, func(s serverStatsJSON) bool { return s.Role != "" }):
		if err := printNodeStats(ios, doc.Servers); err != nil {
			return err
		}
	case len(doc.Servers) > 0:
		if err := printServerStats(ios, strings.ToUpper(nodeLabel(info, false)), doc.Servers); err != nil {
			return err
		}
	}
	if !raw {
		return nil
	}
	servers := make([]string, 0, len(s.Raw))
	for name := range s.Raw {
		servers = append(servers, name)
	}
	sort.Strings(servers)
	for _, srv := range servers {
		fmt.Fprintf(ios.Out, "\n%s\n", cs.Bold("# "+textesc.Line(srv)))
		fields := s.Raw[srv]
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		sort.Strings(names)
		tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
		for _, k := range names {
			// Names and values are the server's own text.
			fmt.Fprintf(tw, "%s\t%s\n", textesc.Line(k), textesc.Line(fields[k]))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// table lays rows out in columns, after a blank line, under a dimmed
// header. The header is dimmed once laid out, since tabwriter would count
// the escape bytes as width; colour inside a row goes only in its last cell,
// which tabwriter does not measure.
type table struct {
	buf bytes.Buffer
	*tabwriter.Writer
}

func newTable(header string) *table {
	t := &table{}
	t.Writer = tabwriter.NewWriter(&t.buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(t.Writer, header)
	return t
}

func (t *table) print(w io.Writer, cs *iostreams.ColorScheme) error {
	if err := t.Flush(); err != nil {
		return err
	}
	head, rows, _ := strings.Cut(t.buf.String(), "\n")
	_, err := io.WriteString(w, "\n"+cs.Dim(head)+"\n"+rows)
	return err
}

// printServerStats shows a pool's members side by side, one row each.
// label heads the first column: SERVER, or WORKER for an app's workers.
func printServerStats(ios *iostreams.IOStreams, label string, servers []serverStatsJSON) error {
	cs := ios.ColorScheme()
	tw := newTable(label + "\tVERSION\tKEYS\tMEMORY\tHIT RATIO\tEVICTIONS\tCONNS\tUPTIME")
	opt := func(p *int64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	for _, s := range servers {
		if s.statsJSON == nil {
			// Every cell filled, the error last: a shorter row would end
			// tabwriter's column block and misalign the rows after it.
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t%s\n", textesc.Line(s.Address), cs.Red(textesc.Line(s.Error)))
			continue
		}
		version, mem, ratio, up := "-", "-", "-", "-"
		if s.Version != nil {
			version = textesc.Line(*s.Version)
		}
		if s.MemoryBytes != nil {
			mem = human.Bytes(*s.MemoryBytes)
		}
		if s.HitRatio != nil {
			ratio = fmt.Sprintf("%.1f%%", *s.HitRatio*100)
		}
		if s.UptimeS != nil {
			up = human.Duration(time.Duration(*s.UptimeS) * time.Second)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", textesc.Line(s.Address), version, opt(s.Keys), mem, ratio, opt(s.Evictions), opt(s.Connections), up)
	}
	return tw.print(ios.Out, cs)
}

// topologyLine sums up the nodes: "3 primaries (3 up), 3 replicas (2 up),
// 16384/16384 slots", what is missing in red.
func topologyLine(cs *iostreams.ColorScheme, t *topologyJSON) string {
	count := func(n, up int, one, many string) string {
		name := many
		if n == 1 {
			name = one
		}
		s := fmt.Sprintf("%d up", up)
		if up < n {
			s = cs.Red(s)
		}
		return fmt.Sprintf("%d %s (%s)", n, name, s)
	}
	if t.Workers != nil {
		return count(*t.Workers, *t.WorkersUp, "worker", "workers")
	}
	parts := []string{count(t.Primaries, t.PrimariesUp, "primary", "primaries"), count(t.Replicas, t.ReplicasUp, "replica", "replicas")}
	if t.Master != "" {
		parts = append([]string{"master " + textesc.Line(t.Master)}, parts...)
	}
	if t.SlotsCovered != nil {
		s := fmt.Sprintf("%d/%d slots", *t.SlotsCovered, backends.SlotCount)
		if *t.SlotsCovered < backends.SlotCount {
			s = cs.Red(s)
		}
		parts = append(parts, s)
	}
	line := strings.Join(parts, ", ")
	// A cluster's failover shows as slots without a live primary, above.
	if t.Failover && t.SlotsCovered == nil {
		line += cs.Yellow(" · failover in progress")
	}
	return line
}

// printNodeStats shows a cluster's or Sentinel setup's nodes, each primary
// followed by its replicas (indented), so a replica's row need not repeat
// whom it copies.
func printNodeStats(ios *iostreams.IOStreams, servers []serverStatsJSON) error {
	cs := ios.ColorScheme()
	slotsCol := slices.ContainsFunc(servers, func(s serverStatsJSON) bool { return len(s.Slots) > 0 })
	header := "ROLE\tNODE\t"
	if slotsCol {
		header += "SLOTS\t"
	}
	tw := newTable(header + "KEYS\tMEMORY\tOPS/S\tREPL")
	line := func(s serverStatsJSON, nested bool) {
		node := textesc.Line(s.Address)
		if nested {
			node = "└ " + node
		}
		cells := textesc.Line(s.Role) + "\t" + node + "\t"
		if slotsCol {
			cells += slotRanges(s.Slots, 18) + "\t"
		}
		if s.statsJSON == nil {
			// The error in the last column: a shorter row would end
			// tabwriter's column block and misalign the rows after it.
			fmt.Fprintf(tw, "%s-\t-\t-\t%s\n", cells, cs.Red(textesc.Line(s.Error)))
			return
		}
		keys, mem, ops := "-", "-", "-"
		if s.Keys != nil {
			keys = fmt.Sprint(*s.Keys)
		}
		if s.MemoryBytes != nil {
			mem = human.Bytes(*s.MemoryBytes)
		}
		if s.OpsPerSec != nil {
			ops = fmt.Sprintf("%g", *s.OpsPerSec)
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\n", cells, keys, mem, ops, replCell(cs, s, nested))
	}
	placed := make([]bool, len(servers))
	for i, p := range servers {
		if p.Role != "primary" {
			continue
		}
		placed[i] = true
		line(p, false)
		for j, r := range servers {
			if !placed[j] && r.Role == "replica" && r.Primary != "" && r.Primary == p.Address {
				placed[j] = true
				line(r, true)
			}
		}
	}
	// Replicas of no listed primary (and nodes of no known role) come last,
	// each naming what it copies.
	for i, s := range servers {
		if !placed[i] {
			line(s, false)
		}
	}
	return tw.print(ios.Out, cs)
}

// replCell is a node's replication: a primary's offset; a replica's link
// and offset, plus whom it copies when it is not listed under it.
func replCell(cs *iostreams.ColorScheme, s serverStatsJSON, nested bool) string {
	offset := "offset ?"
	if s.ReplOffset != nil {
		offset = fmt.Sprintf("offset %d", *s.ReplOffset)
	}
	if s.Role != "replica" {
		return offset
	}
	parts := []string{}
	switch s.Link {
	case "up":
		parts = append(parts, "link up")
	case "":
		parts = append(parts, "link ?")
	default:
		parts = append(parts, cs.Red("link "+textesc.Line(s.Link)))
	}
	parts = append(parts, offset)
	if !nested {
		of := "?"
		if s.Primary != "" {
			of = textesc.Line(s.Primary)
		}
		parts = append(parts, "of "+of)
	}
	return strings.Join(parts, " · ")
}

// slotRanges writes slot ranges compactly ("0-5460", "0-1499,5461-10922"),
// at most about budget characters of them before "+N more"; "-" for none.
func slotRanges(ranges [][2]int, budget int) string {
	if len(ranges) == 0 {
		return "-"
	}
	var b strings.Builder
	for i, r := range ranges {
		one := strconv.Itoa(r[0])
		if r[1] != r[0] {
			one += "-" + strconv.Itoa(r[1])
		}
		if i > 0 && b.Len()+1+len(one) > budget {
			fmt.Fprintf(&b, " +%d more", len(ranges)-i)
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(one)
	}
	return b.String()
}
