package serial

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	"", "123", "007", " 1 ", "-0", "-0.0", "1267650600228229401496703205376", "1.5", "1e400", "NaN", "-Infinity",
	"true", "null", `"hi"`, `{"a":[1,{"b":null}],"c":"é"}`, `{"a":1,"a":2}`, "{}x", "[1,]", "\x1b[31mred",
	"\xff\xfe", "{\xff}", `"\ud800"`, `"\ud83d\ude00"`, `[1e-7, 1E+2, 0.1]`, "[[[[[]]]]]", "\xef\xbb\xbf{}",
	"+5", "1_000", `{"$bytes":"AA=="}`, "hello\tworld\n", "\u202e", `"\u0085"`,
}

// FuzzDetect: Detect, DecodeAs, Sniff and the renderers never panic; ToJSON is
// always valid JSON; text output without colour never holds a control byte
// other than \n and \t; detection agrees with encoding/json on what is JSON.
func FuzzDetect(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// A hang would otherwise stall the fuzzer silently; crash with the input.
		tm := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("no result after 10s for %q", b)) })
		defer tm.Stop()
		d := Detect(b)
		if d.Value == nil {
			t.Fatalf("Detect(%q) gave a nil value", b)
		}
		if js := ToJSON(d.Value); !json.Valid(js) {
			t.Fatalf("ToJSON(Detect(%q)) = %q is not valid JSON", b, js)
		}
		for _, opts := range []TextOptions{{}, {MaxItems: 1, MaxBytes: 3, Width: 10}} {
			var out bytes.Buffer
			if _, err := RenderText(&out, d, opts); err != nil {
				t.Fatal(err)
			}
			for _, c := range out.Bytes() {
				if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
					t.Fatalf("RenderText(Detect(%q)) printed control byte %#x: %q", b, c, out.Bytes())
				}
			}
			if !utf8.Valid(out.Bytes()) {
				t.Fatalf("RenderText(Detect(%q)) printed invalid UTF-8: %q", b, out.Bytes())
			}
		}
		if _, err := RenderText(io.Discard, d, TextOptions{Style: ansiStyle}); err != nil {
			t.Fatal(err)
		}
		for _, as := range decodeModes {
			if _, err := DecodeAs(b, as); err != nil {
				t.Fatalf("DecodeAs(%q, %s): %v", b, as, err)
			}
		}
		for i := 0; i <= len(b) && i < 16; i++ {
			Sniff(b[:i], false)
		}
		if Sniff(b, true) != d.Format {
			t.Fatalf("Sniff(%q, complete) != Detect format %s", b, d.Format)
		}
		// Differential check against encoding/json (which neither accepts NaN
		// nor limits digits and depth as Python does, hence the conditions).
		stdValid := json.Valid(b) && utf8.Valid(b)
		if stdValid && len(b) < 2000 && d.Format != FormatJSON {
			t.Fatalf("encoding/json accepts %q but Detect says %s", b, d.Format)
		}
		if d.Format == FormatJSON && !stdValid && !bytes.Contains(b, []byte("NaN")) && !bytes.Contains(b, []byte("Infinity")) {
			t.Fatalf("Detect says JSON for %q, which encoding/json refuses", b)
		}
	})
}

// FuzzJSONEncode: Encode(json) output is ASCII, re-parses to the same tree,
// and encoding it again changes nothing.
func FuzzJSONEncode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := Encode(b, "json")
		if err != nil {
			return
		}
		for _, c := range out {
			if c >= 0x80 || c < 0x20 {
				t.Fatalf("Encode(%q, json) = %q is not printable ASCII", b, out)
			}
		}
		want, err := ParseJSON(b)
		if err != nil {
			t.Fatalf("Encode accepted %q but ParseJSON refuses it: %v", b, err)
		}
		got, err := ParseJSON(out)
		if err != nil {
			t.Fatalf("Encode(%q, json) = %q does not parse: %v", b, out, err)
		}
		if !Equal(got, want) {
			t.Fatalf("Encode(%q, json) = %q parses to %s, want %s", b, out, got, want)
		}
		again, err := Encode(out, "json")
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("Encode is not idempotent: %q -> %q (%v)", out, again, err)
		}
	})
}
