package backends

import (
	"context"
	"errors"
	"sync/atomic"
)

// KeyProfile is what an analysis needs of one key: its size, lifetime and
// the first bytes of its value, never the whole value.
type KeyProfile struct {
	Key string
	// Type is "string", "hash"…; "" when the profile did not ask.
	Type string
	// Bytes is the server's own accounting of the key (Redis MEMORY USAGE,
	// a memcached item's size) when BytesFromServer, else the value's
	// length; -1 when unknown.
	Bytes           int64
	BytesFromServer bool
	TTL             TTL
	// Head is the first bytes of a string value, when asked for this key;
	// HeadComplete: Head is the whole value.
	Head         []byte
	HeadComplete bool
	// Hint is a format the server or the stored flags name (memcached flags,
	// an HTTP cache's Cache-Format); "" for none.
	Hint string
	// Server names the node, pool member or worker holding the key, where
	// the backend has several.
	Server string
}

// ProfileOptions say what ProfileKeys reads beside sizes and TTLs.
type ProfileOptions struct {
	// Types asks for the type of every key (one more command per key on
	// Redis; callers that need it only for a few keys ask Inspect).
	Types bool
	// HeadBytes is how much of a string value to read (0: none). Values are
	// read for the first HeadFirst keys, then for every HeadEvery-th
	// (HeadEvery 0: no more), so the cost of format sniffing stays a
	// fraction of the listing's on big keyspaces.
	HeadBytes int
	HeadFirst int64
	HeadEvery int64
	// Note receives a one-line remark on what the profile could not do as
	// asked (an ACL refusal, a reshard); it may be called from any
	// goroutine.
	Note func(msg string)
}

// WantsHead says whether the i-th key listed (from 0) gets its head read.
func (o ProfileOptions) WantsHead(i int64) bool {
	if o.HeadBytes <= 0 {
		return false
	}
	if i < o.HeadFirst {
		return true
	}
	return o.HeadEvery > 0 && (i-o.HeadFirst)%o.HeadEvery == 0
}

func (o ProfileOptions) note(msg string) {
	if o.Note != nil {
		o.Note(msg)
	}
}

// Profiler is a backend that can profile the keys matching a pattern itself,
// faster than listing them and inspecting each page (Redis: SCAN overlapped
// with pipelines of MEMORY USAGE and PTTL). fn is never called concurrently;
// its error stops the profile and is returned. Keys that vanish meanwhile
// are left out.
type Profiler interface {
	ProfileKeys(ctx context.Context, pattern string, o ProfileOptions, fn func([]KeyProfile) error) error
}

// ProfileKeys profiles the keys of b matching pattern, with b's own
// Profiler when it has one. Otherwise: a listing that carries metadata
// (InfoScanner: memcached's metadump, an HTTP cache's key pages), reading
// values only for the heads asked; else a listing inspected page by page.
// The workers of an app (ReplicaSet) are profiled one after the other,
// every copy counted and named by its worker.
func ProfileKeys(ctx context.Context, b Backend, pattern string, o ProfileOptions, fn func([]KeyProfile) error) error {
	if p, ok := b.(Profiler); ok {
		return p.ProfileKeys(ctx, pattern, o, fn)
	}
	if rs, ok := b.(ReplicaSet); ok {
		return profileMembers(ctx, rs, pattern, o, fn)
	}
	return profileListing(ctx, b, "", pattern, o, fn)
}

// profileMembers profiles each worker in turn; one that fails is reported
// at the end, as listings do.
func profileMembers(ctx context.Context, rs ReplicaSet, pattern string, o ProfileOptions, fn func([]KeyProfile) error) error {
	ms, err := rs.Members(ctx)
	if err != nil {
		return err
	}
	var failed []MemberError
	for _, m := range ms {
		var fnErr error
		err := profileListing(ctx, m.Backend, m.Name, pattern, o, func(ps []KeyProfile) error {
			fnErr = fn(ps)
			return fnErr
		})
		var ce *ConnError
		var se *ServerError
		switch {
		case err == nil:
		case fnErr != nil, errors.Is(err, context.Canceled), !errors.As(err, &ce) && !errors.As(err, &se):
			return err
		default:
			failed = append(failed, MemberError{Name: m.Name, Err: err})
		}
	}
	if len(failed) > 0 {
		return &PartialError{What: "analyzed", Done: len(ms) - len(failed), All: len(ms), Failed: failed}
	}
	return nil
}

// Heads read through Inspect: values up to maxHeadValue bytes (as the
// listing sizes them), headBatch keys at a time.
const (
	maxHeadValue = 64 << 10
	headBatch    = 100
)

// profileListing profiles one server (or pool) through its listing and
// Inspect; server, when set, names every key's holder.
func profileListing(ctx context.Context, b Backend, server, pattern string, o ProfileOptions, fn func([]KeyProfile) error) error {
	var seen atomic.Int64
	// heads reads, with Inspect, the values of the keys picked for a head
	// that the listing said nothing of.
	heads := func(ps []KeyProfile) error {
		var idx []int
		var keys []string
		base := seen.Add(int64(len(ps))) - int64(len(ps))
		for i := range ps {
			// A server that sends only whole values (memcached) is asked
			// for none too big, a few at a time, so memory stays bounded.
			if ps[i].Hint == "" && ps[i].Type == "string" && ps[i].Bytes <= maxHeadValue && o.WantsHead(base+int64(i)) {
				idx = append(idx, i)
				keys = append(keys, ps[i].Key)
			}
		}
		for start := 0; start < len(keys); start += headBatch {
			end := min(start+headBatch, len(keys))
			infos, err := b.Inspect(ctx, keys[start:end])
			if err != nil {
				return err
			}
			for j, ki := range infos {
				p := &ps[idx[start+j]]
				if ki.Missing {
					continue
				}
				p.Head, p.HeadComplete, p.Hint = clip(ki.Prefix, o.HeadBytes), !ki.Partial && len(ki.Prefix) <= o.HeadBytes, ki.Hint
			}
		}
		return nil
	}
	if is, ok := b.(InfoScanner); ok {
		return is.ScanInfo(ctx, pattern, func(infos []KeyInfo) error {
			ps := make([]KeyProfile, 0, len(infos))
			for _, ki := range infos {
				ps = append(ps, fromInfo(ki, server))
			}
			if err := heads(ps); err != nil {
				return err
			}
			return fn(ps)
		})
	}
	return b.Scan(ctx, pattern, func(keys []string) error {
		infos, err := b.Inspect(ctx, keys)
		if err != nil {
			return err
		}
		ps := make([]KeyProfile, 0, len(infos))
		base := seen.Add(int64(len(infos))) - int64(len(infos))
		for i, ki := range infos {
			if ki.Missing {
				continue
			}
			p := fromInfo(ki, server)
			if ki.Type == "string" && o.WantsHead(base+int64(i)) {
				p.Head, p.HeadComplete = clip(ki.Prefix, o.HeadBytes), !ki.Partial && len(ki.Prefix) <= o.HeadBytes
			}
			ps = append(ps, p)
		}
		return fn(ps)
	})
}

// fromInfo is a listing's KeyInfo as a profile.
func fromInfo(ki KeyInfo, server string) KeyProfile {
	p := KeyProfile{Key: ki.Key, Type: ki.Type, Bytes: ki.Size, BytesFromServer: ki.ItemSize, TTL: ki.TTL, Hint: ki.Hint, Server: ki.Server}
	if ki.Type != "string" && ki.Type != "" {
		p.Bytes = -1 // a collection's Size is not its bytes
	}
	if server != "" {
		p.Server = server
	}
	return p
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
