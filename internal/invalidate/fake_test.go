package invalidate

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/glob"
)

// fakeCluster is an in-process sharded backend: a key set per node, slots
// owned by nodes. It can move slots between nodes mid-listing (then calls
// Round and lists the moved slots on their new owner), fail a node's next
// delete (its answers lost, half of it done, the node down until Recover),
// bring back deletes a node acknowledged (a replica that never got them),
// and fail a listing. It counts what it really did.
type fakeCluster struct {
	mu     sync.Mutex
	names  []string
	data   []map[string]bool
	owner  [backends.SlotCount]int
	page   int // keys a listing page walks
	single bool

	// Reshards: after the listing's nth page, move slots to a node.
	moves []fakeMove
	// afterRound runs once Round has returned, before the rescan.
	afterRound func()
	// vanish: every nth matching key handed is deleted by "the app" at once.
	vanish    int
	vanishedN int
	handed    []string

	// Faults.
	failDelete     map[int]int // node → fail its nth delete from now (1: the next)
	failKey        string      // fail the delete holding this key (its node's part), once
	serverError    bool        // the failed delete is a reply error, not a lost server
	outage         bool        // the failed delete takes every node down (the client's network)
	down           map[int]bool
	lag            int // acknowledged deletes of a failed node its replica lacks
	recent         map[int][]string
	failScanAt     int // Scan (single node): fail after this many pages, once
	switchAt       int // Scan (single node): switch masters silently after this many pages, once
	switchAtDelete int // switch masters silently at this delete call
	epoch          int // which master serves (Topology)
	recoverErr     error
	recoverWait    chan struct{} // Recover blocks until it is closed or ctx is done
	recovers       int
	lastWait       time.Duration

	// Truth.
	removed       int64 // keys the servers removed for the engine
	lostAnswers   int64 // of those, removed by commands whose answer was lost
	resurrected   int64
	resurrectedBy []int64         // per successful Recover
	backedUp      map[string]bool // set: every key deleted must be in it
	unbacked      int
	deleteCalls   int

	// Parallelism: the first delete waits (up to 5 s) for a second one.
	waitPeer    bool
	overlap     time.Duration
	inFlight    atomic.Int32
	maxInFlight atomic.Int32
	peer        chan struct{}
	peerOnce    sync.Once

	clock *fakeClock
	times []timedDelete
}

type fakeMove struct {
	afterPage int
	slots     []int
	to        int
	done      bool
}

type timedDelete struct {
	at time.Time
	n  int
}

func newFakeCluster(nodes int) *fakeCluster {
	c := &fakeCluster{page: 25, failDelete: map[int]int{}, down: map[int]bool{}, recent: map[int][]string{}, peer: make(chan struct{})}
	for i := range nodes {
		c.names = append(c.names, fmt.Sprintf("10.0.0.%d:6379", i+1))
		c.data = append(c.data, map[string]bool{})
	}
	for s := range c.owner {
		c.owner[s] = s * nodes / backends.SlotCount
	}
	return c
}

func (c *fakeCluster) KeySlot(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % backends.SlotCount)
}

func (c *fakeCluster) ownerOf(key string) int { return c.owner[c.KeySlot(key)] }

func (c *fakeCluster) Set(_ context.Context, key string, _ []byte, _ time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.data[c.ownerOf(key)][key] = true
	return nil
}

// all is every key held, sorted.
func (c *fakeCluster) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, d := range c.data {
		for k := range d {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func (c *fakeCluster) DeleteKeys(ctx context.Context, keys []string) (backends.DeleteResult, error) {
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for {
		m := c.maxInFlight.Load()
		if n <= m || c.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if c.overlap > 0 {
		// Every delete lingers until another is in flight (or a moment
		// passes): deletes of different nodes overlap as on a real network.
		for deadline := time.Now().Add(c.overlap); c.inFlight.Load() < 2 && time.Now().Before(deadline); {
			time.Sleep(50 * time.Microsecond)
		}
	}
	if c.waitPeer {
		if n >= 2 {
			c.peerOnce.Do(func() { close(c.peer) })
		} else {
			select {
			case <-c.peer:
			case <-time.After(5 * time.Second):
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deleteCalls++
	if c.deleteCalls == c.switchAtDelete {
		c.silentSwitch(0)
	}
	if c.clock != nil {
		c.times = append(c.times, timedDelete{at: c.clock.Now(), n: len(keys)})
	}
	var res backends.DeleteResult
	var failed []int
	failing := map[int]bool{}
	for i := range c.names {
		if c.failDelete[i] > 0 && c.touches(keys, i) {
			c.failDelete[i]--
			if c.failDelete[i] == 0 {
				delete(c.failDelete, i)
				failing[i] = true
				failed = append(failed, i)
			}
		}
	}
	if c.failKey != "" && slices.Contains(keys, c.failKey) {
		node := c.ownerOf(c.failKey)
		c.failKey = ""
		failing[node] = true
		failed = append(failed, node)
	}
	half := map[int]int{}
	for _, k := range keys {
		if c.backedUp != nil && !c.backedUp[k] {
			c.unbacked++
		}
		node := c.ownerOf(k)
		switch {
		case failing[node] && c.serverError:
			// Refused: nothing done, the answer is the error.
		case failing[node]:
			// The node dies mid-batch: of its keys, the first third was
			// done and answered, the second done without an answer, the
			// rest never reached it.
			third := len(keys) / 3
			switch i := half[node]; {
			case i < third:
				// Not among the deletes the replica lacks: without
				// PartialDeleter a retry would delete them again within
				// the batch, and no count could tell.
				if c.data[node][k] {
					delete(c.data[node], k)
					c.removed++
					res.Deleted++
				}
			case i < 2*third:
				if c.data[node][k] {
					delete(c.data[node], k)
					c.removed++
					c.lostAnswers++
				}
				res.Unanswered = append(res.Unanswered, k)
			default:
				res.Unanswered = append(res.Unanswered, k)
			}
			half[node]++
		case c.down[node]:
			res.Unanswered = append(res.Unanswered, k)
		case c.data[node][k]:
			delete(c.data[node], k)
			c.removed++
			res.Deleted++
			c.recent[node] = append(c.recent[node], k)
		}
	}
	if len(failed) > 0 && c.serverError {
		return res, &backends.ServerError{Address: c.names[failed[0]], Msg: "OOM command not allowed"}
	}
	for _, i := range failed {
		c.down[i] = true
		if c.outage {
			for j := range c.names {
				c.down[j] = true
			}
		}
	}
	if len(res.Unanswered) > 0 {
		return res, &backends.ConnError{Address: "10.0.0.x", Err: errors.New("connection reset by peer")}
	}
	return res, nil
}

func (c *fakeCluster) touches(keys []string, node int) bool {
	for _, k := range keys {
		if c.ownerOf(k) == node {
			return true
		}
	}
	return false
}

func (c *fakeCluster) Delete(ctx context.Context, keys ...string) (int64, error) {
	res, err := c.DeleteKeys(ctx, keys)
	return res.Deleted, err
}

// Recover "promotes a replica" of every node that is down: it lacks the
// node's last lag acknowledged deletes, which come back.
func (c *fakeCluster) Recover(ctx context.Context, wait time.Duration) (bool, error) {
	if c.recoverWait != nil {
		select {
		case <-c.recoverWait:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	if c.outage {
		// The deployment comes back only once the client's requests in
		// flight have failed too: every deleter sees the same outage.
		for deadline := time.Now().Add(5 * time.Second); c.inFlight.Load() > 0 && time.Now().Before(deadline); {
			time.Sleep(50 * time.Microsecond)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recovers++
	c.lastWait = wait
	if c.recoverErr != nil {
		return false, c.recoverErr
	}
	changed := len(c.down) > 0
	var back int64
	for node := range c.down {
		recent := c.recent[node]
		for _, k := range recent[max(0, len(recent)-c.lag):] {
			if !c.data[node][k] {
				c.data[node][k] = true
				back++
			}
		}
		c.recent[node] = nil
	}
	c.resurrected += back
	c.resurrectedBy = append(c.resurrectedBy, back)
	clear(c.down)
	return changed, nil
}

// pageOf walks the next page of node's keys after cursor (sorted order, as
// a cursor would) and returns those matching pattern in slots the node owns
// and not in skip.
func (c *fakeCluster) pageOf(node int, cursor string, pattern string, skip func(slot int) bool) (page []string, next string, more bool) {
	var keys []string
	for k := range c.data[node] {
		if k > cursor {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if len(keys) > c.page {
		keys, more = keys[:c.page], true
	}
	for _, k := range keys {
		slot := c.KeySlot(k)
		if glob.Match(pattern, k) && c.owner[slot] == node && !skip(slot) {
			page = append(page, k)
		}
	}
	if len(keys) > 0 {
		next = keys[len(keys)-1]
	}
	return page, next, more
}

// hand passes a page to the engine and lets "the app" delete some of it.
func (c *fakeCluster) hand(node int, page []string, fn func(node string, keys []string) error) error {
	if len(page) == 0 {
		return nil
	}
	c.mu.Lock()
	c.handed = append(c.handed, page...)
	c.mu.Unlock()
	if err := fn(c.names[node], slices.Clone(page)); err != nil {
		return err
	}
	if c.vanish > 0 {
		c.mu.Lock()
		for i, k := range page {
			if i%c.vanish == 0 && c.data[node][k] {
				delete(c.data[node], k)
				c.vanishedN++
			}
		}
		c.mu.Unlock()
	}
	return nil
}

func (c *fakeCluster) ScanShards(ctx context.Context, pattern string, h backends.ShardHandler) error {
	c.mu.Lock()
	n := len(c.names)
	c.mu.Unlock()
	cursors := make([]string, n)
	done := make([]bool, n)
	moved := map[int]bool{}
	skip := func(slot int) bool { return moved[slot] }
	pages := 0
	for left := n; left > 0; {
		for node := range n {
			if done[node] {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			c.mu.Lock()
			page, next, more := c.pageOf(node, cursors[node], pattern, skip)
			c.mu.Unlock()
			cursors[node] = next
			if !more {
				done[node] = true
				left--
			}
			if err := c.hand(node, page, h.Page); err != nil {
				return err
			}
			pages++
			if err := c.reshard(ctx, pages, pattern, moved, h); err != nil {
				return err
			}
		}
	}
	return nil
}

// reshard moves the slots due after the listing's pages-th page, calls
// Round and lists them where they landed.
func (c *fakeCluster) reshard(ctx context.Context, pages int, pattern string, moved map[int]bool, h backends.ShardHandler) error {
	for i, mv := range c.moves {
		if mv.afterPage != pages || mv.done {
			continue
		}
		c.moves[i].done = true // a reshard happens once, not in every listing
		c.mu.Lock()
		for _, s := range mv.slots {
			from := c.owner[s]
			for k := range c.data[from] {
				if c.KeySlot(k) == s {
					delete(c.data[from], k)
					c.data[mv.to][k] = true
				}
			}
			c.owner[s] = mv.to
			moved[s] = true
		}
		c.mu.Unlock()
		if err := h.Round(mv.slots); err != nil {
			return err
		}
		if c.afterRound != nil {
			c.afterRound()
		}
		inMove := func(slot int) bool { return !slices.Contains(mv.slots, slot) }
		for cursor, more := "", true; more; {
			if err := ctx.Err(); err != nil {
				return err
			}
			var page []string
			c.mu.Lock()
			page, cursor, more = c.pageOf(mv.to, cursor, pattern, inMove)
			c.mu.Unlock()
			if err := c.hand(mv.to, page, h.Page); err != nil {
				return err
			}
		}
	}
	return nil
}

// Scan lists every node one after the other (a single server's view);
// failScanAt cuts it once, the node down until Recover.
func (c *fakeCluster) Scan(ctx context.Context, pattern string, fn func([]string) error) error {
	pages := 0
	for node := range c.names {
		for cursor, more := "", true; more; {
			if err := ctx.Err(); err != nil {
				return err
			}
			c.mu.Lock()
			if c.down[node] {
				c.mu.Unlock()
				return &backends.ConnError{Address: c.names[node], Err: errors.New("connection refused")}
			}
			if c.switchAt > 0 && pages == c.switchAt {
				c.switchAt = 0
				c.silentSwitch(node)
			}
			if c.failScanAt > 0 && pages == c.failScanAt {
				c.failScanAt = 0
				c.down[node] = true
				c.mu.Unlock()
				return &backends.ConnError{Address: c.names[node], Err: errors.New("EOF")}
			}
			var page []string
			page, cursor, more = c.pageOf(node, cursor, pattern, func(int) bool { return false })
			c.mu.Unlock()
			pages++
			if len(page) > 0 {
				if err := fn(page); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// silentSwitch is a new master for node, followed without an error: a
// cursor goes on, and the last deletes the old one acknowledged are not on
// the new one. mu held.
func (c *fakeCluster) silentSwitch(node int) {
	c.epoch++
	recent := c.recent[node]
	for _, k := range recent[max(0, len(recent)-c.lag):] {
		if !c.data[node][k] {
			c.data[node][k] = true
			c.resurrected++
		}
	}
	c.recent[node] = nil
}

// Topology names one primary and one replica per node; each silent switch
// promotes the replica.
func (c *fakeCluster) Topology(context.Context) (*backends.Topology, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &backends.Topology{Kind: "sentinel"}
	// Each primary's slot ranges: a reshard changes them, not who serves.
	slots := make([][][2]int, len(c.names))
	for s, node := range c.owner {
		r := slots[node]
		if n := len(r); n > 0 && r[n-1][1] == s-1 {
			r[n-1][1] = s
		} else {
			slots[node] = append(r, [2]int{s, s})
		}
	}
	for i, name := range c.names {
		// The replica is the next epoch's primary: a switch promotes it.
		t.Nodes = append(t.Nodes, backends.Node{Address: fmt.Sprintf("%s#%d", name, c.epoch), Role: "primary", Up: true, Slots: slots[i]},
			backends.Node{Address: fmt.Sprintf("%s#%d", name, c.epoch+1), Role: "replica", Up: true})
	}
	return t, nil
}

func (c *fakeCluster) Get(context.Context, string) (*backends.Entry, error) {
	return nil, &backends.UnsupportedError{What: "get"}
}
func (c *fakeCluster) Inspect(context.Context, []string) ([]backends.KeyInfo, error) {
	return nil, &backends.UnsupportedError{What: "inspect"}
}
func (c *fakeCluster) TTL(context.Context, string) (backends.TTL, error) {
	return backends.TTL{}, &backends.UnsupportedError{What: "ttl"}
}
func (c *fakeCluster) Expire(context.Context, string, time.Duration) error {
	return &backends.UnsupportedError{What: "expire"}
}
func (c *fakeCluster) Stats(context.Context) (*backends.Stats, error) {
	return nil, &backends.UnsupportedError{What: "stats"}
}
func (c *fakeCluster) Describe() backends.Info { return backends.Info{Kind: "redis", Address: "fake"} }
func (c *fakeCluster) Close() error            { return nil }

// The fake with only some of its capabilities.
type (
	// shardedPlain: sharded and recovering, but deletes cannot say which
	// keys got no answer.
	shardedPlain struct {
		backends.Backend
		backends.ShardedScanner
		backends.Recoverer
	}
	// shardedOnly: sharded, no ride-through.
	shardedOnly struct {
		backends.Backend
		backends.ShardedScanner
	}
	// singleRecoverer: one server (Scan), rides through failovers.
	singleRecoverer struct {
		backends.Backend
		backends.Recoverer
	}
	// singleSentinel: as singleRecoverer, and it names its master.
	singleSentinel struct {
		backends.Backend
		backends.Recoverer
		backends.TopologyReporter
	}
	// singlePartial: as singleRecoverer, with partial deletes.
	singlePartial struct {
		backends.Backend
		backends.Recoverer
		backends.PartialDeleter
	}
)

// fakeClock is a clock tests move: Sleep jumps it forward to the sleeper's
// wake time, so a paced run takes no real time.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if wake := f.t.Add(d); wake.After(f.t) {
		f.t = wake
	}
	return ctx.Err()
}
