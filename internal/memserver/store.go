// Package memserver is the in-memory cache behind `cachectl serve` and
// `cachectl demo`: a sharded byte store (Store) and the HTTP cache protocol v1
// in front of it (NewHandler, docs/http-protocol.md).
//
// Design, in short:
//
//   - Sharding. A key's 64-bit hash (hash/maphash, seeded per Store) picks one
//     of 64 shards by its top 6 bits and a bucket inside the shard by its low
//     bits. Each shard is its own chained hash table behind its own mutex, so
//     readers of different shards never meet; there is no store-wide lock.
//   - LRU. Each shard keeps an exact LRU list and publishes the access stamp
//     of its least recently used entry in an atomic. Eviction picks the shard
//     whose tail is oldest, which makes the whole store an exact LRU up to
//     races between concurrent writers. Stamps come from the monotonic clock,
//     not a shared counter, so reads do not contend on one cache line.
//   - Cursors. A listing walks the shards in order and, inside a shard, its
//     buckets in reverse-binary order (the order Redis' SCAN uses). That order
//     survives the table doubling or halving between pages: a key present for
//     the whole listing is returned at least once, and only a shrink can
//     return one twice. The cursor is just the shard index and the bucket
//     position packed in a uint64, so nothing is held between requests and a
//     page costs O(count) plus the empty buckets it passes.
package memserver

import (
	"context"
	"errors"
	"hash/maphash"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cachectl/cachectl/internal/glob"
)

const (
	// DefaultCount and MaxCount bound a listing page (limits.max_count).
	DefaultCount = 1000
	MaxCount     = 10000

	// NoExpiry is the TTL of a key that does not expire.
	NoExpiry time.Duration = -1

	// MaxTTL bounds a TTL (longer ones are cut to it) so that now+ttl cannot
	// overflow the nanosecond clock.
	MaxTTL = 100 * 365 * 24 * time.Hour
)

var (
	// ErrEmptyKey: a key has at least one byte.
	ErrEmptyKey = errors.New("empty key")
	// ErrTooLarge: one entry alone is bigger than MaxMemory.
	ErrTooLarge = errors.New("entry larger than max memory")
	// ErrBadCursor: the cursor was not issued by Scan.
	ErrBadCursor = errors.New("bad cursor")
)

const (
	shardBits  = 6
	numShards  = 1 << shardBits
	shardShift = 64 - shardBits
	// posMask keeps the bucket position of a cursor; the shard sits above it.
	posMask = 1<<shardShift - 1

	minBuckets = 8
	// maxBuckets keeps bucket indexes below the shard bits of the hash, so the
	// two never overlap (unreachable in practice: 2^40 pointers is 8 TiB).
	maxBuckets = 1 << 40

	// walkBatch is how many buckets a long walk (sweep, invalidate, a page)
	// visits before it lets other users of the shard in.
	walkBatch = 256
)

// entryOverhead is what an entry costs beyond its key, value and format: the
// struct itself and its bucket slot. MaxMemory counts it so that many tiny
// entries cannot exceed the bound unnoticed.
const entryOverhead = int64(unsafe.Sizeof(entry{})) + 8

// Options configure a Store.
type Options struct {
	// MaxMemory bounds the bytes taken by keys, values and per-entry
	// overhead; least recently used entries are evicted beyond it. 0: no bound.
	MaxMemory int64
	// Now is the clock for TTLs and uptime; nil means time.Now. Tests set it
	// to move time without sleeping.
	Now func() time.Time
}

// Entry is a stored value as Get returns it.
type Entry struct {
	// Value is shared with the store, which never modifies it: read only.
	Value []byte
	// Format is the Cache-Format the writer sent, "" when none.
	Format string
	// TTL is the remaining lifetime, NoExpiry when the key does not expire.
	TTL time.Duration
}

// KeyInfo describes one key of a listing.
type KeyInfo struct {
	Key    string
	Size   int // bytes of the value
	Format string
	TTL    time.Duration // NoExpiry when the key does not expire
}

// Stats are the store's counters.
type Stats struct {
	Keys      int64 // entries held, including expired ones not yet swept
	Bytes     int64 // as MaxMemory counts them
	MaxBytes  int64 // 0: unbounded
	Hits      int64
	Misses    int64
	Evictions int64
	Expired   int64
	Uptime    time.Duration
}

type entry struct {
	key      string
	value    []byte
	format   string
	hash     uint64
	expireAt int64 // Now().UnixNano() at which it expires; 0: never
	stamp    int64 // last access on the monotonic clock, for LRU
	chain    *entry
	newer    *entry // LRU neighbours
	older    *entry
}

func (e *entry) size() int64 {
	return int64(len(e.key)+len(e.value)+len(e.format)) + entryOverhead
}

func (e *entry) expired(now int64) bool { return e.expireAt != 0 && e.expireAt <= now }

func (e *entry) ttl(now int64) time.Duration {
	if e.expireAt == 0 {
		return NoExpiry
	}
	return time.Duration(e.expireAt - now)
}

type shard struct {
	mu      sync.Mutex
	buckets []*entry // len is a power of two
	count   int64
	bytes   int64
	// walkers counts in-process walks (sweep, invalidate) in progress; they
	// hold shrinking off so that each of them sees every entry exactly once.
	walkers int
	head    *entry // most recently used
	tail    *entry // least recently used
	// tailStamp mirrors tail.stamp (MaxInt64 when empty) so that eviction can
	// choose a shard without locking all of them.
	tailStamp atomic.Int64

	hits, misses, evictions, expired int64

	_ [64]byte // keeps neighbouring shards' locks off one cache line
}

// Store is a sharded in-memory byte cache, safe for concurrent use. Create it
// with NewStore.
type Store struct {
	shards    [numShards]shard
	seed      maphash.Seed
	maxMemory int64
	used      atomic.Int64
	now       func() time.Time
	epoch     time.Time // real clock, for LRU stamps
	started   time.Time // Options.Now clock, for uptime
	events    hub       // subscribers of the key events (events.go)
}

// NewStore returns an empty store.
func NewStore(opts Options) *Store {
	s := &Store{
		seed:      maphash.MakeSeed(),
		maxMemory: max(opts.MaxMemory, 0),
		now:       opts.Now,
		epoch:     time.Now(),
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.started = s.now()
	for i := range s.shards {
		s.shards[i].buckets = make([]*entry, minBuckets)
		s.shards[i].tailStamp.Store(math.MaxInt64)
	}
	return s
}

func (s *Store) nowNano() int64 { return s.now().UnixNano() }

// stamp reads the monotonic clock: LRU order must not depend on Options.Now,
// which tests freeze.
func (s *Store) stamp() int64 { return int64(time.Since(s.epoch)) }

func (s *Store) locate(key string) (uint64, *shard) {
	h := maphash.String(s.seed, key)
	return h, &s.shards[h>>shardShift]
}

// Get returns the entry under key; an expired entry is removed and missed.
func (s *Store) Get(key string) (Entry, bool) {
	h, sh := s.locate(key)
	sh.mu.Lock()
	e := sh.lookup(h, key)
	if e == nil {
		sh.misses++
		sh.mu.Unlock()
		return Entry{}, false
	}
	ttl := NoExpiry
	if e.expireAt != 0 {
		now := s.nowNano()
		if e.expired(now) {
			s.remove(sh, e)
			sh.expired++
			sh.misses++
			sh.maybeShrink()
			sh.mu.Unlock()
			s.emit(EventExpired, key)
			return Entry{}, false
		}
		ttl = e.ttl(now)
	}
	sh.hits++
	if s.maxMemory > 0 {
		// Without a bound nothing is evicted, so the LRU order is not
		// worth a clock read and a list update on every hit.
		sh.touch(e, s.stamp())
	}
	out := Entry{Value: e.value, Format: e.format, TTL: ttl}
	sh.mu.Unlock()
	return out, true
}

// Set stores value under key, replacing any entry. ttl <= 0 means no expiry
// (above MaxTTL, MaxTTL).
// The store keeps value as it is: the caller must not modify it afterwards.
// It evicts least recently used entries to stay within MaxMemory.
func (s *Store) Set(key string, value []byte, ttl time.Duration, format string) error {
	if key == "" {
		return ErrEmptyKey
	}
	ttl = min(ttl, MaxTTL)
	size := int64(len(key)+len(value)+len(format)) + entryOverhead
	if s.maxMemory > 0 && size > s.maxMemory {
		return ErrTooLarge
	}
	var expireAt int64
	if ttl > 0 {
		expireAt = s.nowNano() + int64(ttl)
	}
	stamp := s.stamp()
	h, sh := s.locate(key)
	sh.mu.Lock()
	if e := sh.lookup(h, key); e != nil {
		if s.events.active() && e.expired(s.nowNano()) {
			// Overwritten after its TTL ran out but before a sweep found it.
			s.emit(EventExpired, key)
		}
		delta := size - e.size()
		// Replacing the fields, not the slice's bytes, keeps values that
		// readers still hold intact.
		e.value, e.format, e.expireAt = value, strings.Clone(format), expireAt
		sh.bytes += delta
		s.used.Add(delta)
		sh.touch(e, stamp)
		key = e.key
	} else {
		// Clone: the key may be a slice of a request's query string, which
		// the store must not keep alive.
		e := &entry{key: strings.Clone(key), value: value, format: strings.Clone(format), hash: h, expireAt: expireAt, stamp: stamp}
		sh.insert(e)
		sh.bytes += size
		s.used.Add(size)
		key = e.key
	}
	sh.mu.Unlock()
	s.emit(EventSet, key)
	if s.maxMemory > 0 && s.used.Load() > s.maxMemory {
		s.evict()
	}
	return nil
}

// Delete removes key and reports whether it was there (and not expired).
func (s *Store) Delete(key string) bool {
	h, sh := s.locate(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.lookup(h, key)
	if e == nil {
		return false
	}
	live := !e.expired(s.nowNano())
	if live {
		s.emit(EventDel, e.key)
	} else {
		sh.expired++
		s.emit(EventExpired, e.key)
	}
	s.remove(sh, e)
	sh.maybeShrink()
	return live
}

// Expire sets the remaining lifetime of an existing key; ttl <= 0 removes its
// expiry. It reports whether the key exists.
func (s *Store) Expire(key string, ttl time.Duration) bool {
	ttl = min(ttl, MaxTTL)
	h, sh := s.locate(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.lookup(h, key)
	if e == nil {
		return false
	}
	now := s.nowNano()
	if e.expired(now) {
		s.remove(sh, e)
		sh.expired++
		sh.maybeShrink()
		s.emit(EventExpired, e.key)
		return false
	}
	e.expireAt = 0
	if ttl > 0 {
		e.expireAt = now + int64(ttl)
	}
	s.emit(EventExpire, e.key)
	return true
}

// Scan returns one page of the keys matching the glob match (Redis
// semantics; "" matches nothing, "*" everything) and the cursor of the next
// page, "" when the listing is complete. cursor is "" for the first page.
// count is the wished page size (<= 0: DefaultCount, at most MaxCount); a
// page may hold fewer keys, even none, and still not be the last, and holds
// more only when one hash bucket alone has more than count matches.
func (s *Store) Scan(cursor, match string, count int) ([]KeyInfo, string, error) {
	pos, err := parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	if count <= 0 {
		count = DefaultCount
	}
	count = min(count, MaxCount)
	if key, exact := glob.Literal(match); exact {
		// One key at most: look it up instead of walking the store.
		if pos != 0 {
			return []KeyInfo{}, "", nil
		}
		return s.lookupInfo(key), "", nil
	}

	out := make([]KeyInfo, 0, min(count, 256))
	// budget bounds the work of one page when few keys match: each bucket
	// and each entry looked at costs one.
	budget := 10*count + 1024
	now := s.nowNano()
	si, v := pos>>shardShift, pos&posMask
	for ; si < numShards; si, v = si+1, 0 {
		sh := &s.shards[si]
		sh.mu.Lock()
		for step := 1; ; step++ {
			mask := uint64(len(sh.buckets) - 1)
			before := len(out)
			for e := sh.buckets[v&mask]; e != nil; e = e.chain {
				budget--
				if !e.expired(now) && glob.Match(match, e.key) {
					out = append(out, KeyInfo{Key: e.key, Size: len(e.value), Format: e.format, TTL: e.ttl(now)})
				}
			}
			if len(out) > count && before > 0 {
				// This bucket would overfill the page: leave it for the next.
				sh.mu.Unlock()
				return out[:before], formatCursor(si, v), nil
			}
			budget--
			v = nextPos(v, mask)
			if v == 0 {
				break // shard done
			}
			if len(out) >= count || budget <= 0 {
				sh.mu.Unlock()
				return out, formatCursor(si, v), nil
			}
			if step%walkBatch == 0 {
				// Let writers in; the position stays valid whatever they do.
				sh.mu.Unlock()
				sh.mu.Lock()
			}
		}
		sh.mu.Unlock()
		if (len(out) >= count || budget <= 0) && si+1 < numShards {
			return out, formatCursor(si+1, 0), nil
		}
	}
	return out, "", nil
}

func (s *Store) lookupInfo(key string) []KeyInfo {
	h, sh := s.locate(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := s.nowNano()
	if e := sh.lookup(h, key); e != nil && !e.expired(now) {
		return []KeyInfo{{Key: e.key, Size: len(e.value), Format: e.format, TTL: e.ttl(now)}}
	}
	return []KeyInfo{}
}

// Invalidate deletes every key matching any of the globs (with dryRun, only
// counts them). matched counts keys that matched when visited, deleted those
// removed. It stops early, returning ctx.Err() and what was done so far, when
// ctx ends.
func (s *Store) Invalidate(ctx context.Context, match []string, dryRun bool) (matched, deleted int64, err error) {
	if len(match) == 0 {
		return 0, 0, nil
	}
	if keys, ok := literalKeys(match); ok {
		for _, k := range keys {
			if dryRun {
				if len(s.lookupInfo(k)) > 0 {
					matched++
				}
			} else if s.Delete(k) {
				matched++
				deleted++
			}
		}
		return matched, deleted, nil
	}
	for i := range s.shards {
		if err := ctx.Err(); err != nil {
			return matched, deleted, err
		}
		s.walk(&s.shards[i], func(e *entry) bool {
			for _, p := range match {
				if glob.Match(p, e.key) {
					matched++
					if !dryRun {
						deleted++
					}
					return !dryRun
				}
			}
			return false
		})
	}
	return matched, deleted, nil
}

// InvalidateChunk is Invalidate in bounded steps, so that a client can
// report exact progress and lose at most one step's fate to a failure. It
// starts at cursor ("" the first time) and stops once limit keys are deleted
// (matched, for a dry run) or budget has passed (<= 0: no time bound),
// returning the cursor to continue from, "" when done. A key present for the
// whole run is visited at least once, as Scan promises; a dry run may count a
// key twice when the table shrinks between steps.
func (s *Store) InvalidateChunk(ctx context.Context, match []string, dryRun bool, cursor string, limit int, budget time.Duration) (matched, deleted int64, next string, err error) {
	pos, err := parseCursor(cursor)
	if err != nil || pos>>shardShift >= numShards {
		return 0, 0, "", ErrBadCursor
	}
	if len(match) == 0 {
		return 0, 0, "", nil
	}
	limit = max(limit, 1)
	if keys, ok := literalKeys(match); ok && cursor == "" && len(keys) <= limit {
		matched, deleted, err = s.Invalidate(ctx, match, dryRun)
		return matched, deleted, "", err
	}
	start := time.Now() // the real clock: Options.Now may be frozen by tests
	n := int64(limit)
	si, v := pos>>shardShift, pos&posMask
	for ; si < numShards; si, v = si+1, 0 {
		if err := ctx.Err(); err != nil {
			return matched, deleted, formatCursor(si, v), err
		}
		sh := &s.shards[si]
		sh.mu.Lock()
		sh.walkers++ // no shrinking under this step: each bucket is seen once
		now := s.nowNano()
		stop := func(at uint64) (int64, int64, string, error) {
			sh.walkers--
			sh.maybeShrink()
			sh.mu.Unlock()
			return matched, deleted, formatCursor(si, at), nil
		}
		for step := 1; ; step++ {
			mask := uint64(len(sh.buckets) - 1)
			for e := sh.buckets[v&mask]; e != nil; {
				following := e.chain
				switch {
				case e.expired(now):
					s.remove(sh, e)
					sh.expired++
					s.emit(EventExpired, e.key)
				case matchesAny(match, e.key):
					if !dryRun && deleted >= n {
						// This bucket holds more: come back to it.
						return stop(v)
					}
					matched++
					if !dryRun {
						s.remove(sh, e)
						deleted++
						s.emit(EventDel, e.key)
					}
				}
				e = following
			}
			if v = nextPos(v, mask); v == 0 {
				break // shard done
			}
			if deleted >= n || (dryRun && matched >= n) ||
				(budget > 0 && step%64 == 0 && time.Since(start) >= budget) {
				return stop(v)
			}
			if step%walkBatch == 0 {
				// Let readers and writers in; the position stays valid.
				sh.mu.Unlock()
				sh.mu.Lock()
			}
		}
		sh.walkers--
		sh.maybeShrink()
		sh.mu.Unlock()
		if si+1 < numShards && (deleted >= n || (dryRun && matched >= n) || (budget > 0 && time.Since(start) >= budget)) {
			return matched, deleted, formatCursor(si+1, 0), nil
		}
	}
	return matched, deleted, "", nil
}

func matchesAny(patterns []string, key string) bool {
	for _, p := range patterns {
		if glob.Match(p, key) {
			return true
		}
	}
	return false
}

// literalKeys returns the distinct keys the patterns name when every pattern
// is literal, so that Invalidate can look them up instead of walking.
func literalKeys(patterns []string) ([]string, bool) {
	seen := make(map[string]bool, len(patterns))
	keys := make([]string, 0, len(patterns))
	for _, p := range patterns {
		k, exact := glob.Literal(p)
		if !exact {
			return nil, false
		}
		if !seen[k] && k != "" {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys, true
}

// SweepExpired removes expired entries from the whole store and returns how
// many; Get and the other accessors also remove them lazily. It stops early
// when ctx ends.
func (s *Store) SweepExpired(ctx context.Context) int64 {
	var n int64
	for i := range s.shards {
		if ctx.Err() != nil {
			break
		}
		n += s.walk(&s.shards[i], nil)
	}
	return n
}

// Run sweeps expired entries every interval (<= 0: one second) until ctx
// ends, then returns. Its owner runs it in a goroutine and cancels ctx.
func (s *Store) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	s.runLoop(ctx, t.C)
}

// runLoop is Run with its ticks as a parameter, so tests can drive it.
func (s *Store) runLoop(ctx context.Context, ticks <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			s.SweepExpired(ctx)
		}
	}
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	st := Stats{MaxBytes: s.maxMemory}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		st.Keys += sh.count
		st.Bytes += sh.bytes
		st.Hits += sh.hits
		st.Misses += sh.misses
		st.Evictions += sh.evictions
		st.Expired += sh.expired
		sh.mu.Unlock()
	}
	st.Uptime = max(s.now().Sub(s.started), 0)
	return st
}

// walk visits every entry of sh, removing expired ones and those fn (when
// not nil) asks to remove, and returns how many expired ones it removed. It
// releases the lock every walkBatch buckets, so a large shard does not stall
// readers; shrinking waits until it is done so that no entry is seen twice
// (growing cannot cause that).
func (s *Store) walk(sh *shard, fn func(*entry) (remove bool)) int64 {
	var expired int64
	now := s.nowNano()
	sh.mu.Lock()
	sh.walkers++
	var v uint64
	for done := false; !done; {
		mask := uint64(len(sh.buckets) - 1)
		for range walkBatch {
			for e := sh.buckets[v&mask]; e != nil; {
				next := e.chain
				if e.expired(now) {
					s.remove(sh, e)
					sh.expired++
					expired++
					s.emit(EventExpired, e.key)
				} else if fn != nil && fn(e) {
					s.remove(sh, e)
					s.emit(EventDel, e.key)
				}
				e = next
			}
			if v = nextPos(v, mask); v == 0 {
				done = true
				break
			}
		}
		if !done {
			sh.mu.Unlock()
			sh.mu.Lock()
		}
	}
	sh.walkers--
	sh.maybeShrink()
	sh.mu.Unlock()
	return expired
}

// evict removes least recently used entries until the store is within
// MaxMemory, taking each from the shard whose LRU tail is the oldest.
func (s *Store) evict() {
	for s.used.Load() > s.maxMemory {
		best, oldest := -1, int64(math.MaxInt64)
		for i := range s.shards {
			if t := s.shards[i].tailStamp.Load(); t < oldest {
				best, oldest = i, t
			}
		}
		if best < 0 {
			return
		}
		sh := &s.shards[best]
		sh.mu.Lock()
		if e := sh.tail; e != nil {
			// An expired tail is counted as what it is.
			if e.expired(s.nowNano()) {
				sh.expired++
				s.emit(EventExpired, e.key)
			} else {
				sh.evictions++
				s.emit(EventEvicted, e.key)
			}
			s.remove(sh, e)
			sh.maybeShrink()
		}
		sh.mu.Unlock()
	}
}

// remove unlinks e from its shard (locked by the caller) without shrinking
// the table, so walks can remove as they go.
func (s *Store) remove(sh *shard, e *entry) {
	p := &sh.buckets[e.hash&uint64(len(sh.buckets)-1)]
	for *p != e {
		p = &(*p).chain
	}
	*p = e.chain
	e.chain = nil
	sh.lruUnlink(e)
	sh.count--
	size := e.size()
	sh.bytes -= size
	s.used.Add(-size)
}

func (sh *shard) lookup(h uint64, key string) *entry {
	for e := sh.buckets[h&uint64(len(sh.buckets)-1)]; e != nil; e = e.chain {
		if e.hash == h && e.key == key {
			return e
		}
	}
	return nil
}

func (sh *shard) insert(e *entry) {
	i := e.hash & uint64(len(sh.buckets)-1)
	e.chain = sh.buckets[i]
	sh.buckets[i] = e
	sh.lruPushFront(e)
	sh.count++
	if sh.count > int64(len(sh.buckets)) && len(sh.buckets) < maxBuckets {
		sh.resize(2 * len(sh.buckets))
	}
}

// maybeShrink halves the table (or more) once it is at most 1/8 full, so a
// mass deletion gives memory back; the gap to the growth threshold (full)
// keeps a table from flapping.
func (sh *shard) maybeShrink() {
	n := len(sh.buckets)
	if sh.walkers > 0 || n <= minBuckets || sh.count*8 > int64(n) {
		return
	}
	for n > minBuckets && sh.count*4 <= int64(n) {
		n /= 2
	}
	sh.resize(n)
}

func (sh *shard) resize(n int) {
	nb := make([]*entry, n)
	mask := uint64(n - 1)
	for _, e := range sh.buckets {
		for e != nil {
			next := e.chain
			i := e.hash & mask
			e.chain = nb[i]
			nb[i] = e
			e = next
		}
	}
	sh.buckets = nb
}

func (sh *shard) touch(e *entry, stamp int64) {
	e.stamp = stamp
	if sh.head != e {
		sh.lruUnlink(e)
		sh.lruPushFront(e)
	} else if sh.tail == e {
		sh.tailStamp.Store(stamp)
	}
}

func (sh *shard) lruPushFront(e *entry) {
	e.newer, e.older = nil, sh.head
	if sh.head != nil {
		sh.head.newer = e
	} else {
		sh.tail = e
	}
	sh.head = e
	sh.syncTail()
}

func (sh *shard) lruUnlink(e *entry) {
	if e.newer != nil {
		e.newer.older = e.older
	} else {
		sh.head = e.older
	}
	if e.older != nil {
		e.older.newer = e.newer
	} else {
		sh.tail = e.newer
	}
	e.newer, e.older = nil, nil
	sh.syncTail()
}

func (sh *shard) syncTail() {
	if sh.tail == nil {
		sh.tailStamp.Store(math.MaxInt64)
	} else {
		sh.tailStamp.Store(sh.tail.stamp)
	}
}

// nextPos advances a bucket position in reverse-binary order for a table of
// mask+1 buckets: it increments the reversed bits. Positions 0..mask are each
// visited once, and a position stays meaningful when the table doubles or
// halves (Redis' dictScan argument). It returns 0 after the last bucket.
func nextPos(v, mask uint64) uint64 {
	v |= ^mask
	v = bits.Reverse64(v)
	v++
	return bits.Reverse64(v)
}

// formatCursor packs a shard and a bucket position into the opaque cursor.
func formatCursor(shardIndex, pos uint64) string {
	return strconv.FormatUint(shardIndex<<shardShift|pos, 10)
}

func parseCursor(c string) (uint64, error) {
	if c == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(c, 10, 64)
	if err != nil {
		return 0, ErrBadCursor
	}
	return v, nil
}
