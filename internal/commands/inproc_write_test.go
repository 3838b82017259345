package commands

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/memserver"
)

// wantEntry fails unless the server holds key with exactly this value,
// stored format and TTL.
func wantEntry(t *testing.T, c *memCache, key string, value []byte, format string, ttl time.Duration) {
	t.Helper()
	e, ok := c.entry(t, key)
	if !ok {
		t.Fatalf("server has no %q", key)
	}
	if !bytes.Equal(e.Value, value) || e.Format != format || e.TTL != ttl {
		t.Fatalf("server holds %q = %x (format %q, ttl %v); want %x (format %q, ttl %v)", key, e.Value, e.Format, e.TTL, value, format, ttl)
	}
}

func TestInprocSet(t *testing.T) {
	c := startMemCache(t)
	// Silent in a pipe, a confirmation line on a terminal's stderr.
	c.run(t, pipe, "set", "k", "v", "--ttl", "90").expectErr(t, 0, "", "")
	wantEntry(t, c, "k", []byte("v"), "string", 90*time.Second)
	c.run(t, tty, "set", "k", "v2", "--ttl", "5m").expectErr(t, 0, "", "✓ stored k (2 B, 5m)\n")
	wantEntry(t, c, "k", []byte("v2"), "string", 5*time.Minute)
	c.run(t, tty, "set", "k", "v3").expectErr(t, 0, "", "✓ stored k (2 B, no expiry)\n")
	wantEntry(t, c, "k", []byte("v3"), "string", memserver.NoExpiry)
	// --ttl 0 is no expiry too; a bare number is seconds, units work.
	c.run(t, pipe, "set", "k", "v", "--ttl", "0").expect(t, 0, "")
	wantEntry(t, c, "k", []byte("v"), "string", memserver.NoExpiry)
	c.run(t, pipe, "set", "k", "v", "--ttl", "1h30m").expect(t, 0, "")
	wantEntry(t, c, "k", []byte("v"), "string", 90*time.Minute)

	r := c.run(t, pipe, "set", "k", "other", "--ttl", "soon")
	if r.code != ExitUsage || !strings.HasPrefix(r.err(), "error: --ttl: ") {
		t.Fatalf("bad --ttl: exit %d, %q", r.code, r.err())
	}
	wantEntry(t, c, "k", []byte("v"), "string", 90*time.Minute) // untouched

	c.run(t, pipe, "set", "j", `{"a": [1, 2]}`, "-o", "json", "--ttl", "30s").expectErr(t, 0, `{"key":"j","stored":true,"size":13,"ttl":30}`+"\n", "")
	wantEntry(t, c, "j", []byte(`{"a": [1, 2]}`), "json", 30*time.Second)
	c.run(t, tty, "set", "j", "x", "-o", "json").expectErr(t, 0, "{\n  \"key\": \"j\",\n  \"stored\": true,\n  \"size\": 1,\n  \"ttl\": null\n}\n", "")
}

// TestInprocSetSerializers: --serializer stores what the app's own library
// would have written (bytes from CPython 3 and python3-msgpack).
func TestInprocSetSerializers(t *testing.T) {
	c := startMemCache(t)
	in := `{"a": [1, 2]}`
	for _, tt := range []struct {
		serializer string
		args       []string
		want       []byte
	}{
		{"json", nil, []byte(`{"a": [1, 2]}`)},
		{"pickle", nil, mustHex("80049510000000000000007d948c0161945d94284b014b0265732e")},
		{"pickle", []string{"--pickle-protocol", "2"}, mustHex("80027d710058010000006171015d7102284b014b0265732e")},
		{"msgpack", nil, mustHex("81a161920102")},
	} {
		key := "v:" + tt.serializer + strings.Join(tt.args, "")
		args := append([]string{"set", key, in, "--serializer", tt.serializer}, tt.args...)
		c.run(t, pipe, args...).expectErr(t, 0, "", "")
		wantEntry(t, c, key, tt.want, tt.serializer, memserver.NoExpiry)
	}
	// And get reads each back as the same object.
	for _, k := range []string{"v:pickle", "v:pickle--pickle-protocol2", "v:msgpack"} {
		c.run(t, pipe, "get", k).expect(t, 0, "{'a': [1, 2]}\n")
	}
	r := c.run(t, pipe, "set", "bad", "{not json", "--serializer", "json")
	if r.code != ExitUsage || !strings.HasPrefix(r.err(), "error: --serializer json: ") {
		t.Fatalf("bad JSON input: exit %d, %q", r.code, r.err())
	}
	c.wantKeys(t, "v:json", "v:pickle", "v:pickle--pickle-protocol2", "v:msgpack")
}

func TestInprocSetFromStdinAndFile(t *testing.T) {
	c := startMemCache(t)
	// "-" and no VALUE both read standard input, byte for byte.
	c.runIn(t, pipe, nil, "line one\nline two\n", "-u", c.URL, "set", "a", "-").expectErr(t, 0, "", "")
	wantEntry(t, c, "a", []byte("line one\nline two\n"), "string", memserver.NoExpiry)
	c.runIn(t, pipe, nil, "\x00\xff", "-u", c.URL, "set", "b", "--ttl", "10").expectErr(t, 0, "", "")
	wantEntry(t, c, "b", []byte("\x00\xff"), "bytes", 10*time.Second)

	// A terminal on stdin is no value: usage error, nothing stored.
	r := c.runIn(t, ttyPrompt, nil, "", "-u", c.URL, "set", "c")
	if r.code != ExitUsage || !strings.Contains(r.err(), "no value") {
		t.Fatalf("set from a terminal: exit %d, %q", r.code, r.err())
	}

	file := filepath.Join(t.TempDir(), "value.json")
	os.WriteFile(file, []byte(`[1, 2]`), 0o600)
	c.run(t, pipe, "set", "d", "--file", file).expect(t, 0, "")
	wantEntry(t, c, "d", []byte(`[1, 2]`), "json", memserver.NoExpiry)
	c.wantKeys(t, "a", "b", "d")
}

func TestInprocDel(t *testing.T) {
	c := startMemCache(t)
	c.seed(t, "a", "1", "b", "2", "c", "3", "d", "4")
	// The count of keys that existed; missing ones are not an error.
	c.run(t, pipe, "del", "a", "b", "nope").expectErr(t, 0, "2\n", "")
	c.wantKeys(t, "c", "d")
	c.run(t, tty, "del", "nope").expectErr(t, 0, "0\n", "")
	c.run(t, pipe, "del", "c", "-o", "json").expectErr(t, 0, `{"deleted":1}`+"\n", "")
	c.run(t, tty, "del", "d", "-o", "json").expectErr(t, 0, "{\n  \"deleted\": 1\n}\n", "")
	c.wantKeys(t)
}

func TestInprocTTLAndExpire(t *testing.T) {
	c := startMemCache(t)
	c.put(t, "k", []byte("v"), 90*time.Second, "")
	c.seed(t, "forever", "v")

	// Whole seconds or "none" in a pipe, a duration on a terminal.
	c.run(t, pipe, "ttl", "k").expectErr(t, 0, "90\n", "")
	c.run(t, tty, "ttl", "k").expectErr(t, 0, "1m30s\n", "")
	c.run(t, pipe, "ttl", "forever").expectErr(t, 0, "none\n", "")
	c.run(t, tty, "ttl", "forever").expectErr(t, 0, "no expiry\n", "")
	c.run(t, pipe, "ttl", "k", "-o", "json").expectErr(t, 0, `{"key":"k","ttl":90}`+"\n", "")
	c.run(t, pipe, "ttl", "forever", "-o", "json").expectErr(t, 0, `{"key":"forever","ttl":null}`+"\n", "")
	c.run(t, pipe, "ttl", "nope").expectErr(t, ExitNotFound, "", "error: key nope not found\n")

	// The server's clock moves: the TTL read back follows it.
	c.Clock.Advance(30 * time.Second)
	c.run(t, pipe, "ttl", "k").expect(t, 0, "60\n")

	c.run(t, pipe, "expire", "k", "5m").expectErr(t, 0, "", "")
	wantEntry(t, c, "k", []byte("v"), "", 5*time.Minute)
	c.run(t, tty, "expire", "k", "300").expectErr(t, 0, "", "✓ k now has 5m\n")
	c.run(t, tty, "expire", "k", "0").expectErr(t, 0, "", "✓ k now has no expiry\n")
	wantEntry(t, c, "k", []byte("v"), "", memserver.NoExpiry)
	c.run(t, pipe, "expire", "forever", "2d", "-o", "json").expectErr(t, 0, `{"key":"forever","ttl":172800}`+"\n", "")
	wantEntry(t, c, "forever", []byte("v"), "", 48*time.Hour)

	c.run(t, pipe, "expire", "nope", "5m").expectErr(t, ExitNotFound, "", "error: key nope not found\n")
	r := c.run(t, pipe, "expire", "k", "later")
	if r.code != ExitUsage {
		t.Fatalf("bad duration: exit %d, %q", r.code, r.err())
	}
	c.wantKeys(t, "forever", "k")

	// Expired on the server's clock: gone for get and ttl alike.
	c.Clock.Advance(49 * time.Hour)
	c.run(t, pipe, "ttl", "forever").expect(t, ExitNotFound, "")
	c.run(t, pipe, "get", "forever").expect(t, ExitNotFound, "")
}
