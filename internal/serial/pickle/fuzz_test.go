package pickle_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cachectl/cachectl/internal/serial"
	"github.com/cachectl/cachectl/internal/serial/internal/serialtest"
	"github.com/cachectl/cachectl/internal/serial/pickle"
	"github.com/cachectl/cachectl/internal/serial/value"
)

// FuzzDecodePickle: Decode never panics or hangs; an error is a pickle
// *FormatError; a tree has no pointer cycle and a bounded size; ToJSON is
// valid JSON; the renderers terminate without printing control bytes; and a
// tree Encode accepts decodes back to an equal tree.
func FuzzDecodePickle(f *testing.F) {
	for _, vec := range serialtest.LoadPickleVectors(f) {
		f.Add(vec.Data)
	}
	for _, s := range []string{
		"", ".", "N.", "\x80\x05\x97.", "(lp0\nI1\nag0\na.", "\x80\x04]\x94(h\x00h\x00e.",
		"cos\nsystem\n(S'echo hi'\ntR.", "V\\ud83d\\ude00\n.", "\x80\x02\x8b\xff\xff\xff\x7f",
		string(doublingDAG(20)), "\x80\x02capp\nC\n)\x81}X\x01\x00\x00\x00xK\x01s}X\x01\x00\x00\x00yK\x02s\x86b.",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tm := time.AfterFunc(3*time.Second, func() { panic(fmt.Sprintf("no result after 3s for %q", b)) })
		defer tm.Stop()
		v, err := pickle.Decode(b, pickle.Limits{MaxBytes: 64 << 20})
		if err != nil {
			var fe *value.FormatError
			if !errors.As(err, &fe) || fe.Format != "pickle" {
				t.Fatalf("Decode(%q): error %v is not a pickle *FormatError", b, err)
			}
			return
		}
		if v == nil {
			t.Fatalf("Decode(%q) gave nil without an error", b)
		}
		if n := checkTree(t, v, map[*value.Value]bool{}, 0); n > 1<<22 {
			t.Fatalf("Decode(%q) made a tree of %d nodes", b, n)
		}
		if js := value.ToJSON(v); !json.Valid(js) {
			t.Fatalf("ToJSON(Decode(%q)) = %.300s is not valid JSON", b, js)
		}
		d := serial.Decoded{Format: "pickle", Value: v}
		for _, opts := range []serial.TextOptions{{}, {MaxItems: 2, MaxBytes: 3, Width: 10}} {
			var out bytes.Buffer
			if _, err := serial.RenderText(&out, d, opts); err != nil {
				t.Fatal(err)
			}
			for _, c := range out.Bytes() {
				if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
					t.Fatalf("RenderText(Decode(%q)) printed control byte %#x", b, c)
				}
			}
			if !utf8.Valid(out.Bytes()) {
				t.Fatalf("RenderText(Decode(%q)) printed invalid UTF-8", b)
			}
		}
		if _, err := serial.RenderText(io.Discard, serial.Decoded{Format: value.FormatJSON, Value: v}, serial.TextOptions{Style: serialtest.ANSIStyle()}); err != nil {
			t.Fatal(err)
		}
		for proto := 2; proto <= 5; proto++ {
			enc, err := pickle.Encode(v, proto)
			if err != nil {
				return // a kind Encode refuses
			}
			back, err := pickle.Decode(enc, pickle.Limits{MaxBytes: 64 << 20})
			if err != nil || !value.Equal(back, v) {
				t.Fatalf("Decode(%q) = %s; Encode(p%d) = %q decodes to %v (%v)", b, v, proto, enc, back, err)
			}
		}
	})
}

// checkTree fails on a pointer cycle and returns the nodes of the tree,
// counted with repetition.
func checkTree(t *testing.T, v *value.Value, onPath map[*value.Value]bool, depth int) int {
	if v == nil {
		return 0
	}
	if onPath[v] {
		t.Fatalf("pointer cycle through a %s node", v.Kind)
	}
	if depth > pickle.DefaultLimits.MaxDepth+2 {
		t.Fatalf("tree deeper than %d", depth)
	}
	onPath[v] = true
	defer delete(onPath, v)
	n := 1
	for _, it := range v.Items {
		n += checkTree(t, it, onPath, depth+1)
	}
	for _, p := range v.Pairs {
		n += checkTree(t, p.Key, onPath, depth+1) + checkTree(t, p.Value, onPath, depth+1)
	}
	return n + checkTree(t, v.State, onPath, depth+1)
}
