package commands

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/human"
)

func TestInprocStats(t *testing.T) {
	c := startMemCache(t)
	c.seed(t, "a", "1", "b", "2", "c", "3")
	c.run(t, pipe, "get", "a").expect(t, 0, "1\n")
	c.run(t, pipe, "get", "nope").expect(t, ExitNotFound, "")
	c.run(t, pipe, "get", "b").expect(t, 0, "2\n")
	c.run(t, pipe, "get", "c", "nope2", "nope3").expect(t, ExitNotFound, "c\n3\n")
	c.Clock.Advance(2*time.Hour + 5*time.Minute)
	st := c.Store.Stats()
	if st.Hits != 3 || st.Misses != 3 || st.Keys != 3 {
		t.Fatalf("the server counted %+v", st)
	}
	want := fmt.Sprintf(`backend      http  %s
version      cachectl/test
keys         3
memory       %s
hits         3
misses       3
hit ratio    50.0%%
evictions    0
expired      0
connections  unknown
uptime       %s
`, c.URL, human.Bytes(st.Bytes), human.Duration(2*time.Hour+5*time.Minute))
	for _, s := range []streams{pipe, tty} {
		c.run(t, s, "stats").expectErr(t, 0, want, "")
	}

	// --raw adds the server's own figures, sorted by name.
	r := c.run(t, pipe, "stats", "--raw")
	raw, ok := strings.CutPrefix(r.out(), want+"\n# "+c.URL+"\n")
	wantRaw := fmt.Sprintf("bytes      %d\nevictions  0\nexpired    0\nhits       3\nkeys       3\nmax_bytes  0\nmisses     3\nuptime_s   7500\nversion    cachectl/test\n", st.Bytes)
	if r.code != 0 || !ok || raw != wantRaw {
		t.Fatalf("stats --raw: exit %d\n%s\nwant the figures, then\n%s", r.code, r.out(), wantRaw)
	}

	doc := fmt.Sprintf(`{"backend":"http","address":%q,"version":"cachectl/test","keys":3,"memory_bytes":%d,"hits":3,"misses":3,"hit_ratio":0.5,"evictions":0,"expired":0,"ops_per_sec":null,"connections":null,"uptime_s":7500,"raw":{%q:{"bytes":"%d","evictions":"0","expired":"0","hits":"3","keys":"3","max_bytes":"0","misses":"3","uptime_s":"7500","version":"cachectl/test"}}}`+"\n",
		c.URL, st.Bytes, c.URL, st.Bytes)
	c.run(t, pipe, "stats", "-o", "json").expectErr(t, 0, doc, "")
	r = c.run(t, tty, "stats", "-o", "json")
	if r.code != 0 || !strings.HasPrefix(r.out(), "{\n  \"backend\": \"http\",\n") || !strings.Contains(r.out(), "\n  \"hit_ratio\": 0.5,\n") {
		t.Fatalf("stats -o json on a terminal: exit %d, %q", r.code, r.out())
	}

	// An empty server: no lookups yet, so no ratio.
	empty := startMemCache(t)
	r = empty.run(t, pipe, "stats")
	if r.code != 0 || !strings.Contains(r.out(), "\nhit ratio    n/a (no lookups yet)\n") || !strings.Contains(r.out(), "\nkeys         0\n") {
		t.Fatalf("empty stats: exit %d, %q", r.code, r.out())
	}
}

// complete runs `cachectl __complete ARGS` (what shells call) and returns
// the candidates and the directive line.
func (c *memCache) complete(t *testing.T, env map[string]string, args ...string) (candidates []string, directive string) {
	t.Helper()
	r := c.runIn(t, pipe, env, "", append([]string{"-u", c.URL, "__complete"}, args...)...)
	out := strings.Split(strings.TrimSuffix(r.out(), "\n"), "\n")
	if r.code != 0 || len(out) == 0 || !strings.HasPrefix(out[len(out)-1], ":") {
		t.Fatalf("__complete %q: exit %d, %q %q", args, r.code, r.out(), r.err())
	}
	candidates = out[:len(out)-1]
	slices.Sort(candidates)
	return candidates, out[len(out)-1]
}

func TestInprocCompletion(t *testing.T) {
	c := startMemCache(t)
	c.seed(t, "user:1", "a", "user:2", "b", "users", "c", "session:x", "d", "user:\x1b]0;pwn\x07", "e", "user:sp ace", "f")
	same := func(got []string, want ...string) {
		t.Helper()
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("candidates %q, want %q", got, want)
		}
	}
	got, directive := c.complete(t, nil, "get", "user:")
	same(got, "user:1", "user:2")
	if directive != ":4" { // ShellCompDirectiveNoFileComp
		t.Fatalf("directive %q", directive)
	}
	got, _ = c.complete(t, nil, "get", "")
	same(got, "user:1", "user:2", "users", "session:x")
	// get and del take any number of keys; set, ttl and expire one.
	got, _ = c.complete(t, nil, "del", "user:1", "s")
	same(got, "session:x")
	got, _ = c.complete(t, nil, "set", "user:1", "")
	same(got)
	got, _ = c.complete(t, nil, "ttl", "u")
	same(got, "user:1", "user:2", "users")
	got, _ = c.complete(t, nil, "expire", "user:1", "")
	same(got)
	// Under -E a hostile name is offered in its escaped form.
	got, _ = c.complete(t, nil, "-E", "get", "user:")
	same(got, "user:1", "user:2", `"user:\x1b]0;pwn\x07"`)
	// Under a profile, names complete in its terms.
	c.seed(t, ":1:page:1", "p", ":1:page:2", "q")
	got, _ = c.complete(t, nil, "--profile", "django", "get", "pa")
	same(got, "page:1", "page:2")
	env := writeContexts(t, "current-context: dj\ncontexts:\n  dj:\n    url: "+c.URL+"\n    profile: django\n")
	r := c.runIn(t, pipe, env, "", "__complete", "get", "page:")
	if got := lines(r.out()); r.code != 0 || !slices.Equal(got, []string{":4", "page:1", "page:2"}) {
		t.Fatalf("from a context: exit %d, %q", r.code, r.out())
	}
	// Flag values complete too.
	got, _ = c.complete(t, nil, "get", "k", "--as", "")
	if !slices.Contains(got, "pickle") || !slices.Contains(got, "msgpack") {
		t.Fatalf("--as candidates %q", got)
	}
}

// TestInprocCompletionGivesUpQuietly: a dead server completes nothing,
// exits 0 and prints no error into the shell.
func TestInprocCompletionGivesUpQuietly(t *testing.T) {
	dead := deadURL(t)
	r := newTestRun(t, nil)
	start := time.Now()
	code := r.run("-u", dead, "__complete", "get", "")
	if code != 0 || r.stdout.String() != ":4\n" || strings.Contains(r.stderr.String(), "error") {
		t.Fatalf("exit %d, %q %q", code, r.stdout, r.stderr)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("completion against a dead server took %v", d)
	}
}
