package invalidatetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/backends/httpmem"
	"github.com/cachectl/cachectl/internal/backends/memcached"
	"github.com/cachectl/cachectl/internal/backends/redis"
	"github.com/cachectl/cachectl/internal/memserver"
	"github.com/cachectl/cachectl/internal/testenv"
)

func open(t *testing.T, raw string, opener backends.Opener) backends.Backend {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := opener(context.Background(), u, backends.Options{ScanCount: 50}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestCasesOnSingleServers: the checks hold on the backends there are
// today, so that a failure on a cluster is the cluster's.
func TestCasesOnSingleServers(t *testing.T) {
	srv := httptest.NewServer(memserver.NewHandler(memserver.NewStore(memserver.Options{}), memserver.HandlerOptions{}))
	t.Cleanup(srv.Close)
	run := rand.Uint64()
	for _, tb := range []struct {
		name string
		b    func() backends.Backend
	}{
		{"redis", func() backends.Backend { return open(t, testenv.RedisURL(t), redis.Open) }},
		{"memcached", func() backends.Backend {
			return open(t, "memcached://"+testenv.MemcachedAddr(t)+","+testenv.Memcached2Addr(t), memcached.Open)
		}},
		{"http", func() backends.Backend { return open(t, srv.URL, httpmem.Open) }},
	} {
		t.Run(tb.name, func(t *testing.T) {
			b := tb.b()
			for _, c := range Cases() {
				t.Run(c.Name, func(t *testing.T) {
					Check(t, b, fmt.Sprintf("it%d-%s-", run, c.Name), 300, c)
				})
			}
		})
	}
}

// TestCheckCanFail: a backend that says it deleted keys it kept is caught.
func TestCheckCanFail(t *testing.T) {
	b := lossy{open(t, testenv.RedisURL(t), redis.Open)}
	ft := &fakeT{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != errFatal {
				panic(r)
			}
		}()
		Check(ft, b, "canfail-", 100, Case{Name: "lossy"})
	}()
	if ft.msg == "" {
		t.Fatal("a run that left matching keys behind passed the check")
	}
	t.Logf("caught: %s", ft.msg)
}

// lossy keeps every tenth key it is asked to delete, yet counts it.
type lossy struct{ backends.Backend }

func (l lossy) Delete(ctx context.Context, keys ...string) (int64, error) {
	var some []string
	for i, k := range keys {
		if i%10 != 0 {
			some = append(some, k)
		}
	}
	_, err := l.Backend.Delete(ctx, some...)
	return int64(len(keys)), err
}

var errFatal = errors.New("fatal")

// fakeT records a failure instead of failing the test.
type fakeT struct {
	testing.TB
	msg string
}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(errFatal)
}

func (f *fakeT) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	panic(errFatal)
}
