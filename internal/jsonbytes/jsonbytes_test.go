package jsonbytes

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for in, want := range map[string]string{
		"user:1":   `"user:1"`,
		"\x00\xff": `{"$bytes":"AP8="}`,
		"é\n":      `"é\n"`,
		"":         `""`,
	} {
		out, err := json.Marshal(Bytes(in))
		if err != nil || string(out) != want {
			t.Fatalf("%q: %s, %v; want %s", in, out, err, want)
		}
		var back Bytes
		if err := json.Unmarshal(out, &back); err != nil || !bytes.Equal(back, []byte(in)) {
			t.Fatalf("%s read back as %q, %v", out, back, err)
		}
	}
	for _, bad := range []string{`1`, `{"$bytes":"!!"}`, `{"other":"x"}`, `null`} {
		var b Bytes
		if err := json.Unmarshal([]byte(bad), &b); err == nil && bad != `null` {
			t.Fatalf("%s: no error", bad)
		}
	}
}
