package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
)

var (
	_ backends.Profiler = (*Backend)(nil)
	_ backends.Profiler = (*Cluster)(nil)
	_ backends.Profiler = (*Sentinel)(nil)
)

// A profile keeps the server busy rather than waiting on it: one connection
// lists keys (SCAN) while profileWorkers others each have a pipeline of
// MEMORY USAGE and PTTL in flight for an earlier page. Together they fill the
// pool of 4 connections a node's client has. The server is the bottleneck
// (about 3.5 µs of its time per key on Redis 7, SCAN included), so more
// workers would only queue.
const (
	profileWorkers = 3
	// profileQueue is how many listed pages may wait per worker: enough to
	// ride over a slow SCAN page, few enough to keep memory flat.
	profileQueue = 2
	// maxProfileWorkers bounds the workers of a big cluster.
	maxProfileWorkers = 32
)

// profilePage is one page of listed keys and where to profile them.
type profilePage struct {
	keys []string
	cl   goredis.Cmdable
	// server names the node in the profiles ("" for a lone server); addr
	// names it in errors ("" for the deployment's own address).
	server, addr string
	// readOnly: the node may be a cluster replica, which answers keyed
	// commands only after READONLY.
	readOnly bool
}

// profileRun is the state the workers of one profile share.
type profileRun struct {
	b    *Backend
	o    backends.ProfileOptions
	seen atomic.Int64
	// strlen: MEMORY USAGE was refused, sizes are value lengths.
	strlen atomic.Bool
	noted  sync.Map // command -> noted once
}

// ProfileKeys profiles the keys matching pattern: sizes by MEMORY USAGE
// (STRLEN when the ACL refuses MEMORY), TTLs by PTTL, heads by GETRANGE for
// the keys o picks, TYPE only when o asks.
func (b *Backend) ProfileKeys(ctx context.Context, pattern string, o backends.ProfileOptions, fn func([]backends.KeyProfile) error) error {
	return b.profile(ctx, o, profileWorkers, func(ctx context.Context, send func(profilePage) error) error {
		return b.scanWith(ctx, b.client, pattern, func(keys []string) error {
			return send(profilePage{keys: keys, cl: b.client})
		})
	}, fn)
}

// ProfileKeys profiles every primary at once (replicas with
// ReadFromReplicas), naming each key's node. Slots a reshard moved while
// they were listed are listed again on their new owner; their keys may
// then be counted twice, which a note says.
func (c *Cluster) ProfileKeys(ctx context.Context, pattern string, o backends.ProfileOptions, fn func([]backends.KeyProfile) error) error {
	t, err := c.snapshot(ctx)
	if err != nil {
		return err
	}
	primaries := 0
	for _, n := range t.nodes {
		if n.primary {
			primaries++
		}
	}
	workers := min(max(primaries, 1)*profileWorkers, maxProfileWorkers)
	return c.profile(ctx, o, workers, func(ctx context.Context, send func(profilePage) error) error {
		return c.ScanShards(ctx, pattern, backends.ShardHandler{
			Page: func(node string, keys []string) error {
				return send(profilePage{keys: keys, cl: c.node(node), server: node, addr: node, readOnly: c.opts.ReadFromReplicas})
			},
			Round: func(slots []int) error {
				if o.Note == nil {
					return nil
				}
				o.Note(fmt.Sprintf("%d slot(s) moved while they were analyzed and were listed again on their new owner: their keys may be counted twice", len(slots)))
				return nil
			},
		})
	}, fn)
}

// ProfileKeys profiles the master, or an up replica with ReadFromReplicas.
func (s *Sentinel) ProfileKeys(ctx context.Context, pattern string, o backends.ProfileOptions, fn func([]backends.KeyProfile) error) error {
	cl, server, addr := goredis.Cmdable(s.client), "", ""
	if s.opts.ReadFromReplicas {
		if t, err := s.Topology(ctx); err == nil {
			for _, n := range t.Nodes {
				if n.Role == "replica" && n.Up && n.Link == "up" {
					cl, server, addr = s.nodes.get(n.Address), n.Address, n.Address
					break
				}
			}
		}
	}
	if server == "" {
		m, err := s.masterAddr(ctx)
		if err != nil {
			return err
		}
		server = m
	}
	return s.profile(ctx, o, profileWorkers, func(ctx context.Context, send func(profilePage) error) error {
		return s.scanWith(ctx, cl, pattern, func(keys []string) error {
			return send(profilePage{keys: keys, cl: cl, server: server, addr: addr})
		})
	}, fn)
}

// profile runs feed (the listing) in one goroutine, workers pipelines on
// the pages it sends, and fn on their results in this one. The first error
// stops all of it and is returned.
func (b *Backend) profile(ctx context.Context, o backends.ProfileOptions, workers int, feed func(ctx context.Context, send func(profilePage) error) error, fn func([]backends.KeyProfile) error) error {
	if o.Note == nil {
		o.Note = func(string) {}
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	run := &profileRun{b: b, o: o}
	pages := make(chan profilePage, workers*profileQueue)
	results := make(chan []backends.KeyProfile, workers)
	var errMu sync.Mutex
	var firstErr error
	fail := func(err error) {
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
		cancel()
	}
	go func() {
		defer close(pages)
		err := feed(ctx, func(p profilePage) error {
			select {
			case pages <- p:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if err != nil {
			fail(err)
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range pages {
				if ctx.Err() != nil {
					continue // drain, so the feed is never left blocked
				}
				ps, err := run.page(ctx, p)
				if err != nil {
					fail(err)
					continue
				}
				select {
				case results <- ps:
				case <-ctx.Done():
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	for ps := range results {
		if ctx.Err() != nil || len(ps) == 0 {
			continue
		}
		if err := fn(ps); err != nil {
			fail(err)
		}
	}
	errMu.Lock()
	defer errMu.Unlock()
	if firstErr == nil {
		// Cancelled after the last page was profiled: still not all of it.
		return parent.Err()
	}
	return firstErr
}

// page profiles one page of keys in one pipeline.
func (r *profileRun) page(ctx context.Context, p profilePage) ([]backends.KeyProfile, error) {
	n := int64(len(p.keys))
	return r.pageFrom(ctx, p, r.seen.Add(n)-n)
}

func (r *profileRun) pageFrom(ctx context.Context, p profilePage, base int64) ([]backends.KeyProfile, error) {
	strlen := r.strlen.Load()
	sizes := make([]*goredis.IntCmd, len(p.keys))
	ttls := make([]*goredis.DurationCmd, len(p.keys))
	heads := make([]*goredis.StringCmd, len(p.keys))
	var types []*goredis.StatusCmd
	if r.o.Types {
		types = make([]*goredis.StatusCmd, len(p.keys))
	}
	opCtx, cancel := r.b.op(ctx)
	defer cancel()
	pipe := p.cl.Pipeline()
	if p.readOnly {
		pipe.ReadOnly(opCtx)
	}
	for i, k := range p.keys {
		if strlen {
			sizes[i] = pipe.StrLen(opCtx, k)
		} else {
			sizes[i] = pipe.MemoryUsage(opCtx, k)
		}
		ttls[i] = pipe.PTTL(opCtx, k)
		if types != nil {
			types[i] = pipe.Type(opCtx, k)
		}
		if r.o.WantsHead(base + int64(i)) {
			// One byte more than asked tells whether the head is the whole value.
			heads[i] = pipe.GetRange(opCtx, k, 0, int64(r.o.HeadBytes))
		}
	}
	_, err := pipe.Exec(opCtx)
	if len(p.keys) > 0 && err != nil && (!isReplyError(err) || unanswered(sizes[0], ttls[0])) {
		return nil, r.wrap(p, err)
	}
	out := make([]backends.KeyProfile, 0, len(p.keys))
	for i, k := range p.keys {
		sErr, tErr := sizes[i].Err(), ttls[i].Err()
		if !strlen && commandDenied(sErr) {
			// Every key of the page is refused alike: sizes from STRLEN from now on.
			r.strlen.Store(true)
			r.noteDenied("memory|usage", sErr, "bytes are value lengths (STRLEN), not the server's memory accounting")
			return r.pageFrom(ctx, p, base)
		}
		if errors.Is(sErr, goredis.Nil) || redirected(sErr) || redirected(tErr) {
			// Gone since the listing (MEMORY USAGE answers nil), or its slot
			// moved: the listing lists it again on its new owner.
			continue
		}
		kp := backends.KeyProfile{Key: k, Bytes: -1, BytesFromServer: !strlen, TTL: backends.UnknownTTL, Server: p.server}
		if keyDenied(sErr) || keyDenied(tErr) {
			r.noteDenied("key", sErr, "sizes and TTLs of keys outside this user's key patterns are unknown")
			out = append(out, kp)
			continue
		}
		// STRLEN answers WRONGTYPE for a collection: its size stays unknown.
		switch {
		case sErr == nil:
			kp.Bytes = sizes[i].Val()
		case commandDenied(sErr):
			r.noteDenied("strlen", sErr, "sizes are unknown")
		}
		switch ttl, err := convertTTL(ttls[i].Val(), tErr); {
		case errors.Is(err, backends.ErrNotFound):
			continue // expired or deleted since the listing
		case commandDenied(tErr):
			r.noteDenied("pttl", tErr, "TTLs are unknown")
		case err == nil:
			kp.TTL = ttl
		}
		if types != nil {
			switch t := types[i].Val(); {
			case t == "none":
				continue
			case types[i].Err() == nil:
				kp.Type = t
			case commandDenied(types[i].Err()):
				r.noteDenied("type", types[i].Err(), "types are unknown")
			}
		}
		if h := heads[i]; h != nil {
			switch err := h.Err(); {
			case err == nil:
				v := h.Val()
				kp.HeadComplete = len(v) <= r.o.HeadBytes
				kp.Head = []byte(v[:min(len(v), r.o.HeadBytes)])
				kp.Type = "string"
			case commandDenied(err):
				r.noteDenied("getrange", err, "formats are unknown")
			}
			// WRONGTYPE: not a string, so no format.
		}
		out = append(out, kp)
	}
	return out, nil
}

// unanswered: the pipeline failed before its first command was answered
// (AUTH refused while connecting): go-redis then leaves the commands' own
// results unset. A key's MEMORY USAGE is never 0.
func unanswered(size *goredis.IntCmd, ttl *goredis.DurationCmd) bool {
	return size.Err() == nil && size.Val() == 0 && ttl.Err() == nil && ttl.Val() == 0
}

// redirected: a cluster node answered that the key's slot is served elsewhere.
func redirected(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.HasPrefix(msg, "MOVED ") || strings.HasPrefix(msg, "ASK ") || strings.HasPrefix(msg, "TRYAGAIN")
}

func (r *profileRun) wrap(p profilePage, err error) error {
	if p.addr != "" {
		return r.b.wrapAt(p.addr, err)
	}
	return r.b.wrap(err)
}

// noteDenied says once per command what its refusal costs the analysis,
// and the rule that would grant it.
func (r *profileRun) noteDenied(command string, err error, cost string) {
	if _, done := r.noted.LoadOrStore(command, true); done {
		return
	}
	msg := "the server's ACL refused " + command + ": " + cost
	if pe := r.b.permissionError(err); pe != nil {
		switch {
		case pe.Command != "":
			msg = pe.CommandName() + " refused: " + cost + "; " + pe.Hint()
		case pe.Key:
			msg = cost + "; " + pe.Hint()
		}
	}
	r.o.Note(msg)
}
