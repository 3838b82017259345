package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SSHEnv is an SSH setup of `scripts/test-servers.sh ssh`: sshd in a
// network namespace of its own, and the servers of `start` inside that
// namespace, on its own 127.0.0.1, which the host cannot reach. Start it
// once per test package (it takes some 5 seconds), from one test whose
// subtests share it.
type SSHEnv struct {
	// Addr is the bastion's host:port (the namespace's veth address).
	Addr string
	// Host is the namespace's address; User the login; Key the private
	// key (unencrypted ed25519) the three sshd accept; KnownHosts holds
	// all three host keys.
	Host, User, Key, KnownHosts string
	// InnerAddr is an sshd on the namespace's 127.0.0.1: only a jump
	// through the bastion reaches it.
	InnerAddr string
	// NoForwardAddr is an sshd with AllowTcpForwarding no.
	NoForwardAddr string
	// NetNS is the namespace's name; State the setup's state dir.
	NetNS, State string
	vars         map[string]string
}

// StartSSH starts an SSH setup for the test (and its subtests) and stops it
// when the test ends; with CACHECTL_TEST_SSH_STATE set it uses that one. It needs root (network namespaces); without it, or
// without sshd, the test skips unless servers are required.
func StartSSH(t testing.TB) *SSHEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		if Required() {
			t.Fatal("the SSH tests need root (network namespaces) but CACHECTL_REQUIRE_SERVERS is set")
		}
		t.Skip("the SSH tests need root (network namespaces)")
	}
	vars := map[string]string{}
	if os.Getenv("CACHECTL_TEST_SSH_STATE") != "" {
		// A setup started by hand (eval "$(scripts/test-servers.sh ssh)"),
		// shared by every package: quicker while developing.
		for _, kv := range os.Environ() {
			if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "CACHECTL_TEST_SSH_") {
				vars[k] = v
			}
		}
	} else {
		needPrograms(t, "redis-server", "redis-cli", "timeout", "ip", "python3")
		vars = startPrivate(t, "ssh", "CACHECTL_TEST_SSH_STATE")
	}
	e := &SSHEnv{
		Addr: vars["CACHECTL_TEST_SSH_ADDR"], Host: vars["CACHECTL_TEST_SSH_HOST"],
		User: vars["CACHECTL_TEST_SSH_USER"], Key: vars["CACHECTL_TEST_SSH_KEY"],
		KnownHosts: vars["CACHECTL_TEST_SSH_KNOWN_HOSTS"], InnerAddr: vars["CACHECTL_TEST_SSH_INNER_ADDR"],
		NoForwardAddr: vars["CACHECTL_TEST_SSH_NOFORWARD_ADDR"], NetNS: vars["CACHECTL_TEST_SSH_NETNS"],
		State: vars["CACHECTL_TEST_SSH_STATE"], vars: vars,
	}
	if e.Addr == "" || e.Key == "" || e.KnownHosts == "" || e.NetNS == "" {
		t.Fatalf("scripts/test-servers.sh ssh printed an incomplete setup: %v", vars)
	}
	return e
}

// MaybeStartSSH is StartSSH for a test whose other parts run without it:
// nil (no skip) when the setup cannot run here and servers are not required.
func MaybeStartSSH(t testing.TB) *SSHEnv {
	t.Helper()
	if os.Getenv("CACHECTL_TEST_SSH_STATE") == "" && !Required() {
		if _, err := exec.LookPath("sshd"); err != nil || os.Geteuid() != 0 {
			return nil
		}
	}
	return StartSSH(t)
}

// Var is a variable of the servers inside the namespace, named as start
// names it without CACHECTL_TEST_ ("REDIS_URL", "CLUSTER_URL", ...).
func (e *SSHEnv) Var(t testing.TB, name string) string {
	t.Helper()
	v := e.vars["CACHECTL_TEST_SSH_"+name]
	if v == "" {
		t.Fatalf("the SSH setup has no %s", name)
	}
	return v
}

// Dest is user@host:port of the bastion.
func (e *SSHEnv) Dest() string { return e.User + "@" + e.Addr }

// InNS is a command run inside the namespace (redis-cli against the
// servers there, a cachectl serve), not started.
func (e *SSHEnv) InNS(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", e.NetNS, name}, args...)...)
}

// SSHD is one more sshd in the namespace, the test's own: it may kill or freeze it.
type SSHD struct {
	Addr string
	// KnownHosts is a known_hosts file (in the test's temp dir) holding
	// this sshd's key and the setup's.
	KnownHosts string
	pid        int
}

// PrivateSSHD starts an sshd of the test's own in the setup's namespace
// (forwarding allowed, the setup's user key); it is stopped with the setup.
func (e *SSHEnv) PrivateSSHD(t testing.TB) *SSHD {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, ServersScript(), "sshd", e.State)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("scripts/test-servers.sh sshd: %v\n%s", err, stderr.String())
	}
	vars, err := parseExports(stdout.String())
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(vars["CACHECTL_TEST_SSHD_PID"])
	if err != nil || vars["CACHECTL_TEST_SSHD_ADDR"] == "" {
		t.Fatalf("scripts/test-servers.sh sshd printed %v", vars)
	}
	shared, err := os.ReadFile(e.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, append(shared, []byte(vars["CACHECTL_TEST_SSHD_KNOWN_HOST"]+"\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &SSHD{Addr: vars["CACHECTL_TEST_SSHD_ADDR"], KnownHosts: kh, pid: pid}
	t.Cleanup(func() { s.signal(t, syscall.SIGKILL) })
	return s
}

// Kill crashes the sshd and every process serving its connections
// (SIGKILL): the client sees its connection closed at once.
func (s *SSHD) Kill(t testing.TB) {
	t.Helper()
	if n := s.signal(t, syscall.SIGKILL); n == 0 {
		t.Fatalf("sshd %s: no process to kill", s.Addr)
	}
}

// DropConnections kills (SIGKILL) the processes serving the sshd's
// connections but not the listener: the clients see their connections
// end, and a new connection is served as before (a bastion that restarted).
func (s *SSHD) DropConnections(t testing.TB) {
	t.Helper()
	n := 0
	for _, p := range descendants(s.pid) {
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p)); err == nil && strings.HasPrefix(string(comm), "sshd") && syscall.Kill(p, syscall.SIGKILL) == nil {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("sshd %s: no connection to drop", s.Addr)
	}
}

// Freeze stops (SIGSTOP) the sshd and its connections' processes: the
// kernel still acknowledges what the client sends, but nothing answers,
// as with a bastion that hangs or a route that black-holes.
func (s *SSHD) Freeze(t testing.TB) {
	t.Helper()
	if n := s.signal(t, syscall.SIGSTOP); n < 2 {
		t.Fatalf("sshd %s: %d process(es) frozen, want the listener and a connection's", s.Addr, n)
	}
}

// signal sends sig to the listener and everything below it, children
// first; it returns how many processes got it.
func (s *SSHD) signal(t testing.TB, sig syscall.Signal) int {
	pids := append(descendants(s.pid), s.pid)
	n := 0
	for _, p := range pids {
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p)); err != nil || !strings.HasPrefix(string(comm), "sshd") {
			continue
		}
		if err := syscall.Kill(p, sig); err == nil {
			n++
		}
	}
	return n
}

// descendants lists the processes below pid (from /proc), deepest first.
func descendants(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, descendants(child)...)
			out = append(out, child)
		}
	}
	return out
}
