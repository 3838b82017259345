// Package analyze aggregates key metadata in bounded memory, whatever the
// size of the keyspace: totals, a TTL histogram, the format mix, a
// heavy-hitter table of key prefixes (and of framework targets), and a heap
// of the biggest keys. It does no I/O: the command feeds it what backends
// list and renders what it returns.
package analyze

import (
	"container/heap"
	"slices"
	"strings"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultDepth     = 2
	DefaultTop       = 10
	DefaultCapacity  = 10000
	DefaultDelimiter = ":"
	// maxNodes bounds the per-node totals kept; past it, further nodes are
	// summed under OtherNodes (a pool or cluster names its own, but a
	// hostile one could name many).
	maxNodes   = 1024
	OtherNodes = "(other nodes)"
	// maxPrefix bounds the bytes of a prefix kept in the table: a key made
	// of a megabyte before its first delimiter must not cost a megabyte
	// per row.
	maxPrefix = 256
)

// Options shape an analysis.
type Options struct {
	Delimiter string // between prefix levels; DefaultDelimiter when empty
	Depth     int    // prefix levels to aggregate
	Top       int    // biggest keys to keep
	Capacity  int    // rows of each heavy-hitter table
	// Targets: keys are tagged with framework targets (a profile is in
	// use), so those left untagged are counted as Untargeted.
	Targets bool
}

func (o Options) withDefaults() Options {
	if o.Delimiter == "" {
		o.Delimiter = DefaultDelimiter
	}
	if o.Depth <= 0 {
		o.Depth = DefaultDepth
	}
	if o.Top <= 0 {
		o.Top = DefaultTop
	}
	if o.Capacity <= 0 {
		o.Capacity = DefaultCapacity
	}
	return o
}

// Item is what is known of one key.
type Item struct {
	Key   string
	Type  string // "string", "hash", … ("" when unknown)
	Bytes int64  // the server's accounting, else the value's size; <0 unknown
	// LengthSized: Bytes is the value's length, not the server's accounting.
	LengthSized bool
	// TTL: HasTTL with Remaining; TTLUnknown when the server cannot say.
	HasTTL     bool
	Remaining  time.Duration
	TTLUnknown bool
	Format     string // from the value's first bytes; "" when not read
	// Target is the framework target the key belongs to (zero for none):
	// an aiocache function, a Litestar route, a Django page.
	Target TargetKey
	// Node names the server holding the key where there are several ("" for
	// a lone server); each gets totals of its own.
	Node string
}

// TargetKey names a framework target as the profile recognised it.
type TargetKey struct {
	Framework, What, Name string
}

func (t TargetKey) zero() bool { return t == TargetKey{} }

// The target table keys its rows by the three names joined with a byte no
// framework name holds.
func (t TargetKey) row() string { return t.Framework + "\x00" + t.What + "\x00" + t.Name }

func targetOf(row string) TargetKey {
	f := strings.SplitN(row, "\x00", 3)
	for len(f) < 3 {
		f = append(f, "")
	}
	return TargetKey{Framework: f[0], What: f[1], Name: f[2]}
}

// TTLBuckets is the TTL distribution.
type TTLBuckets struct {
	None    int64 `json:"none"`
	Lt1m    int64 `json:"lt_1m"`
	Lt1h    int64 `json:"lt_1h"`
	Lt1d    int64 `json:"lt_1d"`
	Longer  int64 `json:"longer"`
	Unknown int64 `json:"unknown,omitempty"`
}

func (b *TTLBuckets) add(it Item) {
	switch {
	case it.TTLUnknown:
		b.Unknown++
	case !it.HasTTL:
		b.None++
	case it.Remaining < time.Minute:
		b.Lt1m++
	case it.Remaining < time.Hour:
		b.Lt1h++
	case it.Remaining < 24*time.Hour:
		b.Lt1d++
	default:
		b.Longer++
	}
}

// Totals are the figures reported for the whole keyspace and for each node.
type Totals struct {
	Keys    int64            `json:"keys"`
	Bytes   int64            `json:"bytes"`
	NoTTL   int64            `json:"no_ttl"`
	TTL     TTLBuckets       `json:"ttl"`
	Formats map[string]int64 `json:"formats"`
	// UnknownBytes counts keys whose size the server did not report.
	UnknownBytes int64 `json:"unknown_bytes,omitempty"`
	// LengthSized counts keys whose bytes are their value's length rather
	// than the server's accounting (no MEMORY permission, HTTP caches).
	LengthSized int64 `json:"length_sized,omitempty"`
	// FormatKeys counts the keys whose format was told: Formats sums to it.
	FormatKeys int64 `json:"format_keys"`
}

func (t *Totals) add(it Item) {
	t.Keys++
	if it.Bytes >= 0 {
		t.Bytes += it.Bytes
		if it.LengthSized {
			t.LengthSized++
		}
	} else {
		t.UnknownBytes++
	}
	if !it.HasTTL && !it.TTLUnknown {
		t.NoTTL++
	}
	t.TTL.add(it)
	if it.Format != "" {
		if t.Formats == nil {
			t.Formats = map[string]int64{}
		}
		t.Formats[it.Format]++
		t.FormatKeys++
	}
}

// Prefix is one row of the prefix table.
type Prefix struct {
	Prefix      string `json:"prefix"`
	Depth       int    `json:"depth"`
	Keys        int64  `json:"keys"`
	Bytes       int64  `json:"bytes"`
	NoTTL       int64  `json:"no_ttl"`
	Approximate bool   `json:"approximate"`
}

// Target is one row of the framework-target table.
type Target struct {
	Framework   string `json:"framework"`
	What        string `json:"what"`
	Name        string `json:"name"`
	Keys        int64  `json:"keys"`
	Bytes       int64  `json:"bytes"`
	NoTTL       int64  `json:"no_ttl"`
	Approximate bool   `json:"approximate"`
}

// Untargeted counts the keys outside every framework target.
type Untargeted struct {
	Keys  int64 `json:"keys"`
	Bytes int64 `json:"bytes"`
}

// Big is one of the biggest keys.
type Big struct {
	Key   string `json:"key"`
	Bytes int64  `json:"bytes"`
	Type  string `json:"type,omitempty"`
	// TTL in seconds; nil for none (or unknown).
	TTL *float64 `json:"ttl"`
}

// Analyzer accumulates Items. It is not safe for concurrent use: feed it
// from one goroutine (a node's Analyzer each, merged with Totals).
type Analyzer struct {
	opts       Options
	totals     Totals
	untargeted Untargeted
	prefixes   *Heavy
	targets    *Heavy
	biggest    bigHeap
	nodes      map[string]*Totals
}

// Node is the totals of one server.
type Node struct {
	Address string `json:"address"`
	Totals
}

// New returns an empty Analyzer.
func New(o Options) *Analyzer {
	o = o.withDefaults()
	return &Analyzer{opts: o, prefixes: NewHeavy(o.Capacity), targets: NewHeavy(o.Capacity)}
}

// Add counts one key.
func (a *Analyzer) Add(it Item) {
	a.totals.add(it)
	b := max(it.Bytes, 0)
	noTTL := !it.HasTTL && !it.TTLUnknown
	rest, end := it.Key, 0
	for depth := 1; depth <= a.opts.Depth; depth++ {
		i := strings.Index(rest, a.opts.Delimiter)
		if i < 0 {
			break
		}
		end += i + len(a.opts.Delimiter)
		rest = rest[i+len(a.opts.Delimiter):]
		a.prefixes.Add(clip(it.Key[:end]), depth, b, noTTL)
	}
	if it.Target.zero() && a.opts.Targets {
		a.untargeted.Keys++
		if it.Bytes >= 0 {
			a.untargeted.Bytes += it.Bytes
		}
	}
	if !it.Target.zero() {
		t := it.Target
		t.Framework, t.What, t.Name = clip(t.Framework), clip(t.What), clip(t.Name)
		a.targets.Add(t.row(), 0, b, noTTL)
	}
	if it.Node != "" {
		a.node(clip(it.Node)).add(it)
	}
	if it.Bytes >= 0 {
		a.biggest.offer(it, a.opts.Top)
	}
}

func (a *Analyzer) node(name string) *Totals {
	if a.nodes == nil {
		a.nodes = map[string]*Totals{}
	}
	t, ok := a.nodes[name]
	if !ok {
		if len(a.nodes) >= maxNodes {
			name = OtherNodes
			if t, ok = a.nodes[name]; ok {
				return t
			}
		}
		t = &Totals{}
		a.nodes[strings.Clone(name)] = t
	}
	return t
}

// Totals returns the figures so far.
func (a *Analyzer) Totals() Totals { return a.totals }

// Result is what an analysis found, biggest first in each table.
type Result struct {
	Totals
	Prefixes []Prefix `json:"prefixes"`
	Targets  []Target `json:"targets,omitempty"`
	// Untargeted are the keys no rule of the profile explains (only under
	// Options.Targets): a wrong namespace shows here rather than as an
	// empty table.
	Untargeted *Untargeted `json:"untargeted,omitempty"`
	Biggest    []Big       `json:"biggest"`
	// PrefixesApproximate: the table overflowed, so some rows (marked)
	// over-count and small prefixes may be missing.
	PrefixesApproximate bool `json:"prefixes_approximate"`
	// Nodes are the totals of each server, by address, when keys named one.
	Nodes []Node `json:"nodes,omitempty"`
}

// Result returns a snapshot; the Analyzer can go on.
func (a *Analyzer) Result() Result {
	r := Result{Totals: a.totals, PrefixesApproximate: a.prefixes.Approximate()}
	if a.opts.Targets {
		u := a.untargeted
		r.Untargeted = &u
	}
	if r.Formats == nil {
		r.Formats = map[string]int64{}
	} else {
		r.Formats = cloneMap(r.Formats)
	}
	for _, row := range a.prefixes.Rows() {
		r.Prefixes = append(r.Prefixes, Prefix{Prefix: row.Name, Depth: row.Depth, Keys: row.Keys, Bytes: row.Bytes, NoTTL: row.NoTTL, Approximate: row.Error > 0})
	}
	slices.SortFunc(r.Prefixes, func(x, y Prefix) int {
		if c := cmpDesc(x.Bytes, y.Bytes); c != 0 {
			return c
		}
		if c := cmpDesc(x.Keys, y.Keys); c != 0 {
			return c
		}
		return strings.Compare(x.Prefix, y.Prefix)
	})
	for _, row := range a.targets.Rows() {
		t := targetOf(row.Name)
		r.Targets = append(r.Targets, Target{Framework: t.Framework, What: t.What, Name: t.Name, Keys: row.Keys, Bytes: row.Bytes, NoTTL: row.NoTTL, Approximate: row.Error > 0})
	}
	slices.SortFunc(r.Targets, func(x, y Target) int {
		if c := cmpDesc(x.Bytes, y.Bytes); c != 0 {
			return c
		}
		if c := cmpDesc(x.Keys, y.Keys); c != 0 {
			return c
		}
		return strings.Compare(x.Framework+"\x00"+x.What+"\x00"+x.Name, y.Framework+"\x00"+y.What+"\x00"+y.Name)
	})
	for name, t := range a.nodes {
		n := Node{Address: name, Totals: *t}
		n.Formats = cloneMap(t.Formats)
		r.Nodes = append(r.Nodes, n)
	}
	slices.SortFunc(r.Nodes, func(x, y Node) int { return strings.Compare(x.Address, y.Address) })
	r.Biggest = a.biggest.sorted()
	if r.Prefixes == nil {
		r.Prefixes = []Prefix{}
	}
	if r.Biggest == nil {
		r.Biggest = []Big{}
	}
	return r
}

// clip bounds a name kept in a table to maxPrefix bytes.
func clip(s string) string {
	if len(s) > maxPrefix {
		return s[:maxPrefix]
	}
	return s
}

func cmpDesc(a, b int64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

func cloneMap(m map[string]int64) map[string]int64 {
	if m == nil {
		return map[string]int64{}
	}
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// bigHeap is a min-heap on Bytes holding the Top biggest keys seen.
type bigHeap []Big

func (h bigHeap) Len() int           { return len(h) }
func (h bigHeap) Less(i, j int) bool { return h[i].Bytes < h[j].Bytes }
func (h bigHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *bigHeap) Push(x any)        { *h = append(*h, x.(Big)) }
func (h *bigHeap) Pop() any {
	old := *h
	b := old[len(old)-1]
	*h = old[:len(old)-1]
	return b
}

func (h *bigHeap) offer(it Item, top int) {
	if len(*h) >= top && (*h)[0].Bytes >= it.Bytes {
		return
	}
	b := Big{Key: strings.Clone(it.Key), Bytes: it.Bytes, Type: it.Type}
	if it.HasTTL && !it.TTLUnknown {
		s := it.Remaining.Seconds()
		b.TTL = &s
	}
	if len(*h) < top {
		heap.Push(h, b)
		return
	}
	(*h)[0] = b
	heap.Fix(h, 0)
}

func (h bigHeap) sorted() []Big {
	out := slices.Clone([]Big(h))
	slices.SortFunc(out, func(x, y Big) int {
		if c := cmpDesc(x.Bytes, y.Bytes); c != 0 {
			return c
		}
		return strings.Compare(x.Key, y.Key)
	})
	return out
}
