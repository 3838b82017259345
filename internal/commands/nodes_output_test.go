package commands

// How stats, keys -l and get -l show the nodes of a cluster, a Sentinel
// setup and a pool. A fake backend hands the commands exactly the figures
// and topology a test needs (a node down, a replica whose link broke, an
// address a hostile server made up), which no real cluster gives on demand;
// the real clusters are in cluster_output_test.go.

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
)

// fakeNodes is a backend of several nodes with canned answers. Methods the
// tests do not expect are the nil embedded Backend's: calling one panics.
type fakeNodes struct {
	backends.Backend
	caps     []string
	stats    *backends.Stats
	statsErr error
	// keys in listing order, each with the node holding it.
	keys  []string
	nodes map[string]string
}

func (f *fakeNodes) Describe() backends.Info {
	return backends.Info{Kind: "redis", Address: "fake://nodes", Capabilities: f.caps}
}
func (f *fakeNodes) Close() error { return nil }
func (f *fakeNodes) Stats(context.Context) (*backends.Stats, error) {
	return f.stats, f.statsErr
}

func (f *fakeNodes) Scan(_ context.Context, _ string, fn func([]string) error) error {
	return fn(f.keys)
}

func (f *fakeNodes) Inspect(_ context.Context, keys []string) ([]backends.KeyInfo, error) {
	out := make([]backends.KeyInfo, len(keys))
	for i, k := range keys {
		out[i] = backends.KeyInfo{Key: k, Type: "string", Size: 2, Prefix: []byte("{}"), TTL: backends.NoExpiry, Server: f.nodes[k]}
	}
	return out, nil
}

func (f *fakeNodes) Get(_ context.Context, key string) (*backends.Entry, error) {
	node, ok := f.nodes[key]
	if !ok {
		return nil, backends.NotFound(key)
	}
	return &backends.Entry{Key: key, Value: []byte("{}"), Type: "string", Size: 2, TTL: backends.NoExpiry, Server: node}, nil
}

// fakeTopo adds the topology of a cluster or Sentinel setup.
type fakeTopo struct {
	*fakeNodes
	topo    *backends.Topology
	topoErr error
}

func (f *fakeTopo) Topology(context.Context) (*backends.Topology, error) { return f.topo, f.topoErr }

// runFake runs `cachectl -u fake://nodes ARGS` against b.
func runFake(t *testing.T, b backends.Backend, s streams, args ...string) *memRun {
	t.Helper()
	r := newTestRun(t, nil)
	r.f.Drivers = backends.Drivers{{Kind: "redis", Schemes: []string{"fake"},
		Open: func(context.Context, *url.URL, backends.Options) (backends.Backend, error) { return b, nil }}}
	r.f.IO.SetStdoutTTY(s&ttyOut != 0)
	r.f.IO.SetStderrTTY(s&ttyErr != 0)
	r.f.IO.SetColorEnabled(s&ttyOut != 0)
	return &memRun{testRun: r, code: r.run(append([]string{"-u", "fake://nodes"}, args...)...)}
}

// figures are one node's stats.
func figures(keys, mem int64, ops float64) *backends.Stats {
	return &backends.Stats{Keys: keys, MemoryBytes: mem, OpsPerSec: ops, Version: "redis 7.2", Uptime: time.Hour,
		Known: map[string]bool{"keys": true, "memory": true, "ops_per_sec": true, "version": true, "uptime": true}}
}

const hostileAddr = "10.0.0.9:6379\x1b]0;pwn\x07"

// fakeCluster: three primaries in slot order, then the replicas as the
// backend lists them; one replica's link is down, one node does not answer,
// one replica copies a primary that is not listed, and one address holds
// terminal controls.
func fakeCluster() *fakeTopo {
	rows := []backends.ServerStats{
		{Address: "10.0.0.1:6379", Role: "primary", Slots: [][2]int{{0, 5460}}, ReplOffset: 1200, Stats: figures(10, 2<<20, 5)},
		{Address: "10.0.0.2:6379", Role: "primary", Slots: [][2]int{{5461, 5461}, {5463, 5470}, {6000, 10922}, {12000, 12001}}, ReplOffset: 900, Stats: figures(20, 3<<20, 7)},
		{Address: hostileAddr, Role: "primary", Slots: [][2]int{{10923, 11999}, {12002, 16383}}, ReplOffset: -1, Err: &backends.ConnError{Address: "10.0.0.9:6379", Err: errors.New("connection refused")}},
		{Address: "10.0.0.4:6379", Role: "replica", Primary: "10.0.0.2:6379", Link: "down", ReplOffset: 850, Stats: figures(19, 3<<20, 0)},
		{Address: "10.0.0.5:6379", Role: "replica", Primary: "10.0.0.1:6379", Link: "up", ReplOffset: 1200, Stats: figures(10, 2<<20, 1)},
		{Address: "10.0.0.6:6379", Role: "replica", Primary: "10.0.0.7:6379", Link: "up", ReplOffset: 0, Stats: figures(0, 1<<20, 0)},
	}
	total := figures(30, 5<<20, 12)
	total.Servers = rows
	topo := &backends.Topology{Kind: "cluster", SlotsCovered: 10923, Failover: true, Nodes: []backends.Node{
		{Address: "10.0.0.1:6379", Role: "primary", Up: true}, {Address: "10.0.0.2:6379", Role: "primary", Up: true},
		{Address: hostileAddr, Role: "primary"}, {Address: "10.0.0.4:6379", Role: "replica", Up: true},
		{Address: "10.0.0.5:6379", Role: "replica", Up: true}, {Address: "10.0.0.6:6379", Role: "replica", Up: true},
	}}
	return &fakeTopo{fakeNodes: &fakeNodes{caps: []string{"ttl", "types", "cluster"}, stats: total,
		statsErr: errors.New("1 of 6 nodes did not answer")}, topo: topo}
}

func TestStatsClusterNodes(t *testing.T) {
	want := `backend      redis  fake://nodes
topology     3 primaries (2 up), 3 replicas (3 up), 10923/16384 slots
version      redis 7.2
keys         30
memory       5.0 MiB
hits         unknown
misses       unknown
hit ratio    unknown
evictions    unknown
expired      unknown
ops/s        12
connections  unknown
uptime       1h

ROLE     NODE                         SLOTS                   KEYS  MEMORY   OPS/S  REPL
primary  10.0.0.1:6379                0-5460                  10    2.0 MiB  5      offset 1200
replica  └ 10.0.0.5:6379              -                       10    2.0 MiB  1      link up · offset 1200
primary  10.0.0.2:6379                5461,5463-5470 +2 more  20    3.0 MiB  7      offset 900
replica  └ 10.0.0.4:6379              -                       19    3.0 MiB  0      link down · offset 850
primary  10.0.0.9:6379\x1b]0;pwn\x07  10923-11999 +1 more     -     -        -      cannot reach 10.0.0.9:6379: connection refused
replica  10.0.0.6:6379                -                       0     1.0 MiB  0      link up · offset 0 · of 10.0.0.7:6379
`
	r := runFake(t, fakeCluster(), pipe, "stats")
	r.expectErr(t, ExitError, want, "error: 1 of 6 nodes did not answer\n")

	// On a terminal what is missing or broken is red, and only the last
	// cell of a row is coloured, so the columns stay aligned.
	r = runFake(t, fakeCluster(), tty, "stats")
	out := r.out()
	for _, s := range []string{
		"3 primaries (\x1b[31m2 up\x1b[0m), 3 replicas (3 up), \x1b[31m10923/16384 slots\x1b[0m\n",
		"-      \x1b[31mcannot reach 10.0.0.9:6379: connection refused\x1b[0m\n",
		"0      \x1b[31mlink down\x1b[0m · offset 850\n",
		"\x1b[2mROLE     NODE ",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("stats on a terminal lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "\x1b]") || strings.Contains(out, "\x07") {
		t.Errorf("a node's address reached the terminal raw:\n%q", out)
	}
}

func TestStatsClusterJSON(t *testing.T) {
	r := runFake(t, fakeCluster(), pipe, "stats", "-o", "json")
	if r.code != ExitError {
		t.Fatalf("exit %d, want %d: %s", r.code, ExitError, r.err())
	}
	if strings.Contains(r.out(), "\x1b") || !strings.Contains(r.out(), `"address":"10.0.0.9:6379\u001b]0;pwn\u0007"`) {
		t.Fatalf("the hostile address is not escaped in JSON: %s", r.out())
	}
	var doc struct {
		Topology map[string]any    `json:"topology"`
		Servers  []json.RawMessage `json:"servers"`
	}
	if err := json.Unmarshal([]byte(r.out()), &doc); err != nil {
		t.Fatal(err)
	}
	topo, _ := json.Marshal(doc.Topology)
	if string(topo) != `{"failover":true,"kind":"cluster","primaries":3,"primaries_up":2,"replicas":3,"replicas_up":3,"slots_covered":10923}` {
		t.Errorf("topology %s", topo)
	}
	// Each row: the pool's shape with the node's fields after the address;
	// an unknown offset is left out, a zero one is not.
	want := []string{
		`{"address":"10.0.0.1:6379","role":"primary","slots":[[0,5460]],"repl_offset":1200,"backend":"","version":"redis 7.2","keys":10,"memory_bytes":2097152,"hits":null,"misses":null,"hit_ratio":null,"evictions":null,"expired":null,"ops_per_sec":5,"connections":null,"uptime_s":3600,"raw":null}`,
		`{"address":"10.0.0.2:6379","role":"primary","slots":[[5461,5461],[5463,5470],[6000,10922],[12000,12001]],"repl_offset":900,`,
		`{"address":"10.0.0.9:6379\u001b]0;pwn\u0007","role":"primary","slots":[[10923,11999],[12002,16383]],"error":"cannot reach 10.0.0.9:6379: connection refused"}`,
		`{"address":"10.0.0.4:6379","role":"replica","primary":"10.0.0.2:6379","link":"down","repl_offset":850,"backend":""`,
		`{"address":"10.0.0.5:6379","role":"replica","primary":"10.0.0.1:6379","link":"up","repl_offset":1200,"backend":""`,
		`{"address":"10.0.0.6:6379","role":"replica","primary":"10.0.0.7:6379","link":"up","repl_offset":0,"backend":""`,
	}
	if len(doc.Servers) != len(want) {
		t.Fatalf("%d servers, want %d: %s", len(doc.Servers), len(want), r.out())
	}
	for i, w := range want {
		if !strings.HasPrefix(string(doc.Servers[i]), w) {
			t.Errorf("servers[%d] =\n%s\nwant it to start with\n%s", i, doc.Servers[i], w)
		}
	}
}

// TestStatsSentinelNodes: no SLOTS column, the master's name in the
// topology line, and a failover said as such.
func TestStatsSentinelNodes(t *testing.T) {
	total := figures(3, 1<<20, 2)
	total.Servers = []backends.ServerStats{
		{Address: "10.0.1.1:6379", Role: "primary", ReplOffset: 500, Stats: figures(3, 1<<20, 2)},
		{Address: "10.0.1.2:6379", Role: "replica", Primary: "10.0.1.1:6379", Link: "up", ReplOffset: 480, Stats: figures(3, 1<<20, 0)},
		{Address: "10.0.1.3:6379", Role: "replica", Primary: "10.0.1.1:6379", ReplOffset: -1, Stats: figures(0, 1<<20, 0)},
	}
	b := &fakeTopo{fakeNodes: &fakeNodes{caps: []string{"sentinel"}, stats: total}, topo: &backends.Topology{
		Kind: "sentinel", Master: "my\tmaster", Failover: true, Nodes: []backends.Node{
			{Role: "primary", Up: true}, {Role: "replica", Up: true}, {Role: "replica"}}}}
	r := runFake(t, b, pipe, "stats")
	want := "backend      redis  fake://nodes\n" +
		"topology     master my master, 1 primary (1 up), 2 replicas (1 up) · failover in progress\n"
	table := `
ROLE     NODE             KEYS  MEMORY   OPS/S  REPL
primary  10.0.1.1:6379    3     1.0 MiB  2      offset 500
replica  └ 10.0.1.2:6379  3     1.0 MiB  0      link up · offset 480
replica  └ 10.0.1.3:6379  0     1.0 MiB  0      link ? · offset ?
`
	if r.code != 0 || !strings.HasPrefix(r.out(), want) || !strings.HasSuffix(r.out(), table) {
		t.Fatalf("exit %d:\n%s\nwant it to start with\n%s\nand end with%s", r.code, r.out(), want, table)
	}
	r = runFake(t, b, pipe, "stats", "-o", "json")
	if !strings.Contains(r.out(), `"topology":{"kind":"sentinel","master":"my\tmaster","primaries":1,"primaries_up":1,"replicas":2,"replicas_up":1,"failover":true}`) {
		t.Fatalf("sentinel topology: %s", r.out())
	}

	// A topology that cannot be read loses its line, not the figures.
	b.topo, b.topoErr = nil, &backends.ConnError{Address: "10.0.1.9:26379", Err: errors.New("i/o timeout")}
	r = runFake(t, b, pipe, "stats")
	if r.code != 0 || strings.Contains(r.out(), "topology") || !strings.HasSuffix(r.out(), table) ||
		r.err() != "warning: topology: cannot reach 10.0.1.9:26379: i/o timeout\n" {
		t.Fatalf("exit %d:\n%s\nstderr %q", r.code, r.out(), r.err())
	}
}

// TestStatsPoolUnchanged: a pool's rows keep their columns and JSON shape
// (no node fields, no topology); a member that did not answer keeps the
// columns after it aligned.
func TestStatsPoolUnchanged(t *testing.T) {
	total := figures(3, 100, 0)
	total.Servers = []backends.ServerStats{
		{Address: "10.0.2.1:11211", Stats: figures(1, 50, 0)},
		{Address: "10.0.2.2:11211", Err: &backends.ConnError{Address: "10.0.2.2:11211", Err: errors.New("connection refused")}},
		{Address: "10.0.2.3:11211", Stats: figures(2, 50, 0)},
	}
	b := &fakeNodes{caps: []string{"pool"}, stats: total}
	r := runFake(t, b, pipe, "stats")
	table := `
SERVER          VERSION    KEYS  MEMORY  HIT RATIO  EVICTIONS  CONNS  UPTIME
10.0.2.1:11211  redis 7.2  1     50 B    -          -          -      1h
10.0.2.2:11211  -          -     -       -          -          -      cannot reach 10.0.2.2:11211: connection refused
10.0.2.3:11211  redis 7.2  2     50 B    -          -          -      1h
`
	if !strings.HasSuffix(r.out(), table) || strings.Contains(r.out(), "topology") {
		t.Fatalf("pool stats:\n%s\nwant it to end with%s", r.out(), table)
	}
	r = runFake(t, b, pipe, "stats", "-o", "json")
	want := `"servers":[{"address":"10.0.2.1:11211","backend":"","version":"redis 7.2","keys":1,"memory_bytes":50,"hits":null,"misses":null,"hit_ratio":null,"evictions":null,"expired":null,"ops_per_sec":0,"connections":null,"uptime_s":3600,"raw":null},{"address":"10.0.2.2:11211","error":"cannot reach 10.0.2.2:11211: connection refused"},{"address":"10.0.2.3:11211","backend":""`
	if !strings.Contains(r.out(), want) || strings.Contains(r.out(), "topology") {
		t.Fatalf("pool JSON:\n%s\nwant\n%s", r.out(), want)
	}
}

func TestSlotRanges(t *testing.T) {
	for _, c := range []struct {
		ranges [][2]int
		want   string
	}{
		{nil, "-"},
		{[][2]int{{0, 16383}}, "0-16383"},
		{[][2]int{{7, 7}}, "7"},
		{[][2]int{{0, 1499}, {5461, 10922}}, "0-1499,5461-10922"},
		{[][2]int{{0, 1499}, {5461, 10922}, {12000, 12000}}, "0-1499,5461-10922 +1 more"},
		// One range always shows, however long.
		{[][2]int{{10000, 16383}, {1, 2}}, "10000-16383,1-2"},
		{[][2]int{{1, 1}, {3, 3}, {5, 5}, {7, 7}, {9, 9}, {11, 11}, {13, 13}, {15, 15}, {17, 17}, {19, 19}}, "1,3,5,7,9,11,13,15 +2 more"},
	} {
		if got := slotRanges(c.ranges, 18); got != c.want {
			t.Errorf("slotRanges(%v) = %q, want %q", c.ranges, got, c.want)
		}
	}
}

// fakeKeys: keys on several nodes, one whose node is unknown and one whose
// node's address holds terminal controls.
func fakeKeys(caps ...string) *fakeNodes {
	return &fakeNodes{caps: caps, keys: []string{"a", "b", "c", "d"}, nodes: map[string]string{
		"a": "10.0.0.1:6379", "b": "10.0.0.22:16379", "c": "", "d": hostileAddr}}
}

func TestKeysLongNamesTheNode(t *testing.T) {
	esc := `10.0.0.9:6379\x1b]0;pwn\x07`
	for _, c := range []struct {
		caps   []string
		header string
	}{{[]string{"cluster"}, "NODE"}, {[]string{"sentinel"}, "NODE"}, {[]string{"pool"}, "SERVER"}} {
		r := runFake(t, fakeKeys(c.caps...), pipe, "keys", "-l")
		r.expectErr(t, 0, "string\t-\t2\tjson\t10.0.0.1:6379\ta\nstring\t-\t2\tjson\t10.0.0.22:16379\tb\nstring\t-\t2\tjson\t-\tc\nstring\t-\t2\tjson\t"+esc+"\td\n", "")
		r = runFake(t, fakeKeys(c.caps...), ttyOut, "--no-color", "keys", "-l")
		head := "TYPE          TTL       SIZE FORMAT   " + c.header + strings.Repeat(" ", 27-len(c.header)) + " KEY\n"
		r.expectErr(t, 0, head+
			"string          -        2 B json     10.0.0.1:6379               a\n"+
			"string          -        2 B json     10.0.0.22:16379             b\n"+
			"string          -        2 B json     -                           c\n"+
			"string          -        2 B json     "+esc+" d\n", "")
		// Under a profile the node comes before WHAT.
		r = runFake(t, fakeKeys(c.caps...), ttyOut, "--no-color", "--profile", "django", "keys", "-l")
		if !strings.HasPrefix(r.out(), "TYPE          TTL       SIZE FORMAT   "+c.header+strings.Repeat(" ", 27-len(c.header))+" WHAT") {
			t.Errorf("%v under a profile:\n%s", c.caps, r.out())
		}
		r = runFake(t, fakeKeys(c.caps...), pipe, "keys", "-l", "-o", "jsonl")
		if !strings.Contains(r.out(), `{"key":"b","type":"string","ttl":null,"size":2,"format":"json","server":"10.0.0.22:16379"}`) ||
			!strings.Contains(r.out(), `"server":"10.0.0.9:6379\u001b]0;pwn\u0007"`) {
			t.Errorf("%v -o jsonl: %s", c.caps, r.out())
		}
	}
	// One server: no column, even though each row names it.
	r := runFake(t, fakeKeys(), pipe, "keys", "-l")
	r.expectErr(t, 0, "string\t-\t2\tjson\ta\nstring\t-\t2\tjson\tb\nstring\t-\t2\tjson\tc\nstring\t-\t2\tjson\td\n", "")
}

func TestGetLongNamesTheNode(t *testing.T) {
	r := runFake(t, fakeKeys("cluster"), pipe, "get", "-l", "a", "b", "d")
	for _, s := range []string{"key:    a\n", "node:   10.0.0.1:6379\n", "node:   10.0.0.22:16379\n", "node:   10.0.0.9:6379\\x1b]0;pwn\\x07\n"} {
		if !strings.Contains(r.out(), s) {
			t.Errorf("get -l lacks %q:\n%s", s, r.out())
		}
	}
	if r.code != 0 || strings.Contains(r.out(), "server:") || strings.Contains(r.out(), "\x1b") {
		t.Errorf("exit %d:\n%q", r.code, r.out())
	}
	// A pool's member (and a lone server) is a "server", as before.
	for _, caps := range [][]string{{"pool"}, nil} {
		r = runFake(t, fakeKeys(caps...), pipe, "get", "-l", "b")
		if r.code != 0 || !strings.Contains(r.out(), "\nserver: 10.0.0.22:16379\n") {
			t.Errorf("%v: exit %d:\n%s", caps, r.code, r.out())
		}
	}
	r = runFake(t, fakeKeys("cluster"), pipe, "get", "b", "-o", "json")
	if !strings.Contains(r.out(), `"server":"10.0.0.22:16379"`) {
		t.Errorf("get -o json: %s", r.out())
	}
}
