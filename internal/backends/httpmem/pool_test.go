package httpmem

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/invalidate"
	"github.com/cachectl/cachectl/internal/memserver"
)

// worker is one real memserver (what `cachectl serve` runs) on a listener.
type worker struct {
	store *memserver.Store
	srv   *http.Server
	addr  string
}

func startWorker(t *testing.T, ln net.Listener, token string) *worker {
	t.Helper()
	w := &worker{store: memserver.NewStore(memserver.Options{}), addr: ln.Addr().String()}
	mux := http.NewServeMux()
	mux.Handle("/_cache/", http.StripPrefix("/_cache", memserver.NewHandler(w.store, memserver.HandlerOptions{Token: token})))
	w.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go w.srv.Serve(ln)
	t.Cleanup(func() { w.srv.Close() })
	return w
}

func tcpWorkers(t *testing.T, n int) []*worker {
	t.Helper()
	var ws []*worker
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, startWorker(t, ln, ""))
	}
	return ws
}

// warnings collects a backend's warnings.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) add(m string) { w.mu.Lock(); w.msgs = append(w.msgs, m); w.mu.Unlock() }
func (w *warnings) all() string  { w.mu.Lock(); defer w.mu.Unlock(); return strings.Join(w.msgs, "\n") }

func openPool(t *testing.T, raw, token string, warn *warnings) backends.Backend {
	t.Helper()
	u, err := backends.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	opts := backends.Options{Token: token, Timeout: 3 * time.Second}
	if warn != nil {
		opts.Warn = warn.add
	}
	b, err := Open(context.Background(), u, opts)
	if err != nil {
		t.Fatalf("open %s: %v", raw, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func listAll(t *testing.T, b backends.Backend) ([]string, error) {
	t.Helper()
	var keys []string
	err := b.Scan(context.Background(), "*", func(ks []string) error { keys = append(keys, ks...); return nil })
	slices.Sort(keys)
	return keys, err
}

func TestPoolURLForms(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"http://a:8000/_cache,b:8000/_cache", "a:8000=http://a:8000/_cache b:8000=http://b:8000/_cache"},
		{"http://a:8000,b:8001/_cache", "a:8000=http://a:8000/_cache b:8001=http://b:8001/_cache"},
		{"http://a:8000/x,a:8000/y", "a:8000/x=http://a:8000/x a:8000/y=http://a:8000/y"},
		{"http://a:8000/p%2Cq", "a:8000=http://a:8000/p%2Cq"},
		{"https://a,b:9/c/?ca=", ""}, // a bad CA file: an error below
	} {
		u, err := backends.ParseURL(c.url)
		if err != nil {
			t.Fatal(err)
		}
		tg, err := parseTarget(u)
		if c.want == "" {
			if err == nil {
				t.Fatalf("%s: no error", c.url)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		var got []string
		for _, m := range tg.members {
			got = append(got, m.name+"="+m.base)
		}
		if strings.Join(got, " ") != c.want {
			t.Fatalf("%s: %q, want %q", c.url, got, c.want)
		}
	}
	for raw, reason := range map[string]string{
		"http://a:1,b:2/x,c:3/y":         "not both",
		"http://a:1/x,,b:2":              "empty worker",
		"http://a:1/x,a:1/x":             "listed twice",
		"http://a:1,b:2/?workers=dns":    "one host name",
		"http://a:1/?workers=all":        "workers= takes dns",
		"http+unix://host/run/x":         "three slashes",
		"http+unix:///run/x?path=_cache": "starts with /",
		"http+unix:///run/x?ca=f":        "take path=",
		"http://a:1/x,b:bad/y":           "not host[:port]",
	} {
		u, err := backends.ParseURL(raw)
		if err == nil {
			_, err = Open(context.Background(), u, backends.Options{})
		}
		var ue *backends.URLError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), reason) {
			t.Errorf("%s: %v, want a URL error saying %q", raw, err, reason)
		}
	}
}

// TestPoolThroughTunnel: through a tunnel the workers are the far end's; a
// DNS name or a socket directory would be resolved or read on this machine.
func TestPoolThroughTunnel(t *testing.T) {
	dial := func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("no dial here") }
	for raw, want := range map[string]string{
		"http://app-headless:8000/_cache?workers=dns": "?workers=dns",
		"http+unix://" + t.TempDir():                  "a socket directory",
		"http://a:8000,b:8000/_cache":                 "",
	} {
		u, err := backends.ParseURL(raw)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Open(context.Background(), u, backends.Options{Dial: dial})
		var ue *backends.UnsupportedError
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", raw, err)
		case want != "" && (!errors.As(err, &ue) || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want unsupported %q", raw, err, want)
		}
	}
}

// TestPoolOfWorkers: three real servers as one app's workers. Each keeps its
// own copy: writes reach all, listings are the union, reads name the worker.
func TestPoolOfWorkers(t *testing.T) {
	ctx := context.Background()
	ws := tcpWorkers(t, 3)
	raw := fmt.Sprintf("http://%s/_cache,%s/_cache,%s/_cache", ws[0].addr, ws[1].addr, ws[2].addr)
	var warn warnings
	b := openPool(t, raw, "", &warn)
	if info := b.Describe(); !slices.Contains(info.Capabilities, "workers") {
		t.Fatalf("describe: %+v", info)
	}
	for i, w := range ws {
		w.store.Set(fmt.Sprintf("worker:%d", i), []byte("own"), 0, "string")
		w.store.Set("shared", []byte("same"), 0, "string")
	}
	ws[2].store.Set("stale", []byte("old"), 0, "string")
	ws[1].store.Set("stale", []byte("new!"), 0, "string")

	keys, err := listAll(t, b)
	if err != nil || !slices.Equal(keys, []string{"shared", "stale", "worker:0", "worker:1", "worker:2"}) {
		t.Fatalf("union: %q, %v", keys, err)
	}
	e, err := b.Get(ctx, "worker:2")
	if err != nil || e.Server != ws[2].addr || string(e.Value) != "own" {
		t.Fatalf("get worker:2: %+v, %v", e, err)
	}
	if warn.all() != "" {
		t.Fatalf("a key on one worker only is no difference: %s", warn.all())
	}
	e, err = b.Get(ctx, "stale")
	if err != nil || e.Server != ws[1].addr || string(e.Value) != "new!" {
		t.Fatalf("get stale: %+v, %v", e, err)
	}
	if w := warn.all(); !strings.Contains(w, "different copies of stale") || !strings.Contains(w, ws[2].addr+" (3 bytes)") || !strings.Contains(w, "none on "+ws[0].addr) {
		t.Fatalf("differing copies: %q", w)
	}

	rw := b.(backends.ReplicaWriter)
	f, err := rw.SetEach(ctx, "new", []byte("v"), time.Minute, "string")
	if err != nil || f.Done != 3 || f.Members != 3 || f.Err("stored") != nil {
		t.Fatalf("set: %+v, %v", f, err)
	}
	for _, w := range ws {
		if e, ok := w.store.Get("new"); !ok || string(e.Value) != "v" {
			t.Fatalf("%s lacks the write", w.addr)
		}
	}
	f, err = rw.ExpireEach(ctx, "stale", 0)
	if err != nil || f.Done != 2 || f.Missing != 1 {
		t.Fatalf("expire: %+v, %v", f, err)
	}
	if _, err := rw.ExpireEach(ctx, "nope", 0); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("expire of a missing key: %v", err)
	}
	n, copies, f, err := rw.DeleteEach(ctx, "shared", "worker:0", "nope")
	if err != nil || n != 2 || copies != 4 || f.Done != 3 {
		t.Fatalf("delete: %d keys, %d copies, %+v, %v", n, copies, f, err)
	}

	st, err := b.Stats(ctx)
	if err != nil || len(st.Servers) != 3 || st.Keys != 7 || st.Servers[1].Address != ws[1].addr || st.Servers[1].Stats.Keys != 3 {
		t.Fatalf("stats: %+v, %v", st, err)
	}
	topo, err := b.(backends.TopologyReporter).Topology(ctx)
	if err != nil || topo.Kind != "workers" || len(topo.Nodes) != 3 {
		t.Fatalf("topology: %+v, %v", topo, err)
	}

	// A dead worker: the others are still listed and written, and the
	// outcome says which one did not answer.
	ws[1].srv.Close()
	keys, err = listAll(t, b)
	var pe *backends.PartialError
	if !errors.As(err, &pe) || pe.Done != 2 || pe.All != 3 || pe.Failed[0].Name != ws[1].addr || !slices.Contains(keys, "worker:2") {
		t.Fatalf("listing with a dead worker: %q, %v", keys, err)
	}
	if err := b.Set(ctx, "k", []byte("v"), 0); !errors.As(err, &pe) || pe.Done != 2 || !strings.Contains(err.Error(), "stored on 2 of 3 workers; "+ws[1].addr+": cannot reach") {
		t.Fatalf("set with a dead worker: %v", err)
	}
	if e, err := b.Get(ctx, "k"); err != nil || e.Server != ws[0].addr || !strings.Contains(warn.all(), "worker "+ws[1].addr+" did not answer") {
		t.Fatalf("get with a dead worker: %+v, %v; %s", e, err, warn.all())
	}
	if _, err := b.Get(ctx, "nope"); errors.Is(err, backends.ErrNotFound) || !errors.As(err, &pe) {
		t.Fatalf("a miss while a worker is down is not a miss: %v", err)
	}
	if st, err := b.Stats(ctx); !errors.As(err, &pe) || st == nil || st.Servers[1].Err == nil || st.Servers[0].Err != nil {
		t.Fatalf("stats with a dead worker: %+v, %v", st, err)
	}
}

// TestPoolInvalidate: each worker deletes its own copies and reports on
// its own; a dead worker does not stop the others.
func TestPoolInvalidate(t *testing.T) {
	ctx := context.Background()
	ws := tcpWorkers(t, 3)
	raw := fmt.Sprintf("http://%s,%s,%s/_cache", ws[0].addr, ws[1].addr, ws[2].addr)
	b := openPool(t, raw, "", nil)
	fill := func() {
		for i, w := range ws {
			for j := range i + 1 {
				w.store.Set(fmt.Sprintf("user:%d", j), []byte("x"), 0, "")
			}
			w.store.Set("keep", []byte("x"), 0, "")
		}
	}
	fill()
	dry, err := invalidate.Run(ctx, b, invalidate.Options{Patterns: []string{"user:*"}, DryRun: true})
	if err != nil || dry.Matched != 6 || !dry.Workers || len(dry.Nodes) != 3 || dry.Nodes[2].Matched != 3 {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	for _, opts := range []invalidate.Options{
		{Patterns: []string{"user:*"}},            // on the servers' side
		{Patterns: []string{"user:*"}, Rate: 1e6}, // listed and deleted key by key
	} {
		sum, err := invalidate.Run(ctx, b, opts)
		if err != nil || sum.Deleted != 6 || sum.Nodes[0].Deleted != 1 || sum.Nodes[1].Deleted != 2 || sum.Nodes[2].Node != ws[2].addr {
			t.Fatalf("invalidate %+v: %+v, %v", opts, sum, err)
		}
		for _, w := range ws {
			if w.store.Stats().Keys != 1 {
				t.Fatalf("%s holds %d keys, want only keep", w.addr, w.store.Stats().Keys)
			}
		}
		fill()
	}
	ws[0].srv.Close()
	sum, err := invalidate.Run(ctx, b, invalidate.Options{Patterns: []string{"user:*"}})
	var pe *backends.PartialError
	if !errors.As(err, &pe) || pe.Done != 2 || sum.Deleted != 5 || sum.Nodes[0].Err == nil || sum.Nodes[1].Err != nil {
		t.Fatalf("invalidate with a dead worker: %+v, %v", sum, err)
	}
}

// dnsServer answers A queries for names with addrs (and nothing else),
// so that Go's own resolver can be pointed at a name with several
// addresses: this machine's localhost has one.
func dnsServer(t *testing.T, names map[string][]net.IP) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if reply := dnsReply(buf[:n], names); reply != nil {
				pc.WriteTo(reply, from)
			}
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

func dnsReply(q []byte, names map[string][]net.IP) []byte {
	if len(q) < 12 {
		return nil
	}
	var labels []string
	i := 12
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > len(q) {
		return nil
	}
	question := q[12 : i+5]
	qtype := binary.BigEndian.Uint16(q[i+1:])
	var answers [][]byte
	for _, ip := range names[strings.ToLower(strings.Join(labels, "."))] {
		if ip4 := ip.To4(); ip4 != nil && qtype == 1 {
			rr := []byte{0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4}
			answers = append(answers, append(rr, ip4...))
		}
	}
	out := make([]byte, 12, 512)
	copy(out, q[:2])
	binary.BigEndian.PutUint16(out[2:], 0x8580) // a response, authoritative, no error
	binary.BigEndian.PutUint16(out[4:], 1)
	binary.BigEndian.PutUint16(out[6:], uint16(len(answers)))
	out = append(out, question...)
	for _, a := range answers {
		out = append(out, a...)
	}
	return out
}

// TestPoolDNS: ?workers=dns makes every address of a name a worker (a
// headless service), each on the URL's port, the Host header the name's.
func TestPoolDNS(t *testing.T) {
	ctx := context.Background()
	first, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := first.Addr().(*net.TCPAddr).Port
	ws := []*worker{startWorker(t, first, "tk")}
	for _, ip := range []string{"127.0.0.2", "127.0.0.3"} {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
		if err != nil {
			t.Skipf("no second loopback address to listen on: %v", err)
		}
		ws = append(ws, startWorker(t, ln, "tk"))
	}
	resolver := dnsServer(t, map[string][]net.IP{
		"app-headless.test": {net.ParseIP("127.0.0.3"), net.ParseIP("127.0.0.1"), net.ParseIP("127.0.0.2")},
	})
	for i, w := range ws {
		w.store.Set(fmt.Sprintf("worker:%d", i), []byte("x"), 0, "")
	}
	b := openPool(t, fmt.Sprintf("http://app-headless.test:%d/_cache?workers=dns", port), "tk", nil)
	b.(*Pool).resolver = resolver
	ms, err := b.(backends.ReplicaSet).Members(ctx)
	if err != nil || len(ms) != 3 || ms[0].Name != ws[0].addr || ms[2].Name != ws[2].addr {
		t.Fatalf("members: %+v, %v", ms, err)
	}
	keys, err := listAll(t, b)
	if err != nil || !slices.Equal(keys, []string{"worker:0", "worker:1", "worker:2"}) {
		t.Fatalf("keys: %q, %v", keys, err)
	}

	// A name without addresses names no worker: an error, not an empty cache.
	none := openPool(t, fmt.Sprintf("http://nothing.test:%d/_cache?workers=dns", port), "tk", nil)
	none.(*Pool).resolver = resolver
	if _, err := listAll(t, none); err == nil || !strings.Contains(err.Error(), "nothing.test") {
		t.Fatalf("a name without addresses: %v", err)
	}

	// The machine's own resolver, on localhost: as many workers as it has addresses.
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	local := openPool(t, fmt.Sprintf("http://localhost:%d/_cache?workers=dns", port), "tk", nil)
	ms, err = local.(backends.ReplicaSet).Members(ctx)
	if err != nil || len(ms) == 0 || len(ms) > len(addrs) {
		t.Fatalf("localhost: %+v, %v (it resolves to %v)", ms, err, addrs)
	}
	if e, err := local.Get(ctx, "worker:0"); err != nil && !errors.As(err, new(*backends.PartialError)) {
		t.Fatalf("get through localhost: %+v, %v", e, err)
	}
}

// unixWorker serves a real memserver on a socket at path.
func unixWorker(t *testing.T, path string) *worker {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	return startWorker(t, ln, "")
}

// socketDir is a short directory: a socket path must fit in 108 bytes.
func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// TestSocketDirectory: every *.sock of the directory is a worker; the
// directory's other entries are hostile and never followed.
func TestSocketDirectory(t *testing.T) {
	ctx := context.Background()
	dir, outside := socketDir(t), socketDir(t)
	ws := []*worker{unixWorker(t, filepath.Join(dir, "web-1.sock")), unixWorker(t, filepath.Join(dir, "web-2.sock"))}
	secret := unixWorker(t, filepath.Join(outside, "other.sock"))
	secret.store.Set("secret", []byte("x"), 0, "")
	if err := os.Symlink(filepath.Join(outside, "other.sock"), filepath.Join(dir, "link.sock")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plain.sock"), []byte("not a socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A dead worker's socket: the file is left, nobody listens.
	dead, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, "web-0.sock"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	dead.SetUnlinkOnClose(false)
	dead.Close()
	for i, w := range ws {
		w.store.Set(fmt.Sprintf("worker:%d", i+1), []byte("x"), 0, "")
	}

	var warn warnings
	b := openPool(t, "http+unix://"+dir+"?path=/_cache", "", &warn)
	ms, err := b.(backends.ReplicaSet).Members(ctx)
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	if err != nil || !slices.Equal(names, []string{"web-0.sock", "web-1.sock", "web-2.sock"}) {
		t.Fatalf("members %q, %v", names, err)
	}
	if w := warn.all(); !strings.Contains(w, "skipped link.sock") || !strings.Contains(w, "symbolic link") || !strings.Contains(w, "skipped plain.sock") || !strings.Contains(w, "not a socket") || strings.Contains(w, "README") {
		t.Fatalf("warnings: %q", w)
	}
	keys, err := listAll(t, b)
	var pe *backends.PartialError
	if !errors.As(err, &pe) || pe.Failed[0].Name != "web-0.sock" || !strings.Contains(err.Error(), "connection refused") || !slices.Equal(keys, []string{"worker:1", "worker:2"}) {
		t.Fatalf("listing: %q, %v", keys, err)
	}

	// A socket swapped for a link after the directory was read is not followed.
	os.Remove(filepath.Join(dir, "web-2.sock"))
	if err := os.Symlink(filepath.Join(outside, "other.sock"), filepath.Join(dir, "web-2.sock")); err != nil {
		t.Fatal(err)
	}
	b.Close() // drop the kept-alive connection: the next request dials again
	if _, err := b.Get(ctx, "secret"); err == nil || !strings.Contains(err.Error(), "no longer a socket") {
		t.Fatalf("a swapped socket: %v", err)
	}

	// A directory without sockets names no worker.
	empty := openPool(t, "http+unix://"+socketDir(t), "", nil)
	if _, err := listAll(t, empty); !errors.Is(err, backends.ErrNoMembers) {
		t.Fatalf("an empty directory: %v", err)
	}
	// One socket file is one server, not a pool.
	one := openPool(t, "http+unix://"+filepath.Join(dir, "web-1.sock")+"?path=/_cache", "", nil)
	if _, ok := one.(*Backend); !ok {
		t.Fatalf("a socket file opens %T", one)
	}
	if keys, err := listAll(t, one); err != nil || !slices.Equal(keys, []string{"worker:1"}) {
		t.Fatalf("one socket: %q, %v", keys, err)
	}
}

// TestPoolInvalidateRate: --rate is a total over the workers, which are run
// one after another: a worker's first batch waits its turn as any other.
func TestPoolInvalidateRate(t *testing.T) {
	ws := tcpWorkers(t, 3)
	b := openPool(t, fmt.Sprintf("http://%s,%s,%s/_cache", ws[0].addr, ws[1].addr, ws[2].addr), "", nil)
	for _, w := range ws {
		w.store.Set("user:1", []byte("x"), 0, "")
		w.store.Set("user:2", []byte("x"), 0, "")
	}
	// A fake clock: sleeping moves it on, so the waits add up exactly.
	var mu sync.Mutex
	now := time.Unix(1e9, 0)
	var slept time.Duration
	opts := invalidate.Options{Patterns: []string{"user:*"}, Rate: 2, Batch: 2,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		Sleep: func(_ context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			now, slept = now.Add(d), slept+d
			return nil
		}}
	sum, err := invalidate.Run(context.Background(), b, opts)
	// 6 deletions at 2 a second: the batches at 0s, 1s and 2s.
	if err != nil || sum.Deleted != 6 || slept != 2*time.Second {
		t.Fatalf("deleted %d, waited %v (want 2s), %v", sum.Deleted, slept, err)
	}
}
