package mchash

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPylibmcLive sets 2,000 keys of each kind through the installed pylibmc
// (default behaviors, as Django's PyLibMCCache) on pools of 2, 3 and 5 real
// memcached servers that it starts on free loopback ports, and checks that
// each key is on the server the "pylibmc" Selector picks.
func TestPylibmcLive(t *testing.T) {
	py := pythonWith(t, "pylibmc")
	exe, err := exec.LookPath("memcached")
	if err != nil {
		missing(t, "memcached is not on PATH")
	}
	var ports []string
	for range 5 {
		ports = append(ports, strconv.Itoa(startMemcached(t, exe)))
	}
	g := runGenerator(t, py, "--only", "pylibmc", "--keys", "2000", "--ports", strings.Join(ports, ","))
	counts := g.check(t)
	if counts[PyLibMC] < 2000*2*3 {
		t.Errorf("live pylibmc comparison covered only %v", counts)
	}
	t.Logf("pylibmc %s (libmemcached %s): checked %v", g.Versions["pylibmc"], g.Versions["libmemcached"], counts)
}

// startMemcached runs memcached on a free loopback port until the test ends.
func startMemcached(t *testing.T, exe string) int {
	t.Helper()
	var lastErr error
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "16"}
		if os.Geteuid() == 0 {
			args = append(args, "-u", "root") // memcached refuses to run as root otherwise
		}
		cmd := exec.Command(exe, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
		})
		if lastErr = waitListening(port, exited); lastErr == nil {
			return port
		}
	}
	t.Fatalf("could not start memcached: %v", lastErr)
	return 0
}

func waitListening(port int, exited <-chan struct{}) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("memcached on port %d exited at once", port)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("memcached on port %d is not listening after 5s", port)
}
