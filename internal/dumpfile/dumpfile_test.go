package dumpfile

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
)

func TestRoundTrip(t *testing.T) {
	flags := uint32(16)
	in := []Entry{
		{Key: "user:1", Value: []byte(`{"a": 1}`), TTL: backends.ExpiresIn(1500 * time.Millisecond)},
		{Key: "\x00\xff", Value: []byte{0x80, 0x04, 0x2e}, TTL: backends.NoExpiry, Flags: &flags},
		{Key: "line\nbreak", Value: []byte{}, TTL: backends.NoExpiry},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, e := range in {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	if bytes.Count(buf.Bytes(), []byte("\n")) != 3 {
		t.Fatalf("want one line per entry:\n%s", buf.String())
	}
	r := NewReader(&buf)
	for i, want := range in {
		got, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if got.Key != want.Key || !bytes.Equal(got.Value, want.Value) || got.TTL != want.TTL || (got.Flags == nil) != (want.Flags == nil) {
			t.Fatalf("entry %d: %+v, want %+v", i, got, want)
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last line: %v", err)
	}
}

func TestBadLines(t *testing.T) {
	for _, in := range []string{
		`{"key":"k","type":"hash","value":"v"}`,
		`{"key":"","value":"v"}`,
		`{"key":{"$bytes":"!!"},"value":"v"}`,
		`{"key":"k","value":{"$bytes":1}}`,
		`not json`,
	} {
		if _, err := NewReader(bytes.NewBufferString("\n" + in + "\n")).Next(); err == nil || !bytes.Contains([]byte(err.Error()), []byte("line 2")) {
			t.Fatalf("%s: %v, want an error naming line 2", in, err)
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add("user:1", []byte(`{"a":1}`), int64(1500))
	f.Add("\x00\xff", []byte{0x80}, int64(-1))
	f.Fuzz(func(t *testing.T, key string, value []byte, ms int64) {
		if key == "" {
			return
		}
		ttl := backends.NoExpiry
		if ms > 0 {
			ttl = backends.ExpiresIn(time.Duration(ms%1e9) * time.Millisecond)
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		if err := w.Write(Entry{Key: key, Value: value, TTL: ttl}); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		got, err := NewReader(&buf).Next()
		if err != nil {
			t.Fatalf("%q: %v", buf.String(), err)
		}
		if got.Key != key || !bytes.Equal(got.Value, value) || got.TTL.Expires != ttl.Expires {
			t.Fatalf("round trip: %+v", got)
		}
		// Arbitrary input never panics.
		NewReader(bytes.NewReader(value)).Next()
	})
}
