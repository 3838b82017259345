package backends

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cachectl/cachectl/internal/analyze"
	"github.com/cachectl/cachectl/internal/glob"
)

// Hot-key methods: what produced a HotReport's figures (DESIGN 12.3).
const (
	// HotMonitor: Redis MONITOR for a while, key accesses counted per key.
	HotMonitor = "monitor"
	// HotFreq: Redis OBJECT FREQ of every key, under an LFU maxmemory
	// policy: a logarithmic counter that decays, not a count.
	HotFreq = "object-freq"
	// HotFetchers: memcached's "watch fetchers" log for a while, reads
	// that found their item counted per key.
	HotFetchers = "fetchers"
	// HotCPU: Redis 8.6's own HOTKEYS tracking for a while: the CPU time
	// the server spent on each key (its top K, sampled by the server).
	// Untested: no Redis 8.6 was at hand when it was written.
	HotCPU = "hotkeys"
)

// DefaultHotCapacity is how many keys a sample counts at most: exact below,
// Space-Saving over-estimates above (HotKey.Error says by how much).
const DefaultHotCapacity = 10000

// MaxHotKeyLen bounds the bytes of a key a sample keeps: a longer key is
// counted by its first MaxHotKeyLen bytes (HotReport.LongKeys), so that
// the table's memory stays bounded whatever the server sends.
const MaxHotKeyLen = 1024

// HotOptions shape a hot-key measurement.
type HotOptions struct {
	// Patterns keep the keys matching any of them (none: every key).
	Patterns []string
	// Duration is how long a sample runs (monitor, fetchers); the LFU
	// counters are read at once and need none.
	Duration time.Duration
	// Top is how many keys the report keeps, hottest first.
	Top int
	// Capacity bounds the keys a sample counts (0: DefaultHotCapacity).
	Capacity int
	// Method forces one method (HotMonitor, HotFreq, HotCPU) where the backend
	// has several; "" lets it choose.
	Method string
	// Started, when set, is called once the measurement runs, with its
	// method: a sample's Duration counts from then.
	Started func(method string)
	// Counter, when set, is what a sampling method counts into (else a new
	// one of Capacity keys): a live view (the dashboard, a test waiting for
	// what it sent) reads its Report while the sample runs. Make it with
	// NewHotCounter(capacity, Patterns): its patterns are the ones applied.
	Counter *HotCounter
	// Note receives a one-line remark on what the measurement could not do
	// as asked; it may be called from any goroutine.
	Note func(msg string)
}

// Sample tells opts.Started that the measurement runs by method, then
// waits for opts.Duration (none: until ctx ends) or ctx, whichever comes
// first, and returns how long it waited.
func (o HotOptions) Sample(ctx context.Context, method string) time.Duration {
	start := time.Now()
	if o.Started != nil {
		o.Started(method)
	}
	var timeout <-chan time.Time
	if o.Duration > 0 {
		t := time.NewTimer(o.Duration)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
	case <-timeout:
	}
	return time.Since(start)
}

// counter is opts.Counter, else a new one.
func (o HotOptions) counter(patterns []string) *HotCounter {
	if o.Counter != nil {
		return o.Counter
	}
	return NewHotCounter(o.Capacity, patterns)
}

// NewCounter is the counter a sampling method counts into: Counter when
// set, else a new one of Capacity keys passing Patterns.
func (o HotOptions) NewCounter() *HotCounter { return o.counter(o.Patterns) }

// Say hands msg to Note, when set.
func (o HotOptions) Say(msg string) {
	if o.Note != nil {
		o.Note(msg)
	}
}

// HotKey is one key of a report. Count is set by the sampling methods, Freq
// by HotFreq.
type HotKey struct {
	Key  string
	Node string // where the key lives, on a backend of several nodes
	// Count is the accesses seen; Error the most of it that may be
	// another key's (Space-Saving, once the table overflowed; 0: exact).
	Count int64
	Error int64
	// Freq is the server's LFU counter (0-255, logarithmic, decaying).
	Freq int64
	// CPU is the server's CPU time on the key, in microseconds (HotCPU).
	CPU int64
}

// HotNode is what one node contributed.
type HotNode struct {
	Node string
	// Commands is what the node's sample saw (commands, reads); for
	// HotFreq, the keys whose counter was read.
	Commands int64
	// Accesses is the key accesses counted (sampling methods).
	Accesses int64
	// Err is why the node's figures stop short ("" when they do not).
	Err string
}

// HotReport is a measurement's result.
type HotReport struct {
	Method string
	// Duration is how long the sample ran (0 for HotFreq).
	Duration time.Duration
	// Commands and Accesses sum the nodes'.
	Commands, Accesses int64
	// Approximate: the sample counted more distinct keys than its
	// capacity, so some counts are over-estimates (by at most their Error).
	Approximate bool
	// Gaps: the server said it dropped log entries, or a node's stream was
	// lost for a while: counts are lower bounds.
	Gaps bool
	// LongKeys counts the accesses of keys longer than MaxHotKeyLen,
	// counted (and shown) by their first MaxHotKeyLen bytes.
	LongKeys int64
	Keys     []HotKey // hottest first, at most Top
	Nodes    []HotNode
}

// HotKeyer is a backend that can tell its hot keys. HotKeys measures for
// opts.Duration (or reads the counters at once) and returns what it found.
// When ctx ends first, it returns what was measured until then together
// with ctx's error; a node that fails midway is reported in its HotNode
// while the others go on. Meant to run in a goroutine of its own (the
// dashboard can call it as the CLI does).
type HotKeyer interface {
	HotKeys(ctx context.Context, opts HotOptions) (*HotReport, error)
}

// KeyFilter returns whether a key passes the patterns (none, or one that
// matches everything, keeps every key).
func KeyFilter(patterns []string) func(string) bool {
	for _, p := range patterns {
		if glob.MatchesAll(p) {
			return func(string) bool { return true }
		}
	}
	if len(patterns) == 0 {
		return func(string) bool { return true }
	}
	return func(key string) bool {
		for _, p := range patterns {
			if glob.Match(p, key) {
				return true
			}
		}
		return false
	}
}

// hotNodes are the nodes of a measurement, in the order first seen; the
// holder's mutex guards them.
type hotNodes struct {
	byName map[string]*HotNode
	order  []string
}

func (s *hotNodes) node(name string) *HotNode {
	if s.byName == nil {
		s.byName = map[string]*HotNode{}
	}
	n, ok := s.byName[name]
	if !ok {
		n = &HotNode{Node: name}
		s.byName[name] = n
		s.order = append(s.order, name)
	}
	return n
}

func (s *hotNodes) fail(name string, err error) {
	if n := s.node(name); n.Err == "" {
		n.Err = err.Error()
	}
}

// report copies the nodes into r and sums their figures.
func (s *hotNodes) report(r *HotReport) {
	for _, name := range s.order {
		n := *s.byName[name]
		r.Commands += n.Commands
		r.Accesses += n.Accesses
		r.Nodes = append(r.Nodes, n)
	}
}

// HotCounter counts key accesses of a sample in bounded memory (a
// Space-Saving table of analyze.Heavy), per node; safe for concurrent use.
type HotCounter struct {
	match func(string) bool

	mu    sync.Mutex
	table *analyze.Heavy
	nodes hotNodes
	gaps  bool
	long  int64
}

// NewHotCounter counts up to capacity keys (0: DefaultHotCapacity) that
// pass the patterns.
func NewHotCounter(capacity int, patterns []string) *HotCounter {
	if capacity <= 0 {
		capacity = DefaultHotCapacity
	}
	return &HotCounter{match: KeyFilter(patterns), table: analyze.NewHeavy(capacity)}
}

// Node makes node known, so that it is reported even when it saw nothing.
func (c *HotCounter) Node(node string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nodes.node(node)
}

// Command counts one command (or log entry) that node's sample saw, and an
// access of each of its keys that passes the patterns.
func (c *HotCounter) Command(node string, keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes.node(node)
	n.Commands++
	for _, k := range keys {
		if !c.match(k) {
			continue
		}
		n.Accesses++
		if len(k) > MaxHotKeyLen {
			k = k[:MaxHotKeyLen]
			c.long++
		}
		// A node name never holds a NUL: the key is what follows the first.
		c.table.Add(node+"\x00"+k, 0, 0, false)
	}
}

// Fail records why node's figures stop short.
func (c *HotCounter) Fail(node string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nodes.fail(node, err)
}

// Gap records that some of the traffic was not seen.
func (c *HotCounter) Gap() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gaps = true
}

// Report is what was counted so far, the top keys hottest first (ties by
// key, for a stable order).
func (c *HotCounter) Report(method string, took time.Duration, top int) *HotReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := &HotReport{Method: method, Duration: took, Approximate: c.table.Approximate(), Gaps: c.gaps, LongKeys: c.long}
	c.nodes.report(r)
	rows := c.table.Rows()
	keys := make([]HotKey, 0, len(rows))
	for _, row := range rows {
		node, key, _ := strings.Cut(row.Name, "\x00")
		keys = append(keys, HotKey{Key: key, Node: node, Count: row.Keys, Error: row.Error})
	}
	r.Keys = SortHot(keys, top, func(k HotKey) int64 { return k.Count })
	return r
}

// SortHot sorts keys hottest first by the figure and keeps top of them.
func SortHot(keys []HotKey, top int, figure func(HotKey) int64) []HotKey {
	slices.SortFunc(keys, func(a, b HotKey) int {
		if c := cmp.Compare(figure(b), figure(a)); c != 0 {
			return c
		}
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return strings.Compare(a.Node, b.Node)
	})
	if top > 0 && len(keys) > top {
		keys = keys[:top]
	}
	return keys
}

// TopFreq keeps the top keys by LFU counter in bounded memory while a
// listing streams them; safe for concurrent use.
type TopFreq struct {
	mu    sync.Mutex
	top   int
	keys  []HotKey
	nodes hotNodes
}

// NewTopFreq keeps top keys (at least one).
func NewTopFreq(top int) *TopFreq {
	return &TopFreq{top: max(top, 1)}
}

// Add offers one key's counter.
func (t *TopFreq) Add(node, key string, freq int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nodes.node(node).Commands++
	t.keys = append(t.keys, HotKey{Key: strings.Clone(key), Node: node, Freq: freq})
	// Sorting a buffer of twice the top now and then keeps memory bounded
	// without a heap's bookkeeping.
	if len(t.keys) >= 2*t.top+64 {
		t.keys = slices.Clone(t.best())
	}
}

// best is the top keys by counter, each once: SCAN may return a key twice.
func (t *TopFreq) best() []HotKey {
	keys := SortHot(t.keys, 0, func(k HotKey) int64 { return k.Freq })
	seen := make(map[[2]string]bool, len(keys))
	keys = slices.DeleteFunc(keys, func(k HotKey) bool {
		id := [2]string{k.Node, k.Key}
		dup := seen[id]
		seen[id] = true
		return dup
	})
	if len(keys) > t.top {
		keys = keys[:t.top]
	}
	return keys
}

// Fail records why node's figures stop short.
func (t *TopFreq) Fail(node string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nodes.fail(node, err)
}

// Report is the top keys read so far.
func (t *TopFreq) Report() *HotReport {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := &HotReport{Method: HotFreq}
	t.nodes.report(r)
	r.Keys = slices.Clone(t.best())
	return r
}

// HotFromFetches measures hot keys from a Watcher that reports reads
// (WatchOptions.Fetches: memcached's watch fetchers) for opts.Duration:
// every get event counted per key and node, but for the lookups a write or
// a deletion logs of its own key (see readFilter). Gaps (entries the server
// dropped, a lost stream) make the counts lower bounds.
func HotFromFetches(ctx context.Context, w Watcher, nodes []string, opts HotOptions) (*HotReport, error) {
	c := opts.counter(nil) // the watch filters by pattern
	for _, n := range nodes {
		c.Node(n)
	}
	rf := &readFilter{counter: c, window: lookupWindow}
	var start time.Time
	var once sync.Once
	sampleCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var timer *time.Timer
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		tick := time.NewTicker(lookupWindow / 2)
		defer tick.Stop()
		for {
			select {
			case <-sampleCtx.Done():
				return
			case now := <-tick.C:
				rf.flush(now.Add(-lookupWindow))
			}
		}
	}()
	err := w.Watch(sampleCtx, WatchOptions{Patterns: opts.Patterns, Fetches: true, Ready: func() {
		once.Do(func() {
			start = time.Now()
			if opts.Duration > 0 {
				timer = time.AfterFunc(opts.Duration, cancel)
			}
			if opts.Started != nil {
				opts.Started(HotFetchers)
			}
		})
	}}, func(e Event) error {
		switch e.Kind {
		case EventGet:
			rf.read(e.Node, e.Key, time.Now())
		case EventSet, EventDel:
			rf.write(e.Node, e.Key, time.Now())
		case EventGap:
			c.Gap()
			opts.Say(fmt.Sprintf("some reads were not seen: %s", e.Detail))
		}
		return nil
	})
	if timer != nil {
		timer.Stop()
	}
	cancel()
	<-flushed
	rf.flush(time.Now().Add(time.Hour)) // the sample is over: every read left counts
	if start.IsZero() {
		// Never started: nothing was measured.
		if err == nil {
			err = ctx.Err()
		}
		return nil, err
	}
	r := c.Report(HotFetchers, time.Since(start), opts.Top)
	switch {
	case ctx.Err() != nil:
		return r, ctx.Err()
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return r, nil
	}
	return r, err
}

// lookupWindow is how long a read waits to be counted, in case the write
// whose lookup it was follows; a write's entries are logged microseconds
// apart and arrive together.
const lookupWindow = 20 * time.Millisecond

// maxPendingReads bounds the reads waiting on lookupWindow; past it the
// older half is counted at once.
const maxPendingReads = 100000

// readFilter tells reads from lookups: memcached (1.6) logs an item_get
// "found" for every lookup of an item, those a set, an ms or a deletion
// makes of its own key too, just before that write's own entry. A get
// event followed within the window by a write of the same key on the same
// node is taken for the write's lookup and not counted. (Lookups of touch
// and of deletions where the server cannot report them still count.)
type readFilter struct {
	counter *HotCounter
	window  time.Duration

	mu      sync.Mutex
	pending []pendingRead // by arrival
}

type pendingRead struct {
	node, key string
	at        time.Time
	dropped   bool
}

func (f *readFilter) read(node, key string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = append(f.pending, pendingRead{node: node, key: key, at: now})
	if len(f.pending) > maxPendingReads {
		f.countLocked(len(f.pending) / 2) // in bulk: shifting the rest is the cost
	}
}

// write drops the latest pending read of the same key and node within the
// window: it was the write's lookup.
func (f *readFilter) write(node, key string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.pending) - 1; i >= 0; i-- {
		p := &f.pending[i]
		if now.Sub(p.at) > f.window {
			return
		}
		if !p.dropped && p.node == node && p.key == key {
			p.dropped = true
			return
		}
	}
}

// flush counts the reads that arrived before cutoff.
func (f *readFilter) flush(cutoff time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for n < len(f.pending) && f.pending[n].at.Before(cutoff) {
		n++
	}
	f.countLocked(n)
}

func (f *readFilter) countLocked(n int) {
	for _, p := range f.pending[:n] {
		if !p.dropped {
			f.counter.Command(p.node, p.key)
		}
	}
	f.pending = slices.Delete(f.pending, 0, n)
}
