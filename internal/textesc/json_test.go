package textesc

import (
	"encoding/json"
	"testing"
)

func TestJSONEscapesBidiAndControls(t *testing.T) {
	for _, s := range []string{"a\u202eb", "\u2066x\u2069", "\u200e\u200f\u200b", "del\x7f", "c1\u0085", "bom\ufeff", "plain é ✓ 🙂", "\x1b[31m"} {
		raw, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got := JSON(raw)
		for _, r := range string(got) {
			if isUnsafe(r) {
				t.Errorf("%q: %q still holds %U", s, got, r)
			}
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil || back != s {
			t.Errorf("%q: %q reads back as %q (%v)", s, got, back, err)
		}
	}
	if got := JSON([]byte(`{"a":"\u202e"}`)); string(got) != `{"a":"\u202e"}` {
		t.Errorf("already escaped text changed: %s", got)
	}
}

func FuzzJSON(f *testing.F) {
	f.Add("a\u202eb\x7f\u0085")
	f.Fuzz(func(t *testing.T, s string) {
		raw, _ := json.Marshal(s)
		var want, back string
		_ = json.Unmarshal(raw, &want)
		if err := json.Unmarshal(JSON(raw), &back); err != nil || back != want {
			t.Fatalf("%q: %q, %v", s, back, err)
		}
	})
}
