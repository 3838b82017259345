package glob

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

type matchCase struct {
	pattern, key string
	want         bool
}

// matchCases are derived by hand from stringmatchlen_impl in Redis 7.0.15's
// src/util.c (with the CVE-2024-31228 nesting cap) and the "*" shortcut of
// keysCommand and scanGenericCommand in src/db.c. TestMatchTableAgainstRedis
// checks every one of them against a real server too.
var matchCases = []matchCase{
	// Empty keys and patterns: Redis' loop needs both non-empty, so only the
	// empty pattern matches the empty key, plus "*" which SCAN never filters.
	{"", "", true},
	{"", "a", false},
	{"a", "", false},
	{"*", "", true},
	{"**", "", false},
	{"*a", "", false},
	{"?", "", false},
	{"[^", "", false},
	{"\\", "", false},

	// Literals: byte-wise and case-sensitive.
	{"abc", "abc", true},
	{"abc", "abd", false},
	{"abc", "ab", false},
	{"ab", "abc", false},
	{"ABC", "abc", false},
	{"]", "]", true},
	{"a]", "a]", true},
	{"^", "^", true},
	{"-", "-", true},
	{"caf\xc3\xa9", "caf\xc3\xa9", true},
	{"caf\xc3\xa9", "cafe", false},

	// '*' and '?'.
	{"*", "anything", true},
	{"a*", "a", true}, // trailing stars are stripped once the key runs out
	{"a**", "a", true},
	{"a*", "abc", true},
	{"*c", "abc", true},
	{"*c", "abd", false},
	{"a*c", "ac", true},
	{"a*c", "abbbc", true},
	{"a*c", "abcd", false},
	{"a**c", "abc", true},
	{"*a*", "xax", true},
	{"*a*", "xxx", false},
	{"*ab", "aab", true},
	{"*aab", "aaab", true},
	{"*a*b", "ba", false},
	{"a*b*c", "axbxbxc", true},
	{"?", "a", true},
	{"?", "ab", false},
	{"??", "a", false},
	{"a?c", "abc", true},
	{"?*", "a", true},
	{"?", "\xff", true},
	{"*?*?", "ab", true},
	{"*?*?", "a", false},
	{"orders:*:v[0-9]", "orders:42:v7", true},
	{"orders:*:v[0-9]", "orders:42:v10", false},
	{"orders:*:v[0-9]", "orders::v1", true},

	// Classes, negation, ranges.
	{"[abc]", "b", true},
	{"[abc]", "d", false},
	{"[abc]", "ab", false},
	{"[^abc]", "d", true},
	{"[^abc]", "a", false},
	{"[a-c]", "b", true},
	{"[a-c]", "d", false},
	{"[z-a]", "m", true}, // reversed ranges are swapped
	{"[c-a]", "d", false},
	{"[a-cx]", "x", true},
	{"[a-c-e]", "-", true}, // after a range, "-e" is two plain bytes
	{"[a-c-e]", "d", false},
	{"[a]b", "ab", true},
	{"[abc]*", "cat", true},

	// '-' first or last, ']' first.
	{"[-a]", "-", true},
	{"[-a]", "b", false},
	{"[a-]", "]", true}, // "a-]" is the range ']'..'a'
	{"[a-]", "_", true},
	{"[a-]", "-", false},
	{"[a-]", "b", false},
	{"[a-]x", "ax", false}, // ...and the class is left unterminated
	{"[a-", "a", true},     // too short for a range: 'a' and '-'
	{"[a-", "-", true},
	{"[a-", "b", false},
	{"[]", "]", false}, // ']' right after '[' closes an empty class
	{"[]", "a", false},
	{"[]]", "]", false},
	{"[]]", "]]", false},
	{"[^]", "x", true},
	{"[^]", "]", true},
	{"[^]]", "a]", true},
	{"[^]]", "]", false},
	{"[^]]", "]]", true},

	// Escapes outside a class.
	{"\\*", "*", true},
	{"\\*", "a", false},
	{"\\?", "?", true},
	{"\\?", "a", false},
	{"\\[a]", "[a]", true},
	{"\\[a]", "a", false},
	{"\\a", "a", true},
	{"\\\\", "\\", true},
	{"\\", "\\", true}, // a lone trailing backslash is literal
	{"a\\", "a\\", true},
	{"a\\", "a", false},
	{"*\\", "x\\", true},
	{"\\\x00", "\x00", true},

	// Escapes inside a class.
	{"[\\]]", "]", true},
	{"[\\]]", "\\", false},
	{"[\\^a]", "^", true},
	{"[\\^a]", "a", true},
	{"[\\-a]", "-", true},
	{"[\\-a]", "b", false},
	{"[a\\-z]", "-", true},
	{"[a\\-z]", "m", false},
	{"[\\a-z]", "-", true}, // the escape takes 'a'; "-z" are plain bytes
	{"[\\a-z]", "m", false},
	{"[a-\\]", "]", true}, // range 'a'..'\' (swapped), then ']' closes
	{"[a-\\]", "\\", true},
	{"[a-\\]", "b", false},
	{"[\\", "\\", true}, // lone trailing backslash in a class is literal
	{"[\\]", "]", true}, // escaped ']', class unterminated
	{"[\\]", "\\", false},
	{"[^\\]]", "]", false},
	{"[^\\]]", "x", true},

	// An unterminated class is the rest of the pattern.
	{"[", "[", false},
	{"[", "a", false},
	{"[ab", "a", true},
	{"[ab", "b", true},
	{"[ab", "c", false},
	{"[ab", "[", false},
	{"[ab", "ab", false},
	{"[^", "x", true},
	{"[^", "xy", false},
	{"[^ab", "c", true},
	{"[^ab", "a", false},
	{"a[", "a[", false},
	{"a[", "a", false},
	{"*[ab", "xxb", true},

	// Range bounds are signed chars: bytes >= 0x80 come before 0x00.
	{"[a-\xff]", "A", true},
	{"[a-\xff]", "\x00", true},
	{"[a-\xff]", "\xff", true},
	{"[a-\xff]", "b", false},
	{"[a-\xff]", "\x80", false},
	{"[\x80-\xff]", "\x90", true},
	{"[\x80-\xff]", "a", false},
	{"[\x00-\x7f]", "\x80", false},
	{"[\xff-\x00]", "\xff", true},
	{"[\xff-\x00]", "\x01", false},
	{"[^\x80-\xbf]", "\xc3", true},

	// NUL bytes are ordinary bytes.
	{"\x00", "\x00", true},
	{"a\x00*", "a\x00b", true},
	{"*\x00", "ab\x00", true},
	{"[\x00]", "\x00", true},
	{"\x00", "", false},

	// Patterns that are exponential for naive backtracking.
	{"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", strings.Repeat("a", 40), false},
	{strings.Repeat("a*", 100) + "b", strings.Repeat("a", 10000), false},
	{strings.Repeat("*a", 100), strings.Repeat("a", 10000), true},

	// The nesting cap: the pattern after the 1001st run of '*' never matches.
	{strings.Repeat("*a", 1000), strings.Repeat("a", 1100), true},
	{strings.Repeat("*a", 1001), strings.Repeat("a", 1100), false},
	{strings.Repeat("**a", 1000), strings.Repeat("a", 1100), true},
	{strings.Repeat("*a", 1000) + "*", strings.Repeat("a", 1100), true},
	{strings.Repeat("a*", 1001), strings.Repeat("a", 1100), true}, // the 1001st '*' is last
	{strings.Repeat("*?", 50000), strings.Repeat("a", 50000), false},
	{strings.Repeat("*?", 1000), strings.Repeat("a", 50000), true},
}

func TestMatch(t *testing.T) {
	for _, tc := range matchCases {
		if got := Match(tc.pattern, tc.key); got != tc.want {
			t.Errorf("Match(%s, %s) = %v, want %v", short(tc.pattern), short(tc.key), got, tc.want)
		}
	}
}

// TestReference checks the reference implementation on the same table, so
// FuzzMatch compares against something known to be right.
func TestReference(t *testing.T) {
	for _, tc := range matchCases {
		if len(tc.pattern) > 2500 {
			continue // the 50000-star case recurses too deep for comfort
		}
		got := tc.pattern == "*" || refStringMatch(tc.pattern, tc.key, maxStarGroups)
		if got != tc.want {
			t.Errorf("reference(%s, %s) = %v, want %v", short(tc.pattern), short(tc.key), got, tc.want)
		}
	}
}

func TestMatchStarCap(t *testing.T) {
	// With a cap of 2 the pattern after a third run of '*' is refused, as in
	// Redis with its nesting limit lowered; the reference agrees.
	for _, tc := range []matchCase{
		{"*a*a", "xaxa", true},
		{"*a*a*a", "xaxaxa", false},
		{"*a*a*", "xaxax", true},
		{"a*a*a*", "aaa", true},
		{"*a*a*a", "", false},
	} {
		if got := match(tc.pattern, tc.key, 2); got != tc.want {
			t.Errorf("match(%q, %q, 2) = %v, want %v", tc.pattern, tc.key, got, tc.want)
		}
		if got := refStringMatch(tc.pattern, tc.key, 2); got != tc.want {
			t.Errorf("reference(%q, %q, 2) = %v, want %v", tc.pattern, tc.key, got, tc.want)
		}
	}
}

// TestMatchTime guards against exponential backtracking: a naive recursive
// matcher does not finish these in any reasonable time.
func TestMatchTime(t *testing.T) {
	key := strings.Repeat("a", 10000)
	for _, p := range []string{
		strings.Repeat("a*", 100) + "b",
		strings.Repeat("*a", 100) + "b",
		"*" + strings.Repeat("a", 100) + "b", // quadratic for a backtracking matcher
		strings.Repeat("*?", 100) + "b",
	} {
		start := time.Now()
		if Match(p, key) {
			t.Errorf("Match(%s, 10000×a) = true, want false", short(p))
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Match(%s, 10000×a) took %v", short(p), d)
		} else {
			t.Logf("Match(%s, 10000×a) took %v", short(p), d)
		}
	}
}

func TestMatchAllocs(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		Match("orders:*:v[0-9]", "orders:12345:v7")
		Match("a\\*[^x-z]?*", "a*bcdef")
	})
	if allocs != 0 {
		t.Errorf("Match allocates %v times per run, want 0", allocs)
	}
}

func TestLiteral(t *testing.T) {
	for _, tc := range []struct {
		pattern, prefix string
		exact           bool
	}{
		{"", "", true},
		{"abc", "abc", true},
		{"ab*c", "ab", false},
		{"a?", "a", false},
		{"a[b]", "a", false},
		{"*", "", false},
		{"[", "", false},
		{"\\*a", "*a", true},
		{"a\\[b*", "a[b", false},
		{"x\\\\y", "x\\y", true},
		{"a\\", "a\\", true},
		{"\\", "\\", true},
		{"]^-", "]^-", true},
		{"user:\\?:*", "user:?:", false},
	} {
		prefix, exact := Literal(tc.pattern)
		if prefix != tc.prefix || exact != tc.exact {
			t.Errorf("Literal(%q) = %q, %v; want %q, %v", tc.pattern, prefix, exact, tc.prefix, tc.exact)
		}
	}
}

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"a*b", "a\\*b"},
		{"[x]", "\\[x]"},
		{"\\", "\\\\"},
		{"?^-]", "\\?^-]"},
		{"django.views[GET]:/a?b=*", "django.views\\[GET]:/a\\?b=\\*"},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Every one-byte key, and every two-byte one over the bytes that mean
	// something somewhere, round-trips and matches nothing else.
	var keys []string
	for b := 0; b < 256; b++ {
		keys = append(keys, string([]byte{byte(b)}))
	}
	const special = "*?[]^-\\a\x00\xff"
	for i := 0; i < len(special); i++ {
		for j := 0; j < len(special); j++ {
			keys = append(keys, string([]byte{special[i], special[j]}))
		}
	}
	for _, s := range keys {
		p := Escape(s)
		if !Match(p, s) {
			t.Errorf("Match(Escape(%q) = %q, %q) = false", s, p, s)
		}
		for _, other := range []string{"", "a", "\\", s + s, "x" + s} {
			if other != s && Match(p, other) {
				t.Errorf("Match(Escape(%q) = %q, %q) = true", s, p, other)
			}
		}
		if prefix, exact := Literal(p); prefix != s || !exact {
			t.Errorf("Literal(Escape(%q)) = %q, %v", s, prefix, exact)
		}
	}
}

// FuzzMatch checks that Match never panics, that it agrees with the
// statement-by-statement reference port of Redis' C below, and the Escape
// and Literal invariants.
func FuzzMatch(f *testing.F) {
	for _, tc := range matchCases {
		if len(tc.pattern) <= refMaxLen && len(tc.key) <= refMaxLen {
			f.Add(tc.pattern, tc.key)
		}
	}
	f.Fuzz(func(t *testing.T, pattern, key string) {
		got := Match(pattern, key)

		if len(pattern) <= refMaxLen && len(key) <= refMaxLen {
			if want := pattern == "*" || refStringMatch(pattern, key, maxStarGroups); got != want {
				t.Fatalf("Match(%q, %q) = %v, reference says %v", pattern, key, got, want)
			}
			for _, limit := range []int{0, 1, 2} {
				if got, want := match(pattern, key, limit), refStringMatch(pattern, key, limit); got != want {
					t.Fatalf("match(%q, %q, %d) = %v, reference says %v", pattern, key, limit, got, want)
				}
			}
		}

		prefix, exact := Literal(pattern)
		if got && !strings.HasPrefix(key, prefix) {
			t.Fatalf("Match(%q, %q) = true but Literal gives prefix %q", pattern, key, prefix)
		}
		if exact && got != (key == prefix) {
			t.Fatalf("Literal(%q) = %q, exact; but Match(%q, %q) = %v", pattern, prefix, pattern, key, got)
		}

		esc := Escape(key)
		if !Match(esc, key) {
			t.Fatalf("Match(Escape(%q) = %q, key) = false", key, esc)
		}
		if Match(esc, pattern) != (pattern == key) {
			t.Fatalf("Match(Escape(%q) = %q, %q) = %v", key, esc, pattern, !(pattern == key))
		}
		if p, ok := Literal(esc); p != key || !ok {
			t.Fatalf("Literal(Escape(%q)) = %q, %v", key, p, ok)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	const pattern = "orders:*:v[0-9]"
	for _, bc := range []struct{ name, key string }{
		{"hit", "orders:8f14e45f-ceea-467f-a0e6-5e6b2d7d5a9c:v3"},
		{"miss-end", "orders:8f14e45f-ceea-467f-a0e6-5e6b2d7d5a9c:v10"},
		{"miss-start", "sessions:8f14e45f-ceea-467f-a0e6-5e6b2d7d5a9c:v3"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			want := Match(pattern, bc.key)
			b.ReportAllocs()
			for b.Loop() {
				if Match(pattern, bc.key) != want {
					b.Fatal("unstable result")
				}
			}
		})
	}
}

// refMaxLen bounds what FuzzMatch hands the reference, which recurses once
// per '*' and so is slow and deep on big inputs.
const refMaxLen = 64

// refStringMatch is Redis' stringmatchlen_impl (7.0.15 plus the
// CVE-2024-31228 nesting cap) written out statement by statement, with a
// cursor and a remaining length as in C, skipLongerMatches included, and
// at() reading 0 one past the end where C reads the NUL that ends every Redis
// string. It is deliberately a transcription, not a redesign, so it can be
// checked against the source line by line.
func refStringMatch(pattern, key string, maxNesting int) bool {
	skip := false
	return refImpl(pattern, 0, key, 0, &skip, 0, maxNesting)
}

func refImpl(pat string, p int, str string, s int, skipLonger *bool, nesting, maxNesting int) bool {
	if nesting > maxNesting {
		return false
	}
	at := func(x string, i int) byte {
		if i < len(x) {
			return x[i]
		}
		return 0
	}
	plen, slen := len(pat)-p, len(str)-s
	for plen > 0 && slen > 0 {
		switch at(pat, p) {
		case '*':
			for plen > 0 && at(pat, p+1) == '*' {
				p++
				plen--
			}
			if plen == 1 {
				return true
			}
			for slen > 0 {
				if refImpl(pat, p+1, str, s, skipLonger, nesting+1, maxNesting) {
					return true
				}
				if *skipLonger {
					return false
				}
				s++
				slen--
			}
			*skipLonger = true
			return false
		case '?':
			s++
			slen--
		case '[':
			p++
			plen--
			not := at(pat, p) == '^'
			if not {
				p++
				plen--
			}
			m := false
			for {
				if at(pat, p) == '\\' && plen >= 2 {
					p++
					plen--
					if at(pat, p) == at(str, s) {
						m = true
					}
				} else if at(pat, p) == ']' {
					break
				} else if plen == 0 {
					p--
					plen++
					break
				} else if plen >= 3 && at(pat, p+1) == '-' {
					start, end, c := int(int8(at(pat, p))), int(int8(at(pat, p+2))), int(int8(at(str, s)))
					if start > end {
						start, end = end, start
					}
					p += 2
					plen -= 2
					if c >= start && c <= end {
						m = true
					}
				} else if at(pat, p) == at(str, s) {
					m = true
				}
				p++
				plen--
			}
			if not {
				m = !m
			}
			if !m {
				return false
			}
			s++
			slen--
		case '\\':
			if plen >= 2 {
				p++
				plen--
			}
			fallthrough
		default:
			if at(pat, p) != at(str, s) {
				return false
			}
			s++
			slen--
		}
		p++
		plen--
		if slen == 0 {
			for at(pat, p) == '*' {
				p++
				plen--
			}
			break
		}
	}
	return plen == 0 && slen == 0
}

// short quotes s for a failure message, eliding the middle of long ones.
func short(s string) string {
	if len(s) <= 40 {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%q…(%d bytes)…%q", s[:20], len(s), s[len(s)-10:])
}
