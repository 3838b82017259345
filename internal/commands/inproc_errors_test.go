package commands

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// everyCommand is one command line of each command that talks to a cache.
func everyCommand(t *testing.T) [][]string {
	dir := t.TempDir()
	dumpFile := filepath.Join(dir, "in.jsonl")
	os.WriteFile(dumpFile, []byte(`{"key":"r","type":"string","ttl":null,"value":"1"}`+"\n"), 0o600)
	return [][]string{
		{"get", "k"},
		{"set", "k", "v"},
		{"del", "k"},
		{"keys"},
		{"keys", "-l"},
		{"ttl", "k"},
		{"expire", "k", "5m"},
		{"stats"},
		{"invalidate", "k*", "--yes"},
		{"invalidate", "k*", "--dry-run"},
		{"dump", "-f", filepath.Join(dir, "out.jsonl")},
		{"restore", dumpFile},
	}
}

// TestInprocDeadServer: a server that does not answer is an error (exit 1)
// of one line naming it, for every command.
func TestInprocDeadServer(t *testing.T) {
	dead := deadURL(t)
	for _, args := range everyCommand(t) {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := newTestRun(t, nil)
			code := r.run(append([]string{"-u", dead}, args...)...)
			errOut := r.stderr.String()
			if code != ExitError || !strings.HasPrefix(errOut, "error: ") || strings.Count(errOut, "\n") != 1 ||
				!strings.Contains(errOut, "cannot reach "+dead+": connection refused") {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
		})
	}
}

// TestInprocBadURLs: a URL that cannot name an HTTP cache is a usage error
// (exit 2), said before any request.
func TestInprocBadURLs(t *testing.T) {
	c := startMemCache(t)
	for _, tt := range []struct{ url, want string }{
		{"http://", "error: invalid cache URL http:: no host, e.g. http://127.0.0.1:8750\n"},
		{"ftp://x", "error: invalid cache URL ftp://x: unknown scheme \"ftp\""},
		{"nonsense", "error: invalid cache URL: missing scheme"},
		{"http://user:secret@127.0.0.1:1", "error: invalid cache URL http://***@127.0.0.1:1: HTTP caches take a bearer token"},
		{c.URL + "/#frag", "a fragment (#…) means nothing to a cache URL"},
		{c.URL + "?ca=x", `unknown parameter "ca"`},
	} {
		for _, args := range [][]string{{"get", "k"}, {"keys"}, {"set", "k", "v"}} {
			r := c.runIn(t, pipe, nil, "", append([]string{"-u", tt.url}, args...)...)
			if r.code != ExitUsage || !strings.Contains(r.err(), tt.want) || strings.Contains(r.err(), "secret") {
				t.Errorf("-u %s %s: exit %d, %q; want exit 2 with %q", tt.url, args[0], r.code, r.err(), tt.want)
			}
		}
	}
	if c.count("GET /v1/capabilities")+c.count("GET /v1/entry")+c.count("PUT /v1/entry")+c.count("GET /v1/keys") != 0 {
		t.Fatal("bad URLs reached the server")
	}
	// No URL at all.
	r := newTestRun(t, nil)
	if code := r.run("get", "k"); code != ExitUsage {
		t.Fatalf("no URL: exit %d, %q", code, r.stderr)
	}
	// The URL from the environment, as scripts set it.
	c.seed(t, "k", "from env")
	c.runIn(t, pipe, map[string]string{"CACHECTL_URL": c.URL}, "", "get", "k").expect(t, 0, "from env\n")
	c.runIn(t, pipe, map[string]string{"CACHE_URL": c.URL}, "", "get", "k").expect(t, 0, "from env\n")
}

// TestInprocWrongBasePath: a URL whose path is not where the cache is
// served fails with the server's 404, not an empty answer; get, ttl and
// expire do not take it for a missing key (exit 3), the error code of the
// 404 telling an unknown endpoint from no such key.
func TestInprocWrongBasePath(t *testing.T) {
	c := startMemCache(t)
	c.seed(t, "k", "v")
	wrong := c.URL + "/_cache"
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"keys"}, "error: server " + wrong + ": 404 unknown endpoint\n"},
		{[]string{"stats"}, "error: server " + wrong + ": 404 unknown endpoint\n"},
		{[]string{"set", "k", "v2"}, "error: set k: server " + wrong + ": 404 unknown endpoint\n"},
		{[]string{"del", "k"}, "error: server " + wrong + ": 404 unknown endpoint\n"},
		{[]string{"get", "k"}, "error: get k: server " + wrong + ": 404 unknown endpoint\n"},
		{[]string{"get", "k", "-o", "json"}, "error: get k: server " + wrong + ": 404 unknown endpoint\n"},
		{[]string{"ttl", "k"}, "error: server " + wrong + ": 404 unknown endpoint\n"},
		{[]string{"expire", "k", "5m"}, "error: server " + wrong + ": 404 unknown endpoint\n"},
	} {
		r := c.runIn(t, pipe, nil, "", append([]string{"-u", wrong}, tt.args...)...)
		r.expectErr(t, ExitError, "", tt.want)
	}
	wantEntry(t, c, "k", []byte("v"), "", -1)
}

func TestInprocTokens(t *testing.T) {
	c := startMemCacheWith(t, memCacheOptions{Token: "s3cret-token"})
	c.seed(t, "k", "v")
	r := c.run(t, pipe, "get", "k")
	if r.code != ExitError || !strings.Contains(r.err(), "authentication failed (401 missing or wrong token)") {
		t.Fatalf("no token: exit %d, %q", r.code, r.err())
	}
	r = c.run(t, pipe, "--token", "wrong-token", "set", "k", "x")
	if r.code != ExitError || !strings.Contains(r.err(), "authentication failed") || strings.Contains(r.err(), "wrong-token") {
		t.Fatalf("wrong token: exit %d, %q", r.code, r.err())
	}
	wantEntry(t, c, "k", []byte("v"), "", -1)
	c.run(t, pipe, "--token", "s3cret-token", "get", "k").expectErr(t, 0, "v\n", "")
	c.runIn(t, pipe, map[string]string{"CACHECTL_TOKEN": "s3cret-token"}, "", "-u", c.URL, "set", "k", "w").expectErr(t, 0, "", "")
	wantEntry(t, c, "k", []byte("w"), "string", -1)
	env := writeContexts(t, "current-context: t\ncontexts:\n  t:\n    url: "+c.URL+"\n    token_env: APP_CACHE_TOKEN\n")
	env["APP_CACHE_TOKEN"] = "s3cret-token"
	c.runIn(t, pipe, env, "", "keys").expectLines(t, "k")
}

// TestInprocReadOnlyRefusesWrites: --read-only and a read-only context
// refuse every write with exit 4 before any request; reads still work.
func TestInprocReadOnlyRefusesWrites(t *testing.T) {
	c := startMemCache(t)
	c.put(t, "k", []byte("v"), time.Minute, "")
	env := writeContexts(t, "current-context: ro\ncontexts:\n  ro:\n    url: "+c.URL+"\n    read_only: true\n")
	dumpFile := filepath.Join(t.TempDir(), "in.jsonl")
	os.WriteFile(dumpFile, []byte(`{"key":"r","type":"string","ttl":null,"value":"1"}`+"\n"), 0o600)
	writes := [][]string{
		{"set", "k", "x"},
		{"set", "new", "x"},
		{"del", "k"},
		{"expire", "k", "0"},
		{"invalidate", "k*", "--yes"},
		{"invalidate", "*", "--all", "--yes"},
		{"restore", dumpFile},
	}
	for _, args := range writes {
		for _, how := range []struct {
			name   string
			env    map[string]string
			prefix []string
			reason string
		}{
			{"--read-only", nil, []string{"-u", c.URL, "--read-only"}, ": --read-only\n"},
			{"context", env, nil, `: context "ro" is read-only` + "\n"},
		} {
			r := c.runIn(t, pipe, how.env, "", append(how.prefix, args...)...)
			if r.code != ExitRefused || !strings.HasPrefix(r.err(), "error: refusing to ") || !strings.HasSuffix(r.err(), how.reason) {
				t.Errorf("%s %q: exit %d, %q", how.name, args, r.code, r.err())
			}
		}
	}
	if n := c.count("PUT /v1/entry") + c.count("DELETE /v1/entry") + c.count("POST /v1/expire") + c.count("POST /v1/invalidate"); n != 0 {
		t.Fatalf("read-only runs sent %d writes", n)
	}
	c.wantKeys(t, "k")
	wantEntry(t, c, "k", []byte("v"), "", time.Minute)
	// Reads, and a dry run, are not writes.
	c.runIn(t, pipe, env, "", "get", "k").expect(t, 0, "v\n")
	c.runIn(t, pipe, env, "", "keys").expectLines(t, "k")
	c.runIn(t, pipe, env, "", "ttl", "k").expect(t, 0, "60\n")
	c.runIn(t, pipe, env, "", "invalidate", "k*", "--dry-run").expect(t, 0, "1 key(s) match k* (dry run: nothing deleted)\n  k\n")
}

// TestInprocInterruptedListingExits130: Ctrl-C during keys stops after the
// page being written; the exit code is 130.
func TestInprocInterruptedListingExits130(t *testing.T) {
	c := startMemCache(t)
	seedMany(t, c, "k:", 5000)
	r := newTestRun(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.f.IO.Out = &cancelAfterWrite{w: r.stdout, cancel: cancel}
	r.f.IO.SetStdoutTTY(true) // flush per page
	code := Run(ctx, r.f, []string{"-u", c.URL, "--scan-count", "100", "keys"})
	if code != ExitInterrupted || !strings.Contains(r.stderr.String(), "interrupted") {
		t.Fatalf("exit %d, want 130; stderr %q", code, r.stderr)
	}
	if n := strings.Count(r.stdout.String(), "\n"); n == 0 || n >= 5000 {
		t.Fatalf("printed %d keys; want the pages before the interrupt only", n)
	}
}

// TestInprocHostileValuesEscaped: control bytes in a stored value never
// reach the terminal raw, in text or JSON; --raw alone gives them.
func TestInprocHostileValuesEscaped(t *testing.T) {
	c := startMemCache(t)
	c.put(t, "v", []byte("hi\x1b]0;pwn\x07\x1b[2Jthere\u202e"), 0, "")
	for _, s := range []streams{pipe, tty} {
		r := c.run(t, s, "get", "v")
		if bad := terminalUnsafe(r.out()); r.code != 0 || bad != "" {
			t.Fatalf("%v: exit %d, value printed with %s: %q", s, r.code, bad, r.out())
		}
		r = c.run(t, s, "get", "v", "-o", "json")
		if bad := terminalUnsafe(r.out()); r.code != 0 || bad != "" || !strings.Contains(r.out(), `\u001b]0;pwn\u0007`) {
			t.Fatalf("%v -o json: exit %d, %s: %q", s, r.code, bad, r.out())
		}
	}
	// --raw is the exact bytes, asked for.
	c.run(t, pipe, "get", "v", "--raw").expect(t, 0, "hi\x1b]0;pwn\x07\x1b[2Jthere\u202e")
}
