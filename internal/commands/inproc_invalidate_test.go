package commands

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/memserver"
)

// seedMany stores n keys prefix0..prefix(n-1).
func seedMany(t *testing.T, c *memCache, prefix string, n int) {
	t.Helper()
	for i := range n {
		c.put(t, fmt.Sprintf("%s%d", prefix, i), []byte("v"), 0, "")
	}
}

// countKeys is how many keys the server holds that start with prefix.
func countKeys(t *testing.T, c *memCache, prefix string) int {
	t.Helper()
	n := 0
	for _, k := range c.keys(t) {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// expectDeleted fails unless the run exited 0 and its one stdout line says
// it deleted n keys matching patterns (the time varies).
func (m *memRun) expectDeleted(t *testing.T, n int, patterns string) {
	t.Helper()
	re := regexp.MustCompile(`^deleted ` + fmt.Sprint(n) + ` key\(s\) matching ` + regexp.QuoteMeta(patterns) + ` in \d+(\.\d+)?(ms|s)\n$`)
	if m.code != 0 || !re.MatchString(m.out()) {
		t.Fatalf("exit %d\nstdout: %q\n  want: deleted %d key(s) matching %s in …\nstderr: %q", m.code, m.out(), n, patterns, m.err())
	}
}

// invalidateDoc is invalidate's -o json summary, for exact field checks.
type invalidateDoc struct {
	Patterns   []any    `json:"patterns"`
	Matched    int64    `json:"matched"`
	Deleted    int64    `json:"deleted"`
	DryRun     bool     `json:"dry_run"`
	ElapsedMS  *int64   `json:"elapsed_ms"`
	Backup     *string  `json:"backup"`
	Sample     []string `json:"sample"`
	ServerSide bool     `json:"server_side"`
}

func (m *memRun) invalidateJSON(t *testing.T) invalidateDoc {
	t.Helper()
	var d invalidateDoc
	if m.code != 0 || strings.Count(m.out(), "\n") != 1 {
		t.Fatalf("want one JSON line: exit %d, %q, stderr %q", m.code, m.out(), m.err())
	}
	if err := json.Unmarshal([]byte(m.out()), &d); err != nil || d.ElapsedMS == nil {
		t.Fatalf("summary %q: %v", m.out(), err)
	}
	slices.Sort(d.Sample)
	return d
}

func TestInprocInvalidateDryRun(t *testing.T) {
	c := startMemCache(t)
	c.seed(t, "a:1", "x", "a:2", "y", "b:1", "z", "c:1", "w")
	for _, s := range []streams{pipe, tty} {
		r := c.run(t, s, "invalidate", "a:*", "b:*", "--dry-run")
		head, sample, _ := strings.Cut(r.out(), "\n")
		if r.code != 0 || head != "3 key(s) match a:* b:* (dry run: nothing deleted)" ||
			!slices.Equal(lines(sample), []string{"  a:1", "  a:2", "  b:1"}) {
			t.Fatalf("%v: exit %d, %q", s, r.code, r.out())
		}
	}
	// A dry run's progress line on a terminal counts matches; it deletes nothing.
	r := c.run(t, tty, "invalidate", "c:1", "--dry-run")
	if !strings.Contains(r.err(), "\r\x1b[K1 matched so far (") || strings.Contains(r.err(), "deleted") || !strings.HasSuffix(r.err(), "\r\x1b[K") {
		t.Fatalf("dry-run progress on a terminal: %q", r.err())
	}
	d := c.run(t, pipe, "invalidate", "a:*", "--dry-run", "-o", "json").invalidateJSON(t)
	if d.Matched != 2 || d.Deleted != 0 || !d.DryRun || d.Backup != nil || !slices.Equal(d.Sample, []string{"a:1", "a:2"}) || fmt.Sprint(d.Patterns) != "[a:*]" {
		t.Fatalf("dry run summary: %+v", d)
	}
	// A dry run needs no --yes, writes no backup, and deletes nothing.
	backup := filepath.Join(t.TempDir(), "b.jsonl")
	c.run(t, pipe, "invalidate", "c:*", "--dry-run", "--backup", backup).expect(t, 0, "1 key(s) match c:* (dry run: nothing deleted)\n  c:1\n")
	if _, err := os.Stat(backup); !os.IsNotExist(err) {
		t.Fatalf("a dry run wrote %s: %v", backup, err)
	}
	c.wantKeys(t, "a:1", "a:2", "b:1", "c:1")
}

func TestInprocInvalidateYes(t *testing.T) {
	c := startMemCache(t)
	seedMany(t, c, "user:", 12)
	seedMany(t, c, "keep:", 3)
	c.run(t, pipe, "invalidate", "user:*", "--yes").expectDeleted(t, 12, "user:*")
	if n := countKeys(t, c, "user:"); n != 0 || countKeys(t, c, "keep:") != 3 {
		t.Fatalf("after invalidate: %d user keys, %d kept", n, countKeys(t, c, "keep:"))
	}
	// Nothing left to match: still exit 0, and 0 deleted.
	c.run(t, pipe, "invalidate", "user:*", "-y").expectDeleted(t, 0, "user:*")

	seedMany(t, c, "user:", 4)
	seedMany(t, c, "sess:", 2)
	d := c.run(t, pipe, "invalidate", "user:*", "sess:*", "--yes", "-o", "json").invalidateJSON(t)
	if d.Matched != 6 || d.Deleted != 6 || d.DryRun || !d.ServerSide || d.Backup != nil || fmt.Sprint(d.Patterns) != "[user:* sess:*]" {
		t.Fatalf("summary: %+v", d)
	}
	c.wantKeys(t, "keep:0", "keep:1", "keep:2")

	// A terminal gets a progress line on stderr, cleared at the end; a pipe none.
	seedMany(t, c, "user:", 4)
	r := c.run(t, tty, "invalidate", "user:*", "--yes")
	r.expectDeleted(t, 4, "user:*")
	if !strings.HasSuffix(r.err(), "\r\x1b[K") || !strings.Contains(r.err(), "deleted 4 of 4 matched so far") {
		t.Fatalf("progress on a terminal: %q", r.err())
	}
}

// TestInprocInvalidateNeedsConfirmation: off a terminal nothing is deleted
// without --yes; on one the count is shown and asked.
func TestInprocInvalidateNeedsConfirmation(t *testing.T) {
	c := startMemCache(t)
	seedMany(t, c, "few:", 5)
	refusal := "error: refusing to invalidate few:* without --yes: standard input is not a terminal to confirm on (try --dry-run first)\n"
	c.run(t, pipe, "invalidate", "few:*").expectErr(t, ExitRefused, "", refusal)
	// A terminal for output is not one to answer on.
	c.run(t, tty, "invalidate", "few:*").expectErr(t, ExitRefused, "", refusal)
	if n := countKeys(t, c, "few:"); n != 5 {
		t.Fatalf("refused, yet %d of 5 keys left", n)
	}

	ask := func(answer string, args ...string) *memRun {
		return c.runIn(t, ttyPrompt, nil, answer, append([]string{"-u", c.URL, "invalidate"}, args...)...)
	}
	prompt := func(r *memRun, n int, pattern, question string) {
		t.Helper()
		head, rest, _ := strings.Cut(r.err(), "\n")
		if head != fmt.Sprintf("! %d key(s) match %s, e.g.:", n, pattern) || !strings.Contains(rest, question) {
			t.Fatalf("prompt: %q", r.err())
		}
	}
	for _, answer := range []string{"n\n", "\n", "", "yes please\n"} {
		r := ask(answer, "few:*")
		if r.code != ExitRefused || r.out() != "" || !strings.HasSuffix(r.err(), "Delete them? [y/N] error: not confirmed; nothing was deleted\n") {
			t.Fatalf("answer %q: exit %d, %q %q", answer, r.code, r.out(), r.err())
		}
		prompt(r, 5, "few:*", "[y/N]")
	}
	if n := countKeys(t, c, "few:"); n != 5 {
		t.Fatalf("not confirmed, yet %d of 5 keys left", n)
	}
	r := ask("y\n", "few:*")
	r.expectDeleted(t, 5, "few:*")
	prompt(r, 5, "few:*", "Delete them? [y/N] ")
	if n := countKeys(t, c, "few:"); n != 0 {
		t.Fatalf("confirmed, yet %d keys left", n)
	}
	seedMany(t, c, "few:", 2)
	ask("YES\n", "few:*").expectDeleted(t, 2, "few:*")

	// Nothing matches: nothing is asked, nothing deleted, and the summary is
	// the one --yes gives (deleted 0), not a dry run, which only --dry-run is.
	r = ask("", "none:*")
	if r.code != 0 || r.err() != "no keys match none:*; nothing to delete\n" {
		t.Fatalf("no match: exit %d, %q", r.code, r.err())
	}
	r.expectDeleted(t, 0, "none:*")
	c.run(t, pipe, "invalidate", "none:*", "--yes").expectDeleted(t, 0, "none:*")
	var asked invalidateDoc // stdout is a terminal here: indented JSON
	if r = ask("", "none:*", "-o", "json"); r.code != 0 || json.Unmarshal([]byte(r.out()), &asked) != nil {
		t.Fatalf("no match, -o json: exit %d, %q", r.code, r.out())
	}
	yes := c.run(t, pipe, "invalidate", "none:*", "--yes", "-o", "json").invalidateJSON(t)
	asked.ElapsedMS, yes.ElapsedMS = nil, nil
	if asked.DryRun || asked.Matched != 0 || asked.Deleted != 0 || fmt.Sprintf("%+v", asked) != fmt.Sprintf("%+v", yes) {
		t.Fatalf("no match, asked: %+v; with --yes: %+v", asked, yes)
	}

	// Above 1000 keys the count must be typed.
	seedMany(t, c, "many:", 1001)
	r = ask("y\n", "many:*")
	if r.code != ExitRefused || !strings.Contains(r.err(), "This deletes them (that many keys). Type 1001 to go on: ") {
		t.Fatalf("many keys, answer y: exit %d, %q", r.code, r.err())
	}
	ask("1000\n", "many:*").expect(t, ExitRefused, "")
	if n := countKeys(t, c, "many:"); n != 1001 {
		t.Fatalf("not confirmed, yet %d of 1001 keys left", n)
	}
	ask("1001\n", "many:*").expectDeleted(t, 1001, "many:*")
	if n := countKeys(t, c, "many:"); n != 0 {
		t.Fatalf("confirmed, yet %d keys left", n)
	}

	// A production context asks for the count even for a few keys.
	env := writeContexts(t, "current-context: prod\ncontexts:\n  prod:\n    url: "+c.URL+"\n    production: true\n")
	seedMany(t, c, "prod:", 3)
	r = c.runIn(t, ttyPrompt, env, "y\n", "invalidate", "prod:*")
	if r.code != ExitRefused || !strings.Contains(r.err(), "This deletes them (a production context). Type 3 to go on: ") {
		t.Fatalf("production, answer y: exit %d, %q", r.code, r.err())
	}
	c.runIn(t, ttyPrompt, env, "3\n", "invalidate", "prod:*").expectDeleted(t, 3, "prod:*")
	c.wantKeys(t)
}

func TestInprocInvalidateEverythingNeedsAll(t *testing.T) {
	c := startMemCache(t)
	seedMany(t, c, "k", 3)
	for _, p := range []string{"*", "**", "?*"} {
		r := c.run(t, pipe, "invalidate", p, "--yes")
		if r.code != ExitRefused || !strings.Contains(r.err(), "matches them all, which also needs --all") {
			t.Fatalf("%s: exit %d, %q", p, r.code, r.err())
		}
	}
	c.wantKeys(t, "k0", "k1", "k2")
	c.run(t, pipe, "invalidate", "*", "--all", "--yes").expectDeleted(t, 3, "*")
	c.wantKeys(t)
}

func TestInprocInvalidateMax(t *testing.T) {
	c := startMemCache(t)
	seedMany(t, c, "a:", 30)
	// --max needs each batch counted: the client lists and deletes, exactly N.
	c.run(t, pipe, "invalidate", "a:*", "--yes", "--max", "7").expectDeleted(t, 7, "a:*")
	if n := countKeys(t, c, "a:"); n != 23 {
		t.Fatalf("--max 7 of 30: %d left", n)
	}
	d := c.run(t, pipe, "invalidate", "a:*", "--yes", "--max", "5", "--batch", "2", "-o", "json").invalidateJSON(t)
	if d.Deleted != 5 || d.ServerSide {
		t.Fatalf("--max 5 --batch 2: %+v", d)
	}
	if n := countKeys(t, c, "a:"); n != 18 {
		t.Fatalf("after --max 5: %d left, want 18", n)
	}
	if got := c.invalidateBodies(); len(got) != 0 {
		t.Fatalf("--max went to the server's invalidate: %q", got)
	}
	// A --max above the matches deletes them all.
	c.run(t, pipe, "invalidate", "a:*", "--yes", "--max", "100").expectDeleted(t, 18, "a:*")
	c.wantKeys(t)
	for _, bad := range [][]string{{"--max", "-1"}, {"--batch", "0"}, {"--rate", "-5"}} {
		if r := c.run(t, pipe, append([]string{"invalidate", "a:*", "--yes"}, bad...)...); r.code != ExitUsage {
			t.Fatalf("%q: exit %d", bad, r.code)
		}
	}
}

// TestInprocInvalidateChunked: a server with invalidate-chunked deletes in
// bounded chunks, each of at most --batch keys, walking its cursor.
func TestInprocInvalidateChunked(t *testing.T) {
	c := startMemCache(t)
	seedMany(t, c, "a:", 23)
	seedMany(t, c, "b:", 4)
	d := c.run(t, pipe, "invalidate", "a:*", "--yes", "--batch", "5", "-o", "json").invalidateJSON(t)
	if d.Matched != 23 || d.Deleted != 23 || !d.ServerSide {
		t.Fatalf("summary: %+v", d)
	}
	bodies := c.invalidateBodies()
	if len(bodies) < 5 { // 23 keys, at most 5 a chunk
		t.Fatalf("%d chunk requests for 23 keys of at most 5: %q", len(bodies), bodies)
	}
	for i, b := range bodies {
		var req struct {
			Match  []string `json:"match"`
			DryRun bool     `json:"dry_run"`
			Limit  int      `json:"limit"`
			Cursor *string  `json:"cursor"`
		}
		if err := json.Unmarshal([]byte(b), &req); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(req.Match) != "[a:*]" || req.DryRun || req.Limit != 5 || (i == 0) != (req.Cursor == nil) {
			t.Fatalf("chunk %d: %s", i, b)
		}
	}
	c.wantKeys(t, "b:0", "b:1", "b:2", "b:3")
}

// TestInprocInvalidateOlderServer: without invalidate-chunked the server
// counts first, then deletes in one request; the counts are exact either way.
func TestInprocInvalidateOlderServer(t *testing.T) {
	c := startMemCacheWith(t, memCacheOptions{NoChunkedInvalidate: true})
	seedMany(t, c, "a:", 23)
	seedMany(t, c, "b:", 4)
	d := c.run(t, pipe, "invalidate", "a:*", "--yes", "--batch", "5", "-o", "json").invalidateJSON(t)
	if d.Matched != 23 || d.Deleted != 23 || !d.ServerSide {
		t.Fatalf("summary: %+v", d)
	}
	want := []string{`{"match":["a:*"],"dry_run":true}`, `{"match":["a:*"],"dry_run":false}`}
	if got := c.invalidateBodies(); !slices.Equal(got, want) {
		t.Fatalf("invalidate requests %q, want %q", got, want)
	}
	c.wantKeys(t, "b:0", "b:1", "b:2", "b:3")
	r := c.run(t, pipe, "invalidate", "b:*", "--dry-run")
	head, sample, _ := strings.Cut(r.out(), "\n")
	if r.code != 0 || head != "4 key(s) match b:* (dry run: nothing deleted)" ||
		!slices.Equal(lines(sample), []string{"  b:0", "  b:1", "  b:2", "  b:3"}) {
		t.Fatalf("dry run: exit %d, %q", r.code, r.out())
	}
	if got := c.invalidateBodies(); len(got) != 3 || got[2] != `{"match":["b:*"],"dry_run":true}` {
		t.Fatalf("a dry run is one counting request: %q", got)
	}
	c.wantKeys(t, "b:0", "b:1", "b:2", "b:3")
}

// TestInprocInvalidateBackupThenRestore: --backup saves every deleted entry
// with its TTL before deleting it; restore brings them back as they were.
func TestInprocInvalidateBackupThenRestore(t *testing.T) {
	c := startMemCache(t)
	c.put(t, "u:1", pickledAda, 90*time.Second, "")
	c.put(t, "u:2", []byte("plain"), 0, "")
	c.put(t, "u:3", []byte("\x00\xffbin"), time.Hour, "")
	c.put(t, "other", []byte("stays"), 0, "")
	backup := filepath.Join(t.TempDir(), "backup.jsonl")

	d := c.run(t, pipe, "invalidate", "u:*", "--yes", "--backup", backup, "-o", "json").invalidateJSON(t)
	if d.Deleted != 3 || d.Backup == nil || *d.Backup != backup || d.ServerSide {
		t.Fatalf("summary: %+v", d)
	}
	c.wantKeys(t, "other")
	wantFileLines(t, backup,
		`{"key":"u:1","type":"string","ttl":90,"value":{"$bytes":"gASVGQAAAAAAAAB9lCiMBG5hbWWUjANBZGGUjAJpZJRLB3Uu"}}`,
		`{"key":"u:2","type":"string","ttl":null,"value":"plain"}`,
		`{"key":"u:3","type":"string","ttl":3600,"value":{"$bytes":"AP9iaW4="}}`,
	)
	if info, err := os.Stat(backup); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("backup mode: %v %v", info.Mode(), err)
	}

	// An existing backup file is refused before anything is deleted.
	r := c.run(t, pipe, "invalidate", "other", "--yes", "--backup", backup)
	if r.code != ExitRefused || !strings.Contains(r.err(), "refusing to overwrite") {
		t.Fatalf("existing backup: exit %d, %q", r.code, r.err())
	}
	c.wantKeys(t, "other")

	// Time passes on the server; restore puts back what was saved.
	c.Clock.Advance(10 * time.Second)
	c.run(t, pipe, "restore", backup).expectErr(t, 0, "restored 3 entries\n", "")
	wantEntry(t, c, "u:1", pickledAda, "pickle", 90*time.Second)
	wantEntry(t, c, "u:2", []byte("plain"), "string", memserver.NoExpiry)
	wantEntry(t, c, "u:3", []byte("\x00\xffbin"), "bytes", time.Hour)
	c.run(t, pipe, "get", "u:1").expect(t, 0, "{'name': 'Ada', 'id': 7}\n")
	// Again: the keys exist now, and are kept.
	c.run(t, pipe, "restore", backup, "-o", "json").expectErr(t, 0, `{"restored":0,"kept":3,"expired":0}`+"\n", "")
	c.run(t, pipe, "restore", backup, "--replace").expect(t, 0, "restored 3 entries\n")
}

// TestInprocInvalidatePrefixUnderAProfile: --prefix maps through the profile
// as keys --prefix does, and deletes only keys under it.
func TestInprocInvalidatePrefixUnderAProfile(t *testing.T) {
	c := startMemCache(t)
	c.seed(t, ":1:user:1", "a", ":1:user:2", "b", ":1:user*x", "c", ":1:other", "d", "user:1", "bare", ":2:user:1", "v2")
	c.run(t, pipe, "--profile", "django", "invalidate", "--prefix", "user*", "--yes").expectDeleted(t, 1, `:1:user\**`)
	c.run(t, pipe, "--profile", "django", "invalidate", "--prefix", "user", "--yes").expectDeleted(t, 2, ":1:user*")
	c.wantKeys(t, ":1:other", "user:1", ":2:user:1")
	env := writeContexts(t, "current-context: dj\ncontexts:\n  dj:\n    url: "+c.URL+"\n    profile: django\n")
	c.runIn(t, pipe, env, "", "invalidate", "oth*", "--yes").expectDeleted(t, 1, ":1:oth*")
	c.wantKeys(t, "user:1", ":2:user:1")
	if r := c.run(t, pipe, "--profile", "django", "invalidate", "--prefix", "", "--yes"); r.code != ExitUsage {
		t.Fatalf("empty --prefix: exit %d", r.code)
	}
}
