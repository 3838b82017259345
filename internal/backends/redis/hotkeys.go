package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cachectl/cachectl/internal/backends"
)

// Redis 8.6's HOTKEYS, as its documentation describes it: START a tracking
// session of the CPU time spent per key, STOP it, GET the top K, RESET to
// free it. Untested: no Redis 8.6 was at hand. Whatever goes wrong before
// the session runs (a syntax the server does not take, a session already
// running, a refusal) is hotkeysUnusable, so that cachectl measures another
// way instead.

// hotkeysUnusable: HOTKEYS could not be started.
type hotkeysUnusable struct{ err error }

func (e *hotkeysUnusable) Error() string { return "HOTKEYS: " + e.err.Error() }
func (e *hotkeysUnusable) Unwrap() error { return e.err }

// hotCPU runs a HOTKEYS session of the CPU metric on every node for
// opts.Duration and reads each node's top keys.
func (b *Backend) hotCPU(ctx context.Context, opts backends.HotOptions, nodes []hotNode) (*backends.HotReport, error) {
	top := max(opts.Top, 10)
	if opts.Top > 0 && len(opts.Patterns) > 0 {
		// The server ranks every key; the patterns are applied after.
		top = max(top, 100)
	}
	var started []hotNode
	stopAll := func(nodes []hotNode) {
		for _, n := range nodes {
			b.hotkeysDo(context.Background(), n, "STOP")
			b.hotkeysDo(context.Background(), n, "RESET")
		}
	}
	// The server ends the session itself a little after the sample (an
	// hour for one until Ctrl-C), should cachectl never come back to it.
	secs := 3600
	if opts.Duration > 0 {
		secs = int(opts.Duration.Seconds()) + 5
	}
	for _, n := range nodes {
		if err := b.hotkeysDo(ctx, n, "START", "METRICS", "1", "CPU", "COUNT", strconv.Itoa(top), "DURATION", strconv.Itoa(secs)); err != nil {
			stopAll(started)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &hotkeysUnusable{err: b.wrapAt(n.shown, err)}
		}
		started = append(started, n)
	}
	took := opts.Sample(ctx, backends.HotCPU)
	// What was tracked is read even after Ctrl-C: that is what was measured.
	match := backends.KeyFilter(opts.Patterns)
	r := &backends.HotReport{Method: backends.HotCPU, Duration: took}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() {
			keys, err := b.hotkeysRead(n)
			mu.Lock()
			defer mu.Unlock()
			// Commands: the keys the server ranked; Accesses: those kept.
			hn := backends.HotNode{Node: n.addr, Commands: int64(len(keys))}
			if err != nil {
				hn.Err = err.Error()
			}
			for _, k := range keys {
				if match(k.Key) {
					hn.Accesses++
					r.Keys = append(r.Keys, k)
				}
			}
			r.Nodes = append(r.Nodes, hn)
			r.Commands += hn.Commands
			r.Accesses += hn.Accesses
		})
	}
	wg.Wait()
	slices.SortFunc(r.Nodes, func(a, b backends.HotNode) int { return strings.Compare(a.Node, b.Node) })
	r.Keys = backends.SortHot(r.Keys, opts.Top, func(k backends.HotKey) int64 { return k.CPU })
	if err := ctx.Err(); err != nil {
		return r, err
	}
	for _, n := range r.Nodes {
		if n.Err == "" {
			return r, nil
		}
	}
	return r, fmt.Errorf("HOTKEYS GET failed on every node: %s", r.Nodes[0].Err)
}

// hotkeysRead stops the node's session, reads its top keys and frees it.
func (b *Backend) hotkeysRead(n hotNode) ([]backends.HotKey, error) {
	ctx := context.Background()
	b.hotkeysDo(ctx, n, "STOP") // "not active" once a DURATION ran out: fine
	defer b.hotkeysDo(ctx, n, "RESET")
	opCtx, cancel := b.op(ctx)
	defer cancel()
	v, err := n.cl.Do(opCtx, "HOTKEYS", "GET").Result()
	if err != nil {
		return nil, b.wrapAt(n.shown, err)
	}
	keys, err := parseHotkeysGet(v)
	for i := range keys {
		keys[i].Node = n.addr
	}
	return keys, err
}

func (b *Backend) hotkeysDo(ctx context.Context, n hotNode, args ...string) error {
	opCtx, cancel := b.op(ctx)
	defer cancel()
	cmd := append([]any{"HOTKEYS"}, toAny(args)...)
	return n.cl.Do(opCtx, cmd...).Err()
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// parseHotkeysGet reads the "by-cpu-time-us" pairs (key, microseconds) of
// a HOTKEYS GET reply: a flat list of field names and values in RESP2, a
// map in RESP3, possibly wrapped in a list of one.
func parseHotkeysGet(v any) ([]backends.HotKey, error) {
	if l, ok := v.([]any); ok && len(l) == 1 {
		if inner, ok := l[0].([]any); ok {
			v = inner
		} else if m, ok := l[0].(map[any]any); ok {
			v = m
		}
	}
	var pairs any
	switch r := v.(type) {
	case nil:
		return nil, nil // no session data
	case []any:
		for i := 0; i+1 < len(r); i += 2 {
			if name, _ := r[i].(string); name == "by-cpu-time-us" {
				pairs = r[i+1]
			}
		}
	case map[any]any:
		pairs = r["by-cpu-time-us"]
	default:
		return nil, fmt.Errorf("unexpected HOTKEYS GET reply: %T", v)
	}
	var keys []backends.HotKey
	switch p := pairs.(type) {
	case nil:
		return nil, nil
	case []any:
		for i := 0; i+1 < len(p); i += 2 {
			k, ok := p[i].(string)
			us, uok := p[i+1].(int64)
			if !ok || !uok {
				return keys, errors.New("unexpected entry in HOTKEYS GET's by-cpu-time-us")
			}
			keys = append(keys, backends.HotKey{Key: k, CPU: us})
		}
	case map[any]any:
		for k, us := range p {
			ks, ok := k.(string)
			n, nok := us.(int64)
			if !ok || !nok {
				return keys, errors.New("unexpected entry in HOTKEYS GET's by-cpu-time-us")
			}
			keys = append(keys, backends.HotKey{Key: ks, CPU: n})
		}
	default:
		return nil, fmt.Errorf("unexpected by-cpu-time-us in HOTKEYS GET: %T", pairs)
	}
	return keys, nil
}
