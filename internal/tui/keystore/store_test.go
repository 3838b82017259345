package keystore

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// dump renders the visible rows compactly: two spaces per depth, the label, and for a
// branch its count and "+" (collapsed) or "-" (expanded).
func dump(s *Store) []string {
	var out []string
	for i := range s.Rows() {
		r := s.Row(i)
		line := strings.Repeat("  ", r.Depth) + r.Label
		if r.Branch {
			mark := "+"
			if r.Expanded {
				mark = "-"
			}
			line += fmt.Sprintf(" (%d) %s", r.Count, mark)
		}
		out = append(out, line)
	}
	return out
}

// expandKey expands the visible branch row whose Key is prefix.
func expandKey(t *testing.T, s *Store, prefix string) {
	t.Helper()
	for i := range s.Rows() {
		if r := s.Row(i); r.Branch && r.Key == prefix {
			s.Expand(i)
			return
		}
	}
	t.Fatalf("no visible branch %q in %q", prefix, dump(s))
}

func treeStore(delim string, keys ...string) *Store {
	s := New(delim)
	s.SetTree(true)
	s.Add(keys)
	return s
}

func TestAddIgnoresKeysAlreadyHeld(t *testing.T) {
	tests := []struct {
		name    string
		batches [][]string
		added   []int
		want    []string
	}{
		{"repeat within a batch", [][]string{{"a", "b", "a"}}, []int{2}, []string{"a", "b"}},
		{"repeat across batches", [][]string{{"a", "b"}, {"b", "c", "a"}}, []int{2, 1}, []string{"a", "b", "c"}},
		{"empty key is a key, once", [][]string{{"", "x", ""}, {""}}, []int{2, 0}, []string{"", "x"}},
		{"binary keys differing in one byte", [][]string{{"\x1b[0m", "\x1b[1m", "\xff\xfe", "\xff\xfe"}}, []int{3}, []string{"\x1b[0m", "\x1b[1m", "\xff\xfe"}},
		{"empty and nil batches", [][]string{{}, nil, {"k"}}, []int{0, 0, 1}, []string{"k"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(":")
			for i, b := range tt.batches {
				if got := s.Add(b); got != tt.added[i] {
					t.Errorf("Add(%q) = %d, want %d", b, got, tt.added[i])
				}
			}
			if got := dump(s); !slices.Equal(got, tt.want) {
				t.Errorf("rows = %q, want %q", got, tt.want)
			}
			if s.Len() != len(tt.want) {
				t.Errorf("Len = %d, want %d", s.Len(), len(tt.want))
			}
		})
	}
}

func TestAddManyBatchesKeepsEveryKeyOnce(t *testing.T) {
	// Enough keys to grow the hash index several times, with every key sent twice.
	s := New(":")
	var all []string
	for i := range 20000 {
		all = append(all, fmt.Sprintf("k:%d", i))
	}
	for i := 0; i < len(all); i += 700 {
		b := all[i:min(i+700, len(all))]
		if got := s.Add(b); got != len(b) {
			t.Fatalf("batch at %d: added %d, want %d", i, got, len(b))
		}
		if got := s.Add(b); got != 0 {
			t.Fatalf("batch at %d sent again: added %d, want 0", i, got)
		}
	}
	for i, k := range all {
		if got := s.Row(i).Key; got != k {
			t.Fatalf("Row(%d) = %q, want %q", i, got, k)
		}
	}
}

func TestRemove(t *testing.T) {
	tests := []struct {
		name    string
		keys    []string
		remove  []string
		removed int
		readd   []string
		want    []string
	}{
		{"middle key, others keep order", []string{"a", "b", "c", "d"}, []string{"b"}, 1, nil, []string{"a", "c", "d"}},
		{"absent and repeated keys not counted", []string{"a", "b"}, []string{"b", "x", "b"}, 1, nil, []string{"a"}},
		{"everything", []string{"a", "b"}, []string{"b", "a"}, 2, nil, nil},
		{"removed key added again goes to the end", []string{"a", "b", "c"}, []string{"a"}, 1, []string{"a", "b"}, []string{"b", "c", "a"}},
		{"empty key", []string{"", "a"}, []string{""}, 1, nil, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(":")
			s.Add(tt.keys)
			if got := s.Remove(tt.remove...); got != tt.removed {
				t.Errorf("Remove = %d, want %d", got, tt.removed)
			}
			s.Add(tt.readd)
			if got := dump(s); !slices.Equal(got, tt.want) {
				t.Errorf("rows = %q, want %q", got, tt.want)
			}
			if s.Len() != len(tt.want) || s.Rows() != len(tt.want) {
				t.Errorf("Len, Rows = %d, %d, want %d", s.Len(), s.Rows(), len(tt.want))
			}
		})
	}
}

func TestFlatViewIsArrivalOrderWithNothingToExpand(t *testing.T) {
	s := New(":")
	s.Add([]string{"b:1", "a:2", "b:0"})
	s.Toggle(0)
	s.Expand(1)
	want := []Row{{Key: "b:1", Label: "b:1"}, {Key: "a:2", Label: "a:2"}, {Key: "b:0", Label: "b:0"}}
	for i, w := range want {
		if got := s.Row(i); got != w {
			t.Errorf("Row(%d) = %+v, want %+v", i, got, w)
		}
		if p := s.Parent(i); p != -1 {
			t.Errorf("Parent(%d) = %d, want -1", i, p)
		}
	}
	if s.Rows() != 3 {
		t.Errorf("Rows = %d, want 3", s.Rows())
	}
}

func TestTreeShape(t *testing.T) {
	tests := []struct {
		name   string
		delim  string
		keys   []string
		expand []string // branch prefixes, expanded in order
		want   []string
	}{
		{
			name:  "branches start collapsed and count keys at all depths",
			delim: ":",
			keys:  []string{"orders:1:items", "users:7", "orders:2:items", "zz", "orders:1:total"},
			want:  []string{"orders: (3) +", "users: (1) +", "zz"},
		},
		{
			name:   "expanded branches show children one level deeper",
			delim:  ":",
			keys:   []string{"orders:1:items", "users:7", "orders:2:items", "zz", "orders:1:total"},
			expand: []string{"orders:", "orders:1:"},
			want: []string{
				"orders: (3) -",
				"  1: (2) -",
				"    items",
				"    total",
				"  2: (1) +",
				"users: (1) +",
				"zz",
			},
		},
		{
			name:  "children sorted by label (bytes where no digits), branch labels ending in the delimiter",
			delim: ":",
			keys:  []string{"b", "a;x", "a:1", "a", "A", "a:0", "\xff", "\x1b"},
			want:  []string{"\x1b", "A", "a", "a: (2) +", "a;x", "b", "\xff"},
		},
		{
			name:   "key equal to a branch's prefix is a leaf beside the branch",
			delim:  ":",
			keys:   []string{"a:b", "a", "a:"},
			expand: []string{"a:"},
			want:   []string{"a", "a: (2) -", "  ", "  b"}, // key "a:" is the empty leaf under "a:"
		},
		{
			name:   "empty segments are branches",
			delim:  ":",
			keys:   []string{"a::b", ":x"},
			expand: []string{":", "a:", "a::"},
			want:   []string{": (1) -", "  x", "a: (1) -", "  : (1) -", "    b"},
		},
		{
			name:   "multi-byte delimiter splits at its first occurrence",
			delim:  "::",
			keys:   []string{"a::b", "a:b", "a::c::d", "a:::e"},
			expand: []string{"a::", "a::c::"},
			want:   []string{"a:: (3) -", "  :e", "  b", "  c:: (1) -", "    d", "a:b"},
		},
		{
			name:  "no delimiter makes the tree the flat list",
			delim: "",
			keys:  []string{"b:1", "a:2", ""},
			want:  []string{"b:1", "a:2", ""},
		},
		{
			name:   "control and invalid UTF-8 bytes are kept as they are",
			delim:  ":",
			keys:   []string{"\x1b[31m:red", "\xff:\x00", "\xff:\x01"},
			expand: []string{"\xff:"},
			want:   []string{"\x1b[31m: (1) +", "\xff: (2) -", "  \x00", "  \x01"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := treeStore(tt.delim, tt.keys...)
			for _, p := range tt.expand {
				expandKey(t, s, p)
			}
			if got := dump(s); !slices.Equal(got, tt.want) {
				t.Errorf("rows =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestTreeRowFields(t *testing.T) {
	s := treeStore(":", "orders:1:items", "orders:2")
	expandKey(t, s, "orders:")
	expandKey(t, s, "orders:1:")
	want := []Row{
		{Key: "orders:", Label: "orders:", Branch: true, Count: 2, Expanded: true},
		{Key: "orders:1:", Label: "1:", Depth: 1, Branch: true, Count: 1, Expanded: true},
		{Key: "orders:1:items", Label: "items", Depth: 2},
		{Key: "orders:2", Label: "2", Depth: 1},
	}
	for i, w := range want {
		if got := s.Row(i); got != w {
			t.Errorf("Row(%d) = %+v, want %+v", i, got, w)
		}
	}
}

func TestCountsFollowAddAndRemove(t *testing.T) {
	s := treeStore(":", "a:x:1", "a:x:2", "a:y", "b")
	s.ExpandAll()
	steps := []struct {
		name string
		do   func()
		want []string
	}{
		{"start", func() {}, []string{"a: (3) -", "  x: (2) -", "    1", "    2", "  y", "b"}},
		{"remove one of two keys", func() { s.Remove("a:x:1") }, []string{"a: (2) -", "  x: (1) -", "    2", "  y", "b"}},
		{"branch at count 0 disappears", func() { s.Remove("a:x:2") }, []string{"a: (1) -", "  y", "b"}},
		{"all of a branch gone", func() { s.Remove("a:y") }, []string{"b"}},
		{"branch comes back expanded after ExpandAll", func() { s.Add([]string{"a:z"}) }, []string{"a: (1) -", "  z", "b"}},
		{"after CollapseAll a new branch starts collapsed", func() { s.CollapseAll(); s.Add([]string{"c:1"}) }, []string{"a: (1) +", "b", "c: (1) +"}},
		{"Reset forgets keys, keeps tree view", func() { s.Reset(); s.Add([]string{"d:1"}) }, []string{"d: (1) +"}},
	}
	for _, st := range steps {
		st.do()
		if got := dump(s); !slices.Equal(got, st.want) {
			t.Errorf("%s: rows =\n%q\nwant\n%q", st.name, got, st.want)
		}
	}
}

func TestExpandCollapseToggleParent(t *testing.T) {
	s := treeStore(":", "a:b:c", "a:d", "e")
	steps := []struct {
		name    string
		do      func()
		want    []string
		parents []int
	}{
		{"start", func() {}, []string{"a: (2) +", "e"}, []int{-1, -1}},
		{"toggle opens", func() { s.Toggle(0) }, []string{"a: (2) -", "  b: (1) +", "  d", "e"}, []int{-1, 0, 0, -1}},
		{"expand nested", func() { s.Expand(1) }, []string{"a: (2) -", "  b: (1) -", "    c", "  d", "e"}, []int{-1, 0, 1, 0, -1}},
		{"expand an open branch is a no-op", func() { s.Expand(0) }, []string{"a: (2) -", "  b: (1) -", "    c", "  d", "e"}, []int{-1, 0, 1, 0, -1}},
		{"leaf and out-of-range rows ignored", func() { s.Toggle(2); s.Collapse(3); s.Expand(-1); s.Toggle(99) }, []string{"a: (2) -", "  b: (1) -", "    c", "  d", "e"}, []int{-1, 0, 1, 0, -1}},
		{"collapse outer hides nested", func() { s.Collapse(0) }, []string{"a: (2) +", "e"}, []int{-1, -1}},
		{"nested keeps its state", func() { s.Toggle(0) }, []string{"a: (2) -", "  b: (1) -", "    c", "  d", "e"}, []int{-1, 0, 1, 0, -1}},
		{"flat view has no parents, tree state survives", func() { s.SetTree(false); s.Toggle(0); s.SetTree(true) }, []string{"a: (2) -", "  b: (1) -", "    c", "  d", "e"}, []int{-1, 0, 1, 0, -1}},
	}
	for _, st := range steps {
		st.do()
		if got := dump(s); !slices.Equal(got, st.want) {
			t.Errorf("%s: rows =\n%q\nwant\n%q", st.name, got, st.want)
		}
		for i, want := range st.parents {
			if got := s.Parent(i); got != want {
				t.Errorf("%s: Parent(%d) = %d, want %d", st.name, i, got, want)
			}
		}
	}
	if got := s.Parent(-1) + s.Parent(s.Rows()); got != -2 {
		t.Errorf("Parent out of range = %d, want -1 each", got)
	}
}

func TestReveal(t *testing.T) {
	tests := []struct {
		name   string
		tree   bool
		delim  string
		keys   []string
		remove []string
		key    string
		row    int
		ok     bool
		want   []string // rows afterwards, tree view only
	}{
		{"flat: index among live keys", false, ":", []string{"x", "y", "z"}, []string{"x"}, "z", 1, true, nil},
		{"flat: absent key", false, ":", []string{"x"}, nil, "q", -1, false, nil},
		{"flat: removed key", false, ":", []string{"x", "y"}, []string{"y"}, "y", -1, false, nil},
		{"tree: expands every ancestor", true, ":", []string{"a:b:c", "a:a", "0"}, nil, "a:b:c", 4, true,
			[]string{"0", "a: (2) -", "  a", "  b: (1) -", "    c"}},
		{"tree: top-level leaf expands nothing", true, ":", []string{"a:b", "c"}, nil, "c", 1, true, []string{"a: (1) +", "c"}},
		{"tree: key that is also a branch prefix reveals the leaf", true, ":", []string{"a:", "a:b"}, nil, "a:", 1, true, []string{"a: (2) -", "  ", "  b"}},
		{"tree: empty key", true, ":", []string{"a:b", ""}, nil, "", 0, true, []string{"", "a: (1) +"}},
		{"tree: absent key", true, ":", []string{"a:b"}, nil, "a:", -1, false, []string{"a: (1) +"}},
		{"tree with no delimiter: arrival index", true, "", []string{"b", "a"}, nil, "a", 1, true, []string{"b", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.delim)
			s.SetTree(tt.tree)
			s.Add(tt.keys)
			s.Remove(tt.remove...)
			row, ok := s.Reveal(tt.key)
			if row != tt.row || ok != tt.ok {
				t.Fatalf("Reveal(%q) = %d, %v, want %d, %v", tt.key, row, ok, tt.row, tt.ok)
			}
			if ok {
				if r := s.Row(row); r.Key != tt.key || r.Branch {
					t.Errorf("Row(%d) = %+v, want leaf %q", row, r, tt.key)
				}
			}
			if got := dump(s); tt.want != nil && !slices.Equal(got, tt.want) {
				t.Errorf("rows =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestFind(t *testing.T) {
	fruit := []string{"apple", "banana", "apricot", "cherry"}
	nested := []string{"b:x", "a:y", "c", "a:x"}
	tests := []struct {
		name    string
		tree    bool
		keys    []string
		expand  []string
		from    int
		substr  string
		forward bool
		key     string // "" with ok false: no match
		ok      bool
		want    []string // rows afterwards, tree view only
	}{
		{"flat: forward wraps to the top", false, fruit, nil, 2, "ap", true, "apple", true, nil},
		{"flat: forward takes the next match", false, fruit, nil, 0, "ap", true, "apricot", true, nil},
		{"flat: backward wraps to the bottom", false, fruit, nil, 0, "an", false, "banana", true, nil},
		{"flat: backward takes the previous match", false, fruit, nil, 3, "p", false, "apricot", true, nil},
		{"flat: own row is tried last", false, fruit, nil, 1, "nan", true, "banana", true, nil},
		{"flat: ASCII case is ignored", false, fruit, nil, -1, "CHERRY", true, "cherry", true, nil},
		{"flat: from before the top searches from the first key", false, fruit, nil, -1, "a", true, "apple", true, nil},
		{"flat: from past the end backward searches from the last key", false, fruit, nil, 99, "a", false, "apricot", true, nil},
		{"flat: no match", false, fruit, nil, 0, "zz", true, "", false, nil},
		{"flat: binary substring", false, []string{"a\x1b[0m", "b\xff"}, nil, 0, "\xff", true, "b\xff", true, nil},
		{"tree: forward from a collapsed branch looks inside it", true, nested, nil, 0, "x", true, "a:x", true,
			[]string{"a: (2) -", "  x", "  y", "b: (1) +", "c"}},
		{"tree: forward goes in tree order, not arrival order", true, nested, []string{"a:"}, 1, "", true, "a:y", true,
			[]string{"a: (2) -", "  x", "  y", "b: (1) +", "c"}},
		{"tree: forward wraps to the first key in tree order", true, nested, nil, 2, ":", true, "a:x", true,
			[]string{"a: (2) -", "  x", "  y", "b: (1) +", "c"}},
		{"tree: backward from a branch skips its own keys", true, nested, nil, 1, "x", false, "a:x", true,
			[]string{"a: (2) -", "  x", "  y", "b: (1) +", "c"}},
		{"tree: backward wraps to the last key in tree order", true, nested, nil, 0, "x", false, "b:x", true,
			[]string{"a: (2) +", "b: (1) -", "  x", "c"}},
		{"tree: backward from a leaf", true, nested, []string{"a:"}, 2, "", false, "a:x", true,
			[]string{"a: (2) -", "  x", "  y", "b: (1) +", "c"}},
		{"tree: no match leaves branches alone", true, nested, nil, 0, "q", true, "", false,
			[]string{"a: (2) +", "b: (1) +", "c"}},
		{"tree: key equal to a branch prefix comes right after the branch", true, []string{"a:b", "a:"}, nil, 0, "a", true, "a:", true,
			[]string{"a: (2) -", "  ", "  b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(":")
			s.SetTree(tt.tree)
			s.Add(tt.keys)
			for _, p := range tt.expand {
				expandKey(t, s, p)
			}
			row, ok := s.Find(tt.from, tt.substr, tt.forward)
			if ok != tt.ok {
				t.Fatalf("Find = %d, %v, want ok %v", row, ok, tt.ok)
			}
			if ok {
				if r := s.Row(row); r.Key != tt.key || r.Branch {
					t.Errorf("Find = row %d %+v, want leaf %q", row, r, tt.key)
				}
			}
			if got := dump(s); tt.want != nil && !slices.Equal(got, tt.want) {
				t.Errorf("rows =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestRowOutOfRangePanics(t *testing.T) {
	for _, tree := range []bool{false, true} {
		s := New(":")
		s.SetTree(tree)
		s.Add([]string{"a"})
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("tree=%v: Row(1) of 1 row did not panic", tree)
				}
			}()
			s.Row(1)
		}()
	}
}

func TestChurnReusesTreeMemory(t *testing.T) {
	// Removing and re-adding the same keys must recycle branches, pool blocks and big
	// lists rather than grow them.
	s := newStore(":", 2, 4)
	s.SetTree(true)
	var keys []string
	for i := range 500 {
		keys = append(keys, fmt.Sprintf("g%d:k%d", i%7, i), fmt.Sprintf("s%d:x", i))
	}
	var br, buf, bigs int
	for round := range 5 {
		s.Add(keys)
		if round == 1 {
			br, buf, bigs = int(s.t.br.n), int(s.t.pool.buf.n), len(s.t.bigs)
		}
		if round > 1 && (int(s.t.br.n) != br || int(s.t.pool.buf.n) != buf || len(s.t.bigs) != bigs) {
			t.Fatalf("round %d: branches, pool, big lists = %d, %d, %d; after round 1 %d, %d, %d",
				round, int(s.t.br.n), int(s.t.pool.buf.n), len(s.t.bigs), br, buf, bigs)
		}
		if got := s.Remove(keys...); got != len(keys) {
			t.Fatalf("round %d: removed %d, want %d", round, got, len(keys))
		}
		if s.Rows() != 0 {
			t.Fatalf("round %d: %d rows left after removing everything: %q", round, s.Rows(), dump(s))
		}
	}
}

func TestTreeBuiltLateMatchesTreeBuiltEarly(t *testing.T) {
	keys := []string{"a:1", "b", "a:2:x", "c:", "a:1"}
	early := treeStore(":", keys...)
	early.Remove("b")
	late := New(":")
	late.Add(keys)
	late.Remove("b")
	late.SetTree(true)
	if got, want := dump(late), dump(early); !slices.Equal(got, want) {
		t.Errorf("tree built after loading = %q, built before = %q", got, want)
	}
}

// TestMatchesModel is the main check: random Add/Remove/Toggle/Expand/Collapse/Reveal/
// Find/view switches against a naive model that rebuilds every row from scratch, for
// several delimiters and for list sizes shrunk so chunk splits and small-to-big moves
// happen on a few hundred keys. After every operation every row and parent must agree.
func TestMatchesModel(t *testing.T) {
	configs := []struct {
		name               string
		delim              string
		smallMax, chunkMax int32
	}{
		{"colon, tiny lists", ":", 2, 4},
		{"colon, default lists", ":", defaultSmallMax, defaultChunkMax},
		{"double colon, tiny lists", "::", 1, 2},
		{"no delimiter", "", 2, 4},
		{"delimiter ending in a digit keeps byte order", "_0", 2, 4},
	}
	for _, cfg := range configs {
		for seed := range uint64(4) {
			t.Run(fmt.Sprintf("%s/seed %d", cfg.name, seed), func(t *testing.T) {
				runModel(t, cfg.delim, cfg.smallMax, cfg.chunkMax, seed)
			})
		}
	}
}

func runModel(t *testing.T, delim string, smallMax, chunkMax int32, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 42))
	s := newStore(delim, smallMax, chunkMax)
	m := &model{delim: delim, open: map[string]bool{}}
	pieces := []string{"", "a", "b", "ab", "\x1b", "\xff", ":", "a:", "A"}
	randKey := func() string {
		if rng.IntN(3) == 0 { // a wide namespace, for big child lists
			// Labels sharing their first 8 bytes ("000000012") and differing only by
			// a trailing NUL make the big lists compare key bytes, not just heads.
			// High bytes check that heads order as bytes do.
			// Numbers with and without leading zeros, after and between other bytes,
			// check the natural order ("v9" < "v10", "01" beside "1").
			formats := []string{"n%s%d", "n%s%09d", "n%s%08d\x00", "n%s\xff%d", "n%s\x7f%d", "n%sv%d", "n%s%d/%d", "n%s0%d"}
			f := formats[rng.IntN(len(formats))]
			if strings.Count(f, "%d") == 2 {
				return fmt.Sprintf(f, delim, rng.IntN(150), rng.IntN(30))
			}
			return fmt.Sprintf(f, delim, rng.IntN(150))
		}
		var parts []string
		for range rng.IntN(4) {
			parts = append(parts, pieces[rng.IntN(len(pieces))])
		}
		return strings.Join(parts, delim)
	}
	randRow := func() int { return rng.IntN(s.Rows()+2) - 1 } // sometimes out of range
	var log []string
	for step := range 1000 {
		var op string
		switch n := rng.IntN(100); {
		case n < 30:
			var batch []string
			for range rng.IntN(40) {
				batch = append(batch, randKey())
			}
			op = fmt.Sprintf("Add(%q)", batch)
			if got, want := s.Add(batch), m.add(batch); got != want {
				t.Fatalf("%s = %d, want %d", op, got, want)
			}
		case n < 45:
			var keys []string
			for range rng.IntN(8) {
				if len(m.keys) > 0 && rng.IntN(4) > 0 {
					keys = append(keys, m.keys[rng.IntN(len(m.keys))])
				} else {
					keys = append(keys, randKey())
				}
			}
			op = fmt.Sprintf("Remove(%q)", keys)
			if got, want := s.Remove(keys...), m.remove(keys); got != want {
				t.Fatalf("%s = %d, want %d", op, got, want)
			}
		case n < 65:
			i := randRow()
			op = fmt.Sprintf("Toggle(%d)", i)
			s.Toggle(i)
			m.setOpen(i, func(o bool) bool { return !o })
		case n < 72:
			i := randRow()
			op = fmt.Sprintf("Expand(%d)", i)
			s.Expand(i)
			m.setOpen(i, func(bool) bool { return true })
		case n < 78:
			i := randRow()
			op = fmt.Sprintf("Collapse(%d)", i)
			s.Collapse(i)
			m.setOpen(i, func(bool) bool { return false })
		case n < 84:
			k := randKey()
			if len(m.keys) > 0 && rng.IntN(3) > 0 {
				k = m.keys[rng.IntN(len(m.keys))]
			}
			op = fmt.Sprintf("Reveal(%q)", k)
			row, ok := s.Reveal(k)
			wrow, wok := m.reveal(k)
			if row != wrow || ok != wok {
				t.Fatalf("%s = %d, %v, want %d, %v", op, row, ok, wrow, wok)
			}
		case n < 92:
			from, sub, fwd := randRow(), pieces[rng.IntN(len(pieces))], rng.IntN(2) == 0
			op = fmt.Sprintf("Find(%d, %q, %v)", from, sub, fwd)
			row, ok := s.Find(from, sub, fwd)
			wrow, wok := m.find(from, sub, fwd)
			if row != wrow || ok != wok {
				t.Fatalf("%s = %d, %v, want %d, %v\nafter %q", op, row, ok, wrow, wok, log)
			}
		case n < 95:
			on := rng.IntN(2) == 0
			op = fmt.Sprintf("SetTree(%v)", on)
			s.SetTree(on)
			m.tree = on
		case n < 97:
			on := rng.IntN(3) > 0
			op = fmt.Sprintf("ExpandAll/CollapseAll(%v)", on)
			if on {
				s.ExpandAll()
			} else {
				s.CollapseAll()
			}
			m.setAll(on)
		case n < 98:
			op = "Reset()"
			s.Reset()
			m.reset()
		default:
			// Rows keep their order and branches their expansion; the
			// removed keys' ids are gone.
			op = "compact()"
			s.compact()
			if s.Removed() != 0 {
				t.Fatalf("compact left %d removed keys", s.Removed())
			}
		}
		log = append(log, op)
		if len(log) > 8 {
			log = log[1:]
		}
		want := m.rows()
		if s.Len() != len(m.keys) || s.Rows() != len(want) {
			t.Fatalf("step %d %s: Len, Rows = %d, %d, want %d, %d\nlast ops %q", step, op, s.Len(), s.Rows(), len(m.keys), len(want), log)
		}
		for i, w := range want {
			if got := s.Row(i); got != w.Row {
				t.Fatalf("step %d %s: Row(%d) = %+v, want %+v\nlast ops %q", step, op, i, got, w.Row, log)
			}
			if got := s.Parent(i); got != w.parent {
				t.Fatalf("step %d %s: Parent(%d) = %d, want %d\nlast ops %q", step, op, i, got, w.parent, log)
			}
		}
		// Locate finds every visible row by its key, and nothing hidden.
		shown := map[Row]int{}
		for i, w := range want {
			shown[Row{Key: w.Key, Branch: w.Branch}] = i
		}
		for range 4 {
			k := randKey()
			if len(m.keys) > 0 && rng.IntN(3) > 0 {
				k = m.keys[rng.IntN(len(m.keys))]
			}
			branch := false
			if i := strings.LastIndex(k, delim); delim != "" && i >= 0 && rng.IntN(2) == 0 {
				k, branch = k[:i+len(delim)], true
			}
			wrow, wok := shown[Row{Key: k, Branch: branch}]
			if row, ok := s.Locate(k, branch); ok != wok || ok && row != wrow {
				t.Fatalf("step %d %s: Locate(%q, %v) = %d, %v, want %d, %v\nlast ops %q", step, op, k, branch, row, ok, wrow, wok, log)
			}
		}
	}
}

// model is the reference for TestMatchesModel: keys in a slice, expanded branches in a
// set keyed by prefix, rows rebuilt from scratch on every call.
type model struct {
	delim     string
	tree      bool
	expandNew bool
	keys      []string
	open      map[string]bool
}

type modelRow struct {
	Row
	parent int
}

func (m *model) treeOn() bool { return m.tree && m.delim != "" }

// compare is the model's order of labels: natural (refNatCompare) unless the
// delimiter ends in a digit.
func (m *model) compare(a, b string) int {
	if m.delim != "" && m.delim[len(m.delim)-1] >= '0' && m.delim[len(m.delim)-1] <= '9' {
		return strings.Compare(a, b)
	}
	return refNatCompare(a, b)
}

// branches returns every branch prefix of the keys held.
func (m *model) branches() map[string]bool {
	out := map[string]bool{}
	if m.delim == "" {
		return out
	}
	for _, k := range m.keys {
		for start := 0; ; {
			i := strings.Index(k[start:], m.delim)
			if i < 0 {
				break
			}
			start += i + len(m.delim)
			out[k[:start]] = true
		}
	}
	return out
}

func (m *model) add(keys []string) int {
	before := m.branches()
	n := 0
	for _, k := range keys {
		if !slices.Contains(m.keys, k) {
			m.keys = append(m.keys, k)
			n++
		}
	}
	if m.expandNew {
		for p := range m.branches() {
			if !before[p] {
				m.open[p] = true
			}
		}
	}
	return n
}

func (m *model) remove(keys []string) int {
	n := 0
	for _, k := range keys {
		if i := slices.Index(m.keys, k); i >= 0 {
			m.keys = slices.Delete(m.keys, i, i+1)
			n++
		}
	}
	now := m.branches()
	for p := range m.open {
		if !now[p] {
			delete(m.open, p) // a branch that comes back starts afresh
		}
	}
	return n
}

func (m *model) reset() {
	m.keys, m.open, m.expandNew = nil, map[string]bool{}, false
}

func (m *model) setAll(on bool) {
	m.expandNew = on
	m.open = map[string]bool{}
	if on {
		m.open = m.branches()
	}
}

func (m *model) setOpen(i int, f func(bool) bool) {
	rows := m.rows()
	if m.treeOn() && i >= 0 && i < len(rows) && rows[i].Branch {
		m.open[rows[i].Key] = f(m.open[rows[i].Key])
	}
}

type modelNode struct {
	label  string
	branch bool
	count  int
}

// children lists the nodes directly under prefix, in natural order of their labels
// (byte order when the delimiter ends in a digit).
func (m *model) children(prefix string) []modelNode {
	counts := map[string]int{}
	var out []modelNode
	for _, k := range m.keys {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		rest := k[len(prefix):]
		if i := strings.Index(rest, m.delim); i >= 0 {
			counts[rest[:i+len(m.delim)]]++
		} else {
			out = append(out, modelNode{label: rest})
		}
	}
	for l, n := range counts {
		out = append(out, modelNode{label: l, branch: true, count: n})
	}
	slices.SortFunc(out, func(a, b modelNode) int { return m.compare(a.label, b.label) })
	return out
}

// walk visits nodes depth-first in tree order, entering branches for which enter is true.
func (m *model) walk(enter func(prefix string) bool, visit func(r Row, parent int)) {
	var rec func(prefix string, depth, parent int)
	n := 0
	rec = func(prefix string, depth, parent int) {
		for _, c := range m.children(prefix) {
			full := prefix + c.label
			r := Row{Key: full, Label: c.label, Depth: depth, Branch: c.branch, Count: c.count, Expanded: c.branch && m.open[full]}
			visit(r, parent)
			me := n
			n++
			if c.branch && enter(full) {
				rec(full, depth+1, me)
			}
		}
	}
	rec("", 0, -1)
}

func (m *model) rows() []modelRow {
	var out []modelRow
	if !m.treeOn() {
		for _, k := range m.keys {
			out = append(out, modelRow{Row{Key: k, Label: k}, -1})
		}
		return out
	}
	m.walk(func(p string) bool { return m.open[p] }, func(r Row, parent int) {
		out = append(out, modelRow{r, parent})
	})
	return out
}

func (m *model) reveal(k string) (int, bool) {
	if !slices.Contains(m.keys, k) {
		return -1, false
	}
	if m.treeOn() {
		for start := 0; ; {
			i := strings.Index(k[start:], m.delim)
			if i < 0 {
				break
			}
			start += i + len(m.delim)
			m.open[k[:start]] = true
		}
	}
	for i, r := range m.rows() {
		if r.Key == k && !r.Branch {
			return i, true
		}
	}
	panic("model: revealed key not shown")
}

// find walks the full tree order (flat: arrival order) from the row's node, wrapping.
func (m *model) find(from int, sub string, forward bool) (int, bool) {
	type node struct {
		key    string
		branch bool
	}
	var all []node
	if m.treeOn() {
		m.walk(func(string) bool { return true }, func(r Row, _ int) { all = append(all, node{r.Key, r.Branch}) })
	} else {
		for _, k := range m.keys {
			all = append(all, node{k, false})
		}
	}
	rows := m.rows()
	pivot := -1
	if !forward {
		pivot = len(all)
	}
	if from >= 0 && from < len(rows) {
		pivot = slices.Index(all, node{rows[from].Key, rows[from].Branch})
	}
	sub = asciiLower(sub)
	for step := 1; step <= len(all); step++ {
		i := ((pivot+step)%len(all) + len(all)) % len(all)
		if !forward {
			i = ((pivot-step)%len(all) + len(all)) % len(all)
		}
		if n := all[i]; !n.branch && strings.Contains(asciiLower(n.key), sub) {
			return m.reveal(n.key)
		}
	}
	return -1, false
}

// asciiLower folds A-Z only: strings.ToLower would rewrite invalid UTF-8.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// TestHeap1M checks the memory budget: a million keys shaped like "orders:123456:items"
// (a million branches under one, each with a leaf) in tree view, all expanded.
func TestHeap1M(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a million keys")
	}
	keys := benchKeys(1_000_000, "orders:%06d:items")
	before := heapBytes()
	s := New(":")
	s.SetTree(true)
	s.ExpandAll()
	for i := 0; i < len(keys); i += 1000 {
		s.Add(keys[i:min(i+1000, len(keys))])
	}
	mb := float64(heapBytes()-before) / (1 << 20)
	runtime.KeepAlive(keys) // counted in before: keep it out of the difference
	runtime.KeepAlive(s)
	t.Logf("1M keys, tree view, all expanded: %.1f MB heap, %d rows", mb, s.Rows())
	if s.Len() != 1_000_000 || s.Rows() != 2_000_001 {
		t.Errorf("Len, Rows = %d, %d, want 1000000, 2000001", s.Len(), s.Rows())
	}
	if mb > 120 {
		t.Errorf("heap %.1f MB, want under 120 MB (budget 150)", mb)
	}
}

// heapBytes returns the live heap after a full collection.
func heapBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestSweepDropsWhatTheRelistingMissed: after BeginSweep, the keys added
// again (or for the first time) stay and the others go at EndSweep, in
// both views; CancelSweep and Reset drop nothing.
func TestSweepDropsWhatTheRelistingMissed(t *testing.T) {
	for _, tree := range []bool{false, true} {
		s := New(":")
		s.SetTree(tree)
		s.Add([]string{"a:1", "a:2", "b:1", "c"})
		s.BeginSweep()
		s.Add([]string{"a:2", "new:1"})
		s.Add([]string{"c"})
		if n := s.EndSweep(); n != 2 {
			t.Fatalf("tree %v: EndSweep removed %d, want 2 (a:1, b:1)", tree, n)
		}
		s.SetTree(false)
		if got := dump(s); !slices.Equal(got, []string{"a:2", "c", "new:1"}) {
			t.Fatalf("tree %v: after the sweep %q", tree, got)
		}
		s.BeginSweep()
		s.CancelSweep()
		if n := s.EndSweep(); n != 0 || s.Len() != 3 {
			t.Fatalf("a cancelled sweep removed %d (len %d)", n, s.Len())
		}
	}
}

// TestCompactBoundsChurn: keys that come and go (live mode on a cache
// churning through new keys) leave no bytes behind once Compact runs,
// which it does only once removed keys outnumber the live ones.
func TestCompactBoundsChurn(t *testing.T) {
	s := New(":")
	s.SetTree(true)
	s.compactMin = 1000
	s.Add([]string{"keep:1", "keep:2"})
	s.Expand(0) // keep:
	compactions := 0
	for i := range 100000 {
		k := fmt.Sprintf("churn:%d", i)
		s.Add([]string{k})
		s.Remove(k)
		if s.Compact() {
			compactions++
		}
		if s.Removed() > 1000 {
			t.Fatalf("after %d keys came and went %d removed keys are still held", i+1, s.Removed())
		}
	}
	if compactions < 90 {
		t.Fatalf("%d compactions in 100000 removals", compactions)
	}
	if got := dump(s); !slices.Equal(got, []string{"keep: (2) -", "  1", "  2"}) {
		t.Fatalf("after compacting %q", got)
	}
	if s.Compact() {
		t.Fatal("compacted with nothing removed")
	}
}
