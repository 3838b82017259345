package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SystemPython is Debian's interpreter, which has the python3-* packages the
// tests use (the machine's default python3 may be another one).
const SystemPython = "/usr/bin/python3"

// RepoRoot is the directory holding go.mod.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var thirdParty struct {
	once sync.Once
	path string
	err  error
}

// ThirdPartyPythonPath returns a PYTHONPATH under which /usr/bin/python3
// imports the real aiocache, Litestar, msgspec and redis-py kept beside the
// repository (../shared/thirdparty/python; its setup.sh builds msgspec once).
// Without that folder the test skips, or fails when servers are required.
func ThirdPartyPythonPath(t testing.TB) string {
	t.Helper()
	path, err := LookThirdPartyPython()
	if errors.Is(err, os.ErrNotExist) {
		if Required() {
			t.Fatalf("the real Python cache libraries are required: %v", err)
		}
		t.Skipf("no real Python cache libraries (%v)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// LookThirdPartyPython is ThirdPartyPythonPath for callers without a
// testing.TB (script conditions): an error wrapping os.ErrNotExist means the
// folder is absent.
func LookThirdPartyPython() (string, error) {
	setup := filepath.Join(RepoRoot(), "..", "shared", "thirdparty", "python", "setup.sh")
	if _, err := os.Stat(setup); err != nil {
		return "", err
	}
	thirdParty.once.Do(func() {
		var stderr bytes.Buffer
		cmd := exec.Command("bash", setup)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			thirdParty.err = fmt.Errorf("%s: %v\n%s", setup, err, stderr.String())
			return
		}
		// One line: export PYTHONPATH=<cache>/site:<folder>/src${PYTHONPATH:+:$PYTHONPATH}
		line := strings.TrimSpace(string(out))
		line = strings.TrimPrefix(line, "export PYTHONPATH=")
		line, _, _ = strings.Cut(line, "${")
		thirdParty.path = line
	})
	return thirdParty.path, thirdParty.err
}

// StartASGI runs module:app from dir under uvicorn on a free loopback port
// with the extra environment, waits until readyPath answers, and returns the
// server's base URL (http://127.0.0.1:PORT). The server stops with the test.
func StartASGI(t testing.TB, dir, app, readyPath string, env ...string) string {
	t.Helper()
	base, _ := StartUvicorn(t, Uvicorn{Dir: dir, App: app, ReadyPath: readyPath, Env: env})
	return base
}

// Uvicorn says how StartUvicorn runs an ASGI app.
type Uvicorn struct {
	Dir, App, ReadyPath string
	Env                 []string // added to the test's environment
	// Workers > 1 runs that many worker processes (uvicorn --workers).
	Workers int
}

// StartUvicorn runs u.App under uvicorn on a free loopback port, waits until
// u.ReadyPath answers, and returns the base URL and a stop that ends it the
// way a deployment would (SIGTERM: the workers' lifespans end), killing
// whatever is left of its process group after 20 s. It stops with the test
// too; stop may be called again.
func StartUvicorn(t testing.TB, u Uvicorn) (base string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	args := []string{"-m", "uvicorn", u.App, "--app-dir", u.Dir,
		"--host", "127.0.0.1", "--port", fmt.Sprint(port), "--log-level", "warning"}
	if u.Workers > 1 {
		args = append(args, "--workers", fmt.Sprint(u.Workers))
	}
	cmd := exec.Command(SystemPython, args...)
	cmd.Env = append(os.Environ(), u.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its workers go with it
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // a worker left behind
		<-exited
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("uvicorn output:\n%s", logs.String())
		}
	})
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := client.Get(base + u.ReadyPath)
		if err == nil {
			resp.Body.Close()
			return base, stop
		}
		select {
		case <-exited:
			t.Fatalf("uvicorn %s exited:\n%s", u.App, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("uvicorn %s did not start: %v\n%s", u.App, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond) // polling a starting server: nothing to wait on
	}
}
