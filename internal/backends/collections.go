package backends

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// CollectionDumper is implemented by backends that hold Redis' collection
// types (hash, list, set, sorted set, stream), so dump, restore and
// invalidate --backup can carry whole values, not just the bounded view Get
// gives. Backends move bytes: fields, members and values are never decoded.
type CollectionDumper interface {
	// DumpCollection reads the whole value of a non-string key in pages of
	// about page elements: head is called once with its kind and TTL, then
	// items with each page, in the value's order (list order, zset by score,
	// stream by ID). Memory stays bounded by one page whatever the size. A
	// key gone meanwhile gives an error wrapping ErrNotFound.
	DumpCollection(ctx context.Context, key string, page int, head func(CollectionHead) error, items func([]Item) error) error
	// RestoreCollection starts writing a value of kind under key. Its
	// elements go to a temporary key; Commit moves that into place at once.
	RestoreCollection(ctx context.Context, key, kind string) (CollectionRestorer, error)
}

// CollectionHead is what a collection dump says before its elements.
type CollectionHead struct {
	Kind   string
	TTL    TTL
	Stream StreamMeta
}

// StreamMeta is what a stream keeps beside its entries (XINFO STREAM).
type StreamMeta struct {
	// LastID is the last generated ID (XADD's floor), which may be above
	// the last entry when entries were deleted; "" for other kinds.
	LastID string
	// MaxDeletedID and EntriesAdded exist from Redis 7 ("" and -1 before).
	MaxDeletedID string
	EntriesAdded int64
}

// CollectionRestorer writes one collection value.
type CollectionRestorer interface {
	// Append adds elements (hash: Field+Value; list, set: Value; zset:
	// Value+Score; stream: ID+Fields, in increasing ID order).
	Append(ctx context.Context, items []Item) error
	// Commit gives the value its TTL (zero: none) and puts it under the
	// key: over an existing key only when replace is set. It reports false
	// when the key existed and was kept; the temporary key is gone either way.
	Commit(ctx context.Context, ttl time.Duration, stream StreamMeta, replace bool) (bool, error)
	// Abort drops what was written so far.
	Abort(ctx context.Context) error
}

// RawDumper is implemented by backends with an exact serialized form of any
// value (Redis DUMP/RESTORE), only readable by the same kind of server.
type RawDumper interface {
	// DumpRaw returns key's type, TTL and serialized value.
	DumpRaw(ctx context.Context, key string) (kind string, ttl TTL, payload []byte, err error)
	// RestoreRaw recreates key from a DumpRaw payload; an existing key is
	// replaced only when replace is set, else it reports false.
	RestoreRaw(ctx context.Context, key string, payload []byte, ttl time.Duration, replace bool) (bool, error)
}

// SplitStreamID reads a stream entry ID, "ms-seq" in decimal; ok is false
// (and both parts 0) when id is not one.
func SplitStreamID(id string) (ms, seq uint64, ok bool) {
	a, b, ok := strings.Cut(id, "-")
	if !ok {
		return 0, 0, false
	}
	ms, err := strconv.ParseUint(a, 10, 64)
	if err == nil {
		seq, err = strconv.ParseUint(b, 10, 64)
	}
	if err != nil {
		return 0, 0, false
	}
	return ms, seq, true
}

// StreamIDLess reports whether stream ID a comes before b; an ID that does
// not parse counts as 0-0.
func StreamIDLess(a, b string) bool {
	am, as, _ := SplitStreamID(a)
	bm, bs, _ := SplitStreamID(b)
	return am < bm || (am == bm && as < bs)
}
