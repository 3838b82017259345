package glob

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/testenv"
)

// propertySeed fixes the random keys and patterns of TestMatchAgainstRedis;
// CACHECTL_GLOB_SEED overrides it to explore other inputs.
const propertySeed = 0x5ca9_6c0b

// alphabet is what random keys and patterns are made of: few enough bytes
// that patterns hit keys, every byte with a meaning in a pattern, and bytes
// that are NUL, control, or >= 0x80 (signed in Redis' range comparisons).
const alphabet = "aab:*?[]^-\\\x00\x01\x7f\x80\xe9\xff"

// TestMatchAgainstRedis compares Match with what a real server's SCAN MATCH
// returns for a few hundred random keys and patterns.
func TestMatchAgainstRedis(t *testing.T) {
	url := testenv.RedisURL(t)
	c := testenv.RedisClient(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logServer(ctx, t, c)

	seed := uint64(propertySeed)
	if s := os.Getenv("CACHECTL_GLOB_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			t.Fatalf("CACHECTL_GLOB_SEED: %v", err)
		}
		seed = v
	}
	t.Logf("seed %#x (set CACHECTL_GLOB_SEED to change it)", seed)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	keySet := map[string]bool{"": true}
	for len(keySet) < 300 {
		keySet[randBytes(r, r.IntN(9))] = true
	}
	keys := sortedKeys(keySet)
	setKeys(ctx, t, c, keys)

	patterns := []string{"", "*", "**", "?", "[", "[^", "\\"}
	for len(patterns) < 400 {
		patterns = append(patterns, randPattern(r, keys))
	}

	errs, nonEmpty, pairs := 0, 0, 0
	for _, p := range patterns {
		got := scanMatch(ctx, t, c, p)
		if len(got) > 0 {
			nonEmpty++
			pairs += len(got)
		}
		for _, k := range keys {
			if want := got[k]; Match(p, k) != want {
				t.Errorf("pattern %q key %q: SCAN MATCH says %v, Match says %v", p, k, want, !want)
				if errs++; errs >= 20 {
					t.Fatal("too many mismatches")
				}
			}
		}
		for k := range got {
			if !keySet[k] {
				t.Fatalf("SCAN MATCH %q returned %q, a key this test never set", p, k)
			}
		}
	}
	t.Logf("%d keys, %d patterns, %d of them matched some key, %d matching pairs", len(keys), len(patterns), nonEmpty, pairs)
	// Guard the generator: patterns that match nothing (or everything) test little.
	if nonEmpty < len(patterns)/4 || pairs > len(patterns)*len(keys)/4 {
		t.Errorf("the random patterns are degenerate: %d of %d matched something, %d pairs", nonEmpty, len(patterns), pairs)
	}

	// Escape gives a pattern that the server too matches to its key alone.
	for _, k := range keys {
		got := scanMatch(ctx, t, c, Escape(k))
		if len(got) != 1 || !got[k] {
			t.Errorf("SCAN MATCH Escape(%q) = %q returned %q, want just the key", k, Escape(k), sortedKeys(got))
		}
	}
}

// TestMatchTableAgainstRedis checks the hand-derived expectations of
// matchCases against a real server.
func TestMatchTableAgainstRedis(t *testing.T) {
	url := testenv.RedisURL(t)
	c := testenv.RedisClient(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logServer(ctx, t, c)

	keySet := map[string]bool{}
	for _, tc := range matchCases {
		keySet[tc.key] = true
	}
	setKeys(ctx, t, c, sortedKeys(keySet))
	for _, tc := range matchCases {
		if got := scanMatch(ctx, t, c, tc.pattern)[tc.key]; got != tc.want {
			t.Errorf("SCAN MATCH %s on key %s: Redis says %v, the table says %v", short(tc.pattern), short(tc.key), got, tc.want)
		}
	}
}

func logServer(ctx context.Context, t *testing.T, c *redis.Client) {
	t.Helper()
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(line, "redis_version:"); ok {
			t.Logf("Redis %s", strings.TrimSpace(v))
		}
	}
}

func setKeys(ctx context.Context, t *testing.T, c *redis.Client, keys []string) {
	t.Helper()
	pipe := c.Pipeline()
	for _, k := range keys {
		pipe.Set(ctx, k, "1", 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("set keys: %v", err)
	}
	if n, err := c.DBSize(ctx).Result(); err != nil || n != int64(len(keys)) {
		t.Fatalf("DBSIZE = %d, %v; want %d", n, err, len(keys))
	}
}

// scanMatch runs a full SCAN MATCH pattern COUNT 1000 iteration. It sends
// MATCH itself because go-redis' Scan drops an empty pattern.
func scanMatch(ctx context.Context, t *testing.T, c *redis.Client, pattern string) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	cursor := "0"
	for {
		res, err := c.Do(ctx, "SCAN", cursor, "MATCH", pattern, "COUNT", 1000).Slice()
		if err != nil {
			t.Fatalf("SCAN MATCH %s: %v", short(pattern), err)
		}
		if len(res) != 2 {
			t.Fatalf("SCAN MATCH %s: reply %v", short(pattern), res)
		}
		keys, ok := res[1].([]any)
		if !ok {
			t.Fatalf("SCAN MATCH %s: keys reply %T", short(pattern), res[1])
		}
		for _, k := range keys {
			got[fmt.Sprint(k)] = true
		}
		if cursor = fmt.Sprint(res[0]); cursor == "0" {
			return got
		}
	}
}

func randBytes(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// randPattern makes raw random bytes, a random sequence of pattern elements,
// or a mutation of one of keys (so that some patterns do match).
func randPattern(r *rand.Rand, keys []string) string {
	var b strings.Builder
	switch r.IntN(4) {
	case 0:
		return randBytes(r, r.IntN(9))
	case 1:
		for range r.IntN(6) + 1 {
			switch r.IntN(10) {
			case 0, 1:
				b.WriteByte('*')
			case 2:
				b.WriteByte('?')
			case 3:
				b.WriteString("\\" + randBytes(r, 1))
			case 4, 5:
				writeClass(r, &b, alphabet[r.IntN(len(alphabet))])
			default:
				b.WriteString(randBytes(r, 1))
			}
		}
		if r.IntN(10) == 0 {
			b.WriteByte('\\')
		}
	default:
		if r.IntN(3) == 0 {
			b.WriteByte('*')
		}
		k := keys[r.IntN(len(keys))]
		for i := 0; i < len(k); i++ {
			switch r.IntN(10) {
			case 0:
				b.WriteByte('?')
			case 1:
				b.WriteByte('*')
			case 2:
				writeClass(r, &b, k[i])
			case 3:
				b.WriteString("\\" + k[i:i+1])
			case 4:
				// drop the byte
			default:
				b.WriteByte(k[i])
			}
		}
		if r.IntN(3) == 0 {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// writeClass writes a class that usually (not always) contains c: plain
// bytes, ranges, escapes, sometimes negated, sometimes unterminated.
func writeClass(r *rand.Rand, b *strings.Builder, c byte) {
	b.WriteByte('[')
	if r.IntN(4) == 0 {
		b.WriteByte('^')
	}
	items := r.IntN(3) + 1
	at := r.IntN(items)
	for i := range items {
		x := alphabet[r.IntN(len(alphabet))]
		if i == at {
			x = c
		}
		switch r.IntN(4) {
		case 0:
			b.WriteByte(x)
			b.WriteByte('-')
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		case 1:
			b.WriteByte('\\')
			b.WriteByte(x)
		default:
			b.WriteByte(x)
		}
	}
	if r.IntN(8) != 0 {
		b.WriteByte(']')
	}
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
