// Package testenv hands tests the real servers that scripts/test-servers.sh
// started. A test skips when a server is missing only if CACHECTL_REQUIRE_SERVERS
// is unset; `make test` and CI set it, so there a missing server fails.
package testenv

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Databases is how many logical databases test-servers.sh gives Redis, so
// each test (in any package, in parallel) gets a database of its own.
const Databases = 1024

// Required reports whether missing servers must fail tests instead of skipping them.
func Required() bool { return os.Getenv("CACHECTL_REQUIRE_SERVERS") != "" }

func need(t testing.TB, env, what string) string {
	t.Helper()
	v := os.Getenv(env)
	if v != "" {
		return v
	}
	if Required() {
		t.Fatalf("%s is not set but CACHECTL_REQUIRE_SERVERS is: start the servers with `eval \"$(scripts/test-servers.sh start)\"` or run `make test`", env)
	}
	t.Skipf("no %s: set %s (scripts/test-servers.sh prints it) to run this test", what, env)
	return ""
}

// RedisBaseURL returns the test Redis server's URL without a database number.
func RedisBaseURL(t testing.TB) string {
	t.Helper()
	return need(t, "CACHECTL_TEST_REDIS_URL", "Redis server")
}

// RedisURL returns the URL of an empty database on the test Redis server that
// no other test uses; it is flushed again when the test ends.
func RedisURL(t testing.TB) string {
	t.Helper()
	base := RedisBaseURL(t)
	u, cleanup, err := NewRedisDB(base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	return u
}

// NewRedisDB allocates an empty database on the Redis server at base (a URL
// without a database number) and returns its URL and a cleanup that flushes
// it. Tests in every package run in parallel against one server, so each
// takes its own database from a counter kept in database 0.
func NewRedisDB(base string) (dbURL string, cleanup func(), err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client(base + "/0")
	if err != nil {
		return "", nil, err
	}
	defer c.Close()
	n, err := c.Incr(ctx, "cachectl:test:dbseq").Result()
	if err != nil {
		return "", nil, fmt.Errorf("allocate a test database on %s: %w", base, err)
	}
	dbURL = fmt.Sprintf("%s/%d", base, 1+(n-1)%(Databases-1))
	dbc, err := client(dbURL)
	if err != nil {
		return "", nil, err
	}
	if err := dbc.FlushDB(ctx).Err(); err != nil {
		dbc.Close()
		return "", nil, fmt.Errorf("flush test database %s: %w", dbURL, err)
	}
	return dbURL, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = dbc.FlushDB(ctx).Err()
		_ = dbc.Close()
	}, nil
}

func client(url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse test redis url: %w", err)
	}
	return redis.NewClient(opt), nil
}

// RedisClient returns a plain go-redis client on the database of url, for
// tests that arrange or check data behind cachectl's back.
func RedisClient(t testing.TB, url string) *redis.Client {
	t.Helper()
	c, err := client(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// MemcachedAddr returns host:port of the test memcached server.
func MemcachedAddr(t testing.TB) string {
	t.Helper()
	return need(t, "CACHECTL_TEST_MEMCACHED_ADDR", "memcached server")
}

// RedisSocket returns the unix socket path of the test Redis server.
func RedisSocket(t testing.TB) string {
	t.Helper()
	return need(t, "CACHECTL_TEST_REDIS_SOCKET", "Redis unix socket")
}

// RedisTLS returns the address of the TLS-only test Redis (it requires a
// client certificate) and the directory holding ca.pem, client.pem and client.key.
func RedisTLS(t testing.TB) (addr, certDir string) {
	t.Helper()
	return need(t, "CACHECTL_TEST_REDIS_TLS_ADDR", "TLS Redis server"), need(t, "CACHECTL_TEST_TLS_DIR", "test certificates")
}

// RedisNoUnlinkURL returns a Redis whose UNLINK command is disabled, standing
// in for servers older than Redis 4.
func RedisNoUnlinkURL(t testing.TB) string {
	t.Helper()
	return need(t, "CACHECTL_TEST_REDIS_NOUNLINK_URL", "Redis without UNLINK")
}

// Memcached2Addr returns the second test memcached; with MemcachedAddr it
// forms a two-server pool.
func Memcached2Addr(t testing.TB) string {
	t.Helper()
	return need(t, "CACHECTL_TEST_MEMCACHED2_ADDR", "second memcached server")
}

// MemcachedNoCrawlerAddr returns a memcached started with -o
// no_lru_crawler,no_lru_maintainer: lru_crawler metadump is refused there,
// and stats cachedump lists every (non-binary) key.
func MemcachedNoCrawlerAddr(t testing.TB) string {
	t.Helper()
	return need(t, "CACHECTL_TEST_MEMCACHED_NOCRAWLER_ADDR", "memcached without LRU crawler")
}

// MemcachedNoDumpAddr returns a memcached started with -X: every way of
// listing keys is refused.
func MemcachedNoDumpAddr(t testing.TB) string {
	t.Helper()
	return need(t, "CACHECTL_TEST_MEMCACHED_NODUMP_ADDR", "memcached with dumping disabled")
}

// TwemproxyAddr returns a twemproxy (nutcracker) in front of Memcached2Addr:
// it speaks only the classic text protocol, like memcached before 1.6.
func TwemproxyAddr(t testing.TB) string {
	t.Helper()
	return need(t, "CACHECTL_TEST_TWEMPROXY_ADDR", "twemproxy")
}
