// Package memcached is the backend for memcached servers and pools. It speaks
// the meta protocol (internal/mcproto) where the server has it (memcached
// 1.6+) and falls back to the classic text protocol through gomemcache for
// servers and proxies without it (memcached < 1.6, twemproxy), where TTLs
// cannot be read. A pool visits every server for listings and deletes, and
// asks every server for a key, since apps' clients hash keys differently.
package memcached

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/mchash"
	"github.com/cachectl/cachectl/internal/mcproto"
)

// prefixLen is how much of each value a listing keeps to guess its format.
const prefixLen = 64

// Backend is one memcached server or pool.
type Backend struct {
	t       *target
	opts    backends.Options
	servers []*server
	pick    mchash.Selector
}

// kind is the backend kind this package serves.
const kind = "memcached"

// Driver declares the memcached backend for the table in internal/backends/drivers.
var Driver = backends.Driver{Kind: kind, Schemes: []string{"memcached"}, Open: Open}

// Open returns a Backend for a memcached:// URL; no I/O happens until used.
func Open(_ context.Context, u *url.URL, opts backends.Options) (backends.Backend, error) {
	t, err := parseURL(u)
	if err != nil {
		return nil, err
	}
	opts = opts.WithDefaults()
	pick, err := mchash.New(t.Hash, t.Addrs)
	if err != nil {
		return nil, &backends.URLError{URL: t.Display, Reason: err.Error()}
	}
	b := &Backend{t: t, opts: opts, pick: pick}
	for _, a := range t.Addrs {
		b.servers = append(b.servers, &server{addr: a, timeout: opts.Timeout, dial: opts.Dialer(opts.Timeout)})
	}
	return b, nil
}

// Describe says what this backend is, without network I/O.
func (b *Backend) Describe() backends.Info {
	caps := []string{"ttl", "expire-persist", "flags"}
	if len(b.servers) > 1 {
		caps = append(caps, "pool")
	}
	return backends.Info{Kind: kind, Address: b.t.Display, Capabilities: caps}
}

// Close drops every connection.
func (b *Backend) Close() error {
	for _, s := range b.servers {
		s.close()
	}
	return nil
}

func (b *Backend) warn(msg string) {
	if b.opts.Warn != nil {
		b.opts.Warn(msg)
	}
}

// eachServer runs fn on every server at once and returns the results in
// server order.
func eachServer[T any](b *Backend, fn func(s *server) (T, error)) ([]T, []error) {
	out := make([]T, len(b.servers))
	errs := make([]error, len(b.servers))
	if len(b.servers) == 1 {
		out[0], errs[0] = fn(b.servers[0])
		return out, errs
	}
	var wg sync.WaitGroup
	for i, s := range b.servers {
		wg.Go(func() { out[i], errs[i] = fn(s) })
	}
	wg.Wait()
	return out, errs
}

// firstErr returns the first error of a pool operation, naming its server.
func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Get asks every server for key; the first server in URL order holding it
// answers. A key found on a live server is returned even if another server
// failed; otherwise a failure is an error, not a miss.
func (b *Backend) Get(ctx context.Context, key string) (*backends.Entry, error) {
	items, errs := eachServer(b, func(s *server) (mcproto.Item, error) {
		its, err := s.getMany(ctx, []string{key}, true)
		if err != nil {
			return mcproto.Item{}, err
		}
		return its[0], nil
	})
	for i, it := range items {
		if errs[i] == nil && it.Found {
			return &backends.Entry{
				Key:      key,
				Value:    it.Value,
				TTL:      ttlOf(it),
				Type:     "string",
				Size:     int64(len(it.Value)),
				Flags:    it.Flags,
				HasFlags: true,
				Hint:     FormatHint(it.Flags),
				Server:   b.servers[i].addr,
			}, nil
		}
	}
	if err := firstErr(errs); err != nil {
		return nil, err
	}
	return nil, backends.NotFound(key)
}

// ttlOf converts mg's t token (classic: unknown).
func ttlOf(it mcproto.Item) backends.TTL {
	switch {
	case it.TTL == ttlUnknown:
		return backends.UnknownTTL
	case it.TTL < 0:
		return backends.NoExpiry
	}
	return backends.ExpiresIn(time.Duration(it.TTL) * time.Second)
}

// Set writes key where the app will read it: on the servers that already
// hold it, else on the server the pool's client library would choose
// (hash= in the URL; pymemcache, Django's default, unless said otherwise).
func (b *Backend) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return b.SetFlags(ctx, key, value, 0, ttl)
}

// SetFlags is Set with memcached client flags.
func (b *Backend) SetFlags(ctx context.Context, key string, value []byte, flags uint32, ttl time.Duration) error {
	if err := mcproto.CheckKey(key); err != nil {
		return &backends.KeyError{Key: key, Reason: err.Error()}
	}
	targets := []*server{b.servers[0]}
	if len(b.servers) > 1 {
		found, errs := eachServer(b, func(s *server) (bool, error) {
			its, err := s.getMany(ctx, []string{key}, false)
			if err != nil {
				return false, err
			}
			return its[0].Found, nil
		})
		targets = targets[:0]
		for i, ok := range found {
			if errs[i] == nil && ok {
				targets = append(targets, b.servers[i])
			}
		}
		if len(targets) == 0 {
			s := b.servers[b.pick(key)]
			if i := slices.Index(b.servers, s); errs[i] != nil {
				return errs[i]
			}
			targets = append(targets, s)
		}
	}
	for _, s := range targets {
		if err := s.set(ctx, key, value, flags, ttl); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes keys from every server (a stale copy on a server the app no
// longer hashes to is removed too) and returns how many copies existed.
func (b *Backend) Delete(ctx context.Context, keys ...string) (int64, error) {
	for _, k := range keys {
		if err := mcproto.CheckKey(k); err != nil {
			return 0, &backends.KeyError{Key: k, Reason: err.Error()}
		}
	}
	counts, errs := eachServer(b, func(s *server) (int64, error) { return s.deleteMany(ctx, keys) })
	var n int64
	for _, c := range counts {
		n += c
	}
	return n, firstErr(errs)
}

// TTL returns the remaining lifetime of key on the first server holding it.
func (b *Backend) TTL(ctx context.Context, key string) (backends.TTL, error) {
	items, errs := eachServer(b, func(s *server) (mcproto.Item, error) {
		its, err := s.getMany(ctx, []string{key}, false)
		if err != nil {
			return mcproto.Item{}, err
		}
		return its[0], nil
	})
	for i, it := range items {
		if errs[i] == nil && it.Found {
			t := ttlOf(it)
			if t.Unknown {
				return t, &backends.UnsupportedError{What: "reading a TTL from " + b.servers[i].addr + " (it speaks only the classic protocol; TTLs need memcached 1.6+ meta commands)"}
			}
			return t, nil
		}
	}
	if err := firstErr(errs); err != nil {
		return backends.TTL{}, err
	}
	return backends.TTL{}, backends.NotFound(key)
}

// Expire changes the lifetime of key on every server holding it; 0 makes it
// never expire.
func (b *Backend) Expire(ctx context.Context, key string, ttl time.Duration) error {
	if err := mcproto.CheckKey(key); err != nil {
		return &backends.KeyError{Key: key, Reason: err.Error()}
	}
	found, errs := eachServer(b, func(s *server) (bool, error) { return s.touch(ctx, key, ttl) })
	for i, ok := range found {
		if errs[i] == nil && ok {
			return nil
		}
	}
	if err := firstErr(errs); err != nil {
		return err
	}
	return backends.NotFound(key)
}

// Inspect reads the metadata (and the first bytes) of keys from every server
// in one pipeline each; the first server holding a key describes it.
func (b *Backend) Inspect(ctx context.Context, keys []string) ([]backends.KeyInfo, error) {
	for _, k := range keys {
		if err := mcproto.CheckKey(k); err != nil {
			return nil, &backends.KeyError{Key: k, Reason: err.Error()}
		}
	}
	per, errs := eachServer(b, func(s *server) ([]mcproto.Item, error) { return s.getMany(ctx, keys, true) })
	out := make([]backends.KeyInfo, len(keys))
	for i, k := range keys {
		out[i] = backends.KeyInfo{Key: k, Missing: true, Size: -1}
		for si, items := range per {
			if errs[si] != nil || !items[i].Found {
				continue
			}
			it := items[i]
			v := it.Value
			out[i] = backends.KeyInfo{
				Key: k, Type: "string", TTL: ttlOf(it), Size: int64(len(v)),
				Prefix: v[:min(len(v), prefixLen)], Partial: len(v) > prefixLen,
				Flags: it.Flags, HasFlags: true, Hint: FormatHint(it.Flags), Server: b.servers[si].addr,
			}
			break
		}
	}
	return out, firstErr(errs)
}

// Scan streams the keys matching pattern from every server in turn.
func (b *Backend) Scan(ctx context.Context, pattern string, fn func(keys []string) error) error {
	return scanBatched(ctx, b, pattern, func(_ *server, e mcproto.DumpEntry) string { return e.Key }, fn)
}

// ScanInfo is Scan with what the listing itself knows of each key (TTL,
// last access, slab class, item size, server), read without touching the
// items. Size is the whole item's size here (key, value and overhead), as
// metadump reports it; Inspect gives the value's.
func (b *Backend) ScanInfo(ctx context.Context, pattern string, fn func(infos []backends.KeyInfo) error) error {
	now := time.Now()
	return scanBatched(ctx, b, pattern, func(s *server, e mcproto.DumpEntry) backends.KeyInfo {
		ki := backends.KeyInfo{Key: e.Key, Type: "string", Size: e.Size, ItemSize: true, SlabClass: e.Class, Server: s.addr, TTL: backends.NoExpiry}
		if e.Exp > 0 {
			ki.TTL = backends.ExpiresIn(max(time.Unix(e.Exp, 0).Sub(now), 0))
		}
		if e.LastAccess > 0 {
			ki.LastAccess = time.Unix(e.LastAccess, 0)
		}
		return ki
	}, fn)
}

// scanBatched lists every server in turn and hands fn what conv makes of
// each matching key, scanBatch at a time.
func scanBatched[T any](ctx context.Context, b *Backend, pattern string, conv func(*server, mcproto.DumpEntry) T, fn func([]T) error) error {
	batch := make([]T, 0, scanBatch)
	for _, s := range b.servers {
		err := b.scanServer(ctx, s, pattern, func(e mcproto.DumpEntry) error {
			batch = append(batch, conv(s, e))
			if len(batch) < cap(batch) {
				return nil
			}
			err := fn(batch)
			batch = batch[:0]
			return err
		})
		if err != nil {
			return err
		}
	}
	if len(batch) > 0 {
		return fn(batch)
	}
	return nil
}

// Stats returns each server's figures and their totals. When some servers
// of a pool do not answer, the figures of the others come with an error.
func (b *Backend) Stats(ctx context.Context) (*backends.Stats, error) {
	per, errs := eachServer(b, func(s *server) (*backends.Stats, error) { return s.stats(ctx) })
	if len(b.servers) == 1 {
		if errs[0] != nil {
			return nil, errs[0]
		}
		return per[0], nil
	}
	total := &backends.Stats{Known: map[string]bool{}, Raw: map[string]map[string]string{}}
	var versions []string
	failed := 0
	for i, s := range per {
		total.Servers = append(total.Servers, backends.ServerStats{Address: b.servers[i].addr, Stats: s, Err: errs[i]})
		if errs[i] != nil {
			failed++
			continue
		}
		total.Add(s)
		if !slices.Contains(versions, s.Version) {
			versions = append(versions, s.Version)
		}
		total.Raw[b.servers[i].addr] = s.Raw[b.servers[i].addr]
	}
	if failed == len(per) {
		return nil, firstErr(errs)
	}
	total.Version = strings.Join(versions, ", ")
	if failed > 0 {
		return total, fmt.Errorf("%d of %d servers did not answer: %w", failed, len(per), firstErr(errs))
	}
	return total, nil
}

// connErr wraps a failure talking to one server.
func connErr(addr string, timeout time.Duration, err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	if te := backends.TunnelError(err); te != nil {
		return te
	}
	var ke *mcproto.KeyError
	if errors.As(err, &ke) {
		return err
	}
	var se *mcproto.ServerError
	if errors.As(err, &se) {
		return &backends.ServerError{Address: addr, Msg: se.Line}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &backends.ConnError{Address: addr, Err: fmt.Errorf("no answer within %v (raise --timeout?)", timeout)}
	}
	return &backends.ConnError{Address: addr, Err: simplify(err)}
}

func simplify(err error) error {
	msg := err.Error()
	for _, tail := range []string{"connection refused", "no such host", "connection reset by peer", "unexpected EOF"} {
		if strings.Contains(msg, tail) {
			if tail == "unexpected EOF" {
				return errors.New("connection closed by server")
			}
			return errors.New(tail)
		}
	}
	return err
}

// ttlUnknown marks an Item read over the classic protocol, which has no TTL.
const ttlUnknown = -1 << 62

// classicKeyErr explains why gomemcache refused a key.
func classicKeyErr(addr string) error {
	return errString(addr + " speaks only the classic protocol, which cannot carry keys with spaces or control bytes")
}

// ListingSkipsUnderDeletes: memcached's LRU crawler misses a few items when
// others are deleted while it walks (seen on 1.6.18: 3 to 10 of 100,000), so
// invalidation lists each pattern completely before deleting.
func (b *Backend) ListingSkipsUnderDeletes() bool { return true }
