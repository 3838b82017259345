package keystore

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// benchKeys returns fmt.Sprintf(format, i) for i in [0, n) in a fixed shuffled order,
// as a scan returns keys in hash order: sorted inserts land all over the child lists.
// Like a backend's reply, each batch of 1000 keys shares one buffer.
func benchKeys(n int, format string) []string {
	order := rand.New(rand.NewPCG(1, 2)).Perm(n)
	keys := make([]string, n)
	for i := 0; i < n; i += 1000 {
		var b strings.Builder
		var ends []int
		for _, k := range order[i:min(i+1000, n)] {
			fmt.Fprintf(&b, format, k)
			ends = append(ends, b.Len())
		}
		buf, start := b.String(), 0
		for j, end := range ends {
			keys[i+j], start = buf[start:end], end
		}
	}
	return keys
}

// load adds keys in batches of 1000, reading the 50-row window in the middle of the
// list after each batch as the dashboard redraws while a scan streams in.
func load(s *Store, keys []string) (sink int) {
	for i := 0; i < len(keys); i += 1000 {
		s.Add(keys[i:min(i+1000, len(keys))])
		off := max(s.Rows()/2-25, 0)
		for r := off; r < min(off+50, s.Rows()); r++ {
			sink += len(s.Row(r).Label)
		}
	}
	return sink
}

var sink int

// BenchmarkWindow1M reads a 50-row window at a random offset of a million keys: one
// frame of the key list. ns/op is per window.
func BenchmarkWindow1M(b *testing.B) {
	mixed := append(benchKeys(500_000, "orders:%06d:items"), benchKeys(500_000, "session:%06d")...)
	cases := []struct {
		name  string
		setup func(s *Store)
	}{
		{"flat", func(s *Store) {}},
		{"tree 500k leaves in one expanded branch", func(s *Store) {
			s.SetTree(true)
			s.Expand(0) // orders:, 500k collapsed branches
			s.Expand(s.Rows() - 1)
		}},
		{"tree all expanded", func(s *Store) {
			s.SetTree(true)
			s.ExpandAll()
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			s := New(":")
			for i := 0; i < len(mixed); i += 1000 {
				s.Add(mixed[i : i+1000])
			}
			c.setup(s)
			rows := s.Rows()
			rng := rand.New(rand.NewPCG(3, 4))
			for b.Loop() {
				off := rng.IntN(rows - 50)
				for i := off; i < off+50; i++ {
					sink += len(s.Row(i).Label)
				}
			}
			b.ReportMetric(float64(rows), "rows")
		})
	}
}

// BenchmarkLoad1M loads a million keys shaped like "orders:123456:items" in batches of
// 1000 with a window read after each batch. ns/op is per million keys; heap-MB is the
// live heap the Store holds afterwards.
func BenchmarkLoad1M(b *testing.B) {
	keys := benchKeys(1_000_000, "orders:%06d:items")
	cases := []struct {
		name  string
		setup func(s *Store)
	}{
		{"flat", func(s *Store) {}},
		{"tree collapsed", func(s *Store) { s.SetTree(true) }},
		{"tree all expanded", func(s *Store) { s.SetTree(true); s.ExpandAll() }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			before := heapBytes()
			var s *Store
			for b.Loop() {
				s = nil // let the previous load go before the next one
				s = New(":")
				c.setup(s)
				sink += load(s, keys)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(keys)), "ns/key")
			b.ReportMetric(float64(heapBytes()-before)/(1<<20), "heap-MB")
			runtime.KeepAlive(s)
		})
	}
}

// BenchmarkToggle1M expands and collapses the branch holding a million children.
func BenchmarkToggle1M(b *testing.B) {
	s := New(":")
	s.SetTree(true)
	load(s, benchKeys(1_000_000, "orders:%06d:items"))
	for b.Loop() {
		s.Toggle(0)
		sink += len(s.Row(s.Rows() / 2).Label)
	}
}

// BenchmarkFind1M is one quick-search step over a million keys in tree view (a full scan).
func BenchmarkFind1M(b *testing.B) {
	s := New(":")
	s.SetTree(true)
	load(s, benchKeys(1_000_000, "orders:%06d:items"))
	row := 0
	for b.Loop() {
		row, _ = s.Find(row, "99:", true)
	}
}
