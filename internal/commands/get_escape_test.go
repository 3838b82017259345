package commands

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/testenv"
)

// Keys and hash fields holding bidi overrides, line separators and C1
// controls reach the terminal only as \u escapes in get -o json, and the
// JSON still reads back to the same bytes.
func TestGetJSONEscapesTerminalControls(t *testing.T) {
	url := testenv.RedisURL(t)
	rdb := testenv.RedisClient(t, url)
	ctx := t.Context()
	key, field := "e:\u202ertl\u2028x", "f\u001b[5m\u202e\u0085"
	if err := rdb.Set(ctx, key, "v\u2029\u202e", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, "h:1", field, "x\u202e").Err(); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"get", key}, {"get", "h:1"}, {"get", key, "h:1"}} {
		r := newTestRun(t, map[string]string{"CACHECTL_URL": url})
		if code := r.run(append(args, "-o", "json")...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, r.stderr)
		}
		out := r.stdout.String()
		for _, bad := range []string{"\u202e", "\u2028", "\u2029", "\u0085", "\x1b"} {
			if strings.Contains(out, bad) {
				t.Errorf("%v -o json wrote %q raw: %s", args, bad, out)
			}
		}
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%v: not JSON: %v\n%s", args, err, out)
		}
		if args[1] == key && !strings.Contains(fmtJSON(v), key) {
			t.Errorf("%v: the key does not read back: %s", args, out)
		}
	}
}

func fmtJSON(v any) string {
	b, _ := json.Marshal(v)
	var s strings.Builder
	// json.Marshal escapes U+2028/9 again; undo it to compare with the key.
	s.WriteString(strings.NewReplacer(`\u2028`, "\u2028", `\u2029`, "\u2029").Replace(string(b)))
	return s.String()
}
