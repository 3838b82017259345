package dumpfile

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
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
		// A missing or null value is not an empty one (it was restored as
		// "" over real data with --replace).
		`{"key":"x"}`,
		`{"key":"x","value":null}`,
		`{"key":"x","type":"string","ttl":null,"value":null}`,
		`{"key":"x","value":"v","ttl":-5}`,
		`{"key":"x","value":"v","ttl":-1e300}`,
		`{"key":"x","value":"v","ttl":"10"}`,
		`{"key":"x","value":"v"} trailing`,
		`{"key":"x","type":"blob","value":"v"}`,
		`{"key":"x","encoding":"gzip","value":"v"}`,
		`{"key":"x","type":"hash","encoding":"redis-dump","value":""}`,
		`{"key":"x","type":"string","part":1,"value":"v"}`,
		`{"key":"h","type":"hash","value":{}}`,
		`{"key":"h","type":"hash","value":{"f":null}}`,
		`{"key":"h","type":"hash","value":[["f"]]}`,
		`{"key":"h","type":"hash","flags":1,"value":{"f":"v"}}`,
		`{"key":"l","type":"list","value":["a",null]}`,
		`{"key":"l","type":"list","value":[]}`,
		`{"key":"l","type":"list","part":1,"value":["a"]}`,
		`{"key":"l","type":"list","last_id":"1-0","value":["a"]}`,
		`{"key":"z","type":"zset","value":[["m","nan"]]}`,
		`{"key":"z","type":"zset","value":[["m"]]}`,
		`{"key":"z","type":"zset","value":[["m",1e999]]}`,
		`{"key":"x","type":"stream","value":[{"id":"1","fields":[["f","v"]]}]}`,
		`{"key":"x","type":"stream","value":[{"id":"2-0","fields":[["f","v"]]},{"id":"1-0","fields":[["f","v"]]}]}`,
		`{"key":"x","type":"stream","value":[{"id":"1-0","fields":[]}]}`,
		`{"key":"x","type":"stream","value":[{"fields":[["f","v"]]}]}`,
		`{"key":"x","type":"stream","last_id":"x","value":[]}`,
		`{"key":"x","type":"stream","entries_added":-1,"value":[]}`,
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

func readAll(t *testing.T, in string) ([]Entry, error) {
	t.Helper()
	r := NewReader(bytes.NewBufferString(in))
	var out []Entry
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
}

// TTLs past what a duration holds were read as expired and skipped: they
// mean "far future" and are read as no expiry, flagged for a warning.
func TestHugeTTLs(t *testing.T) {
	for _, ttl := range []string{"9.3e9", "1e10", "1e300", "1e400", "3153600001"} {
		es, err := readAll(t, `{"key":"k","type":"string","ttl":`+ttl+`,"value":"v"}`)
		if err != nil || len(es) != 1 {
			t.Fatalf("ttl %s: %v", ttl, err)
		}
		if es[0].TTL != backends.NoExpiry || !es[0].FarFuture {
			t.Errorf("ttl %s: %+v, want no expiry flagged far future", ttl, es[0].TTL)
		}
	}
	es, err := readAll(t, `{"key":"k","ttl":3e9,"value":"v"}`+"\n"+`{"key":"k","ttl":0,"value":"v"}`+"\n"+`{"key":"k","value":"v"}`)
	if err != nil {
		t.Fatal(err)
	}
	if es[0].TTL != backends.ExpiresIn(3e9*time.Second) || es[0].FarFuture {
		t.Errorf("3e9 s: %+v", es[0])
	}
	if !es[1].TTL.Expires || es[1].TTL.Remaining != 0 {
		t.Errorf("ttl 0 is expired while dumped: %+v", es[1].TTL)
	}
	if es[2].TTL != backends.NoExpiry || es[2].FarFuture {
		t.Errorf("no ttl field: %+v", es[2])
	}
}

func TestCollectionsInParts(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.partItems, w.partBytes = 3, 1<<20
	var list []backends.Item
	for i := range 7 {
		list = append(list, backends.Item{Value: []byte{byte('a' + i)}})
	}
	cw := w.Collection("l", "list", backends.ExpiresIn(90*time.Second), backends.StreamMeta{EntriesAdded: -1})
	for _, it := range list {
		if err := cw.Add(it); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := cw.End(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	cw = w.Collection("h", "hash", backends.NoExpiry, backends.StreamMeta{EntriesAdded: -1})
	cw.Add(backends.Item{Field: []byte("f"), Value: []byte("v")}, backends.Item{Field: []byte{0xff}, Value: []byte{0}})
	cw.End()
	cw = w.Collection("u", "hash", backends.NoExpiry, backends.StreamMeta{EntriesAdded: -1})
	cw.Add(backends.Item{Field: []byte("b"), Value: []byte("1")}, backends.Item{Field: []byte("a"), Value: []byte("\u202e")})
	cw.End()
	cw = w.Collection("z", "zset", backends.NoExpiry, backends.StreamMeta{EntriesAdded: -1})
	cw.Add(backends.Item{Value: []byte("lo"), Score: math.Inf(-1)}, backends.Item{Value: []byte("mid"), Score: 0.1}, backends.Item{Value: []byte("hi"), Score: math.Inf(1)})
	cw.End()
	stream := []backends.Item{
		{ID: "1-1", Fields: []backends.FieldValue{{Field: []byte("f"), Value: []byte("v")}, {Field: []byte("f"), Value: []byte("w")}}},
		{ID: "2-0", Fields: []backends.FieldValue{{Field: []byte("a"), Value: []byte{0x80}}}},
		{ID: "2-5", Fields: []backends.FieldValue{{Field: []byte("a"), Value: []byte("b")}}},
		{ID: "9-0", Fields: []backends.FieldValue{{Field: []byte("a"), Value: []byte("b")}}},
	}
	meta := backends.StreamMeta{LastID: "10-0", MaxDeletedID: "10-0", EntriesAdded: 5}
	cw = w.Collection("x", "stream", backends.NoExpiry, meta)
	cw.Add(stream...)
	cw.End()
	cw = w.Collection("gone", "set", backends.NoExpiry, backends.StreamMeta{EntriesAdded: -1})
	if ok, err := cw.End(); ok || err != nil {
		t.Fatalf("an empty set (key gone) is written: %v %v", ok, err)
	}
	cw = w.Collection("cut", "set", backends.NoExpiry, backends.StreamMeta{EntriesAdded: -1})
	cw.Add(list...)
	if err := cw.Abort(); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if w.Count() != 5 {
		t.Errorf("count %d, want 5 whole values", w.Count())
	}
	text := buf.String()
	for _, want := range []string{
		`{"key":"l","type":"list","ttl":90,"part":0,"more":true,"value":["a","b","c"]}`,
		`{"key":"l","type":"list","ttl":90,"part":2,"value":["g"]}`,
		`{"key":"h","type":"hash","ttl":null,"value":[["f","v"],[{"$bytes":"/w=="},"\u0000"]]}`,
		`{"key":"u","type":"hash","ttl":null,"value":{"b":"1","a":"\u202e"}}`,
		`{"key":"z","type":"zset","ttl":null,"value":[["lo","-inf"],["mid",0.1],["hi","inf"]]}`,
		`"last_id":"10-0","max_deleted_id":"10-0","entries_added":5,`,
		`{"key":"cut","type":"set","ttl":null,"part":2,"aborted":true,"value":[]}`,
	} {
		if !strings.Contains(text, want+"") {
			t.Errorf("missing %s in\n%s", want, text)
		}
	}
	es, err := readAll(t, text)
	if err != nil {
		t.Fatal(err)
	}
	var got, gotStream []backends.Item
	for _, e := range es {
		if e.Key == "l" {
			if e.TTL != backends.ExpiresIn(90*time.Second) || e.More != (e.Part < 2) {
				t.Errorf("part %+v", e)
			}
			got = append(got, e.Items...)
		}
		if e.Key == "x" {
			gotStream = append(gotStream, e.Items...)
			if e.Stream != meta {
				t.Errorf("stream: %+v", e)
			}
		}
		if e.Key == "z" && (!math.IsInf(e.Items[0].Score, -1) || e.Items[1].Score != 0.1 || !math.IsInf(e.Items[2].Score, 1)) {
			t.Errorf("zset: %+v", e.Items)
		}
		if e.Key == "h" && (string(e.Items[1].Field) != "\xff" || string(e.Items[1].Value) != "\x00") {
			t.Errorf("hash: %+v", e.Items)
		}
		if e.Key == "u" && (string(e.Items[0].Field) != "b" || string(e.Items[1].Value) != "\u202e") {
			t.Errorf("hash object order: %+v", e.Items)
		}
	}
	if !reflect.DeepEqual(got, list) {
		t.Errorf("list parts: %+v", got)
	}
	if !reflect.DeepEqual(gotStream, stream) {
		t.Errorf("stream parts: %+v", gotStream)
	}
	if last := es[len(es)-1]; last.Key != "cut" || !last.Aborted {
		t.Errorf("last entry %+v, want the aborted marker", last)
	}
}

// Parts of one value must follow each other; a file cut inside one says so.
func TestPartSequence(t *testing.T) {
	p0 := `{"key":"l","type":"list","part":0,"more":true,"value":["a"]}`
	for name, in := range map[string]string{
		"other key":    p0 + "\n" + `{"key":"m","type":"list","part":1,"value":["b"]}`,
		"string":       p0 + "\n" + `{"key":"s","value":"b"}`,
		"skipped part": p0 + "\n" + `{"key":"l","type":"list","part":2,"value":["b"]}`,
		"other type":   p0 + "\n" + `{"key":"l","type":"set","part":1,"value":["b"]}`,
		"restart":      p0 + "\n" + p0,
		"cut":          p0 + "\n",
		"lone abort":   `{"key":"l","type":"list","part":1,"aborted":true,"value":[]}`,
		"stream order": `{"key":"x","type":"stream","part":0,"more":true,"value":[{"id":"5-0","fields":[["f","v"]]}]}` + "\n" + `{"key":"x","type":"stream","part":1,"value":[{"id":"5-0","fields":[["f","v"]]}]}`,
	} {
		_, err := readAll(t, in)
		if err == nil || !strings.Contains(err.Error(), "line 2") && !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%s: %v, want an error naming the line", name, err)
		}
	}
	_, err := readAll(t, p0+"\n")
	if err == nil || !strings.Contains(err.Error(), "ends before the last part of l") {
		t.Errorf("cut file: %v", err)
	}
	es, err := readAll(t, p0+"\n"+`{"key":"l","type":"list","part":1,"value":[]}`)
	if err != nil || len(es) != 2 {
		t.Errorf("an empty last part is fine: %v", err)
	}
}

// Bidi overrides, DEL and C1 controls in keys and values are \u-escaped,
// so a dump shown on a terminal shows what it holds.
func TestWriterEscapesTerminalControls(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	key := "bidi:\u202eevil\u2066\x7f\u0085"
	if err := w.Write(Entry{Key: key, Value: []byte("v\u200f")}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if want := `{"key":"bidi:\u202eevil\u2066\u007f\u0085","type":"string","ttl":null,"value":"v\u200f"}` + "\n"; buf.String() != want {
		t.Fatalf("got  %s want %s", buf.String(), want)
	}
	es, err := readAll(t, buf.String())
	if err != nil || es[0].Key != key || string(es[0].Value) != "v\u200f" {
		t.Fatalf("read back %+v %v", es, err)
	}
}

// FuzzReader: any input gives entries or an error naming a line, never a
// panic; every entry read writes back to a line that reads the same.
func FuzzReader(f *testing.F) {
	f.Add(`{"key":"k","type":"string","ttl":1.5,"value":"v","flags":3}`)
	f.Add(`{"key":"l","type":"list","part":0,"more":true,"value":["a"]}` + "\n" + `{"key":"l","type":"list","part":1,"value":["b"]}`)
	f.Add(`{"key":"h","type":"hash","value":{"f":"v"}}`)
	f.Add(`{"key":"z","type":"zset","value":[["m","inf"],["n",1e308]]}`)
	f.Add(`{"key":"x","type":"stream","last_id":"3-0","max_deleted_id":"3-0","entries_added":3,"value":[{"id":"1-1","fields":[["f","v"]]}]}`)
	f.Add(`{"key":"k","type":"hash","encoding":"redis-dump","ttl":1e300,"value":{"$bytes":"AA=="}}`)
	f.Fuzz(func(t *testing.T, in string) {
		r := NewReader(strings.NewReader(in))
		for i := 0; i < 1000; i++ {
			e, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "line ") {
					t.Fatalf("error without a line number: %v", err)
				}
				return
			}
			if e.Key == "" || (e.TTL.Expires && e.TTL.Remaining < 0) {
				t.Fatalf("accepted %+v", e)
			}
			if e.IsCollection() {
				continue
			}
			var buf bytes.Buffer
			w := NewWriter(&buf)
			if err := w.Write(e); err != nil {
				t.Fatal(err)
			}
			w.Flush()
			back, err := NewReader(&buf).Next()
			if err != nil || back.Key != e.Key || !bytes.Equal(back.Value, e.Value) || back.Type != e.Type || back.Encoding != e.Encoding {
				t.Fatalf("%q wrote %q, read back %+v, %v", in, buf.String(), back, err)
			}
		}
	})
}
