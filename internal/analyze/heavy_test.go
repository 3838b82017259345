package analyze

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestHeavyAgainstExactCounts checks the table's promises against an exact
// count on random skewed streams: exact while under capacity; above it every
// row's true count lies in [Keys-Error, Keys], and
// every name holding more than total/capacity of the keys is present.
func TestHeavyAgainstExactCounts(t *testing.T) {
	for seed := uint64(1); seed <= 60; seed++ {
		rng := rand.New(rand.NewPCG(seed, seed*7))
		capacity := 1 + rng.IntN(40)
		names := 1 + rng.IntN(120)
		n := rng.IntN(5000)
		zipf := rand.NewZipf(rng, 1.1+rng.Float64(), 1, uint64(names-1))
		h := NewHeavy(capacity)
		exactKeys := map[string]int64{}
		exactBytes := map[string]int64{}
		for range n {
			name := fmt.Sprintf("p%d:", zipf.Uint64())
			b := int64(rng.IntN(1000))
			h.Add(name, 1, b, rng.IntN(2) == 0)
			exactKeys[name]++
			exactBytes[name] += b
		}
		if got, want := h.Approximate(), len(exactKeys) > capacity; got != want {
			t.Fatalf("seed %d: Approximate()=%v with %d names in capacity %d", seed, got, len(exactKeys), capacity)
		}
		seen := map[string]bool{}
		var sum int64
		for _, r := range h.Rows() {
			seen[r.Name] = true
			sum += r.Keys
			truth := exactKeys[r.Name]
			if truth > r.Keys || truth < r.Keys-r.Error {
				t.Fatalf("seed %d: %s counted %d (error %d), truly %d", seed, r.Name, r.Keys, r.Error, truth)
			}
			if r.Error == 0 && (truth != r.Keys || exactBytes[r.Name] != r.Bytes) {
				t.Fatalf("seed %d: %s marked exact: %d keys %d bytes, truly %d keys %d bytes", seed, r.Name, r.Keys, r.Bytes, truth, exactBytes[r.Name])
			}
			if !h.Approximate() && r.Error != 0 {
				t.Fatalf("seed %d: an error without an eviction", seed)
			}
		}
		if sum != int64(n) {
			t.Fatalf("seed %d: rows sum to %d keys, %d were added", seed, sum, n)
		}
		for name, c := range exactKeys {
			if c*int64(capacity) > int64(n) && !seen[name] {
				t.Fatalf("seed %d: %s holds %d of %d keys (> 1/%d) but is missing", seed, name, c, n, capacity)
			}
		}
		if h.Len() > capacity {
			t.Fatalf("seed %d: %d rows in capacity %d", seed, h.Len(), capacity)
		}
	}
}
