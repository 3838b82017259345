package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/testenv"
)

// TestKeysLongUnderACL: keys -l lists every key SCAN shows whatever the ACL
// keeps back, marks what it could not read, and says so in one line.
func TestKeysLongUnderACL(t *testing.T) {
	dbURL := testenv.RedisURL(t)
	c := testenv.RedisClient(t, dbURL)
	ctx := context.Background()
	if err := c.Set(ctx, "aa:1", "hello", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 51 {
		if err := c.Set(ctx, fmt.Sprintf("bb:%d", i), "x", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	keysLong := func(u string, args ...string) (stdout string, stderr []string) {
		t.Helper()
		r := newTestRun(t, nil)
		if code := r.run(append([]string{"-u", u, "keys", "-l"}, args...)...); code != 0 {
			t.Fatalf("keys -l %q: exit %d: %s", args, code, r.stderr)
		}
		return r.stdout.String(), strings.Split(strings.TrimSuffix(r.stderr.String(), "\n"), "\n")
	}
	oneLine := func(stderr []string, want string) {
		t.Helper()
		if len(stderr) != 1 || stderr[0] != want {
			t.Errorf("stderr %q, want the one line %q", stderr, want)
		}
	}

	// Without PTTL: every key, TTL "?", one warning.
	out, stderr := keysLong(testenv.RedisUserURL(t, dbURL, "~*", "+scan", "+type", "+strlen", "+getrange"))
	if n := strings.Count(out, "\n"); n != 52 {
		t.Errorf("without pttl: %d rows, want 52:\n%s", n, out)
	}
	if !strings.Contains(out, "string\t?\t5\tstring\taa:1\n") {
		t.Errorf("without pttl, aa:1 row:\n%s", out)
	}
	oneLine(stderr, "warning: no permission for PTTL on 52 key(s): TTL shown as ?; grant +pttl or @read")

	// Limited to aa:*: the 51 others are listed as unknown.
	u := testenv.RedisUserURL(t, dbURL, "~aa:*", "+@read")
	out, stderr = keysLong(u)
	if n := strings.Count(out, "\n"); n != 52 || !strings.Contains(out, "string\t-\t5\tstring\taa:1\n") || strings.Count(out, "?\t?\t?\t?\tbb:") != 51 {
		t.Errorf("limited to aa:*:\n%s", out)
	}
	oneLine(stderr, "warning: 51 key(s) are outside this user's ACL key patterns: TYPE, TTL, SIZE and FORMAT shown as ?")

	// JSON: unknown fields are absent or null, and named.
	out, _ = keysLong(u, "-o", "jsonl")
	rows := 0
	for line := range strings.Lines(out) {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		rows++
		if row["key"] == "aa:1" {
			if row["type"] != "string" || row["size"] != 5.0 || row["unknown"] != nil {
				t.Errorf("aa:1: %v", row)
			}
			continue
		}
		if _, ok := row["type"]; ok || row["ttl"] != nil || row["ttl_unknown"] != true || fmt.Sprint(row["unknown"]) != "[type ttl size format]" {
			t.Errorf("a key outside the ACL's patterns: %v", row)
		}
	}
	if rows != 52 {
		t.Errorf("jsonl: %d rows, want 52", rows)
	}

	// Full rights: no warning at all.
	if _, stderr = keysLong(dbURL); len(stderr) != 1 || stderr[0] != "" {
		t.Errorf("with full rights, stderr %q", stderr)
	}
}
