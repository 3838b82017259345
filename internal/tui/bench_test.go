package tui

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// loaded1M is a dashboard with a million keys loaded, as after a full scan.
func loaded1M(b *testing.B, tree bool) *Model {
	b.Helper()
	m := New(context.Background(), Options{Tree: tree})
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 45})
	batch := make([]string, 0, 1000)
	for i := range 1_000_000 {
		batch = append(batch, fmt.Sprintf("orders:%d:items:%d", i%5000, i))
		if len(batch) == cap(batch) {
			m.Update(m.list.ScanBatch(batch))
			batch = make([]string, 0, 1000)
		}
	}
	if m.list.Store().Len() != 1_000_000 {
		b.Fatalf("loaded %d keys", m.list.Store().Len())
	}
	return m
}

// BenchmarkFrame1M is one keypress with a million keys loaded: Update moves
// the cursor, View draws the whole screen. The budget is 2 ms a frame.
func BenchmarkFrame1M(b *testing.B) {
	for _, tree := range []bool{false, true} {
		name := "flat"
		if tree {
			name = "tree"
		}
		b.Run(name, func(b *testing.B) {
			m := loaded1M(b, tree)
			if tree {
				m.list.Store().Expand(0) // a branch with thousands of children open
			}
			down := tea.KeyPressMsg{Code: tea.KeyDown}
			pgdown := tea.KeyPressMsg{Code: tea.KeyPgDown}
			b.ResetTimer()
			for i := range b.N {
				msg := down
				if i%50 == 0 {
					msg = pgdown
				}
				m.Update(msg)
				_ = m.View()
			}
		})
	}
}

// BenchmarkMemory1M reports the heap a million loaded keys cost.
func BenchmarkMemory1M(b *testing.B) {
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m := loaded1M(b, true)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MB")
		runtime.KeepAlive(m)
	}
}
