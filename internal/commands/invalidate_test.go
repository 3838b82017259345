package commands

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/testenv"
)

// TestInvalidateConfirmation drives the terminal confirmation: "y" for a few
// keys, the count typed out for many keys or a production context.
func TestInvalidateConfirmation(t *testing.T) {
	url := testenv.RedisURL(t)
	c := testenv.RedisClient(t, url)
	ctx := context.Background()
	fillKeys := func(prefix string, n int) {
		t.Helper()
		pipe := c.Pipeline()
		for i := range n {
			pipe.Set(ctx, fmt.Sprintf("%s%d", prefix, i), "v", 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	count := func(pattern string) int {
		keys, err := c.Keys(ctx, pattern).Result()
		if err != nil {
			t.Fatal(err)
		}
		return len(keys)
	}
	tty := func(r *testRun, answer string) {
		r.f.IO.SetStdinTTY(true)
		r.f.IO.SetStderrTTY(true)
		r.stdin.WriteString(answer)
	}

	fillKeys("few:", 5)
	r := newTestRun(t, nil)
	tty(r, "n\n")
	if code := r.run("-u", url, "invalidate", "few:*"); code != ExitRefused || count("few:*") != 5 {
		t.Fatalf("answer n: exit %d, %d keys left; stderr %s", code, count("few:*"), r.stderr)
	}
	if !strings.Contains(r.stderr.String(), "5 key(s) match few:*") || !strings.Contains(r.stderr.String(), "[y/N]") {
		t.Fatalf("prompt: %s", r.stderr)
	}
	r = newTestRun(t, nil)
	tty(r, "y\n")
	if code := r.run("-u", url, "invalidate", "few:*"); code != ExitOK || count("few:*") != 0 {
		t.Fatalf("answer y: exit %d, %d keys left; stderr %s", code, count("few:*"), r.stderr)
	}

	fillKeys("many:", 1500)
	r = newTestRun(t, nil)
	tty(r, "y\n")
	if code := r.run("-u", url, "invalidate", "many:*"); code != ExitRefused || count("many:*") != 1500 {
		t.Fatalf("many keys, answer y: exit %d, %d left", code, count("many:*"))
	}
	if !strings.Contains(r.stderr.String(), "Type 1500 to go on") {
		t.Fatalf("typed confirmation prompt: %s", r.stderr)
	}
	r = newTestRun(t, nil)
	tty(r, "1500\n")
	if code := r.run("-u", url, "invalidate", "many:*"); code != ExitOK || count("many:*") != 0 {
		t.Fatalf("many keys, typed 1500: exit %d, %d left; %s", code, count("many:*"), r.stderr)
	}

	// A production context asks for the count even for a few keys.
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cachectl", "config.yaml")
	os.MkdirAll(filepath.Dir(cfg), 0o700)
	os.WriteFile(cfg, []byte("current-context: prod\ncontexts:\n  prod:\n    url: "+url+"\n    production: true\n"), 0o600)
	fillKeys("prod:", 3)
	r = newTestRun(t, map[string]string{"XDG_CONFIG_HOME": dir})
	tty(r, "y\n")
	if code := r.run("invalidate", "prod:*"); code != ExitRefused || count("prod:*") != 3 {
		t.Fatalf("production, answer y: exit %d; %s", code, r.stderr)
	}
	if !strings.Contains(r.stderr.String(), "a production context") {
		t.Fatalf("production prompt: %s", r.stderr)
	}
}
