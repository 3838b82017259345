package commands

// stats, keys -l and get -l against a real Redis Cluster and a real Sentinel
// setup, checked against what the nodes themselves say (CLUSTER SLOTS, the
// slot owner of each key, INFO replication).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/testenv"
)

// needURL is the URL of a test deployment from env; the test skips without
// one unless servers are required, as internal/testenv's accessors do.
func needURL(t *testing.T, env, what string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		if testenv.Required() {
			t.Fatalf("%s is not set but CACHECTL_REQUIRE_SERVERS is: start the servers with `eval \"$(scripts/test-servers.sh start)\"`", env)
		}
		t.Skipf("no %s: set %s to run this test", what, env)
	}
	return v
}

// deployment reads a redis+cluster:// or redis+sentinel:// URL: its seed
// addresses, the data nodes' credentials, and the Sentinel master's name.
func deployment(t *testing.T, raw string) (addrs []string, user, pass, master string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	user = u.User.Username()
	pass, _ = u.User.Password()
	master, _, _ = strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	return strings.Split(u.Host, ","), user, pass, master
}

// clusterClient is a go-redis client of the cluster at raw, to arrange and
// check data behind cachectl's back.
func clusterClient(t *testing.T, raw string) *goredis.ClusterClient {
	t.Helper()
	addrs, user, pass, _ := deployment(t, raw)
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs, Username: user, Password: pass})
	t.Cleanup(func() { c.Close() })
	return c
}

// cmdRun runs a command line in process with stdout on a terminal or not.
func cmdRun(t *testing.T, tty bool, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	// A Sentinel URL names the variable holding the sentinels' password.
	env := map[string]string{}
	if v, ok := os.LookupEnv(testenv.SentinelPasswordEnv); ok {
		env[testenv.SentinelPasswordEnv] = v
	}
	r := newTestRun(t, env)
	r.f.IO.SetStdoutTTY(tty)
	code = r.run(args...)
	return code, r.stdout.String(), r.stderr.String()
}

type nodeStatsDoc struct {
	Keys     int64             `json:"keys"`
	Topology *topologyJSON     `json:"topology"`
	Servers  []serverStatsJSON `json:"-"`
}

func statsDocOf(t *testing.T, u string) nodeStatsDoc {
	t.Helper()
	code, out, errOut := cmdRun(t, false, "-u", u, "stats", "-o", "json")
	if code != 0 {
		t.Fatalf("stats -o json: exit %d: %s", code, errOut)
	}
	var doc nodeStatsDoc
	var rows struct {
		Servers []json.RawMessage `json:"servers"`
	}
	err := json.Unmarshal([]byte(out), &doc)
	if err == nil {
		err = json.Unmarshal([]byte(out), &rows)
	}
	for _, raw := range rows.Servers {
		// The figures are an unexported embedded pointer, which encoding/json
		// fills only when it is already set.
		row := serverStatsJSON{statsJSON: &statsJSON{}}
		if err == nil {
			err = json.Unmarshal(raw, &row)
		}
		if row.Error != "" {
			row.statsJSON = nil
		}
		doc.Servers = append(doc.Servers, row)
	}
	if err != nil {
		t.Fatalf("stats -o json: %v\n%s", err, out)
	}
	if doc.Topology == nil {
		t.Fatalf("stats -o json has no topology: %s", out)
	}
	return doc
}

func TestClusterStatsNodes(t *testing.T) {
	u := needURL(t, "CACHECTL_TEST_CLUSTER_URL", "Redis Cluster")
	ctx := context.Background()
	c := clusterClient(t, u)
	// What the cluster says of itself: each primary's slot ranges.
	slots, err := c.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	owned := map[string][][2]int{}
	for _, s := range slots {
		owned[s.Nodes[0].Addr] = append(owned[s.Nodes[0].Addr], [2]int{int(s.Start), int(s.End)})
	}
	for _, r := range owned {
		slices.SortFunc(r, func(a, b [2]int) int { return a[0] - b[0] })
	}

	doc := statsDocOf(t, u)
	tp := doc.Topology
	if tp.Kind != "cluster" || tp.SlotsCovered == nil || *tp.SlotsCovered != backends.SlotCount || tp.Failover ||
		tp.PrimariesUp != tp.Primaries || tp.ReplicasUp != tp.Replicas || tp.Primaries+tp.Replicas != len(doc.Servers) {
		t.Fatalf("topology %+v for %d servers", *tp, len(doc.Servers))
	}
	var primaries []string
	var sum int64
	for _, s := range doc.Servers {
		if s.Error != "" || s.statsJSON == nil || s.Keys == nil || s.ReplOffset == nil || *s.ReplOffset < 0 {
			t.Errorf("%s: error %q, offset %v", s.Address, s.Error, s.ReplOffset)
			continue
		}
		switch s.Role {
		case "primary":
			primaries = append(primaries, s.Address)
			sum += *s.Keys
			if !slices.Equal(s.Slots, owned[s.Address]) {
				t.Errorf("primary %s: slots %v, the cluster says %v", s.Address, s.Slots, owned[s.Address])
			}
		case "replica":
			if len(s.Slots) != 0 || s.Link != "up" {
				t.Errorf("replica %s: slots %v, link %q", s.Address, s.Slots, s.Link)
			}
		default:
			t.Errorf("%s: role %q", s.Address, s.Role)
		}
	}
	for _, s := range doc.Servers {
		if s.Role == "replica" && !slices.Contains(primaries, s.Primary) {
			t.Errorf("replica %s copies %q, not a listed primary %q", s.Address, s.Primary, primaries)
		}
	}
	if len(primaries) != tp.Primaries || len(primaries) != len(owned) {
		t.Errorf("primaries %q; topology says %d, CLUSTER SLOTS %d", primaries, tp.Primaries, len(owned))
	}
	// The totals are the primaries' (other tests write meanwhile, so only
	// the relation is checked, on one document).
	if doc.Keys != sum {
		t.Errorf("total keys %d, the primaries hold %d", doc.Keys, sum)
	}

	// For people: the topology line, then one row per node, each primary
	// with its compact slot ranges and followed by its replicas.
	code, out, errOut := cmdRun(t, false, "-u", u, "stats")
	if code != 0 {
		t.Fatalf("stats: exit %d: %s", code, errOut)
	}
	topoLine := fmt.Sprintf("\ntopology     %d primaries (%d up), %d replicas (%d up), 16384/16384 slots\n", tp.Primaries, tp.Primaries, tp.Replicas, tp.Replicas)
	_, table, ok := strings.Cut(out, "\n\n")
	if !strings.Contains(out, topoLine) || !ok {
		t.Fatalf("stats lacks %q or the table:\n%s", topoLine, out)
	}
	rows := strings.Split(strings.TrimSuffix(table, "\n"), "\n") // in order, unlike lines
	if !regexp.MustCompile(`^ROLE +NODE +SLOTS +KEYS +MEMORY +OPS/S +REPL$`).MatchString(rows[0]) || len(rows) != 1+len(doc.Servers) {
		t.Fatalf("node table:\n%s", table)
	}
	last := ""
	for _, row := range rows[1:] {
		f := strings.Fields(row)
		switch f[0] {
		case "primary":
			last = f[1]
			if want := slotRanges(owned[f[1]], 18); f[2] != strings.Fields(want)[0] || !strings.Contains(row, "  "+want+"  ") {
				t.Errorf("row %q lacks the slots %q", row, want)
			}
			if !regexp.MustCompile(`  offset \d+$`).MatchString(row) {
				t.Errorf("primary row %q", row)
			}
		case "replica":
			i := slices.IndexFunc(doc.Servers, func(s serverStatsJSON) bool { return s.Address == f[2] })
			if f[1] != "└" || i < 0 || doc.Servers[i].Primary != last || !regexp.MustCompile(`  link up · offset \d+$`).MatchString(row) {
				t.Errorf("replica row %q is not under its primary (last primary %s)", row, last)
			}
		default:
			t.Errorf("row %q", row)
		}
	}
}

// TestClusterKeysAndGetNameTheNode: keys -l and get -l name, for each key,
// the primary the cluster says owns its slot.
func TestClusterKeysAndGetNameTheNode(t *testing.T) {
	u := needURL(t, "CACHECTL_TEST_CLUSTER_URL", "Redis Cluster")
	ctx := context.Background()
	c := clusterClient(t, u)
	prefix := fmt.Sprintf("cachectl-nodes-%d:", os.Getpid())
	owner := map[string]string{}
	for i := range 40 {
		k := fmt.Sprintf("%s%d", prefix, i)
		if err := c.Set(ctx, k, `{"n":1}`, 0).Err(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Del(context.Background(), k) })
		m, err := c.MasterForKey(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		owner[k] = m.Options().Addr
	}
	nodes := map[string]bool{}
	for _, a := range owner {
		nodes[a] = true
	}
	if len(nodes) < 2 {
		t.Fatalf("40 keys all on %v: the test needs a cluster of several primaries", nodes)
	}

	code, out, errOut := cmdRun(t, false, "-u", u, "keys", "-l", prefix+"*")
	if code != 0 {
		t.Fatalf("keys -l: exit %d: %s", code, errOut)
	}
	seen := map[string]bool{}
	for _, row := range lines(out) {
		f := strings.Split(row, "\t")
		if len(f) != 6 || f[0] != "string" || f[4] != owner[f[5]] {
			t.Errorf("row %q: want TYPE TTL SIZE FORMAT NODE KEY with node %s", row, owner[f[len(f)-1]])
		}
		seen[f[len(f)-1]] = true
	}
	if len(seen) != len(owner) {
		t.Errorf("keys -l listed %d of %d keys", len(seen), len(owner))
	}
	code, out, _ = cmdRun(t, true, "-u", u, "keys", "-l", prefix+"1")
	if code != 0 || !regexp.MustCompile(`^TYPE +TTL +SIZE +FORMAT +NODE +KEY\nstring +- +7 B +json +`+regexp.QuoteMeta(owner[prefix+"1"])+` +`+regexp.QuoteMeta(prefix)+`1\n$`).MatchString(out) {
		t.Errorf("keys -l on a terminal: exit %d\n%s", code, out)
	}
	code, out, _ = cmdRun(t, false, "-u", u, "keys", "-l", "-o", "jsonl", prefix+"2")
	if code != 0 || !strings.Contains(out, `"server":"`+owner[prefix+"2"]+`"`) {
		t.Errorf("keys -l -o jsonl: exit %d: %s", code, out)
	}

	// get -l of keys on different nodes: each block names its own.
	var keys []string
	byNode := map[string]bool{}
	for k, a := range owner {
		if !byNode[a] {
			byNode[a] = true
			keys = append(keys, k)
		}
	}
	code, out, errOut = cmdRun(t, false, append([]string{"-u", u, "get", "-l"}, keys...)...)
	if code != 0 {
		t.Fatalf("get -l: exit %d: %s", code, errOut)
	}
	blocks := strings.Split(out, "\n\n")
	if len(blocks) != len(keys) {
		t.Fatalf("get -l of %d keys:\n%s", len(keys), out)
	}
	for i, k := range keys {
		if !strings.HasPrefix(blocks[i], "key:    "+k+"\n") || !strings.Contains(blocks[i], "\nnode:   "+owner[k]+"\n") {
			t.Errorf("get -l %s should name node %s:\n%s", k, owner[k], blocks[i])
		}
	}
	code, out, _ = cmdRun(t, false, append([]string{"-u", u, "get", "-o", "json"}, keys...)...)
	var docs []struct{ Key, Server string }
	if err := json.Unmarshal([]byte(out), &docs); code != 0 || err != nil || len(docs) != len(keys) {
		t.Fatalf("get -o json: exit %d, %v: %s", code, err, out)
	}
	for _, d := range docs {
		if d.Server != owner[d.Key] {
			t.Errorf("get -o json %s: server %q, want %s", d.Key, d.Server, owner[d.Key])
		}
	}
}

// TestSentinelStatsAndKeysNameTheNodes: the master and its replicas, and
// every key on the node that answers as master.
func TestSentinelStatsAndKeysNameTheNodes(t *testing.T) {
	u := needURL(t, "CACHECTL_TEST_SENTINEL_URL", "Redis Sentinel")
	_, user, pass, master := deployment(t, u)
	ctx := context.Background()

	doc := statsDocOf(t, u)
	tp := doc.Topology
	if tp.Kind != "sentinel" || tp.Master != master || tp.SlotsCovered != nil || tp.Failover ||
		tp.Primaries != 1 || tp.PrimariesUp != 1 || tp.Replicas < 1 || tp.ReplicasUp != tp.Replicas || len(doc.Servers) != 1+tp.Replicas {
		t.Fatalf("topology %+v for %d servers", *tp, len(doc.Servers))
	}
	primary := doc.Servers[0]
	if primary.Role != "primary" || primary.ReplOffset == nil || primary.statsJSON == nil || primary.Keys == nil || doc.Keys != *primary.Keys {
		t.Fatalf("first row %+v, totals keys %d", primary, doc.Keys)
	}
	// The node stats calls primary says it is the master.
	node := goredis.NewClient(&goredis.Options{Addr: primary.Address, Username: user, Password: pass})
	defer node.Close()
	info, err := node.Info(ctx, "replication").Result()
	if err != nil || !strings.Contains(info, "role:master") {
		t.Fatalf("%s: %v\n%s", primary.Address, err, info)
	}
	for _, s := range doc.Servers[1:] {
		if s.Role != "replica" || s.Primary != primary.Address || s.Link != "up" || s.ReplOffset == nil || len(s.Slots) != 0 {
			t.Errorf("replica row %+v", s)
		}
	}
	code, out, errOut := cmdRun(t, false, "-u", u, "stats")
	want := fmt.Sprintf("\ntopology     master %s, 1 primary (1 up), %d replica", master, tp.Replicas)
	if code != 0 || !strings.Contains(out, want) || !regexp.MustCompile(`\n\nROLE +NODE +KEYS +MEMORY +OPS/S +REPL\nprimary +`+regexp.QuoteMeta(primary.Address)+` `).MatchString(out) {
		t.Fatalf("stats: exit %d: %s\n%s\nwant %q", code, errOut, out, want)
	}

	// keys -l and get -l name the master.
	k := fmt.Sprintf("cachectl-nodes-%d", os.Getpid())
	if code, _, errOut := cmdRun(t, false, "-u", u, "set", k, "v"); code != 0 {
		t.Fatalf("set: %s", errOut)
	}
	t.Cleanup(func() { cmdRun(t, false, "-u", u, "del", k) })
	code, out, _ = cmdRun(t, false, "-u", u, "keys", "-l", k)
	if code != 0 || out != "string\t-\t1\tstring\t"+primary.Address+"\t"+k+"\n" {
		t.Errorf("keys -l: exit %d: %q", code, out)
	}
	code, out, _ = cmdRun(t, false, "-u", u, "get", "-l", k)
	if code != 0 || !strings.Contains(out, "\nnode:   "+primary.Address+"\n") {
		t.Errorf("get -l: exit %d:\n%s", code, out)
	}
}
