package redis

import (
	"context"
	"errors"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
)

// maxRedirects bounds how often one key is sent again after an answer that
// says it was not executed (MOVED, ASK, TRYAGAIN, a replica's READONLY).
const maxRedirects = 5

// Delete unlinks keys on the primaries of their slots, every node at once,
// with exact counts (see DeleteKeys).
func (c *Cluster) Delete(ctx context.Context, keys ...string) (int64, error) {
	return inBatches(keys, func(batch []string) (int64, error) {
		res, err := c.DeleteKeys(ctx, batch)
		return res.Deleted, err
	})
}

// sendTo is one node's share of a delete: keys to UNLINK there, asking
// first when the node is importing their slot (ASK).
type sendTo struct {
	addr string
	ask  bool
	keys []string
}

// DeleteKeys unlinks keys, one UNLINK per key pipelined to each primary (a
// multi-key UNLINK would fail across slots). A key is sent again only after
// an answer that proves it was not executed — MOVED, ASK, TRYAGAIN,
// CLUSTERDOWN, a demoted primary's READONLY — never after a lost reply: a
// second UNLINK of a key the first one deleted would answer 0 and the count
// would be short. Keys whose command got no answer are returned in
// Unanswered with the connection error.
func (c *Cluster) DeleteKeys(ctx context.Context, keys []string) (backends.DeleteResult, error) {
	var res backends.DeleteResult
	var connErr, replyErr error
	pending := keys
	var asks []sendTo
	for attempt := 0; len(pending) > 0 || len(asks) > 0; attempt++ {
		if attempt > maxRedirects {
			res.Unanswered = append(res.Unanswered, pending...)
			for _, a := range asks {
				res.Unanswered = append(res.Unanswered, a.keys...)
			}
			return res, &backends.ConnError{Address: c.target.Display, Err: errors.New("keys kept moving between nodes (MOVED/ASK) while they were deleted")}
		}
		var t *clusterTopo
		var err error
		if attempt == 0 {
			t, err = c.snapshot(ctx)
		} else {
			t, err = c.refresh(ctx)
		}
		if err != nil {
			res.Unanswered = append(res.Unanswered, pending...)
			return res, err
		}
		sends := asks
		byNode := map[string]int{}
		for _, k := range pending {
			n := t.ownerOf(keySlot(k))
			if n == nil || n.noAddr {
				res.Unanswered = append(res.Unanswered, k)
				if connErr == nil {
					connErr = &backends.ConnError{Address: c.target.Display, Err: errors.New("a slot has no primary (failover in progress?)")}
				}
				continue
			}
			i, ok := byNode[n.addr]
			if !ok {
				i = len(sends)
				byNode[n.addr] = i
				sends = append(sends, sendTo{addr: n.addr})
			}
			sends[i].keys = append(sends[i].keys, k)
		}
		pending, asks = nil, nil
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, s := range sends {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o := c.unlinkOn(ctx, s)
				mu.Lock()
				defer mu.Unlock()
				res.Deleted += o.deleted
				res.Unanswered = append(res.Unanswered, o.unanswered...)
				pending = append(pending, o.again...)
				asks = append(asks, o.asks...)
				if o.connErr != nil && connErr == nil {
					connErr = o.connErr
				}
				if o.replyErr != nil && replyErr == nil {
					replyErr = o.replyErr
				}
			}()
		}
		wg.Wait()
		if replyErr != nil {
			// A refusal (NOPERM, OOM…) is an answer: those keys stay, and so
			// do the ones not sent again.
			return res, replyErr
		}
	}
	if connErr != nil {
		c.stale()
		return res, connErr
	}
	return res, nil
}

type unlinkOutcome struct {
	deleted    int64
	again      []string // not executed: route again by the new slot map
	asks       []sendTo // not executed: send with ASKING to the importing node
	unanswered []string
	connErr    error
	replyErr   error
}

// unlinkOn pipelines the UNLINKs of one node and sorts the answers.
func (c *Cluster) unlinkOn(ctx context.Context, s sendTo) (o unlinkOutcome) {
	opCtx, cancel := c.op(context.WithoutCancel(ctx))
	defer cancel()
	c.Backend.mu.Lock()
	useDel := c.useDel
	c.Backend.mu.Unlock()
	cmds := make([]*goredis.IntCmd, len(s.keys))
	_, perr := c.node(s.addr).Pipelined(opCtx, func(p goredis.Pipeliner) error {
		for i, k := range s.keys {
			if s.ask {
				p.Do(opCtx, "ASKING")
			}
			if useDel {
				cmds[i] = p.Del(opCtx, k)
			} else {
				cmds[i] = p.Unlink(opCtx, k)
			}
		}
		return nil
	})
	if perr != nil && !useDel && isUnknownCommand(perr) {
		c.Backend.mu.Lock()
		c.useDel = true
		c.Backend.mu.Unlock()
		o.again = s.keys // nothing ran: UNLINK is unknown here
		return o
	}
	asks := map[string]int{}
	for i, cmd := range cmds {
		k := s.keys[i]
		err := cmd.Err()
		switch {
		case err == nil:
			o.deleted += cmd.Val()
		case !isReplyError(err):
			o.unanswered = append(o.unanswered, k)
			if o.connErr == nil {
				o.connErr = c.wrapAt(s.addr, err)
			}
		case strings.HasPrefix(err.Error(), "ASK ") && redirectAddr(err.Error()) != "":
			addr := redirectAddr(err.Error())
			j, ok := asks[addr]
			if !ok {
				j = len(o.asks)
				asks[addr] = j
				o.asks = append(o.asks, sendTo{addr: addr, ask: true})
			}
			o.asks[j].keys = append(o.asks[j].keys, k)
		case notExecuted(err):
			o.again = append(o.again, k)
		default:
			if o.replyErr == nil {
				o.replyErr = c.wrapAt(s.addr, err)
			}
		}
	}
	return o
}

// notExecuted reports a reply that proves the command did not run: the key
// lives elsewhere (MOVED), its slot is being moved (TRYAGAIN), the cluster is
// down or the node is loading, or it is a replica now (READONLY).
func notExecuted(err error) bool {
	msg := err.Error()
	for _, p := range []string{"MOVED ", "TRYAGAIN", "CLUSTERDOWN", "LOADING", "READONLY", "MASTERDOWN"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// redirectAddr is the address of "ASK 3999 127.0.0.1:6381".
func redirectAddr(msg string) string {
	f := strings.Fields(msg)
	if len(f) < 3 {
		return ""
	}
	return f[2]
}
