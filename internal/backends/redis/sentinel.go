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
	_ backends.TopologyReporter = (*Sentinel)(nil)
	_ backends.Recoverer        = (*Sentinel)(nil)
)

// Sentinel is a master and its replicas behind Redis Sentinel. Commands go
// through go-redis' failover client, which asks the sentinels for the master
// and follows it when they switch; the nodes themselves (stats, listing from
// a replica) are reached with clients of their own.
type Sentinel struct {
	*Backend
	nodes     *nodePool
	sentinels []*goredis.SentinelClient

	mu     sync.Mutex
	master string // the master's address as last seen; "" before
}

func newSentinel(b *Backend, uo *goredis.UniversalOptions) *Sentinel {
	s := &Sentinel{Backend: b, nodes: newNodePool(uo)}
	for _, a := range uo.Addrs {
		o := nodeOptions(uo, a)
		o.Username, o.Password = "", uo.SentinelPassword
		sc := goredis.NewSentinelClient(o)
		sc.AddHook(cancelHook{})
		s.sentinels = append(s.sentinels, sc)
	}
	return s
}

// dialer wraps the failover client's dialer to note which master it
// connects to: the address the data goes to, which Recover compares with
// the one the sentinels name after a failure.
func (s *Sentinel) dialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err == nil && !slices.Contains(s.target.Addrs, addr) {
			s.mu.Lock()
			s.master = addr
			s.mu.Unlock()
		}
		return conn, err
	}
}

// Close releases every connection.
func (s *Sentinel) Close() error {
	err := s.Backend.Close()
	if e := s.nodes.close(); err == nil {
		err = e
	}
	for _, sc := range s.sentinels {
		if e := sc.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Describe says what this is without network I/O.
func (s *Sentinel) Describe() backends.Info {
	info := s.Backend.Describe()
	info.Capabilities = append(info.Capabilities, "sentinel")
	return info
}

// askSentinels runs fn on each sentinel in turn until one answers.
func (s *Sentinel) askSentinels(ctx context.Context, fn func(ctx context.Context, sc *goredis.SentinelClient) error) error {
	var firstErr error
	for i, sc := range s.sentinels {
		opCtx, cancel := s.op(ctx)
		err := fn(opCtx, sc)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if firstErr == nil {
			firstErr = s.sentinelErr(s.target.Addrs[i], err)
		}
	}
	return firstErr
}

// errNoMaster: a sentinel answered that it monitors no master of that name.
var errNoMaster = errors.New("no such master")

func (s *Sentinel) sentinelErr(addr string, err error) error {
	if te := backends.TunnelError(err); te != nil {
		return te
	}
	if errors.Is(err, errNoMaster) {
		return &backends.ServerError{Address: "sentinel " + addr, Msg: fmt.Sprintf("monitors no master named %q (SENTINEL MASTERS lists the names)", s.target.MasterName)}
	}
	if isReplyError(err) {
		msg := s.target.mask(err.Error(), s.opts.SentinelPassword)
		if strings.HasPrefix(msg, "NOAUTH") || strings.HasPrefix(msg, "WRONGPASS") || strings.Contains(msg, "invalid password") {
			msg = "sentinel authentication failed (" + msg + "); set the sentinels' password with ?sentinel_password_env=NAME or the context's sentinel_password_env"
		}
		return &backends.ServerError{Address: "sentinel " + addr, Msg: msg}
	}
	if p := certProblem(err); p != "" {
		return &backends.ConnError{Address: "sentinel " + addr, Err: errors.New(p)}
	}
	return &backends.ConnError{Address: "sentinel " + addr, Err: simplifyNetErr(err)}
}

// masterAddr asks the sentinels where the master is.
func (s *Sentinel) masterAddr(ctx context.Context) (string, error) {
	var addr string
	err := s.askSentinels(ctx, func(ctx context.Context, sc *goredis.SentinelClient) error {
		hp, err := sc.GetMasterAddrByName(ctx, s.target.MasterName).Result()
		if errors.Is(err, goredis.Nil) {
			return errNoMaster
		}
		if err != nil {
			return err
		}
		if len(hp) != 2 {
			return fmt.Errorf("sentinel answered %d fields for the master's address", len(hp))
		}
		addr = net.JoinHostPort(hp[0], hp[1])
		return nil
	})
	if err == nil {
		s.mu.Lock()
		s.master = addr
		s.mu.Unlock()
	}
	return addr, err
}

// lastMaster is the master's address as last seen, asking once if never.
func (s *Sentinel) lastMaster(ctx context.Context) string {
	s.mu.Lock()
	m := s.master
	s.mu.Unlock()
	if m == "" {
		m, _ = s.masterAddr(ctx)
	}
	return m
}

// Get reads one key from the master and names it.
func (s *Sentinel) Get(ctx context.Context, key string) (*backends.Entry, error) {
	e, err := s.Backend.Get(ctx, key)
	if err == nil {
		e.Server = s.lastMaster(ctx)
	}
	return e, err
}

// Inspect reads listing metadata from the master and names it.
func (s *Sentinel) Inspect(ctx context.Context, keys []string) ([]backends.KeyInfo, error) {
	infos, err := s.Backend.Inspect(ctx, keys)
	if err != nil {
		return nil, err
	}
	m := s.lastMaster(ctx)
	for i := range infos {
		infos[i].Server = m
	}
	return infos, nil
}

// Scan lists the master's keys, or an up replica's with ReadFromReplicas.
func (s *Sentinel) Scan(ctx context.Context, pattern string, fn func(keys []string) error) error {
	if s.opts.ReadFromReplicas {
		if t, err := s.Topology(ctx); err == nil {
			for _, n := range t.Nodes {
				if n.Role == "replica" && n.Up && n.Link == "up" {
					return s.Backend.scanWith(ctx, s.nodes.get(n.Address), pattern, fn)
				}
			}
		}
	}
	if _, err := s.masterAddr(ctx); err != nil {
		return err
	}
	return s.Backend.Scan(ctx, pattern, fn)
}

// Topology reads the master and its replicas as the sentinels see them.
func (s *Sentinel) Topology(ctx context.Context) (*backends.Topology, error) {
	t := &backends.Topology{Kind: "sentinel", Master: s.target.MasterName}
	var master map[string]string
	var replicas []map[string]string
	err := s.askSentinels(ctx, func(ctx context.Context, sc *goredis.SentinelClient) error {
		var err error
		if master, err = sc.Master(ctx, s.target.MasterName).Result(); err != nil {
			return err
		}
		replicas, err = sc.Replicas(ctx, s.target.MasterName).Result()
		return err
	})
	if err != nil {
		return nil, err
	}
	maddr := net.JoinHostPort(master["ip"], master["port"])
	flags := master["flags"]
	t.Failover = strings.Contains(flags, "failover_in_progress") || strings.Contains(flags, "o_down") || strings.Contains(flags, "s_down")
	t.Nodes = append(t.Nodes, backends.Node{Address: maddr, Role: "primary", Up: !strings.Contains(flags, "s_down") && !strings.Contains(flags, "o_down")})
	for _, r := range replicas {
		rf := r["flags"]
		up := !strings.Contains(rf, "s_down") && !strings.Contains(rf, "o_down") && !strings.Contains(rf, "disconnected")
		link := "down"
		if r["master-link-status"] == "ok" {
			link = "up"
		}
		t.Nodes = append(t.Nodes, backends.Node{Address: net.JoinHostPort(r["ip"], r["port"]), Role: "replica",
			PrimaryAddress: maddr, Up: up, Link: link})
	}
	s.mu.Lock()
	s.master = maddr
	s.mu.Unlock()
	return t, nil
}

// Stats are the master's figures (through the failover client), with one row
// for the master and each replica.
func (s *Sentinel) Stats(ctx context.Context) (*backends.Stats, error) {
	total, err := s.Backend.Stats(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.Topology(ctx)
	if err != nil {
		return total, err
	}
	total.Servers = make([]backends.ServerStats, len(t.Nodes))
	var wg sync.WaitGroup
	for i, n := range t.Nodes {
		total.Servers[i] = backends.ServerStats{Address: n.Address, Role: n.Role, Primary: n.PrimaryAddress, ReplOffset: -1}
		wg.Add(1)
		go func() {
			defer wg.Done()
			row := &total.Servers[i]
			row.Stats, row.Err = s.Backend.nodeStats(ctx, s.nodes.get(n.Address), n.Address, row)
		}()
	}
	wg.Wait()
	total.Raw = map[string]map[string]string{}
	failed := 0
	var firstErr error
	for _, r := range total.Servers {
		if r.Err == nil {
			total.Raw[r.Address] = r.Stats.Raw[r.Address]
		} else if failed++; firstErr == nil {
			firstErr = r.Err
		}
	}
	if failed > 0 {
		// As a cluster's and a pool's: the figures, and an error saying who is missing.
		return total, fmt.Errorf("%d of %d nodes did not answer: %w", failed, len(total.Servers), firstErr)
	}
	return total, nil
}

// Recover waits until the sentinels name a master that answers as one, up
// to wait, and says whether it is another node than before.
func (s *Sentinel) Recover(ctx context.Context, wait time.Duration) (bool, error) {
	s.mu.Lock()
	before := s.master
	s.mu.Unlock()
	deadline := time.Now().Add(wait)
	var lastErr error
	for {
		addr, err := s.masterAddr(ctx)
		if err == nil {
			err = s.isMaster(ctx, addr)
		}
		if err == nil {
			// The failover client follows the switch itself; make sure it
			// answers before the caller goes on.
			opCtx, cancel := s.op(ctx)
			err = s.wrap(s.client.Ping(opCtx).Err())
			cancel()
		}
		if err == nil {
			return before != "" && addr != before, nil
		}
		lastErr = err
		if time.Now().After(deadline) {
			return false, fmt.Errorf("no master answered within %v: %w", wait, lastErr)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return false, err
		}
	}
}

// isMaster checks with ROLE that addr is a master, not a demoted one.
func (s *Sentinel) isMaster(ctx context.Context, addr string) error {
	opCtx, cancel := s.op(ctx)
	defer cancel()
	role, err := s.nodes.get(addr).Do(opCtx, "ROLE").Slice()
	if commandDenied(err) {
		return nil // ROLE is @admin: a least-privilege user trusts the sentinels
	}
	if err != nil {
		return &backends.ConnError{Address: addr, Err: simplifyNetErr(err)}
	}
	if len(role) == 0 || role[0] != "master" {
		return &backends.ConnError{Address: addr, Err: errors.New("the sentinels name it master but it does not answer ROLE as one (yet)")}
	}
	return nil
}
