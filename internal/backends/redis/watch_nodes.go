package redis

import (
	"context"
	"fmt"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
)

// topologyEvery is how often a watch of several nodes reads the topology
// again to follow failovers, besides at once when a subscription is lost.
const topologyEvery = 2 * time.Second

// Watch streams the key events of every primary: keyspace notifications are
// local to the node where the write happens. Primaries that appear later (a
// failover, a new node) are followed too, with a gap for what their slots
// may have had before; those that stop being primaries are dropped.
func (c *Cluster) Watch(ctx context.Context, opts backends.WatchOptions, fn func(backends.Event) error) error {
	r := c.Backend.newWatchRun(opts, fn)
	primaries := func(ctx context.Context) ([]string, error) {
		t, err := c.refresh(ctx)
		if err != nil {
			return nil, err
		}
		var addrs []string
		for _, n := range t.nodes {
			if n.primary && !n.noAddr && !(n.failing && len(n.slots) == 0) {
				addrs = append(addrs, n.addr)
			}
		}
		return addrs, nil
	}
	return r.finish(r.followNodes(ctx, "a cluster primary", primaries, c.node))
}

// Watch streams the key events of the master the sentinels name, and
// follows it through failovers with a gap.
func (s *Sentinel) Watch(ctx context.Context, opts backends.WatchOptions, fn func(backends.Event) error) error {
	r := s.Backend.newWatchRun(opts, fn)
	master := func(ctx context.Context) ([]string, error) {
		m, err := s.masterAddr(ctx)
		if err != nil {
			return nil, err
		}
		return []string{m}, nil
	}
	return r.finish(r.followNodes(ctx, "the master", master, s.nodes.get))
}

// followNodes subscribes on the nodes lookup names and keeps the set in step
// with it: at once when a subscription is lost, else every topologyEvery. A
// node that joins reports a gap from the oldest loss not made good (or the
// previous look) to its first subscription. Failures to start, and errors
// that retrying cannot mend (notifications off, ACL refusals), end it.
func (r *watchRun) followNodes(ctx context.Context, role string, lookup func(context.Context) ([]string, error), client func(string) *goredis.Client) error {
	addrs, err := lookup(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type follower struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	running := map[string]*follower{}
	fatal := make(chan error, 1)
	start := func(addr string, started func(error), join *joinGap) {
		nctx, ncancel := context.WithCancel(ctx)
		f := &follower{cancel: ncancel, done: make(chan struct{})}
		running[addr] = f
		go func() {
			defer close(f.done)
			err := r.follow(nctx, watchNode{addr: addr, cl: client(addr)}, started, join)
			if err != nil && nctx.Err() == nil {
				select {
				case fatal <- err:
				default:
				}
			}
		}()
	}
	stopAll := func() {
		cancel()
		for _, f := range running {
			<-f.done
		}
	}
	defer stopAll()

	starts := make(chan error, len(addrs))
	for _, a := range addrs {
		start(a, func(err error) { starts <- err }, nil)
	}
	for range addrs {
		if err := <-starts; err != nil {
			return err
		}
	}
	if r.opts.Ready != nil {
		r.opts.Ready()
	}
	looked := time.Now()
	tick := time.NewTicker(topologyEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-fatal:
			return err
		case <-tick.C:
		case <-r.nudge:
		}
		now, err := lookup(ctx)
		if err != nil {
			continue // the followers retry on their own; look again later
		}
		var joined []string
		for _, a := range now {
			if _, ok := running[a]; !ok {
				joined = append(joined, a)
			}
		}
		since := r.earliestLoss()
		if since.IsZero() {
			since = looked
		}
		for a, f := range running {
			if !slices.Contains(now, a) {
				f.cancel()
				<-f.done
				delete(running, a)
				r.setLost(a, time.Time{}) // its events are its successor's now
			}
		}
		for _, a := range joined {
			start(a, nil, &joinGap{since: since, why: fmt.Sprintf("%s became %s (failover or new node); its earlier events are not known", a, role)})
		}
		looked = time.Now()
	}
}
