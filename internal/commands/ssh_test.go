package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/cachectl/cachectl/internal/sshtunnel"
	"github.com/cachectl/cachectl/internal/testenv"
)

// sshRun is a command line environment whose HOME holds the setup's key
// and known_hosts as ~/.ssh/id_ed25519 and ~/.ssh/known_hosts, as a user's would.
func sshRun(t *testing.T, e *testenv.SSHEnv, more ...string) *sshCLI {
	t.Helper()
	home := t.TempDir()
	key, err := os.ReadFile(e.Key)
	if err != nil {
		t.Fatal(err)
	}
	kh, err := os.ReadFile(e.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"id_ed25519": key, "known_hosts": kh} {
		if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, ".ssh", name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"HOME": home, "USER": "nobody", testenv.SentinelPasswordEnv: "sentinel-secret", "XDG_CONFIG_HOME": t.TempDir()}
	for i := 0; i+1 < len(more); i += 2 {
		env[more[i]] = more[i+1]
	}
	return &sshCLI{t: t, env: env}
}

// sshCLI runs command lines, each with a Factory of its own as each
// process has, in one environment.
type sshCLI struct {
	t      *testing.T
	env    map[string]string
	stdout string
	stderr string
}

func (c *sshCLI) run(args ...string) int {
	r := newTestRun(c.t, c.env)
	code := r.run(args...)
	c.stdout, c.stderr = r.stdout.String(), r.stderr.String()
	return code
}

func (c *sshCLI) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	if code := c.run(args...); code != 0 {
		t.Fatalf("cachectl %s: exit %d: %s", strings.Join(args, " "), code, c.stderr)
	}
	return c.stdout
}

func (c *sshCLI) failRun(t *testing.T, want int, args ...string) string {
	t.Helper()
	if code := c.run(args...); code != want {
		t.Fatalf("cachectl %s: exit %d, want %d: %s", strings.Join(args, " "), code, want, c.stderr)
	}
	return c.stderr
}

// behind is a tunnel of the test's own, for arranging and checking data
// behind cachectl's back.
func behind(t *testing.T, e *testenv.SSHEnv) *sshtunnel.Tunnel {
	t.Helper()
	plan, err := sshtunnel.Resolve(sshtunnel.Settings{Host: e.Dest(), IdentityFiles: []string{e.Key}, KnownHosts: []string{e.KnownHosts}},
		sshtunnel.Env{Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	tun, err := sshtunnel.Open(context.Background(), plan, sshtunnel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tun.Close() })
	return tun
}

// TestSSH reaches every kind of backend only through the SSH tunnel: the
// servers live in a network namespace the host cannot reach.
func TestSSH(t *testing.T) {
	e := testenv.StartSSH(t)
	ssh := "--ssh=" + e.Dest()
	prefix := fmt.Sprintf("ssh%d:", os.Getpid())

	t.Run("standalone", func(t *testing.T) {
		t.Parallel()
		r := sshRun(t, e)
		url := e.Var(t, "REDIS_URL") + "/7"
		r.mustRun(t, ssh, "-u", url, "set", prefix+"greeting", "hello through ssh")
		if got := r.mustRun(t, ssh, "-u", url, "get", prefix+"greeting"); got != "hello through ssh\n" {
			t.Fatalf("get = %q", got)
		}
		if got := r.mustRun(t, ssh, "-u", url, "keys", prefix+"*"); got != prefix+"greeting\n" {
			t.Fatalf("keys = %q", got)
		}
		// Without the tunnel the same URL is another (or no) server.
		if code := r.run("-u", url, "--timeout", "2s", "get", prefix+"greeting"); code == 0 || strings.Contains(r.stdout, "hello") {
			t.Fatalf("a direct get answered (exit %d, %q): the namespace is not isolated", code, r.stdout)
		}
	})

	t.Run("unix socket and TLS through the tunnel", func(t *testing.T) {
		t.Parallel()
		r := sshRun(t, e)
		sock := e.Var(t, "REDIS_SOCKET")
		r.mustRun(t, ssh, "-u", "unix://"+sock+"?db=8", "set", prefix+"u", "unix")
		if got := r.mustRun(t, ssh, "-u", "unix://"+sock+"?db=8", "get", prefix+"u"); got != "unix\n" {
			t.Fatalf("get = %q", got)
		}
		// TLS on top of the tunnel, the certificate checked against 127.0.0.1.
		dir := e.Var(t, "TLS_DIR")
		tls := fmt.Sprintf("rediss://%s/8?ca=%s/ca.pem&cert=%s/client.pem&key=%s/client.key", e.Var(t, "REDIS_TLS_ADDR"), dir, dir, dir)
		r.mustRun(t, ssh, "-u", tls, "set", prefix+"t", "tls")
		if got := r.mustRun(t, ssh, "-u", tls, "get", prefix+"t"); got != "tls\n" {
			t.Fatalf("get over TLS = %q", got)
		}
		msg := r.failRun(t, ExitError, ssh, "-u", strings.Replace(tls, "ca=", "servername=elsewhere&ca=", 1), "get", prefix+"t")
		if !strings.Contains(msg, "elsewhere") {
			t.Fatalf("a wrong server name through the tunnel: %s", msg)
		}
	})

	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		r := sshRun(t, e)
		url := e.Var(t, "CLUSTER_URL")
		tun := behind(t, e)
		cc := goredis.NewClusterClient(&goredis.ClusterOptions{
			Addrs: strings.Split(e.Var(t, "CLUSTER_ADDRS"), ","), Username: e.Var(t, "CLUSTER_USER"), Password: e.Var(t, "CLUSTER_PASSWORD"),
			Dialer: tun.Dial, Protocol: 2, DisableIdentity: true,
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		})
		defer cc.Close()
		ctx := context.Background()
		var want []string
		for i := range 300 {
			kind := []string{"drop", "keep"}[i%2]
			k := fmt.Sprintf("%s%s:%d", prefix, kind, i)
			if err := cc.Set(ctx, k, "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
			want = append(want, k)
		}
		slices.Sort(want)
		got := strings.Fields(r.mustRun(t, ssh, "-u", url, "keys", prefix+"*"))
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("keys listed %d of %d", len(got), len(want))
		}
		out := r.mustRun(t, ssh, "-u", url, "invalidate", prefix+"drop:*", "--yes", "-o", "json")
		var sum struct{ Matched, Deleted int64 }
		if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.Matched != 150 || sum.Deleted != 150 {
			t.Fatalf("invalidate: %s (%v)", out, err)
		}
		for _, k := range want {
			n, err := cc.Exists(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			if keep := strings.Contains(k, ":keep:"); (n == 1) != keep {
				t.Fatalf("%s exists=%d after invalidating drop:*", k, n)
			}
		}
	})

	t.Run("sentinel", func(t *testing.T) {
		t.Parallel()
		r := sshRun(t, e)
		url := e.Var(t, "SENTINEL_URL")
		r.mustRun(t, ssh, "-u", url, "set", prefix+"s", "via the master the sentinels named")
		if got := r.mustRun(t, ssh, "-u", url, "get", prefix+"s"); got != "via the master the sentinels named\n" {
			t.Fatalf("get = %q", got)
		}
		out := r.mustRun(t, ssh, "-u", url, "stats", "-o", "json")
		master := strings.Split(e.Var(t, "SENTINEL_DATA_ADDRS"), ",")[0]
		if !strings.Contains(out, master) {
			t.Fatalf("stats names no master %s: %s", master, out)
		}
	})

	t.Run("memcached pool", func(t *testing.T) {
		t.Parallel()
		r := sshRun(t, e)
		url := "memcached://" + e.Var(t, "MEMCACHED_ADDR") + "," + e.Var(t, "MEMCACHED2_ADDR")
		var want []string
		for i := range 12 {
			k := prefix + "mc" + strconv.Itoa(i)
			r.mustRun(t, ssh, "-u", url, "set", k, "v")
			want = append(want, k)
		}
		got := strings.Fields(r.mustRun(t, ssh, "-u", url, "keys", prefix+"mc*"))
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("keys = %v, want %v", got, want)
		}
		out := r.mustRun(t, ssh, "-u", url, "stats", "-o", "json")
		for _, a := range []string{e.Var(t, "MEMCACHED_ADDR"), e.Var(t, "MEMCACHED2_ADDR")} {
			if !strings.Contains(out, a) {
				t.Fatalf("stats lacks pool member %s: %s", a, out)
			}
		}
		r.mustRun(t, ssh, "-u", url, "invalidate", prefix+"mc*", "--yes")
		if got := r.mustRun(t, ssh, "-u", url, "keys", prefix+"mc*"); got != "" {
			t.Fatalf("left after invalidate: %q", got)
		}
	})

	t.Run("changed host key refused before anything is dialled", func(t *testing.T) {
		t.Parallel()
		r := sshRun(t, e)
		home := r.env["HOME"]
		other := filepath.Join(home, "other_host_key")
		if out, err := testenvKeygen(other); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
		pub, _ := os.ReadFile(other + ".pub")
		fields := strings.Fields(string(pub))
		host, port, _ := strings.Cut(e.Addr, ":")
		line := fmt.Sprintf("[%s]:%s %s %s\n", host, port, fields[0], fields[1])
		if err := os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
		// A server no other test uses: its connection count is this test's.
		url := e.Var(t, "REDIS_NOUNLINK_URL")
		before := connections(t, e, url)
		msg := r.failRun(t, ExitRefused, ssh, "-u", url+"/7", "get", "x")
		for _, want := range []string{"host key has CHANGED", "SHA256:", "ssh-keygen -R '[" + host + "]:" + port + "'"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message lacks %q: %s", want, msg)
			}
		}
		if strings.Count(strings.TrimSpace(msg), "\n") != 0 {
			t.Errorf("not one line: %q", msg)
		}
		if after := connections(t, e, url); after != before+1 {
			t.Fatalf("the server saw %d connection(s) besides redis-cli's though the tunnel was refused", after-before-1)
		}
		// Skipping verification takes the explicit flag, and says so.
		out := r.mustRun(t, ssh, "--ssh-insecure-ignore-host-key", "-u", url+"/7", "keys", "nothing-here:*")
		if out != "" || !strings.Contains(r.stderr, "warning: not verifying the SSH host key of "+e.Dest()) {
			t.Fatalf("stdout %q, stderr %q", out, r.stderr)
		}
	})

	t.Run("context ssh block with a jump host, and CACHECTL_SSH", func(t *testing.T) {
		t.Parallel()
		r := sshRun(t, e)
		url := e.Var(t, "REDIS_URL") + "/10"
		r.mustRun(t, "config", "set-context", "jumpy", "--url", url, "--ssh", e.User+"@"+e.InnerAddr, "--ssh-proxy-jump", e.Dest())
		r.mustRun(t, "-v", "-c", "jumpy", "set", prefix+"j", "jumped")
		want := "via SSH " + e.User + "@" + e.InnerAddr + " (jump " + e.Dest() + ") (from context \"jumpy\")"
		if !strings.Contains(r.stderr, want) {
			t.Fatalf("stderr %q lacks %q", r.stderr, want)
		}
		// --ssh beats the context's block (and none turns the tunnel off).
		if got := r.mustRun(t, ssh, "-c", "jumpy", "get", prefix+"j"); got != "jumped\n" {
			t.Fatalf("get = %q", got)
		}
		r.failRun(t, ExitError, "--ssh", "none", "--timeout", "2s", "-c", "jumpy", "get", prefix+"j")
		r2 := sshRun(t, e, "CACHECTL_SSH", e.Dest())
		if got := r2.mustRun(t, "-u", url, "get", prefix+"j"); got != "jumped\n" {
			t.Fatalf("get with CACHECTL_SSH = %q", got)
		}
		out := r.mustRun(t, "config", "get-contexts", "-o", "json")
		if !strings.Contains(out, `"ssh":{"host":"`+e.User+"@"+e.InnerAddr+`","proxy_jump":"`+e.Dest()+`"}`) {
			t.Fatalf("get-contexts: %s", out)
		}
		msg := r.failRun(t, ExitUsage, "config", "set-context", "jumpy", "--ssh", "bad host")
		if !strings.Contains(msg, "bad SSH destination") {
			t.Fatalf("set-context --ssh 'bad host': %s", msg)
		}
		msg = r.failRun(t, ExitUsage, "--ssh", "-oProxyCommand=sh", "-u", url, "get", "k")
		if !strings.Contains(msg, "flag --ssh: bad SSH destination") {
			t.Fatalf("--ssh -o…: %s", msg)
		}
	})

	t.Run("forwarding refused", func(t *testing.T) {
		t.Parallel()
		r := sshRun(t, e)
		url := e.Var(t, "REDIS_URL")
		msg := r.failRun(t, ExitError, "--ssh", e.User+"@"+e.NoForwardAddr, "-u", url, "get", "k")
		if want := ": the SSH server " + e.User + "@" + e.NoForwardAddr + " refused to forward to " + strings.TrimPrefix(url, "redis://") + " (administratively prohibited"; !strings.Contains(msg, want) || strings.Count(msg, "\n") != 1 {
			t.Fatalf("stderr %q, want %q…", msg, want)
		}
	})

	t.Run("tunnel dies mid-command", func(t *testing.T) {
		t.Parallel()
		sshd := e.PrivateSSHD(t)
		r := sshRun(t, e)
		home := r.env["HOME"]
		kh, _ := os.ReadFile(sshd.KnownHosts)
		os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), kh, 0o600)
		tun := behind(t, e)
		url := e.Var(t, "REDIS_URL") + "/9"
		c := goredis.NewClient(&goredis.Options{Addr: strings.TrimPrefix(e.Var(t, "REDIS_URL"), "redis://"), DB: 9, Dialer: tun.Dial})
		defer c.Close()
		ctx := context.Background()
		if err := c.FlushDB(ctx).Err(); err != nil { // no other test uses database 9
			t.Fatal(err)
		}
		for i := range 400 {
			c.Set(ctx, fmt.Sprintf("%sdie:%d", prefix, i), "v", 0)
		}
		done := make(chan int, 1)
		go func() {
			// 400 keys at 50 a second: some 8 seconds, unless the tunnel dies.
			done <- r.run("--ssh", e.User+"@"+sshd.Addr, "-u", url, "invalidate", prefix+"die:*", "--yes", "--rate", "50", "--batch", "10")
		}()
		deadline := time.Now().Add(10 * time.Second)
		for {
			n, _ := c.DBSize(ctx).Result()
			if n < 390 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("invalidate deleted nothing in 10s")
			}
			time.Sleep(20 * time.Millisecond) // watching deletions from outside: nothing to wait on
		}
		sshd.Kill(t)
		start := time.Now()
		var code int
		select {
		case code = <-done:
		case <-time.After(15 * time.Second):
			t.Fatal("invalidate still runs 15s after the SSH server died")
		}
		msg := r.stderr
		// What was done is said, and why it stopped: the tunnel's death.
		if code != ExitError || !strings.Contains(msg, "error: stopped after deleting ") || !strings.Contains(msg, "the SSH connection to "+e.User+"@"+sshd.Addr+" died") || strings.Count(msg, "\n") != 1 {
			t.Fatalf("exit %d, stderr %q", code, msg)
		}
		t.Logf("ended %v after the kill: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(msg))
	})
}

// A long-running command (the dashboard, watch) outlives the death of its
// tunnel: the next dial opens a new one once the SSH server answers again.
func TestSSHTunnelReopensAfterDeath(t *testing.T) {
	e := testenv.StartSSH(t)
	sshd := e.PrivateSSHD(t)
	plan, err := sshtunnel.Resolve(sshtunnel.Settings{Host: e.User + "@" + sshd.Addr, IdentityFiles: []string{e.Key}, KnownHosts: []string{sshd.KnownHosts}},
		sshtunnel.Env{Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	s := &sshTunnel{plan: plan, ctx: context.Background()}
	defer s.close()
	addr := strings.TrimPrefix(e.Var(t, "REDIS_URL"), "redis://")
	c := goredis.NewClient(&goredis.Options{Addr: addr, Dialer: s.dial, MaxRetries: -1,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	defer c.Close()
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	first := s.t
	sshd.DropConnections(t)
	select {
	case <-first.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("the tunnel did not notice its connection dropped")
	}
	// The pooled connection went with the tunnel; the one after it is new.
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("a ping on the dead tunnel's connection succeeded")
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("after the SSH server came back: %v", err)
	}
	if s.t == first {
		t.Fatal("the dead tunnel is still used")
	}
}

func testenvKeygen(path string) ([]byte, error) {
	return exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path).CombinedOutput()
}

// connections is the server's count of connections received so far (this
// one included), asked
// from inside the namespace (not through any tunnel).
func connections(t *testing.T, e *testenv.SSHEnv, url string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	port := url[strings.LastIndex(url, ":")+1:]
	out, err := e.InNS(ctx, "redis-cli", "-p", port, "info", "stats").Output()
	if err != nil {
		t.Fatalf("redis-cli in the namespace: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_connections_received:"); ok {
			n, _ := strconv.Atoi(v)
			return n // this redis-cli's own included
		}
	}
	t.Fatalf("no total_connections_received in %q", out)
	return 0
}
