package commands

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Values as the apps' own libraries store them, from CPython 3 (pickle
// protocol 4, json.dumps) and msgpack.packb(use_bin_type=True), all of
// {"name": "Ada", "id": 7}.
var (
	pickledAda = mustHex("80049519000000000000007d94288c046e616d65948c03416461948c026964944b07752e")
	msgpackAda = mustHex("82a46e616d65a3416461a2696407")
	jsonAda    = []byte(`{"name": "Ada", "id": 7}`)
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// seedAda stores the three encodings and a few plain values.
func seedAda(t *testing.T, c *memCache) {
	t.Helper()
	c.put(t, "pickled", pickledAda, 90*time.Second, "")
	c.put(t, "packed", msgpackAda, 0, "")
	c.put(t, "json", jsonAda, 0, "")
	c.put(t, "text", []byte("hello"), 0, "")
	c.put(t, "bin", []byte("\x00\x01\xffab"), 0, "")
}

func TestInprocGetDecodesEachFormat(t *testing.T) {
	c := startMemCache(t)
	seedAda(t, c)
	const jsonText = "{\n  \"name\": \"Ada\",\n  \"id\": 7\n}\n"
	tests := []struct{ key, want string }{
		{"pickled", "{'name': 'Ada', 'id': 7}\n"},
		{"packed", "{'name': 'Ada', 'id': 7}\n"},
		{"json", jsonText},
		{"text", "hello\n"},
		{"bin", `b'\x00\x01\xffab'` + "\n"},
	}
	// A value prints the same on a terminal and in a pipe (colour is off in
	// test streams); only bounds and JSON layout differ, tested below.
	for _, s := range []streams{pipe, tty} {
		for _, tt := range tests {
			t.Run(s.String()+"/"+tt.key, func(t *testing.T) {
				c.run(t, s, "get", tt.key).expectErr(t, 0, tt.want, "")
			})
		}
	}
}

func TestInprocGetLong(t *testing.T) {
	c := startMemCache(t)
	seedAda(t, c)
	want := "key:    pickled\ntype:   string\nformat: pickle\nsize:   36 B\n" +
		"ttl:    1m30s (expires 2025-06-01T12:01:30Z)\nvalue:\n{'name': 'Ada', 'id': 7}\n"
	for _, s := range []streams{pipe, tty} {
		c.run(t, s, "get", "pickled", "-l").expectErr(t, 0, want, "")
	}
	want = "key:    packed\ntype:   string\nformat: msgpack\nsize:   14 B\nttl:    no expiry\nvalue:\n{'name': 'Ada', 'id': 7}\n"
	c.run(t, pipe, "get", "packed", "--long").expectErr(t, 0, want, "")

	// A format the server keeps beside the value (Cache-Format) is believed.
	c.put(t, "hinted", []byte(`[1]`), 0, "string")
	c.run(t, pipe, "get", "hinted", "-l").expect(t, 0, "key:    hinted\ntype:   string\nformat: string\nsize:   3 B\nttl:    no expiry\nvalue:\n[1]\n")
}

func TestInprocGetSeveralKeys(t *testing.T) {
	c := startMemCache(t)
	seedAda(t, c)
	want := "text\nhello\n\npacked\n{'name': 'Ada', 'id': 7}\n"
	for _, s := range []streams{pipe, tty} {
		c.run(t, s, "get", "text", "packed").expectErr(t, 0, want, "")
	}
	// A missing key among several: the others print, the missing one is
	// named on stderr, and the exit code says so.
	r := c.run(t, pipe, "get", "text", "nope", "packed")
	r.expectErr(t, ExitNotFound, want, "error: key nope not found\n")
}

func TestInprocGetMissingKey(t *testing.T) {
	c := startMemCache(t)
	for _, s := range []streams{pipe, tty} {
		c.run(t, s, "get", "nope").expectErr(t, ExitNotFound, "", "error: key nope not found\n")
	}
	c.run(t, pipe, "get", "nope", "-o", "json").expectErr(t, ExitNotFound, `{"key":"nope","found":false}`+"\n", "")
	c.run(t, tty, "get", "nope", "-o", "json").expectErr(t, ExitNotFound, "{\n  \"key\": \"nope\",\n  \"found\": false\n}\n", "")
	// Looking is not storing: the server still holds nothing.
	c.wantKeys(t)
}

func TestInprocGetJSON(t *testing.T) {
	c := startMemCache(t)
	seedAda(t, c)
	c.run(t, pipe, "get", "pickled", "-o", "json").expectErr(t, 0,
		`{"key":"pickled","found":true,"ttl":90,"size":36,"type":"string","format":"pickle","value":{"name":"Ada","id":7}}`+"\n", "")
	c.run(t, tty, "get", "packed", "-o", "json").expectErr(t, 0, `{
  "key": "packed",
  "found": true,
  "ttl": null,
  "size": 14,
  "type": "string",
  "format": "msgpack",
  "value": {
    "name": "Ada",
    "id": 7
  }
}
`, "")
	// Several keys give an array, in the order asked, missing ones included.
	c.run(t, pipe, "get", "json", "bin", "nope", "-o", "json").expectErr(t, ExitNotFound,
		`[{"key":"json","found":true,"ttl":null,"size":24,"type":"string","format":"json","value":{"name":"Ada","id":7}},`+
			`{"key":"bin","found":true,"ttl":null,"size":5,"type":"string","format":"bytes","value":{"$bytes":"AAH/YWI="}},`+
			`{"key":"nope","found":false}]`+"\n", "")
	// A key that is not UTF-8 is named by its bytes.
	c.put(t, "\xff\xfe", []byte("v"), 0, "")
	c.run(t, pipe, "get", "\xff\xfe", "-o", "json").expect(t, 0,
		`{"key":{"$bytes":"//4="},"found":true,"ttl":null,"size":1,"type":"string","format":"string","value":"v"}`+"\n")
}

func TestInprocGetRaw(t *testing.T) {
	c := startMemCache(t)
	seedAda(t, c)
	for _, s := range []streams{pipe, tty} {
		c.run(t, s, "get", "pickled", "--raw").expectErr(t, 0, string(pickledAda), "")
		c.run(t, s, "get", "bin", "--raw").expectErr(t, 0, "\x00\x01\xffab", "")
	}
	r := c.run(t, pipe, "get", "text", "json", "--raw")
	if r.code != ExitUsage || r.out() != "" || !strings.Contains(r.err(), "--raw takes exactly one key") {
		t.Fatalf("--raw with two keys: exit %d, %q %q", r.code, r.out(), r.err())
	}
	r = c.run(t, pipe, "get", "text", "--raw", "-o", "json")
	if r.code != ExitUsage || r.out() != "" || !strings.Contains(r.err(), "cannot be combined with -o json") {
		t.Fatalf("--raw -o json: exit %d, %q %q", r.code, r.out(), r.err())
	}
	c.run(t, pipe, "get", "nope", "--raw").expectErr(t, ExitNotFound, "", "error: key nope not found\n")
}

func TestInprocGetAs(t *testing.T) {
	c := startMemCache(t)
	seedAda(t, c)
	// --as string shows the JSON text as stored, not re-indented.
	c.run(t, pipe, "get", "json", "--as", "string").expectErr(t, 0, `{"name": "Ada", "id": 7}`+"\n", "")
	r := c.run(t, pipe, "get", "json", "--as", "nonsense")
	if r.code != ExitUsage || !strings.HasPrefix(r.err(), "error: --as: ") {
		t.Fatalf("--as nonsense: exit %d, %q", r.code, r.err())
	}
}

// TestInprocGetBoundsOnATerminal: a huge value is cut for display on a
// terminal, with a note; a pipe gets all of it.
func TestInprocGetBoundsOnATerminal(t *testing.T) {
	c := startMemCache(t)
	items := make([]string, 1500)
	for i := range items {
		items[i] = fmt.Sprint(i)
	}
	c.put(t, "big", []byte("["+strings.Join(items, ",")+"]"), 0, "")
	whole := "[\n  " + strings.Join(items, ",\n  ") + "\n]\n"

	c.run(t, pipe, "get", "big").expectErr(t, 0, whole, "")
	cut := "[\n  " + strings.Join(items[:1000], ",\n  ") + ",\n  … (500 more items)\n]\n"
	c.run(t, tty, "get", "big").expectErr(t, 0, cut,
		"note: big was shortened for display (--max-items 1000, --max-bytes 1048576; 0 shows all, --raw or -o json give everything)\n")
	c.run(t, tty, "get", "big", "--max-items", "0").expectErr(t, 0, whole, "")
	c.run(t, pipe, "get", "big", "--max-items", "2").expect(t, 0, "[\n  0,\n  1,\n  … (1498 more items)\n]\n")
}

// TestInprocGetColour: colour only on a colour terminal, never with
// --no-color, and never around raw key bytes.
func TestInprocGetColour(t *testing.T) {
	c := startMemCache(t)
	seedAda(t, c)
	colour := func(args ...string) *memRun {
		r := newTestRun(t, nil)
		r.f.Now = c.Clock.Now
		r.f.IO.SetStdoutTTY(true)
		r.f.IO.SetColorEnabled(true)
		return &memRun{testRun: r, code: r.run(append([]string{"-u", c.URL}, args...)...)}
	}
	r := colour("get", "pickled", "-l")
	if r.code != 0 || !strings.Contains(r.out(), "\x1b[") {
		t.Fatalf("want colour on a colour terminal: exit %d, %q", r.code, r.out())
	}
	r = colour("--no-color", "get", "pickled", "-l")
	if r.code != 0 || strings.Contains(r.out(), "\x1b") {
		t.Fatalf("--no-color still coloured: exit %d, %q", r.code, r.out())
	}
}
