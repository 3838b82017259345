package httpmem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/glob"
	"github.com/cachectl/cachectl/internal/jsonbytes"
)

var (
	_ backends.Watcher = (*Backend)(nil)
	_ backends.Watcher = (*Pool)(nil)
)

// capEvents is the capability of GET /v1/events (docs/http-protocol.md).
const capEvents = "events"

// defaultHeartbeat is what a stream without a Cache-Heartbeat header is
// taken to send.
const defaultHeartbeat = 15 * time.Second

// Watch streams the key events of the server (GET /v1/events). A lost
// stream is reopened, with a backoff, and reported as a gap.
func (b *Backend) Watch(ctx context.Context, opts backends.WatchOptions, fn func(backends.Event) error) error {
	sink := backends.NewEventSink(opts.Patterns, fn)
	err := b.follow(ctx, b.display, serverMatch(opts.Patterns), sink, func(err error) {
		if err == nil && opts.Ready != nil {
			opts.Ready()
		}
	})
	if serr := sink.Err(); serr != nil {
		return serr
	}
	return err
}

// Watch streams the key events of every worker, one stream each, each
// event's Node naming its worker. Ready is called once every stream is
// open; a worker whose stream cannot open at the start ends the watch.
func (p *Pool) Watch(ctx context.Context, opts backends.WatchOptions, fn func(backends.Event) error) error {
	ms, err := p.Members(ctx)
	if err != nil {
		return err
	}
	sink := backends.NewEventSink(opts.Patterns, fn)
	match := serverMatch(opts.Patterns)
	ctx, cancel := context.WithCancel(ctx)
	starts := make(chan error, len(ms))
	done := make(chan error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() {
			err := p.backs[i].follow(ctx, m.Name, match, sink, func(err error) { starts <- err })
			if err != nil && ctx.Err() == nil {
				done <- err
			}
		})
	}
	// The other workers' streams end with ctx: cancel before waiting.
	defer func() { cancel(); wg.Wait() }()
	for range ms {
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
		if serr := sink.Err(); serr != nil {
			return serr
		}
		return err
	}
}

// serverMatch is the match the server filters by: the one pattern, else
// every key (the sink keeps those matching any of several).
func serverMatch(patterns []string) string {
	if len(patterns) == 1 && !glob.MatchesAll(patterns[0]) {
		return patterns[0]
	}
	return "*"
}

// follow streams the events of one server as node until ctx ends or the
// sink fails. The first stream's failure goes to started and ends it; later
// ones are retried with a backoff, and reported as a gap once the stream is
// back.
func (b *Backend) follow(ctx context.Context, node, match string, sink *backends.EventSink, started func(error)) error {
	backoff := 100 * time.Millisecond
	first, down := true, false
	var since time.Time
	var why string
	for {
		alive, err := b.streamOnce(ctx, node, match, sink, first, func() error {
			backoff = 100 * time.Millisecond
			var err error
			if first {
				started(nil)
			} else {
				err = sink.Emit(backends.Event{Time: time.Now(), Kind: backends.EventGap, Node: node, Since: since, Detail: "reconnected after " + why})
			}
			first, down = false, false
			return err
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if serr := sink.Err(); serr != nil {
			return serr
		}
		if first {
			started(err)
			return err
		}
		if !down {
			down, since = true, alive
			why = lostReason(err)
			b.warnf("lost the event stream of %s at %s (%s); reconnecting", node, since.Format("15:04:05.000"), why)
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (b *Backend) warnf(format string, args ...any) {
	if b.opts.Warn != nil {
		b.opts.Warn(fmt.Sprintf(format, args...))
	}
}

func lostReason(err error) string {
	var ce *backends.ConnError
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return "the server ended the stream"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed mid-event"
	case errors.As(err, &ce):
		return ce.Err.Error()
	}
	return err.Error()
}

// streamOnce opens one stream and delivers its events until it ends. It
// returns the last sign of life (when events may have started to be
// missed) and why it ended. subscribed runs once the server has answered.
func (b *Backend) streamOnce(ctx context.Context, node, match string, sink *backends.EventSink, first bool, subscribed func() error) (time.Time, error) {
	if first {
		c, err := b.capabilities(ctx)
		if err != nil {
			return time.Now(), err
		}
		if !hasCapability(c, capEvents) {
			return time.Now(), &backends.UnsupportedError{What: "watching " + b.display + " (the server does not offer the `events` capability of the HTTP cache protocol: an older cachectl serve or Python adapter?)"}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	params := []string{"match", match}
	if b.heartbeat > 0 {
		params = append(params, "heartbeat", seconds(b.heartbeat))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.endpoint("events", params...), nil)
	if err != nil {
		return time.Now(), err
	}
	req.Header.Set("Accept", "text/event-stream")
	if b.token != "" {
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	// The operation timeout bounds the wait for the answer, not the stream.
	var timedOut atomic.Bool
	answer := time.AfterFunc(b.opts.Timeout, func() { timedOut.Store(true); cancel() })
	resp, err := b.client.Do(req)
	answer.Stop()
	if err != nil {
		if timedOut.Load() {
			return time.Now(), &backends.ConnError{Address: b.display, Err: fmt.Errorf("no answer within %v (raise --timeout?)", b.opts.Timeout)}
		}
		return time.Now(), b.wrap(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return time.Now(), b.statusError(resp)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return time.Now(), &backends.ServerError{Address: b.display, Msg: "the events answer is not an event stream (Content-Type " + strconv.Quote(ct) + ")"}
	}
	beat := defaultHeartbeat
	if h := resp.Header.Get("Cache-Heartbeat"); h != "" {
		if s, err := strconv.ParseFloat(h, 64); err == nil && s >= 0.001 && s <= 3600 {
			beat = time.Duration(s * float64(time.Second))
		}
	}
	// Two missed heartbeats (and the timeout for the network's delays)
	// mean the stream is dead, even if TCP has not noticed.
	quiet := 2*beat + b.opts.Timeout
	var stalled atomic.Bool
	watchdog := time.AfterFunc(quiet, func() { stalled.Store(true); cancel() })
	defer watchdog.Stop()
	lastAlive := time.Now()
	if err := subscribed(); err != nil {
		return lastAlive, err
	}
	var warnedBad bool
	r := newSSEReader(resp.Body, func() {
		lastAlive = time.Now()
		watchdog.Reset(quiet)
	})
	for {
		ev, err := r.next()
		if err != nil {
			switch {
			case stalled.Load():
				return lastAlive, &backends.ConnError{Address: b.display, Err: fmt.Errorf("no event or heartbeat within %v", quiet.Round(time.Millisecond))}
			case errors.Is(err, errSSETooLong):
				return lastAlive, &backends.ServerError{Address: b.display, Msg: err.Error()}
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
				return lastAlive, err
			}
			return lastAlive, b.wrap(ctx, err)
		}
		e, ok, derr := decodeEvent(ev)
		if derr != nil {
			if !warnedBad {
				warnedBad = true
				b.warnf("%s sent an event cachectl cannot read (%v); skipping such events", b.display, derr)
			}
			continue
		}
		if !ok {
			continue
		}
		e.Node = node
		if err := sink.Emit(e); err != nil {
			return lastAlive, err
		}
	}
}

func hasCapability(c *capabilities, name string) bool {
	return slices.Contains(c.Capabilities, name)
}

// wireEvent is one event's data line (docs/http-protocol.md, events).
type wireEvent struct {
	Time    string           `json:"time"`
	Event   string           `json:"event"`
	Key     *jsonbytes.Bytes `json:"key"`
	Since   string           `json:"since"`
	Dropped *int64           `json:"dropped"`
}

// wireKinds are the event names a watch reports; others (a later
// protocol's) are skipped.
var wireKinds = map[string]bool{
	backends.EventSet: true, backends.EventDel: true, backends.EventExpired: true,
	backends.EventEvicted: true, backends.EventExpire: true, backends.EventGap: true,
}

// decodeEvent reads one SSE event; ok false for events that are not key
// events (another event name, an unknown kind). The server's words never
// become the Detail: only figures taken from it.
func decodeEvent(ev sseEvent) (backends.Event, bool, error) {
	if ev.Name != "" && ev.Name != "message" {
		return backends.Event{}, false, nil
	}
	var w wireEvent
	if err := json.Unmarshal([]byte(ev.Data), &w); err != nil {
		return backends.Event{}, false, fmt.Errorf("bad JSON: %w", err)
	}
	if !wireKinds[w.Event] {
		return backends.Event{}, false, nil
	}
	e := backends.Event{Kind: w.Event, Time: time.Now()}
	if t, err := time.Parse(time.RFC3339Nano, w.Time); err == nil {
		e.Time = t
	}
	if w.Event == backends.EventGap {
		if t, err := time.Parse(time.RFC3339Nano, w.Since); err == nil {
			e.Since = t
		}
		e.Detail = "the server dropped events: the watch fell behind"
		if w.Dropped != nil && *w.Dropped >= 0 {
			e.Detail = fmt.Sprintf("the server dropped %d events: the watch fell behind", *w.Dropped)
		}
		return e, true, nil
	}
	if w.Key == nil || len(*w.Key) == 0 {
		return backends.Event{}, false, errors.New("an event without a key")
	}
	e.Key = string(*w.Key)
	return e, true, nil
}
