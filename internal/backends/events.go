package backends

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cachectl/cachectl/internal/glob"
)

// Event kinds: what happened to a key (DESIGN 12.3). Every backend maps its
// own event names onto these; Event.Detail keeps the server's own word.
const (
	EventSet     = "set"     // written: created, overwritten or modified in place
	EventDel     = "del"     // deleted (or renamed away)
	EventExpired = "expired" // removed because its TTL ran out
	EventEvicted = "evicted" // removed by the server to free memory
	EventExpire  = "expire"  // its TTL was set, changed or removed
	EventGet     = "get"     // read (memcached's fetchers, only when asked for)
	EventGap     = "gap"     // events may have been missed (Since to Time)
)

// Event is one thing that happened to a key, as a watch reports it.
type Event struct {
	// Time is when the server logged it, else when it arrived; for a gap,
	// when events flow again.
	Time time.Time
	Kind string
	Key  string // "" for a gap that concerns a whole node
	// Node is the address the event came from (a pool member, a cluster
	// primary, the Sentinel master).
	Node string
	// Detail is the server's own name for what happened ("lpush",
	// "append", "md"), and for a gap why it happened.
	Detail string
	// Since is, for a gap, the moment from which events may be missing
	// (zero when unknown); Time - Since is how long.
	Since time.Time
}

// WatchOptions shape a watch.
type WatchOptions struct {
	// Patterns keep the events of keys matching any of them (Redis glob
	// syntax, client-side); none keeps every key. Gaps always pass.
	Patterns []string
	// EnableNotifications lets a Redis watch turn keyspace notifications on
	// where they are off (CONFIG SET notify-keyspace-events), adding only
	// the classes it needs; the old value is restored when the watch ends.
	// Callers refuse it in read-only mode.
	EnableNotifications bool
	// Fetches adds reads (EventGet) where the server reports them
	// (memcached's watch fetchers).
	Fetches bool
	// Ready, when set, is called once every node's subscription is
	// confirmed: events from then on are seen.
	Ready func()
}

// Watcher is a backend that can stream key events. Watch calls fn for each
// event of a key matching opts.Patterns, never concurrently, until ctx ends
// (it returns ctx's error) or fn fails (it returns that error). It returns an
// error at once when the watch cannot start (server unreachable, events
// unavailable); after that, a lost connection is retried and reported as an
// EventGap once events flow again. Meant to run in a goroutine of its own
// (the dashboard feeds a channel from fn).
type Watcher interface {
	Watch(ctx context.Context, opts WatchOptions, fn func(Event) error) error
}

// NotificationsOffError: a Redis node's notify-keyspace-events lacks the
// classes a watch needs, so it would see no (or only some) events.
type NotificationsOffError struct {
	Node    string
	Value   string // the server's notify-keyspace-events
	Missing string // the classes to add
	// During: they were on when the watch started and were turned off
	// under it (someone's CONFIG SET, another watch putting its old value back).
	During bool
}

func (e *NotificationsOffError) Error() string {
	state := "off"
	if e.Value != "" {
		state = "incomplete"
	}
	if e.During {
		return fmt.Sprintf("keyspace notifications were turned %s on %s during the watch (notify-keyspace-events became %q; a watch needs %q added)", state, e.Node, e.Value, e.Missing)
	}
	return fmt.Sprintf("keyspace notifications are %s on %s (notify-keyspace-events is %q; a watch needs %q added)", state, e.Node, e.Value, e.Missing)
}

// EventSink hands events from several goroutines (one per node) to one fn,
// one at a time, keeping only the keys matching the patterns. Its first
// error is sticky: once fn failed, Emit returns that error to everyone.
type EventSink struct {
	patterns []string
	fn       func(Event) error

	mu  sync.Mutex
	err error
}

// NewEventSink filters by patterns (none or a "*" keeps every key) and
// serialises calls of fn.
func NewEventSink(patterns []string, fn func(Event) error) *EventSink {
	s := &EventSink{fn: fn}
	for _, p := range patterns {
		if glob.MatchesAll(p) {
			s.patterns = nil
			break
		}
		s.patterns = append(s.patterns, p)
	}
	return s
}

// Matches reports whether key passes the patterns.
func (s *EventSink) Matches(key string) bool {
	if len(s.patterns) == 0 {
		return true
	}
	for _, p := range s.patterns {
		if glob.Match(p, key) {
			return true
		}
	}
	return false
}

// Emit delivers e if it passes (a gap always does).
func (s *EventSink) Emit(e Event) error {
	if e.Kind != EventGap && !s.Matches(e.Key) {
		return s.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.err = s.fn(e)
	return s.err
}

// Err is fn's first error, nil while it has returned none.
func (s *EventSink) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
