package httpmem

import (
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

func readEvents(t testing.TB, stream string) ([]sseEvent, error) {
	r := newSSEReader(strings.NewReader(stream), nil)
	var out []sseEvent
	for {
		ev, err := r.next()
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

func TestSSEReader(t *testing.T) {
	for _, tc := range []struct {
		name, stream string
		want         []sseEvent
	}{
		{"one event", "data: {\"a\":1}\n\n", []sseEvent{{Data: `{"a":1}`}}},
		{"comments and heartbeats are skipped", ": subscribed\n\n: heartbeat\n\ndata: x\n\n", []sseEvent{{Data: "x"}}},
		{"CRLF and CR line ends", "data: a\r\n\r\ndata: b\r\rdata: c\n\n", []sseEvent{{Data: "a"}, {Data: "b"}, {Data: "c"}}},
		{"data lines join with newlines", "data: a\ndata:b\ndata\n\n", []sseEvent{{Data: "a\nb\n"}}},
		{"event name and id", "event: gap\nid: 7\ndata: x\n\n", []sseEvent{{Name: "gap", ID: "7", Data: "x"}}},
		{"no data: not dispatched", "event: x\n\ndata: y\n\n", []sseEvent{{Data: "y"}}},
		{"a last event without its blank line is dropped", "data: a\n\ndata: b\n", []sseEvent{{Data: "a"}}},
		{"unknown fields and retry ignored", "retry: 10\nfoo: bar\ndata: z\n\n", []sseEvent{{Data: "z"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readEvents(t, tc.stream)
			if !errors.Is(err, io.EOF) {
				t.Fatalf("ended with %v, want EOF", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("events %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("event %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestSSEReaderBounds(t *testing.T) {
	long := "data: " + strings.Repeat("x", maxSSELine) + "\n\n"
	if _, err := readEvents(t, long); !errors.Is(err, errSSETooLong) {
		t.Errorf("a line over the bound: %v", err)
	}
	many := strings.Repeat("data: "+strings.Repeat("x", 1000)+"\n", maxSSEEvent/1000+1) + "\n"
	if _, err := readEvents(t, many); !errors.Is(err, errSSETooLong) {
		t.Errorf("an event over the bound: %v", err)
	}
}

func TestDecodeEvent(t *testing.T) {
	e, ok, err := decodeEvent(sseEvent{Data: `{"time":"2026-12-03T17:00:00.5Z","event":"set","key":{"$bytes":"/w=="}}`})
	if err != nil || !ok || e.Kind != "set" || e.Key != "\xff" || e.Time.Nanosecond() != 500000000 {
		t.Errorf("set: %+v %v %v", e, ok, err)
	}
	e, ok, err = decodeEvent(sseEvent{Data: `{"time":"2026-12-03T17:00:01Z","event":"gap","since":"2026-12-03T17:00:00Z","dropped":12,"detail":"\u001b[2J"}`})
	if err != nil || !ok || e.Kind != "gap" || e.Since.IsZero() || e.Detail != "the server dropped 12 events: the watch fell behind" {
		t.Errorf("gap: %+v %v %v", e, ok, err)
	}
	if _, ok, err := decodeEvent(sseEvent{Data: `{"event":"renamed","key":"k"}`}); ok || err != nil {
		t.Errorf("an unknown kind must be skipped: %v %v", ok, err)
	}
	if _, _, err := decodeEvent(sseEvent{Data: `{"event":"set"}`}); err == nil {
		t.Error("a set without a key must be an error")
	}
	if _, _, err := decodeEvent(sseEvent{Data: `nope`}); err == nil {
		t.Error("bad JSON must be an error")
	}
}

// FuzzSSEReader: whatever a server sends, the reader ends with an error or
// EOF, never panics, keeps within its bounds, and events decode or fail.
func FuzzSSEReader(f *testing.F) {
	f.Add("data: {\"time\":\"2026-12-03T17:00:00Z\",\"event\":\"set\",\"key\":\"a\"}\n\n")
	f.Add(": heartbeat\r\n\r\ndata: x\rdata: y\r\r")
	f.Add("event: gap\nid: \x00\ndata: {\"event\":\"gap\",\"dropped\":-1}\n\n")
	f.Add("data\ndata:\n\n\n:\n")
	f.Fuzz(func(t *testing.T, stream string) {
		r := newSSEReader(strings.NewReader(stream), nil)
		for n := 0; ; n++ {
			ev, err := r.next()
			if err != nil {
				return
			}
			if n > len(stream) {
				t.Fatal("more events than bytes")
			}
			if len(ev.Data) > maxSSEEvent || strings.ContainsAny(ev.Name, "\r\n") || strings.ContainsRune(ev.ID, 0) {
				t.Fatalf("event %+v breaks the format's rules", ev)
			}
			e, ok, derr := decodeEvent(ev)
			if derr == nil && ok && e.Kind != "gap" && e.Key == "" {
				t.Fatalf("a key event without a key: %+v", e)
			}
			if ok && !utf8.ValidString(e.Detail) {
				t.Fatalf("detail %q is not text cachectl wrote", e.Detail)
			}
		}
	})
}
