package invalidate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/backends/httpmem"
	"github.com/cachectl/cachectl/internal/backends/memcached"
	"github.com/cachectl/cachectl/internal/backends/redis"
	"github.com/cachectl/cachectl/internal/glob"
	"github.com/cachectl/cachectl/internal/memserver"
	"github.com/cachectl/cachectl/internal/testenv"
)

func open(t *testing.T, raw string, opener backends.Opener, opts backends.Options) backends.Backend {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := opener(context.Background(), u, opts.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// keys lists what is left under prefix.
func keys(t *testing.T, b backends.Backend, pattern string) []string {
	t.Helper()
	var out []string
	if err := b.Scan(context.Background(), pattern, func(ks []string) error { out = append(out, ks...); return nil }); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// fill writes n keys under each of the names, with awkward bytes in some.
func fill(t *testing.T, b backends.Backend, prefix string, names []string, n int) map[string]bool {
	t.Helper()
	all := map[string]bool{}
	for _, name := range names {
		for i := range n {
			k := fmt.Sprintf("%s%s:%d", prefix, name, i)
			if i%7 == 0 {
				k += " [x]*?"
			}
			all[k] = true
			if err := b.Set(context.Background(), k, []byte("v"), 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	return all
}

// backendsUnderTest: Redis (own database), a two-server memcached pool (own
// key prefix), and a cachectl serve handler.
func backendsUnderTest(t *testing.T) map[string]struct {
	b      backends.Backend
	prefix string
} {
	srv := httptest.NewServer(memserver.NewHandler(memserver.NewStore(memserver.Options{}), memserver.HandlerOptions{}))
	t.Cleanup(srv.Close)
	p := fmt.Sprintf("inv%d-", rand.Uint64())
	return map[string]struct {
		b      backends.Backend
		prefix string
	}{
		"redis":     {open(t, testenv.RedisURL(t), redis.Open, backends.Options{ScanCount: 50}), ""},
		"memcached": {open(t, "memcached://"+testenv.MemcachedAddr(t)+","+testenv.Memcached2Addr(t), memcached.Open, backends.Options{}), p},
		"http":      {open(t, srv.URL, httpmem.Open, backends.Options{ScanCount: 50}), ""},
	}
}

func TestExactlyTheMatchingKeys(t *testing.T) {
	for name, tb := range backendsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b, p := tb.b, tb.prefix
			all := fill(t, b, p, []string{"user", "users", "session", "usr"}, 300)
			patterns := []string{p + "user:*", p + "session:1*", p + "user:1*"} // the last overlaps the first
			var progress []Progress
			sum, err := Run(ctx, b, Options{Patterns: patterns, Batch: 64, Progress: func(pr Progress) { progress = append(progress, pr) }})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for k := range all {
				if !glob.Match(patterns[0], k) && !glob.Match(patterns[1], k) {
					want = append(want, k)
				}
			}
			sort.Strings(want)
			left := keys(t, b, p+"*")
			if strings.Join(left, "\n") != strings.Join(want, "\n") {
				t.Fatalf("%d keys left, want %d (exactly the non-matching ones)", len(left), len(want))
			}
			gone := int64(len(all) - len(want))
			if sum.Deleted != gone || sum.Matched != gone || sum.Unconfirmed != 0 {
				t.Fatalf("summary %+v, want %d matched and deleted", sum, gone)
			}
			if !sum.ServerSide && len(progress) < 2 {
				t.Fatalf("%d progress reports for %d keys in batches of 64", len(progress), gone)
			}
		})
	}
}

func TestDryRunAndMax(t *testing.T) {
	for name, tb := range backendsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b, p := tb.b, tb.prefix
			fill(t, b, p, []string{"a", "b"}, 200)
			sum, err := Run(ctx, b, Options{Patterns: []string{p + "a:*"}, DryRun: true, Sample: 5})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Matched != 200 || sum.Deleted != 0 || len(sum.Sample) != 5 || len(keys(t, b, p+"*")) != 400 {
				t.Fatalf("dry run: %+v", sum)
			}
			for _, k := range sum.Sample {
				if !strings.HasPrefix(k, p+"a:") {
					t.Fatalf("sample %q does not match", k)
				}
			}
			sum, err = Run(ctx, b, Options{Patterns: []string{p + "a:*"}, Max: 150, Batch: 64})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Deleted != 150 || sum.Matched != 150 || len(keys(t, b, p+"a:*")) != 50 {
				t.Fatalf("--max 150: %+v, %d left", sum, len(keys(t, b, p+"a:*")))
			}
		})
	}
}

func TestRate(t *testing.T) {
	ctx := context.Background()
	b := open(t, testenv.RedisURL(t), redis.Open, backends.Options{})
	fill(t, b, "", []string{"r"}, 300)
	start := time.Now()
	sum, err := Run(ctx, b, Options{Patterns: []string{"r:*"}, Batch: 50, Rate: 1000})
	if err != nil || sum.Deleted != 300 {
		t.Fatalf("%+v, %v", sum, err)
	}
	// 300 keys at 1000/s: the first batch goes at once, the last after 250 ms.
	if d := time.Since(start); d < 240*time.Millisecond {
		t.Fatalf("300 keys at --rate 1000 took %v", d)
	}
}

// TestCancel: Ctrl-C stops the run; the count is exactly what is gone.
func TestCancel(t *testing.T) {
	b := open(t, testenv.RedisURL(t), redis.Open, backends.Options{ScanCount: 10})
	fill(t, b, "", []string{"c"}, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	sum, err := Run(ctx, b, Options{Patterns: []string{"c:*"}, Batch: 20, Progress: func(pr Progress) {
		if pr.Deleted >= 100 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	left := len(keys(t, b, "c:*"))
	if sum.Deleted != int64(1000-left) || sum.Deleted < 100 || sum.Deleted >= 1000 {
		t.Fatalf("deleted %d, but %d of 1000 keys are gone", sum.Deleted, 1000-left)
	}
}

// TestBackendError: a failing delete reports what was confirmed.
func TestBackendError(t *testing.T) {
	b := &failing{Backend: open(t, testenv.RedisURL(t), redis.Open, backends.Options{}), after: 3}
	fill(t, b.Backend, "", []string{"e"}, 500)
	sum, err := Run(context.Background(), b, Options{Patterns: []string{"e:*"}, Batch: 50})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err %v", err)
	}
	left := len(keys(t, b.Backend, "e:*"))
	if sum.Deleted != 150 || left != 350 || sum.Unconfirmed != 50 {
		t.Fatalf("summary %+v with %d keys left", sum, left)
	}
}

type failing struct {
	backends.Backend
	after int
	calls int
}

func (f *failing) Delete(ctx context.Context, keys ...string) (int64, error) {
	f.calls++
	if f.calls > f.after {
		return 0, errors.New("boom")
	}
	return f.Backend.Delete(ctx, keys...)
}
