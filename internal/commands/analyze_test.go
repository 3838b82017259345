package commands

import (
	"bufio"
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/memserver"
	"github.com/cachectl/cachectl/internal/testenv"
)

// runAnalyze runs `cachectl -u URL analyze -o json ARGS...` and decodes the
// document; code is the exit code.
func runAnalyze(t *testing.T, url string, args ...string) (doc analyzeJSON, stderr string, code int) {
	t.Helper()
	r := newTestRun(t, nil)
	code = r.run(append([]string{"-u", url, "analyze", "-o", "json"}, args...)...)
	if code != 0 && code != ExitInterrupted && r.stdout.Len() == 0 {
		return doc, r.stderr.String(), code
	}
	if err := json.Unmarshal(r.stdout.Bytes(), &doc); err != nil {
		t.Fatalf("analyze %q: exit %d, %v: %q (stderr %q)", args, code, err, r.stdout, r.stderr)
	}
	return doc, r.stderr.String(), code
}

// vectors reads hex values of a serial testdata file (written by CPython
// and Debian's python3-msgpack) that keep picks.
func vectors(t *testing.T, file string, keep func([]byte) bool, n int) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "serial", "testdata", "vectors", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() && len(out) < n {
		var v struct{ Hex string }
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		b, err := hex.DecodeString(v.Hex)
		if err != nil {
			t.Fatal(err)
		}
		if keep(b) {
			out = append(out, b)
		}
	}
	if len(out) < n {
		t.Fatalf("%s: %d vectors, want %d", file, len(out), n)
	}
	return out
}

// TestAnalyzeRedisFigures: every figure on seeded data equals what the
// server says of each key (MEMORY USAGE, PTTL) and what the values are.
func TestAnalyzeRedisFigures(t *testing.T) {
	dbURL := testenv.RedisURL(t)
	c := testenv.RedisClient(t, dbURL)
	ctx := context.Background()
	// Over the head read (40 bytes), so only their first bytes tell.
	long := func(b []byte) bool { return len(b) > 60 }
	pickles := vectors(t, "pickle.jsonl", func(b []byte) bool { return long(b) && b[0] == 0x80 && b[1] >= 2 }, 4)
	packs := vectors(t, "msgpack.jsonl", func(b []byte) bool { return long(b) && (b[0]>>4 == 8 || b[0]>>4 == 9 || b[0] >= 0xdc && b[0] <= 0xdf) }, 3)
	gzips := vectors(t, "compress.jsonl", func(b []byte) bool { return long(b) && b[0] == 0x1f && b[1] == 0x8b }, 2)
	type seed struct {
		key    string
		value  []byte
		ttl    time.Duration
		format string
	}
	var seeds []seed
	ttls := []time.Duration{0, 30 * time.Second, 30 * time.Minute, 5 * time.Hour, 72 * time.Hour}
	add := func(key string, v []byte, format string) {
		seeds = append(seeds, seed{key, v, ttls[len(seeds)%len(ttls)], format})
	}
	for i, v := range pickles {
		add(fmt.Sprintf("sess:%d", i), v, "pickle")
	}
	for i, v := range packs {
		add(fmt.Sprintf("feed:a:%d", i), v, "msgpack")
	}
	for i, v := range gzips {
		add(fmt.Sprintf("feed:b:%d", i), v, "gzip")
	}
	for i := range 9 { // 20 seeds: 4 of each TTL bucket
		add(fmt.Sprintf("user:%d:p%d", i%3, i), []byte(fmt.Sprintf(`{"id": %d, "name": "user %d"}`, i, i)), "json")
	}
	add("user:9", []byte("plain words"), "string")
	add("blob", []byte{0xff, 0xfe, 0x00, 0x01}, "bytes")
	// A key twice, under two patterns: counted once.
	_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, s := range seeds {
			p.Set(ctx, s.key, s.value, s.ttl)
		}
		p.RPush(ctx, "queue:jobs", strings.Repeat("j", 5000), "b")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	doc, stderr, code := runAnalyze(t, dbURL, "--formats", "all", "--top", "3", "*", "user:*")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}

	wantBytes := map[string]int64{}
	var total int64
	for _, k := range append(slices.Collect(func(yield func(string) bool) {
		for _, s := range seeds {
			yield(s.key)
		}
	}), "queue:jobs") {
		n := c.MemoryUsage(ctx, k).Val()
		wantBytes[k] = n
		total += n
	}
	n := int64(len(seeds) + 1)
	if doc.Keys != n || doc.Bytes != total || !doc.BytesFromServer || doc.Partial || doc.Sampled || doc.FormatsSampled {
		t.Fatalf("totals: %d keys %d bytes (server %v), want %d keys %d bytes; %+v", doc.Keys, doc.Bytes, doc.BytesFromServer, n, total, doc)
	}
	// seeds cycle through the 5 TTL buckets; the list has none.
	per := int64(len(seeds) / 5)
	if doc.TTL.None != per+1 || doc.TTL.Lt1m != per || doc.TTL.Lt1h != per || doc.TTL.Lt1d != per || doc.TTL.Longer != per || doc.NoTTL != per+1 {
		t.Fatalf("ttl %+v, no_ttl %d (seeds %d)", doc.TTL, doc.NoTTL, len(seeds))
	}
	wantFormats := map[string]int64{}
	for _, s := range seeds {
		wantFormats[s.format]++
	}
	if fmt.Sprint(doc.Formats) != fmt.Sprint(wantFormats) || doc.FormatKeys != int64(len(seeds)) {
		t.Fatalf("formats %v (%d keys), want %v", doc.Formats, doc.FormatKeys, wantFormats)
	}
	// Prefixes: exactly the seeded ones, each with the server's bytes.
	want := map[string][3]int64{} // keys, bytes, no_ttl
	for k, b := range wantBytes {
		parts := strings.SplitAfter(k, ":")
		for d := 1; d < len(parts) && d <= 2; d++ {
			p := strings.Join(parts[:d], "")
			w := want[p]
			w[0]++
			w[1] += b
			if ttl, _ := c.PTTL(ctx, k).Result(); ttl < 0 {
				w[2]++
			}
			want[p] = w
		}
	}
	got := map[string][3]int64{}
	for _, p := range doc.Prefixes {
		got[p.Prefix.(string)] = [3]int64{p.Keys, p.Bytes, p.NoTTL}
		if p.Approximate || p.Depth != strings.Count(p.Prefix.(string), ":") {
			t.Errorf("prefix %+v", p)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || doc.PrefixesApproximate {
		t.Fatalf("prefixes\n got %v\nwant %v", got, want)
	}
	if !sort.SliceIsSorted(doc.Prefixes, func(i, j int) bool { return doc.Prefixes[i].Bytes > doc.Prefixes[j].Bytes }) {
		t.Errorf("prefixes not biggest first: %+v", doc.Prefixes)
	}
	// The biggest, with their types asked at the end (the list is among them).
	type kb struct {
		k string
		b int64
	}
	var all []kb
	for k, b := range wantBytes {
		all = append(all, kb{k, b})
	}
	slices.SortFunc(all, func(x, y kb) int { return cmp.Compare(y.b, x.b)*2 + strings.Compare(x.k, y.k) })
	q := slices.IndexFunc(doc.Biggest, func(b analyzeBigJSON) bool { return b.Key == "queue:jobs" })
	if len(doc.Biggest) != 3 || q < 0 || *doc.Biggest[q].Type != "list" || doc.Biggest[q].TTL != nil {
		t.Fatalf("biggest %+v", doc.Biggest)
	}
	for i, b := range doc.Biggest {
		if b.Bytes != all[i].b || b.Type == nil {
			t.Errorf("biggest #%d: %+v, want %v", i, b, all[i])
		}
	}
	if len(doc.Nodes) != 0 || doc.Targets != nil || fmt.Sprint(doc.Patterns) != "[* user:*]" || doc.Backend != "redis" {
		t.Errorf("doc %+v", doc)
	}

	// --sample: only that many keys, and said so.
	doc, _, code = runAnalyze(t, dbURL, "--sample", "5", "--scan-count", "2")
	if code != 0 || doc.Keys != 5 || !doc.Sampled {
		t.Errorf("--sample 5: exit %d, %d keys, sampled %v", code, doc.Keys, doc.Sampled)
	}
	// By default formats come from a sample too; here, every key.
	doc, _, _ = runAnalyze(t, dbURL)
	if doc.FormatKeys != int64(len(seeds)) || doc.FormatsSampled {
		t.Errorf("default formats: %d keys read (sampled %v)", doc.FormatKeys, doc.FormatsSampled)
	}
	doc, _, _ = runAnalyze(t, dbURL, "--formats", "none")
	if doc.FormatKeys != 0 || len(doc.Formats) != 0 {
		t.Errorf("--formats none: %v", doc.Formats)
	}
}

// TestAnalyzeWithoutMemoryPermission: sizes are value lengths, said in the
// document and in one note naming the grant.
func TestAnalyzeWithoutMemoryPermission(t *testing.T) {
	dbURL := testenv.RedisURL(t)
	c := testenv.RedisClient(t, dbURL)
	ctx := context.Background()
	for i := range 20 {
		c.Set(ctx, fmt.Sprintf("k:%d", i), strings.Repeat("x", i), 0)
	}
	u := testenv.RedisUserURL(t, dbURL, "~*", "+@read", "-memory")
	doc, stderr, code := runAnalyze(t, u)
	if code != 0 || doc.Keys != 20 || doc.Bytes != 190 || doc.BytesFromServer || doc.LengthSized != 20 {
		t.Fatalf("exit %d: %+v", code, doc)
	}
	if len(doc.Notes) != 1 || !strings.Contains(doc.Notes[0], "ACL SETUSER") || !strings.Contains(doc.Notes[0], "+memory|usage") {
		t.Errorf("notes %q", doc.Notes)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "note: MEMORY USAGE refused: bytes are value lengths (STRLEN)") {
		t.Errorf("stderr %q", stderr)
	}
	r := newTestRun(t, nil)
	r.run("-u", u, "analyze")
	if !strings.Contains(r.stdout.String(), "bytes  190 B  (value lengths)") {
		t.Errorf("text:\n%s", r.stdout)
	}
}

// TestAnalyzeClusterPerNode: every key of the shared cluster once, each
// node's figures its own, summing to the total.
func TestAnalyzeClusterPerNode(t *testing.T) {
	env := testenv.Cluster(t)
	cc := env.ClusterClient(t)
	ctx := context.Background()
	prefix := fmt.Sprintf("an%d-%d:", os.Getpid(), time.Now().UnixNano())
	var keys []string
	for i := range 2000 {
		keys = append(keys, fmt.Sprintf("%s%d:%d", prefix, i%4, i))
	}
	for start := 0; start < len(keys); start += 500 {
		if _, err := cc.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, k := range keys[start : start+500] {
				p.Set(ctx, k, "value", 0)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, k := range keys {
			cc.Del(context.Background(), k)
		}
	})
	var total int64
	perNode := map[string]int64{}
	for _, n := range env.Nodes(t) {
		if n.Primary {
			perNode[n.Addr] = 0
		}
	}
	for _, k := range keys {
		total += cc.MemoryUsage(ctx, k).Val()
	}
	doc, _, code := runAnalyze(t, env.URL, prefix+"*")
	if code != 0 || doc.Keys != int64(len(keys)) || doc.Bytes != total {
		t.Fatalf("exit %d: %d keys %d bytes, want %d keys %d bytes", code, doc.Keys, doc.Bytes, len(keys), total)
	}
	if len(doc.Nodes) != 3 {
		t.Fatalf("nodes %+v", doc.Nodes)
	}
	var keysSum, bytesSum int64
	for _, n := range doc.Nodes {
		if _, ok := perNode[n.Address.(string)]; !ok {
			t.Errorf("node %v is not a primary", n.Address)
		}
		keysSum, bytesSum = keysSum+n.Keys, bytesSum+n.Bytes
		if n.Keys == 0 || n.FormatKeys != n.Keys || n.NoTTL != n.Keys {
			t.Errorf("node %+v", n)
		}
	}
	if keysSum != doc.Keys || bytesSum != doc.Bytes {
		t.Errorf("nodes sum to %d keys %d bytes; totals %d %d", keysSum, bytesSum, doc.Keys, doc.Bytes)
	}
	if p := doc.Prefixes[0]; p.Prefix != prefix || p.Keys != 2000 {
		t.Errorf("prefix %+v", p)
	}
	r := newTestRun(t, nil)
	r.run("-u", env.URL, "analyze", prefix+"*")
	if !strings.Contains(r.stdout.String(), "\nNodes\n  NODE ") {
		t.Errorf("text has no node table:\n%s", r.stdout)
	}
}

// TestAnalyzeMemcachedPool: item sizes from the listing, per server; the
// values are read only when asked.
func TestAnalyzeMemcachedPool(t *testing.T) {
	a, b := testenv.MemcachedAddr(t), testenv.Memcached2Addr(t)
	url := "memcached://" + a + "," + b
	prefix := fmt.Sprintf("an%d-%d:", os.Getpid(), time.Now().UnixNano())
	r := newTestRun(t, nil)
	for i := range 40 {
		value := `{"n": 1}`
		if i%2 == 1 {
			value = "text"
		}
		if code := r.run("-u", url, "set", fmt.Sprintf("%s%d:%d", prefix, i%2, i), value, "--ttl", "1h"); code != 0 {
			t.Fatalf("set: %s", r.stderr)
		}
	}
	doc, _, code := runAnalyze(t, url, prefix+"*")
	if code != 0 || doc.Keys != 40 || !doc.BytesFromServer || doc.Bytes < 40*8 || doc.TTL.Lt1h != 40 || doc.FormatKeys != 0 {
		t.Fatalf("exit %d: %+v", code, doc)
	}
	if len(doc.Nodes) != 2 || doc.Nodes[0].Keys+doc.Nodes[1].Keys != 40 || doc.Nodes[0].Bytes+doc.Nodes[1].Bytes != doc.Bytes {
		t.Errorf("nodes %+v", doc.Nodes)
	}
	doc, _, _ = runAnalyze(t, url, prefix+"*", "--formats", "all")
	if doc.FormatKeys != 40 || doc.Formats["json"] != 20 || doc.Formats["string"] != 20 {
		t.Errorf("--formats all: %v", doc.Formats)
	}
}

// TestAnalyzeHTTPCache: sizes are value lengths, formats the server's own
// where it names them.
func TestAnalyzeHTTPCache(t *testing.T) {
	c := startMemCache(t)
	c.put(t, "page:/a", []byte("\x80\x04\x95abc"), time.Minute*30, "pickle")
	c.put(t, "page:/b", []byte(`{"x": 1}`), 0, "")
	c.put(t, "other", []byte("hello"), 0, "")
	m := c.run(t, pipe, "analyze", "-o", "json")
	var doc analyzeJSON
	if err := json.Unmarshal([]byte(m.out()), &doc); err != nil || m.code != 0 {
		t.Fatalf("exit %d %v: %s %s", m.code, err, m.out(), m.err())
	}
	if doc.Keys != 3 || doc.Bytes != 6+8+5 || doc.BytesFromServer || doc.Formats["pickle"] != 1 || doc.Formats["json"] != 1 || doc.Formats["string"] != 1 || doc.TTL.Lt1h != 1 {
		t.Errorf("%+v", doc)
	}
}

// TestAnalyzeHostileKeys: keys of escape bytes, binary, and a huge prefix
// come out escaped (text) or lossless (JSON), and bounded.
func TestAnalyzeHostileKeys(t *testing.T) {
	dbURL := testenv.RedisURL(t)
	c := testenv.RedisClient(t, dbURL)
	ctx := context.Background()
	huge := strings.Repeat("h", 100000)
	c.Set(ctx, "\x1b]0;owned\x07:\x1b[2J:k", "v", 0)
	c.Set(ctx, "\xff\xfe:bin", "v", 0)
	c.Set(ctx, huge+":tail", strings.Repeat("x", 1000), 0)
	r := newTestRun(t, nil)
	if code := r.run("-u", dbURL, "analyze"); code != 0 {
		t.Fatalf("exit %d: %s", code, r.stderr)
	}
	out := r.stdout.String()
	if regexp.MustCompile(`[\x00-\x09\x0b-\x1f\x7f]`).MatchString(out) {
		t.Errorf("raw control bytes in the output:\n%q", out)
	}
	if !strings.Contains(out, `"\x1b]0;owned\x07:"`) || !strings.Contains(out, `"\xff\xfe:"`) {
		t.Errorf("keys not escaped:\n%s", out)
	}
	for line := range strings.Lines(out) {
		if len(line) > 400 {
			t.Errorf("a %d-byte line", len(line))
		}
	}
	doc, _, _ := runAnalyze(t, dbURL)
	seen := 0
	for _, p := range doc.Prefixes {
		switch v := p.Prefix.(type) {
		case map[string]any:
			if v["$bytes"] != "//46" {
				t.Errorf("binary prefix %v", v)
			}
			seen++
		case string:
			if len(v) > 256 {
				t.Errorf("a %d-byte prefix", len(v))
			}
		}
	}
	if seen != 1 || doc.Keys != 3 {
		t.Errorf("%+v", doc)
	}
}

// TestAnalyzeInterrupted: Ctrl-C midway prints what was seen, marked
// partial, and exits 130.
func TestAnalyzeInterrupted(t *testing.T) {
	store := memserver.NewStore(memserver.Options{})
	for i := range 50 {
		store.Set(fmt.Sprintf("k:%d", i), []byte("v"), 0, "json")
	}
	for _, output := range []string{"json", "text"} {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var pages atomic.Int32
		h := memserver.NewHandler(store, memserver.HandlerOptions{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1/keys" && pages.Add(1) == 3 {
				cancel() // Ctrl-C while the third page is asked for
			}
			h.ServeHTTP(w, r)
		}))
		defer srv.Close()
		r := newTestRun(t, nil)
		code := Run(ctx, r.f, []string{"-u", srv.URL, "--scan-count", "10", "analyze", "-o", output})
		// The server's pages hold up to 10 keys: the first two were seen.
		var seen int
		if _, err := fmt.Sscanf(r.stderr.String(), "interrupted: analyzed %d key(s) before stopping", &seen); code != ExitInterrupted || err != nil || seen < 2 || seen > 20 {
			t.Fatalf("%s: exit %d, stderr %q", output, code, r.stderr)
		}
		if output == "text" {
			if !strings.HasPrefix(r.stdout.String(), fmt.Sprintf("partial analysis: %d key(s)", seen)) {
				t.Errorf("text: %s", r.stdout)
			}
			continue
		}
		var doc analyzeJSON
		if err := json.Unmarshal(r.stdout.Bytes(), &doc); err != nil || !doc.Partial || doc.Keys != int64(seen) || doc.Error != "" {
			t.Errorf("json %v: %s", err, r.stdout)
		}
	}
}

// TestAnalyzeOutputOnATerminal: bars and colour on a terminal; the same
// tables without any escape byte in a pipe or under NO_COLOR.
func TestAnalyzeOutputOnATerminal(t *testing.T) {
	c := startMemCache(t)
	for i := range 30 {
		c.put(t, fmt.Sprintf("user:%d:p", i%3), []byte(`{"a": 1}`), 0, "json")
		c.put(t, fmt.Sprintf("img:%d", i), []byte(strings.Repeat("b", 100)), time.Hour*2, "")
	}
	r := newTestRun(t, nil)
	r.f.IO.SetStdoutTTY(true)
	r.f.IO.SetColorEnabled(true)
	if code := r.run("-u", c.URL, "analyze"); code != 0 || !strings.Contains(r.stdout.String(), "\x1b[1mPrefixes\x1b[0m") ||
		!strings.Contains(r.stdout.String(), "  img:       30    2.9 KiB  0       99.2% ███████████████████████▊\n") {
		t.Fatalf("tty: exit %d\n%s", code, r.stdout)
	}
	// Progress on a terminal's stderr, cleared when done.
	m := c.runIn(t, ttyErr, nil, "", "-u", c.URL, "analyze", "-o", "json")
	if !strings.HasPrefix(m.err(), "\r\x1b[Kanalyzed 33 keys so far (") || !strings.HasSuffix(m.err(), "\r\x1b[K") {
		t.Errorf("progress: %q", m.err())
	}
	for _, env := range []map[string]string{nil, {"NO_COLOR": "1"}} {
		s := pipe
		if env != nil {
			s = tty
		}
		m := c.runIn(t, s, env, "", "-u", c.URL, "analyze")
		if strings.Contains(m.out(), "\x1b") {
			t.Errorf("%v %v: escape bytes:\n%q", s, env, m.out())
		}
		for _, w := range []string{"Prefixes  depth 2", "img:", "user:0:", "Biggest keys", "< 1d"} {
			if !strings.Contains(m.out(), w) {
				t.Errorf("%v: no %q in\n%s", s, w, m.out())
			}
		}
	}
}
