package httpmem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/serial"
	"github.com/cachectl/cachectl/internal/testenv"
	"github.com/cachectl/cachectl/internal/watchtest"
)

const systemPython = "/usr/bin/python3"

// startExampleApp runs contrib/python/cachectl_asgi/example_app.py under
// uvicorn on a free port and returns the cache's base URL.
func startExampleApp(t *testing.T, token string) string {
	t.Helper()
	if err := exec.Command(systemPython, "-c", "import starlette, uvicorn").Run(); err != nil {
		if testenv.Required() {
			t.Fatalf("python3-starlette and python3-uvicorn are required: %v", err)
		}
		t.Skip("no starlette/uvicorn for /usr/bin/python3")
	}
	_, file, _, _ := runtime.Caller(0)
	appDir := filepath.Join(filepath.Dir(file), "..", "..", "..", "contrib", "python", "cachectl_asgi")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, systemPython, "-m", "uvicorn", "example_app:app", "--app-dir", appDir,
		"--host", "127.0.0.1", "--port", fmt.Sprint(port), "--log-level", "warning")
	cmd.Env = append(os.Environ(), "CACHECTL_TOKEN="+token)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("uvicorn output:\n%s", logs.String())
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d/_cache", port)
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := http.Get(base + "/v1/capabilities")
		if err == nil {
			resp.Body.Close()
			return base
		}
		if time.Now().After(deadline) {
			t.Fatalf("the example app did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond) // polling a starting server; nothing to wait on
	}
}

func openURL(t *testing.T, raw, token string) *Backend {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(context.Background(), u, backends.Options{Token: token, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b.(*Backend)
}

// TestPythonAdapter drives the backend against the real ASGI adapter running
// under uvicorn, with the example app's aiocache-like cache behind it.
func TestPythonAdapter(t *testing.T) {
	ctx := context.Background()
	base := startExampleApp(t, "e2e-token")

	var se *backends.ServerError
	if _, err := openURL(t, base, "").Get(ctx, "user:1"); !errors.As(err, &se) || !bytes.Contains([]byte(err.Error()), []byte("401")) {
		t.Fatalf("no token: %v", err)
	}
	b := openURL(t, base, "e2e-token")

	// A wrong base path inside the mount gets the adapter's unknown_endpoint
	// 404, which is not a missing key.
	wrong := openURL(t, base+"/nested", "e2e-token")
	_, getErr := wrong.Get(ctx, "user:1")
	_, ttlErr := wrong.TTL(ctx, "user:1")
	for _, err := range []error{getErr, ttlErr, wrong.Expire(ctx, "user:1", time.Minute)} {
		if errors.Is(err, backends.ErrNotFound) || !errors.As(err, &se) || se.Msg != "404 unknown endpoint" {
			t.Fatalf("wrong base path: %v, want a server error 404 unknown endpoint", err)
		}
	}
	if _, err := b.TTL(ctx, "nope"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("ttl of a missing key: %v", err)
	}

	var keys []string
	if err := b.Scan(ctx, "*", func(ks []string) error { keys = append(keys, ks...); return nil }); err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	want := []string{"blob:1", "café:menu", "event:launch", "greeting", "price:book", "user:1", "user:2"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}

	decode := func(key string) (*backends.Entry, serial.Decoded) {
		t.Helper()
		e, err := b.Get(ctx, key)
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		d, err := serial.Decode(e.Value, serial.DecodeOptions{Hint: e.Hint})
		if err != nil {
			t.Fatal(err)
		}
		return e, d
	}
	e, d := decode("user:1")
	if e.Hint != "pickle" || d.Format != "pickle" || string(serial.ToJSON(d.Value)) != `{"id":1,"name":"Ada Lovelace","langs":["en","fr"]}` || e.TTL.Expires {
		t.Fatalf("user:1: %+v %s %s", e, d.Format, serial.ToJSON(d.Value))
	}
	e, _ = decode("user:2")
	if !e.TTL.Expires || e.TTL.Remaining > time.Hour || e.TTL.Remaining < 59*time.Minute {
		t.Fatalf("user:2 TTL %+v", e.TTL)
	}
	for key, js := range map[string]string{
		"event:launch": `"2024-01-02T03:04:05"`,
		"price:book":   `"19.99"`,
		"greeting":     `"hello, world"`,
		"café:menu":    `["croissant","espresso"]`,
		"blob:1":       `{"$bytes":"AAH+/w=="}`,
	} {
		if _, d := decode(key); string(serial.ToJSON(d.Value)) != js {
			t.Fatalf("%s = %s, want %s", key, serial.ToJSON(d.Value), js)
		}
	}

	// Writes: JSON and strings are accepted (with Cache-Format); pickle is refused.
	if err := b.SetFormat(ctx, "new:json", []byte(`{"a": [1, 2]}`), time.Minute, "json"); err != nil {
		t.Fatal(err)
	}
	if _, d := decode("new:json"); d.Format != "pickle" || string(serial.ToJSON(d.Value)) != `{"a":[1,2]}` {
		t.Fatalf("the app stores objects and serves them pickled: %s %s", d.Format, serial.ToJSON(d.Value))
	}
	if ttl, err := b.TTL(ctx, "new:json"); err != nil || !ttl.Expires || ttl.Remaining > time.Minute {
		t.Fatalf("TTL of new:json: %+v, %v", ttl, err)
	}
	if err := b.SetFormat(ctx, "new:pickle", []byte("\x80\x04N."), 0, "pickle"); !errors.As(err, &se) || !bytes.Contains([]byte(err.Error()), []byte("415")) {
		t.Fatalf("a pickle write must be refused (415): %v", err)
	}
	if err := b.Expire(ctx, "new:json", 0); err != nil {
		t.Fatal(err)
	}
	if ttl, _ := b.TTL(ctx, "new:json"); ttl.Expires {
		t.Fatalf("expire 0 left %+v", ttl)
	}
	if err := b.Expire(ctx, "nope", time.Minute); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("expire of a missing key: %v", err)
	}
	n, err := b.Delete(ctx, "new:json", "nope")
	if err != nil || n != 1 {
		t.Fatalf("Delete = %d, %v", n, err)
	}
	matched, deleted, err := b.Invalidate(ctx, []string{"user:*"}, true)
	if err != nil || matched != 2 || deleted != 0 {
		t.Fatalf("dry-run invalidate = %d, %d, %v", matched, deleted, err)
	}
	st, err := b.Stats(ctx)
	if err != nil || st.Keys != 7 {
		t.Fatalf("stats: %+v, %v", st, err)
	}

	// The adapter says what it serves and invalidates in chunks.
	if store, err := b.Store(ctx); err != nil || store.Library != "aiocache" || store.Class == "" {
		t.Fatalf("store %+v, %v", store, err)
	}
	if ok, err := b.ChunkedInvalidate(ctx); err != nil || !ok {
		t.Fatalf("chunked invalidate: %v, %v", ok, err)
	}
	// A pattern that is not UTF-8 reaches the adapter byte for byte: its
	// \xff does not turn into the U+FFFD these keys hold.
	for _, k := range []string{"bin\ufffd2", "bin\ufffd3"} {
		if err := b.SetFormat(ctx, k, []byte(`1`), 0, "json"); err != nil {
			t.Fatal(err)
		}
	}
	if m, _, err := b.Invalidate(ctx, []string{"bin\xff*"}, false); err != nil || m != 0 {
		t.Fatalf("invalidate bin\\xff*: matched %d, %v; want 0", m, err)
	}
	var total int64
	for cursor, steps := "", 0; ; steps++ {
		m, d, next, err := b.InvalidateChunk(ctx, []string{"bin\ufffd*"}, false, cursor, 1)
		if err != nil || d > 1 || m != d {
			t.Fatalf("chunk %d: %d matched %d deleted, %v", steps, m, d, err)
		}
		total += d
		if next == "" {
			break
		}
		if steps > 10 {
			t.Fatal("the chunks do not end")
		}
		cursor = next
	}
	if total != 2 {
		t.Fatalf("chunks deleted %d, want 2", total)
	}
}

// TestPythonAdapterWatch: the adapter's event stream under uvicorn, read by
// the backend's watch: writes, TTL changes and deletes, a bytes key.
func TestPythonAdapterWatch(t *testing.T) {
	ctx := context.Background()
	b := openURL(t, startExampleApp(t, "e2e-token"), "e2e-token")
	w := watchtest.Start(t, b, backends.WatchOptions{Patterns: []string{"w:*"}})
	for _, step := range []func() error{
		func() error { return b.SetFormat(ctx, "other", []byte(`1`), 0, "json") },
		func() error { return b.SetFormat(ctx, "w:1", []byte(`1`), 0, "json") },
		func() error { return b.Expire(ctx, "w:1", time.Hour) },
		func() error { _, err := b.Delete(ctx, "w:1"); return err },
		func() error { return b.SetFormat(ctx, "w:short", []byte(`1`), 100*time.Millisecond, "json") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	e, before := w.Await(t, backends.EventExpired, "w:short", 10*time.Second)
	if got, want := eventsText(before), "set w:1,expire w:1,del w:1,set w:short"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	if e.Node != b.display {
		t.Errorf("node %q", e.Node)
	}
}
