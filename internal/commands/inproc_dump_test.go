package commands

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/memserver"
)

func seedDumpable(t *testing.T, c *memCache) {
	t.Helper()
	c.put(t, "u:1", pickledAda, 90*time.Second, "pickle")
	c.put(t, "u:2", []byte("plain"), 0, "string")
	c.put(t, "u:\xff", []byte("\x00\xff"), time.Hour, "bytes")
	c.put(t, "u:\x1besc", jsonAda, 0, "json")
	c.put(t, "skip", []byte("not dumped"), 0, "")
}

// wantSameEntries fails unless dst holds exactly the u:* entries of src,
// byte for byte, with their TTLs and formats.
func wantSameEntries(t *testing.T, src, dst *memCache) {
	t.Helper()
	var want []string
	for _, k := range src.keys(t) {
		if strings.HasPrefix(k, "u:") {
			want = append(want, k)
		}
	}
	dst.wantKeys(t, want...)
	for _, k := range want {
		e, _ := src.entry(t, k)
		wantEntry(t, dst, k, e.Value, e.Format, e.TTL)
	}
}

func TestInprocDumpRestoreRoundTrip(t *testing.T) {
	src, dst := startMemCache(t), startMemCache(t)
	seedDumpable(t, src)
	file := filepath.Join(t.TempDir(), "u.jsonl")

	// Silent in a pipe; on a terminal one line says what was written.
	src.run(t, pipe, "dump", "u:*", "-f", file).expectErr(t, 0, "", "")
	want := []string{
		`{"key":"u:1","type":"string","ttl":90,"value":{"$bytes":"gASVGQAAAAAAAAB9lCiMBG5hbWWUjANBZGGUjAJpZJRLB3Uu"}}`,
		`{"key":"u:2","type":"string","ttl":null,"value":"plain"}`,
		`{"key":{"$bytes":"dTr/"},"type":"string","ttl":3600,"value":{"$bytes":"AP8="}}`,
		`{"key":"u:\u001besc","type":"string","ttl":null,"value":"{\"name\": \"Ada\", \"id\": 7}"}`,
	}
	slices.Sort(want)
	wantFileLines(t, file, want...)
	dst.run(t, pipe, "restore", file).expectErr(t, 0, "restored 4 entries\n", "")
	wantSameEntries(t, src, dst)

	// -f - and restore - stream through a pipe.
	viaPipe := startMemCache(t)
	dumped := src.run(t, pipe, "dump", "u:*", "-f", "-")
	if dumped.code != 0 || !slices.Equal(lines(dumped.out()), want) {
		t.Fatalf("dump -f -: exit %d, %q", dumped.code, dumped.out())
	}
	viaPipe.runIn(t, pipe, nil, dumped.out(), "-u", viaPipe.URL, "restore", "-").expectErr(t, 0, "restored 4 entries\n", "")
	wantSameEntries(t, src, viaPipe)

	// On a terminal: the count, and TTLs follow the clock of the dump.
	src.Clock.Advance(30 * time.Second)
	file2 := filepath.Join(t.TempDir(), "u2.jsonl")
	src.run(t, tty, "dump", "u:1", "-f", file2).expectErr(t, 0, "", "✓ wrote 1 entries to "+file2+"\n")
	wantFileLines(t, file2, `{"key":"u:1","type":"string","ttl":60,"value":{"$bytes":"gASVGQAAAAAAAAB9lCiMBG5hbWWUjANBZGGUjAJpZJRLB3Uu"}}`)
	dst.run(t, pipe, "restore", file2, "--replace", "-o", "json").expectErr(t, 0, `{"restored":1,"kept":0,"expired":0}`+"\n", "")
	wantEntry(t, dst, "u:1", pickledAda, "pickle", time.Minute)
}

func TestInprocDumpFileSafety(t *testing.T) {
	c := startMemCache(t)
	c.seed(t, "a", "1")
	dir := t.TempDir()
	file := filepath.Join(dir, "d.jsonl")
	if r := c.run(t, pipe, "dump"); r.code != ExitUsage || !strings.Contains(r.err(), "dump needs -f FILE") {
		t.Fatalf("dump without -f: exit %d, %q", r.code, r.err())
	}
	c.run(t, pipe, "dump", "-f", file).expect(t, 0, "")
	// An existing file is never overwritten.
	r := c.run(t, pipe, "dump", "-f", file)
	if r.code != ExitRefused || !strings.Contains(r.err(), "refusing to overwrite") {
		t.Fatalf("existing file: exit %d, %q", r.code, r.err())
	}
	c.seed(t, "b", "2")
	c.run(t, pipe, "dump", "b", "-f", file, "--append").expect(t, 0, "")
	data, _ := os.ReadFile(file)
	if want := `{"key":"a","type":"string","ttl":null,"value":"1"}` + "\n" + `{"key":"b","type":"string","ttl":null,"value":"2"}` + "\n"; string(data) != want {
		t.Fatalf("--append: %q", data)
	}
	r = c.run(t, pipe, "dump", "a", "-f", file, "--force")
	if r.code != 0 || r.err() != "note: kept the old "+file+" as "+file+".~1~\n" {
		t.Fatalf("--force: exit %d, %q", r.code, r.err())
	}
	if old, _ := os.ReadFile(file + ".~1~"); string(old) != string(data) {
		t.Fatalf("kept aside: %q", old)
	}
	if r := c.run(t, pipe, "dump", "-f", "-", "--append"); r.code != ExitUsage {
		t.Fatalf("--append with -f -: exit %d", r.code)
	}
}

func TestInprocRestoreRejectsBadLines(t *testing.T) {
	c := startMemCache(t)
	file := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(file, []byte(`{"key":"ok","type":"string","ttl":null,"value":"1"}`+"\n"+`{"key":"x","type":"string","ttl":-5,"value":"2"}`+"\n"), 0o600)
	r := c.run(t, pipe, "restore", file)
	if r.code != ExitError || r.out() != "" || !strings.HasPrefix(r.err(), "error: restore stopped after 1 entries: "+file+": line 2") {
		t.Fatalf("bad line: exit %d, %q %q", r.code, r.out(), r.err())
	}
	c.wantKeys(t, "ok")
	wantEntry(t, c, "ok", []byte("1"), "json", memserver.NoExpiry)
	if r := c.run(t, pipe, "restore", filepath.Join(t.TempDir(), "missing.jsonl")); r.code != ExitError {
		t.Fatalf("missing file: exit %d, %q", r.code, r.err())
	}
}
