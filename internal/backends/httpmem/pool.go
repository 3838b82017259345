package httpmem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/textesc"
)

// Pool is the workers of one app: several servers of the protocol that each
// keep their own copy of the cache (an in-process cache exists once per
// worker process). They are replicas, not shards: a write goes to every
// worker, a listing visits every worker, a read asks every worker and says
// which one answered. A worker that does not answer is reported, never
// skipped in silence: writes and listings then end in a PartialError after
// doing what the others could.
type Pool struct {
	t    *target
	opts backends.Options
	// resolver looks up ?workers=dns names (tests give it a DNS server).
	resolver *net.Resolver

	mu      sync.Mutex
	members []backends.Member // nil until resolved
	backs   []*Backend
	// down holds the members whose last operation could not reach them;
	// later operations of this command do not wait for them again (Stats
	// asks them anyway, and clears the mark when they answer).
	down map[int]error

	warnMu   sync.Mutex
	differed int // copies that differed, warned about
}

// maxDiffWarnings bounds the warnings about differing copies (a dump of a
// stale worker would print one per key).
const maxDiffWarnings = 10

func newPool(t *target, opts backends.Options) *Pool {
	return &Pool{t: t, opts: opts, resolver: net.DefaultResolver, down: map[int]error{}}
}

func (p *Pool) warn(msg string) {
	if p.opts.Warn != nil {
		p.opts.Warn(msg)
	}
}

// Members resolves the workers once: the URL's list, every address of the
// DNS name, or every socket of the directory, as they are when the command
// starts. A failed resolution is tried again at the next call.
func (p *Pool) Members(ctx context.Context) ([]backends.Member, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.members != nil {
		return p.members, nil
	}
	urls, owners, err := p.resolve(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range urls {
		opts := p.opts
		display := m.base
		if p.t.dir != "" {
			opts.Dial = checkedUnixDial(p.opts.Dialer(p.opts.Timeout), owners)
		}
		if m.to != nil {
			display = m.name
			if p.t.dir != "" {
				display = m.to.addr
			}
		}
		b := newBackend(m.base, display, m.to, p.t.tls, opts)
		p.backs = append(p.backs, b)
		p.members = append(p.members, backends.Member{Name: m.name, Backend: b})
	}
	return p.members, nil
}

// resolve names the workers; owners is who may own a socket directory's
// sockets (nil for the other forms).
func (p *Pool) resolve(ctx context.Context) (urls []memberURL, owners *socketOwners, err error) {
	switch {
	case p.t.dir != "":
		return socketMembers(p.t.dir, p.t.path, p.warn)
	case p.t.dnsHost != "":
		urls, err = p.lookup(ctx)
		return urls, nil, err
	}
	return p.t.members, nil, nil
}

// lookup resolves the DNS name (a headless service) to its addresses, each
// one worker, in a stable order. The Host header stays the URL's name.
func (p *Pool) lookup(ctx context.Context) ([]memberURL, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	addrs, err := p.resolver.LookupIPAddr(ctx, p.t.dnsHost)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			err = errors.New("no such host")
		}
		return nil, &backends.ConnError{Address: p.t.dnsHost, Err: fmt.Errorf("resolve the workers: %w", err)}
	}
	names := make([]string, 0, len(addrs))
	for _, a := range addrs {
		ip := a.IP.String()
		if a.Zone != "" {
			ip += "%" + a.Zone
		}
		if name := net.JoinHostPort(ip, p.t.dnsPort); !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: %s resolves to no address", backends.ErrNoMembers, textesc.Line(p.t.dnsHost))
	}
	slices.Sort(names)
	base := p.t.scheme + "://" + net.JoinHostPort(p.t.dnsHost, p.t.dnsPort) + p.t.path
	out := make([]memberURL, len(names))
	for i, n := range names {
		out[i] = memberURL{name: n, base: base, to: &dialTarget{network: "tcp", addr: n}}
	}
	return out, nil
}

// Describe says what this backend is, without network I/O.
func (p *Pool) Describe() backends.Info {
	return backends.Info{Kind: kind, Address: p.t.display, Capabilities: []string{"ttl", "expire-persist", "workers"}}
}

// Close drops every worker's idle connections.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.backs {
		b.Close()
	}
	return nil
}

// each runs fn on every worker at once and returns the errors in member
// order; a worker found unreachable earlier in this command gets its error
// again without being asked, unless always.
func (p *Pool) each(ctx context.Context, always bool, fn func(i int, b *Backend) error) ([]backends.Member, []error, error) {
	ms, err := p.Members(ctx)
	if err != nil {
		return nil, nil, err
	}
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i := range ms {
		p.mu.Lock()
		downErr, down := p.down[i]
		p.mu.Unlock()
		if down && !always {
			errs[i] = downErr
			continue
		}
		wg.Go(func() {
			err := fn(i, p.backs[i])
			var ce *backends.ConnError
			p.mu.Lock()
			switch {
			case errors.As(err, &ce):
				p.down[i] = err
			case err == nil || errors.Is(err, backends.ErrNotFound):
				delete(p.down, i)
			}
			p.mu.Unlock()
			errs[i] = err
		})
	}
	wg.Wait()
	return ms, errs, nil
}

// failures names the members whose errors are failures (not "no such key").
func failures(ms []backends.Member, errs []error) []backends.MemberError {
	var out []backends.MemberError
	for i, err := range errs {
		if err != nil && !errors.Is(err, backends.ErrNotFound) {
			out = append(out, backends.MemberError{Name: ms[i].Name, Err: err})
		}
	}
	return out
}

// Get asks every worker for key. The first worker in member order holding
// it answers (Entry.Server names it); copies that differ from it are
// warned about, and so are workers that did not answer. A key found on no
// worker that answered, while some did not, is an error, not a miss.
func (p *Pool) Get(ctx context.Context, key string) (*backends.Entry, error) {
	ms, err := p.Members(ctx)
	if err != nil {
		return nil, err
	}
	entries := make([]*backends.Entry, len(ms))
	_, errs, _ := p.each(ctx, false, func(i int, b *Backend) error {
		e, err := b.Get(ctx, key)
		entries[i] = e
		return err
	})
	failed := failures(ms, errs)
	first := slices.IndexFunc(entries, func(e *backends.Entry) bool { return e != nil })
	if first < 0 {
		if len(failed) > 0 {
			return nil, nowhere(key, p.partial("looked up", ms, failed))
		}
		return nil, backends.NotFound(key)
	}
	e := entries[first]
	e.Server = ms[first].Name
	p.compare(key, ms, entries, first)
	p.warnFailed(key, failed)
	return e, nil
}

// warnFailed says which workers a read of key could not ask.
func (p *Pool) warnFailed(key string, failed []backends.MemberError) {
	for _, f := range failed {
		p.warn(fmt.Sprintf("worker %s did not answer, so its copy of %s is unknown: %v", textesc.Line(f.Name), textesc.Key(key), f.Err))
	}
}

// compare warns when the workers hold different copies of key: a stale
// worker is what a deploy hook that reached only one of them leaves.
func (p *Pool) compare(key string, ms []backends.Member, entries []*backends.Entry, first int) {
	shown := entries[first]
	var same, other, missing []string
	for i, e := range entries {
		switch {
		case i == first:
		case e == nil:
			missing = append(missing, textesc.Line(ms[i].Name))
		case bytes.Equal(e.Value, shown.Value) && e.Hint == shown.Hint:
			same = append(same, textesc.Line(ms[i].Name))
		default:
			other = append(other, fmt.Sprintf("%s (%d bytes)", textesc.Line(ms[i].Name), e.Size))
		}
	}
	if len(other) == 0 {
		return
	}
	p.warnMu.Lock()
	p.differed++
	n := p.differed
	p.warnMu.Unlock()
	switch {
	case n > maxDiffWarnings+1:
		return
	case n == maxDiffWarnings+1:
		p.warn("more keys differ between workers; not reported one by one")
		return
	}
	msg := fmt.Sprintf("the workers hold different copies of %s: shown is %s's", textesc.Key(key), textesc.Line(ms[first].Name))
	if len(same) > 0 {
		msg += " (the same on " + strings.Join(same, ", ") + ")"
	}
	msg += "; another on " + strings.Join(other, ", ")
	if len(missing) > 0 {
		msg += "; none on " + strings.Join(missing, ", ")
	}
	p.warn(msg)
}

// nowhere is a key none of the workers that answered holds, while some did
// not answer: not a miss (exit 3), since it may be on those.
func nowhere(key string, partial error) error {
	return fmt.Errorf("key %s is on none of the workers that answered: %w", textesc.Key(key), partial)
}

func (p *Pool) partial(what string, ms []backends.Member, failed []backends.MemberError) error {
	if len(failed) == 0 {
		return nil
	}
	return &backends.PartialError{What: what, Done: len(ms) - len(failed), All: len(ms), Failed: failed}
}

// TTL returns the remaining lifetime of key on the first worker holding it.
func (p *Pool) TTL(ctx context.Context, key string) (backends.TTL, error) {
	ms, err := p.Members(ctx)
	if err != nil {
		return backends.TTL{}, err
	}
	ttls, found := make([]backends.TTL, len(ms)), make([]bool, len(ms))
	_, errs, _ := p.each(ctx, false, func(i int, b *Backend) error {
		t, err := b.TTL(ctx, key)
		ttls[i], found[i] = t, err == nil
		return err
	})
	failed := failures(ms, errs)
	if i := slices.Index(found, true); i >= 0 {
		p.warnFailed(key, failed)
		return ttls[i], nil
	}
	if len(failed) > 0 {
		return backends.TTL{}, nowhere(key, p.partial("looked up", ms, failed))
	}
	return backends.TTL{}, backends.NotFound(key)
}

// Set stores value on every worker.
func (p *Pool) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return p.SetFormat(ctx, key, value, ttl, "")
}

// SetFormat stores value on every worker, with its format.
func (p *Pool) SetFormat(ctx context.Context, key string, value []byte, ttl time.Duration, format string) error {
	f, err := p.SetEach(ctx, key, value, ttl, format)
	if err != nil {
		return err
	}
	return f.Err("stored")
}

// SetEach stores value on every worker and says how many did.
func (p *Pool) SetEach(ctx context.Context, key string, value []byte, ttl time.Duration, format string) (backends.Fanout, error) {
	ms, errs, err := p.each(ctx, false, func(_ int, b *Backend) error { return b.SetFormat(ctx, key, value, ttl, format) })
	if err != nil {
		return backends.Fanout{}, err
	}
	f := backends.Fanout{Members: len(ms), Failed: failures(ms, errs)}
	f.Done = f.Members - len(f.Failed)
	return f, nil
}

// Delete removes keys from every worker and counts the keys some worker held.
func (p *Pool) Delete(ctx context.Context, keys ...string) (int64, error) {
	n, _, f, err := p.DeleteEach(ctx, keys...)
	if err != nil {
		return n, err
	}
	return n, f.Err("deleted")
}

// DeleteEach removes keys from every worker: deleted counts the keys some
// worker held, copies each worker's deletions. A worker that failed midway
// counts what it confirmed.
func (p *Pool) DeleteEach(ctx context.Context, keys ...string) (deleted, copies int64, f backends.Fanout, err error) {
	var mu sync.Mutex
	held := make([]bool, len(keys))
	perMember := map[int]int64{}
	ms, errs, err := p.each(ctx, false, func(i int, b *Backend) error {
		gone, err := b.deleteKeys(ctx, keys)
		mu.Lock()
		defer mu.Unlock()
		for k, ok := range gone {
			if ok {
				held[k] = true
				perMember[i]++
			}
		}
		return err
	})
	if err != nil {
		return 0, 0, backends.Fanout{}, err
	}
	f = backends.Fanout{Members: len(ms), Failed: failures(ms, errs)}
	for i := range ms {
		copies += perMember[i]
		switch {
		case errs[i] != nil:
		case perMember[i] > 0:
			f.Done++
		default:
			f.Missing++
		}
	}
	for _, h := range held {
		if h {
			deleted++
		}
	}
	return deleted, copies, f, nil
}

// Expire changes the lifetime of key on every worker holding it.
func (p *Pool) Expire(ctx context.Context, key string, ttl time.Duration) error {
	f, err := p.ExpireEach(ctx, key, ttl)
	if err != nil {
		return err
	}
	return f.Err("changed")
}

// ExpireEach changes the lifetime of key on every worker holding it and
// says on how many; ErrNotFound when no worker that answered held it.
func (p *Pool) ExpireEach(ctx context.Context, key string, ttl time.Duration) (backends.Fanout, error) {
	ms, errs, err := p.each(ctx, false, func(_ int, b *Backend) error { return b.Expire(ctx, key, ttl) })
	if err != nil {
		return backends.Fanout{}, err
	}
	f := backends.Fanout{Members: len(ms), Failed: failures(ms, errs)}
	for _, err := range errs {
		switch {
		case err == nil:
			f.Done++
		case errors.Is(err, backends.ErrNotFound):
			f.Missing++
		}
	}
	if f.Done == 0 && len(f.Failed) == 0 {
		return f, backends.NotFound(key)
	}
	if f.Done == 0 {
		return f, nowhere(key, f.Err("looked up"))
	}
	return f, nil
}

// Inspect reads the metadata of keys on every worker; the first worker
// holding a key describes it (KeyInfo.Server). A worker that failed makes
// it a PartialError, with what the others said.
func (p *Pool) Inspect(ctx context.Context, keys []string) ([]backends.KeyInfo, error) {
	ms, err := p.Members(ctx)
	if err != nil {
		return nil, err
	}
	per := make([][]backends.KeyInfo, len(ms))
	_, errs, _ := p.each(ctx, false, func(i int, b *Backend) error {
		infos, err := b.Inspect(ctx, keys)
		per[i] = infos
		return err
	})
	out := make([]backends.KeyInfo, len(keys))
	for k, key := range keys {
		out[k] = backends.KeyInfo{Key: key, Missing: true, Size: -1}
		for i := range ms {
			if errs[i] == nil && !per[i][k].Missing {
				out[k] = per[i][k]
				out[k].Server = ms[i].Name
				break
			}
		}
	}
	return out, p.partial("inspected", ms, failures(ms, errs))
}

// Scan lists every worker in turn and hands each distinct key once: the
// union of the workers' keys. It remembers 16 bytes per distinct key (two
// 64-bit hashes; a collision, about 1 in 10^28 per pair, would hide a key).
// A worker that fails is reported at the end, after the others are listed.
func (p *Pool) Scan(ctx context.Context, pattern string, fn func(keys []string) error) error {
	ms, err := p.Members(ctx)
	if err != nil {
		return err
	}
	seeds := [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
	seen := map[[2]uint64]struct{}{}
	var failed []backends.MemberError
	for i, m := range ms {
		var fnErr error
		err := p.scanMember(ctx, i, func(b *Backend) error {
			return b.Scan(ctx, pattern, func(keys []string) error {
				fresh := make([]string, 0, len(keys))
				for _, k := range keys {
					h := [2]uint64{maphash.String(seeds[0], k), maphash.String(seeds[1], k)}
					if _, ok := seen[h]; !ok {
						seen[h] = struct{}{}
						fresh = append(fresh, k)
					}
				}
				if len(fresh) == 0 {
					return nil
				}
				fnErr = fn(fresh)
				return fnErr
			})
		})
		switch {
		case err == nil:
		case fnErr != nil, errors.Is(err, context.Canceled):
			return err
		default:
			failed = append(failed, backends.MemberError{Name: m.Name, Err: err})
		}
	}
	return p.partial("listed", ms, failed)
}

// scanMember runs one worker's listing, unless it was found unreachable
// earlier in this command.
func (p *Pool) scanMember(ctx context.Context, i int, list func(b *Backend) error) error {
	p.mu.Lock()
	downErr, down := p.down[i]
	b := p.backs[i]
	p.mu.Unlock()
	if down {
		return downErr
	}
	err := list(b)
	var ce *backends.ConnError
	if errors.As(err, &ce) {
		p.mu.Lock()
		p.down[i] = err
		p.mu.Unlock()
	}
	return err
}

// Stats returns each worker's figures (one row per worker) and their
// totals; every worker is asked, even one that failed before. When some do
// not answer, the figures of the others come with a PartialError.
func (p *Pool) Stats(ctx context.Context) (*backends.Stats, error) {
	ms, err := p.Members(ctx)
	if err != nil {
		return nil, err
	}
	per := make([]*backends.Stats, len(ms))
	_, errs, _ := p.each(ctx, true, func(i int, b *Backend) error {
		s, err := b.Stats(ctx)
		per[i] = s
		return err
	})
	total := &backends.Stats{Known: map[string]bool{}, Raw: map[string]map[string]string{}}
	var versions []string
	for i, s := range per {
		total.Servers = append(total.Servers, backends.ServerStats{Address: ms[i].Name, Stats: s, Err: errs[i], ReplOffset: -1})
		if errs[i] != nil {
			continue
		}
		total.Add(s)
		if s.Version != "" && !slices.Contains(versions, s.Version) {
			versions = append(versions, s.Version)
		}
		for _, raw := range s.Raw {
			total.Raw[ms[i].Name] = raw
		}
	}
	failed := failures(ms, errs)
	if len(failed) == len(ms) {
		return nil, p.partial("answered", ms, failed)
	}
	if len(versions) > 0 {
		total.Version = strings.Join(versions, ", ")
	}
	return total, p.partial("answered", ms, failed)
}

// Topology describes the workers for the dashboard's header and stats:
// whether each is up is what its figures say.
func (p *Pool) Topology(ctx context.Context) (*backends.Topology, error) {
	ms, err := p.Members(ctx)
	if err != nil {
		return nil, err
	}
	t := &backends.Topology{Kind: "workers"}
	for _, m := range ms {
		t.Nodes = append(t.Nodes, backends.Node{Address: m.Name, Role: "worker", Up: true})
	}
	return t, nil
}

// Store says which store the workers serve, as the first that answers says.
func (p *Pool) Store(ctx context.Context) (Store, error) {
	ms, err := p.Members(ctx)
	if err != nil {
		return Store{}, err
	}
	var failed []backends.MemberError
	for i, m := range ms {
		st, err := p.backs[i].Store(ctx)
		if err == nil {
			return st, nil
		}
		failed = append(failed, backends.MemberError{Name: m.Name, Err: err})
	}
	return Store{}, p.partial("asked", ms, failed)
}

var (
	_ backends.ReplicaWriter    = (*Pool)(nil)
	_ backends.TopologyReporter = (*Pool)(nil)
	_ backends.StoreReporter    = (*Pool)(nil)
	_ backends.FormatSetter     = (*Pool)(nil)
)
