package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
)

var (
	_ backends.ShardedScanner   = (*Cluster)(nil)
	_ backends.TopologyReporter = (*Cluster)(nil)
	_ backends.Recoverer        = (*Cluster)(nil)
	_ backends.PartialDeleter   = (*Cluster)(nil)
)

// Cluster is a Redis Cluster. Keyed commands (get, set, ttl, inspect) go
// through go-redis' cluster client, which routes them by slot and follows
// MOVED and ASK. Work that must follow the slot map exactly — listing every
// primary, deleting with exact counts — uses a client per node of its own,
// steered by a CLUSTER NODES snapshot: go-redis' cached routing table cannot
// say which node ID owned a slot when a listing started, and its pipeline
// would send a delete again after a lost reply, under-counting it.
type Cluster struct {
	*Backend
	nodes *nodePool

	mu   sync.Mutex
	topo *clusterTopo // last snapshot; nil before the first
	// staleTopo: a node stopped answering; read the slot map again.
	staleTopo bool
}

// maxRounds bounds how often a listing lists moved slots again while the
// cluster keeps resharding under it.
const maxRounds = 50

func newCluster(b *Backend, uo *goredis.UniversalOptions) *Cluster {
	return &Cluster{Backend: b, nodes: newNodePool(uo)}
}

func (c *Cluster) node(addr string) *goredis.Client { return c.nodes.get(addr) }

// Close releases every connection.
func (c *Cluster) Close() error {
	err := c.Backend.Close()
	if e := c.nodes.close(); err == nil {
		err = e
	}
	return err
}

// Describe says what the cluster is without network I/O.
func (c *Cluster) Describe() backends.Info {
	info := c.Backend.Describe()
	info.Capabilities = append(info.Capabilities, "cluster")
	return info
}

// refresh reads CLUSTER NODES from the first node that answers: the nodes
// of the last snapshot (primaries first), then the URL's seeds.
func (c *Cluster) refresh(ctx context.Context) (*clusterTopo, error) {
	var addrs []string
	c.mu.Lock()
	if c.topo != nil {
		for _, n := range c.topo.nodes {
			if !n.noAddr && !n.failing {
				addrs = append(addrs, n.addr)
			}
		}
	}
	c.mu.Unlock()
	for _, a := range c.target.Addrs {
		if !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	// Hedged: the next node is asked when the one before failed or has not
	// answered within hedgeAfter, so one hung node (kill -STOP, a dead
	// host) costs a moment rather than the whole timeout.
	type answer struct {
		i   int
		t   *clusterTopo
		err error
	}
	askCtx, cancelAll := context.WithCancel(ctx)
	defer cancelAll()
	answers := make(chan answer, len(addrs))
	ask := func(i int) {
		a := addrs[i]
		opCtx, cancel := c.op(askCtx)
		defer cancel()
		text, err := c.node(a).ClusterNodes(opCtx).Result()
		if err != nil {
			answers <- answer{i: i, err: err}
			return
		}
		host, _, _ := net.SplitHostPort(a)
		t, err := parseClusterNodes(text, host)
		if err != nil {
			err = &backends.ServerError{Address: a, Msg: err.Error()}
		}
		answers <- answer{i: i, t: t, err: err}
	}
	errs := make([]error, len(addrs))
	next, pending := 0, 0
	hedge := time.NewTimer(0)
	defer hedge.Stop()
	for next < len(addrs) || pending > 0 {
		if pending == 0 && next < len(addrs) {
			go ask(next)
			next, pending = next+1, pending+1
			hedge.Reset(hedgeAfter)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-hedge.C:
			if next < len(addrs) {
				go ask(next)
				next, pending = next+1, pending+1
				hedge.Reset(hedgeAfter)
			}
		case an := <-answers:
			pending--
			if an.err == nil {
				c.mu.Lock()
				c.topo, c.staleTopo = an.t, false
				c.mu.Unlock()
				return an.t, nil
			}
			if isReplyError(an.err) && strings.Contains(an.err.Error(), "cluster support disabled") {
				return nil, &backends.ServerError{Address: addrs[an.i], Msg: "not a cluster node (cluster support disabled); use redis:// for a standalone server"}
			}
			errs[an.i] = c.wrapAt(addrs[an.i], an.err)
		}
	}
	var firstErr error
	for _, e := range errs {
		if e != nil {
			firstErr = e
			break
		}
	}
	var pe *backends.PermissionError
	if len(addrs) > 1 && !errors.As(firstErr, &pe) {
		// A refusal is an answer: it is the error, alone.
		return nil, fmt.Errorf("no node of the cluster answered (%d tried; the first: %w)", len(addrs), firstErr)
	}
	return nil, firstErr
}

// hedgeAfter is how long refresh waits for one node before asking the next too.
const hedgeAfter = 250 * time.Millisecond

// snapshot is the last topology, read once if there is none yet.
func (c *Cluster) snapshot(ctx context.Context) (*clusterTopo, error) {
	c.mu.Lock()
	t, stale := c.topo, c.staleTopo
	c.mu.Unlock()
	if t != nil && !stale {
		return t, nil
	}
	return c.refresh(ctx)
}

// wrapAt maps an error of the node at addr, naming that node.
func (b *Backend) wrapAt(addr string, err error) error {
	var pe *backends.PermissionError
	var se *backends.ServerError
	var ce *backends.ConnError
	switch e := b.wrap(err); {
	case errors.As(e, &pe):
		named := *pe
		named.Address = addr
		return &named
	case errors.As(e, &se):
		return &backends.ServerError{Address: addr, Msg: se.Msg}
	case errors.As(e, &ce):
		return &backends.ConnError{Address: addr, Err: ce.Err}
	default:
		return e
	}
}

// Topology describes the cluster's nodes as they report themselves.
func (c *Cluster) Topology(ctx context.Context) (*backends.Topology, error) {
	t, err := c.refresh(ctx)
	if err != nil {
		return nil, err
	}
	return t.public(), nil
}

// KeySlot is the hash slot of key.
func (c *Cluster) KeySlot(key string) int { return keySlot(key) }

// nodeOf is the address of the primary serving key's slot, "" when unknown.
func (c *Cluster) nodeOf(ctx context.Context, key string) string {
	t, err := c.snapshot(ctx)
	if err != nil {
		return ""
	}
	if n := t.ownerOf(keySlot(key)); n != nil {
		return n.addr
	}
	return ""
}

// Get reads one key from the primary of its slot and names that node.
func (c *Cluster) Get(ctx context.Context, key string) (*backends.Entry, error) {
	e, err := c.Backend.Get(ctx, key)
	if err != nil {
		return nil, c.keyedErr(ctx, key, err)
	}
	e.Server = c.nodeOf(ctx, key)
	return e, nil
}

// Set writes one key on the primary of its slot.
func (c *Cluster) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return c.keyedErr(ctx, key, c.Backend.Set(ctx, key, value, ttl))
}

// TTL reads one key's lifetime from the primary of its slot.
func (c *Cluster) TTL(ctx context.Context, key string) (backends.TTL, error) {
	ttl, err := c.Backend.TTL(ctx, key)
	return ttl, c.keyedErr(ctx, key, err)
}

// Expire changes one key's lifetime on the primary of its slot.
func (c *Cluster) Expire(ctx context.Context, key string, ttl time.Duration) error {
	return c.keyedErr(ctx, key, c.Backend.Expire(ctx, key, ttl))
}

// keyedErr is err of a command on key. A connection error names the node
// serving key, and has the slot map read again before the next command: a
// replica promoted since takes over the key's reads and writes without a
// restart (go-redis would keep asking the dead node until told).
func (c *Cluster) keyedErr(ctx context.Context, key string, err error) error {
	var ce *backends.ConnError
	if !errors.As(err, &ce) {
		return err
	}
	c.stale()
	if n := c.nodeOf(ctx, key); n != "" {
		return &backends.ConnError{Address: n, Err: ce.Err}
	}
	return err
}

// stale makes the next command read the slot map again, both go-redis'
// and this backend's.
func (c *Cluster) stale() {
	c.client.(*goredis.ClusterClient).ReloadState(context.Background())
	c.mu.Lock()
	c.staleTopo = true
	c.mu.Unlock()
}

// Inspect reads the listing metadata of keys and names each one's node.
func (c *Cluster) Inspect(ctx context.Context, keys []string) ([]backends.KeyInfo, error) {
	infos, err := c.Backend.Inspect(ctx, keys)
	if err != nil {
		var ce *backends.ConnError
		if errors.As(err, &ce) {
			c.stale()
		}
		return nil, err
	}
	t, terr := c.snapshot(ctx)
	for i := range infos {
		if terr == nil {
			if n := t.ownerOf(keySlot(infos[i].Key)); n != nil {
				infos[i].Server = n.addr
			}
		}
	}
	return infos, nil
}

// Scan lists the keys of every primary (see ScanShards). A key of a slot
// that moved while it was listed may be listed twice, as SCAN itself may
// repeat a key; no key present throughout is missed.
func (c *Cluster) Scan(ctx context.Context, pattern string, fn func(keys []string) error) error {
	return c.ScanShards(ctx, pattern, backends.ShardHandler{Page: func(_ string, keys []string) error { return fn(keys) }})
}

// slotSet is a set of slots.
type slotSet [backends.SlotCount / 64]uint64

func (s *slotSet) add(slot int)      { s[slot/64] |= 1 << (slot % 64) }
func (s *slotSet) has(slot int) bool { return s[slot/64]&(1<<(slot%64)) != 0 }
func (s *slotSet) empty() bool       { return *s == slotSet{} }
func (s *slotSet) each(fn func(slot int)) {
	for w, bits := range s {
		for b := 0; bits != 0; b++ {
			if bits&1 != 0 {
				fn(w*64 + b)
			}
			bits >>= 1
		}
	}
}

func (s *slotSet) list() []int {
	var out []int
	s.each(func(slot int) { out = append(out, slot) })
	return out
}

// ScanShards lists pattern on every primary at once (only the owner of its
// slot when the pattern pins one), keeping from each node only the keys of
// the slots it owned when the round began, so that a key being migrated is
// not listed by both ends. When the round is over it reads the slot map
// again: slots whose owner changed, that were migrating, or whose node
// failed (after the cluster recovered) are listed again, in a new round,
// on their owner then; until a round ends with the slot map as it began.
func (c *Cluster) ScanShards(ctx context.Context, pattern string, h backends.ShardHandler) error {
	t, err := c.refreshAll(ctx)
	if err != nil {
		return err
	}
	var want slotSet
	if slot, ok := patternSlot(pattern); ok {
		want.add(slot)
	} else {
		for s := range backends.SlotCount {
			want.add(s)
		}
	}
	var pageMu sync.Mutex
	page := func(node string, keys []string) error {
		pageMu.Lock()
		defer pageMu.Unlock()
		return h.Page(node, keys)
	}
	for round := 0; ; {
		if !t.healthy() {
			if t, err = c.settle(ctx, c.recoverWait()); err != nil {
				return err
			}
		}
		before := c.movingCounts(ctx, t, &want)
		failed, failErr, err := c.scanRound(ctx, t, pattern, &want, page)
		if err != nil {
			return err
		}
		after, err := c.refreshAll(ctx)
		if err != nil {
			return err
		}
		// A slot left migrating (a reshard stopped halfway) was listed on
		// both ends: exact, if no key of it moved meanwhile.
		still := c.movingCounts(ctx, after, &want)
		var again slotSet
		want.each(func(s int) {
			stuck := t.moving[s] && after.moving[s] && before[s] != "" && before[s] == still[s]
			if failed.has(s) || (t.moving[s] || after.moving[s]) && !stuck || t.ownerID(s) != after.ownerID(s) {
				again.add(s)
			}
		})
		if again.empty() {
			return nil
		}
		if !failed.empty() {
			// A node stopped answering: wait (not counted as a round) until
			// it answers again or a replica took its slots over.
			if t, err = c.awaitFailed(ctx, &failed, failErr); err != nil {
				return err
			}
		} else {
			if round++; round >= maxRounds {
				return fmt.Errorf("the cluster kept moving slots: %d slot(s) changed owner in each of %d listings; list again when the reshard is over", len(again.list()), maxRounds)
			}
			if t, err = c.settle(ctx, c.recoverWait()); err != nil {
				return err
			}
		}
		if h.Round != nil {
			if err := h.Round(again.list()); err != nil {
				return err
			}
		}
		want = again
	}
}

// awaitFailed waits, up to recoverWait, until every slot in failed is
// served by a live primary that answers (the node came back, or a replica
// was promoted; the cluster may take its node timeout to notice), and
// returns that slot map. Past the wait it gives the node's own error.
func (c *Cluster) awaitFailed(ctx context.Context, failed *slotSet, failErr error) (*clusterTopo, error) {
	wait := c.recoverWait()
	deadline := time.Now().Add(wait)
	warned := false
	for {
		t, err := c.refreshAll(ctx)
		if err == nil && t.healthy() && len(t.moving) == 0 && c.ownersAnswer(ctx, t, failed) {
			return t, nil
		}
		if time.Now().After(deadline) {
			if failErr == nil {
				failErr = err
			}
			return nil, fmt.Errorf("%w (and no replica took its slots over within %v)", failErr, wait)
		}
		if !warned && c.opts.Warn != nil {
			warned = true
			c.opts.Warn(fmt.Sprintf("waiting up to %v for the cluster to replace a node that stopped answering: %v", wait, failErr))
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// ownersAnswer checks that the owner of each slot in slots answers PING.
func (c *Cluster) ownersAnswer(ctx context.Context, t *clusterTopo, slots *slotSet) bool {
	asked := map[string]bool{}
	ok := true
	slots.each(func(s int) {
		n := t.ownerOf(s)
		if !ok || n == nil || asked[n.addr] {
			ok = ok && n != nil
			return
		}
		asked[n.addr] = true
		opCtx, cancel := c.op(ctx)
		ok = c.node(n.addr).Ping(opCtx).Err() == nil
		cancel()
	})
	return ok
}

// movingCounts fingerprints the slots of want that t shows migrating: the
// number of keys each end holds (CLUSTER COUNTKEYSINSLOT); "" for a slot
// whose ends did not all answer. Equal fingerprints before and after a
// listing mean no key of the slot moved while it was listed.
func (c *Cluster) movingCounts(ctx context.Context, t *clusterTopo, want *slotSet) map[int]string {
	out := map[int]string{}
	for slot := range t.moving {
		if !want.has(slot) {
			continue
		}
		var b strings.Builder
		for i := range t.nodes {
			n := &t.nodes[i]
			if !slices.Contains(n.migrating, slot) && t.ownerID(slot) != n.id {
				continue
			}
			opCtx, cancel := c.op(ctx)
			k, err := c.node(n.addr).ClusterCountKeysInSlot(opCtx, slot).Result()
			cancel()
			if err != nil {
				b.Reset()
				break
			}
			fmt.Fprintf(&b, "%s=%d;", n.id, k)
		}
		out[slot] = b.String()
	}
	return out
}

// refreshAll is refresh with every primary's own view of the slots it is
// migrating or importing: CLUSTER NODES shows them only on the line of the
// node that answers ("myself"), so one node's reply misses the others'.
func (c *Cluster) refreshAll(ctx context.Context) (*clusterTopo, error) {
	t, err := c.refresh(ctx)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range t.nodes {
		n := &t.nodes[i]
		if !n.primary || n.noAddr || n.myself || n.failing {
			// A failed primary (one whose replica took over, or hung) has
			// nothing to say about migrations, and may take the whole
			// timeout not to say it.
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A side question: a node slow to answer it only leaves its
			// migrations unknown; its own scan reports it properly.
			opCtx, cancel := context.WithTimeout(ctx, min(c.opts.Timeout, time.Second))
			text, err := c.node(n.addr).ClusterNodes(opCtx).Result()
			cancel()
			if err != nil {
				return // it does not answer: its scan fails and is retried
			}
			host, _, _ := net.SplitHostPort(n.addr)
			own, err := parseClusterNodes(text, host)
			if err != nil {
				return
			}
			for _, o := range own.nodes {
				if o.myself && o.id == n.id {
					mu.Lock()
					n.migrating = o.migrating
					for _, slot := range o.migrating {
						t.moving[slot] = true
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return t, nil
}

// recoverWait is how long a listing waits for a failover or a migrating
// slot to settle before it gives up.
func (c *Cluster) recoverWait() time.Duration { return 6 * c.opts.Timeout }

// settle waits until every slot has a live owner and none is migrating, up
// to wait, and returns that slot map.
func (c *Cluster) settle(ctx context.Context, wait time.Duration) (*clusterTopo, error) {
	start := time.Now()
	// A migrating slot is waited for a moment only: a reshard moves a slot
	// in well under a second, and one stopped halfway is listed on both ends.
	migrating := min(wait, c.opts.Timeout)
	warned := false
	for {
		t, err := c.refreshAll(ctx)
		if err == nil && t.healthy() && len(t.moving) == 0 {
			return t, nil
		}
		waited := time.Since(start)
		if err == nil && t.healthy() && waited > migrating {
			return t, nil // still migrating: list both ends, the next round checks again
		}
		if waited > wait {
			if err != nil {
				return nil, err
			}
			return nil, &backends.ConnError{Address: c.target.Display, Err: fmt.Errorf("the cluster has slots without a live primary (%d of %d covered) after waiting %v", t.public().SlotsCovered, backends.SlotCount, wait)}
		}
		if !warned && waited > time.Second && c.opts.Warn != nil && (err != nil || !t.healthy()) {
			warned = true
			c.opts.Warn(fmt.Sprintf("waiting up to %v for the cluster: some slots have no live primary", wait))
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// scanRound lists the wanted slots on their owners in t, all nodes at once.
// A slot migrating in t is listed on both ends. Slots of a node that stopped
// answering come back in failed, to be listed again once it is replaced.
func (c *Cluster) scanRound(ctx context.Context, t *clusterTopo, pattern string, want *slotSet, page func(string, []string) error) (failed slotSet, failErr, err error) {
	type job struct {
		addr  string
		slots slotSet
	}
	jobs := map[string]*job{}
	add := func(n *clusterNode, s int) {
		if n == nil || n.noAddr {
			failed.add(s)
			return
		}
		src := n
		if c.opts.ReadFromReplicas {
			if r := t.replicaOf(n.id); r != nil {
				src = r
			}
		}
		j := jobs[src.addr]
		if j == nil {
			j = &job{addr: src.addr}
			jobs[src.addr] = j
		}
		j.slots.add(s)
	}
	want.each(func(s int) {
		add(t.ownerOf(s), s)
		if t.moving[s] {
			for i := range t.nodes {
				if slices.Contains(t.nodes[i].migrating, s) && t.nodes[i].id != t.ownerID(s) {
					add(&t.nodes[i], s)
				}
			}
		}
	})
	scanCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.scanNode(scanCtx, j.addr, pattern, &j.slots, page)
			if err == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			var ce *backends.ConnError
			var cons consumerError
			if errors.As(err, &cons) {
				err = cons.err
			} else if errors.As(err, &ce) && ctx.Err() == nil {
				// The node died or is being replaced: its slots are listed
				// again on whoever serves them after the failover.
				j.slots.each(failed.add)
				if failErr == nil {
					failErr = err
				}
				return
			}
			if firstErr == nil {
				firstErr = err
				stop()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return failed, failErr, firstErr
	}
	return failed, failErr, ctx.Err()
}

// scanNode pages through SCAN MATCH on one node and hands over the keys of
// the wanted slots.
func (c *Cluster) scanNode(ctx context.Context, addr, pattern string, slots *slotSet, page func(string, []string) error) error {
	cl := c.node(addr)
	match := pattern
	if match == "*" {
		match = ""
	}
	var cursor uint64
	for {
		opCtx, cancel := c.op(ctx)
		// SCAN is keyless: a replica answers it without READONLY.
		keys, next, err := cl.Scan(opCtx, cursor, match, int64(c.opts.ScanCount)).Result()
		cancel()
		if err != nil {
			return c.wrapAt(addr, err)
		}
		kept := keys[:0]
		for _, k := range keys {
			if slots.has(keySlot(k)) {
				kept = append(kept, k)
			}
		}
		if len(kept) > 0 {
			if err := page(addr, kept); err != nil {
				return consumerError{err}
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// consumerError is an error of the caller's page function, which stops the
// listing as it is: only the listing's own connection failures are ridden
// through.
type consumerError struct{ err error }

func (e consumerError) Error() string { return e.err.Error() }
