package commands

import (
	"context"
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/testenv"
)

// TestCompleteKeysHostileNames: key names reach the shell only when they are
// safe on a terminal and name their key exactly; under -E in escaped form.
func TestCompleteKeysHostileNames(t *testing.T) {
	url := testenv.RedisURL(t)
	c := testenv.RedisClient(t, url)
	ctx := context.Background()
	for _, k := range []string{"aa:plain", "aa:\x1b]0;pwn\x07", "a\nb", "aa:tab\there", "aa:sp ace", "aa:back\\slash", "aa:\xff", "\"aa:q", "aa:caf\u00e9"} {
		if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	complete := func(args ...string) []string {
		t.Helper()
		r := newTestRun(t, nil)
		if code := r.run(append([]string{"-u", url, "__complete"}, args...)...); code != 0 {
			t.Fatalf("__complete %q: exit %d: %s", args, code, r.stderr)
		}
		out := r.stdout.String()
		if strings.ContainsAny(out, "\x1b\x07\x00") {
			t.Fatalf("__complete %q printed raw control bytes: %q", args, out)
		}
		// cobra ends with ":<directive>" and help lines on stderr.
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
			t.Fatalf("__complete %q: no directive line: %q", args, out)
		}
		return lines[:len(lines)-1]
	}
	same := func(got []string, want ...string) {
		t.Helper()
		g := map[string]bool{}
		for _, x := range got {
			g[x] = true
		}
		if len(got) != len(want) {
			t.Fatalf("candidates %q, want %q", got, want)
		}
		for _, w := range want {
			if !g[w] {
				t.Fatalf("candidates %q, want %q", got, want)
			}
		}
	}

	// Plain names only: the rest would print raw or name another key.
	same(complete("get", ""), "aa:plain", "aa:back\\slash", "aa:caf\u00e9")
	same(complete("get", "aa:p"), "aa:plain")

	// Under -E each key has an exact printable name (whitespace aside:
	// shells split words on it, and "\t" spelled out is fine).
	got := complete("-E", "get", "")
	same(got, "aa:plain", `"aa:\x1b]0;pwn\x07"`, `"a\nb"`, `"aa:tab\there"`, `"aa:back\\slash"`, `"aa:\xff"`, `"\"aa:q"`, "aa:caf\u00e9")
	// A word cut inside an escape completes what comes before it.
	same(complete("-E", "get", `"aa:\x1`), "aa:plain", `"aa:\x1b]0;pwn\x07"`, `"aa:tab\there"`, `"aa:back\\slash"`, `"aa:\xff"`, "aa:caf\u00e9")
	same(complete("-E", "get", `"a\n`), `"a\nb"`)

	// The escaped names do name their keys.
	r := newTestRun(t, nil)
	if code := r.run("-u", url, "-E", "get", "--raw", `"aa:\x1b]0;pwn\x07"`); code != 0 || r.stdout.String() != "v" {
		t.Fatalf("get -E of the completed name: exit %d, %q %s", code, r.stdout, r.stderr)
	}
}

func TestCompletionCandidate(t *testing.T) {
	for _, tc := range []struct {
		key     string
		escaped bool
		want    string
		ok      bool
	}{
		{"user:1", false, "user:1", true},
		{"user:1", true, "user:1", true},
		{"a\x1bb", false, "", false},
		{"a\x1bb", true, `"a\x1bb"`, true},
		{"a b", true, "", false},
		{`a\b`, false, `a\b`, true},
		{`a\b`, true, `"a\\b"`, true},
		{"\u202eevil", false, "", false},
		{"\u202eevil", true, `"\u202eevil"`, true},
		{"", false, "", false},
	} {
		got, ok := completionCandidate(tc.key, tc.escaped)
		if got != tc.want || ok != tc.ok {
			t.Errorf("completionCandidate(%q, %v) = %q, %v; want %q, %v", tc.key, tc.escaped, got, ok, tc.want, tc.ok)
		}
	}
}
