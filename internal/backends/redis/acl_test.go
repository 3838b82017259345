package redis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/testenv"
)

// TestACLCategoriesMatchServer: the static table of categories is what the
// test server's COMMAND INFO says of each command (Redis 7.0 here).
func TestACLCategoriesMatchServer(t *testing.T) {
	c := testenv.RedisClient(t, testenv.RedisURL(t))
	ctx := context.Background()
	for name, want := range aclCategories {
		reply, err := c.Do(ctx, "COMMAND", "INFO", name).Slice()
		if err != nil || len(reply) != 1 {
			t.Errorf("COMMAND INFO %s: %v %v", name, reply, err)
			continue
		}
		info, _ := reply[0].([]any)
		if len(info) < 7 {
			t.Errorf("COMMAND INFO %s: %v (no such command here?)", name, reply)
			continue
		}
		var got []string
		cats, _ := info[6].([]any)
		for _, cat := range cats {
			s := strings.TrimPrefix(fmt.Sprint(cat), "@")
			if s != "fast" && s != "slow" {
				got = append(got, s)
			}
		}
		if len(got) == 0 {
			got = []string{"slow"}
		}
		slices.Sort(got)
		if want = slices.Sorted(slices.Values(want)); !slices.Equal(got, want) {
			t.Errorf("%s: the server says %v, the table %v", name, got, want)
		}
	}
	for cmd, want := range map[string]string{"info": "@dangerous", "set": "@write", "scan": "@read", "config|get": "@admin",
		"client|setname": "@connection", "eval": "@scripting", "pttl": "@read", "cluster|nodes": "@slow", "nope": ""} {
		if got := aclCategory(cmd); got != want {
			t.Errorf("aclCategory(%s) = %q, want %q", cmd, got, want)
		}
	}
}

// permission is the PermissionError in err, failing the test without one.
func permission(t *testing.T, what string, err error) *backends.PermissionError {
	t.Helper()
	var pe *backends.PermissionError
	if !errors.As(err, &pe) {
		t.Fatalf("%s: %v (%T), want a permission error", what, err, err)
	}
	if strings.Contains(err.Error(), testenv.ACLPassword) {
		t.Fatalf("%s: the password is in %q", what, err)
	}
	return pe
}

// TestRefusalsNameTheCommandAndGrant: each command a user's ACL refuses
// comes back as a PermissionError naming it, the user, the grant and its
// category; a read-only user reads, and its writes change nothing.
func TestRefusalsNameTheCommandAndGrant(t *testing.T) {
	dbURL := testenv.RedisURL(t)
	c := testenv.RedisClient(t, dbURL)
	ctx := context.Background()
	for _, k := range []string{"app:1", "app:2", "other:1"} {
		if err := c.Set(ctx, k, "v-"+k, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}

	ro := open(t, testenv.RedisUserURL(t, dbURL, "~*", "+@read", "+@connection"), backends.Options{})
	if e, err := ro.Get(ctx, "app:1"); err != nil || string(e.Value) != "v-app:1" {
		t.Fatalf("read-only get: %v %v", e, err)
	}
	var listed int
	if err := ro.Scan(ctx, "*", func(keys []string) error { listed += len(keys); return nil }); err != nil || listed != 3 {
		t.Fatalf("read-only scan: %d keys, %v", listed, err)
	}
	pe := permission(t, "read-only set", ro.Set(ctx, "app:1", []byte("w"), 0))
	want := fmt.Sprintf(`server %s refused SET for user %q: grant it with ACL SETUSER %s +set (category @write); NOPERM this user has no permissions to run the 'set' command`,
		ro.target.Display, ro.target.Username, ro.target.Username)
	if pe.Error() != want || pe.Command != "set" || pe.Category != "@write" {
		t.Errorf("read-only set:\n got %s\nwant %s", pe.Error(), want)
	}
	n, err := ro.Delete(ctx, "app:1", "app:2")
	if pe := permission(t, "read-only delete", err); n != 0 || pe.Command != "unlink" {
		t.Errorf("read-only delete: %d deleted, %v", n, err)
	}
	if pe := permission(t, "read-only expire", ro.Expire(ctx, "app:1", time.Minute)); pe.Command != "pexpire" {
		t.Errorf("read-only expire refused %q", pe.Command)
	}
	if pe := permission(t, "read-only persist", ro.Expire(ctx, "app:1", 0)); pe.Command != "multi" && pe.Command != "persist" {
		t.Errorf("read-only persist refused %q", pe.Command)
	}
	if v, _ := c.Get(ctx, "app:1").Result(); v != "v-app:1" {
		t.Fatalf("a refused write changed app:1 to %q", v)
	}
	if ttl, _ := c.TTL(ctx, "app:1").Result(); ttl < 59*time.Minute {
		t.Fatalf("a refused write changed app:1's TTL to %v", ttl)
	}
	if n, _ := c.Exists(ctx, "app:1", "app:2").Result(); n != 2 {
		t.Fatal("a refused delete deleted")
	}

	// No SCAN: listing names it.
	noScan := open(t, testenv.RedisUserURL(t, dbURL, "~*", "+@all", "-scan"), backends.Options{})
	pe = permission(t, "scan without SCAN", noScan.Scan(ctx, "*", func([]string) error { return nil }))
	if pe.Command != "scan" || pe.Category != "@read" || !strings.Contains(pe.Error(), "+scan (category @read); NOPERM") {
		t.Errorf("scan without SCAN: %v", pe)
	}

	// Limited to app:*: other keys are refused as keys, not commands.
	app := open(t, testenv.RedisUserURL(t, dbURL, "~app:*", "+@all"), backends.Options{})
	if _, err := app.Get(ctx, "app:2"); err != nil {
		t.Fatalf("get within the key patterns: %v", err)
	}
	_, err = app.Get(ctx, "other:1")
	if pe := permission(t, "get outside the key patterns", err); !pe.Key || pe.Command != "" || !strings.Contains(pe.Error(), "~PATTERN") {
		t.Errorf("get outside the key patterns: %+v", pe)
	}
	n, err = app.Delete(ctx, "app:2", "other:1")
	if pe := permission(t, "delete across the key patterns", err); n != 1 || !pe.Key {
		t.Errorf("delete across the key patterns: %d deleted, %v", n, err)
	}
	if n, _ := c.Exists(ctx, "app:2", "other:1").Result(); n != 1 {
		t.Fatalf("after the delete across the key patterns %d of app:2 and other:1 are left, want other:1", n)
	}

	// Connecting to a database without SELECT.
	noSelect := testenv.ACLUser(t, []*goredis.Client{c}, "~*", "+@read")
	u, _ := testenv.AsUser(dbURL, noSelect)
	_, err = open(t, u, backends.Options{}).Get(ctx, "app:1")
	if pe := permission(t, "get without SELECT", err); pe.Command != "select" || pe.Category != "@connection" {
		t.Errorf("get without SELECT: %v", pe)
	}
}

// TestWithoutOptionalCommands: a user lacking INFO, CONFIG, CLIENT, MEMORY,
// DEBUG or EVAL (or with an explicit ?client_name= and no CLIENT SETNAME)
// still does everything; without INFO (and DBSIZE) stats are unknown, not
// an error.
func TestWithoutOptionalCommands(t *testing.T) {
	dbURL := testenv.RedisURL(t)
	c := testenv.RedisClient(t, dbURL)
	ctx := context.Background()
	for _, missing := range []string{"info", "config", "client", "memory", "debug", "eval", "@dangerous", "@admin"} {
		t.Run(missing, func(t *testing.T) {
			u := testenv.RedisUserURL(t, dbURL, "~*", "+@all", "-"+missing)
			b := open(t, u+"?client_name=cachectl-acl", backends.Options{})
			if err := b.Set(ctx, "k:"+missing, []byte("v"), time.Minute); err != nil {
				t.Fatalf("set: %v", err)
			}
			if e, err := b.Get(ctx, "k:"+missing); err != nil || string(e.Value) != "v" {
				t.Fatalf("get: %v %v", e, err)
			}
			if err := b.Expire(ctx, "k:"+missing, 0); err != nil {
				t.Fatalf("persist: %v", err)
			}
			infos, err := b.Inspect(ctx, []string{"k:" + missing})
			if err != nil || len(infos) != 1 || infos[0].Denied != nil || infos[0].Size != 1 {
				t.Fatalf("inspect: %+v %v", infos, err)
			}
			found := 0
			if err := b.Scan(ctx, "k:"+missing, func(keys []string) error { found += len(keys); return nil }); err != nil || found != 1 {
				t.Fatalf("scan: %d %v", found, err)
			}
			s, err := b.Stats(ctx)
			if err != nil {
				t.Fatalf("stats: %v", err)
			}
			noInfo := missing == "info" || missing == "@dangerous"
			if noInfo != (len(s.Denied) == 1 && s.Denied[0].Command == "info") || noInfo == s.Known["memory"] || !s.Known["keys"] {
				t.Fatalf("stats: known %v denied %v", s.Known, s.Denied)
			}
			if n, err := b.Delete(ctx, "k:"+missing); err != nil || n != 1 {
				t.Fatalf("delete: %d %v", n, err)
			}
		})
	}

	// Neither INFO nor DBSIZE: nothing known, and still no error.
	b := open(t, testenv.RedisUserURL(t, dbURL, "~*", "+@read", "-dbsize"), backends.Options{})
	s, err := b.Stats(ctx)
	if err != nil || len(s.Known) != 0 || len(s.Denied) != 2 || s.Denied[0].Category != "@dangerous" || s.Denied[1].Command != "dbsize" {
		t.Fatalf("stats without INFO and DBSIZE: %+v %v", s, err)
	}
	// The name is still set where CLIENT SETNAME is allowed.
	named := open(t, testenv.RedisUserURL(t, dbURL, "~*", "+@read", "+@connection")+"?client_name=cachectl-named", backends.Options{})
	if _, err := named.TTL(ctx, "nope"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatal(err)
	}
	if list, _ := c.ClientList(ctx).Result(); !strings.Contains(list, "name=cachectl-named") {
		t.Errorf("CLIENT LIST shows no connection named cachectl-named:\n%s", list)
	}
}

// TestClusterUnderACL: on a cluster (each node has its own ACLs) a user
// without CLUSTER SLOTS/NODES hears both grants; a read-only user with them
// lists and reads on every node and its writes are refused; without INFO
// the figures are unknown.
func TestClusterUnderACL(t *testing.T) {
	cl := testenv.Cluster(t)
	admins := cl.NodeClients(t)
	ctx := context.Background()
	admin := openURL(t, cl.URL, backends.Options{})
	prefix := fmt.Sprintf("acl-%d:", time.Now().UnixNano())
	var keys []string
	for i := range 20 {
		k := fmt.Sprintf("%s%d", prefix, i)
		keys = append(keys, k)
		if err := admin.Set(ctx, k, []byte("v"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _, _ = admin.Delete(context.Background(), keys...) })

	bare := openURL(t, cl.URLAs(t, testenv.ACLUser(t, admins, "~*", "+@read", "+@connection")), backends.Options{})
	pe := permission(t, "scan without CLUSTER NODES", bare.Scan(ctx, prefix+"*", func([]string) error { return nil }))
	if !strings.Contains(pe.Error(), "grant it with ACL SETUSER "+pe.User+" +cluster|slots +cluster|nodes on every node (category @slow); NOPERM") {
		t.Errorf("scan without CLUSTER NODES: %v", pe)
	}

	ro := openURL(t, cl.URLAs(t, testenv.ACLUser(t, admins, "~*", "+@read", "+@connection", "+cluster|slots", "+cluster|nodes")), backends.Options{})
	found := 0
	if err := ro.Scan(ctx, prefix+"*", func(ks []string) error { found += len(ks); return nil }); err != nil || found != 20 {
		t.Fatalf("read-only scan: %d keys, %v", found, err)
	}
	if _, err := ro.Get(ctx, keys[0]); err != nil {
		t.Fatalf("read-only get: %v", err)
	}
	if pe := permission(t, "read-only set", ro.Set(ctx, keys[0], []byte("w"), 0)); pe.Command != "set" || pe.Where != "on every node" {
		t.Errorf("read-only set: %v", pe)
	}
	n, err := ro.(backends.PartialDeleter).DeleteKeys(ctx, keys)
	if pe := permission(t, "read-only delete", err); n.Deleted != 0 || pe.Command != "unlink" {
		t.Errorf("read-only delete: %+v %v", n, err)
	}
	s, err := ro.Stats(ctx)
	if err != nil || s.Known["memory"] || !s.Known["keys"] || len(s.Denied) != 1 || s.Denied[0].Command != "info" {
		t.Fatalf("read-only stats: %+v %v", s, err)
	}
	for _, row := range s.Servers {
		if row.Err != nil || row.Stats == nil || len(row.Stats.Denied) != 1 {
			t.Errorf("read-only stats of %s: %+v", row.Address, row)
		}
	}
	left := 0
	if err := admin.Scan(ctx, prefix+"*", func(ks []string) error { left += len(ks); return nil }); err != nil || left != 20 {
		t.Fatalf("after refused writes %d keys are left, %v", left, err)
	}
}

// TestRefusalInsideTransaction: a command the ACL refuses inside MULTI/EXEC
// (expire K 0, a restore's final rename) or EXEC itself is reported as that
// refusal, naming its grant, not as EXECABORT's "previous errors".
func TestRefusalInsideTransaction(t *testing.T) {
	dbURL := testenv.RedisURL(t)
	c := testenv.RedisClient(t, dbURL)
	ctx := context.Background()
	if err := c.Set(ctx, "tx:1", "v", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ missing, refused string }{{"-persist", "persist"}, {"-exists", "exists"}, {"-exec", "exec"}} {
		b := open(t, testenv.RedisUserURL(t, dbURL, "~*", "+@read", "+multi", "+exec", "+persist", tc.missing), backends.Options{})
		pe := permission(t, "expire 0 "+tc.missing, b.Expire(ctx, "tx:1", 0))
		if pe.Command != tc.refused || !strings.Contains(pe.Error(), "+"+tc.refused+" (category @") {
			t.Errorf("expire 0 %s: %v", tc.missing, pe)
		}
	}
	if ttl, _ := c.TTL(ctx, "tx:1").Result(); ttl < 59*time.Minute {
		t.Fatalf("a refused persist changed the TTL to %v", ttl)
	}

	b := open(t, testenv.RedisUserURL(t, dbURL, "~*", "+@read", "+@hash", "+pexpire", "+persist", "+multi", "+exec", "+unlink"), backends.Options{})
	r, err := b.RestoreCollection(ctx, "tx:h", "hash")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Append(ctx, []backends.Item{{Field: []byte("f"), Value: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	_, err = r.Commit(ctx, 0, backends.StreamMeta{}, false)
	if pe := permission(t, "restore without RENAMENX", err); pe.Command != "renamenx" {
		t.Errorf("restore without RENAMENX: %v", pe)
	}
	if n, _ := c.Exists(ctx, "tx:h").Result(); n != 0 {
		t.Fatal("a refused rename restored the key")
	}
}

// TestSentinelUnderACL: behind Sentinel the master and its replicas each
// have their own ACLs (ACL SETUSER is not replicated, and a failover
// promotes a replica), so a refusal says where to grant; a read-only user
// with no ROLE still reads.
func TestSentinelUnderACL(t *testing.T) {
	env := testenv.Sentinel(t)
	var admins []*goredis.Client
	for _, a := range env.DataAddrs {
		c := goredis.NewClient(&goredis.Options{Addr: a, Username: env.User, Password: env.Password})
		t.Cleanup(func() { _ = c.Close() })
		admins = append(admins, c)
	}
	u, err := testenv.AsUser(env.URL, testenv.ACLUser(t, admins, "~*", "+@read", "+@connection"))
	if err != nil {
		t.Fatal(err)
	}
	ro := openURL(t, u, backends.Options{SentinelPassword: env.SentinelPassword})
	ctx := context.Background()
	if _, err := ro.Get(ctx, "acl-sentinel-nope"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("read-only get: %v", err)
	}
	pe := permission(t, "read-only set", ro.Set(ctx, "acl-sentinel", []byte("w"), time.Minute))
	if pe.Command != "set" || !strings.Contains(pe.Error(), "+set on the master and every replica (category @write)") {
		t.Errorf("read-only set behind Sentinel: %v", pe)
	}
}

// echoServer is a hostile server that accepts any AUTH and answers every
// other command with reply (RESP2 arrays of bulk strings in, errors out).
func echoServer(t *testing.T, reply string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveEach(t, l, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			var n int
			if _, err := fmt.Fscanf(r, "*%d\r\n", &n); err != nil {
				return
			}
			var cmd string
			for i := range n {
				var size int
				if _, err := fmt.Fscanf(r, "$%d\r\n", &size); err != nil {
					return
				}
				arg := make([]byte, size+2)
				if _, err := io.ReadFull(r, arg); err != nil {
					return
				}
				if i == 0 {
					cmd = strings.ToUpper(string(arg[:size]))
				}
			}
			out := "-" + reply + "\r\n"
			if cmd == "AUTH" {
				out = "+OK\r\n"
			}
			if _, err := io.WriteString(c, out); err != nil {
				return
			}
		}
	})
	return l.Addr().String()
}

// TestServerEchoingThePassword: whatever a server's error reply quotes of
// the password is masked in the error itself, so every consumer (the
// dashboard too, which prints errors without the commands' scrubbing) is
// safe, even for a password of bytes the text escapes.
func TestServerEchoingThePassword(t *testing.T) {
	pw := "p\x01\u00e9ss\"w"
	for _, reply := range []string{"ERR bad password " + pw + " here", "NOPERM user x " + pw + " has no permissions to run the 'get' command"} {
		addr := echoServer(t, reply)
		u := url.URL{Scheme: "redis", Host: addr, User: url.UserPassword("u", pw)}
		_, err := open(t, u.String(), backends.Options{Timeout: 2 * time.Second}).Get(context.Background(), "k")
		if err == nil || strings.Contains(err.Error(), "ss\"w") || strings.Contains(err.Error(), `ss\"w`) || !strings.Contains(err.Error(), "***") {
			t.Errorf("reply %q: %v", reply, err)
		}
	}
}
