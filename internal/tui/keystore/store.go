// Package keystore is the in-memory list of keys behind the dashboard's key list.
//
// Keys stream in from backend scans in batches, possibly repeated, and may number in
// the millions, so what a frame needs (the row count and a window of rows) costs time
// that does not grow with the number of keys:
//
//   - Flat view lists keys in arrival order. Ids are handed out in that order and never
//     reused, so row n is the n-th live id: O(1), or O(log n) once keys were removed.
//   - Tree view splits keys on a delimiter. Each branch keeps its children sorted along
//     with the rows each contributes, so finding row i walks one path from the root:
//     O(depth · log children).
//
// Children are ordered naturally by their label, numbers by value ("user:2" before
// "user:18"; see order.go), and a branch's label ends with the delimiter: the leaf "a"
// comes before the branch "a:", which comes before the leaf "a;". That is the natural
// order of the full keys, so the tree reads like a sorted key list, and "tree order"
// (for Find) is that order. (A delimiter ending in a digit keeps byte order.)
//
// Keys are arbitrary bytes (control bytes, invalid UTF-8, ""); they are stored and
// returned unchanged, and the UI escapes them when drawing.
package keystore

import (
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"strings"
)

// Row is one line of the key list.
type Row struct {
	Key      string // the full key of a leaf; a branch's prefix including the trailing delimiter ("orders:")
	Label    string // what to draw: the full key in flat view; in tree view the part below the parent ("items", "orders:")
	Depth    int    // nesting level in tree view (0 at the top); always 0 in flat view
	Branch   bool
	Count    int  // branch: keys beneath it at any depth; 0 for a leaf
	Expanded bool // branch: its children are shown
}

// Sizes of the tree's child lists (see tree). Tests shrink them to reach the big-list
// code with a handful of keys.
const (
	defaultSmallMax = 32  // at most 32 (the pool's largest block)
	defaultChunkMax = 256 // balances shifting within a chunk against shifting the chunk index
)

// Store holds the keys the key list shows. Use New; the zero Store is not ready.
//
// A Store is not safe for concurrent use: even Row refreshes internal caches. The
// dashboard touches it only from its Update/View goroutine.
type Store struct {
	delim     string
	treeView  bool
	expandNew bool // ExpandAll is in effect: branches that arrive later start expanded too

	keys  arena
	index index
	order order
	t     *tree // tree view's index: built when tree view is first switched on, then kept in step

	smallMax, chunkMax int32

	// sweeping: a relisting is on (BeginSweep); seen marks the ids it
	// listed, so EndSweep drops the keys it did not.
	sweeping bool
	seen     []uint64
	// compactMin is how many removed keys Compact lets pile up at least.
	compactMin int
}

// New returns an empty Store in flat view. delim splits keys into the tree view's
// branches (":" for "orders:123:items"); "" makes the tree view the flat list.
func New(delim string) *Store { return newStore(delim, defaultSmallMax, defaultChunkMax) }

func newStore(delim string, smallMax, chunkMax int32) *Store {
	if smallMax < 1 || smallMax > 32 || smallMax&(smallMax-1) != 0 || chunkMax < 2 {
		panic("keystore: bad list sizes")
	}
	s := &Store{delim: delim, smallMax: smallMax, chunkMax: chunkMax, compactMin: defaultCompactMin}
	s.index.seed = maphash.MakeSeed()
	s.Reset()
	return s
}

// Add appends the keys not already held, in order, and returns how many that was.
// Repeats within keys and of earlier batches are ignored: scans may return a key twice.
// A key that was removed and comes back is new again and goes to the end. Pass whole
// scan batches: each call's new keys are copied into one allocation.
func (s *Store) Add(keys []string) int {
	added := 0
	for _, k := range keys {
		s.index.reserve()
		slot, h, id := s.index.find(k, &s.keys)
		if id >= 0 && !s.order.dead(id) {
			s.mark(id)
			continue
		}
		id = s.keys.push(k)
		s.mark(id)
		s.index.put(slot, h, id)
		s.order.push()
		if s.t != nil {
			s.t.add(id, k)
		}
		added++
	}
	s.keys.commit()
	return added
}

// Remove forgets keys (after they were deleted on the server) and returns how many of
// them were held. The rest keep their order. A removed key's bytes stay in memory until
// Reset: removals are rare (deletes from the UI), and ids stay stable.
func (s *Store) Remove(keys ...string) int {
	removed := 0
	for _, k := range keys {
		_, _, id := s.index.find(k, &s.keys)
		if id < 0 || s.order.dead(id) {
			continue
		}
		s.order.kill(id)
		if s.t != nil {
			s.t.remove(id, k)
		}
		removed++
	}
	return removed
}

// defaultCompactMin: below this many removed keys, Compact keeps them (their
// bytes and ids cost little, and compacting costs a pass over every key).
const defaultCompactMin = 1 << 16

// Compact frees what removed keys still hold (their bytes, ids and index
// slots) once there are at least as many of them as live keys, and at
// least compactMin; it reports whether it did. Live mode removes keys as
// they expire, so without it a dashboard left open on a cache that churns
// through new keys would grow without bound. The keys keep their order and
// the tree its expanded branches; rows are renumbered, so callers find
// their cursor's key again with Locate. It does nothing during a sweep.
func (s *Store) Compact() bool {
	dead := s.order.ndead
	if s.sweeping || dead < s.compactMin || dead < s.Len() {
		return false
	}
	s.compact()
	return true
}

func (s *Store) compact() {
	live := make([]string, 0, s.Len())
	for id := int32(0); id < s.keys.n; id++ {
		if !s.order.dead(id) {
			live = append(live, s.keys.key(id))
		}
	}
	var expanded []string
	if s.t != nil {
		expanded = s.t.expandedPrefixes()
	}
	expandNew, treeView := s.expandNew, s.treeView
	s.Reset() // and expandNew off: the branches take their saved state
	s.treeView = treeView
	s.Add(live) // copies the keys into new pages: the old ones are freed
	if s.t != nil {
		for _, p := range expanded {
			if path := s.t.walk(p); len(path) > 1 {
				s.t.setExpanded(append([]int32(nil), path[:len(path)-1]...), path[len(path)-1], true)
			}
		}
		s.t.expandNew = expandNew
	}
	s.expandNew = expandNew
}

// Removed is how many removed keys the store still holds the bytes of.
func (s *Store) Removed() int { return s.order.ndead }

// BeginSweep starts a relisting that keeps what is held: keys added from
// now on are marked as listed, and EndSweep removes those that were not (a
// rescan after live mode missed events).
func (s *Store) BeginSweep() {
	s.sweeping = true
	s.seen = s.seen[:0]
}

// EndSweep removes the keys the relisting since BeginSweep did not list,
// and returns how many. Without a sweep it does nothing.
func (s *Store) EndSweep() int {
	if !s.sweeping {
		return 0
	}
	s.sweeping = false
	var gone []string
	for id := int32(0); id < s.keys.n; id++ {
		if !s.order.dead(id) && !s.marked(id) {
			gone = append(gone, s.keys.key(id))
		}
	}
	s.seen = nil
	return s.Remove(gone...)
}

// CancelSweep ends a sweep without removing anything (the relisting failed).
func (s *Store) CancelSweep() { s.sweeping, s.seen = false, nil }

func (s *Store) mark(id int32) {
	if !s.sweeping {
		return
	}
	w := int(id >> 6)
	for len(s.seen) <= w {
		s.seen = append(s.seen, 0)
	}
	s.seen[w] |= 1 << (id & 63)
}

func (s *Store) marked(id int32) bool {
	w := int(id >> 6)
	return w < len(s.seen) && s.seen[w]>>(id&63)&1 != 0
}

// Locate returns the row showing key (a leaf) or, with branch, the branch
// of that prefix, without expanding anything: ok is false when it is not
// held or sits under a collapsed branch.
func (s *Store) Locate(key string, branch bool) (row int, ok bool) {
	if !s.treeOn() {
		if branch {
			return -1, false
		}
		_, _, id := s.index.find(key, &s.keys)
		if id < 0 || s.order.dead(id) {
			return -1, false
		}
		return int(s.order.rank(id)), true
	}
	var leaf int32 = -1
	if !branch {
		_, _, id := s.index.find(key, &s.keys)
		if id < 0 || s.order.dead(id) {
			return -1, false
		}
		leaf = id
	}
	path := s.t.walk(key)
	if path == nil || branch && (len(path) < 2 || s.t.full(^path[len(path)-1]) != key) {
		return -1, false
	}
	path = append([]int32(nil), path...)
	last := len(path) // the levels whose children lead to the row
	if branch {
		last--
	}
	r := int32(-1)
	for lvl := 0; lvl < last; lvl++ {
		if lvl > 0 && !s.t.b(path[lvl]).expanded {
			return -1, false
		}
		child := leaf
		if lvl+1 < len(path) {
			child = ^path[lvl+1]
		}
		r += 1 + s.t.rank(path[lvl], child)
	}
	return int(r), true
}

// Len returns the number of distinct keys held.
func (s *Store) Len() int { return int(s.keys.n) - s.order.ndead }

// Reset forgets every key, as when the scan filter changes. The view mode is kept;
// expansion state, including ExpandAll, is not.
func (s *Store) Reset() {
	s.keys = arena{}
	s.index.reset()
	s.order = newOrder()
	s.expandNew = false
	s.sweeping, s.seen = false, nil
	if s.t != nil {
		s.t = s.newTree()
	}
}

// SetTree switches between tree view (on) and flat view. The first switch to tree view
// indexes the keys held so far (O(n log n)); after that the index is kept up to date and
// keeps its expanded branches while flat view is shown.
func (s *Store) SetTree(on bool) {
	s.treeView = on
	if on && s.t == nil && s.delim != "" {
		t := s.newTree()
		for id := range s.keys.n {
			if !s.order.dead(id) {
				t.add(id, s.keys.key(id))
			}
		}
		s.t = t
	}
}

// Tree reports whether tree view is on.
func (s *Store) Tree() bool { return s.treeView }

// Delim returns the tree view's delimiter.
func (s *Store) Delim() string { return s.delim }

// treeOn reports whether rows come from the tree (tree view with a delimiter).
func (s *Store) treeOn() bool { return s.treeView && s.t != nil }

// Rows returns the number of visible rows in the current view.
func (s *Store) Rows() int {
	if s.treeOn() {
		return int(s.t.b(0).inner)
	}
	return s.Len()
}

// Row returns visible row i. It panics unless 0 <= i < Rows(), like a slice index.
func (s *Store) Row(i int) Row {
	if n := s.Rows(); i < 0 || i >= n {
		panic(fmt.Sprintf("keystore: row %d out of range [0,%d)", i, n))
	}
	if s.treeOn() {
		return s.t.row(int32(i))
	}
	k := s.keys.key(s.order.nth(int32(i)))
	return Row{Key: k, Label: k}
}

// Toggle expands or collapses the branch at row i. It does nothing for a leaf, in flat
// view, or for a row out of range (the cursor of an empty list).
func (s *Store) Toggle(i int) {
	if b, up, ok := s.branchAt(i); ok {
		s.t.setExpanded(up, b, !s.t.b(b).expanded)
	}
}

// Expand shows the children of the branch at row i; otherwise like Toggle.
func (s *Store) Expand(i int) {
	if b, up, ok := s.branchAt(i); ok {
		s.t.setExpanded(up, b, true)
	}
}

// Collapse hides the children of the branch at row i; otherwise like Toggle.
func (s *Store) Collapse(i int) {
	if b, up, ok := s.branchAt(i); ok {
		s.t.setExpanded(up, b, false)
	}
}

// ExpandAll expands every branch, and branches that arrive later start expanded until
// CollapseAll or Reset, so "expand all" holds while a scan is still streaming in.
func (s *Store) ExpandAll() { s.setAll(true) }

// CollapseAll collapses every branch and ends ExpandAll.
func (s *Store) CollapseAll() { s.setAll(false) }

func (s *Store) setAll(on bool) {
	s.expandNew = on
	if s.t != nil {
		s.t.expandNew = on
		s.t.setAll(0, on)
	}
}

// Parent returns the row of the branch holding row i, or -1 at the top level, in flat
// view or out of range.
func (s *Store) Parent(i int) int {
	if !s.treeOn() || i < 0 || i >= s.Rows() {
		return -1
	}
	_, _, row := s.t.locate(int32(i))
	return int(row)
}

// Reveal returns the row showing key. In tree view it first expands the branches above
// the key's leaf. ok is false if the key is not held.
func (s *Store) Reveal(key string) (row int, ok bool) {
	_, _, id := s.index.find(key, &s.keys)
	if id < 0 || s.order.dead(id) {
		return -1, false
	}
	if !s.treeOn() {
		return int(s.order.rank(id)), true
	}
	return int(s.t.reveal(id, key)), true
}

// Find returns the row of the next key after row fromRow (forward) or the previous one
// before it whose bytes contain substr, ignoring ASCII case, wrapping around the list;
// fromRow's own key is tried last. A fromRow outside the rows starts from the top
// (forward) or the bottom. Flat view searches in arrival order; tree view in tree order,
// inside collapsed branches too, and expands the branches above the hit. It scans every
// key: O(n) per call, about 15 ms per million keys.
func (s *Store) Find(fromRow int, substr string, forward bool) (row int, ok bool) {
	m := newMatcher(substr)
	inRange := fromRow >= 0 && fromRow < s.Rows()
	if !s.treeOn() {
		n := s.keys.n
		pivot := int32(-1) // ids are tried from pivot+1 (forward) or pivot-1, modulo n
		if !forward {
			pivot = n
		}
		if inRange {
			pivot = s.order.nth(int32(fromRow))
		}
		for step := int32(1); step <= n; step++ {
			id := (pivot + step) % n
			if !forward {
				id = ((pivot-step)%n + n) % n
			}
			if !s.order.dead(id) && m.match(s.keys.key(id)) {
				return int(s.order.rank(id)), true
			}
		}
		return -1, false
	}

	// Tree order is one order of the full keys (see the package comment), so the hit is
	// the nearest matching key after (before) the pivot row's string, and wrapping around
	// means the smallest (largest) match. A branch row comes before its keys, all of which have its
	// prefix and so are >= it; a leaf row is its key.
	var pivot string
	var pivotBranch bool
	if inRange {
		ref, _, _ := s.t.locate(int32(fromRow))
		pivot, pivotBranch = s.t.full(ref), ref < 0
	}
	near, edge := int32(-1), int32(-1)
	var nearKey, edgeKey string
	for id := range s.keys.n {
		if s.order.dead(id) {
			continue
		}
		k := s.keys.key(id)
		if !m.match(k) {
			continue
		}
		cmp := s.t.compare
		if forward {
			if inRange && (cmp(k, pivot) > 0 || pivotBranch && k == pivot) && (near < 0 || cmp(k, nearKey) < 0) {
				near, nearKey = id, k
			}
			if edge < 0 || cmp(k, edgeKey) < 0 {
				edge, edgeKey = id, k
			}
		} else {
			if inRange && cmp(k, pivot) < 0 && (near < 0 || cmp(k, nearKey) > 0) {
				near, nearKey = id, k
			}
			if edge < 0 || cmp(k, edgeKey) > 0 {
				edge, edgeKey = id, k
			}
		}
	}
	if near < 0 {
		near, nearKey = edge, edgeKey
	}
	if near < 0 {
		return -1, false
	}
	return int(s.t.reveal(near, nearKey)), true
}

// branchAt returns the branch at row i of the tree view and the branches above it.
func (s *Store) branchAt(i int) (b int32, up []int32, ok bool) {
	if !s.treeOn() || i < 0 || i >= s.Rows() {
		return 0, nil, false
	}
	ref, up, _ := s.t.locate(int32(i))
	return ^ref, up, ref < 0
}

// matcher is Find's test: substring with ASCII case folded; other bytes compare as is.
type matcher struct {
	needle string // lower-cased
	fold   bool   // needle has letters, so the slow folding loop is needed
}

func newMatcher(substr string) matcher {
	b := []byte(substr)
	fold := false
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
		fold = fold || 'a' <= b[i] && b[i] <= 'z'
	}
	return matcher{needle: string(b), fold: fold}
}

func (m matcher) match(s string) bool {
	if !m.fold {
		return strings.Contains(s, m.needle)
	}
	n := len(m.needle)
next:
	for i := 0; i+n <= len(s); i++ {
		for j := range n {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != m.needle[j] {
				continue next
			}
		}
		return true
	}
	return false
}

// arena stores every key once. Each Add batch's new keys are copied back to back into
// one string (a page), so a key costs its bytes plus a 4-byte end offset, and the
// caller's strings (and any buffers they point into) are not kept alive.
type arena struct {
	pages     []page
	n         int32    // keys pushed, including pending
	pending   []string // the batch being added, until commit copies it into a page
	pendFirst int32    // id of pending[0]
	pendLen   int      // bytes in pending
}

type page struct {
	first int32    // id of the page's first key
	data  string   // the keys back to back
	ends  []uint32 // ends[i]: offset just past key first+i
}

// push adds k as the next id. Its bytes live in pending until commit.
func (a *arena) push(k string) int32 {
	if uint64(a.pendLen)+uint64(len(k)) > math.MaxUint32 {
		a.commit() // page offsets are 32-bit: start another page
	}
	if len(a.pending) == 0 {
		a.pendFirst, a.pendLen = a.n, 0
	}
	a.pendLen += len(k)
	a.pending = append(a.pending, k)
	a.n++
	return a.n - 1
}

// commit copies the pending keys into a new page.
func (a *arena) commit() {
	if len(a.pending) == 0 {
		return
	}
	var b strings.Builder
	b.Grow(a.pendLen)
	ends := make([]uint32, len(a.pending))
	for i, k := range a.pending {
		b.WriteString(k)
		ends[i] = uint32(b.Len())
	}
	a.pages = append(a.pages, page{first: a.pendFirst, data: b.String(), ends: ends})
	clear(a.pending) // drop the caller's strings
	a.pending = a.pending[:0]
}

func (a *arena) key(id int32) string {
	if len(a.pending) > 0 && id >= a.pendFirst {
		return a.pending[id-a.pendFirst]
	}
	lo, hi := 0, len(a.pages) // find the last page starting at or before id
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if a.pages[m].first <= id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	p := &a.pages[lo-1]
	i := id - p.first
	var start uint32
	if i > 0 {
		start = p.ends[i-1]
	}
	return p.data[start:p.ends[i]]
}

// index finds a key's id by hash: open addressing with linear probing over one []uint64
// whose slots hold 32 hash bits and id+1 (0 = empty). Probes rarely touch key bytes, and
// the GC has no pointers to scan. A removed key keeps its slot; adding it again reuses it.
type index struct {
	seed  maphash.Seed
	slots []uint64
	used  int
}

func (x *index) reset() {
	x.slots = make([]uint64, 1024)
	x.used = 0
}

// find returns k's hash, the id stored for it (-1 if none) and the slot holding it or
// where it would go.
func (x *index) find(k string, a *arena) (slot int, h uint32, id int32) {
	h = uint32(maphash.String(x.seed, k))
	mask := len(x.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		e := x.slots[i]
		if e == 0 {
			return i, h, -1
		}
		if uint32(e>>32) == h {
			if id := int32(uint32(e)) - 1; a.key(id) == k {
				return i, h, id
			}
		}
	}
}

func (x *index) put(slot int, h uint32, id int32) {
	if x.slots[slot] == 0 {
		x.used++
	}
	x.slots[slot] = uint64(h)<<32 | uint64(id+1)
}

// reserve doubles the table before one more entry would fill it past 3/4. The slot
// comes from the stored hash bits, so keys are not rehashed.
func (x *index) reserve() {
	if (x.used+1)*4 <= len(x.slots)*3 {
		return
	}
	old := x.slots
	x.slots = make([]uint64, 2*len(old))
	mask := len(x.slots) - 1
	for _, e := range old {
		if e == 0 {
			continue
		}
		i := int(uint32(e>>32)) & mask
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = e
	}
}

// order maps flat-view rows to ids and back. The flat view is the live ids in
// increasing order; a Fenwick tree over "id is live" gives the n-th live id and an id's
// row in O(log n). Until something is removed both are the identity.
type order struct {
	fen   paged[int32] // Fenwick tree, 1-based: fen[i] counts live ids in [i-(i&-i), i)
	gone  []uint64     // bitset of removed ids
	ndead int
}

func newOrder() order {
	var o order
	o.fen.grow(1) // fen[0] is unused
	return o
}

// push adds the next id, live. Filling fen[i] only sums the few entries it covers,
// O(1) amortised.
func (o *order) push() {
	i := o.fen.grow(1)
	f := o.fen.at(i)
	*f = 1
	for j := i - 1; j > i-i&-i; j -= j & -j {
		*f += *o.fen.at(j)
	}
	if (i-1)%64 == 0 {
		o.gone = append(o.gone, 0)
	}
}

func (o *order) dead(id int32) bool { return o.gone[id>>6]>>(id&63)&1 != 0 }

func (o *order) kill(id int32) {
	o.gone[id>>6] |= 1 << (id & 63)
	o.ndead++
	for i := id + 1; i < o.fen.n; i += i & -i {
		*o.fen.at(i) -= 1
	}
}

// rank returns the number of live ids before id: its flat-view row.
func (o *order) rank(id int32) int32 {
	if o.ndead == 0 {
		return id
	}
	var r int32
	for i := id; i > 0; i -= i & -i {
		r += *o.fen.at(i)
	}
	return r
}

// nth returns the id of the n-th (0-based) live id.
func (o *order) nth(n int32) int32 {
	if o.ndead == 0 {
		return n
	}
	pos, rem := int32(0), n+1
	for step := int32(1) << (bits.Len32(uint32(o.fen.n-1)) - 1); step > 0; step >>= 1 {
		if p := pos + step; p < o.fen.n && *o.fen.at(p) < rem {
			pos, rem = p, rem-*o.fen.at(p)
		}
	}
	return pos // fen index pos+1 is id pos
}

// paged is an append-only slice kept in fixed-size pages. Growing it never copies or
// touches what is already stored, where append would reallocate and copy a
// million-entry slice dozens of times on the way up, faulting in fresh memory each time.
type paged[T any] struct {
	pages [][]T
	n     int32
}

const pageBits = 12 // 4096 entries per page

func (p *paged[T]) at(i int32) *T { return &p.pages[i>>pageBits][i&(1<<pageBits-1)] }

// slice returns entries [i, i+k), which must lie in one page (see grow).
func (p *paged[T]) slice(i, k int32) []T {
	o := i & (1<<pageBits - 1)
	return p.pages[i>>pageBits][o : o+k]
}

// grow appends k <= 4096 zero entries in one page, skipping to the next page if they
// would straddle two, and returns the index of the first.
func (p *paged[T]) grow(k int32) int32 {
	i := p.n
	if i>>pageBits != (i+k-1)>>pageBits {
		i = (i>>pageBits + 1) << pageBits
	}
	for int32(len(p.pages))<<pageBits < i+k {
		p.pages = append(p.pages, make([]T, 1<<pageBits))
	}
	p.n = i + k
	return i
}

// tree is the tree view's index.
//
// Every branch keeps its children (leaves and branches) sorted by label, each with a
// weight: the rows it shows, 1 for a leaf or collapsed branch, 1 + inner for an
// expanded one. A branch's inner is the sum of its children's weights, so finding row i
// picks the child whose weight spans i at each level down. Changing a branch's weight
// (expanding it, or a key arriving below an expanded one) updates inner up the
// expanded ancestors.
//
// Children are referred to by int32: a key id (>= 0) for a leaf, ^index (< 0) for a
// branch. Most branches have few children; they sit in a shared pool (see pool) and
// weights are looked up when needed. A branch with more than smallMax children moves to
// a bigList, which stores the weights and stays fast with a million children.
type tree struct {
	delim     string
	natural   bool // labels in natural order (see order.go); false: byte order
	keys      *arena
	expandNew bool
	smallMax  int32
	chunkMax  int32

	br      paged[branch] // br[0] is the root: prefix "", always expanded, never a child
	freeBr  []int32       // indexes of removed branches, for reuse
	pool    pool
	bigs    []*bigList
	freeBig []int32
	path    []int32 // scratch for walks from the root
}

type branch struct {
	src, plen int32 // the prefix is the first plen bytes of key src (kept if src is removed)
	count     int32 // keys beneath, at any depth
	inner     int32 // rows beneath when expanded: the sum of the children's weights
	kids      int32 // number of children
	at        int32 // small: offset of the children in pool.buf; big: index in bigs
	expanded  bool
	big       bool
}

func (s *Store) newTree() *tree {
	t := &tree{
		delim: s.delim, natural: naturalOrder(s.delim), keys: &s.keys, expandNew: s.expandNew,
		smallMax: s.smallMax, chunkMax: s.chunkMax,
	}
	*t.b(t.br.grow(1)) = branch{expanded: true} // the root
	return t
}

// b returns branch i. Pages never move, so the pointer stays valid.
func (t *tree) b(i int32) *branch { return t.br.at(i) }

// full returns a leaf's key or a branch's prefix.
func (t *tree) full(ref int32) string {
	if ref >= 0 {
		return t.keys.key(ref)
	}
	b := t.b(^ref)
	return t.keys.key(b.src)[:b.plen]
}

// label returns ref's label below a parent whose prefix is plen bytes long.
func (t *tree) label(ref, plen int32) string { return t.full(ref)[plen:] }

// weight returns the rows ref shows: itself, plus its children if an expanded branch.
func (t *tree) weight(ref int32) int32 {
	if ref >= 0 || !t.b(^ref).expanded {
		return 1
	}
	return 1 + t.b(^ref).inner
}

// add puts key id in the tree. It follows the branches that exist; missing ones are
// built below them first and the new chain is inserted last, with its final weight, so
// the existing parent's list is searched once and needs no weight update.
func (t *tree) add(id int32, k string) {
	path := append(t.path[:0], 0)
	start := 0
	var at spot // where the first missing branch goes
	missing := false
	for {
		i := strings.Index(k[start:], t.delim)
		if i < 0 {
			break
		}
		end := start + i + len(t.delim)
		ref, sp, ok := t.findKid(path[len(path)-1], k[start:end])
		if !ok {
			at, missing = sp, true
			break
		}
		path = append(path, ^ref)
		start = end
	}
	for _, b := range path {
		t.b(b).count++
	}
	old := len(path) // path[old:] are new branches
	topStart, topEnd := start, start
	for missing {
		i := strings.Index(k[start:], t.delim)
		if i < 0 {
			break
		}
		end := start + i + len(t.delim)
		b := t.newBranch(id, int32(end))
		if len(path) > old {
			t.insertKid(path[len(path)-1], ^b, k[start:end], noSpot)
		} else {
			topEnd = end
		}
		path = append(path, b)
		start = end
	}
	t.insertKid(path[len(path)-1], id, k[start:], noSpot)
	t.path = path
	if !missing {
		t.grow(path, len(path)-1, 1)
		return
	}
	w := int32(1) // weight of the leaf, then of each new branch up the chain
	for lvl := len(path) - 1; lvl >= old; lvl-- {
		b := t.b(path[lvl])
		b.count, b.inner = 1, w
		w = t.weight(^path[lvl])
	}
	t.insertKid(path[old-1], ^path[old], k[topStart:topEnd], at)
	t.grow(path, old-1, w)
}

// remove takes key id out of the tree, and with it any branch left empty.
func (t *tree) remove(id int32, k string) {
	path := t.walk(k) // complete while the key is held
	last := len(path) - 1
	t.removeKid(path[last], id)
	t.grow(path, last, -1)
	for _, b := range path {
		t.b(b).count--
	}
	for lvl := last; lvl > 0 && t.b(path[lvl]).count == 0; lvl-- {
		// Childless, the branch is one row whether expanded or not.
		t.removeKid(path[lvl-1], ^path[lvl])
		t.grow(path, lvl-1, -1)
		t.freeBranch(path[lvl])
	}
}

// expandedPrefixes are the prefixes of the expanded branches, parents first.
func (t *tree) expandedPrefixes() []string {
	var out []string
	var visit func(b int32)
	visit = func(b int32) {
		br := t.b(b)
		kids := t.kidRefs(br)
		for _, ref := range kids {
			if ref < 0 {
				if t.b(^ref).expanded {
					out = append(out, t.full(ref))
				}
				visit(^ref)
			}
		}
	}
	visit(0)
	return out
}

// kidRefs are branch br's children, small list or big.
func (t *tree) kidRefs(br *branch) []int32 {
	if !br.big {
		return append([]int32(nil), t.small(br)...)
	}
	var out []int32
	for _, c := range t.bigs[br.at].chunks {
		out = append(out, c.refs...)
	}
	return out
}

// walk returns the branches from the root down to the one holding k's leaf, or nil if
// one of them is missing. The slice is scratch, valid until the next walk.
func (t *tree) walk(k string) []int32 {
	path := append(t.path[:0], 0)
	for start := 0; ; {
		i := strings.Index(k[start:], t.delim)
		if i < 0 {
			t.path = path
			return path
		}
		end := start + i + len(t.delim)
		ref, _, ok := t.findKid(path[len(path)-1], k[start:end])
		if !ok {
			return nil
		}
		path = append(path, ^ref)
		start = end
	}
}

// grow adds d rows beneath path[lvl] and carries the change up while the branches on
// the way are expanded (a collapsed branch stays one row).
func (t *tree) grow(path []int32, lvl int, d int32) {
	for d != 0 {
		b := t.b(path[lvl])
		b.inner += d
		if lvl == 0 || !b.expanded {
			return
		}
		t.addWeight(path[lvl-1], ^path[lvl], d)
		lvl--
	}
}

// setExpanded expands or collapses branch b, whose ancestors are up (root first).
func (t *tree) setExpanded(up []int32, b int32, on bool) {
	br := t.b(b)
	if br.expanded == on {
		return
	}
	br.expanded = on
	d := br.inner
	if !on {
		d = -d
	}
	t.addWeight(up[len(up)-1], ^b, d)
	t.grow(up, len(up)-1, d)
}

// setAll expands or collapses every branch below b (and b, unless it is the root),
// recomputing the weights on the way back up; it returns b's weight.
func (t *tree) setAll(b int32, on bool) int32 {
	br := t.b(b)
	if b != 0 {
		br.expanded = on
	}
	sub := func(ref int32) int32 {
		if ref >= 0 {
			return 1
		}
		return t.setAll(^ref, on)
	}
	var inner int32
	if br.big {
		l := t.bigs[br.at]
		for _, c := range l.chunks {
			c.sum = 0
			for i, ref := range c.refs {
				c.rows[i] = sub(ref)
				c.sum += c.rows[i]
			}
			inner += c.sum
		}
		l.dirty = true
	} else {
		for _, ref := range t.small(br) {
			inner += sub(ref)
		}
	}
	br.inner = inner
	if !br.expanded {
		return 1
	}
	return 1 + inner
}

// locate finds visible row i: the node there, the branches above it (root first;
// scratch, valid until the next walk) and the row of its parent (-1 for the root).
func (t *tree) locate(i int32) (ref int32, up []int32, parentRow int32) {
	up = append(t.path[:0], 0)
	base := int32(-1) // row of the last branch in up; its children start at base+1
	for {
		r, within := t.pick(up[len(up)-1], i-base-1)
		if within == 0 {
			t.path = up
			return r, up, base
		}
		base = i - within // r is an expanded branch and row i is below it
		up = append(up, ^r)
	}
}

// row builds visible row i.
func (t *tree) row(i int32) Row {
	ref, up, _ := t.locate(i)
	full := t.full(ref)
	r := Row{Key: full, Label: full[t.b(up[len(up)-1]).plen:], Depth: len(up) - 1}
	if ref < 0 {
		b := t.b(^ref)
		r.Branch, r.Count, r.Expanded = true, int(b.count), b.expanded
	}
	return r
}

// reveal expands the branches above key id's leaf and returns the leaf's row.
func (t *tree) reveal(id int32, k string) int32 {
	path := t.walk(k)
	for lvl := 1; lvl < len(path); lvl++ {
		t.setExpanded(path[:lvl], path[lvl], true)
	}
	row := int32(-1)
	for lvl, b := range path {
		child := id
		if lvl+1 < len(path) {
			child = ^path[lvl+1]
		}
		row += 1 + t.rank(b, child)
	}
	return row
}

func (t *tree) newBranch(src, plen int32) int32 {
	nb := branch{src: src, plen: plen, expanded: t.expandNew}
	if n := len(t.freeBr); n > 0 {
		b := t.freeBr[n-1]
		t.freeBr = t.freeBr[:n-1]
		*t.b(b) = nb
		return b
	}
	b := t.br.grow(1)
	*t.b(b) = nb
	return b
}

// freeBranch recycles a childless branch. (An empty small list holds no pool block.)
func (t *tree) freeBranch(b int32) {
	if br := t.b(b); br.big {
		t.bigs[br.at] = nil
		t.freeBig = append(t.freeBig, br.at)
	}
	t.freeBr = append(t.freeBr, b)
}

// The child-list operations below hide whether a branch's list is small or big.

func (t *tree) small(br *branch) []int32 {
	if br.kids == 0 {
		return nil // no block
	}
	return t.pool.buf.slice(br.at, br.kids)
}

func (t *tree) searchSmall(kids []int32, plen int32, label string) (int, bool) {
	return slices.BinarySearchFunc(kids, label, func(ref int32, x string) int {
		return t.compare(t.label(ref, plen), x)
	})
}

// spot is where a label is, or would be inserted, in a child list: index i of a small
// list, or of chunk j of a big one. It is valid until the list changes.
type spot struct{ j, i int }

var noSpot = spot{-1, -1}

// findKid returns b's child labelled label, or where it would go.
func (t *tree) findKid(b int32, label string) (int32, spot, bool) {
	br := t.b(b)
	if br.big {
		l := t.bigs[br.at]
		j, i, ok := t.seek(l, br.plen, t.headOf(label), label)
		if ok {
			return l.chunks[j].refs[i], spot{j, i}, true
		}
		return 0, spot{j, i}, false
	}
	kids := t.small(br)
	i, ok := t.searchSmall(kids, br.plen, label)
	if ok {
		return kids[i], spot{0, i}, true
	}
	return 0, spot{0, i}, false
}

// insertKid adds ref, labelled label, to b's children, at a spot from findKid or, given
// noSpot, where it belongs. The caller updates b.inner.
func (t *tree) insertKid(b, ref int32, label string, at spot) {
	br := t.b(b)
	if !br.big && br.kids == t.smallMax {
		t.toBig(br)
		at = noSpot
	}
	if br.big {
		t.bigInsert(t.bigs[br.at], br.plen, ref, label, t.weight(ref), at)
		br.kids++
		return
	}
	i := at.i
	if at == noSpot {
		i, _ = t.searchSmall(t.small(br), br.plen, label)
	}
	n := br.kids
	br.at = t.pool.resize(br.at, n, n+1)
	kids := t.pool.buf.slice(br.at, n+1)
	copy(kids[i+1:], kids[i:n])
	kids[i] = ref
	br.kids++
}

// removeKid takes ref out of b's children. The caller updates b.inner.
func (t *tree) removeKid(b, ref int32) {
	br := t.b(b)
	if br.big {
		t.bigRemove(t.bigs[br.at], br.plen, ref)
		br.kids--
		return
	}
	kids := t.small(br)
	i := slices.Index(kids, ref)
	copy(kids[i:], kids[i+1:])
	br.kids--
	br.at = t.pool.resize(br.at, br.kids+1, br.kids)
}

// addWeight records that child ref of b now shows d more rows. Small lists look
// weights up when needed, so only big lists store them.
func (t *tree) addWeight(b, ref, d int32) {
	br := t.b(b)
	if !br.big {
		return
	}
	l := t.bigs[br.at]
	x := t.label(ref, br.plen)
	j, i, _ := t.seek(l, br.plen, t.headOf(x), x)
	c := l.chunks[j]
	c.rows[i] += d
	c.sum += d
	l.dirty = true
}

// pick returns the child of b showing row off of b's children, and the row within it
// (0 is the child's own row).
func (t *tree) pick(b, off int32) (ref, within int32) {
	br := t.b(b)
	if br.big {
		return t.bigs[br.at].pick(off)
	}
	for _, ref := range t.small(br) {
		w := t.weight(ref)
		if off < w {
			return ref, off
		}
		off -= w
	}
	panic("keystore: row beyond its branch")
}

// rank returns the rows shown by b's children before ref.
func (t *tree) rank(b, ref int32) int32 {
	br := t.b(b)
	var r int32
	if br.big {
		l := t.bigs[br.at]
		x := t.label(ref, br.plen)
		j, i, _ := t.seek(l, br.plen, t.headOf(x), x)
		l.prefix()
		r = l.starts[j]
		for _, w := range l.chunks[j].rows[:i] {
			r += w
		}
		return r
	}
	for _, k := range t.small(br) {
		if k == ref {
			break
		}
		r += t.weight(k)
	}
	return r
}

// toBig moves a full small list into a bigList.
func (t *tree) toBig(br *branch) {
	c := &chunk{}
	for _, ref := range t.small(br) {
		w := t.weight(ref)
		c.refs = append(c.refs, ref)
		c.heads = append(c.heads, t.headOf(t.label(ref, br.plen)))
		c.rows = append(c.rows, w)
		c.sum += w
	}
	t.pool.resize(br.at, br.kids, 0)
	l := &bigList{chunks: []*chunk{c}, heads: []uint64{c.heads[0]}, dirty: true}
	if n := len(t.freeBig); n > 0 {
		br.at = t.freeBig[n-1]
		t.freeBig = t.freeBig[:n-1]
		t.bigs[br.at] = l
	} else {
		br.at = int32(len(t.bigs))
		t.bigs = append(t.bigs, l)
	}
	br.big = true
}

// pool holds the children of small branches in blocks of 1, 2, 4 … 32 refs carved from
// shared pages, so a branch costs two int32s (offset, length) instead of a slice header
// and an allocation, and the GC has nothing to scan.
type pool struct {
	buf  paged[int32]
	free [6][]int32 // offsets of free blocks by size class (block size 1<<class)
}

// class is the size class of the block for n > 0 refs.
func class(n int32) int { return bits.Len32(uint32(n - 1)) }

// resize moves a block holding n refs (at) to one sized for m refs (either may be 0)
// when their classes differ, keeping the first min(n, m) refs, and returns its offset.
func (p *pool) resize(at, n, m int32) int32 {
	if n > 0 && m > 0 && class(n) == class(m) {
		return at
	}
	var to int32
	if m > 0 {
		c := class(m)
		if f := p.free[c]; len(f) > 0 {
			to = f[len(f)-1]
			p.free[c] = f[:len(f)-1]
		} else {
			to = p.buf.grow(1 << c)
		}
		k := min(n, m)
		copy(p.buf.slice(to, k), p.buf.slice(at, k))
	}
	if n > 0 {
		p.free[class(n)] = append(p.free[class(n)], at)
	}
	return to
}

// bigList keeps a long child list sorted in chunks of at most chunkMax entries: an
// insert shifts one chunk, not the whole list. Finding a row binary-searches a prefix
// sum over the chunks, rebuilt only when a frame needs it after a change; finding a
// label binary-searches the chunks' first heads, then one chunk's.
type bigList struct {
	chunks []*chunk
	heads  []uint64 // head of each chunk's first entry, so chunk search reads one array
	starts []int32  // starts[j]: rows shown by chunks[:j]; stale while dirty
	dirty  bool
}

type chunk struct {
	refs  []int32
	heads []uint64 // head of each entry's label
	rows  []int32  // weight of each entry
	sum   int32
}

// head returns the first 8 bytes of a label as a big-endian number, zero-padded.
// Unequal heads order labels as their bytes do, so most comparisons in a big list never
// read key bytes; equal heads fall back to comparing the labels.
func head(s string) uint64 {
	var h uint64
	for i := range 8 {
		h <<= 8
		if i < len(s) {
			h |= uint64(s[i])
		}
	}
	return h
}

// seek finds the entry labelled x (with head hx) in l, the list of a branch whose
// prefix is plen bytes long: chunk j and index i where it is, or would be inserted.
func (t *tree) seek(l *bigList, plen int32, hx uint64, x string) (j, i int, found bool) {
	if len(l.chunks) == 0 {
		return 0, 0, false
	}
	// Heads decide almost every comparison; the label (more cache misses) only a tie.
	lo, hi := 0, len(l.chunks) // the chunk: the last whose first entry is <= x
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if h := l.heads[m]; hx < h || hx == h && t.compare(x, t.label(l.chunks[m].refs[0], plen)) < 0 {
			hi = m
		} else {
			lo = m + 1
		}
	}
	j = max(lo-1, 0)
	c := l.chunks[j]
	lo, hi = 0, len(c.refs) // the entry: the first >= x
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if h := c.heads[m]; h < hx || h == hx && t.compare(t.label(c.refs[m], plen), x) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return j, lo, lo < len(c.refs) && c.heads[lo] == hx && t.label(c.refs[lo], plen) == x
}

// bigInsert adds ref, labelled x and showing w rows, to l at a spot from seek, or
// where it belongs given noSpot.
func (t *tree) bigInsert(l *bigList, plen, ref int32, x string, w int32, at spot) {
	hx := t.headOf(x)
	if len(l.chunks) == 0 {
		l.chunks = []*chunk{{refs: []int32{ref}, heads: []uint64{hx}, rows: []int32{w}, sum: w}}
		l.heads = []uint64{hx}
		l.dirty = true
		return
	}
	j, i := at.j, at.i
	if at == noSpot {
		j, i, _ = t.seek(l, plen, hx, x)
	}
	c := l.chunks[j]
	c.refs = slices.Insert(c.refs, i, ref)
	c.heads = slices.Insert(c.heads, i, hx)
	c.rows = slices.Insert(c.rows, i, w)
	c.sum += w
	l.heads[j] = c.heads[0]
	if len(c.refs) > int(t.chunkMax) {
		l.split(j, int(t.chunkMax))
	}
	l.dirty = true
}

// split halves chunk j. Both halves get room to grow back to full without the
// reallocations append would bring, and no more (a chunk grown by append may have
// twice that).
func (l *bigList) split(j, limit int) {
	c := l.chunks[j]
	h := len(c.refs) / 2
	n := &chunk{
		refs:  append(make([]int32, 0, limit+1), c.refs[h:]...),
		heads: append(make([]uint64, 0, limit+1), c.heads[h:]...),
		rows:  append(make([]int32, 0, limit+1), c.rows[h:]...),
	}
	for _, w := range n.rows {
		n.sum += w
	}
	if cap(c.refs) == limit+1 {
		c.refs, c.heads, c.rows = c.refs[:h], c.heads[:h], c.rows[:h]
	} else {
		c.refs = append(make([]int32, 0, limit+1), c.refs[:h]...)
		c.heads = append(make([]uint64, 0, limit+1), c.heads[:h]...)
		c.rows = append(make([]int32, 0, limit+1), c.rows[:h]...)
	}
	c.sum -= n.sum
	l.chunks = slices.Insert(l.chunks, j+1, n)
	l.heads = slices.Insert(l.heads, j+1, n.heads[0])
}

// bigRemove takes ref out of l. Chunks are not merged: after mass removals a list has
// more, smaller chunks, which costs some speed until Reset, not correctness.
func (t *tree) bigRemove(l *bigList, plen, ref int32) {
	x := t.label(ref, plen)
	j, i, _ := t.seek(l, plen, t.headOf(x), x)
	c := l.chunks[j]
	c.sum -= c.rows[i]
	c.refs = slices.Delete(c.refs, i, i+1)
	c.heads = slices.Delete(c.heads, i, i+1)
	c.rows = slices.Delete(c.rows, i, i+1)
	if len(c.refs) == 0 {
		l.chunks = slices.Delete(l.chunks, j, j+1)
		l.heads = slices.Delete(l.heads, j, j+1)
	} else {
		l.heads[j] = c.heads[0]
	}
	l.dirty = true
}

// prefix brings starts up to date: O(chunks), once per frame at most.
func (l *bigList) prefix() {
	if !l.dirty {
		return
	}
	l.starts = l.starts[:0]
	var n int32
	for _, c := range l.chunks {
		l.starts = append(l.starts, n)
		n += c.sum
	}
	l.dirty = false
}

// pick is tree.pick for a big list.
func (l *bigList) pick(off int32) (ref, within int32) {
	l.prefix()
	lo, hi := 0, len(l.starts) // the last chunk starting at or before off
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if l.starts[m] <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	c := l.chunks[lo-1]
	off -= l.starts[lo-1]
	for i, w := range c.rows {
		if off < w {
			return c.refs[i], off
		}
		off -= w
	}
	panic("keystore: row beyond its branch")
}
