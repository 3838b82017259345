package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/testenv"
)

// lockedBuffer is a buffer a running command writes while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// backgroundWatch runs a watch command line until it ends or cancel is
// called; ready returns once it says it is watching.
type backgroundWatch struct {
	out, errOut *lockedBuffer
	code        chan int
	cancel      context.CancelFunc
}

func startWatchCmd(t *testing.T, tty bool, args ...string) *backgroundWatch {
	t.Helper()
	return startWatchCmdTo(t, nil, tty, args...)
}

// startWatchCmdTo is startWatchCmd with stdout going to out (nil: the
// buffer w.out).
func startWatchCmdTo(t *testing.T, out io.Writer, tty bool, args ...string) *backgroundWatch {
	t.Helper()
	r := newTestRun(t, nil)
	w := &backgroundWatch{out: &lockedBuffer{}, errOut: &lockedBuffer{}, code: make(chan int, 1)}
	r.f.IO.Out, r.f.IO.ErrOut = w.out, w.errOut
	if out != nil {
		r.f.IO.Out = out
	}
	r.f.IO.SetStdoutTTY(tty)
	r.f.IO.SetColorEnabled(tty)
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	go func() { w.code <- Run(ctx, r.f, args) }()
	t.Cleanup(cancel)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(w.errOut.String(), "watching ") {
		select {
		case c := <-w.code:
			t.Fatalf("watch exited %d before it was ready: %s", c, w.errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("watch not ready within 20s: %s", w.errOut.String())
		}
		time.Sleep(10 * time.Millisecond) // polling the command's own stderr
	}
	return w
}

func (w *backgroundWatch) exit(t *testing.T) int {
	t.Helper()
	select {
	case c := <-w.code:
		return c
	case <-time.After(20 * time.Second):
		t.Fatalf("watch did not end; stdout %q stderr %q", w.out.String(), w.errOut.String())
	}
	return -1
}

// TestWatchCommand: -o jsonl lines of the documented shape, --count ends
// with exit 0, a pipe gets tab-separated escaped keys, a terminal colour,
// Ctrl-C ends with exit 130 (no error line) and restores notify-keyspace-events.
func TestWatchCommand(t *testing.T) {
	env := testenv.PrivateRedis(t)
	admin := env.Client(t, env.Addr)
	ctx := context.Background()
	notify := func() string { return admin.ConfigGet(ctx, "notify-keyspace-events").Val()["notify-keyspace-events"] }

	w := startWatchCmd(t, false, "-u", env.URL, "watch", "--enable-notifications", "--count", "3", "-o", "jsonl", "w:*")
	admin.Set(ctx, "x", "1", 0)
	admin.Set(ctx, "w:\xff", "1", time.Minute)
	admin.Del(ctx, "w:\xff")
	if c := w.exit(t); c != ExitOK {
		t.Fatalf("exit %d: %s", c, w.errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(w.out.String()), "\n")
	var kinds []string
	for _, l := range lines {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if e["node"] != env.Addr || e["key"].(map[string]any)["$bytes"] != "dzr/" {
			t.Fatalf("line %q", l)
		}
		if _, err := time.Parse(time.RFC3339Nano, e["time"].(string)); err != nil {
			t.Fatalf("time in %q: %v", l, err)
		}
		kinds = append(kinds, e["event"].(string))
	}
	if strings.Join(kinds, ",") != "set,expire,del" {
		t.Fatalf("events %v:\n%s", kinds, w.out.String())
	}
	if v := notify(); v != "" {
		t.Fatalf("notify-keyspace-events left at %q", v)
	}

	w = startWatchCmd(t, false, "-u", env.URL, "watch", "--enable-notifications", "--count", "1")
	admin.Set(ctx, "a\x1b[2Jb", "1", 0)
	w.exit(t)
	if got := w.out.String(); !strings.HasSuffix(got, "\tset\t\"a\\x1b[2Jb\"\n") || strings.Count(got, "\t") != 2 {
		t.Fatalf("pipe line %q", got)
	}

	w = startWatchCmd(t, true, "-u", env.URL, "watch", "--enable-notifications")
	admin.Set(ctx, "k", "1", 0)
	for !strings.Contains(w.out.String(), "k\n") {
		time.Sleep(10 * time.Millisecond) // polling the command's own stdout
	}
	if got := w.out.String(); !strings.Contains(got, "\x1b[32mset") {
		t.Fatalf("tty line %q", got)
	}
	if v := notify(); v == "" {
		t.Fatal("notifications not on during the watch")
	}
	w.cancel() // Ctrl-C
	if c := w.exit(t); c != ExitInterrupted || strings.Contains(w.errOut.String(), "error") {
		t.Fatalf("Ctrl-C: exit %d: %s", c, w.errOut.String())
	}
	if v := notify(); v != "" {
		t.Fatalf("after Ctrl-C notify-keyspace-events = %q", v)
	}
}

// TestWatchRefusals: notifications off is one line offering the flag
// (exit 1); enabling them in read-only mode is refused before any dial
// (exit 4); an HTTP cache without the events capability says so (exit 2).
func TestWatchRefusals(t *testing.T) {
	env := testenv.PrivateRedis(t)
	r := newTestRun(t, nil)
	if c := r.run("-u", env.URL, "watch"); c != ExitError || !strings.Contains(r.stderr.String(), "rerun with --enable-notifications") || strings.Count(r.stderr.String(), "\n") != 1 {
		t.Fatalf("notifications off: exit %d %q", c, r.stderr.String())
	}
	r = newTestRun(t, nil)
	if c := r.run("-u", deadURL(t), "--read-only", "watch", "--enable-notifications"); c != ExitRefused || !strings.Contains(r.stderr.String(), "--read-only") {
		t.Fatalf("read-only: exit %d %q", c, r.stderr.String())
	}
	m := startMemCacheWith(t, memCacheOptions{NoEvents: true})
	run := m.run(t, pipe, "watch")
	if run.code != ExitUsage || !strings.Contains(run.err(), "does not offer the `events` capability") || strings.Count(run.err(), "\n") != 1 {
		t.Fatalf("http without events: exit %d %q", run.code, run.err())
	}
}

// stuckWriter is a stdout whose reader stopped reading: every write blocks
// until the test ends.
type stuckWriter struct{ release chan struct{} }

func (w stuckWriter) Write(p []byte) (int, error) {
	<-w.release
	return 0, io.ErrClosedPipe
}

// TestWatchStuckStdout: a reader that stops reading (a paused pager) holds
// the watch's output, not the watch: Ctrl-C still ends it (exit 130) and
// notify-keyspace-events is put back.
func TestWatchStuckStdout(t *testing.T) {
	env := testenv.PrivateRedis(t)
	admin := env.Client(t, env.Addr)
	ctx := context.Background()
	stuck := stuckWriter{release: make(chan struct{})}
	t.Cleanup(func() { close(stuck.release) })
	w := startWatchCmdTo(t, stuck, false, "-u", env.URL, "watch", "--enable-notifications")
	for i := range 500 {
		admin.Set(ctx, fmt.Sprintf("k:%d", i), "1", 0)
	}
	w.cancel() // Ctrl-C
	if c := w.exit(t); c != ExitInterrupted {
		t.Fatalf("Ctrl-C: exit %d: %s", c, w.errOut.String())
	}
	if v := admin.ConfigGet(ctx, "notify-keyspace-events").Val()["notify-keyspace-events"]; v != "" {
		t.Fatalf("after Ctrl-C notify-keyspace-events = %q", v)
	}
}

// TestWatchInterruptedWithPassword: Ctrl-C of a watch whose URL holds a
// password is exit 130 with no error line either (the error that hides
// secrets wrapped the silent one, and "error: interrupted" was printed).
func TestWatchInterruptedWithPassword(t *testing.T) {
	env := testenv.PrivateRedis(t)
	if err := env.Client(t, env.Addr).ConfigSet(context.Background(), "notify-keyspace-events", "AE").Err(); err != nil {
		t.Fatal(err)
	}
	u := testenv.RedisUserURL(t, env.URL, "+@all", "~*", "&*")
	w := startWatchCmd(t, false, "-u", u, "watch")
	w.cancel() // Ctrl-C
	if c := w.exit(t); c != ExitInterrupted || strings.Contains(w.errOut.String(), "error") {
		t.Fatalf("Ctrl-C: exit %d: %q", c, w.errOut.String())
	}
}
