package memserver

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachectl/cachectl/internal/glob"
)

// Event kinds a Store publishes, the names of the protocol's events stream
// (docs/http-protocol.md, "GET /v1/events").
const (
	EventSet     = "set"
	EventDel     = "del"
	EventExpired = "expired"
	EventEvicted = "evicted"
	EventExpire  = "expire"
)

const (
	// DefaultEventBuffer is how many events a subscriber may be behind
	// before newer ones are dropped and a gap is reported instead.
	DefaultEventBuffer = 4096
	// MaxSubscribers bounds the event streams open at once: every write
	// costs a glob match per subscriber.
	MaxSubscribers = 64
)

// ErrTooManySubscribers: MaxSubscribers streams are already open.
var ErrTooManySubscribers = errors.New("too many event subscribers")

// Event is one change of a key, as the events stream sends it.
type Event struct {
	Time time.Time
	Kind string
	Key  string
}

// hub fans a store's events out to its subscribers. Publishing never blocks
// and never allocates beyond a subscriber's bounded buffer: a subscriber
// that does not keep up loses the newest events and learns so as a gap.
type hub struct {
	n    atomic.Int32 // subscribers, read without the lock on every write
	mu   sync.RWMutex
	subs map[*Subscription]struct{}
}

// Subscription is one subscriber's stream of events. Its owner waits on
// Ready and takes what arrived with Take; Close ends it.
type Subscription struct {
	h     *hub
	match string
	ready chan struct{} // a token when events (or a gap) wait

	mu        sync.Mutex
	buf       []Event
	limit     int
	dropped   int64
	dropSince time.Time
}

// Gap says that events were dropped because the subscriber fell behind:
// Dropped of them, from Since (the first one lost) on.
type Gap struct {
	Dropped int64
	Since   time.Time
}

// Subscribe starts a subscription to the events of keys matching the glob
// match ("*" every key), keeping at most buffer of them waiting (<= 0:
// DefaultEventBuffer). Events published after it returns are seen.
func (s *Store) Subscribe(match string, buffer int) (*Subscription, error) {
	if buffer <= 0 {
		buffer = DefaultEventBuffer
	}
	h := &s.events
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) >= MaxSubscribers {
		return nil, ErrTooManySubscribers
	}
	if h.subs == nil {
		h.subs = map[*Subscription]struct{}{}
	}
	sub := &Subscription{h: h, match: match, ready: make(chan struct{}, 1), limit: buffer}
	if glob.MatchesAll(match) {
		sub.match = ""
	}
	h.subs[sub] = struct{}{}
	h.n.Store(int32(len(h.subs)))
	return sub, nil
}

// Ready has a token when Take has something to return.
func (sub *Subscription) Ready() <-chan struct{} { return sub.ready }

// Take returns the events waiting, oldest first, and the gap that follows
// them (Dropped 0: none); the slice is the caller's.
func (sub *Subscription) Take() ([]Event, Gap) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	evs, gap := sub.buf, Gap{Dropped: sub.dropped, Since: sub.dropSince}
	sub.buf, sub.dropped, sub.dropSince = nil, 0, time.Time{}
	return evs, gap
}

// Close ends the subscription; later events are not kept for it.
func (sub *Subscription) Close() {
	h := sub.h
	h.mu.Lock()
	delete(h.subs, sub)
	h.n.Store(int32(len(h.subs)))
	h.mu.Unlock()
}

func (sub *Subscription) push(e Event) {
	if sub.match != "" && !glob.Match(sub.match, e.Key) {
		return
	}
	sub.mu.Lock()
	if len(sub.buf) < sub.limit {
		sub.buf = append(sub.buf, e)
	} else {
		if sub.dropped == 0 {
			sub.dropSince = e.Time
		}
		sub.dropped++
	}
	sub.mu.Unlock()
	select {
	case sub.ready <- struct{}{}:
	default: // a token already waits
	}
}

// active is the writers' fast path: without subscribers an event costs one
// atomic load and no clock read.
func (h *hub) active() bool { return h.n.Load() > 0 }

func (h *hub) publish(e Event) {
	h.mu.RLock()
	for sub := range h.subs {
		sub.push(e)
	}
	h.mu.RUnlock()
}

// emit publishes one event of key at the store's clock, if anyone listens.
func (s *Store) emit(kind, key string) {
	if s.events.active() {
		s.events.publish(Event{Time: s.now(), Kind: kind, Key: key})
	}
}
