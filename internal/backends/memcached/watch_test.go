package memcached

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/mcproto"
	"github.com/cachectl/cachectl/internal/testenv"
	"github.com/cachectl/cachectl/internal/watchtest"
)

// await is Await with the 10 s these servers answer in.
func await(t *testing.T, w *watchtest.Watching, kind, key string) backends.Event {
	t.Helper()
	e, _ := w.Await(t, kind, key, 10*time.Second)
	return e
}

func store(t *testing.T, addr, key string, ttl time.Duration) {
	t.Helper()
	c, err := mcproto.Dial(context.Background(), addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Set(context.Background(), key, []byte("v"), 0, ttl); err != nil {
		t.Fatal(err)
	}
}

// TestWatchPool: events of both members of the pool, named by their
// server; binary keys arrive as their bytes; only matching keys pass;
// with fetches, reads, and expiries as a read finds them.
func TestWatchPool(t *testing.T) {
	a, b2 := testenv.MemcachedAddr(t), testenv.Memcached2Addr(t)
	var mu sync.Mutex
	var warnings []string
	b := open(t, "memcached://"+a+","+b2, backends.Options{Warn: func(m string) { mu.Lock(); warnings = append(warnings, m); mu.Unlock() }})
	p := prefix(t)
	w := watchtest.Start(t, b, backends.WatchOptions{Patterns: []string{p + "*"}, Fetches: true})
	store(t, a, "other:"+p, 0)
	store(t, a, p+"on-a", 0)
	if e := await(t, w, backends.EventSet, p+"on-a"); e.Node != a || e.Detail != "set" || time.Since(e.Time) > time.Minute {
		t.Fatalf("set on a: %+v", e)
	}
	hostile := p + "\x1b[31m\x00\xff"
	store(t, b2, hostile, 0)
	if e := await(t, w, backends.EventSet, hostile); e.Node != b2 {
		t.Fatalf("set on b: %+v", e)
	}
	if _, err := b.Get(context.Background(), p+"on-a"); err != nil {
		t.Fatal(err)
	}
	await(t, w, backends.EventGet, p+"on-a")
	store(t, a, p+"short", time.Second)
	await(t, w, backends.EventSet, p+"short")
	deadline := time.Now().Add(10 * time.Second)
	for raw(t, a, p+"short").Found && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // nothing to wait on: the TTL runs out by the clock
	}
	await(t, w, backends.EventExpired, p+"short")
	if err := w.Stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled watch returned %v", err)
	}

	// fn's error ends the watch of every server at once (--count).
	errEnough := errors.New("enough")
	ended := make(chan error, 1)
	go func() {
		ended <- b.Watch(context.Background(), backends.WatchOptions{Patterns: []string{p + "*"}, Ready: func() { store(t, b2, p+"last", 0) }},
			func(backends.Event) error { return errEnough })
	}()
	select {
	case err := <-ended:
		if !errors.Is(err, errEnough) {
			t.Fatalf("Watch returned %v, want fn's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not end on fn's error")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, m := range warnings {
		if !strings.Contains(m, "does not report deletions") {
			t.Fatalf("warning %q", m)
		}
	}
}

// privateMemcached starts a memcached of the test's own with args; restart
// kills it and starts it again on the same port.
func privateMemcached(t *testing.T, args ...string) (addr string, restart func()) {
	t.Helper()
	if _, err := exec.LookPath("memcached"); err != nil {
		if testenv.Required() {
			t.Fatal("memcached is not installed")
		}
		t.Skip("no memcached")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr = "127.0.0.1:" + strconv.Itoa(port)
	var cmd *exec.Cmd
	start := func() {
		all := append([]string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0"}, args...)
		if os.Getuid() == 0 {
			all = append(all, "-u", "root")
		}
		cmd = exec.Command("memcached", all...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; {
			c, err := mcproto.Dial(context.Background(), addr, time.Second)
			if err == nil {
				_, err = c.Version(context.Background())
				c.Close()
			}
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("memcached on %s did not start: %v", addr, err)
			}
			time.Sleep(20 * time.Millisecond) // polling a server that is starting
		}
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	start()
	t.Cleanup(stop)
	return addr, func() { stop(); start() }
}

// TestWatchEvictionsAndRestart: a full small server evicts, and each
// eviction is an event; a restart of the server is a gap, after which
// events flow again.
func TestWatchEvictionsAndRestart(t *testing.T) {
	addr, restart := privateMemcached(t, "-m", "2", "-I", "512k", "-o", "no_lru_maintainer")
	b := open(t, "memcached://"+addr, backends.Options{Timeout: 2 * time.Second})
	w := watchtest.Start(t, b, backends.WatchOptions{})
	c, err := mcproto.Dial(context.Background(), addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 50000)
	for i := range 120 {
		if err := c.Set(context.Background(), "big:"+strconv.Itoa(i), big, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	if e := await(t, w, backends.EventEvicted, "big:0"); e.Node != addr {
		t.Fatalf("eviction %+v", e)
	}
	lost := time.Now()
	restart()
	gap := await(t, w, backends.EventGap, "")
	if gap.Node != addr || gap.Since.Before(lost.Add(-time.Second)) || !gap.Time.After(gap.Since) || !strings.Contains(gap.Detail, "reconnected") {
		t.Fatalf("gap %+v (restarted at %v)", gap, lost)
	}
	store(t, addr, "after", 0)
	await(t, w, backends.EventSet, "after")
	t.Logf("gap %v: %s", gap.Time.Sub(gap.Since).Round(time.Millisecond), gap.Detail)
}

// TestWatchProxyRefused: twemproxy knows no watch; one clear line.
func TestWatchProxyRefused(t *testing.T) {
	b := open(t, "memcached://"+testenv.TwemproxyAddr(t), backends.Options{Timeout: 2 * time.Second})
	err := b.Watch(context.Background(), backends.WatchOptions{}, func(backends.Event) error { return nil })
	var ue *backends.UnsupportedError
	if !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("watch through twemproxy: %v", err)
	}
	t.Log(err)
}

// lyingServer accepts connections, answers answer to a watch command and
// then sends lines; it counts the connections it took.
func lyingServer(t *testing.T, answer string, lines ...string) (addr string, accepted func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	n := 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			n++
			mu.Unlock()
			go func() {
				defer c.Close()
				buf := make([]byte, 512)
				if _, err := c.Read(buf); err != nil {
					return
				}
				c.Write([]byte(answer + "\r\n" + strings.Join(lines, "\r\n") + "\r\n"))
				c.Read(buf) // held open until the client goes
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return n }
}

// TestWatchUnreadableLines: a server sending lines that are not log
// entries (garbage, a key with a bad %-escape as an older or lying server
// might) costs a gap for each, named; the stream goes on on the same
// connection and the entries around them arrive.
func TestWatchUnreadableLines(t *testing.T) {
	addr, accepted := lyingServer(t, "OK",
		"\x1b[2Jgarbage",
		"ts=1796312899.5 gid=1 type=item_store key=one status=stored cmd=set",
		"ts=1796312899.6 gid=2 type=item_store key=a%zz status=stored cmd=set",
		"ts=1796312899.7 gid=3 type=item_store key=two status=stored cmd=set")
	b := open(t, "memcached://"+addr, backends.Options{Timeout: 2 * time.Second})
	w := watchtest.Start(t, b, backends.WatchOptions{})
	var kinds []string
	for range 4 {
		e, _ := w.Await(t, "", "", 10*time.Second)
		kinds = append(kinds, e.Kind+" "+e.Key)
		if e.Kind == backends.EventGap && !strings.Contains(e.Detail, "could not be read") {
			t.Fatalf("gap %+v", e)
		}
	}
	if strings.Join(kinds, ",") != "gap ,set one,gap ,set two" || accepted() != 1 {
		t.Fatalf("events %q over %d connection(s)", kinds, accepted())
	}
}

// TestWatchFailingStreamBacksOff: a server that accepts the watch and
// drops the connection at once is reconnected with a growing pause, not
// ten times a second, each with a gap.
func TestWatchFailingStreamBacksOff(t *testing.T) {
	addr, accepted := lyingServer(t, "OK", strings.Repeat("x", 70<<10)) // a line longer than a reader takes
	b := open(t, "memcached://"+addr, backends.Options{Timeout: 2 * time.Second})
	w := watchtest.Start(t, b, backends.WatchOptions{})
	start := time.Now()
	gaps := 0
	for time.Since(start) < 3*time.Second {
		if e, _ := w.Await(t, backends.EventGap, "", 10*time.Second); e.Kind == backends.EventGap {
			gaps++
		}
	}
	if n := accepted(); n > 8 || gaps > 8 {
		t.Fatalf("%d connections and %d gaps in %v", n, gaps, time.Since(start))
	}
}

// TestWatchRefusedByOldServer: a server that answers ERROR to every watch
// (before 1.5.19) is one line, exit 2, without first claiming it only
// lacks deletions.
func TestWatchRefusedByOldServer(t *testing.T) {
	addr, _ := lyingServer(t, "ERROR")
	var warnings []string
	b := open(t, "memcached://"+addr, backends.Options{Timeout: 2 * time.Second, Warn: func(m string) { warnings = append(warnings, m) }})
	err := b.Watch(context.Background(), backends.WatchOptions{}, func(backends.Event) error { return nil })
	var ue *backends.UnsupportedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "1.5.19") || len(warnings) != 0 {
		t.Fatalf("watch of a server without watch: %v; warnings %q", err, warnings)
	}
}
