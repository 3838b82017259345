package glob

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMatchAgainstBacktracking compares Match with the backtracking matcher
// it replaced on millions of random small inputs (every path: anchored ends,
// strings.Index, the naive search, shift-and), at the real star cap and at
// tiny ones so the cap's interplay with segments is exercised too.
func TestMatchAgainstBacktracking(t *testing.T) {
	n := 2_000_000
	if testing.Short() {
		n = 200_000
	}
	r := rand.New(rand.NewPCG(seedFromEnv(t), 1))
	keys := make([]string, 0, 64)
	for i := 0; i < n; {
		keys = keys[:0]
		for range 8 {
			keys = append(keys, randBytes(r, r.IntN(12)))
		}
		p := randPattern(r, keys)
		for _, k := range keys {
			i++
			if got, want := Match(p, k), p == "*" || backtrackMatch(p, k, maxStarGroups); got != want {
				t.Fatalf("Match(%q, %q) = %v, backtracking says %v", p, k, got, want)
			}
			limit := r.IntN(3)
			if got, want := match(p, k, limit), backtrackMatch(p, k, limit); got != want {
				t.Fatalf("match(%q, %q, %d) = %v, backtracking says %v", p, k, limit, got, want)
			}
		}
	}
}

// TestMatchLongSegments does the same with segments long enough for KMP and
// multi-word shift-and, over a two-letter alphabet so near-misses abound.
func TestMatchLongSegments(t *testing.T) {
	r := rand.New(rand.NewPCG(seedFromEnv(t), 2))
	pick := func(s string) byte { return s[r.IntN(len(s))] }
	matched := 0
	for range 3000 {
		kb := make([]byte, r.IntN(400))
		for i := range kb {
			kb[i] = pick("aab")
		}
		key := string(kb)
		var p strings.Builder
		// A pattern cut from the key (so it usually matches) with stars, '?',
		// classes and escapes sprinkled in; one in three has a byte changed.
		wrong := -1
		if r.IntN(3) == 0 && len(key) > 0 {
			wrong = r.IntN(len(key))
		}
		for i := 0; i < len(key); i++ {
			switch x := r.IntN(200); {
			case i == wrong:
				p.WriteByte(pick("ab"))
			case x < 2:
				p.WriteByte('*')
				i += r.IntN(20)
			case x < 6:
				p.WriteByte('?')
			case x < 9:
				p.WriteString("[" + key[i:i+1] + "x]")
			case x < 10 && key[i] != 'b':
				p.WriteString("[^b]")
			case x < 11:
				p.WriteString("\\" + key[i:i+1])
			default:
				p.WriteByte(key[i])
			}
		}
		pat := p.String()
		if r.IntN(2) == 0 {
			pat = "*" + pat[min(len(pat), r.IntN(30)):]
		}
		for _, k := range []string{key, key + "a", "b" + key, key[:len(key)/2]} {
			want := pat == "*" || backtrackMatch(pat, k, maxStarGroups)
			if got := Match(pat, k); got != want {
				t.Fatalf("Match(%s, %s) = %v, backtracking says %v", short(pat), short(k), got, want)
			}
			if want {
				matched++
			}
		}
	}
	if matched < 1000 {
		t.Fatalf("only %d pairs matched: the generator is off", matched)
	}
}

// FuzzMatchBacktracking compares Match with the backtracking matcher on any
// input, large ones included (FuzzMatch's recursive reference stops at 64
// bytes).
func FuzzMatchBacktracking(f *testing.F) {
	for _, tc := range matchCases {
		if len(tc.pattern) <= 4096 && len(tc.key) <= 4096 {
			f.Add(tc.pattern, tc.key)
		}
	}
	f.Add("*"+strings.Repeat("a", 80)+"?b*", strings.Repeat("a", 200))
	f.Add("*"+strings.Repeat("[a]", 70)+"*", strings.Repeat("a", 100))
	f.Fuzz(func(t *testing.T, pattern, key string) {
		if got, want := Match(pattern, key), pattern == "*" || backtrackMatch(pattern, key, maxStarGroups); got != want {
			t.Fatalf("Match(%q, %q) = %v, backtracking says %v", pattern, key, got, want)
		}
		for _, limit := range []int{0, 1, 2} {
			if got, want := match(pattern, key, limit), backtrackMatch(pattern, key, limit); got != want {
				t.Fatalf("match(%q, %q, %d) = %v, backtracking says %v", pattern, key, limit, got, want)
			}
		}
		if MatchesAll(pattern) && key != "" && !Match(pattern, key) {
			t.Fatalf("MatchesAll(%q) but Match(%q, %q) = false", pattern, pattern, key)
		}
	})
}

// TestMatchHostile is the case that held a lock in serve for seconds: a
// 64 KiB key and a long segment that nearly matches at every byte.
func TestMatchHostile(t *testing.T) {
	for _, p := range []string{
		hostilePattern(4096),
		"*" + strings.Repeat("[a]", 4095) + "b",
		"*" + strings.Repeat("a", 4095) + "?b*",
		"*" + strings.Repeat("?", 4095) + "b*",
		strings.Repeat("*"+strings.Repeat("a", 100)+"b", 30),
		"*" + strings.Repeat("a?", 3000) + "b*c",
	} {
		start := time.Now()
		if Match(p, hostileKey) {
			t.Errorf("Match(%s, 64 KiB of a) = true", short(p))
		}
		// The backtracking matcher took 2 s to 4 s on each of the first three.
		if d := time.Since(start); d > 250*time.Millisecond {
			t.Errorf("Match(%s, 64 KiB of a) took %v", short(p), d)
		}
	}
	if !Match(hostilePattern(4096), hostileKey+"b") {
		t.Error("the hostile pattern does not match the key it should")
	}
}

// TestMatchesAll checks MatchesAll against Match: a pattern it accepts
// matches random non-empty keys, and one it refuses misses some key of one
// or two bytes (where a counterexample always is: a pattern with two or more
// elements misses every one-byte key, one without '*' every two-byte key).
func TestMatchesAll(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    bool
	}{
		{"*", true}, {"**", true}, {"?*", true}, {"*?", true}, {"*?*", true},
		{"[^]*", true}, {"*[^", true}, {"[\x80-\x7f]*", true}, {"[^]]*", false},
		{"[*]*", false}, {"[^a]*", false}, {"", false}, {"?", false}, {"??*", false},
		{"*a*", false}, {"\\**", false}, {"[a-]*", false}, {"*\\", false}, {"?**?", false},
	} {
		if got := MatchesAll(tc.pattern); got != tc.want {
			t.Errorf("MatchesAll(%q) = %v, want %v", tc.pattern, got, tc.want)
		}
	}
	r := rand.New(rand.NewPCG(seedFromEnv(t), 3))
	short := make([]string, 0, 256+16)
	for c := range 256 {
		short = append(short, string([]byte{byte(c)}))
	}
	for range 16 {
		short = append(short, randBytes(r, 2))
	}
	all := 0
	for range 20000 {
		var p string
		if r.IntN(2) == 0 {
			p = randPattern(r, short[:4])
		} else {
			// Mostly stars and any-byte elements, where the answer is close.
			var b strings.Builder
			for range r.IntN(4) + 1 {
				b.WriteString([]string{"*", "*", "?", "[^]", "[\x80-\x7f]", "[^a]", "[*]", "a"}[r.IntN(8)])
			}
			p = b.String()
		}
		if MatchesAll(p) {
			all++
			for range 20 {
				if k := randBytes(r, 1+r.IntN(10)); !Match(p, k) {
					t.Fatalf("MatchesAll(%q) but Match(%q, %q) = false", p, p, k)
				}
			}
			continue
		}
		missed := false
		for _, k := range short {
			if !Match(p, k) {
				missed = true
				break
			}
		}
		if !missed {
			t.Fatalf("MatchesAll(%q) = false, but it matches every key of one or two bytes tried", p)
		}
	}
	if all < 1000 {
		t.Fatalf("only %d patterns matched everything: the generator is off", all)
	}
}

func seedFromEnv(t *testing.T) uint64 {
	seed := uint64(propertySeed)
	if s := os.Getenv("CACHECTL_GLOB_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			t.Fatalf("CACHECTL_GLOB_SEED: %v", err)
		}
		seed = v
	}
	return seed
}

// hostileKey and hostilePattern are the quadratic case of a backtracking
// matcher: every byte of the key starts a near-match of the long segment.
var hostileKey = strings.Repeat("a", 64<<10)

func hostilePattern(n int) string { return "*" + strings.Repeat("a", n-1) + "b" }

// BenchmarkMatchHostile times the hostile case; the backtracking matcher
// took 2.0 s (literal), 4.4 s (class) and 1.8 s (middle) at 4096.
func BenchmarkMatchHostile(b *testing.B) {
	for _, n := range []int{100, 1000, 4096} {
		for _, bc := range []struct{ name, pattern string }{
			{"literal", hostilePattern(n)},
			{"class", "*" + strings.Repeat("[a]", n-1) + "b"},
			{"middle", "*" + strings.Repeat("a", n-1) + "?b*"},
		} {
			b.Run(bc.name+"-"+strconv.Itoa(n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if Match(bc.pattern, hostileKey) {
						b.Fatal("matched")
					}
				}
			})
		}
	}
}
