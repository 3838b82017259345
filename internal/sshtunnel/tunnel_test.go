package sshtunnel_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/cachectl/cachectl/internal/sshtunnel"
	"github.com/cachectl/cachectl/internal/testenv"
)

// env is a Getenv over a map: the tests never read the process's HOME or agent.
func env(vars map[string]string) sshtunnel.Env {
	return sshtunnel.Env{Getenv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }}
}

func open(t *testing.T, s sshtunnel.Settings, e sshtunnel.Env, o sshtunnel.Options) (*sshtunnel.Tunnel, error) {
	t.Helper()
	plan, err := sshtunnel.Resolve(s, e)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tun, err := sshtunnel.Open(ctx, plan, o)
	if err == nil {
		t.Cleanup(func() { tun.Close() })
	}
	return tun, err
}

func mustOpen(t *testing.T, s sshtunnel.Settings, e sshtunnel.Env, o sshtunnel.Options) *sshtunnel.Tunnel {
	t.Helper()
	tun, err := open(t, s, e, o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return tun
}

// redisVia is a go-redis client whose every connection is a channel of tun.
func redisVia(t *testing.T, tun *sshtunnel.Tunnel, url string, timeout time.Duration) *goredis.Client {
	t.Helper()
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.Dialer = tun.Dial
	opt.ReadTimeout, opt.WriteTimeout, opt.MaxRetries = timeout, timeout, -1
	c := goredis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

func hostKey(t *testing.T, e *testenv.SSHEnv, name string) ssh.PublicKey {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.State, "ssh", name+"-host_ed25519.pub"))
	if err != nil {
		t.Fatal(err)
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newKeyPair(t *testing.T, dir string, passphrase string) string {
	t.Helper()
	path := filepath.Join(dir, "key-"+strings.ReplaceAll(t.Name(), "/", "-"))
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	return path
}

// startAgent runs an ssh-agent holding keys and returns its socket.
func startAgent(t *testing.T, dir string, keys ...string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	for _, key := range keys {
		deadline := time.Now().Add(10 * time.Second)
		for {
			add := exec.Command("ssh-add", "-q", key)
			add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
			out, err := add.CombinedOutput()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("ssh-add: %v\n%s", err, out)
			}
			time.Sleep(50 * time.Millisecond) // the agent is starting; its socket appears when it listens
		}
	}
	return sock
}

func TestTunnel(t *testing.T) {
	e := testenv.StartSSH(t)
	redisURL := e.Var(t, "REDIS_URL")
	base := func() sshtunnel.Settings {
		return sshtunnel.Settings{Host: e.Dest(), IdentityFiles: []string{e.Key}, KnownHosts: []string{e.KnownHosts}}
	}
	home := func(t *testing.T) map[string]string { return map[string]string{"HOME": t.TempDir(), "USER": "nobody"} }

	t.Run("redis only through the tunnel", func(t *testing.T) {
		t.Parallel()
		tun := mustOpen(t, base(), env(home(t)), sshtunnel.Options{})
		c := redisVia(t, tun, redisURL+"/3", 5*time.Second)
		ctx := context.Background()
		if err := c.Set(ctx, "sshtunnel:k", "through ssh", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if got, err := c.Get(ctx, "sshtunnel:k").Result(); err != nil || got != "through ssh" {
			t.Fatalf("get = %q, %v", got, err)
		}
		// The same address dialled directly is not that server: the
		// namespace's loopback is out of the host's reach.
		direct := goredis.NewClient(&goredis.Options{Addr: strings.TrimPrefix(redisURL, "redis://"), DB: 3, MaxRetries: -1, DialTimeout: time.Second})
		defer direct.Close()
		if got, err := direct.Get(ctx, "sshtunnel:k").Result(); err == nil && got == "through ssh" {
			t.Fatal("the namespace's Redis answered a direct dial: the test proves nothing")
		}
	})

	t.Run("deadlines work on tunnelled connections", func(t *testing.T) {
		t.Parallel()
		tun := mustOpen(t, base(), env(home(t)), sshtunnel.Options{})
		conn, err := tun.Dial(context.Background(), "tcp", strings.TrimPrefix(redisURL, "redis://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatalf("SetDeadline: %v", err)
		}
		if _, err := conn.Write([]byte("PING\r\n")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 16)
		if n, err := conn.Read(buf); err != nil || string(buf[:n]) != "+PONG\r\n" {
			t.Fatalf("read %q, %v", buf[:n], err)
		}
		// Nothing more comes: the read deadline must end the wait.
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		start := time.Now()
		_, err = conn.Read(buf)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("read past the deadline: %v, want a timeout", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("the deadline struck after %v", d)
		}
	})

	t.Run("remote unix socket", func(t *testing.T) {
		t.Parallel()
		tun := mustOpen(t, base(), env(home(t)), sshtunnel.Options{})
		opt := &goredis.Options{Network: "unix", Addr: e.Var(t, "REDIS_SOCKET"), Dialer: tun.Dial, MaxRetries: -1}
		c := goredis.NewClient(opt)
		defer c.Close()
		if err := c.Ping(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("unknown host key refused with its fingerprint", func(t *testing.T) {
		t.Parallel()
		s := base()
		s.KnownHosts = []string{writeFile(t, filepath.Join(t.TempDir(), "known_hosts"), "")}
		_, err := open(t, s, env(home(t)), sshtunnel.Options{})
		var he *sshtunnel.HostKeyError
		if !errors.As(err, &he) || he.Changed {
			t.Fatalf("err = %v, want an unknown host key", err)
		}
		want := ssh.FingerprintSHA256(hostKey(t, e, "bastion"))
		host, port, _ := net.SplitHostPort(e.Addr)
		for _, s := range []string{want, "ssh-ed25519", "ssh-keyscan -p " + port + " " + host + " >> " + s.KnownHosts[0], "not in"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("message lacks %q: %v", s, err)
			}
		}
	})

	t.Run("changed host key refused as a possible attack", func(t *testing.T) {
		t.Parallel()
		pub, _, _ := ed25519.GenerateKey(nil)
		other, _ := ssh.NewPublicKey(pub)
		s := base()
		s.KnownHosts = []string{writeFile(t, filepath.Join(t.TempDir(), "known_hosts"), knownhosts.Line([]string{e.Addr}, other)+"\n")}
		_, err := open(t, s, env(home(t)), sshtunnel.Options{})
		var he *sshtunnel.HostKeyError
		if !errors.As(err, &he) || !he.Changed {
			t.Fatalf("err = %v, want a changed host key", err)
		}
		for _, want := range []string{"CHANGED", "intercepting", ssh.FingerprintSHA256(hostKey(t, e, "bastion")), "ssh-keygen -R '[" + e.Host + "]:", s.KnownHosts[0] + ":1",
			"then trust the new one with `ssh-keyscan -p " + e.Addr[strings.LastIndexByte(e.Addr, ':')+1:] + " " + e.Host + " >> " + s.KnownHosts[0] + "`"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message lacks %q: %v", want, err)
			}
		}
	})

	t.Run("a known key of a type the server no longer offers", func(t *testing.T) {
		t.Parallel()
		priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		other, _ := ssh.NewPublicKey(&priv.PublicKey)
		s := base()
		s.KnownHosts = []string{writeFile(t, filepath.Join(t.TempDir(), "known_hosts"), "# one\n"+knownhosts.Line([]string{e.Addr}, other)+"\n")}
		_, err := open(t, s, env(home(t)), sshtunnel.Options{})
		var he *sshtunnel.HostKeyError
		if !errors.As(err, &he) || !he.Changed {
			t.Fatalf("err = %v, want a changed host key", err)
		}
		want := "refusing the SSH server [" + e.Host + "]:" + e.Addr[strings.LastIndexByte(e.Addr, ':')+1:] + ": it offers no ecdsa-sha2-nistp256 host key, the type " + s.KnownHosts[0] + ":2 holds for it: its keys have CHANGED (someone may be intercepting the connection); if the change is expected, remove the old key with `ssh-keygen -R '["
		if !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("message %q, want %q…", err, want)
		}
	})

	t.Run("hashed known_hosts entry", func(t *testing.T) {
		t.Parallel()
		line := knownhosts.HashHostname(knownhosts.Normalize(e.Addr)) + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostKey(t, e, "bastion"))))
		s := base()
		s.KnownHosts = []string{writeFile(t, filepath.Join(t.TempDir(), "known_hosts"), line+"\n")}
		mustOpen(t, s, env(home(t)), sshtunnel.Options{})
	})

	t.Run("insecure skips verification and says so", func(t *testing.T) {
		t.Parallel()
		s := base()
		s.KnownHosts = []string{filepath.Join(t.TempDir(), "none")}
		s.InsecureIgnoreHostKey = true
		var mu sync.Mutex
		var warned []string
		tun := mustOpen(t, s, env(home(t)), sshtunnel.Options{Warn: func(m string) { mu.Lock(); warned = append(warned, m); mu.Unlock() }})
		if err := redisVia(t, tun, redisURL, 5*time.Second).Ping(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(warned) != 1 || !strings.Contains(warned[0], "not verifying") || !strings.Contains(warned[0], ssh.FingerprintSHA256(hostKey(t, e, "bastion"))) {
			t.Fatalf("warnings = %q", warned)
		}
	})

	t.Run("ssh config alias", func(t *testing.T) {
		t.Parallel()
		vars := home(t)
		h := vars["HOME"]
		key, _ := os.ReadFile(e.Key)
		writeFile(t, filepath.Join(h, ".ssh", "work_key"), string(key))
		kh, _ := os.ReadFile(e.KnownHosts)
		writeFile(t, filepath.Join(h, ".ssh", "hosts_of_work"), string(kh))
		host, port, _ := net.SplitHostPort(e.Addr)
		writeFile(t, filepath.Join(h, ".ssh", "config"), "Host other\n  HostName 192.0.2.1\n\nHost bast*\n  HostName "+host+"\n  User "+e.User+"\n  Port "+port+
			"\n  IdentityFile ~/.ssh/work_key\n  UserKnownHostsFile ~/.ssh/hosts_of_work\n\nHost *\n  User someone-else\n")
		tun := mustOpen(t, sshtunnel.Settings{Host: "bastion"}, env(vars), sshtunnel.Options{})
		if got, want := tun.String(), e.Dest(); got != want {
			t.Fatalf("tunnel to %s, want %s", got, want)
		}
		if err := redisVia(t, tun, redisURL, 5*time.Second).Ping(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ssh-agent", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		sock := startAgent(t, dir, e.Key)
		vars := home(t)
		vars["SSH_AUTH_SOCK"] = sock
		s := base()
		s.IdentityFiles = []string{filepath.Join(dir, "no-such-key")}
		tun := mustOpen(t, s, env(vars), sshtunnel.Options{})
		if err := redisVia(t, tun, redisURL, 5*time.Second).Ping(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("named key offered before the agent's others", func(t *testing.T) {
		t.Parallel()
		// sshd gives up after MaxAuthTries (6) refused keys: an agent with
		// more keys than that must not hide the one the settings name.
		dir := t.TempDir()
		var others []string
		for range 7 {
			others = append(others, newKeyPair(t, t.TempDir(), ""))
		}
		for name, keys := range map[string][]string{"the file": others, "its copy in the agent": append(others, e.Key)} {
			vars := home(t)
			vars["SSH_AUTH_SOCK"] = startAgent(t, filepath.Join(dir, strconv.Itoa(len(keys))), keys...)
			s := base()
			if _, err := open(t, s, env(vars), sshtunnel.Options{}); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	})

	t.Run("encrypted key without agent", func(t *testing.T) {
		t.Parallel()
		s := base()
		s.IdentityFiles = []string{newKeyPair(t, t.TempDir(), "a passphrase")}
		_, err := open(t, s, env(home(t)), sshtunnel.Options{})
		if err == nil || !strings.Contains(err.Error(), s.IdentityFiles[0]+" is encrypted: add it to ssh-agent (ssh-add "+s.IdentityFiles[0]+")") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("key the server does not know", func(t *testing.T) {
		t.Parallel()
		s := base()
		s.IdentityFiles = []string{newKeyPair(t, t.TempDir(), "")}
		_, err := open(t, s, env(home(t)), sshtunnel.Options{})
		if err == nil || !strings.Contains(err.Error(), "SSH authentication as "+e.User+" to "+e.Addr+" failed (offered "+s.IdentityFiles[0]+")") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("no SSH server there", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		s := base()
		s.Host = e.User + "@" + addr
		_, err = open(t, s, env(home(t)), sshtunnel.Options{})
		if err == nil || !strings.Contains(err.Error(), "cannot reach the SSH server "+e.User+"@"+addr+": connection refused") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("proxy jump", func(t *testing.T) {
		t.Parallel()
		s := base()
		s.Host = e.User + "@" + e.InnerAddr
		s.ProxyJump = e.Dest()
		tun := mustOpen(t, s, env(home(t)), sshtunnel.Options{})
		if got, want := tun.String(), e.User+"@"+e.InnerAddr+" (jump "+e.Dest()+")"; got != want {
			t.Fatalf("tunnel %s, want %s", got, want)
		}
		if err := redisVia(t, tun, redisURL, 5*time.Second).Ping(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		// Without the jump the inner sshd, on the namespace's loopback, is out of reach.
		s.ProxyJump = "none"
		if _, err := open(t, s, env(home(t)), sshtunnel.Options{Timeout: 3 * time.Second}); err == nil {
			t.Fatal("the inner sshd answered without the jump host")
		}
	})

	t.Run("forwarding refused", func(t *testing.T) {
		t.Parallel()
		s := base()
		s.Host = e.User + "@" + e.NoForwardAddr
		tun := mustOpen(t, s, env(home(t)), sshtunnel.Options{})
		addr := strings.TrimPrefix(redisURL, "redis://")
		_, err := tun.Dial(context.Background(), "tcp", addr)
		var fe *sshtunnel.ForwardError
		if !errors.As(err, &fe) || !fe.Forbidden || !strings.Contains(err.Error(), "the SSH server "+s.Host+" refused to forward to "+addr) {
			t.Fatalf("err = %v", err)
		}
		if _, err := tun.Dial(context.Background(), "unix", e.Var(t, "REDIS_SOCKET")); !errors.As(err, &fe) || !strings.Contains(err.Error(), "AllowStreamLocalForwarding yes") {
			t.Fatalf("unix: err = %v", err)
		}
	})

	t.Run("nothing listens at the far end", func(t *testing.T) {
		t.Parallel()
		tun := mustOpen(t, base(), env(home(t)), sshtunnel.Options{})
		_, err := tun.Dial(context.Background(), "tcp", "127.0.0.1:1")
		var fe *sshtunnel.ForwardError
		if !errors.As(err, &fe) || fe.Forbidden || !strings.Contains(err.Error(), "could not connect to 127.0.0.1:1: connect failed") {
			t.Fatalf("err = %v", err)
		}
		if tun.Err() != nil {
			t.Fatalf("a refused forward killed the tunnel: %v", tun.Err())
		}
	})

	t.Run("sshd killed mid-command", func(t *testing.T) {
		t.Parallel()
		sshd := e.PrivateSSHD(t)
		s := base()
		s.Host, s.KnownHosts = e.User+"@"+sshd.Addr, []string{sshd.KnownHosts}
		tun := mustOpen(t, s, env(home(t)), sshtunnel.Options{})
		c := redisVia(t, tun, redisURL+"/4", 30*time.Second)
		ctx := context.Background()
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.BLPop(ctx, 20*time.Second, "sshtunnel:never").Err() }()
		time.Sleep(200 * time.Millisecond) // let BLPOP reach the server; nothing to wait on from here
		start := time.Now()
		sshd.Kill(t)
		var err error
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("BLPOP still waits 10s after sshd died")
		}
		var de *sshtunnel.DeadError
		if !errors.As(err, &de) || !strings.HasPrefix(err.Error(), "the SSH connection to "+s.Host+" died: ") {
			t.Fatalf("err = %v (%T), want the tunnel's death", err, err)
		}
		t.Logf("noticed in %v: %v", time.Since(start).Round(time.Millisecond), err)
		if _, err := tun.Dial(ctx, "tcp", "127.0.0.1:6379"); !errors.As(err, &de) {
			t.Fatalf("dial after death: %v", err)
		}
	})

	t.Run("frozen sshd noticed by keepalive", func(t *testing.T) {
		t.Parallel()
		sshd := e.PrivateSSHD(t)
		s := base()
		s.Host, s.KnownHosts = e.User+"@"+sshd.Addr, []string{sshd.KnownHosts}
		tun := mustOpen(t, s, env(home(t)), sshtunnel.Options{KeepAliveInterval: 300 * time.Millisecond, KeepAliveTimeout: time.Second})
		c := redisVia(t, tun, redisURL+"/4", 30*time.Second)
		ctx := context.Background()
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		sshd.Freeze(t)
		start := time.Now()
		err := c.Ping(ctx).Err()
		var de *sshtunnel.DeadError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "no answer to a keepalive within 1s") {
			t.Fatalf("err = %v, want the tunnel's death", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("noticed after %v", d)
		}
	})
}
