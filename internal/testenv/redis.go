package testenv

import "testing"

// RedisEnv is a standalone Redis of the test's own (PrivateRedis): it may
// be killed, restarted and reconfigured. Its default user has no password.
type RedisEnv struct {
	URL  string // redis://127.0.0.1:PORT
	Addr string // 127.0.0.1:PORT
	// Servers: State, Kill and Restart (User and Password are empty).
	Servers
}

// PrivateRedis starts a standalone Redis with `scripts/test-servers.sh
// redis` (args go to redis-server) and stops it when the test ends.
func PrivateRedis(t testing.TB, args ...string) RedisEnv {
	t.Helper()
	vars := startPrivateWith(t, "redis", args, "CACHECTL_TEST_PRIVATE_REDIS_STATE")
	u := vars["CACHECTL_TEST_PRIVATE_REDIS_URL"]
	if u == "" {
		t.Fatalf("scripts/test-servers.sh redis printed no URL: %v", vars)
	}
	return RedisEnv{URL: u, Addr: u[len("redis://"):], Servers: Servers{State: vars["CACHECTL_TEST_PRIVATE_REDIS_STATE"]}}
}
