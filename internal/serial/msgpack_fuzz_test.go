package serial

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

// FuzzDecodeMsgpack: DecodeMsgpack never panics or hangs; errors are msgpack
// FormatErrors inside the input; a decoded tree maps to valid JSON, encodes
// (every decoded kind is encodable) and decodes back to the same tree, and
// encoding is stable; a small node budget still checks every byte.
func FuzzDecodeMsgpack(f *testing.F) {
	for _, vec := range readJSONL[msgpackVector](f, "msgpack.jsonl") {
		if b := unhex(f, vec.Hex); len(b) <= 128 {
			f.Add(b)
		}
	}
	for _, s := range []string{"", "a", "\x80", "\xc1", "\xdd\xff\xff\xff\xff", "\x91\x91\x91\x01", "\xdf\x00\x00\x00\x02\x01\x01\x01"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tm := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("no result after 10s for %x", b)) })
		defer tm.Stop()
		v, err := DecodeMsgpack(b, MsgpackLimits{})
		small, errSmall := DecodeMsgpack(b, MsgpackLimits{MaxNodes: 3, MaxDepth: 8})
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Format != FormatMsgpack || fe.Offset < 0 || fe.Offset > len(b) {
				t.Fatalf("DecodeMsgpack(%x): error %#v", b, err)
			}
			if errSmall == nil {
				t.Fatalf("DecodeMsgpack(%x) fails (%v) but not with a small budget", b, err)
			}
			return
		}
		if errSmall == nil && !json.Valid(ToJSON(small)) {
			t.Fatalf("ToJSON of the truncated tree of %x is not valid JSON", b)
		}
		if js := ToJSON(v); !json.Valid(js) {
			t.Fatalf("ToJSON(DecodeMsgpack(%x)) = %q is not valid JSON", b, js)
		}
		PlausibleMsgpack(b, v)
		enc, err := EncodeMsgpack(v)
		if err != nil {
			t.Fatalf("EncodeMsgpack(DecodeMsgpack(%x)): %v", b, err)
		}
		back, err := DecodeMsgpack(enc, MsgpackLimits{})
		if err != nil || !Equal(back, v) {
			t.Fatalf("%x decodes to %v, encodes to %x, which decodes to %v (%v)", b, v, enc, back, err)
		}
		again, err := EncodeMsgpack(back)
		if err != nil || !bytes.Equal(again, enc) {
			t.Fatalf("encoding is not stable: %x then %x (%v)", enc, again, err)
		}
	})
}

// FuzzDecompress: Decompress and DecompressAs never panic or hang, never
// return more than the cap, and fail only with CompressionErrors.
func FuzzDecompress(f *testing.F) {
	for _, vec := range readJSONL[compressVector](f, "compress.jsonl") {
		if b := unhex(f, vec.Hex); len(b) <= 1024 {
			f.Add(b)
		}
	}
	for _, s := range []string{"", "x", "x^", "x\x9c", "\x1f\x8b", "(\xb5/\xfd", "\x04\"M\x18", "\xff\x06\x00\x00sNaPpY"} {
		f.Add([]byte(s))
	}
	const maxOut = 1 << 16
	f.Fuzz(func(t *testing.T, b []byte) {
		tm := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("no result after 10s for %x", b)) })
		defer tm.Stop()
		check := func(what string, inner []byte, err error) {
			if len(inner) > maxOut {
				t.Fatalf("%s(%x) gave %d bytes, over the cap", what, b, len(inner))
			}
			var ce *CompressionError
			if err != nil && (!errors.As(err, &ce) || ce.Codec == "") {
				t.Fatalf("%s(%x): error %#v", what, b, err)
			}
			if err != nil && inner != nil {
				t.Fatalf("%s(%x): output and error", what, b)
			}
		}
		inner, codec, ok, err := Decompress(b, maxOut)
		if !ok && (inner != nil || err != nil || codec != "") {
			t.Fatalf("Decompress(%x) not recognised but returned %x, %q, %v", b, inner, codec, err)
		}
		check("Decompress", inner, err)
		if ok && err == nil {
			forced, err := DecompressAs(b, codec, maxOut)
			if err != nil || !bytes.Equal(forced, inner) {
				t.Fatalf("Decompress(%x) = %s %x but forced: %x, %v", b, codec, inner, forced, err)
			}
		}
		for _, c := range Codecs() {
			out, err := DecompressAs(b, c, maxOut)
			check("DecompressAs "+c, out, err)
		}
	})
}
