package analyze

import (
	"container/heap"
	"strings"
)

// Heavy is a fixed-capacity heavy-hitter table (the Space-Saving algorithm):
// it counts every name exactly while fewer than its capacity are distinct;
// past that, a new name takes the place of the smallest, inheriting its
// counts as an over-estimate. Error bounds what a row may over-count, so a
// row with Error 0 is exact, and any name holding more than total/capacity
// of the keys is always in the table.
type Heavy struct {
	capacity int
	rows     map[string]*Row
	byKeys   rowHeap // min-heap on Keys: the row a new name replaces
	evicted  bool
}

// Row is one name's counts.
type Row struct {
	Name  string
	Depth int
	Keys  int64
	Bytes int64
	NoTTL int64
	// Error is the most Keys may over-count (0: exact).
	Error int64
	index int
}

// NewHeavy returns a table of at most capacity rows.
func NewHeavy(capacity int) *Heavy {
	if capacity < 1 {
		capacity = 1
	}
	return &Heavy{capacity: capacity, rows: make(map[string]*Row, min(capacity, 1<<12))}
}

// Add counts one key of size bytes under name.
func (h *Heavy) Add(name string, depth int, bytes int64, noTTL bool) {
	var nt int64
	if noTTL {
		nt = 1
	}
	if r, ok := h.rows[name]; ok {
		r.Keys++
		r.Bytes += bytes
		r.NoTTL += nt
		heap.Fix(&h.byKeys, r.index)
		return
	}
	// The table keeps its own copy: name may point into a page of keys.
	name = strings.Clone(name)
	if len(h.rows) < h.capacity {
		r := &Row{Name: name, Depth: depth, Keys: 1, Bytes: bytes, NoTTL: nt}
		h.rows[name] = r
		heap.Push(&h.byKeys, r)
		return
	}
	// Replace the smallest row: the newcomer may have been counted there.
	h.evicted = true
	r := h.byKeys[0]
	delete(h.rows, r.Name)
	r.Error = r.Keys
	r.Name, r.Depth = name, depth
	r.Keys++
	r.Bytes += bytes
	r.NoTTL += nt
	h.rows[name] = r
	heap.Fix(&h.byKeys, 0)
}

// Approximate reports whether any name was ever replaced, so that some
// counts are over-estimates.
func (h *Heavy) Approximate() bool { return h.evicted }

// Len is the number of rows held.
func (h *Heavy) Len() int { return len(h.rows) }

// Rows returns copies of the rows, in no particular order.
func (h *Heavy) Rows() []Row {
	out := make([]Row, 0, len(h.rows))
	for _, r := range h.rows {
		out = append(out, *r)
	}
	return out
}

type rowHeap []*Row

func (h rowHeap) Len() int           { return len(h) }
func (h rowHeap) Less(i, j int) bool { return h[i].Keys < h[j].Keys }
func (h rowHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *rowHeap) Push(x any) {
	r := x.(*Row)
	r.index = len(*h)
	*h = append(*h, r)
}
func (h *rowHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	*h = old[:len(old)-1]
	return r
}
