package commands

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/testenv"
)

// A real Litestar 2 app caching responses in its default MemoryStore, read
// through the adapter: the store keeps keys bare ("GET/itemspage=2"), so
// --profile litestar must not look for the RedisStore's LITESTAR: namespace.
func TestLitestarMemoryStoreThroughTheAdapter(t *testing.T) {
	pythonPath := testenv.ThirdPartyPythonPath(t)
	root := testenv.RepoRoot()
	const token = "litestar-test-token"
	base := testenv.StartASGI(t, filepath.Join(root, "internal", "commands", "testdata"), "litestar_app:app", "/items2",
		"PYTHONPATH="+pythonPath, "CACHECTL_ASGI_DIR="+filepath.Join(root, "contrib", "python", "cachectl_asgi"),
		"CACHECTL_TOKEN="+token)
	for _, path := range []string{"/items?page=2", "/items", "/items/5", "/items2"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
	}
	env := map[string]string{"CACHECTL_URL": base + "/_cache", "CACHECTL_TOKEN": token}
	run := func(t *testing.T, want int, args ...string) string {
		t.Helper()
		r := newTestRun(t, env)
		if code := r.run(args...); code != want {
			t.Fatalf("cachectl %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, r.stdout, r.stderr)
		}
		return r.stdout.String()
	}
	lines := func(s string) []string {
		l := strings.Fields(s)
		slices.Sort(l)
		return l
	}

	all := []string{"GET/items", "GET/items/5", "GET/items2", "GET/itemspage=2"}
	if got := lines(run(t, 0, "--profile", "litestar", "keys")); !slices.Equal(got, all) {
		t.Fatalf("keys = %q, want %q", got, all)
	}
	var got struct {
		Found        bool `json:"found"`
		HTTPResponse struct {
			Status int `json:"status"`
			Body   any `json:"body"`
		} `json:"http_response"`
	}
	if err := json.Unmarshal([]byte(run(t, 0, "--profile", "litestar", "get", "GET/itemspage=2", "-o", "json")), &got); err != nil {
		t.Fatal(err)
	}
	if !got.Found || got.HTTPResponse.Status != 200 {
		t.Fatalf("get GET/itemspage=2 = %+v", got)
	}
	out := run(t, 0, "--profile", "litestar", "keys", "-l", "-o", "json")
	if !strings.Contains(out, `"name":"GET /itemspage=2"`) && !strings.Contains(out, `"name": "GET /itemspage=2"`) {
		t.Errorf("keys -l does not tag the response: %s", out)
	}
	// --namespace names a RedisStore's namespace; a MemoryStore has none.
	run(t, ExitUsage, "--profile", "litestar", "-n", "sessions", "keys")

	var sum struct {
		Matched, Deleted int
	}
	if err := json.Unmarshal([]byte(run(t, 0, "--profile", "litestar", "invalidate", "--route", "GET /items", "--dry-run", "-o", "json")), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Matched != 2 || sum.Deleted != 0 {
		t.Fatalf("dry run: %+v, want 2 matched (GET/items, GET/itemspage=2)", sum)
	}
	if err := json.Unmarshal([]byte(run(t, 0, "--profile", "litestar", "invalidate", "--route", "GET /items", "--yes", "-o", "json")), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Matched != 2 || sum.Deleted != 2 {
		t.Fatalf("invalidate: %+v, want 2 deleted", sum)
	}
	if got, want := lines(run(t, 0, "keys")), []string{"GET/items/5", "GET/items2"}; !slices.Equal(got, want) {
		t.Fatalf("left after --route 'GET /items': %q, want %q", got, want)
	}
	// The app itself misses now and caches the page again.
	resp, err := http.Get(base + "/items?page=2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	run(t, 0, "--profile", "litestar", "get", "GET/itemspage=2")
}
