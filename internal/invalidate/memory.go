package invalidate

import (
	"hash/maphash"
	"sync"
)

// MemoryKeys bounds the keys a run remembers having sent to a delete. A
// failover can bring back deletes the old primary acknowledged and its
// replica never got, and the listing after it then finds those keys again:
// a remembered key is deleted again and counted as restored, not a second
// time as matched and deleted. 200,000 keys cost about 4 MB (a 64-bit hash
// each, in a ring and a set), whatever their length.
const MemoryKeys = 200_000

// memory is the keys a run handed to its deletes, the most recent
// MemoryKeys of them. Keys are kept as 64-bit hashes with a seed of the
// run's own: a fresh key taken for a remembered one (odds about 1 in 10^14
// per lookup with a full memory) is deleted all the same, only counted as
// restored.
type memory struct {
	mu   sync.Mutex
	seed maphash.Seed
	ring []uint64 // in the order remembered; once full, next is the oldest
	next int
	set  map[uint64]struct{}
	max  int

	total    int64 // keys remembered so far
	stableAt int64 // total at the last point the deployment was known stable
	// forgotten counts the keys dropped from the ring that were remembered
	// after stableAt: found again after a failover, they count twice.
	forgotten int64
}

func newMemory(max int) *memory {
	return &memory{seed: maphash.MakeSeed(), set: map[uint64]struct{}{}, max: max}
}

// split puts in known the keys remembered already, and remembers the
// others, which it returns in fresh; keys is left as it was.
func (m *memory) split(keys []string) (fresh, known []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		h := maphash.String(m.seed, k)
		if _, ok := m.set[h]; ok {
			known = append(known, k)
			continue
		}
		fresh = append(fresh, k)
		m.add(h)
	}
	return fresh, known
}

// add remembers h, dropping the oldest key once the ring is full. mu held.
func (m *memory) add(h uint64) {
	m.set[h] = struct{}{}
	m.total++
	if len(m.ring) < m.max {
		m.ring = append(m.ring, h)
		return
	}
	delete(m.set, m.ring[m.next])
	// The key dropped is the one remembered max keys ago.
	if m.total-int64(m.max) > m.stableAt {
		m.forgotten++
	}
	m.ring[m.next] = h
	m.next = (m.next + 1) % m.max
}

// stable marks a point the deployment is known to have been stable: a
// listing went from start to end with the same primaries, no recovery and
// no round. Deletes remembered before it are taken as replicated; the keys
// dropped from the ring before it no longer count as possibly twice.
func (m *memory) stable() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stableAt = m.total
	m.forgotten = 0
}

// dropped is how many keys remembered since the last stable point the
// ring has dropped.
func (m *memory) dropped() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.forgotten
}

// known returns the keys of keys remembered already, remembering none: once
// Max is reached the run deletes only keys it had deleted before.
func (m *memory) known(keys []string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var known []string
	for _, k := range keys {
		if _, ok := m.set[maphash.String(m.seed, k)]; ok {
			known = append(known, k)
		}
	}
	return known
}

// forget drops keys split remembered that were never sent to a delete (Max
// reached, the run stopped): found again they are not ones the run deleted.
// Their ring slots stay; dropping one later only forgets a key sooner.
func (m *memory) forget(keys []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.set, maphash.String(m.seed, k))
	}
}

// sinceStable is how many keys were remembered since the last stable point.
func (m *memory) sinceStable() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total - m.stableAt
}
