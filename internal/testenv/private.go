package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// ServersScript is scripts/test-servers.sh in this checkout.
func ServersScript() string { return filepath.Join(RepoRoot(), "scripts", "test-servers.sh") }

// needPrograms skips the test (or fails it, when servers are required) unless
// every program is on PATH.
func needPrograms(t testing.TB, programs ...string) {
	t.Helper()
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			if Required() {
				t.Fatalf("%s is not installed but CACHECTL_REQUIRE_SERVERS is set: run scripts/test-servers.sh start once as root to install it", p)
			}
			t.Skipf("no %s on PATH: install redis-server and redis-tools to run this test", p)
		}
	}
}

// startPrivate runs `scripts/test-servers.sh WHAT` with the extra environment
// and returns its export lines; the servers are stopped (through the state
// dir named by stateVar) when the test ends.
func startPrivate(t testing.TB, what, stateVar string, extraEnv ...string) map[string]string {
	t.Helper()
	return startPrivateWith(t, what, nil, stateVar, extraEnv...)
}

// startPrivateWith is startPrivate passing args after what to the script.
func startPrivateWith(t testing.TB, what string, args []string, stateVar string, extraEnv ...string) map[string]string {
	t.Helper()
	needPrograms(t, "redis-server", "redis-cli", "timeout")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ServersScript(), append([]string{what}, args...)...)
	cmd.Env = append(os.Environ(), extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	// The exports are parsed even after a failure: a state dir they name
	// must still be stopped (the script cleans up after itself otherwise).
	env, perr := parseExports(stdout.String())
	if dir := env[stateVar]; dir != "" {
		t.Cleanup(func() { stopPrivate(t, dir) })
	}
	if err != nil {
		t.Fatalf("scripts/test-servers.sh %s: %v\n%s", what, err, stderr.String())
	}
	if perr != nil {
		t.Fatalf("scripts/test-servers.sh %s: %v\n%s", what, perr, stdout.String())
	}
	if env[stateVar] == "" {
		t.Fatalf("scripts/test-servers.sh %s printed no %s:\n%s", what, stateVar, stdout.String())
	}
	t.Logf("private %s in %s, started in %s", what, env[stateVar], time.Since(start).Round(10*time.Millisecond))
	return env
}

func stopPrivate(t testing.TB, dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, ServersScript(), "stop", dir).CombinedOutput()
	if err != nil {
		t.Errorf("scripts/test-servers.sh stop %s: %v\n%s", dir, err, out)
	}
}

// Servers is what a ClusterEnv and a SentinelEnv have in common.
type Servers struct {
	// User and Password log in to the data nodes (their default user is off).
	User, Password string
	// State is a private setup's state dir (empty for a shared one): the
	// servers' logs, pid files and configuration files.
	State string
}

// Client returns a client of the one server at addr, logged in, closed when
// the test ends. On a cluster node, commands are not redirected (MOVED is an error).
func (s Servers) Client(t testing.TB, addr string) *redis.Client {
	t.Helper()
	cl := nodeClient(addr, s.User, s.Password)
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// Kill crashes the server (cluster node, data node or sentinel) at addr
// with SIGKILL and returns once it is gone; a private setup's only. A killed
// cluster primary's replica takes over after cluster-node-timeout (2s) and an
// election (WaitOK waits for it); a killed Sentinel master is failed over
// once the sentinels agree it is down (down-after-milliseconds 1000).
func (s Servers) Kill(t testing.TB, addr string) {
	t.Helper()
	s.nodeCommand(t, "kill", addr)
}

// Restart starts a killed server again, on its port with its configuration.
// A cluster node rejoins from its cluster config file (a primary that was
// replaced comes back as a replica of its successor); a former Sentinel
// master comes back as a master, which the sentinels turn into a replica
// some 10s later.
func (s Servers) Restart(t testing.TB, addr string) {
	t.Helper()
	s.nodeCommand(t, "restart", addr)
}

// nodeCommand runs `scripts/test-servers.sh VERB STATE ADDR`.
func (s Servers) nodeCommand(t testing.TB, verb, addr string) {
	t.Helper()
	if s.State == "" {
		t.Fatalf("%s %s: only the servers of a private setup may be killed or restarted", verb, addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, ServersScript(), verb, s.State, addr).CombinedOutput(); err != nil {
		t.Fatalf("scripts/test-servers.sh %s %s: %v\n%s", verb, addr, err, out)
	}
}

// parseExports reads the `export NAME=VALUE` lines test-servers.sh prints.
// VALUE is bare, 'single-quoted' or backslash-escaped (bash's printf %q of
// a printable string); other shell syntax is refused, not guessed at.
func parseExports(out string) (map[string]string, error) {
	env := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		rest, ok := strings.CutPrefix(line, "export ")
		name, raw, ok2 := strings.Cut(rest, "=")
		if !ok || !ok2 || name == "" {
			return env, fmt.Errorf("not an export line: %q", line)
		}
		v, err := shellUnquote(raw)
		if err != nil {
			return env, fmt.Errorf("%s: %w", name, err)
		}
		env[name] = v
	}
	return env, nil
}

func shellUnquote(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 == len(s) {
				return "", errors.New("trailing backslash")
			}
			i++
			b.WriteByte(s[i])
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return "", errors.New("unterminated single quote")
			}
			b.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case '"', '$', '`', ' ', '\t', ';', '&', '|', '<', '>', '(', ')', '*', '?', '[':
			return "", fmt.Errorf("unsupported shell syntax %q in %q", c, s)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// splitAddrs splits a comma-separated address list.
func splitAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// nodeOptions are the options of a client of one server: short timeouts
// and no retries, so a dead node shows as an error at once.
func nodeOptions(addr, user, password string) *redis.Options {
	return &redis.Options{
		Addr:            addr,
		Username:        user,
		Password:        password,
		Protocol:        2,
		DialTimeout:     time.Second,
		DialerRetries:   1,
		ReadTimeout:     2 * time.Second,
		WriteTimeout:    2 * time.Second,
		MaxRetries:      -1,
		PoolSize:        2,
		DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	}
}

func nodeClient(addr, user, password string) *redis.Client {
	return redis.NewClient(nodeOptions(addr, user, password))
}

// unreachable tells a node that does not answer (refused, timed out, reset)
// from one that answers with an error.
func unreachable(err error) bool {
	var rerr redis.Error
	return err != nil && !errors.As(err, &rerr)
}

// poll calls check every 100ms until it returns nil or timeout passes, and
// returns its last error then.
func poll(timeout time.Duration, check func(ctx context.Context) error) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := check(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
