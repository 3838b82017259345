package compress

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/serial/internal/serialtest"
)

// FuzzDecompress: Decompress and DecompressAs never panic or hang, never
// return more than the cap, and fail only with *Errors.
func FuzzDecompress(f *testing.F) {
	for _, vec := range serialtest.ReadJSONL[serialtest.CompressVector](f, "compress.jsonl") {
		if b := serialtest.Unhex(f, vec.Hex); len(b) <= 1024 {
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
			var ce *Error
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
