package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/glob"
)

// fakeCluster is a Redis Cluster in memory, for the dashboard's drawing and
// its reactions to a node's death: three shards, each a primary (:7001-:7003)
// and a replica (:7004-:7006); a key lives on shard (sum of its bytes) % 3.
// The test kills a node, has the others flag it, fails it over and starts
// it again; reads of a dead node's keys fail as a refused connection.
// What the dashboard must not call stays the nil interface.
type fakeCluster struct {
	backends.Backend

	mu       sync.Mutex
	data     map[string]string
	nodes    []backends.Node
	dead     map[string]bool
	inspects int // Inspect calls, for the retries
	recovers int // Recover calls
}

var _ interface {
	backends.TopologyReporter
	backends.Recoverer
} = (*fakeCluster)(nil)

func newFakeCluster(data map[string]string) *fakeCluster {
	f := &fakeCluster{data: data, dead: map[string]bool{}}
	ranges := [][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}}
	for i, r := range ranges {
		f.nodes = append(f.nodes, backends.Node{ID: fmt.Sprint("id", i+1), Address: nodeAddr(i + 1), Role: "primary",
			Slots: [][2]int{r}, Up: true})
	}
	for i := range ranges {
		f.nodes = append(f.nodes, backends.Node{ID: fmt.Sprint("id", i+4), Address: nodeAddr(i + 4), Role: "replica",
			PrimaryID: fmt.Sprint("id", i+1), PrimaryAddress: nodeAddr(i + 1), Up: true, Link: "up"})
	}
	return f
}

func nodeAddr(n int) string { return fmt.Sprintf("127.0.0.1:%d", 7000+n) }

func (f *fakeCluster) open(context.Context) (backends.Backend, error) { return f, nil }

// shardSlot is the first slot of key's shard.
func shardSlot(key string) int {
	sum := 0
	for i := range len(key) {
		sum += int(key[i])
	}
	return [...]int{0, 5461, 10923}[sum%3]
}

// primaryOf is the address of the primary serving key, "" when none does.
func (f *fakeCluster) primaryOf(key string) string {
	slot := shardSlot(key)
	for _, n := range f.nodes {
		for _, r := range n.Slots {
			if n.Role == "primary" && r[0] <= slot && slot <= r[1] {
				return n.Address
			}
		}
	}
	return ""
}

// KeyOn is a key of data served by the primary at addr.
func (f *fakeCluster) keyOn(addr string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.data {
		if f.primaryOf(k) == addr {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func (f *fakeCluster) reach(key string) (string, error) {
	addr := f.primaryOf(key)
	if f.dead[addr] {
		return "", &backends.ConnError{Address: addr, Err: errors.New("connection refused")}
	}
	return addr, nil
}

func (f *fakeCluster) Inspect(_ context.Context, keys []string) ([]backends.KeyInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inspects++
	out := make([]backends.KeyInfo, len(keys))
	for i, k := range keys {
		addr, err := f.reach(k)
		if err != nil {
			return nil, err
		}
		v, ok := f.data[k]
		out[i] = backends.KeyInfo{Key: k, Missing: !ok, Type: "string", Size: int64(len(v)), Server: addr}
	}
	return out, nil
}

func (f *fakeCluster) Get(_ context.Context, key string) (*backends.Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	addr, err := f.reach(key)
	if err != nil {
		return nil, err
	}
	v, ok := f.data[key]
	if !ok {
		return nil, fmt.Errorf("get %s: %w", key, backends.ErrNotFound)
	}
	return &backends.Entry{Key: key, Value: []byte(v), Type: "string", Size: int64(len(v)), Server: addr}, nil
}

// Scan lists every primary's keys; like the real one it fails while a
// primary owning slots is dead.
func (f *fakeCluster) Scan(_ context.Context, pattern string, fn func([]string) error) error {
	f.mu.Lock()
	var keys []string
	for k := range f.data {
		if _, err := f.reach(k); err != nil {
			f.mu.Unlock()
			return err
		}
		if glob.Match(pattern, k) {
			keys = append(keys, k)
		}
	}
	f.mu.Unlock()
	slices.Sort(keys)
	return fn(keys)
}

// Stats has a row per node, an error for each dead one, and totals of the
// primaries that answered.
func (f *fakeCluster) Stats(context.Context) (*backends.Stats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	total := &backends.Stats{Known: map[string]bool{"keys": true, "version": true}, Version: "redis 7.0.15"}
	var first error
	down := 0
	for _, n := range f.nodes {
		row := backends.ServerStats{Address: n.Address, Role: n.Role, Slots: n.Slots, Primary: n.PrimaryAddress}
		if f.dead[n.Address] {
			row.Err = &backends.ConnError{Address: n.Address, Err: errors.New("connection refused")}
			first = cmpErr(first, row.Err)
			down++
		} else {
			row.Stats = &backends.Stats{}
			if n.Role == "primary" {
				for k := range f.data {
					if f.primaryOf(k) == n.Address {
						total.Keys++
					}
				}
			}
		}
		total.Servers = append(total.Servers, row)
	}
	if down == len(f.nodes) {
		return nil, first
	}
	if down > 0 {
		return total, fmt.Errorf("%d of %d nodes did not answer: %w", down, len(f.nodes), first)
	}
	return total, nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// Topology is the nodes as the cluster sees them: a dead node is up until
// flagged.
func (f *fakeCluster) Topology(context.Context) (*backends.Topology, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &backends.Topology{Kind: "cluster", Nodes: slices.Clone(f.nodes)}
	for _, n := range f.nodes {
		if n.Role == "primary" && n.Up {
			for _, r := range n.Slots {
				t.SlotsCovered += r[1] - r[0] + 1
			}
		}
	}
	t.Failover = t.SlotsCovered < backends.SlotCount
	return t, nil
}

func (f *fakeCluster) Recover(context.Context, time.Duration) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recovers++
	return false, nil
}

func (f *fakeCluster) Describe() backends.Info {
	return backends.Info{Kind: "redis", Address: "redis+cluster://127.0.0.1:7001,127.0.0.1:7002"}
}

func (f *fakeCluster) Close() error { return nil }

func (f *fakeCluster) node(addr string) *backends.Node {
	for i := range f.nodes {
		if f.nodes[i].Address == addr {
			return &f.nodes[i]
		}
	}
	panic("no node " + addr)
}

// kill stops the node at addr answering; the others have not noticed yet.
func (f *fakeCluster) kill(addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dead[addr] = true
}

// flag is the others noticing: the node is flagged down.
func (f *fakeCluster) flag(addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.node(addr).Up = false
}

// promote makes the replica of the primary at addr serve its slots.
func (f *fakeCluster) promote(addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.node(addr)
	for i := range f.nodes {
		if r := &f.nodes[i]; r.Role == "replica" && r.PrimaryAddress == addr {
			r.Role, r.Slots, r.PrimaryID, r.PrimaryAddress, r.Link = "primary", p.Slots, "", "", ""
			p.Slots = nil
			return
		}
	}
	panic("no replica of " + addr)
}

// restart brings the node at addr back, as a replica of whoever took its
// slots.
func (f *fakeCluster) restart(addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.node(addr)
	delete(f.dead, addr)
	n.Up = true
	if n.Role == "primary" && len(n.Slots) == 0 {
		n.Role, n.Link = "replica", "up"
		for _, o := range f.nodes {
			if o.Role == "primary" && o.Address != addr && !slices.ContainsFunc(f.nodes, func(r backends.Node) bool {
				return r.Role == "replica" && r.PrimaryAddress == o.Address
			}) {
				n.PrimaryID, n.PrimaryAddress = o.ID, o.Address
			}
		}
	}
}
