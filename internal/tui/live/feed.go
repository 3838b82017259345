package live

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/glob"
)

// maxPending bounds the keys a batch holds: past it, further events are
// counted and dropped, and the batch says so (the list then lists again).
// Whatever the rate, a feed holds at most this many events.
const maxPending = 16384

// frame is the least time between two batches: a burst of events is
// applied once per frame, not once per event.
const frame = 40 * time.Millisecond

// batchMsg is what a feed gathered since the last one.
type batchMsg struct {
	gen     int
	pattern string
	events  []backends.Event // the last of each key, in first-seen order
	dropped int64            // events dropped past maxPending
	gap     *backends.Event  // the last gap reported, if any
	ready   bool             // the subscription is confirmed
}

// endedMsg: the watch returned (it could not start, or it failed).
type endedMsg struct {
	gen int
	err error
}

// feed runs one Watch in a goroutine of its own. The watch's callback only
// files the event under a mutex and never waits on the UI, so a slow frame
// cannot back pressure up into the server connection; the UI takes what
// was filed, coalesced, at most once a frame.
type feed struct {
	gen    int
	ctx    context.Context
	cancel context.CancelFunc
	signal chan struct{} // something was filed (capacity 1)
	done   chan error    // Watch returned (capacity 1)
	ended  chan struct{} // closed once Watch returned
	total  atomic.Int64  // events of the filter, for the rate

	mu      sync.Mutex
	pattern string
	all     bool // pattern matches every key
	events  []backends.Event
	index   map[string]int
	dropped int64
	gap     *backends.Event
	ready   bool
}

func startFeed(ctx context.Context, w backends.Watcher, pattern string, enable bool, gen int) *feed {
	ctx, cancel := context.WithCancel(ctx)
	f := &feed{gen: gen, ctx: ctx, cancel: cancel, signal: make(chan struct{}, 1), done: make(chan error, 1), ended: make(chan struct{})}
	f.setPattern(pattern)
	opts := backends.WatchOptions{EnableNotifications: enable, Ready: func() {
		f.mu.Lock()
		f.ready = true
		f.mu.Unlock()
		f.poke()
	}}
	go func() {
		defer close(f.ended)
		f.done <- w.Watch(ctx, opts, f.file)
	}()
	return f
}

// setPattern follows the key list's filter: events of other keys are
// dropped here, and what was filed for the old filter goes.
func (f *feed) setPattern(p string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p == f.pattern {
		return
	}
	f.pattern, f.all = p, glob.MatchesAll(p)
	f.events, f.index, f.dropped = nil, nil, 0
}

// file is the watch's callback.
func (f *feed) file(e backends.Event) error {
	if e.Kind == backends.EventGet {
		return nil
	}
	f.mu.Lock()
	switch {
	case e.Kind == backends.EventGap:
		g := e
		f.gap = &g
	case !f.all && !glob.Match(f.pattern, e.Key):
		f.mu.Unlock()
		return nil
	default:
		f.total.Add(1)
		if i, ok := f.index[e.Key]; ok {
			f.events[i] = e // a key's last event is what it now is
		} else if len(f.events) < maxPending {
			if f.index == nil {
				f.index = make(map[string]int)
			}
			f.index[e.Key] = len(f.events)
			f.events = append(f.events, e)
		} else {
			f.dropped++
		}
	}
	f.mu.Unlock()
	f.poke()
	return nil
}

func (f *feed) poke() {
	select {
	case f.signal <- struct{}{}:
	default:
	}
}

// take empties what was filed into a batch.
func (f *feed) take() batchMsg {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := batchMsg{gen: f.gen, pattern: f.pattern, events: f.events, dropped: f.dropped, gap: f.gap, ready: f.ready}
	f.events, f.index, f.dropped, f.gap = nil, nil, 0, nil
	return m
}

// next waits for something filed, lets the burst gather for a frame, and
// hands it over; or reports that the watch ended.
func (f *feed) next() tea.Cmd {
	return func() tea.Msg {
		select {
		case <-f.signal:
		case err := <-f.done:
			return endedMsg{gen: f.gen, err: err}
		case <-f.ctx.Done():
			return nil
		}
		t := time.NewTimer(frame)
		defer t.Stop()
		select {
		case <-t.C:
		case <-f.ctx.Done():
			return nil
		}
		return f.take()
	}
}

func (f *feed) stop() {
	if f != nil {
		f.cancel()
	}
}

// wait gives a stopped watch up to d to wind down: a Redis watch that
// turned notifications on puts the old value back on its way out.
func (f *feed) wait(d time.Duration) {
	if f == nil {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-f.ended:
	case <-t.C:
	}
}
