// Package report runs an analysis of a backend's keys (internal/analyze
// over backends.ProfileKeys) and prints it as text tables with bars. Both
// `cachectl analyze` and the dashboard's analysis view use it, so the
// figures and the way they are drawn are the same in both.
package report

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cachectl/cachectl/internal/analyze"
	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/glob"
	"github.com/cachectl/cachectl/internal/profiles"
	"github.com/cachectl/cachectl/internal/serial"
)

// Format sniffing reads HeadBytes of a value (enough for every magic
// number, a msgpack header, a UUID lock value whole); of every key up to
// HeadFirst, then of every HeadEvery-th: on Redis reading every head costs
// about an eighth more of the server's time, for a mix a sample tells as well.
const (
	HeadBytes = 40
	HeadFirst = 100000
	HeadEvery = 10
)

// Options say what to analyze and how to aggregate it.
type Options struct {
	Patterns  []string // stored-key globs; a key several match counts once
	Depth     int
	Delimiter string
	Top       int
	Sample    int64 // stop after this many keys (0: all)
	Capacity  int
	// Formats: how many values' first bytes are read to tell the format
	// mix: "sample", "all" or "none"; "" for the backend's default.
	Formats string
	// Profile, when not nil nor "none", adds its framework targets.
	Profile *profiles.Profile
}

// Run is one analysis: the aggregate, and what is to be said of it.
type Run struct {
	Opts    Options // with Formats resolved
	Prof    *profiles.Profile
	Started time.Time
	Elapsed time.Duration
	Sampled bool // --sample cut the listing short
	Partial bool // interrupted or failed midway
	// Interrupted: ctx ended it.
	Interrupted bool
	Result      analyze.Result
	// Err is why the listing stopped early (nil when it ran through).
	Err error

	a     *analyze.Analyzer
	mu    sync.Mutex
	notes []string
}

// errSampleDone stops the listing once Sample keys were seen.
var errSampleDone = errors.New("sample complete")

// Notes are what the backend said of the figures (a permission it lacks).
func (r *Run) Notes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.notes)
}

func (r *Run) note(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.notes, msg) {
		r.notes = append(r.notes, msg)
	}
}

// FormatsSampled reports that some values' first bytes were skipped
// (past HeadFirst keys).
func (r *Run) FormatsSampled() bool {
	return r.Opts.Formats == "sample" && r.Result.Keys > HeadFirst
}

// Analyze profiles the keys of every pattern in one streaming pass and
// aggregates them; progress gets the keys seen so far after each page
// (from the listing's goroutine). A failure or ctx's end leaves what was
// seen in Result, with Err and Partial set.
func Analyze(ctx context.Context, b backends.Backend, opts Options, progress func(seen int64)) *Run {
	r := &Run{Opts: opts, Started: time.Now()}
	if p := opts.Profile; p != nil && p.Name() != "none" {
		r.Prof = p
	}
	r.a = analyze.New(analyze.Options{Delimiter: opts.Delimiter, Depth: opts.Depth, Top: opts.Top, Capacity: opts.Capacity, Targets: r.Prof != nil})
	if r.Opts.Formats == "" {
		r.Opts.Formats = "sample"
		if b.Describe().Kind == "memcached" {
			// Its protocol sends whole values only: reading them is asked for.
			r.Opts.Formats = "none"
		}
	}
	po := backends.ProfileOptions{HeadBytes: HeadBytes, Note: r.note}
	switch r.Opts.Formats {
	case "all":
		po.HeadFirst = math.MaxInt64
	case "sample":
		po.HeadFirst, po.HeadEvery = HeadFirst, HeadEvery
	default:
		po.HeadBytes = 0
	}
	var seen int64
	var runErr error
	for i, pattern := range opts.Patterns {
		earlier := opts.Patterns[:i]
		runErr = backends.ProfileKeys(ctx, b, pattern, po, func(ps []backends.KeyProfile) error {
			for _, p := range ps {
				if opts.Sample > 0 && seen >= opts.Sample {
					return errSampleDone
				}
				// A key that several patterns match is counted once, under the first.
				if slices.ContainsFunc(earlier, func(e string) bool { return glob.Match(e, p.Key) }) {
					continue
				}
				r.a.Add(r.item(p))
				seen++
			}
			if progress != nil {
				progress(seen)
			}
			if opts.Sample > 0 && seen >= opts.Sample {
				return errSampleDone
			}
			return nil
		})
		if errors.Is(runErr, errSampleDone) {
			runErr = nil
			r.Sampled = true
			break
		}
		if runErr != nil {
			break
		}
	}
	r.Elapsed = time.Since(r.Started)
	r.Interrupted = errors.Is(runErr, context.Canceled) || ctx.Err() != nil
	r.Partial = runErr != nil || r.Interrupted
	r.Err = runErr
	r.Result = r.a.Result()
	if !r.Interrupted {
		addTypes(ctx, b, r.Result.Biggest)
	}
	return r
}

// item is what the analyzer counts of one profiled key.
func (r *Run) item(p backends.KeyProfile) analyze.Item {
	it := analyze.Item{Key: p.Key, Type: p.Type, Bytes: p.Bytes, LengthSized: p.Bytes >= 0 && !p.BytesFromServer,
		HasTTL: p.TTL.Expires, Remaining: p.TTL.Remaining, TTLUnknown: p.TTL.Unknown, Node: p.Server}
	read := p.Head != nil || p.HeadComplete
	switch {
	case p.Hint != "":
		it.Format = p.Hint
	case read:
		it.Format = string(serial.Sniff(p.Head, p.HeadComplete))
	}
	if r.Prof != nil {
		var head []byte
		if read {
			head = p.Head
		}
		if t, ok := r.Prof.Recognize(p.Key, head); ok {
			if t.What == "response" && (t.Framework == "litestar" || t.Framework == "starlite") {
				t.Name = routeShape(t.Name)
			}
			if t.Framework == "aiocache" && t.What == "lock" {
				t.Name = lockOwner(r.Prof, t.Name)
			}
			it.Target = analyze.TargetKey{Framework: t.Framework, What: t.What, Name: t.Name}
		}
	}
	return it
}

// lockOwner groups aiocache locks (one per locked key) by what they lock:
// the function whose cached result it is, else all in one row. Named by the
// locked key, a deploy's thousand locks would be a thousand rows.
func lockOwner(prof *profiles.Profile, locked string) string {
	if t, ok := prof.Recognize(prof.Key(locked), nil); ok && t.What == "cached result" {
		return t.Name
	}
	return ""
}

// routeShape names a cached response by its route and the names of its
// query parameters, not their values, so that the pages of one route add
// up: "GET /itemspage=11&size=20" is "GET /itemspage=*&size=*". (The keys
// glue path and query together, so where the path ends is not known.)
func routeShape(name string) string {
	i := strings.LastIndex(name, "/")
	if i < 0 || !strings.Contains(name[i:], "=") {
		return name
	}
	var b strings.Builder
	b.WriteString(name[:i])
	for j, part := range strings.Split(name[i:], "&") {
		if j > 0 {
			b.WriteByte('&')
		}
		k, _, ok := strings.Cut(part, "=")
		b.WriteString(k)
		if ok {
			b.WriteString("=*")
		}
	}
	return b.String()
}

// addTypes asks the types of the biggest keys, which the listing left out
// to spare the server a command per key. A failure leaves them unknown.
func addTypes(ctx context.Context, b backends.Backend, big []analyze.Big) {
	var keys []string
	for _, k := range big {
		if k.Type == "" {
			keys = append(keys, k.Key)
		}
	}
	if len(keys) == 0 {
		return
	}
	infos, err := b.Inspect(ctx, keys)
	if err != nil {
		return
	}
	types := map[string]string{}
	for _, ki := range infos {
		if !ki.Missing {
			types[ki.Key] = ki.Type
		}
	}
	for i := range big {
		if big[i].Type == "" {
			big[i].Type = types[big[i].Key]
		}
	}
}
