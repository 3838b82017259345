// Package backends defines the contract every cache backend implements and the
// types that cross it. Backends move bytes; they never decode values.
package backends

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/cachectl/cachectl/internal/human"
)

// Backend is one connection (or pool of connections) to a cache.
// Keys and values are arbitrary bytes carried in Go strings and slices.
type Backend interface {
	// Get returns the entry under key, or an error wrapping ErrNotFound.
	Get(ctx context.Context, key string) (*Entry, error)
	// Set stores value under key. A zero ttl means no expiry.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes keys, batching and pipelining internally, and returns how
	// many existed.
	Delete(ctx context.Context, keys ...string) (int64, error)
	// Scan streams the keys matching a Redis-style glob in batches. It never
	// collects the whole keyspace; fn's error stops the scan and is returned.
	Scan(ctx context.Context, pattern string, fn func(keys []string) error) error
	// Inspect returns metadata for keys, in the same order; keys that vanished
	// since they were listed have Missing set.
	Inspect(ctx context.Context, keys []string) ([]KeyInfo, error)
	// TTL returns the remaining lifetime of key, or an error wrapping ErrNotFound.
	TTL(ctx context.Context, key string) (TTL, error)
	// Expire changes the lifetime of key; zero removes the expiry where the
	// backend can. A missing key gives an error wrapping ErrNotFound.
	Expire(ctx context.Context, key string, ttl time.Duration) error
	// Stats returns normalized server statistics plus the raw figures.
	Stats(ctx context.Context) (*Stats, error)
	// Describe says what this backend is, without network I/O.
	Describe() Info
	Close() error
}

// TTL is the remaining lifetime of a key. The zero value means "no expiry";
// a missing key is an error (ErrNotFound), never a TTL value.
type TTL struct {
	Expires   bool
	Remaining time.Duration
	// Unknown: the server cannot tell (memcached's classic protocol).
	Unknown bool
}

// Human renders the TTL for people: "4m59s", "no expiry", "unknown".
func (t TTL) Human() string { return human.TTL(t.Expires, t.Remaining, t.Unknown) }

// UnknownTTL is the TTL of a key whose lifetime the server does not report.
var UnknownTTL = TTL{Unknown: true}

// NoExpiry is the TTL of a key that lives until it is deleted or evicted.
var NoExpiry = TTL{}

// ExpiresIn is the TTL of a key that expires after d.
func ExpiresIn(d time.Duration) TTL { return TTL{Expires: true, Remaining: d} }

// Seconds returns the remaining lifetime in seconds, or nil for no expiry
// (and when unknown); it is the shape of the "ttl" field in JSON output.
func (t TTL) Seconds() *float64 {
	if !t.Expires || t.Unknown {
		return nil
	}
	s := t.Remaining.Seconds()
	return &s
}

// Entry is one stored value with its metadata.
type Entry struct {
	Key      string
	Value    []byte // string values; nil for collection types
	TTL      TTL
	Type     string // "string", "hash", "list", "set", "zset", "stream", ...
	Size     int64  // bytes of a string value
	Flags    uint32 // memcached client flags
	HasFlags bool   // the backend stores flags (memcached), so Flags means something
	// Hint is a format the stored metadata suggests (memcached flags as
	// pymemcache/pylibmc set them), tried before detection; "" for none.
	Hint string
	// Collection holds a bounded read of a non-string value (hash, list, ...).
	Collection *Collection
	// Server names the node that answered, where a backend has several.
	Server string
}

// Collection is a bounded, read-only view of a non-string Redis value.
type Collection struct {
	Kind      string // same as Entry.Type
	Length    int64  // total number of elements on the server
	Items     []Item // at most the backend's read limit
	Truncated bool   // Items holds fewer than Length elements
}

// Item is one element of a collection. Which fields are set depends on the kind:
// hash: Field+Value; list, set: Value; zset: Value+Score; stream: ID+Fields.
type Item struct {
	Field  []byte
	Value  []byte
	Score  float64
	ID     string
	Fields []FieldValue
}

// FieldValue is one field of a stream entry.
type FieldValue struct {
	Field []byte
	Value []byte
}

// KeyInfo is the listing metadata of one key.
type KeyInfo struct {
	Key      string
	Missing  bool
	Type     string
	TTL      TTL
	Size     int64 // bytes of a string value (or -1 when unknown)
	Length   int64 // elements of a collection (0 for strings)
	Prefix   []byte
	Partial  bool // Prefix is only the first bytes of the value
	Flags    uint32
	HasFlags bool   // as Entry.HasFlags
	Hint     string // as Entry.Hint
	Server   string // the node holding the key, where a backend has several
	// ItemSize: Size is the server's accounting of the whole item (key,
	// value, overhead: memcached's metadump), not the value's length.
	ItemSize bool
	// LastAccess and SlabClass come from memcached's listing; zero when unknown.
	LastAccess time.Time
	SlabClass  int
	// Denied names what the server's ACL kept from this user: commands
	// ("PTTL", "STRLEN"…), or DeniedKey when the key itself is off limits.
	// What they would have told is unknown: Type "", TTL.Unknown, Size or
	// Length -1, no Prefix.
	Denied []string
}

// DeniedKey in KeyInfo.Denied: the user may list the key but not read it.
const DeniedKey = "key"

// StoreInfo is the store a cache says it serves: e.g. {"litestar",
// "MemoryStore", nil} or {"aiocache", "SimpleMemoryCache", "ns"} (an HTTP
// cache's capabilities). Namespace nil: the store has none (or the server does
// not say); all empty: the server does not say.
type StoreInfo struct {
	Library   string  `json:"library"`
	Class     string  `json:"class"`
	Namespace *string `json:"namespace"`
}

// StoreReporter is a backend that can say which store it serves, so a
// profile can lay keys out as that store does (Litestar's MemoryStore keeps
// bare keys).
type StoreReporter interface {
	Store(ctx context.Context) (StoreInfo, error)
}

// FormatSetter is implemented by backends that store a value's format beside
// it (the HTTP protocol's Cache-Format), which servers holding objects rather
// than bytes need to accept a write. format is a serial format name.
type FormatSetter interface {
	SetFormat(ctx context.Context, key string, value []byte, ttl time.Duration, format string) error
}

// FlagSetter is implemented by backends that store client flags beside a
// value (memcached), which some clients read to pick a decoder (pymemcache).
type FlagSetter interface {
	SetFlags(ctx context.Context, key string, value []byte, flags uint32, ttl time.Duration) error
}

// InfoScanner is implemented by backends whose listing carries metadata of
// its own (memcached's metadump: TTL, last access, slab class, server), read
// without touching the items.
type InfoScanner interface {
	ScanInfo(ctx context.Context, pattern string, fn func(infos []KeyInfo) error) error
}

// Stats are normalized server statistics; zero-valued figures the backend does
// not know are reported as unknown through the Has* fields of Known.
type Stats struct {
	Keys        int64
	MemoryBytes int64
	Hits        int64
	Misses      int64
	Evictions   int64
	Expired     int64
	OpsPerSec   float64
	Connections int64
	Uptime      time.Duration
	Version     string
	// Known lists the normalized field names the backend really reported.
	Known map[string]bool
	// Raw holds the server's own figures, per server for pools and clusters.
	Raw map[string]map[string]string
	// Servers holds the figures of each server of a pool, in URL order; nil
	// for a single server.
	Servers []ServerStats
	// Denied are the commands the server's ACL refused this user (Redis
	// INFO, DBSIZE): the figures they give stay unknown, and the error says
	// what would grant them.
	Denied []*PermissionError
}

// ServerStats are one pool member's or cluster node's figures, or why it
// did not answer.
type ServerStats struct {
	Address string
	Stats   *Stats // nil when Err is set
	Err     error
	// Role is "primary" or "replica" for the nodes of a cluster or of a
	// Sentinel setup; "" for a pool member.
	Role string
	// Slots are the slot ranges a cluster primary serves.
	Slots [][2]int
	// Primary is the address a replica copies; Link its replication link
	// ("up", "down") as the replica reports it.
	Primary, Link string
	// ReplOffset is the replication offset the node reports (-1 unknown).
	ReplOffset int64
}

// Add adds one server's figures to the totals of several; uptime is the
// shortest, since the whole has been complete only that long.
func (s *Stats) Add(o *Stats) {
	s.Keys += o.Keys
	s.MemoryBytes += o.MemoryBytes
	s.Hits += o.Hits
	s.Misses += o.Misses
	s.Evictions += o.Evictions
	s.Expired += o.Expired
	s.OpsPerSec += o.OpsPerSec
	s.Connections += o.Connections
	if s.Uptime == 0 || o.Uptime < s.Uptime {
		s.Uptime = o.Uptime
	}
	if s.Known == nil {
		s.Known = map[string]bool{}
	}
	for k, v := range o.Known {
		if v {
			s.Known[k] = true
		}
	}
	for _, d := range o.Denied {
		if !slices.ContainsFunc(s.Denied, func(e *PermissionError) bool { return e.Command == d.Command }) {
			s.Denied = append(s.Denied, d)
		}
	}
}

// HitRatio returns hits/(hits+misses), or ok=false when there were no lookups.
func (s *Stats) HitRatio() (ratio float64, ok bool) {
	total := s.Hits + s.Misses
	if total == 0 {
		return 0, false
	}
	return float64(s.Hits) / float64(total), true
}

// Info describes a backend without contacting it.
type Info struct {
	Kind    string // "redis", "memcached", "http"
	Address string // redacted: never holds a password
	// Capabilities names optional features, e.g. "ttl", "types", "expire-persist".
	Capabilities []string
}

// Figures fills the normalized figures from a server's own: names maps each
// normalized name ("keys", "memory", "hits", "misses", "evictions",
// "expired", "connections", "uptime" in seconds) to the server's name for
// it, and get reads one server figure. Figures get cannot read stay unknown.
func (s *Stats) Figures(names map[string]string, get func(serverName string) (int64, bool)) {
	if s.Known == nil {
		s.Known = map[string]bool{}
	}
	for norm, name := range names {
		v, ok := get(name)
		if !ok {
			continue
		}
		switch norm {
		case "keys":
			s.Keys = v
		case "memory":
			s.MemoryBytes = v
		case "hits":
			s.Hits = v
		case "misses":
			s.Misses = v
		case "evictions":
			s.Evictions = v
		case "expired":
			s.Expired = v
		case "connections":
			s.Connections = v
		case "uptime":
			s.Uptime = time.Duration(v) * time.Second
		default:
			continue
		}
		s.Known[norm] = true
	}
}

// IntFigure reads an integer figure from a server's text stats.
func IntFigure(raw map[string]string) func(string) (int64, bool) {
	return func(name string) (int64, bool) {
		v, ok := raw[name]
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
}
