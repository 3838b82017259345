package redis

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/cachectl/cachectl/internal/backends"
)

// clusterNode is one line of CLUSTER NODES.
type clusterNode struct {
	id, addr string
	primary  bool
	myself   bool   // the node that answered
	masterID string // the primary a replica copies
	failing  bool   // flagged fail or pfail
	noAddr   bool
	linkUp   bool
	slots    [][2]int
	// migrating are slots this node sends to or takes from another right now.
	migrating []int
}

// clusterTopo is a snapshot of a cluster: who owns each slot.
type clusterTopo struct {
	nodes []clusterNode // primaries first, by lowest slot; then replicas
	owner [backends.SlotCount]int32
	// moving marks slots some node reports migrating or importing.
	moving map[int]bool
}

const noOwner = -1

// maxNodes bounds the nodes a CLUSTER NODES reply may list (Redis Cluster
// is meant for up to about 1000); a longer one is not believed.
const maxNodes = 10000

// parseClusterNodes reads CLUSTER NODES:
//
//	<id> <ip:port@cport[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slot>...
//
// Slots are "n", "a-b", "[n->-id]" (migrating) or "[n-<-id]" (importing). A
// reply that cannot be read is an error, never a guess.
// A node without a host (":7000", as a node that never met a peer shows
// itself) is at answeredHost, the host of the node that sent the reply.
func parseClusterNodes(text, answeredHost string) (*clusterTopo, error) {
	t := &clusterTopo{moving: map[int]bool{}}
	for i := range t.owner {
		t.owner[i] = noOwner
	}
	var primaries, replicas []clusterNode
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 8 {
			return nil, fmt.Errorf("CLUSTER NODES line with %d fields", len(f))
		}
		n := clusterNode{id: f[0], linkUp: f[7] == "connected"}
		addr, _, _ := strings.Cut(f[1], ",")
		addr, _, _ = strings.Cut(addr, "@")
		if host, port, err := net.SplitHostPort(addr); err != nil || port == "0" || host == "" && answeredHost == "" {
			n.noAddr = true
		} else {
			if host == "" {
				host = answeredHost
			}
			n.addr = net.JoinHostPort(host, port)
		}
		for _, flag := range strings.Split(f[2], ",") {
			switch flag {
			case "master":
				n.primary = true
			case "myself":
				n.myself = true
			case "fail", "fail?":
				n.failing = true
			case "noaddr", "handshake":
				n.noAddr = true
			}
		}
		if f[3] != "-" {
			n.masterID = f[3]
		}
		for _, s := range f[8:] {
			if strings.HasPrefix(s, "[") {
				num, _, _ := strings.Cut(strings.TrimPrefix(s, "["), "-")
				slot, err := strconv.Atoi(num)
				if err != nil || slot < 0 || slot >= backends.SlotCount {
					return nil, fmt.Errorf("CLUSTER NODES: bad migrating slot %q", s)
				}
				n.migrating = append(n.migrating, slot)
				t.moving[slot] = true
				continue
			}
			lo, hi, isRange := strings.Cut(s, "-")
			a, err1 := strconv.Atoi(lo)
			b := a
			var err2 error
			if isRange {
				b, err2 = strconv.Atoi(hi)
			}
			if err1 != nil || err2 != nil || a < 0 || b < a || b >= backends.SlotCount {
				return nil, fmt.Errorf("CLUSTER NODES: bad slot range %q", s)
			}
			n.slots = append(n.slots, [2]int{a, b})
		}
		if !n.primary && (len(n.slots) > 0 || len(n.migrating) > 0) {
			return nil, fmt.Errorf("CLUSTER NODES: replica %s serves slots", n.id)
		}
		if n.primary {
			primaries = append(primaries, n)
		} else {
			replicas = append(replicas, n)
		}
		if len(primaries)+len(replicas) > maxNodes {
			return nil, fmt.Errorf("CLUSTER NODES lists more than %d nodes", maxNodes)
		}
	}
	if len(primaries) == 0 {
		return nil, fmt.Errorf("CLUSTER NODES lists no primary")
	}
	slices.SortStableFunc(primaries, func(a, b clusterNode) int { return firstSlot(a) - firstSlot(b) })
	slices.SortStableFunc(replicas, func(a, b clusterNode) int { return strings.Compare(a.addr, b.addr) })
	t.nodes = append(primaries, replicas...)
	for i, n := range t.nodes {
		for _, r := range n.slots {
			for s := r[0]; s <= r[1]; s++ {
				if t.owner[s] != noOwner {
					return nil, fmt.Errorf("CLUSTER NODES: slot %d has two owners", s)
				}
				t.owner[s] = int32(i)
			}
		}
	}
	return t, nil
}

func firstSlot(n clusterNode) int {
	if len(n.slots) == 0 {
		return backends.SlotCount
	}
	return n.slots[0][0]
}

// ownerOf is the primary serving slot, or nil.
func (t *clusterTopo) ownerOf(slot int) *clusterNode {
	if i := t.owner[slot]; i != noOwner {
		return &t.nodes[i]
	}
	return nil
}

// ownerID is the node ID serving slot, "" when none does.
func (t *clusterTopo) ownerID(slot int) string {
	if n := t.ownerOf(slot); n != nil {
		return n.id
	}
	return ""
}

// healthy reports that every slot has an owner that is not failing and
// that nothing is flagged as moving: a listing can rely on the slot map.
func (t *clusterTopo) healthy() bool {
	for s := range t.owner {
		n := t.ownerOf(s)
		if n == nil || n.failing || n.noAddr {
			return false
		}
	}
	return true
}

// replicaOf picks an up replica of the primary with id, or nil.
func (t *clusterTopo) replicaOf(id string) *clusterNode {
	for i := range t.nodes {
		n := &t.nodes[i]
		if !n.primary && n.masterID == id && !n.failing && !n.noAddr && n.linkUp {
			return n
		}
	}
	return nil
}

// public is the topology as the backends package shows it.
func (t *clusterTopo) public() *backends.Topology {
	out := &backends.Topology{Kind: "cluster"}
	addrOf := map[string]string{}
	for _, n := range t.nodes {
		addrOf[n.id] = n.addr
	}
	for _, n := range t.nodes {
		pn := backends.Node{ID: n.id, Address: n.addr, Role: "primary", Up: !n.failing && !n.noAddr,
			Slots: n.slots, Migrating: n.migrating}
		if !n.primary {
			pn.Role, pn.PrimaryID, pn.PrimaryAddress = "replica", n.masterID, addrOf[n.masterID]
			pn.Link = "down"
			if n.linkUp && !n.failing {
				pn.Link = "up"
			}
		}
		out.Nodes = append(out.Nodes, pn)
	}
	for s := range t.owner {
		if n := t.ownerOf(s); n != nil && !n.failing && !n.noAddr {
			out.SlotsCovered++
		}
	}
	out.Failover = out.SlotsCovered < backends.SlotCount
	return out
}
