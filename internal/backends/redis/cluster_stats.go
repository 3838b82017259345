package redis

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
)

// Stats reads INFO and DBSIZE from every node at once. The totals are the
// primaries' (a replica holds copies of its primary's keys); each node gets
// a row with its role, slots and replication link. Nodes that do not answer
// keep a row with their error, and the figures of the others still come
// back with an error saying how many were missing.
func (c *Cluster) Stats(ctx context.Context) (*backends.Stats, error) {
	t, err := c.refresh(ctx)
	if err != nil {
		return nil, err
	}
	rows := make([]backends.ServerStats, len(t.nodes))
	var wg sync.WaitGroup
	for i, n := range t.nodes {
		rows[i] = backends.ServerStats{Address: n.addr, Role: "primary", Slots: n.slots, ReplOffset: -1}
		if !n.primary {
			rows[i].Role = "replica"
			if p := t.byID(n.masterID); p != nil {
				rows[i].Primary = p.addr
			}
		}
		if n.noAddr {
			rows[i].Err = &backends.ConnError{Address: n.id, Err: fmt.Errorf("the cluster knows no address for node %s", n.id)}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows[i].Stats, rows[i].Err = c.nodeStats(ctx, c.node(n.addr), n.addr, &rows[i])
		}()
	}
	wg.Wait()
	total := &backends.Stats{Known: map[string]bool{}, Raw: map[string]map[string]string{}, Servers: rows}
	failed := 0
	var versions []string
	var firstErr error
	for i := range rows {
		r := &rows[i]
		if r.Err != nil {
			failed++
			if firstErr == nil {
				firstErr = r.Err
			}
			continue
		}
		if raw, ok := r.Stats.Raw[r.Address]; ok {
			total.Raw[r.Address] = raw
		}
		if r.Role == "primary" {
			total.Add(r.Stats)
		}
		if v := r.Stats.Version; v != "" && !slices.Contains(versions, v) {
			versions = append(versions, v)
		}
	}
	if failed == len(rows) {
		return nil, firstErr
	}
	total.Version = strings.Join(versions, ", ")
	if len(versions) > 0 {
		total.Known["version"] = true
	}
	if failed > 0 {
		return total, fmt.Errorf("%d of %d nodes did not answer: %w", failed, len(rows), firstErr)
	}
	return total, nil
}

// nodeStats reads one node's INFO and DBSIZE and fills its replication link
// (row may be nil). A command the user's ACL refuses leaves its figures
// unknown and is named in Stats.Denied.
func (b *Backend) nodeStats(ctx context.Context, cl goredis.Cmdable, addr string, row *backends.ServerStats) (*backends.Stats, error) {
	opCtx, cancel := b.op(ctx)
	defer cancel()
	var info *goredis.StringCmd
	var size *goredis.IntCmd
	_, err := cl.Pipelined(opCtx, func(p goredis.Pipeliner) error {
		info = p.Info(opCtx)
		size = p.DBSize(opCtx)
		return nil
	})
	if err != nil && info.Err() == nil && size.Err() == nil {
		// Refused before the commands ran (AUTH, SELECT while connecting).
		return nil, b.wrapAt(addr, err)
	}
	var denied []*backends.PermissionError
	for _, c := range []goredis.Cmder{info, size} {
		if commandDenied(c.Err()) {
			pe := b.permissionError(c.Err())
			pe.Address = addr
			denied = append(denied, pe)
		} else if c.Err() != nil || (err != nil && !isReplyError(err)) {
			return nil, b.wrapAt(addr, cmp.Or(c.Err(), err))
		}
	}
	raw := parseInfo(info.Val())
	s := statsFromInfo(raw)
	s.Denied = denied
	if size.Err() == nil {
		s.Keys = size.Val()
		s.Known["keys"] = true
	}
	s.Raw = map[string]map[string]string{}
	if info.Err() != nil {
		return s, nil
	}
	s.Raw[addr] = raw
	if row == nil {
		return s, nil
	}
	if row.Role == "replica" {
		row.Link = raw["master_link_status"]
		row.ReplOffset = parseOffset(raw["slave_repl_offset"])
	} else {
		row.ReplOffset = parseOffset(raw["master_repl_offset"])
	}
	return s, nil
}

func parseOffset(v string) int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// byID finds a node by its cluster ID.
func (t *clusterTopo) byID(id string) *clusterNode {
	for i := range t.nodes {
		if t.nodes[i].id == id {
			return &t.nodes[i]
		}
	}
	return nil
}

// Recover waits until every slot is served by a live primary that answers,
// up to wait, and says whether any slot changed owner since the last slot
// map this backend read (a replica was promoted).
func (c *Cluster) Recover(ctx context.Context, wait time.Duration) (bool, error) {
	c.mu.Lock()
	before := c.topo
	c.mu.Unlock()
	deadline := time.Now().Add(wait)
	var lastErr error
	for {
		t, err := c.refresh(ctx)
		if err == nil && t.healthy() {
			if err = c.pingPrimaries(ctx, t); err == nil {
				c.client.(*goredis.ClusterClient).ReloadState(ctx)
				changed := before == nil
				for s := 0; before != nil && s < backends.SlotCount && !changed; s++ {
					changed = before.ownerID(s) != t.ownerID(s)
				}
				return changed, nil
			}
		}
		if err != nil {
			lastErr = err
		} else {
			lastErr = &backends.ConnError{Address: c.target.Display, Err: fmt.Errorf("%d of %d slots have a live primary", t.public().SlotsCovered, backends.SlotCount)}
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("the cluster did not recover within %v: %w", wait, lastErr)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return false, err
		}
	}
}

// pingPrimaries checks that each primary of t answers as a primary.
func (c *Cluster) pingPrimaries(ctx context.Context, t *clusterTopo) error {
	for _, n := range t.nodes {
		if !n.primary || len(n.slots) == 0 {
			continue
		}
		opCtx, cancel := c.op(ctx)
		err := c.node(n.addr).Ping(opCtx).Err()
		cancel()
		if err != nil {
			return c.wrapAt(n.addr, err)
		}
	}
	return nil
}
