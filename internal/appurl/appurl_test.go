package appurl

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSplitAiocacheURLs(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
		app       App
	}{
		// The seed recipe's CACHE_URL.
		{"redis://127.0.0.1:6379/0?namespace=main&ttl=5", "redis://127.0.0.1:6379/0", App{Namespace: "main", Ignored: []string{"ttl"}}},
		{"redis://localhost:10/1?pool_max_size=1&timeout=0.5&create_connection_timeout=2", "redis://localhost:10/1",
			App{Timeout: 500 * time.Millisecond, Ignored: []string{"pool_max_size", "create_connection_timeout"}}},
		{"redis://h/0?password=s3cret&db=2", "redis://h/0?db=2", App{Password: "s3cret"}},
		{"memcached://127.0.0.1:11211?namespace=ns&pool_size=4", "memcached://127.0.0.1:11211", App{Namespace: "ns", Ignored: []string{"pool_size"}}},
		{"rediss://h:6380/0?ca=/etc/ca.pem&namespace=x", "rediss://h:6380/0?ca=%2Fetc%2Fca.pem", App{Namespace: "x"}},
		// redis-py's forms (Django's RedisCache LOCATION, Litestar's with_client(url=…)).
		{"redis://:pw@h:6379/1?socket_timeout=2&health_check_interval=30", "redis://:pw@h:6379/1",
			App{Timeout: 2 * time.Second, Ignored: []string{"health_check_interval"}}},
		{"unix:///run/redis.sock?db=2&decode_responses=True", "unix:///run/redis.sock?db=2", App{Ignored: []string{"decode_responses"}}},
		// TLS settings are the cache's, not the app's: left for the backend to judge.
		{"rediss://h/0?ssl_cert_reqs=none", "rediss://h/0?ssl_cert_reqs=none", App{}},
		// Not an aiocache URL, or nothing of the app's: unchanged.
		{"redis://h/0?db=1", "redis://h/0?db=1", App{}},
		{"http://h:8000/_cache?namespace=x", "http://h:8000/_cache?namespace=x", App{}},
		{"redis+cluster://a,b", "redis+cluster://a,b", App{}},
	} {
		got, app, err := Split(tc.raw)
		if err != nil {
			t.Errorf("%s: %v", tc.raw, err)
			continue
		}
		if got != tc.want || app.Namespace != tc.app.Namespace || app.Timeout != tc.app.Timeout ||
			app.Password != tc.app.Password || !slices.Equal(app.Ignored, tc.app.Ignored) {
			t.Errorf("%s:\n got %s %+v\nwant %s %+v", tc.raw, got, app, tc.want, tc.app)
		}
	}
}

func TestSplitRefuses(t *testing.T) {
	_, _, err := Split("memory://?ttl=5")
	if !errors.As(err, &MemoryError{}) || !strings.Contains(err.Error(), "cachectl_asgi") {
		t.Fatalf("memory://: %v", err)
	}
	for _, v := range []string{"abc", "-1", "0"} {
		if _, _, err := Split("redis://h/0?timeout=" + v); err == nil {
			t.Errorf("timeout=%s accepted", v)
		}
	}
}

// FuzzSplit: whatever the URL, Split never panics, and what it returns
// keeps the scheme and host.
func FuzzSplit(f *testing.F) {
	f.Add("redis://127.0.0.1:6379/0?namespace=main&ttl=5")
	f.Add("memcached://h?pool_size=%zz&namespace=a&namespace=b")
	f.Fuzz(func(t *testing.T, raw string) {
		got, _, err := Split(raw)
		if err != nil || got == raw {
			return
		}
		if !strings.HasPrefix(strings.ToLower(got), strings.ToLower(raw[:strings.Index(raw, ":")])) {
			t.Fatalf("Split(%q) = %q changed the scheme", raw, got)
		}
	})
}
