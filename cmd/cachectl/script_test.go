package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cachectl/cachectl/internal/commands"
	"github.com/cachectl/cachectl/internal/memserver"
	"github.com/cachectl/cachectl/internal/testenv"
)

// scriptSeq numbers the scripts of a run, for their key prefixes.
var scriptSeq atomic.Int64

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"cachectl": func() { os.Exit(commands.Main()) },
	})
}

// TestScripts runs the end-to-end scripts in testdata/script against the real
// binary and a real Redis. Each script gets its own empty database ($REDIS_URL),
// its own config dir, and no inherited CACHECTL_*/CACHE_URL variables.
func TestScripts(t *testing.T) {
	base := os.Getenv("CACHECTL_TEST_REDIS_URL")
	if base == "" {
		if testenv.Required() {
			t.Fatal("CACHECTL_TEST_REDIS_URL is not set but CACHECTL_REQUIRE_SERVERS is")
		}
		t.Skip("no Redis server: set CACHECTL_TEST_REDIS_URL (scripts/test-servers.sh prints it)")
	}
	// The SSH setup (root only): sshd and servers in a network namespace.
	sshEnv := testenv.MaybeStartSSH(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		// [pymemcache]: Debian's python3-pymemcache can write test data as
		// Django does; required when the servers are (CI installs it).
		// [django]: Debian's python3-django (3.2) with pymemcache, to check
		// profile writes with the real library.
		// [aiocache]: the real aiocache 0.12.3 beside the repository
		// (../shared/thirdparty/python), importable with $THIRDPARTY_PYTHONPATH.
		Condition: func(cond string) (bool, error) {
			if cond == "aiocache" {
				_, err := testenv.LookThirdPartyPython()
				if errors.Is(err, os.ErrNotExist) && !testenv.Required() {
					return false, nil
				}
				return err == nil, err
			}
			if cond == "ssh" {
				return sshEnv != nil, nil
			}
			imports := map[string]string{"pymemcache": "pymemcache", "django": "django, pymemcache"}[cond]
			if imports == "" {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			err := exec.Command("/usr/bin/python3", "-c", "import "+imports).Run()
			if err != nil && testenv.Required() {
				return false, fmt.Errorf("python3-%s is required: %v", cond, err)
			}
			return err == nil, nil
		},
		RequireUniqueNames: true,
		Setup: func(env *testscript.Env) error {
			u, cleanup, err := testenv.NewRedisDB(base)
			if err != nil {
				return err
			}
			env.Defer(cleanup)
			env.Setenv("REDIS_URL", u)
			env.Setenv("REDIS_DB", u[strings.LastIndex(u, "/")+1:])
			env.Setenv("REDIS_BASE", base)
			env.Setenv("REDIS_SOCKET", os.Getenv("CACHECTL_TEST_REDIS_SOCKET"))
			env.Setenv("TLS_ADDR", os.Getenv("CACHECTL_TEST_REDIS_TLS_ADDR"))
			env.Setenv("TLS_DIR", os.Getenv("CACHECTL_TEST_TLS_DIR"))
			// memcached has no databases: each script gets a key prefix of its own.
			env.Setenv("P", fmt.Sprintf("s%d-%d:", os.Getpid(), scriptSeq.Add(1)))
			env.Setenv("MC_URL", "memcached://"+os.Getenv("CACHECTL_TEST_MEMCACHED_ADDR"))
			env.Setenv("MC_ADDR", os.Getenv("CACHECTL_TEST_MEMCACHED_ADDR"))
			env.Setenv("MC_ADDR2", os.Getenv("CACHECTL_TEST_MEMCACHED2_ADDR"))
			env.Setenv("MC_POOL", "memcached://"+os.Getenv("CACHECTL_TEST_MEMCACHED_ADDR")+","+os.Getenv("CACHECTL_TEST_MEMCACHED2_ADDR"))
			env.Setenv("MC_PROXY", "memcached://"+os.Getenv("CACHECTL_TEST_TWEMPROXY_ADDR"))
			env.Setenv("MC_NOCRAWLER", "memcached://"+os.Getenv("CACHECTL_TEST_MEMCACHED_NOCRAWLER_ADDR"))
			env.Setenv("MC_NODUMP", "memcached://"+os.Getenv("CACHECTL_TEST_MEMCACHED_NODUMP_ADDR"))
			// The shared Redis Cluster and Sentinel setup: one database, so
			// scripts keep to their $P prefix. The Sentinel URL names the
			// variable holding the sentinels' password.
			env.Setenv("CLUSTER_URL", os.Getenv("CACHECTL_TEST_CLUSTER_URL"))
			env.Setenv("SENTINEL_URL", os.Getenv("CACHECTL_TEST_SENTINEL_URL"))
			env.Setenv("CACHECTL_TEST_SENTINEL_PASSWORD", os.Getenv("CACHECTL_TEST_SENTINEL_PASSWORD"))
			// An HTTP cache of the script's own (cachectl serve's handler),
			// open and behind a token.
			for _, v := range []struct{ name, token string }{{"HTTP_URL", ""}, {"HTTP_TOKEN_URL", "s3cret-token"}} {
				store := memserver.NewStore(memserver.Options{})
				srv := httptest.NewServer(memserver.NewHandler(store, memserver.HandlerOptions{Token: v.token, MaxBody: 1 << 20, Version: "cachectl/test"}))
				env.Defer(srv.Close)
				env.Setenv(v.name, srv.URL)
			}
			// A loopback port that was free a moment ago, for serve and demo.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			env.Setenv("FREE_PORT", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
			ln.Close()
			if pp, err := testenv.LookThirdPartyPython(); err == nil {
				env.Setenv("THIRDPARTY_PYTHONPATH", pp)
			}
			if sshEnv != nil {
				_, port, _ := net.SplitHostPort(sshEnv.Addr)
				for k, v := range map[string]string{
					"SSH_DEST": sshEnv.Dest(), "SSH_USER": sshEnv.User, "SSH_HOST": sshEnv.Host, "SSH_PORT": port,
					"SSH_KEY": sshEnv.Key, "SSH_KNOWN_HOSTS": sshEnv.KnownHosts, "SSH_NETNS": sshEnv.NetNS,
					"SSH_NOFWD_DEST": sshEnv.User + "@" + sshEnv.NoForwardAddr,
					"SSH_REDIS_URL":  sshEnv.Var(t, "REDIS_URL"),
				} {
					env.Setenv(k, v)
				}
			}
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))
			env.Setenv("HOME", env.WorkDir)
			for _, k := range []string{"CACHECTL_URL", "CACHE_URL", "CACHECTL_CONTEXT", "CACHECTL_PASSWORD", "CACHECTL_TOKEN", "CACHECTL_CONFIG", "NO_COLOR", "CLICOLOR_FORCE"} {
				env.Setenv(k, "")
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// unhex IN OUT: write the bytes spelled in hex by file IN (whitespace
			// ignored) to file OUT, so scripts can hold binary values.
			"unhex": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: unhex IN OUT")
				}
				b, err := hex.DecodeString(strings.Join(strings.Fields(ts.ReadFile(args[0])), ""))
				ts.Check(err)
				ts.Check(os.WriteFile(ts.MkAbs(args[1]), b, 0o644))
			},
			// waithttp URL: wait (up to 10 s) until an HTTP server answers at URL,
			// e.g. one started in the background by serve or demo.
			"waithttp": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: waithttp URL")
				}
				client := &http.Client{Timeout: time.Second}
				for deadline := time.Now().Add(10 * time.Second); ; {
					resp, err := client.Get(args[0])
					if err == nil {
						resp.Body.Close()
						return
					}
					if time.Now().After(deadline) {
						ts.Fatalf("nothing answered at %s: %v", args[0], err)
					}
					time.Sleep(20 * time.Millisecond) // polling a server that is starting; nothing to wait on
				}
			},
			// acluser VAR [-cluster] RULES...: create a Redis user with RULES
			// (after reset) on the test server, or on every node of the test
			// cluster, deleted when the script ends; $VAR is $REDIS_URL (or
			// $CLUSTER_URL) logged in as it, $VAR_USER its name.
			"acluser": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: acluser VAR [-cluster] RULES...")
				}
				name, rules := args[0], args[1:]
				var admins []*goredis.Client
				base := ts.Getenv("REDIS_URL")
				if rules[0] == "-cluster" {
					rules, base = rules[1:], ts.Getenv("CLUSTER_URL")
					for _, a := range strings.Split(os.Getenv("CACHECTL_TEST_CLUSTER_ADDRS"), ",") {
						admins = append(admins, goredis.NewClient(&goredis.Options{Addr: a, Username: os.Getenv("CACHECTL_TEST_CLUSTER_USER"),
							Password: os.Getenv("CACHECTL_TEST_CLUSTER_PASSWORD"), Protocol: 2, DisableIdentity: true}))
					}
				} else {
					opt, err := goredis.ParseURL(base)
					ts.Check(err)
					opt.Protocol, opt.DisableIdentity = 2, true
					admins = append(admins, goredis.NewClient(opt))
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				user, drop, err := testenv.CreateACLUser(ctx, admins, "s", rules...)
				ts.Check(err)
				ts.Defer(func() {
					drop()
					for _, c := range admins {
						c.Close()
					}
				})
				u, err := testenv.AsUser(base, user)
				ts.Check(err)
				ts.Setenv(name, u)
				ts.Setenv(name+"_USER", user)
			},
			// eventually PROG ARGS...: run PROG until it succeeds, for up to
			// 10 s (a server starting where only a tunnel reaches it).
			"eventually": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 1 {
					ts.Fatalf("usage: eventually PROG [ARGS...]")
				}
				for deadline := time.Now().Add(10 * time.Second); ; {
					err := ts.Exec(args[0], args[1:]...)
					if err == nil {
						return
					}
					if time.Now().After(deadline) {
						ts.Fatalf("%s kept failing for 10s: %v", args[0], err)
					}
					time.Sleep(100 * time.Millisecond) // polling a server that is starting; nothing to wait on
				}
			},
			// waitfile FILE REGEXP: wait (up to 20 s) until FILE, written by a
			// command in the background, matches REGEXP (e.g. watch's
			// "watching" line once it is subscribed).
			"waitfile": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: waitfile FILE REGEXP")
				}
				re, err := regexp.Compile(args[1])
				ts.Check(err)
				for deadline := time.Now().Add(20 * time.Second); ; {
					b, _ := os.ReadFile(ts.MkAbs(args[0]))
					if re.Match(b) {
						return
					}
					if time.Now().After(deadline) {
						ts.Fatalf("%s did not match %q within 20s: %q", args[0], args[1], b)
					}
					time.Sleep(20 * time.Millisecond) // polling a file another process writes
				}
			},
			// exits N PROG ARGS...: run PROG and require exit status N.
			"exits": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: exits CODE PROG [ARGS...]")
				}
				want, err := strconv.Atoi(args[0])
				if err != nil {
					ts.Fatalf("exits: bad code %q", args[0])
				}
				err = ts.Exec(args[1], args[2:]...)
				got := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					got = ee.ExitCode()
				} else if err != nil {
					ts.Fatalf("exits: %v", err)
				}
				if got != want {
					ts.Fatalf("%s exited %d, want %d", args[1], got, want)
				}
			},
		},
	})
}
