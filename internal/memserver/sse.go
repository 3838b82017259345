package memserver

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

const (
	// DefaultHeartbeat is how often a quiet event stream sends a comment
	// line, so that a client can tell a quiet stream from a dead one.
	DefaultHeartbeat = 15 * time.Second
	// minHeartbeat and maxHeartbeat bound the heartbeat a client asks for.
	minHeartbeat = time.Second
	maxHeartbeat = 5 * time.Minute
	// streamWriteTimeout bounds one write to an event stream: a client that
	// reads nothing for this long is dropped rather than kept forever.
	streamWriteTimeout = 30 * time.Second
)

// CapEvents is the capability of GET /v1/events.
const CapEvents = "events"

// events serves GET /v1/events?match=GLOB&heartbeat=S as server-sent events
// (docs/http-protocol.md): one JSON object per data line.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.RawQuery
	match, found, err := queryParam(q, "match")
	if err != nil {
		h.fail(w, http.StatusBadRequest, "malformed query")
		return
	}
	if !found || match == "" {
		match = "*"
	}
	if len(match) > h.maxKey {
		h.fail(w, http.StatusRequestEntityTooLarge, "match longer than "+strconv.Itoa(h.maxKey)+" bytes")
		return
	}
	beat := DefaultHeartbeat
	hb, _, err := queryParam(q, "heartbeat")
	if err != nil {
		h.fail(w, http.StatusBadRequest, "malformed query")
		return
	}
	if hb != "" {
		d, ok := parseSeconds(hb)
		if !ok || d < minHeartbeat || d > maxHeartbeat {
			h.fail(w, http.StatusBadRequest, "bad heartbeat: want 1 to 300 seconds")
			return
		}
		beat = d
	}
	sub, err := h.store.Subscribe(match, h.eventBuffer)
	if errors.Is(err, ErrTooManySubscribers) {
		w.Header().Set("Retry-After", "5")
		h.fail(w, http.StatusServiceUnavailable, "too many event streams open (at most "+strconv.Itoa(MaxSubscribers)+")")
		return
	}
	defer sub.Close()

	rc := http.NewResponseController(w)
	// The server's read and write timeouts are for requests, not for a
	// stream that lasts as long as the client wants; each write below gets
	// its own deadline instead.
	_ = rc.SetReadDeadline(time.Time{})
	hd := w.Header()
	hd["Content-Type"] = []string{"text/event-stream"}
	hd["Cache-Control"] = []string{"no-store"}
	hd["X-Content-Type-Options"] = []string{"nosniff"}
	hd["Cache-Heartbeat"] = []string{string(appendSeconds(nil, beat))}
	w.WriteHeader(http.StatusOK)
	// The subscription exists before the headers leave: once a client has
	// them, every later event reaches it.
	if !h.streamWrite(w, rc, []byte(": subscribed\n\n")) {
		return
	}
	tick := time.NewTicker(beat)
	defer tick.Stop()
	var b []byte
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.stop:
			return
		case <-tick.C:
			if !h.streamWrite(w, rc, []byte(": heartbeat\n\n")) {
				return
			}
		case <-sub.Ready():
			evs, gap := sub.Take()
			b = b[:0]
			for _, e := range evs {
				b = appendEvent(b, e)
			}
			if gap.Dropped > 0 {
				b = appendGap(b, gap, h.store.now())
			}
			if len(b) > 0 {
				if !h.streamWrite(w, rc, b) {
					return
				}
				tick.Reset(beat) // the events were a sign of life
			}
		}
	}
}

// streamWrite writes and flushes b within streamWriteTimeout; false when
// the client is gone.
func (h *handler) streamWrite(w http.ResponseWriter, rc *http.ResponseController, b []byte) bool {
	_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if _, err := w.Write(b); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// appendEvent writes one event: data: {"time","event","key"}.
func appendEvent(b []byte, e Event) []byte {
	b = append(b, `data: {"time":"`...)
	b = e.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","event":"`...)
	b = append(b, e.Kind...)
	b = append(b, `","key":`...)
	b = appendJSONKey(b, e.Key)
	return append(b, "}\n\n"...)
}

// appendGap writes the event that stands for events dropped because the
// subscriber fell behind.
func appendGap(b []byte, g Gap, now time.Time) []byte {
	n := strconv.FormatInt(g.Dropped, 10)
	b = append(b, `data: {"time":"`...)
	b = now.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","event":"gap","since":"`...)
	b = g.Since.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","dropped":`...)
	b = append(b, n...)
	b = append(b, `,"detail":"the stream fell behind: `...)
	b = append(b, n...)
	return append(b, " events dropped\"}\n\n"...)
}
