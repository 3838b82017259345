package mcproto

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseMetaDumpLine(t *testing.T) {
	tests := []struct {
		line string
		want DumpEntry
		err  bool
	}{
		{line: "key=a%20b%00%FF exp=-1 la=1700000000 cas=3 fetch=no cls=1 size=72", want: DumpEntry{Key: "a b\x00\xff", LastAccess: 1700000000, Class: 1, Size: 72}},
		{line: "key=k exp=1800000000 la=1 cas=1 fetch=yes cls=12 size=5000 flags=7", want: DumpEntry{Key: "k", Exp: 1800000000, LastAccess: 1, Class: 12, Size: 5000}},
		{line: "key=%41%4a%4A b exp=0", want: DumpEntry{Key: "AJJ"}},
		{line: "key=bad%2", err: true},
		{line: "key=bad%zz", err: true},
		{line: "key= exp=1", err: true},
		{line: "exp=1 size=2", err: true},
		{line: "key=k exp=soon", err: true},
	}
	for _, tt := range tests {
		got, err := parseMetaDumpLine([]byte(tt.line))
		if (err != nil) != tt.err {
			t.Fatalf("%q: error %v, want error %v", tt.line, err, tt.err)
		}
		if err == nil && got != tt.want {
			t.Fatalf("%q = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

func TestParseCacheDumpLine(t *testing.T) {
	tests := []struct {
		line string
		want DumpEntry
		ok   bool
	}{
		{line: "ITEM k2 [2 b; 0 s]", want: DumpEntry{Key: "k2", Size: 2}, ok: true},
		{line: "ITEM a [b] c [10 b; 1795433177 s]", want: DumpEntry{Key: "a [b] c", Size: 10, Exp: 1795433177}, ok: true},
		{line: "ITEM k [2 b; x s]"},
		{line: "ITEM [2 b; 0 s]"},
		{line: "STAT k 1"},
	}
	for _, tt := range tests {
		got, ok := parseCacheDumpLine([]byte(tt.line))
		if ok != tt.ok || (ok && got != tt.want) {
			t.Fatalf("%q = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

func TestTTLArg(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, tt := range []struct {
		ttl  time.Duration
		want int64
	}{
		{0, 0}, {-time.Second, 0}, {time.Millisecond, 1}, {1500 * time.Millisecond, 2}, {600 * time.Second, 600},
		{30 * 24 * time.Hour, 30 * 24 * 3600}, {30*24*time.Hour + time.Second, 1_700_000_000 + 30*24*3600 + 1},
		// past January 2038 the server would take the item as expired at once
		{200_000 * time.Hour, 1<<31 - 1}, {time.Duration(1<<63 - 1), 1<<31 - 1},
		{time.Duration(1<<31-1-1_700_000_000) * time.Second, 1<<31 - 1},
	} {
		if got := ttlArg(tt.ttl, now); got != tt.want {
			t.Fatalf("ttlArg(%v) = %d, want %d", tt.ttl, got, tt.want)
		}
	}
}

// uriEncode is memcached's key encoding, for the round trip of the fuzz test.
func uriEncode(b []byte) []byte {
	var out bytes.Buffer
	for _, c := range b {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			out.WriteByte(c)
		} else {
			fmt.Fprintf(&out, "%%%02X", c)
		}
	}
	return out.Bytes()
}

func FuzzParseDump(f *testing.F) {
	f.Add([]byte("key=a%20b%00%FF exp=-1 la=1700000000 cas=3 fetch=no cls=1 size=72"))
	f.Add([]byte("ITEM a [b] c [10 b; 1795433177 s]"))
	f.Add([]byte("VA 2 s2 t-1 f0 O12 kaGVsbG8= b"))
	f.Fuzz(func(t *testing.T, line []byte) {
		if e, err := parseMetaDumpLine(line); err == nil && e.Key == "" {
			t.Fatal("a metadump entry without a key")
		}
		parseCacheDumpLine(line)
		code, flags := splitMeta(line)
		if code == "" && len(flags) > 0 {
			t.Fatal("flags without a code")
		}
		parseItemFlags(flags, 100)
		enc := uriEncode(line)
		dec, err := percentDecode(enc)
		if err != nil || !bytes.Equal(dec, line) {
			t.Fatalf("percentDecode(uriEncode(%q)) = %q, %v", line, dec, err)
		}
		if e, err := parseMetaDumpLine(append([]byte("key="), enc...)); len(line) > 0 && (err != nil || e.Key != string(line)) {
			t.Fatalf("metadump key %q read back as %q, %v", line, e.Key, err)
		}
	})
}
