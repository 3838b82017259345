package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/testenv"
)

func open(t *testing.T, raw string, opts backends.Options) *Backend {
	t.Helper()
	u, err := backends.ParseURL(raw)
	if err != nil {
		t.Fatalf("parse %s: %v", raw, err)
	}
	b, err := Open(context.Background(), u, opts)
	if err != nil {
		t.Fatalf("open %s: %v", raw, err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b.(*Backend)
}

func fresh(t *testing.T) (*Backend, string) {
	t.Helper()
	u := testenv.RedisURL(t)
	return open(t, u, backends.Options{}), u
}

func TestGetSetRoundTripsBinary(t *testing.T) {
	b, _ := fresh(t)
	ctx := context.Background()
	key := "bin:\x00\x1b[31m\xff"
	val := []byte{0, 1, 2, 0xff, '\n', 0x1b}
	if err := b.Set(ctx, key, val, 0); err != nil {
		t.Fatal(err)
	}
	e, err := b.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Value) != string(val) || e.Key != key || e.Type != "string" || e.Size != int64(len(val)) {
		t.Fatalf("got %+v", e)
	}
	if e.TTL.Expires {
		t.Fatalf("no TTL was set, got %+v", e.TTL)
	}
}

func TestGetMissingIsNotFound(t *testing.T) {
	b, _ := fresh(t)
	_, err := b.Get(context.Background(), "nope")
	if !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	if !strings.Contains(err.Error(), "nope") {
		t.Fatalf("error should name the key: %v", err)
	}
}

func TestTTLSemantics(t *testing.T) {
	b, _ := fresh(t)
	ctx := context.Background()
	if err := b.Set(ctx, "k", []byte("v"), 60*time.Second); err != nil {
		t.Fatal(err)
	}
	ttl, err := b.TTL(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if !ttl.Expires || ttl.Remaining <= 58*time.Second || ttl.Remaining > 60*time.Second {
		t.Fatalf("ttl = %+v, want about 60s", ttl)
	}
	if err := b.Expire(ctx, "k", 0); err != nil {
		t.Fatal(err)
	}
	if ttl, _ = b.TTL(ctx, "k"); ttl.Expires {
		t.Fatalf("expire 0 should persist, got %+v", ttl)
	}
	if err := b.Expire(ctx, "k", 0); err != nil {
		t.Fatalf("persisting a persistent key is fine: %v", err)
	}
	if err := b.Expire(ctx, "k", 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	if ttl, _ = b.TTL(ctx, "k"); !ttl.Expires || ttl.Remaining < 4*time.Minute {
		t.Fatalf("ttl after expire 5m = %+v", ttl)
	}
	for _, d := range []time.Duration{0, time.Minute} {
		if err := b.Expire(ctx, "missing", d); !errors.Is(err, backends.ErrNotFound) {
			t.Fatalf("expire missing %v: want ErrNotFound, got %v", d, err)
		}
	}
	if _, err := b.TTL(ctx, "missing"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("ttl missing: want ErrNotFound, got %v", err)
	}
}

func TestScanStreamsInPages(t *testing.T) {
	u := testenv.RedisURL(t)
	c := testenv.RedisClient(t, u)
	ctx := context.Background()
	pipe := c.Pipeline()
	for i := range 5000 {
		pipe.Set(ctx, fmt.Sprintf("p:%d", i), "x", 0)
	}
	for i := range 300 {
		pipe.Set(ctx, fmt.Sprintf("q:%d", i), "x", 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	b := open(t, u, backends.Options{ScanCount: 500})
	seen := map[string]bool{}
	pages := 0
	err := b.Scan(ctx, "p:*", func(keys []string) error {
		pages++
		for _, k := range keys {
			if !strings.HasPrefix(k, "p:") {
				t.Errorf("key %q does not match p:*", k)
			}
			seen[k] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 5000 {
		t.Fatalf("saw %d distinct keys, want 5000", len(seen))
	}
	if pages < 2 {
		t.Fatalf("got %d page(s); a scan must stream in pages", pages)
	}
	// "*" lists everything; a callback error stops the scan and comes back.
	total := 0
	stop := errors.New("stop")
	err = b.Scan(ctx, "*", func(keys []string) error { total += len(keys); return stop })
	if !errors.Is(err, stop) || total == 0 || total >= 5300 {
		t.Fatalf("callback error should stop the scan: err=%v total=%d", err, total)
	}
}

func TestDeleteCountsAndBatches(t *testing.T) {
	b, u := fresh(t)
	c := testenv.RedisClient(t, u)
	ctx := context.Background()
	keys := make([]string, 2500)
	pipe := c.Pipeline()
	for i := range keys {
		keys[i] = fmt.Sprintf("d:%d", i)
		if i%2 == 0 {
			pipe.Set(ctx, keys[i], "x", 0)
		}
	}
	pipe.Set(ctx, "keep", "x", 0)
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := b.Delete(ctx, keys...)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1250 {
		t.Fatalf("deleted %d, want 1250 (only existing keys count)", n)
	}
	if left, _ := c.DBSize(ctx).Result(); left != 1 {
		t.Fatalf("%d keys left, want only 'keep'", left)
	}
}

func TestCollectionsAreBoundedReads(t *testing.T) {
	u := testenv.RedisURL(t)
	c := testenv.RedisClient(t, u)
	ctx := context.Background()
	for i := range 250 {
		c.HSet(ctx, "h", fmt.Sprintf("f%03d", i), i)
		c.RPush(ctx, "l", i)
		c.SAdd(ctx, "s", i)
		c.ZAdd(ctx, "z", rzs(float64(i), fmt.Sprint(i)))
	}
	c.XAdd(ctx, xargs("st", "b", "2", "a", "1"))
	b := open(t, u, backends.Options{MaxItems: 100})
	for _, kind := range []string{"h", "l", "s", "z"} {
		e, err := b.Get(ctx, kind)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if e.Collection == nil || e.Collection.Length != 250 || len(e.Collection.Items) != 100 || !e.Collection.Truncated {
			t.Fatalf("%s: want 100 of 250 items, truncated; got %+v", kind, e.Collection)
		}
	}
	e, err := b.Get(ctx, "l")
	if err != nil || string(e.Collection.Items[0].Value) != "0" || string(e.Collection.Items[99].Value) != "99" {
		t.Fatalf("list order: %v %+v", err, e.Collection.Items[:2])
	}
	e, err = b.Get(ctx, "z")
	if err != nil || e.Collection.Items[5].Score != 5 {
		t.Fatalf("zset scores: %v %+v", err, e.Collection.Items[5])
	}
	e, err = b.Get(ctx, "st")
	if err != nil || e.Type != "stream" || len(e.Collection.Items) != 1 {
		t.Fatalf("stream: %v %+v", err, e)
	}
	fs := e.Collection.Items[0].Fields
	if len(fs) != 2 || string(fs[0].Field) != "b" || string(fs[1].Value) != "1" {
		t.Fatalf("stream fields must keep their order: %+v", fs)
	}
}

func TestInspect(t *testing.T) {
	u := testenv.RedisURL(t)
	c := testenv.RedisClient(t, u)
	ctx := context.Background()
	c.Set(ctx, "s", strings.Repeat("a", 200), time.Minute)
	c.Set(ctx, "small", `{"a":1}`, 0)
	c.RPush(ctx, "l", 1, 2, 3)
	b := open(t, u, backends.Options{})
	infos, err := b.Inspect(ctx, []string{"s", "small", "l", "gone"})
	if err != nil {
		t.Fatal(err)
	}
	s, small, l, gone := infos[0], infos[1], infos[2], infos[3]
	if s.Type != "string" || s.Size != 200 || !s.Partial || len(s.Prefix) != prefixLen || !s.TTL.Expires {
		t.Fatalf("s: %+v", s)
	}
	if small.Partial || string(small.Prefix) != `{"a":1}` || small.TTL.Expires {
		t.Fatalf("small: %+v", small)
	}
	if l.Type != "list" || l.Length != 3 {
		t.Fatalf("l: %+v", l)
	}
	if !gone.Missing {
		t.Fatalf("gone: %+v", gone)
	}
}

func TestStats(t *testing.T) {
	b, u := fresh(t)
	c := testenv.RedisClient(t, u)
	ctx := context.Background()
	c.Set(ctx, "a", "1", 0)
	c.Set(ctx, "b", "1", 0)
	s, err := b.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Keys != 2 || !strings.HasPrefix(s.Version, "redis ") || s.MemoryBytes <= 0 || s.Uptime <= 0 && !s.Known["uptime"] {
		t.Fatalf("stats: %+v", s)
	}
	for _, k := range []string{"keys", "memory", "hits", "misses", "evictions", "connections", "version", "ops_per_sec"} {
		if !s.Known[k] {
			t.Errorf("stat %s not reported", k)
		}
	}
	if len(s.Raw) != 1 {
		t.Fatalf("raw stats per server: %v", s.Raw)
	}
}

func TestACLUserAndPassword(t *testing.T) {
	base := testenv.RedisBaseURL(t)
	admin := testenv.RedisClient(t, base+"/0")
	ctx := context.Background()
	user := fmt.Sprintf("cachectl-test-%d", time.Now().UnixNano())
	if err := admin.Do(ctx, "ACL", "SETUSER", user, "on", ">right-pw", "~*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Do(context.Background(), "ACL", "DELUSER", user) })
	u, _ := url.Parse(base)

	u.User = url.UserPassword(user, "right-pw")
	if _, err := open(t, u.String()+"/0", backends.Options{}).Stats(ctx); err != nil {
		t.Fatalf("ACL user with the right password: %v", err)
	}
	u.User = url.User(user)
	if _, err := open(t, u.String()+"/0", backends.Options{Password: "right-pw"}).Stats(ctx); err != nil {
		t.Fatalf("password from options (password_env / CACHECTL_PASSWORD): %v", err)
	}

	u.User = url.UserPassword(user, "s3cr3t-wrong")
	_, err := open(t, u.String()+"/0", backends.Options{}).Get(ctx, "k")
	if err == nil {
		t.Fatal("a wrong password must fail")
	}
	if strings.Contains(err.Error(), "s3cr3t-wrong") {
		t.Fatalf("error leaks the password: %v", err)
	}
	var se *backends.ServerError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "authentication failed") {
		t.Fatalf("want a ServerError saying authentication failed, got %T %v", err, err)
	}
}

func TestDeadServerFailsFastWithConnError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	b := open(t, "redis://:pw@"+addr+"/0", backends.Options{Timeout: 2 * time.Second})
	start := time.Now()
	_, err = b.Get(context.Background(), "k")
	var ce *backends.ConnError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("want ConnError 'connection refused', got %T %v", err, err)
	}
	if strings.Contains(err.Error(), "pw@") {
		t.Fatalf("password in error: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Fatalf("refused connection took %v", time.Since(start))
	}
}

func TestSlowServerTimesOut(t *testing.T) {
	// A listener that accepts and never answers: the operation timeout must fire.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	b := open(t, "redis://"+l.Addr().String(), backends.Options{Timeout: 300 * time.Millisecond})
	start := time.Now()
	_, err = b.Get(context.Background(), "k")
	if err == nil || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Fatalf("want a timeout error, got %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("timeout took %v", el)
	}
}

func TestCancelledContext(t *testing.T) {
	b, _ := fresh(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.Get(ctx, "k")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

func TestUnixSocket(t *testing.T) {
	sock := testenv.RedisSocket(t)
	dbURL := testenv.RedisURL(t) // a database of our own on the same server
	b := open(t, "unix://"+sock+"?db="+dbURL[strings.LastIndex(dbURL, "/")+1:], backends.Options{})
	ctx := context.Background()
	if err := b.Set(ctx, "unix-k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	defer b.Delete(ctx, "unix-k")
	e, err := b.Get(ctx, "unix-k")
	if err != nil || string(e.Value) != "v" {
		t.Fatalf("get over unix socket: %v %+v", err, e)
	}
}

func TestURLParsing(t *testing.T) {
	tests := []struct {
		url     string
		addrs   []string
		db      int
		user    string
		pass    string
		network string
		tls     bool
		kind    string
		wantErr string
	}{
		{url: "redis://", addrs: []string{"127.0.0.1:6379"}, network: "tcp", kind: "standalone"},
		{url: "redis://h", addrs: []string{"h:6379"}, network: "tcp", kind: "standalone"},
		{url: "redis://u:p@h:7000/3", addrs: []string{"h:7000"}, db: 3, user: "u", pass: "p", network: "tcp", kind: "standalone"},
		{url: "redis://:p@h/1", addrs: []string{"h:6379"}, db: 1, pass: "p", network: "tcp", kind: "standalone"},
		{url: "redis://[::1]:6380", addrs: []string{"[::1]:6380"}, network: "tcp", kind: "standalone"},
		{url: "redis://h?db=4", addrs: []string{"h:6379"}, db: 4, network: "tcp", kind: "standalone"},
		{url: "rediss://h:6380/0?insecure=true", addrs: []string{"h:6380"}, network: "tcp", tls: true, kind: "standalone"},
		{url: "unix:///run/redis.sock?db=2", addrs: []string{"/run/redis.sock"}, db: 2, network: "unix", kind: "standalone"},
		{url: "redis+sentinel://s1:26379,s2:26379/mymaster/2", addrs: []string{"s1:26379", "s2:26379"}, db: 2, network: "tcp", kind: "sentinel"},
		{url: "redis+cluster://n1:7000,n2:7001", addrs: []string{"n1:7000", "n2:7001"}, network: "tcp", kind: "cluster"},
		{url: "redis://h:99999", wantErr: "bad port"},
		{url: "redis://h:abc", wantErr: `bad port ":abc"`},
		{url: "redis://h/x", wantErr: "bad database number"},
		{url: "redis://h/-1", wantErr: "bad database number"},
		{url: "redis://h/1?db=2", wantErr: "database given twice"},
		{url: "redis://h?tls=1", wantErr: `unknown parameter "tls"`},
		{url: "redis://h?password=x", wantErr: "not in ?password="},
		{url: "redis://h?insecure=true", wantErr: "TLS parameters need a rediss:// URL"},
		{url: "rediss://h?insecure=maybe", wantErr: "bad insecure"},
		{url: "rediss://h?ca=/nonexistent/ca.pem", wantErr: "read CA file"},
		{url: "rediss://h?cert=/x.pem", wantErr: "needs both cert= and key="},
		{url: "redis://a:1,b:2", wantErr: "several hosts need"},
		{url: "unix://", wantErr: "needs a socket path"},
		{url: "redis+sentinel://s1:26379", wantErr: "needs the master name"},
		{url: "redis+cluster://n1:7000/1", wantErr: "only database 0"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			var got *target
			u, err := backends.ParseURL(tt.url)
			if err == nil {
				got, err = parseURL(u, "")
			}
			if tt.wantErr != "" {
				var ue *backends.URLError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want URLError containing %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(got.Addrs)
			if fmt.Sprint(got.Addrs) != fmt.Sprint(tt.addrs) || got.DB != tt.db || got.Username != tt.user ||
				got.Password != tt.pass || got.Network != tt.network || (got.TLS != nil) != tt.tls || got.Kind != tt.kind {
				t.Fatalf("got %+v", got)
			}
			if strings.Contains(got.Display, ":p@") {
				t.Fatalf("display leaks password: %s", got.Display)
			}
		})
	}
}

func TestPasswordFromOptionsOnlyWhenURLHasNone(t *testing.T) {
	u, _ := backends.ParseURL("redis://u:inline@h")
	got, _ := parseURL(u, "fromenv")
	if got.Password != "inline" {
		t.Fatalf("URL password must win, got %q", got.Password)
	}
	u, _ = backends.ParseURL("redis://u@h")
	got, _ = parseURL(u, "fromenv")
	if got.Password != "fromenv" || got.Username != "u" {
		t.Fatalf("got %+v", got)
	}
}

func TestSentinelAndClusterURLsOpenTheirKinds(t *testing.T) {
	for raw, want := range map[string]string{"redis+sentinel://127.0.0.1:1/m": "*redis.Sentinel", "redis+cluster://127.0.0.1:1,127.0.0.1:2": "*redis.Cluster"} {
		u, _ := backends.ParseURL(raw)
		b, err := Open(context.Background(), u, backends.Options{})
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got := fmt.Sprintf("%T", b); got != want {
			t.Errorf("%s opened %s, want %s", raw, got, want)
		}
		b.Close()
	}
}

func rzs(score float64, member string) goredis.Z { return goredis.Z{Score: score, Member: member} }

func xargs(stream string, fv ...string) *goredis.XAddArgs {
	vals := make([]any, len(fv))
	for i, s := range fv {
		vals[i] = s
	}
	return &goredis.XAddArgs{Stream: stream, Values: vals}
}

func TestClusterAndSentinelURLs(t *testing.T) {
	for _, tc := range []struct {
		raw             string
		kind, master    string
		addrs           []string
		db              int
		user, password  string
		tls, serverName string
		err             string
	}{
		{raw: "redis+cluster://a:7000,b:7001", kind: "cluster", addrs: []string{"a:7000", "b:7001"}},
		{raw: "redis+cluster://app:pw@a", kind: "cluster", addrs: []string{"a:6379"}, user: "app", password: "pw"},
		{raw: "rediss+cluster://a:7000,b:7000", kind: "cluster", addrs: []string{"a:7000", "b:7000"}, tls: "yes", serverName: ""},
		{raw: "rediss+cluster://a:7000?servername=redis.internal", kind: "cluster", addrs: []string{"a:7000"}, tls: "yes", serverName: "redis.internal"},
		{raw: "redis+cluster://a:7000/1", err: "only database 0"},
		{raw: "redis+sentinel://s1,s2:26380/mymaster", kind: "sentinel", master: "mymaster", addrs: []string{"s1:26379", "s2:26380"}},
		{raw: "redis+sentinel://app:pw@s1/mymaster/3?sentinel_password_env=SPW", kind: "sentinel", master: "mymaster", addrs: []string{"s1:26379"}, db: 3, user: "app", password: "pw"},
		{raw: "rediss+sentinel://s1/m", kind: "sentinel", master: "m", addrs: []string{"s1:26379"}, tls: "yes"},
		{raw: "redis+sentinel://s1", err: "needs the master name"},
		{raw: "redis://h?sentinel_password_env=SPW", err: "sentinel_password_env is for redis+sentinel://"},
		{raw: "redis://a,b", err: "several hosts need redis+cluster://"},
	} {
		u, err := backends.ParseURL(tc.raw)
		if err != nil {
			t.Fatalf("%s: %v", tc.raw, err)
		}
		got, err := parseURL(u, "")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.raw, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.raw, err)
			continue
		}
		if got.Kind != tc.kind || got.MasterName != tc.master || !slices.Equal(got.Addrs, tc.addrs) || got.DB != tc.db || got.Username != tc.user || got.Password != tc.password {
			t.Errorf("%s: %+v", tc.raw, got)
		}
		if (got.TLS != nil) != (tc.tls != "") || got.TLS != nil && got.TLS.ServerName != tc.serverName {
			t.Errorf("%s: TLS %+v, want server name %q", tc.raw, got.TLS, tc.serverName)
		}
	}
}
