package backends

import (
	"context"
	"time"
)

// SlotCount is the number of hash slots of a Redis Cluster.
const SlotCount = 16384

// Topology is the shape of a deployment of several nodes (Redis Cluster,
// Sentinel) as its nodes last reported it.
type Topology struct {
	// Kind is "cluster" or "sentinel".
	Kind string
	// Nodes are the primaries first (in slot order for a cluster), each
	// followed by its replicas.
	Nodes []Node
	// SlotsCovered counts the slots a reachable primary serves (cluster).
	SlotsCovered int
	// Failover is set while a primary is down or being replaced: a slot
	// without a live owner, or sentinels switching masters.
	Failover bool
	// Master is the Sentinel master's name.
	Master string
}

// Node is one server of a Topology.
type Node struct {
	ID      string // the cluster's node ID; "" for sentinel data nodes
	Address string // host:port
	Role    string // "primary" or "replica"
	// PrimaryID is the node a replica copies ("" for a primary); PrimaryAddress its address.
	PrimaryID      string
	PrimaryAddress string
	// Slots are the inclusive slot ranges a primary serves.
	Slots [][2]int
	// Up: the node answers (a cluster's view: not flagged fail or pfail).
	Up bool
	// Link is a replica's replication link as its peers see it ("up",
	// "down"), "" for a primary.
	Link string
	// Migrating: slots leaving or arriving at this primary right now.
	Migrating []int
}

// Primaries counts the nodes with the primary role, and those up.
func (t *Topology) Primaries() (all, up int) { return t.count("primary") }

// Replicas counts the nodes with the replica role, and those up.
func (t *Topology) Replicas() (all, up int) { return t.count("replica") }

func (t *Topology) count(role string) (all, up int) {
	for _, n := range t.Nodes {
		if n.Role == role {
			all++
			if n.Up {
				up++
			}
		}
	}
	return all, up
}

// TopologyReporter is a backend of several nodes that can describe them
// (the dashboard's header, `stats`).
type TopologyReporter interface {
	Topology(ctx context.Context) (*Topology, error)
}

// ShardedScanner is a backend whose keys live on several primaries (Redis
// Cluster). It lists them on every primary at once and names the node of
// each page. Slots that moved while they were listed (a reshard, a
// failover) are listed again where they landed, in a later round; before
// each such round it calls Round with the slots the round covers, and only
// once Round has returned does it hand over the round's pages. A caller that
// deletes what it is handed finishes every delete first (so the round sees
// what is left), a caller that counts forgets what those slots gave before.
type ShardedScanner interface {
	ScanShards(ctx context.Context, pattern string, h ShardHandler) error
	// KeySlot is the hash slot of key.
	KeySlot(key string) int
}

// ShardHandler receives a sharded listing. Page and Round are never called
// concurrently.
type ShardHandler struct {
	Page func(node string, keys []string) error
	// Round, when set, is called before the slots are listed again.
	Round func(slots []int) error
}

// Recoverer is a backend that can ride through a failover: after an
// operation failed for want of a server, Recover waits (up to wait) until
// the deployment answers again with a primary for every key, and says
// whether the primaries changed meanwhile.
type Recoverer interface {
	Recover(ctx context.Context, wait time.Duration) (changed bool, err error)
}

// DeleteResult is what a delete did when it could not finish: Deleted keys
// the server confirmed, Unanswered the keys whose command got no answer (they
// may or may not have been deleted).
type DeleteResult struct {
	Deleted    int64
	Unanswered []string
}

// PartialDeleter is a backend whose deletes can say which keys got no
// answer when a batch fails partway (a node of a cluster died), so a caller
// riding through a failover sends only those again.
type PartialDeleter interface {
	DeleteKeys(ctx context.Context, keys []string) (DeleteResult, error)
}
