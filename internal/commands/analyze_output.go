package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/cachectl/cachectl/internal/analyze"
	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/textesc"
)

// analyzeJSON is `analyze -o json` (README "JSON output"; DESIGN 12.3 plus
// the fields after nodes).
type analyzeJSON struct {
	Backend  string `json:"backend"`
	Address  string `json:"address"`
	Patterns []any  `json:"patterns"`
	Sampled  bool   `json:"sampled"`
	Keys     int64  `json:"keys"`
	Bytes    int64  `json:"bytes"`
	NoTTL    int64  `json:"no_ttl"`
	// TTL has "unknown" too, for servers that cannot tell.
	TTL     analyze.TTLBuckets `json:"ttl"`
	Formats map[string]int64   `json:"formats"`
	// Prefixes: every row of the table, biggest first.
	Prefixes []analyzePrefixJSON `json:"prefixes"`
	Targets  []analyzeTargetJSON `json:"targets,omitempty"`
	// Untargeted: under a profile, the keys no rule of it explains.
	Untargeted *analyze.Untargeted `json:"untargeted,omitempty"`
	Biggest  []analyzeBigJSON    `json:"biggest"`
	Nodes    []analyzeNodeJSON   `json:"nodes,omitempty"`

	// Partial: interrupted or stopped by an error; the figures cover the
	// keys seen until then.
	Partial bool `json:"partial"`
	// BytesFromServer: every size is the server's accounting; false when
	// some are value lengths (LengthSized of them).
	BytesFromServer bool  `json:"bytes_from_server"`
	LengthSized     int64 `json:"length_sized,omitempty"`
	UnknownBytes    int64 `json:"unknown_bytes,omitempty"`
	// FormatKeys: how many values' first bytes were read (Formats sums to
	// it); FormatsSampled: only some were (every key up to 100000, then
	// every tenth).
	FormatKeys          int64    `json:"format_keys"`
	FormatsSampled      bool     `json:"formats_sampled"`
	PrefixesApproximate bool     `json:"prefixes_approximate"`
	Depth               int      `json:"depth"`
	Delimiter           string   `json:"delimiter"`
	ElapsedMS           int64    `json:"elapsed_ms"`
	Notes               []string `json:"notes,omitempty"`
	Error               string   `json:"error,omitempty"`
}

type analyzePrefixJSON struct {
	Prefix      any   `json:"prefix"`
	Depth       int   `json:"depth"`
	Keys        int64 `json:"keys"`
	Bytes       int64 `json:"bytes"`
	NoTTL       int64 `json:"no_ttl"`
	Approximate bool  `json:"approximate"`
}

type analyzeTargetJSON struct {
	Framework   string `json:"framework"`
	What        string `json:"what"`
	Name        any    `json:"name"`
	Keys        int64  `json:"keys"`
	Bytes       int64  `json:"bytes"`
	NoTTL       int64  `json:"no_ttl"`
	Approximate bool   `json:"approximate"`
}

type analyzeBigJSON struct {
	Key   any      `json:"key"`
	Bytes int64    `json:"bytes"`
	Type  *string  `json:"type"`
	TTL   *float64 `json:"ttl"`
}

type analyzeNodeJSON struct {
	Address      any                `json:"address"`
	Keys         int64              `json:"keys"`
	Bytes        int64              `json:"bytes"`
	NoTTL        int64              `json:"no_ttl"`
	TTL          analyze.TTLBuckets `json:"ttl"`
	Formats      map[string]int64   `json:"formats"`
	FormatKeys   int64              `json:"format_keys"`
	UnknownBytes int64              `json:"unknown_bytes,omitempty"`
}

// showNodes: per-node figures are for deployments of several servers (a
// cluster, a Sentinel setup, a pool, an app's workers), each node holding
// matching keys; a lone server's would repeat the totals.
func showNodes(info backends.Info, res analyze.Result) bool {
	return len(res.Nodes) > 0 && nodeLabel(info, true) != ""
}

func analysisJSON(info backends.Info, an *analysis, opts *analyzeOptions, res analyze.Result, runErr error) analyzeJSON {
	doc := analyzeJSON{
		Backend: info.Kind, Address: info.Address, Sampled: an.sampled, Partial: an.partial,
		Keys: res.Keys, Bytes: res.Bytes, NoTTL: res.NoTTL, TTL: res.TTL, Formats: res.Formats,
		BytesFromServer: res.LengthSized == 0 && res.Keys > res.UnknownBytes, LengthSized: res.LengthSized, UnknownBytes: res.UnknownBytes,
		FormatKeys: res.FormatKeys, FormatsSampled: an.formatsSampled(res),
		PrefixesApproximate: res.PrefixesApproximate, Depth: opts.Depth, Delimiter: opts.Delimiter,
		ElapsedMS: an.elapsed.Milliseconds(), Notes: an.notes,
		Prefixes: []analyzePrefixJSON{}, Biggest: []analyzeBigJSON{},
	}
	for _, p := range an.patterns {
		doc.Patterns = append(doc.Patterns, jsonKey(p))
	}
	for _, p := range res.Prefixes {
		doc.Prefixes = append(doc.Prefixes, analyzePrefixJSON{Prefix: jsonKey(p.Prefix), Depth: p.Depth, Keys: p.Keys, Bytes: p.Bytes, NoTTL: p.NoTTL, Approximate: p.Approximate})
	}
	if an.prof != nil {
		doc.Targets = []analyzeTargetJSON{}
		doc.Untargeted = res.Untargeted
		for _, t := range res.Targets {
			doc.Targets = append(doc.Targets, analyzeTargetJSON{Framework: t.Framework, What: t.What, Name: jsonKey(t.Name), Keys: t.Keys, Bytes: t.Bytes, NoTTL: t.NoTTL, Approximate: t.Approximate})
		}
	}
	for _, b := range res.Biggest {
		bj := analyzeBigJSON{Key: jsonKey(b.Key), Bytes: b.Bytes}
		if b.Type != "" {
			bj.Type = &b.Type
		}
		if b.TTL != nil {
			v := math.Round(*b.TTL*1000) / 1000
			bj.TTL = &v
		}
		doc.Biggest = append(doc.Biggest, bj)
	}
	if showNodes(info, res) {
		for _, n := range res.Nodes {
			doc.Nodes = append(doc.Nodes, analyzeNodeJSON{Address: jsonKey(n.Address), Keys: n.Keys, Bytes: n.Bytes, NoTTL: n.NoTTL, TTL: n.TTL, Formats: n.Formats, FormatKeys: n.FormatKeys, UnknownBytes: n.UnknownBytes})
		}
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		doc.Error = ErrorMessage(runErr)
	}
	return doc
}

// writeAnalysis prints the result: the JSON document, or tables for
// people. Notes go to stderr as well, where messages belong.
func writeAnalysis(opts *analyzeOptions, info backends.Info, an *analysis, res analyze.Result, runErr error) error {
	cs := opts.IO.ColorScheme()
	for _, n := range an.notes {
		fmt.Fprintln(opts.IO.ErrOut, cs.Dim("note:")+" "+textesc.Line(n))
	}
	if opts.Output.JSON() {
		return writeJSON(opts.IO.Out, opts.IO.IsStdoutTTY(), analysisJSON(info, an, opts, res, runErr))
	}
	w := &errWriter{w: opts.IO.Out}
	printAnalysis(w, opts.IO, info, an, opts, res)
	return w.err
}

// errWriter keeps the first write error, so printing code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, nil
}

// maxKeyWidth bounds the runes of a key or prefix shown in text.
const maxKeyWidth = 120

// maxPrefixRows bounds the prefix rows text shows (JSON has them all).
const maxPrefixRows = 100

func printAnalysis(w io.Writer, ios *iostreams.IOStreams, info backends.Info, an *analysis, opts *analyzeOptions, res analyze.Result) {
	cs := ios.ColorScheme()
	section := func(title, note string) {
		if note != "" {
			note = "  " + cs.Dim(note)
		}
		fmt.Fprintf(w, "\n%s%s\n", cs.Bold(title), note)
	}
	what := "analyzed"
	switch {
	case an.partial:
		what = "partial analysis:"
	case an.sampled:
		what = "sample of"
	}
	fmt.Fprintf(w, "%s %d key(s) matching %s on %s in %s\n", what, res.Keys, quotedPatterns(an.patterns), textesc.Line(info.Address), an.elapsed.Round(time.Millisecond))
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
	case res.FormatKeys == 0 && an.formats == "none":
		fnote = "not read (--formats sample or all reads values)"
	case an.formatsSampled(res):
		fnote = fmt.Sprintf("from the first bytes of a sample of %d values (every key's up to %d, then every %dth)", res.FormatKeys, headFirst, headEvery)
	}
	section("Formats", fnote)
	if len(res.Formats) == 0 && an.formats != "none" {
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
			t.row(strings.Repeat("  ", p.Depth-1)+fitWidth(textesc.Key(p.Prefix), maxKeyWidth/2), approx(p.Keys, p.Approximate), human.Bytes(p.Bytes), fmt.Sprint(p.NoTTL), share(p.Bytes, res.Bytes))
		}
		t.print(w, cs)
		if res.PrefixesApproximate {
			fmt.Fprintln(w, "  "+cs.Dim("~ approximate: more distinct prefixes than the table holds; these rows may over-count, and small prefixes may be missing"))
		}
	}

	if an.prof != nil {
		targets := res.Targets
		tnote := "by bytes"
		if rows := min(max(opts.Top, 10), maxPrefixRows); len(targets) > rows {
			tnote += fmt.Sprintf("; %d of %d shown", rows, len(targets))
			targets = targets[:rows]
		}
		section("Targets ("+an.prof.Name()+")", tnote)
		if len(targets) == 0 {
			fmt.Fprintln(w, "  "+cs.Dim("no key the profile recognises"))
		} else {
			t := newBarTable("FRAMEWORK", "WHAT", "NAME", "KEYS", "BYTES", "NO TTL", "SHARE OF BYTES")
			for _, tg := range targets {
				name := tg.Name
				if name == "" {
					name = "-"
				}
				t.row(textesc.Line(tg.Framework), textesc.Line(tg.What), fitWidth(textesc.Key(name), maxKeyWidth/2), approx(tg.Keys, tg.Approximate), human.Bytes(tg.Bytes), fmt.Sprint(tg.NoTTL), share(tg.Bytes, res.Bytes))
			}
			t.print(w, cs)
		}
		if u := res.Untargeted; u != nil && u.Keys > 0 {
			line := fmt.Sprintf("%d key(s) (%s) belong to no %s target", u.Keys, human.Bytes(u.Bytes), an.prof.Name())
			if len(targets) == 0 && an.prof.Name() != "auto" {
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
				t.row(human.Bytes(b.Bytes), textesc.Line(typ), ttl, fitWidth(textesc.Key(b.Key), maxKeyWidth))
			}
			t.print(w, cs)
		}
	}

	if showNodes(info, res) {
		label := nodeLabel(info, false)
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

// barWidth is the width of a full bar, in cells.
const barWidth = 24

// share is "12.5% ███▏": the percentage and a bar of eighth blocks.
func share(n, of int64) string {
	if of <= 0 {
		return "-"
	}
	return fmt.Sprintf("%5s %s", percent(n, of), bar(float64(n)/float64(of)))
}

func bar(f float64) string {
	f = min(max(f, 0), 1)
	eighths := int(math.Round(f * barWidth * 8))
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
	t    *table
	head bool
}

func newBarTable(header ...string) *barTable {
	bt := &barTable{head: len(header) > 0}
	bt.t = newTable("  " + strings.Join(header, "\t"))
	return bt
}

func (b *barTable) row(cells ...string) { fmt.Fprintln(b.t.Writer, "  "+strings.Join(cells, "\t")) }

func (b *barTable) print(w io.Writer, cs *iostreams.ColorScheme) {
	if err := b.t.Flush(); err != nil {
		return
	}
	head, rows, _ := strings.Cut(b.t.buf.String(), "\n")
	if b.head {
		io.WriteString(w, cs.Dim(head)+"\n")
	}
	io.WriteString(w, rows)
}
