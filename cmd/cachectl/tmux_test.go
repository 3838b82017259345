package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/demo"
	"github.com/cachectl/cachectl/internal/testenv"
)

// tmuxSession drives one real terminal.
type tmuxSession struct {
	t      *testing.T
	socket string
	name   string
}

func (s *tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (s *tmuxSession) screen() string { return s.tmux("capture-pane", "-p", "-t", s.name) }

// send types keys: "Enter", "Escape" and other tmux key names, or literal text.
func (s *tmuxSession) send(keys ...string) {
	s.t.Helper()
	for _, k := range keys {
		switch k {
		case "Enter", "Escape", "Down", "Up":
			s.tmux("send-keys", "-t", s.name, k)
		default:
			s.tmux("send-keys", "-t", s.name, "-l", k)
		}
	}
}

// waitFor polls the screen until every string shows, like a person watching.
func (s *tmuxSession) waitFor(what string, want ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		scr := s.screen()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(scr, w)
		}
		if ok {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s (%q); screen:\n%s", what, want, scr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// needTmux skips the test without tmux, unless servers are required.
func needTmux(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if testenv.Required() {
			t.Fatal("tmux is required for the dashboard smoke test (CI installs it)")
		}
		t.Skip("no tmux")
	}
}

// TestDashboardInTmux runs the real binary in a real terminal against real
// Redis: it filters, opens a pickled entry, deletes one key and quits, and the
// terminal comes back as it was.
func TestDashboardInTmux(t *testing.T) {
	needTmux(t)
	url := testenv.RedisURL(t)
	rdb := testenv.RedisClient(t, url)
	ctx := context.Background()
	entries, err := demo.Entries(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pipe := rdb.Pipeline()
	for _, e := range entries {
		pipe.Set(ctx, e.Key, e.Value, 0)
	}
	for i := range 5000 {
		pipe.Set(ctx, fmt.Sprintf("filler:%d", i), "x", 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	orders, err := rdb.Keys(ctx, "orders:*").Result()
	if err != nil || len(orders) < 10 {
		t.Fatalf("orders: %d, %v", len(orders), err)
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "cachectl")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	s := &tmuxSession{t: t, socket: filepath.Join(dir, "tmux.sock"), name: "ui"}
	exitFile := filepath.Join(dir, "exit")
	shell := fmt.Sprintf("%s -u %s ui; echo $? > %s; echo after-ui; sleep 60", bin, url, exitFile)
	s.tmux("-f", "/dev/null", "new-session", "-d", "-s", s.name, "-x", "120", "-y", "35", "env", "TERM=xterm-256color", "sh", "-c", shell)
	t.Cleanup(func() { exec.Command("tmux", "-S", s.socket, "kill-server").Run() })

	scr := s.waitFor("the first keys", "● connected", "Keys ")
	if strings.Contains(scr, "after-ui") {
		t.Fatalf("the dashboard exited at once:\n%s", scr)
	}
	s.waitFor("the full listing", fmt.Sprintf("Keys %d,%03d", (len(entries)+5000)/1000, (len(entries)+5000)%1000))

	s.send("/", "orders:*", "Enter")
	s.waitFor("the filter", fmt.Sprintf("Keys %d · orders:*", len(orders)))

	s.send("f", "orders:100001", "Enter")
	scr = s.waitFor("the decoded order", "key     orders:100001", "pickle", "datetime.datetime(", "Decimal(")
	if strings.Contains(scr, "filler:") {
		t.Errorf("the filter let other keys through:\n%s", scr)
	}

	s.send("d")
	s.waitFor("the confirmation", "Delete orders:100001? y/N")
	s.send("y")
	s.waitFor("the deletion", "deleted orders:100001", fmt.Sprintf("Keys %d · orders:*", len(orders)-1))
	if n, _ := rdb.Exists(ctx, "orders:100001").Result(); n != 0 {
		t.Fatal("orders:100001 is still in Redis")
	}
	if left, _ := rdb.Keys(ctx, "orders:*").Result(); len(left) != len(orders)-1 {
		t.Fatalf("%d orders left, want %d", len(left), len(orders)-1)
	}
	if n, _ := rdb.DBSize(ctx).Result(); n != int64(len(entries)+5000-1) {
		t.Fatalf("Redis holds %d keys, want %d", n, len(entries)+5000-1)
	}

	s.send("q")
	scr = s.waitFor("the shell again", "after-ui")
	code, err := os.ReadFile(exitFile)
	if err != nil || strings.TrimSpace(string(code)) != "0" {
		t.Fatalf("exit status %q, %v", code, err)
	}
	if alt := strings.TrimSpace(s.tmux("display-message", "-p", "-t", s.name, "#{alternate_on}")); alt != "0" {
		t.Errorf("the terminal is still in the alternate screen (alternate_on=%s)", alt)
	}
	if strings.Contains(scr, "╭") {
		t.Errorf("the dashboard was left on the screen:\n%s", scr)
	}
}

// TestDashboardLiveInTmux: the real binary with --enable-notifications on a
// Redis of its own: a key another client writes appears and one that
// expires vanishes, without r; A draws the analysis; on q the server's
// notify-keyspace-events is put back.
func TestDashboardLiveInTmux(t *testing.T) {
	needTmux(t)
	env := testenv.PrivateRedis(t)
	rdb := env.Client(t, env.Addr)
	ctx := context.Background()
	for i := range 20 {
		rdb.Set(ctx, fmt.Sprintf("user:%d", i), `{"id":1}`, 0)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "cachectl")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	s := &tmuxSession{t: t, socket: filepath.Join(dir, "tmux.sock"), name: "live"}
	shell := fmt.Sprintf("%s -u %s ui --enable-notifications; echo after-ui; sleep 60", bin, env.URL)
	s.tmux("-f", "/dev/null", "new-session", "-d", "-s", s.name, "-x", "120", "-y", "35", "env", "TERM=xterm-256color", "sh", "-c", shell)
	t.Cleanup(func() { exec.Command("tmux", "-S", s.socket, "kill-server").Run() })

	s.waitFor("live and listed", "live · ", "Keys 20")
	rdb.Set(ctx, "order:42", `{"total":9.5}`, 0)
	rdb.Set(ctx, "flash:msg", "soon gone", 2*time.Second)
	s.waitFor("the new keys, without r", "order:42", "flash:msg", "Keys 22")
	deadline := time.Now().Add(20 * time.Second)
	for strings.Contains(s.screen(), "flash:msg") {
		if time.Now().After(deadline) {
			t.Fatalf("flash:msg did not vanish:\n%s", s.screen())
		}
		time.Sleep(50 * time.Millisecond) // the TTL runs out by the clock
	}
	s.waitFor("the count", "Keys 21")

	s.send("A")
	s.waitFor("the analysis", "Analysis", "analyzed 21 key(s)", "Prefixes", "user:", "█")
	s.send("q")
	s.waitFor("the shell again", "after-ui")
	if v := rdb.ConfigGet(ctx, "notify-keyspace-events").Val()["notify-keyspace-events"]; v != "" {
		t.Fatalf("notify-keyspace-events left at %q", v)
	}
}
