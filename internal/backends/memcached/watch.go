package memcached

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/mcproto"
)

var _ backends.Watcher = (*Backend)(nil)

// Watch streams the key events of every server of the pool from memcached's
// own log ("watch mutations evictions", memcached 1.5.19+; "deletions" where
// the server has it), each on a connection of its own. A server that drops
// the stream is reconnected and a gap reported.
func (b *Backend) Watch(ctx context.Context, opts backends.WatchOptions, fn func(backends.Event) error) error {
	sink := backends.NewEventSink(opts.Patterns, fn)
	ctx, cancel := context.WithCancel(ctx)
	starts := make(chan error, len(b.servers))
	done := make(chan error, len(b.servers))
	var wg sync.WaitGroup
	for _, s := range b.servers {
		wg.Go(func() {
			err := b.watchServer(ctx, s, opts.Fetches, sink, func(err error) { starts <- err })
			if err != nil && ctx.Err() == nil {
				done <- err
			}
		})
	}
	// The other servers' streams end with ctx: cancel before waiting.
	defer func() { cancel(); wg.Wait() }()
	for range b.servers {
		if err := <-starts; err != nil {
			return err
		}
	}
	if opts.Ready != nil {
		opts.Ready()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case err := <-done:
		return err
	}
}

// watchFlags are what a watch asks a server for, most first; a server that
// refuses them (deletions came after 1.6.18) is asked with fewer.
func watchFlags(fetches, deletions bool) []string {
	f := []string{"mutations", "evictions"}
	if deletions {
		f = append(f, "deletions")
	}
	if fetches {
		f = append(f, "fetchers")
	}
	return f
}

// watchServer follows one server's log until ctx ends or the sink fails.
// The first connection's failure goes to started and ends it; later ones
// are retried, and reported as a gap once the stream is back.
func (b *Backend) watchServer(ctx context.Context, s *server, fetches bool, sink *backends.EventSink, started func(error)) error {
	deletions, warnDeletions := true, false
	first, down := true, false
	var since time.Time
	var why string
	const minBackoff, maxBackoff = 100 * time.Millisecond, 2 * time.Second
	backoff := minBackoff
	for {
		subscribed := false
		var up time.Time
		err := b.watchOnce(ctx, s, watchFlags(fetches, deletions), func() {
			subscribed, up = true, time.Now()
			if warnDeletions {
				// Said once the server took the watch without them: one
				// that refuses every watch lacks more than deletions.
				warnDeletions = false
				b.warn(s.addr + " does not report deletions (no `watch deletions`; newer memcached has it): del events of its keys are not seen")
			}
			if first {
				started(nil)
			} else if err := sink.Emit(backends.Event{Time: time.Now(), Kind: backends.EventGap, Node: s.addr, Since: since, Detail: "reconnected after " + why}); err != nil {
				return
			}
			first, down = false, false
		}, sink)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if serr := sink.Err(); serr != nil {
			return serr
		}
		if errors.Is(err, mcproto.ErrWatchRefused) && deletions && !subscribed {
			deletions, warnDeletions = false, true
			continue
		}
		if first {
			err = watchStartErr(s, err)
			started(err)
			return err
		}
		if !down {
			down, since = true, time.Now()
			why = watchLostReason(err)
			b.warn(fmt.Sprintf("lost the log stream of %s at %s (%s); reconnecting", s.addr, since.Format("15:04:05.000"), why))
		}
		if subscribed && time.Since(up) >= maxBackoff {
			// The stream lasted: reconnect at once. One that fails as soon
			// as it is accepted keeps backing off, so a server in that
			// state costs a gap every 2 s, not ten a second.
			backoff = minBackoff
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// watchStartErr says why a server's log could not be followed.
func watchStartErr(s *server, err error) error {
	switch {
	case errors.Is(err, mcproto.ErrWatchRefused):
		return &backends.UnsupportedError{What: "watching " + s.addr + " (it refuses `watch mutations evictions`: memcached before 1.5.19?)"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &backends.UnsupportedError{What: "watching through " + s.addr + " (it closed the connection on `watch`: a proxy such as twemproxy? watch the memcached servers behind it)"}
	}
	return connErr(s.addr, s.timeout, err)
}

func watchLostReason(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "connection closed by server"
	}
	var ce *backends.ConnError
	if errors.As(err, &ce) {
		return ce.Err.Error()
	}
	return err.Error()
}

// watchOnce streams one connection's log into sink.
func (b *Backend) watchOnce(ctx context.Context, s *server, flags []string, started func(), sink *backends.EventSink) error {
	c, err := mcproto.DialWith(ctx, mcproto.DialFunc(s.dial), s.addr, s.timeout)
	if err != nil {
		return connErr(s.addr, s.timeout, err)
	}
	defer c.Close()
	fetches := slices.Contains(flags, "fetchers")
	return c.Watch(ctx, flags, started, func(e mcproto.LogEntry) error {
		ev, ok := logEvent(e, fetches)
		if !ok {
			return nil
		}
		ev.Node = s.addr
		return sink.Emit(ev)
	})
}

// logEvent maps a log entry to a watch event; ok false for entries that
// change nothing (a store that failed, a miss) or that were not asked for.
func logEvent(e mcproto.LogEntry, fetches bool) (backends.Event, bool) {
	ev := backends.Event{Time: e.Time, Key: e.Key, Detail: e.Cmd}
	switch {
	case e.Type == "item_store" && e.Status == "stored":
		ev.Kind = backends.EventSet
	case e.Type == "deleted":
		ev.Kind = backends.EventDel
	case e.Type == "eviction":
		ev.Kind = backends.EventEvicted
	case e.Type == "item_get" && fetches && e.Status == "found":
		ev.Kind = backends.EventGet
	case e.Type == "item_get" && fetches && e.Status == "expired":
		// memcached expires lazily: a read is when it finds out.
		ev.Kind, ev.Detail = backends.EventExpired, "noticed by a read"
	case e.Skipped > 0:
		ev = backends.Event{Time: time.Now(), Kind: backends.EventGap, Detail: fmt.Sprintf("the server dropped %d log entries: the watch fell behind", e.Skipped)}
	case e.Unreadable != nil:
		ev = backends.Event{Time: time.Now(), Kind: backends.EventGap, Detail: "a log entry could not be read (" + e.Unreadable.Error() + ")"}
	default:
		return ev, false
	}
	if ev.Kind != backends.EventGap && ev.Key == "" {
		return ev, false
	}
	return ev, true
}
