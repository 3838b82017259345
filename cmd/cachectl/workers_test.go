package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/testenv"
)

// TestUvicornWorkers is the case the worker sockets exist for: a Starlette
// app with the real aiocache SimpleMemoryCache under Debian's uvicorn
// --workers 3 holds three caches, one per process. Each worker writes keys
// of its own at startup and serves the adapter on its own socket; the real
// binary then lists all three through the socket directory and empties all
// three with one invalidate, which each worker confirms on its own.
func TestUvicornWorkers(t *testing.T) {
	bin, err := exec.LookPath("cachectl") // testscript.Main puts it on PATH
	if err != nil {
		t.Fatal(err)
	}
	pythonPath := testenv.ThirdPartyPythonPath(t) // the real aiocache 0.12.3
	if err := exec.Command(testenv.SystemPython, "-c", "import starlette, uvicorn").Run(); err != nil {
		if testenv.Required() {
			t.Fatalf("python3-starlette and python3-uvicorn are required: %v", err)
		}
		t.Skip("no starlette/uvicorn for /usr/bin/python3")
	}
	tmp, err := os.MkdirTemp("", "cw") // short: a socket path fits in 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	dir := filepath.Join(tmp, "sockets") // created by the adapter, 0700
	const token = "workers-token"

	root := testenv.RepoRoot()
	base, stop := testenv.StartUvicorn(t, testenv.Uvicorn{
		Dir: filepath.Join(root, "cmd", "cachectl", "testdata", "workers"), App: "workers_app:app", ReadyPath: "/", Workers: 3,
		Env: []string{"CACHECTL_TOKEN=" + token, "CACHECTL_WORKER_SOCKET_DIR=" + dir,
			"PYTHONPATH=" + filepath.Join(root, "contrib", "python", "cachectl_asgi") + ":" + pythonPath},
	})

	sockets := func() []string {
		names, _ := filepath.Glob(filepath.Join(dir, "*.sock"))
		for i, n := range names {
			names[i] = filepath.Base(n)
		}
		return names
	}
	for deadline := time.Now().Add(60 * time.Second); len(sockets()) < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("3 worker sockets did not appear: %q", sockets())
		}
		time.Sleep(50 * time.Millisecond) // polling a directory the workers fill: nothing to wait on
	}
	names := sockets()
	pidOf := regexp.MustCompile(`-(\d+)\.sock$`)
	var pids []string
	for _, n := range names {
		pids = append(pids, pidOf.FindStringSubmatch(n)[1])
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket directory: %v, %v", fi.Mode(), err)
	}

	url := "http+unix://" + dir
	run := func(u string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"-u", u, "--token", token}, args...)...)
		cmd.Env = []string{"HOME=" + tmp, "PATH=" + os.Getenv("PATH")}
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errOut.String(), code
	}

	// The TCP port reaches one worker, whichever takes the connection.
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	var who struct{ PID int }
	json.NewDecoder(resp.Body).Decode(&who)
	resp.Body.Close()
	if !slices.Contains(pids, fmt.Sprint(who.PID)) {
		t.Fatalf("the port answered pid %d, not one of the sockets' %q", who.PID, pids)
	}

	// keys: the union, each key once; -l: every worker's copy, named.
	out, errOut, code := run(url, "keys")
	want := []string{"config:site", "page:/"}
	for _, p := range pids {
		want = append(want, "worker:"+p)
	}
	slices.Sort(want)
	got := strings.Fields(out)
	slices.Sort(got)
	if code != 0 || !slices.Equal(got, want) || errOut != "" {
		t.Fatalf("keys: exit %d\n%s\n%s\nwant %q", code, out, errOut, want)
	}
	out, errOut, code = run(url, "keys", "-l")
	rows := strings.Split(strings.TrimSpace(out), "\n")
	for _, n := range names {
		if c := strings.Count(out, "\t"+n+"\t"); c != 3 {
			t.Fatalf("keys -l: %d rows of %s, want 3\n%s", c, n, out)
		}
	}
	if code != 0 || len(rows) != 9 {
		t.Fatalf("keys -l: exit %d, %d rows\n%s\n%s", code, len(rows), out, errOut)
	}
	t.Logf("cachectl -u %s keys -l:\n%s", url, out)
	out, _, code = run(url, "get", "worker:"+pids[1], "-l")
	if code != 0 || !strings.Contains(out, "worker: "+names[1]) || !strings.Contains(out, "'pid': "+pids[1]) {
		t.Fatalf("get -l: exit %d\n%s", code, out)
	}

	// invalidate: every worker empties, each reported.
	out, errOut, code = run(url, "invalidate", "*", "--all", "--yes", "-o", "json")
	var sum struct {
		Deleted int64 `json:"deleted"`
		Workers bool  `json:"workers"`
		Nodes   []struct {
			Node    string `json:"node"`
			Deleted int64  `json:"deleted"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil || code != 0 || sum.Deleted != 9 || !sum.Workers || len(sum.Nodes) != 3 {
		t.Fatalf("invalidate: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	for i, n := range sum.Nodes {
		if n.Node != names[i] || n.Deleted != 3 {
			t.Fatalf("invalidate node %d: %+v, want %s deleting 3", i, n, names[i])
		}
	}
	t.Logf("cachectl -u %s invalidate '*' --all --yes -o json:\n%s", url, out)
	for _, n := range names {
		out, errOut, code := run("http+unix://"+filepath.Join(dir, n)+"?path=/", "keys")
		if code != 0 || out != "" {
			t.Fatalf("worker %s after invalidate: exit %d %q %q", n, code, out, errOut)
		}
	}

	// watch: one event stream per worker, each event naming its socket:
	// cachectl's writes reach all three, the app's own write one, and
	// aiocache's TTL timers expire the short key in each.
	watch := exec.Command(bin, "-u", url, "--token", token, "watch", "-o", "jsonl", "--count", "10", "--duration", "30s")
	watch.Env = []string{"HOME=" + tmp, "PATH=" + os.Getenv("PATH")}
	var events bytes.Buffer
	watch.Stdout = &events
	errPipe, err := watch.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		var said strings.Builder
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			said.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "watching ") {
				ready <- ""
			}
		}
		ready <- said.String()
	}()
	if said := <-ready; said != "" {
		t.Fatalf("the watch did not start: %s", said)
	}
	if _, errOut, code := run(url, "set", "w:all", "1"); code != 0 {
		t.Fatalf("set: exit %d %s", code, errOut)
	}
	if _, errOut, code := run(url, "set", "w:short", "1", "--ttl", "1s"); code != 0 {
		t.Fatalf("set --ttl: exit %d %s", code, errOut)
	}
	resp, err = http.Get(base + "/remember?key=w:app")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&who)
	resp.Body.Close()
	if err := watch.Wait(); err != nil {
		t.Fatalf("watch: %v\n%s", err, events.String())
	}
	t.Logf("cachectl -u %s watch -o jsonl:\n%s", url, events.String())
	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(events.String()), "\n") {
		var e struct{ Event, Key, Node string }
		if err := json.Unmarshal([]byte(line), &e); err != nil || !slices.Contains(names, e.Node) {
			t.Fatalf("watch line %q: %v (want a node among %q)", line, err, names)
		}
		seen[e.Event+" "+e.Key]++
		if e.Key == "w:app" && !strings.HasSuffix(e.Node, "-"+fmt.Sprint(who.PID)+".sock") {
			t.Errorf("the app's write came from %s, not worker %d", e.Node, who.PID)
		}
	}
	if want := map[string]int{"set w:all": 3, "set w:short": 3, "expired w:short": 3, "set w:app": 1}; !maps.Equal(seen, want) {
		t.Fatalf("watch events %v, want %v", seen, want)
	}

	// A clean stop removes every socket.
	stop()
	if left := sockets(); len(left) != 0 {
		t.Fatalf("sockets left after uvicorn stopped: %q", left)
	}
}
