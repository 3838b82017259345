package msgpack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/serial/internal/serialtest"
	"github.com/cachectl/cachectl/internal/serial/value"
)

// FuzzDecodeMsgpack: Decode never panics or hangs; errors are msgpack
// FormatErrors inside the input; a decoded tree maps to valid JSON, encodes
// (every decoded kind is encodable) and decodes back to the same tree, and
// encoding is stable; a small node budget still checks every byte.
func FuzzDecodeMsgpack(f *testing.F) {
	for _, vec := range serialtest.ReadJSONL[serialtest.MsgpackVector](f, "msgpack.jsonl") {
		if b := serialtest.Unhex(f, vec.Hex); len(b) <= 128 {
			f.Add(b)
		}
	}
	for _, s := range []string{"", "a", "\x80", "\xc1", "\xdd\xff\xff\xff\xff", "\x91\x91\x91\x01", "\xdf\x00\x00\x00\x02\x01\x01\x01"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tm := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("no result after 10s for %x", b)) })
		defer tm.Stop()
		v, err := Decode(b, Limits{})
		small, errSmall := Decode(b, Limits{MaxNodes: 3, MaxDepth: 8})
		if err != nil {
			var fe *value.FormatError
			if !errors.As(err, &fe) || fe.Format != value.FormatMsgpack || fe.Offset < 0 || fe.Offset > len(b) {
				t.Fatalf("Decode(%x): error %#v", b, err)
			}
			if errSmall == nil {
				t.Fatalf("Decode(%x) fails (%v) but not with a small budget", b, err)
			}
			return
		}
		if errSmall == nil && !json.Valid(value.ToJSON(small)) {
			t.Fatalf("ToJSON of the truncated tree of %x is not valid JSON", b)
		}
		if js := value.ToJSON(v); !json.Valid(js) {
			t.Fatalf("ToJSON(Decode(%x)) = %q is not valid JSON", b, js)
		}
		Plausible(b, v)
		enc, err := Encode(v)
		if err != nil {
			t.Fatalf("Encode(Decode(%x)): %v", b, err)
		}
		back, err := Decode(enc, Limits{})
		if err != nil || !value.Equal(back, v) {
			t.Fatalf("%x decodes to %v, encodes to %x, which decodes to %v (%v)", b, v, enc, back, err)
		}
		again, err := Encode(back)
		if err != nil || !bytes.Equal(again, enc) {
			t.Fatalf("encoding is not stable: %x then %x (%v)", enc, again, err)
		}
	})
}
