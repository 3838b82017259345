package report

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cachectl/cachectl/internal/analyze"
	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/textesc"
)

// maxKeyWidth bounds the runes of a key or prefix shown in text.
const maxKeyWidth = 120

// maxPrefixRows bounds the prefix rows text shows (JSON has them all).
const maxPrefixRows = 100

// DefaultBarWidth is the width of a full bar, in cells.
const DefaultBarWidth = 24

// TextOptions shape the text.
type TextOptions struct {
	// BarWidth is the cells of a full bar (DefaultBarWidth when 0): the
	// dashboard narrows them to its pane.
	BarWidth int
}

// NodeLabel is what the node holding a key is called where a backend has
// several: "node" for a cluster's or Sentinel setup's, "server" for a
// pool's member, "worker" for an app's worker (as their stats tables name
// them). With several false it also names a lone server's address.
func NodeLabel(info backends.Info, several bool) string {
	switch {
	case slices.Contains(info.Capabilities, "workers"):
		return "worker"
	case slices.Contains(info.Capabilities, "cluster"), slices.Contains(info.Capabilities, "sentinel"):
		return "node"
	case slices.Contains(info.Capabilities, "pool"), !several:
		return "server"
	}
	return ""
}

// ShowNodes: per-node figures are for deployments of several servers (a
// cluster, a Sentinel setup, a pool, an app's workers), each node holding
// matching keys; a lone server's would repeat the totals.
func ShowNodes(info backends.Info, res analyze.Result) bool {
	return len(res.Nodes) > 0 && NodeLabel(info, true) != ""
}

// WriteText prints the result as tables for people: totals, TTLs, formats,
// prefixes (as a tree), targets, the biggest keys and the nodes. Every
// server byte is escaped; colour comes only from cs.
func (r *Run) WriteText(w io.Writer, cs *iostreams.ColorScheme, info backends.Info, to TextOptions) {
	if to.BarWidth <= 0 {
		to.BarWidth = DefaultBarWidth
	}
	share := func(n, of int64) string { return share(n, of, to.BarWidth) }
	res, opts := r.Result, r.Opts
	section := func(title, note string) {
		if note != "" {
			note = "  " + cs.Dim(note)
		}
		fmt.Fprintf(w, "\n%s%s\n", cs.Bold(title), note)
	}
	what := "analyzed"
	switch {
	case r.Partial:
		what = "partial analysis:"
	case r.Sampled:
		what = "sample of"
	}
	fmt.Fprintf(w, "%s %d key(s) matching %s on %s in %s\n", what, res.Keys, textesc.Keys(opts.Patterns), textesc.Line(info.Address), r.Elapsed.Round(time.Millisecond))
	sizes := "the server's accounting"
	switch {
	case res.LengthSized == res.Keys-res.UnknownBytes && res.Keys > 0:
		sizes = "value lengths"
	case res.LengthSized > 0:
		sizes = fmt.Sprintf("the server's accounting; %d as value lengths", res.LengthSized)
	}
	if res.UnknownBytes > 0 {
		sizes += fmt.Sprintf("; %d key(s) of unknown size", res.UnknownBytes)
	}
	fmt.Fprintf(w, "  %s  %s  %s\n", cs.Bold("bytes"), human.Bytes(res.Bytes), cs.Dim("("+sizes+")"))
	fmt.Fprintf(w, "  %s  %d key(s)  %s\n", cs.Bold("no TTL"), res.NoTTL, cs.Dim(percent(res.NoTTL, res.Keys)))

	section("TTL", "")
	t := newBarTable()
	for _, b := range []struct {
		name string
		n    int64
	}{{"none", res.TTL.None}, {"< 1m", res.TTL.Lt1m}, {"< 1h", res.TTL.Lt1h}, {"< 1d", res.TTL.Lt1d}, {"longer", res.TTL.Longer}, {"unknown", res.TTL.Unknown}} {
		if b.name == "unknown" && b.n == 0 {
			continue
		}
		t.row(b.name, fmt.Sprint(b.n), share(b.n, res.Keys))
	}
	t.print(w, cs)

	fnote := ""
	switch {
	case res.FormatKeys == 0 && opts.Formats == "none":
		fnote = "not read (--formats sample or all reads values)"
	case r.FormatsSampled():
		fnote = fmt.Sprintf("from the first bytes of a sample of %d values (every key's up to %d, then every %dth)", res.FormatKeys, HeadFirst, HeadEvery)
	}
	section("Formats", fnote)
	if len(res.Formats) == 0 && opts.Formats != "none" {
		fmt.Fprintln(w, "  "+cs.Dim("none"))
	}
	if len(res.Formats) > 0 {
		names := make([]string, 0, len(res.Formats))
		for f := range res.Formats {
			names = append(names, f)
		}
		slices.SortFunc(names, func(a, b string) int {
			if c := cmpInt(res.Formats[b], res.Formats[a]); c != 0 {
				return c
			}
			return strings.Compare(a, b)
		})
		t := newBarTable()
		for _, f := range names {
			t.row(textesc.Line(f), fmt.Sprint(res.Formats[f]), share(res.Formats[f], res.FormatKeys))
		}
		t.print(w, cs)
	}

	prefixes := res.Prefixes
	pnote := fmt.Sprintf("depth %d, delimiter %s; by bytes", opts.Depth, textesc.Quote(opts.Delimiter))
	if rows := min(max(opts.Top, 10), maxPrefixRows); len(prefixes) > rows {
		pnote += fmt.Sprintf("; %d of %d shown (-o json has all)", rows, len(prefixes))
		prefixes = prefixes[:rows]
	}
	section("Prefixes", pnote)
	if len(prefixes) == 0 {
		fmt.Fprintln(w, "  "+cs.Dim("no key holds the delimiter"))
	} else {
		t := newBarTable("PREFIX", "KEYS", "BYTES", "NO TTL", "SHARE OF BYTES")
		for _, p := range prefixTree(prefixes, opts.Delimiter) {
			t.row(strings.Repeat("  ", p.Depth-1)+human.Cut(textesc.Key(p.Prefix), maxKeyWidth/2), approx(p.Keys, p.Approximate), human.Bytes(p.Bytes), fmt.Sprint(p.NoTTL), share(p.Bytes, res.Bytes))
		}
		t.print(w, cs)
		if res.PrefixesApproximate {
			fmt.Fprintln(w, "  "+cs.Dim("~ approximate: more distinct prefixes than the table holds; these rows may over-count, and small prefixes may be missing"))
		}
	}

	if r.Prof != nil {
		targets := res.Targets
		tnote := "by bytes"
		if rows := min(max(opts.Top, 10), maxPrefixRows); len(targets) > rows {
			tnote += fmt.Sprintf("; %d of %d shown", rows, len(targets))
			targets = targets[:rows]
		}
		section("Targets ("+r.Prof.Name()+")", tnote)
		if len(targets) == 0 {
			fmt.Fprintln(w, "  "+cs.Dim("no key the profile recognises"))
		} else {
			t := newBarTable("FRAMEWORK", "WHAT", "NAME", "KEYS", "BYTES", "NO TTL", "SHARE OF BYTES")
			for _, tg := range targets {
				name := tg.Name
				if name == "" {
					name = "-"
				}
				t.row(textesc.Line(tg.Framework), textesc.Line(tg.What), human.Cut(textesc.Key(name), maxKeyWidth/2), approx(tg.Keys, tg.Approximate), human.Bytes(tg.Bytes), fmt.Sprint(tg.NoTTL), share(tg.Bytes, res.Bytes))
			}
			t.print(w, cs)
		}
		if u := res.Untargeted; u != nil && u.Keys > 0 {
			line := fmt.Sprintf("%d key(s) (%s) belong to no %s target", u.Keys, human.Bytes(u.Bytes), r.Prof.Name())
			if len(targets) == 0 && r.Prof.Name() != "auto" {
				line += "; is the namespace (-n) or key prefix right?"
			}
			fmt.Fprintln(w, "  "+cs.Dim(line))
		}
	}

	if opts.Top > 0 {
		section("Biggest keys", "")
		if len(res.Biggest) == 0 {
			fmt.Fprintln(w, "  "+cs.Dim("none"))
		} else {
			t := newBarTable("BYTES", "TYPE", "TTL", "KEY")
			for _, b := range res.Biggest {
				typ, ttl := b.Type, "none"
				if typ == "" {
					typ = "-"
				}
				if b.TTL != nil {
					ttl = human.TTL(true, time.Duration(*b.TTL*float64(time.Second)), false)
				}
				// -o json has the whole key; a line stays readable.
				t.row(human.Bytes(b.Bytes), textesc.Line(typ), ttl, human.Cut(textesc.Key(b.Key), maxKeyWidth))
			}
			t.print(w, cs)
		}
	}

	if ShowNodes(info, res) {
		label := NodeLabel(info, false)
		section(strings.ToUpper(label[:1])+label[1:]+"s", "")
		t := newBarTable(strings.ToUpper(label), "KEYS", "BYTES", "NO TTL", "SHARE OF BYTES")
		for _, n := range res.Nodes {
			t.row(textesc.Line(n.Address), fmt.Sprint(n.Keys), human.Bytes(n.Bytes), fmt.Sprint(n.NoTTL), share(n.Bytes, res.Bytes))
		}
		t.print(w, cs)
	}
}

// prefixTree orders rows so that each prefix is followed by the prefixes
// below it (each level by bytes, as given); a row whose parent is not
// shown stands at the top.
func prefixTree(rows []analyze.Prefix, delim string) []analyze.Prefix {
	shown := map[string]bool{}
	for _, r := range rows {
		shown[r.Prefix] = true
	}
	parent := func(r analyze.Prefix) string {
		if r.Depth < 2 {
			return ""
		}
		inner := strings.TrimSuffix(r.Prefix, delim)
		i := strings.LastIndex(inner, delim)
		if i < 0 || !shown[inner[:i+len(delim)]] {
			return ""
		}
		return inner[:i+len(delim)]
	}
	children := map[string][]analyze.Prefix{}
	for _, r := range rows {
		p := parent(r)
		children[p] = append(children[p], r)
	}
	out := make([]analyze.Prefix, 0, len(rows))
	var walk func(p string)
	walk = func(p string) {
		for _, c := range children[p] {
			out = append(out, c)
			if c.Prefix != p {
				walk(c.Prefix)
			}
		}
	}
	walk("")
	return out
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func approx(n int64, approximate bool) string {
	if approximate {
		return fmt.Sprintf("~%d", n)
	}
	return fmt.Sprint(n)
}

func percent(n, of int64) string {
	if of <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", float64(n)*100/float64(of))
}

// share is "12.5% ███▏": the percentage and a bar of eighth blocks.
func share(n, of int64, width int) string {
	if of <= 0 {
		return "-"
	}
	return fmt.Sprintf("%5s %s", percent(n, of), bar(float64(n)/float64(of), width))
}

func bar(f float64, width int) string {
	f = min(max(f, 0), 1)
	eighths := int(math.Round(f * float64(width) * 8))
	s := strings.Repeat("█", eighths/8)
	if r := eighths % 8; r > 0 {
		s += string([]rune("▏▎▍▌▋▊▉")[r-1])
	}
	return s
}

// barTable is a table of text rows indented under a section title,
// columns padded by tabwriter; its cells carry no colour (tabwriter would
// count the escape bytes), the header is dimmed once laid out.
type barTable struct {
	buf  bytes.Buffer
	tw   *tabwriter.Writer
	head bool
}

func newBarTable(header ...string) *barTable {
	bt := &barTable{head: len(header) > 0}
	bt.tw = tabwriter.NewWriter(&bt.buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(bt.tw, "  "+strings.Join(header, "\t"))
	return bt
}

func (b *barTable) row(cells ...string) { fmt.Fprintln(b.tw, "  "+strings.Join(cells, "\t")) }

func (b *barTable) print(w io.Writer, cs *iostreams.ColorScheme) {
	if err := b.tw.Flush(); err != nil {
		return
	}
	head, rows, _ := strings.Cut(b.buf.String(), "\n")
	if b.head {
		io.WriteString(w, cs.Dim(head)+"\n")
	}
	io.WriteString(w, rows)
}
