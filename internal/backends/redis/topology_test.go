package redis

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/backends"
)

// A reply as Redis 7.0 writes it, the answering node migrating slot 5460
// to b and a replica of each primary.
const clusterNodesReply = `a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460 [5460->-b2]
b2 127.0.0.1:7002@17002,node-b.internal master - 0 1700000000000 2 connected 5461-10922
c3 127.0.0.1:7003@17003 master - 0 1700000000000 3 connected 10923-16383
d4 127.0.0.1:7004@17004 slave a1 0 1700000000000 1 connected
e5 127.0.0.1:7005@17005 slave,fail b2 0 1700000000000 2 disconnected
`

func TestParseClusterNodes(t *testing.T) {
	top, err := parseClusterNodes(clusterNodesReply, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if len(top.nodes) != 5 || !top.nodes[0].myself || top.nodes[1].addr != "127.0.0.1:7002" {
		t.Fatalf("nodes %+v", top.nodes)
	}
	for slot, want := range map[int]string{0: "a1", 5460: "a1", 5461: "b2", 16383: "c3"} {
		if got := top.ownerID(slot); got != want {
			t.Errorf("slot %d owned by %q, want %q", slot, got, want)
		}
	}
	if !top.moving[5460] || len(top.moving) != 1 || len(top.nodes[0].migrating) != 1 {
		t.Errorf("moving %v, migrating %v", top.moving, top.nodes[0].migrating)
	}
	if !top.healthy() {
		t.Error("every slot has a live owner: healthy")
	}
	pub := top.public()
	if all, up := pub.Replicas(); all != 2 || up != 1 || pub.SlotsCovered != backends.SlotCount || pub.Failover {
		t.Errorf("public %+v", pub)
	}
	if r := top.replicaOf("b2"); r != nil {
		t.Errorf("b2's only replica is failing, got %+v", r)
	}
}

func TestParseClusterNodesEmptyHostIsTheAnsweringNode(t *testing.T) {
	// A node that never met a peer shows itself without a host; it must not
	// be dialled on the local machine.
	top, err := parseClusterNodes("a1 :7000@17000 myself,master - 0 0 0 connected 0-16383\n", "10.1.2.3")
	if err != nil || top.nodes[0].addr != "10.1.2.3:7000" {
		t.Fatalf("%+v %v", top, err)
	}
	top, err = parseClusterNodes("a1 :7000@17000 myself,master - 0 0 0 connected 0-16383\n", "")
	if err != nil || !top.nodes[0].noAddr {
		t.Fatalf("without an answering host the node has no address: %+v %v", top, err)
	}
}

func TestParseClusterNodesRefusesLies(t *testing.T) {
	many := strings.Builder{}
	for i := range maxNodes + 1 {
		fmt.Fprintf(&many, "n%d 127.0.0.1:%d@1 master - 0 0 1 connected\n", i, 1000+i%60000)
	}
	for name, reply := range map[string]string{
		"two owners":     "a 127.0.0.1:1@2 master - 0 0 1 connected 0-10\nb 127.0.0.1:2@3 master - 0 0 1 connected 10-20\n",
		"reversed range": "a 127.0.0.1:1@2 master - 0 0 1 connected 9-3\n",
		"slot too big":   "a 127.0.0.1:1@2 master - 0 0 1 connected 0-16384\n",
		"replica slots":  "a 127.0.0.1:1@2 master - 0 0 1 connected 0-10\nb 127.0.0.1:2@3 slave a 0 0 1 connected 11-20\n",
		"short line":     "a 127.0.0.1:1@2 master -\n",
		"no primary":     "b 127.0.0.1:2@3 slave a 0 0 1 connected\n",
		"bad migrating":  "a 127.0.0.1:1@2 master - 0 0 1 connected [x->-b]\n",
		"too many nodes": many.String(),
	} {
		if _, err := parseClusterNodes(reply, "127.0.0.1"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzParseClusterNodes: whatever a node answers, parsing never panics and
// every slot's owner is a primary of the reply.
func FuzzParseClusterNodes(f *testing.F) {
	f.Add(clusterNodesReply)
	f.Add("a :7000@17000 myself,master - 0 0 0 connected 0-16383 [1-<-b]\n")
	f.Fuzz(func(t *testing.T, reply string) {
		top, err := parseClusterNodes(reply, "127.0.0.1")
		if err != nil {
			return
		}
		for s := range backends.SlotCount {
			if n := top.ownerOf(s); n != nil && !n.primary {
				t.Fatalf("slot %d owned by replica %+v", s, n)
			}
		}
		_ = top.public()
		_ = top.healthy()
	})
}
