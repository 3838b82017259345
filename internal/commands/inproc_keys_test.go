package commands

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// lines splits output into its lines, sorted: the server lists keys in its
// own (hash) order.
func lines(s string) []string {
	l := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if s == "" {
		l = nil
	}
	slices.Sort(l)
	return l
}

// expectLines fails unless the run exited 0 and printed exactly these lines
// in any order, and nothing on stderr.
func (m *memRun) expectLines(t *testing.T, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := lines(m.out()); m.code != 0 || !slices.Equal(got, want) || m.err() != "" || !strings.HasSuffix(m.out(), "\n") && m.out() != "" {
		t.Fatalf("exit %d\nstdout: %q\n  want: %q (any order)\nstderr: %q", m.code, m.out(), want, m.err())
	}
}

func seedUsers(t *testing.T, c *memCache) {
	t.Helper()
	c.put(t, "user:1", []byte(`{"a":1}`), 0, "")
	c.put(t, "user:2", pickledAda, 90*time.Second, "")
	c.put(t, "user:10", msgpackAda, 0, "")
	c.put(t, "session:x", []byte("s"), time.Hour, "")
	c.put(t, "a*b", []byte("star"), 0, "")
	c.put(t, "a-b", []byte("dash"), 0, "")
}

func TestInprocKeysPatterns(t *testing.T) {
	c := startMemCache(t)
	seedUsers(t, c)
	all := []string{"user:1", "user:2", "user:10", "session:x", "a*b", "a-b"}
	for _, s := range []streams{pipe, tty} {
		c.run(t, s, "keys").expectLines(t, all...)
		c.run(t, s, "keys", "*").expectLines(t, all...)
	}
	for _, tt := range []struct {
		pattern string
		want    []string
	}{
		{"user:*", []string{"user:1", "user:2", "user:10"}},
		{"user:?", []string{"user:1", "user:2"}},
		{"user:[12]*", []string{"user:1", "user:2", "user:10"}},
		{"user:[^1]", []string{"user:2"}},
		{"user:[0-1]?", []string{"user:10"}},
		{`a\*b`, []string{"a*b"}},
		{"a?b", []string{"a*b", "a-b"}},
		{"nothing*", nil},
	} {
		c.run(t, pipe, "keys", tt.pattern).expectLines(t, tt.want...)
	}
	// --limit stops after N keys, whichever the server lists first.
	r := c.run(t, pipe, "keys", "--limit", "2")
	if got := lines(r.out()); r.code != 0 || len(got) != 2 || !slices.Contains(all, got[0]) || !slices.Contains(all, got[1]) {
		t.Fatalf("--limit 2: exit %d, %q", r.code, r.out())
	}
	if r := c.run(t, pipe, "keys", "--limit", "-1"); r.code != ExitUsage {
		t.Fatalf("--limit -1: exit %d", r.code)
	}
	if r := c.run(t, pipe, "keys", "a*", "--prefix", "a"); r.code != ExitUsage {
		t.Fatalf("PATTERN and --prefix: exit %d", r.code)
	}
}

func TestInprocKeysLong(t *testing.T) {
	c := startMemCache(t)
	seedUsers(t, c)
	// In a pipe: tab-separated TYPE TTL SIZE FORMAT KEY, no header.
	c.run(t, pipe, "keys", "-l", "user:*").expectLines(t,
		"string\t-\t7\tjson\tuser:1",
		"string\t90\t36\tpickle\tuser:2",
		"string\t-\t14\tmsgpack\tuser:10",
	)
	// On a terminal: a header, then aligned columns with readable units.
	r := c.run(t, tty, "keys", "-l", "*:*")
	header, rows, _ := strings.Cut(r.out(), "\n")
	want := []string{
		"string          -        7 B json     user:1",
		"string      1m30s       36 B pickle   user:2",
		"string          -       14 B msgpack  user:10",
		"string         1h        1 B string   session:x",
	}
	slices.Sort(want)
	if got := lines(rows); r.code != 0 || header != "TYPE          TTL       SIZE FORMAT   KEY" || !slices.Equal(got, want) {
		t.Fatalf("exit %d\nstdout: %q\nwant the header, then %q", r.code, r.out(), want)
	}
}

func TestInprocKeysJSON(t *testing.T) {
	c := startMemCache(t)
	seedUsers(t, c)
	for _, s := range []streams{pipe, tty} {
		// jsonl: one document a line.
		c.run(t, s, "keys", "user:*", "-o", "jsonl").expectLines(t, `{"key":"user:1"}`, `{"key":"user:2"}`, `{"key":"user:10"}`)
		// json: one array, streamed a row a line.
		r := c.run(t, s, "keys", "user:*", "-o", "json")
		body, ok := strings.CutPrefix(r.out(), "[\n")
		body, ok2 := strings.CutSuffix(body, "\n]\n")
		if r.code != 0 || !ok || !ok2 {
			t.Fatalf("-o json framing: exit %d, %q", r.code, r.out())
		}
		rows := strings.Split(body, ",\n")
		slices.Sort(rows)
		if want := []string{`{"key":"user:1"}`, `{"key":"user:10"}`, `{"key":"user:2"}`}; !slices.Equal(rows, want) {
			t.Fatalf("-o json rows %q, want %q", rows, want)
		}
	}
	c.run(t, pipe, "keys", "none:*", "-o", "json").expectErr(t, 0, "[]\n", "")
	c.run(t, pipe, "keys", "none:*", "-o", "jsonl").expectErr(t, 0, "", "")
	c.run(t, pipe, "keys", "user:1", "-l", "-o", "jsonl").expectErr(t, 0,
		`{"key":"user:1","type":"string","ttl":null,"size":7,"format":"json"}`+"\n", "")
	c.run(t, pipe, "keys", "user:2", "-l", "-o", "json").expectErr(t, 0,
		"[\n"+`{"key":"user:2","type":"string","ttl":90,"size":36,"format":"pickle"}`+"\n]\n", "")
}

// TestInprocKeysPrefixUnderAProfile: --prefix is literal text under the
// profile's layout, from the flag or from a context, and keys print in the
// profile's terms.
func TestInprocKeysPrefixUnderAProfile(t *testing.T) {
	c := startMemCache(t)
	c.seed(t, ":1:user:1", "u1", ":1:user:2", "u2", ":1:user*x", "star", ":1:other", "o", ":2:user:1", "v2", "user:1", "bare")

	c.run(t, pipe, "--profile", "django", "keys", "--prefix", "user").expectLines(t, "user:1", "user:2", "user*x")
	// Glob characters in a prefix are text.
	c.run(t, pipe, "--profile", "django", "keys", "--prefix", "user*").expectLines(t, "user*x")
	c.run(t, pipe, "--profile", "django", "--key-version", "2", "keys", "--prefix", "u").expectLines(t, "user:1")
	c.run(t, pipe, "--profile", "django", "keys", "user:?").expectLines(t, "user:1", "user:2")
	c.run(t, pipe, "--profile", "django", "keys", "--prefix", "user", "-o", "jsonl").expectLines(t,
		`{"key":"user:1","stored_key":":1:user:1"}`, `{"key":"user:2","stored_key":":1:user:2"}`, `{"key":"user*x","stored_key":":1:user*x"}`)
	// -l adds what each key is in the framework's terms.
	c.run(t, pipe, "--profile", "django", "keys", "-l", "--prefix", "oth").expectLines(t, "string\t-\t1\tstring\tdjango entry\tother")
	r := c.run(t, tty, "--profile", "django", "keys", "-l", "--prefix", "oth")
	r.expectErr(t, 0, "TYPE          TTL       SIZE FORMAT   WHAT                                 KEY\n"+
		"string          -        1 B string   django entry                         other\n", "")

	// The same from a context's profile, and then the flag wins.
	env := writeContexts(t, "current-context: dj\ncontexts:\n  dj:\n    url: "+c.URL+"\n    profile: django\n")
	c.runIn(t, pipe, env, "", "keys", "--prefix", "user").expectLines(t, "user:1", "user:2", "user*x")
	c.runIn(t, pipe, env, "", "--profile", "none", "keys", "--prefix", "user").expectLines(t, "user:1")

	// aiocache in memory: namespace glued to the key, no colon.
	c.seed(t, "appuser:1", "a", "app_x", "b")
	c.run(t, pipe, "--profile", "aiocache", "-n", "app", "keys", "--prefix", "user").expectLines(t, "user:1")
}

// TestInprocKeysHostileNamesEscaped: key bytes that could drive a terminal
// print in escaped form, on a terminal and in a pipe, coloured or not.
func TestInprocKeysHostileNamesEscaped(t *testing.T) {
	c := startMemCache(t)
	c.seed(t, "e\x1b]0;pwn\x07", "v", "bidi\u202eevil", "v", "nl\nkey", "v", "\xffraw", "v", `"quoted`, "v", "plain", "v")
	want := []string{`"e\x1b]0;pwn\x07"`, `"bidi\u202eevil"`, `"nl\nkey"`, `"\xffraw"`, `"\"quoted"`, "plain"}
	for _, s := range []streams{pipe, tty} {
		c.run(t, s, "keys").expectLines(t, want...)
	}
	r := newTestRun(t, nil)
	r.f.IO.SetStdoutTTY(true)
	r.f.IO.SetColorEnabled(true)
	code := r.run("-u", c.URL, "keys", "-l")
	out := r.stdout.String()
	if bad := terminalUnsafe(stripSGR(out)); code != 0 || bad != "" {
		t.Fatalf("exit %d; coloured keys -l holds %s: %q", code, bad, out)
	}
	if !strings.Contains(out, `"e\x1b]0;pwn\x07"`) || !strings.Contains(out, "\x1b[") {
		t.Fatalf("want the escaped name, coloured: %q", out)
	}
	// The escaped form names the key again with -E.
	c.run(t, pipe, "-E", "get", `"e\x1b]0;pwn\x07"`, "--raw").expect(t, 0, "v")
	c.run(t, pipe, "-E", "del", `"\xffraw"`, `"nl\nkey"`).expect(t, 0, "2\n")
	c.wantKeys(t, "e\x1b]0;pwn\x07", "bidi\u202eevil", `"quoted`, "plain")
	// A missing hostile key is named escaped in the error.
	c.run(t, tty, "get", "gone\x1b[2J").expectErr(t, ExitNotFound, "", `error: key "gone\x1b[2J" not found`+"\n")
}

// stripSGR removes the colour sequences cachectl itself writes (ESC [ n m),
// so what is left can be checked for anything else a terminal acts on.
func stripSGR(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == ';') {
				j++
			}
			if j < len(s) && s[j] == 'm' {
				i = j
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
