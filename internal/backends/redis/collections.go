package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
)

var (
	_ backends.CollectionDumper = (*Backend)(nil)
	_ backends.RawDumper        = (*Backend)(nil)
)

// tempTTL is how long a half-restored value may outlive a killed restore;
// each Append pushes it forward, Commit replaces it with the real TTL.
const tempTTL = time.Hour

// argsPerCommand bounds the elements of one HSET/RPUSH/SADD/ZADD sent by
// Append, keeping each command's size and the server's work per call modest.
const argsPerCommand = 512

// DumpCollection pages through a hash, set or sorted set with HSCAN, SSCAN
// or ZSCAN, a list with LRANGE and a stream with XRANGE. A SCAN may repeat
// an element while the server rehashes; restoring it twice is harmless.
func (b *Backend) DumpCollection(ctx context.Context, key string, page int, head func(backends.CollectionHead) error, items func([]backends.Item) error) error {
	if page < 1 {
		page = 1000
	}
	h := backends.CollectionHead{}
	err := b.call(ctx, func(ctx context.Context) error {
		var typ *goredis.StatusCmd
		var pttl *goredis.DurationCmd
		_, err := b.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			typ = p.Type(ctx, key)
			pttl = p.PTTL(ctx, key)
			return nil
		})
		if err != nil {
			return err
		}
		h.Kind = typ.Val()
		if h.Kind == "none" {
			return backends.NotFound(key)
		}
		h.TTL, err = convertTTL(pttl.Val(), pttl.Err())
		if errors.Is(err, backends.ErrNotFound) {
			return backends.NotFound(key)
		}
		return err
	})
	if err != nil {
		return err
	}
	switch h.Kind {
	case "hash", "list", "set", "zset":
	case "stream":
		if h.Stream, err = b.streamMeta(ctx, key); err != nil {
			return err
		}
	default:
		return &backends.UnsupportedError{What: fmt.Sprintf("dumping a %q value (only string, hash, list, set, zset and stream; --raw-dump saves any type)", h.Kind)}
	}
	if err := head(h); err != nil {
		return err
	}
	count := int64(page)
	switch h.Kind {
	case "hash", "set", "zset":
		var cur uint64
		for {
			var vals []string
			var next uint64
			err := b.call(ctx, func(ctx context.Context) error {
				var err error
				switch h.Kind {
				case "hash":
					vals, next, err = b.client.HScan(ctx, key, cur, "", count).Result()
				case "set":
					vals, next, err = b.client.SScan(ctx, key, cur, "", count).Result()
				default:
					vals, next, err = b.client.ZScan(ctx, key, cur, "", count).Result()
				}
				return err
			})
			if err != nil {
				return err
			}
			page, err := scanItems(h.Kind, vals)
			if err != nil {
				return fmt.Errorf("read %s: %w", h.Kind, err)
			}
			if len(page) > 0 {
				if err := items(page); err != nil {
					return err
				}
			}
			if next == 0 {
				return nil
			}
			cur = next
		}
	case "list":
		for start := int64(0); ; start += count {
			var vals []string
			err := b.call(ctx, func(ctx context.Context) error {
				var err error
				vals, err = b.client.LRange(ctx, key, start, start+count-1).Result()
				return err
			})
			if err != nil {
				return err
			}
			if len(vals) == 0 {
				return nil
			}
			page := make([]backends.Item, len(vals))
			for i, v := range vals {
				page[i].Value = []byte(v)
			}
			if err := items(page); err != nil {
				return err
			}
			if int64(len(vals)) < count {
				return nil
			}
		}
	default: // stream
		from := "-"
		for {
			var reply any
			err := b.call(ctx, func(ctx context.Context) error {
				var err error
				reply, err = b.client.Do(ctx, "XRANGE", key, from, "+", "COUNT", count).Result()
				return err
			})
			if err != nil {
				return err
			}
			page, err := streamItems(reply)
			if err != nil {
				return err
			}
			if len(page) == 0 {
				return nil
			}
			if err := items(page); err != nil {
				return err
			}
			if int64(len(page)) < count {
				return nil
			}
			// The next ID after the last one read: XRANGE's "(" exclusive
			// start needs Redis 6.2, this works on every stream server.
			if from, err = nextStreamID(page[len(page)-1].ID); err != nil {
				return err
			}
		}
	}
}

// call runs one round trip under the per-operation timeout and maps its error.
func (b *Backend) call(ctx context.Context, fn func(ctx context.Context) error) error {
	opCtx, cancel := b.op(ctx)
	defer cancel()
	err := fn(opCtx)
	if errors.Is(err, backends.ErrNotFound) {
		return err
	}
	return b.wrap(err)
}

func (b *Backend) streamMeta(ctx context.Context, key string) (backends.StreamMeta, error) {
	m := backends.StreamMeta{EntriesAdded: -1}
	var reply any
	err := b.call(ctx, func(ctx context.Context) error {
		var err error
		reply, err = b.client.Do(ctx, "XINFO", "STREAM", key).Result()
		return err
	})
	if err != nil {
		return m, err
	}
	// RESP2 gives a flat list of names and values.
	kv, _ := reply.([]any)
	for i := 0; i+1 < len(kv); i += 2 {
		name, _ := kv[i].(string)
		switch v := kv[i+1].(type) {
		case string:
			switch name {
			case "last-generated-id":
				m.LastID = v
			case "max-deleted-entry-id":
				m.MaxDeletedID = v
			}
		case int64:
			if name == "entries-added" {
				m.EntriesAdded = v
			}
		}
	}
	if m.LastID == "" {
		return m, fmt.Errorf("XINFO STREAM %s gave no last-generated-id", strconv.Quote(key))
	}
	return m, nil
}

// scanItems turns an HSCAN, SSCAN or ZSCAN page into items.
func scanItems(kind string, vals []string) ([]backends.Item, error) {
	if kind == "set" {
		out := make([]backends.Item, len(vals))
		for i, v := range vals {
			out[i].Value = []byte(v)
		}
		return out, nil
	}
	if len(vals)%2 != 0 {
		return nil, errors.New("odd-length scan reply")
	}
	out := make([]backends.Item, len(vals)/2)
	for i := range out {
		a, v := vals[2*i], vals[2*i+1]
		if kind == "hash" {
			out[i] = backends.Item{Field: []byte(a), Value: []byte(v)}
			continue
		}
		s, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("bad score %q", v)
		}
		out[i] = backends.Item{Value: []byte(a), Score: s}
	}
	return out, nil
}

// streamItems reads an XRANGE reply strictly: a dump must not drop entries.
func streamItems(reply any) ([]backends.Item, error) {
	entries, ok := reply.([]any)
	if !ok && reply != nil {
		return nil, fmt.Errorf("unexpected XRANGE reply %T", reply)
	}
	out := make([]backends.Item, 0, len(entries))
	for _, e := range entries {
		pair, ok := e.([]any)
		if !ok || len(pair) != 2 {
			return nil, errors.New("malformed XRANGE entry")
		}
		id, ok := pair[0].(string)
		fv, ok2 := pair[1].([]any)
		if !ok || !ok2 || len(fv)%2 != 0 {
			return nil, errors.New("malformed XRANGE entry")
		}
		it := backends.Item{ID: id, Fields: make([]backends.FieldValue, 0, len(fv)/2)}
		for i := 0; i < len(fv); i += 2 {
			f, ok := fv[i].(string)
			v, ok2 := fv[i+1].(string)
			if !ok || !ok2 {
				return nil, errors.New("malformed XRANGE entry")
			}
			it.Fields = append(it.Fields, backends.FieldValue{Field: []byte(f), Value: []byte(v)})
		}
		out = append(out, it)
	}
	return out, nil
}

// parseStreamID splits "ms-seq".
func parseStreamID(id string) (ms, seq uint64, err error) {
	ms, seq, ok := backends.SplitStreamID(id)
	if !ok {
		return 0, 0, fmt.Errorf("bad stream ID %q", id)
	}
	return ms, seq, nil
}

func nextStreamID(id string) (string, error) {
	ms, seq, err := parseStreamID(id)
	if err != nil {
		return "", err
	}
	if seq == math.MaxUint64 {
		if ms == math.MaxUint64 {
			return "", fmt.Errorf("stream ID %s is the last possible", id)
		}
		return fmt.Sprintf("%d-0", ms+1), nil
	}
	return fmt.Sprintf("%d-%d", ms, seq+1), nil
}

// RestoreCollection writes into a fresh temporary key beside key, so a
// restore cut short never leaves half a value under the real name; the
// temporary key expires on its own after tempTTL. The temporary name hashes
// to key's slot, so the final RENAME works on a Cluster too.
func (b *Backend) RestoreCollection(_ context.Context, key, kind string) (backends.CollectionRestorer, error) {
	switch kind {
	case "hash", "list", "set", "zset", "stream":
	default:
		return nil, &backends.UnsupportedError{What: fmt.Sprintf("restoring a %q value", kind)}
	}
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, err
	}
	return &restorer{b: b, key: key, kind: kind, tmp: sameSlotName(key, key+":cachectl-restore-"+hex.EncodeToString(r[:]))}, nil
}

// sameSlotName is name, or name with a counter after it, hashing to key's
// slot: a name that starts with key keeps key's hash tag when key has one;
// otherwise about one counter in 16384 lands on the slot, found in a few
// milliseconds of CRC16.
func sameSlotName(key, name string) string {
	want := keySlot(key)
	if keySlot(name) == want {
		return name
	}
	for i := 0; ; i++ {
		if n := name + "-" + strconv.Itoa(i); keySlot(n) == want {
			return n
		}
	}
}

type restorer struct {
	b         *Backend
	key, kind string
	tmp       string
	lastAdded string // a stream's last entry written
	n         int64
}

func (r *restorer) Append(ctx context.Context, items []backends.Item) error {
	if len(items) == 0 {
		return nil
	}
	if r.kind == "stream" {
		for _, it := range items {
			if len(it.Fields) == 0 {
				return fmt.Errorf("stream entry %s has no fields", it.ID)
			}
		}
	}
	return r.b.call(ctx, func(ctx context.Context) error {
		var cmds []goredis.Cmder
		_, err := r.b.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			if r.kind == "stream" {
				for _, it := range items {
					args := make([]any, 0, 3+2*len(it.Fields))
					args = append(args, "XADD", r.tmp, it.ID)
					for _, fv := range it.Fields {
						args = append(args, fv.Field, fv.Value)
					}
					cmds = append(cmds, p.Do(ctx, args...))
				}
				r.lastAdded = items[len(items)-1].ID
			} else {
				for start := 0; start < len(items); start += argsPerCommand {
					cmds = append(cmds, p.Do(ctx, r.command(items[start:min(start+argsPerCommand, len(items))])...))
				}
			}
			p.PExpire(ctx, r.tmp, tempTTL)
			return nil
		})
		if err != nil {
			return err
		}
		r.n += int64(len(items))
		return nil
	})
}

func (r *restorer) command(items []backends.Item) []any {
	var args []any
	switch r.kind {
	case "hash":
		args = append(make([]any, 0, 2+2*len(items)), "HSET", r.tmp)
		for _, it := range items {
			args = append(args, it.Field, it.Value)
		}
	case "list":
		args = append(make([]any, 0, 2+len(items)), "RPUSH", r.tmp)
		for _, it := range items {
			args = append(args, it.Value)
		}
	case "set":
		args = append(make([]any, 0, 2+len(items)), "SADD", r.tmp)
		for _, it := range items {
			args = append(args, it.Value)
		}
	case "zset":
		args = append(make([]any, 0, 2+2*len(items)), "ZADD", r.tmp)
		for _, it := range items {
			args = append(args, formatScore(it.Score), it.Value)
		}
	}
	return args
}

// formatScore writes a score Redis reads back to the same float64.
func formatScore(s float64) string {
	switch {
	case math.IsInf(s, 1):
		return "+inf"
	case math.IsInf(s, -1):
		return "-inf"
	}
	return strconv.FormatFloat(s, 'g', -1, 64)
}

func (r *restorer) Commit(ctx context.Context, ttl time.Duration, stream backends.StreamMeta, replace bool) (bool, error) {
	if ttl < 0 {
		return false, fmt.Errorf("negative TTL %v", ttl)
	}
	if r.kind == "stream" {
		if err := r.finishStream(ctx, stream); err != nil {
			_ = r.Abort(ctx)
			return false, err
		}
	} else if r.n == 0 {
		return false, fmt.Errorf("an empty %s (Redis keeps no empty collections)", r.kind)
	}
	var renamed *goredis.BoolCmd
	var renameErr *goredis.StatusCmd
	err := r.b.call(ctx, func(ctx context.Context) error {
		cmds, err := r.b.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			if ttl > 0 {
				p.PExpire(ctx, r.tmp, ttl)
			} else {
				p.Persist(ctx, r.tmp)
			}
			if replace {
				renameErr = p.Rename(ctx, r.tmp, r.key)
			} else {
				renamed = p.RenameNX(ctx, r.tmp, r.key)
			}
			return nil
		})
		return txErr(cmds, err)
	})
	if err != nil {
		_ = r.Abort(ctx)
		return false, err
	}
	if renameErr != nil {
		return true, r.b.wrap(renameErr.Err())
	}
	if !renamed.Val() {
		return false, r.Abort(ctx)
	}
	return true, nil
}

// finishStream gives the stream its last generated ID (so new XADD * IDs
// stay above what the application saw) and, from Redis 7, its count of
// entries ever added and its highest deleted ID; it creates an empty stream.
func (r *restorer) finishStream(ctx context.Context, m backends.StreamMeta) error {
	for _, id := range []string{m.LastID, m.MaxDeletedID} {
		if id != "" {
			if _, _, err := parseStreamID(id); err != nil {
				return err
			}
		}
	}
	lastID := m.LastID
	if lastID == "" {
		lastID = r.lastAdded
	}
	return r.b.call(ctx, func(ctx context.Context) error {
		switch {
		case r.n == 0 && (lastID == "" || lastID == "0-0"):
			// XADD cannot take 0-0: a group created with MKSTREAM makes the empty stream.
			lastID = "0-0"
			_, err := r.b.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
				p.Do(ctx, "XGROUP", "CREATE", r.tmp, "cachectl-restore", "0", "MKSTREAM")
				p.Do(ctx, "XGROUP", "DESTROY", r.tmp, "cachectl-restore")
				p.PExpire(ctx, r.tmp, tempTTL)
				return nil
			})
			if err != nil {
				return err
			}
		case r.n == 0:
			// Added and trimmed at once: an empty stream whose last ID is lastID.
			_, err := r.b.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
				p.Do(ctx, "XADD", r.tmp, "MAXLEN", "0", lastID, "f", "")
				p.PExpire(ctx, r.tmp, tempTTL)
				return nil
			})
			if err != nil {
				return err
			}
		}
		if m.EntriesAdded >= 0 && m.MaxDeletedID != "" {
			err := r.b.client.Do(ctx, "XSETID", r.tmp, lastID, "ENTRIESADDED", m.EntriesAdded, "MAXDELETEDID", m.MaxDeletedID).Err()
			if err == nil || !isSyntaxError(err) {
				return err
			}
			// Redis 6 has no XSETID options: the ID alone below.
		}
		if lastID != r.lastAdded && r.lastAdded != "" && backends.StreamIDLess(r.lastAdded, lastID) {
			return r.b.client.Do(ctx, "XSETID", r.tmp, lastID).Err()
		}
		return nil
	})
}

func isSyntaxError(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "syntax")
}

// Abort deletes the temporary key, even when ctx is already cancelled (Ctrl-C).
func (r *restorer) Abort(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.b.opts.Timeout)
	defer cancel()
	return r.b.wrap(r.b.client.Del(ctx, r.tmp).Err())
}

// DumpRaw reads TYPE, PTTL and DUMP in one round trip.
func (b *Backend) DumpRaw(ctx context.Context, key string) (string, backends.TTL, []byte, error) {
	var typ *goredis.StatusCmd
	var pttl *goredis.DurationCmd
	var dump *goredis.StringCmd
	err := b.call(ctx, func(ctx context.Context) error {
		_, err := b.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			typ = p.Type(ctx, key)
			pttl = p.PTTL(ctx, key)
			dump = p.Dump(ctx, key)
			return nil
		})
		if errors.Is(err, goredis.Nil) {
			err = nil
		}
		return err
	})
	if err != nil {
		return "", backends.TTL{}, nil, err
	}
	payload, err := dump.Bytes()
	if typ.Val() == "none" || errors.Is(err, goredis.Nil) {
		return "", backends.TTL{}, nil, backends.NotFound(key)
	}
	if err != nil {
		return "", backends.TTL{}, nil, b.wrap(err)
	}
	ttl, err := convertTTL(pttl.Val(), pttl.Err())
	if errors.Is(err, backends.ErrNotFound) {
		return "", backends.TTL{}, nil, backends.NotFound(key)
	}
	return typ.Val(), ttl, payload, b.wrap(err)
}

// RestoreRaw runs RESTORE; BUSYKEY (the key exists) without replace keeps it.
func (b *Backend) RestoreRaw(ctx context.Context, key string, payload []byte, ttl time.Duration, replace bool) (bool, error) {
	if ttl < 0 {
		return false, fmt.Errorf("negative TTL %v", ttl)
	}
	args := []any{"RESTORE", key, ttl.Milliseconds(), payload}
	if ttl > 0 && ttl < time.Millisecond {
		args[2] = 1
	}
	if replace {
		args = append(args, "REPLACE")
	}
	var err error
	_ = b.call(ctx, func(ctx context.Context) error {
		err = b.client.Do(ctx, args...).Err()
		return nil
	})
	if err != nil && !replace && strings.HasPrefix(err.Error(), "BUSYKEY") {
		return false, nil
	}
	return err == nil, b.wrap(err)
}
