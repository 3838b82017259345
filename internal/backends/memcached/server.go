package memcached

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/glob"
	"github.com/cachectl/cachectl/internal/mcproto"
)

type mode int

const (
	modeUnknown mode = iota
	modeMeta
	modeClassic
)

// server is one member of a pool: a meta-protocol connection, or a
// gomemcache client when the server has no meta commands.
type server struct {
	addr    string
	timeout time.Duration
	dial    backends.DialFunc // Options.Dialer: through the tunnel when one is set

	mu      sync.Mutex
	mode    mode
	conn    *mcproto.Conn
	classic *memcache.Client
}

func (s *server) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	if s.classic != nil {
		s.classic.Close()
		s.classic = nil
	}
}

// with runs fn on the server's meta connection, dialling (and probing the
// protocol on first contact) as needed. In classic mode it runs classic
// instead. A connection left out of sync is dropped.
func (s *server) with(ctx context.Context, meta func(c *mcproto.Conn) error, classic func(c *memcache.Client) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mode == modeUnknown {
		if err := s.probe(ctx); err != nil {
			return connErr(s.addr, s.timeout, err)
		}
	}
	if s.mode == modeClassic {
		if s.classic == nil {
			// The address goes to the dial function unresolved: through a
			// tunnel, the far end resolves it.
			s.classic = memcache.NewFromSelector(oneServer{addr: s.addr})
			s.classic.Timeout = s.timeout
			s.classic.DialContext = s.dial
		}
		return connErr(s.addr, s.timeout, classic(s.classic))
	}
	if s.conn == nil {
		c, err := mcproto.DialWith(ctx, mcproto.DialFunc(s.dial), s.addr, s.timeout)
		if err != nil {
			return connErr(s.addr, s.timeout, err)
		}
		s.conn = c
	}
	err := meta(s.conn)
	if s.conn.Broken() {
		s.conn.Close()
		s.conn = nil
	}
	return connErr(s.addr, s.timeout, err)
}

// probe learns whether the server speaks the meta protocol.
func (s *server) probe(ctx context.Context) error {
	c, err := mcproto.DialWith(ctx, mcproto.DialFunc(s.dial), s.addr, s.timeout)
	if err != nil {
		return err
	}
	meta, err := c.Probe(ctx)
	if err != nil {
		c.Close()
		return err
	}
	if meta {
		s.mode, s.conn = modeMeta, c
		return nil
	}
	c.Close()
	s.mode = modeClassic
	return nil
}

func (s *server) getMany(ctx context.Context, keys []string, withValue bool) ([]mcproto.Item, error) {
	var items []mcproto.Item
	err := s.with(ctx, func(c *mcproto.Conn) error {
		var err error
		items, err = c.GetMany(ctx, keys, withValue)
		return err
	}, func(c *memcache.Client) error {
		items = make([]mcproto.Item, len(keys))
		var plain []string
		for i, k := range keys {
			items[i] = mcproto.Item{Key: k, TTL: ttlUnknown}
			if !mcproto.NeedsBase64(k) {
				plain = append(plain, k)
			}
		}
		// A key the classic protocol cannot carry cannot be stored there
		// either: it is simply not on this server.
		got, err := c.GetMulti(plain)
		if err != nil {
			return err
		}
		for i, k := range keys {
			if it, ok := got[k]; ok {
				items[i] = mcproto.Item{Key: k, Found: true, Value: it.Value, Size: int64(len(it.Value)), Flags: it.Flags, TTL: ttlUnknown}
				if !withValue {
					items[i].Value = nil
				}
			}
		}
		return nil
	})
	return items, err
}

func (s *server) set(ctx context.Context, key string, value []byte, flags uint32, ttl time.Duration) error {
	return s.with(ctx, func(c *mcproto.Conn) error {
		return c.Set(ctx, key, value, flags, ttl)
	}, func(c *memcache.Client) error {
		if mcproto.NeedsBase64(key) {
			return classicKeyErr(s.addr)
		}
		return c.Set(&memcache.Item{Key: key, Value: value, Flags: flags, Expiration: mcproto.ExptimeArg(ttl, time.Now())})
	})
}

func (s *server) deleteMany(ctx context.Context, keys []string) (int64, error) {
	var n int64
	err := s.with(ctx, func(c *mcproto.Conn) error {
		var err error
		n, err = c.DeleteMany(ctx, keys)
		return err
	}, func(c *memcache.Client) error {
		for _, k := range keys {
			if err := ctx.Err(); err != nil {
				return err
			}
			if mcproto.NeedsBase64(k) {
				continue // cannot exist here
			}
			switch err := c.Delete(k); {
			case err == nil:
				n++
			case errors.Is(err, memcache.ErrCacheMiss):
			default:
				return err
			}
		}
		return nil
	})
	return n, err
}

func (s *server) touch(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	var found bool
	err := s.with(ctx, func(c *mcproto.Conn) error {
		var err error
		found, err = c.Touch(ctx, key, ttl)
		return err
	}, func(c *memcache.Client) error {
		if mcproto.NeedsBase64(key) {
			return nil
		}
		switch err := c.Touch(key, mcproto.ExptimeArg(ttl, time.Now())); {
		case err == nil:
			found = true
		case errors.Is(err, memcache.ErrCacheMiss):
		default:
			return err
		}
		return nil
	})
	return found, err
}

// admin runs fn on a fresh connection of its own: listings stream for a long
// time, and a caller may use the server's main connection meanwhile.
func (s *server) admin(ctx context.Context, fn func(c *mcproto.Conn) error) error {
	c, err := mcproto.DialWith(ctx, mcproto.DialFunc(s.dial), s.addr, s.timeout)
	if err != nil {
		return connErr(s.addr, s.timeout, err)
	}
	defer c.Close()
	return fn(c)
}

func (s *server) stats(ctx context.Context) (*backends.Stats, error) {
	var raw [][2]string
	err := s.admin(ctx, func(c *mcproto.Conn) error {
		var err error
		raw, err = c.Stats(ctx, "")
		return err
	})
	if err != nil {
		if s.hungUpOn(ctx, err, false) {
			return nil, &backends.UnsupportedError{What: "stats through " + s.addr + " (it closed the connection: a proxy such as twemproxy?); ask the memcached servers behind it"}
		}
		return nil, connErr(s.addr, s.timeout, err)
	}
	return normalize(s.addr, raw), nil
}

// hungUpOn reports a peer that hung up on a command it does not know, as
// twemproxy does: it closed the connection cleanly (a FIN, not a reset)
// before sending anything, and a fresh connection still answers "version"
// but not the meta no-op (memcached 1.6+, which does list keys, answers
// it). Anything else (data flowed first, a reset, no answer to version, a
// real memcached) is a broken connection, not a missing feature.
func (s *server) hungUpOn(ctx context.Context, err error, gotData bool) bool {
	if gotData || ctx.Err() != nil || !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false
	}
	c, derr := mcproto.DialWith(ctx, mcproto.DialFunc(s.dial), s.addr, s.timeout)
	if derr != nil {
		return false
	}
	defer c.Close()
	if _, err := c.Version(ctx); err != nil {
		return false
	}
	meta, err := c.Probe(ctx)
	return err == nil && !meta
}

// normalize maps memcached's stats to the common figures.
func normalize(addr string, raw [][2]string) *backends.Stats {
	st := &backends.Stats{Known: map[string]bool{}, Raw: map[string]map[string]string{addr: {}}}
	m := st.Raw[addr]
	for _, kv := range raw {
		m[kv[0]] = kv[1]
	}
	st.Figures(map[string]string{
		"keys": "curr_items", "memory": "bytes", "hits": "get_hits", "misses": "get_misses",
		"evictions": "evictions", "connections": "curr_connections", "uptime": "uptime",
	}, backends.IntFigure(m))
	if v, ok := m["version"]; ok {
		st.Version = v
		st.Known["version"] = true
	}
	return st
}

// scanBatch is how many keys Scan hands over at a time.
const scanBatch = 1000

// scanServer lists one server's keys matching pattern with lru_crawler
// metadump, falling back (with a warning) to the partial stats cachedump
// where the crawler is off. It does not touch the items (no LRU bump).
func (b *Backend) scanServer(ctx context.Context, s *server, pattern string, fn func(e mcproto.DumpEntry) error) error {
	all := pattern == "*"
	var cbErr error
	seen := false // an entry arrived: the server does speak metadump
	each := func(e mcproto.DumpEntry) error {
		seen = true
		if !all && !glob.Match(pattern, e.Key) {
			return nil
		}
		cbErr = fn(e)
		return cbErr
	}
	err := s.admin(ctx, func(c *mcproto.Conn) error { return c.MetaDump(ctx, each) })
	if errors.Is(err, mcproto.ErrNoCrawler) {
		b.warn("the LRU crawler of " + s.addr + " is disabled (or the server predates it): listing with stats cachedump, which is PARTIAL (at most ~2 MB per slab class, only items the server has moved to its cold LRU, no binary keys)")
		err = s.admin(ctx, func(c *mcproto.Conn) error { return c.CacheDump(ctx, each) })
	}
	switch {
	case cbErr != nil && errors.Is(err, cbErr):
		return cbErr
	case errors.Is(err, mcproto.ErrDumpDisabled):
		return &backends.ServerError{Address: s.addr, Msg: "key listing refused: the server was started with -X (--disable-dumping)"}
	case err != nil && s.hungUpOn(ctx, err, seen):
		return &backends.UnsupportedError{What: "listing keys through " + s.addr + " (it closed the connection on lru_crawler metadump: a proxy such as twemproxy?); list the memcached servers behind it"}
	case err != nil:
		return connErr(s.addr, s.timeout, err)
	}
	return nil
}

// oneServer is a gomemcache server list of one address, kept as written
// (memcache.New resolves host names locally, which a tunnel must not).
type oneServer struct{ addr string }

func (o oneServer) PickServer(string) (net.Addr, error) { return o, nil }
func (o oneServer) Each(f func(net.Addr) error) error   { return f(o) }
func (o oneServer) Network() string                     { return "tcp" }
func (o oneServer) String() string                      { return o.addr }
