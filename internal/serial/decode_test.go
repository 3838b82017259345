package serial

import (
	"bytes"
	"compress/zlib"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/serial/internal/serialtest"
)

// TestDetectFindsEveryPickle: auto-detection (not just DecodePickle) names
// every CPython pickle of the corpus "pickle", for protocols 0 to 5, and gives
// the expected JSON mapping.
func TestDetectFindsEveryPickle(t *testing.T) {
	for _, v := range serialtest.LoadPickleVectors(t) {
		d := Detect(v.Data)
		if d.Format != FormatPickle {
			t.Errorf("%s p%d: detected %s (err %v)", v.Name, v.Protocol, d.Format, d.Err)
			continue
		}
		if err := serialtest.SameJSON(ToJSON(d.Value), v.JSON); err != nil {
			t.Errorf("%s p%d: %v", v.Name, v.Protocol, err)
		}
	}
}

// TestDetectMsgpackContainers: msgpack containers are detected as msgpack.
func TestDetectMsgpackContainers(t *testing.T) {
	n := 0
	for _, v := range serialtest.ReadJSONL[serialtest.MsgpackVector](t, "msgpack.jsonl") {
		b := serialtest.Unhex(t, v.Hex)
		if v.Error || len(b) == 0 || !(b[0]>>4 == 0x8 || b[0]>>4 == 0x9 || b[0] == 0xdc || b[0] == 0xdd || b[0] == 0xde || b[0] == 0xdf) {
			continue
		}
		if isPickleHeader(b) { // a fixmap of 0 entries followed by junk is not msgpack anyway
			continue
		}
		n++
		if d := Detect(b); d.Format != FormatMsgpack {
			t.Errorf("%s (%s): detected %s (%v)", v.Name, v.Hex, d.Format, d.Err)
		}
	}
	if n < 10 {
		t.Fatalf("only %d container vectors checked", n)
	}
}

// TestDetectCompressionWrappers: compressed values report "codec+inner" and
// decode the inner bytes as if they were stored plainly.
func TestDetectCompressionWrappers(t *testing.T) {
	n := 0
	for _, v := range serialtest.ReadJSONL[serialtest.CompressVector](t, "compress.jsonl") {
		if v.Auto != nil && !*v.Auto {
			continue
		}
		b := serialtest.Unhex(t, v.Hex)
		inner := Detect(serialtest.Unhex(t, v.InnerHex))
		d := Detect(b)
		want := Format(v.Codec + "+" + string(inner.Format))
		if d.Format != want {
			t.Errorf("%s: format %s, want %s (err %v)", v.Name, d.Format, want, d.Err)
			continue
		}
		if !Equal(d.Value, inner.Value) {
			t.Errorf("%s: inflated value differs from the plain one", v.Name)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("only %d vectors checked", n)
	}
}

func TestDecodeAsForms(t *testing.T) {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write([]byte(`{"a": [1, 2]}`))
	w.Close()
	pick, _ := hex.DecodeString("8004950a000000000000007d948c0161944b01732e") // {"a": 1}, protocol 4

	tests := []struct {
		name, as string
		in       []byte
		format   Format
		errHas   string
	}{
		{"auto zlib json", "auto", z.Bytes(), "zlib+json", ""},
		{"codec alone inflates then detects", "zlib", z.Bytes(), "zlib+json", ""},
		{"codec+format", "zlib+json", z.Bytes(), "zlib+json", ""},
		{"forced inner format that fails shows stored bytes", "zlib+pickle", z.Bytes(), "zlib+bytes", "inflated zlib"},
		{"forced codec on plain bytes", "gzip", []byte("hello"), "bytes", "gzip"},
		{"pickle detected", "", pick, "pickle", ""},
		{"pickle forced", "pickle", pick, "pickle", ""},
		{"pickle forced on text", "pickle", []byte("hello"), "bytes", "pickle"},
		{"msgpack forced on a fixint", "msgpack", []byte{0x05}, "msgpack", ""},
		{"plain digit is json, not msgpack", "", []byte("5"), "json", ""},
		{"text is text", "", []byte("hello"), "string", ""},
		{"broken pickle header shows bytes with reason", "", []byte{0x80, 0x04, 0x95, 0xff}, "bytes", "pickle"},
		{"uppercase names", "ZLIB+JSON", z.Bytes(), "zlib+json", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decode(tt.in, DecodeOptions{As: tt.as})
			if err != nil {
				t.Fatal(err)
			}
			if d.Format != tt.format {
				t.Fatalf("format %s, want %s (err %v)", d.Format, tt.format, d.Err)
			}
			if tt.errHas == "" && d.Err != nil {
				t.Fatalf("unexpected Err %v", d.Err)
			}
			if tt.errHas != "" && (d.Err == nil || !strings.Contains(d.Err.Error(), tt.errHas)) {
				t.Fatalf("Err %v, want it to mention %q", d.Err, tt.errHas)
			}
		})
	}
	for _, bad := range []string{"brotli", "brotli+json", "zlib+yaml", "yaml"} {
		if _, err := Decode(nil, DecodeOptions{As: bad}); err == nil {
			t.Errorf("--as %s must be refused", bad)
		}
	}
}

func TestMaxInflateApplies(t *testing.T) {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(bytes.Repeat([]byte("a"), 1<<20))
	w.Close()
	d, _ := Decode(z.Bytes(), DecodeOptions{MaxInflate: 1000})
	if d.Format != FormatBytes || d.Err == nil || !strings.Contains(d.Err.Error(), "exceeds") {
		t.Fatalf("format %s err %v", d.Format, d.Err)
	}
	d, _ = Decode(z.Bytes(), DecodeOptions{MaxInflate: 2 << 20})
	if d.Format != "zlib+string" {
		t.Fatalf("format %s err %v", d.Format, d.Err)
	}
}

func TestSniffPrefixes(t *testing.T) {
	tests := []struct {
		prefix []byte
		want   Format
	}{
		{[]byte{0x80, 0x04, 0x95, 0x10, 0, 0}, FormatPickle},
		{[]byte{0x1f, 0x8b, 0x08, 0}, "gzip"},
		{[]byte{0x78, 0x9c, 0xed, 0xff}, "zlib"},
		{[]byte("x\x9c is not zlib if it is text? no: 0x9c is not UTF-8")[:2], "zlib"},
		{[]byte{0x28, 0xb5, 0x2f, 0xfd, 1}, "zstd"},
		{[]byte{0x93, 0x01, 0x02}, FormatMsgpack},
		{[]byte{0x82, 0xa1, 'a'}, FormatMsgpack},
		{[]byte(`{"a": [1, 2, `), FormatJSON},
		{[]byte("xylophone and more text"), FormatString},
	}
	for _, tt := range tests {
		if got := Sniff(tt.prefix, false); got != tt.want {
			t.Errorf("Sniff(% x) = %s, want %s", tt.prefix, got, tt.want)
		}
	}
}
