// Package glob is cachectl's one key-pattern matcher. It gives exactly the
// answers Redis gives for KEYS and SCAN MATCH, so a pattern selects the same
// keys whether the server filters them (Redis) or cachectl does (memcached key
// listings, the HTTP memory cache, pattern invalidation).
//
// The dialect is Redis' stringmatchlen (src/util.c), byte-wise and
// case-sensitive; keys are arbitrary bytes, not UTF-8:
//
//	"*"      any run of bytes, the empty one included
//	"?"      any one byte
//	"[abc]"  one byte of the class; "[^abc]" one byte not in it
//	"[a-z]"  a range; a reversed range such as "[z-a]" means "[a-z]"
//	"\x"     the byte x itself, inside a class too
//
// and keeps Redis' quirks, on purpose:
//
//   - An empty key is matched only by the empty pattern and by the pattern
//     "*" alone (KEYS and SCAN treat "*" as "no filter"; "**" does not match
//     the empty key).
//   - A class with no closing ']' runs to the end of the pattern: "[ab"
//     matches "a" or "b", "[" matches nothing and "[^" any one byte.
//   - A lone trailing backslash, outside or inside a class, is a literal '\'.
//   - ']' is literal outside a class, and directly after '[' or "[^" it
//     closes the class at once: "[]" matches nothing, "[^]" any one byte.
//   - '-' is literal first in a class or when fewer than two bytes follow it
//     ("[-a]"); but "[a-]" is the range ']'..'a', and the class goes on
//     past that ']'.
//   - Range bounds compare as C's signed char on x86-64, so bytes >= 0x80
//     sort before 0x00: "[a-\xff]" is 0x00..'a' plus 0xff.
//   - A pattern with more than 1000 runs of '*' matches nothing, unless the
//     1001st run ends it: Redis' fix for CVE-2024-31228 stops the matcher's
//     recursion at that depth. Upstream has it from 7.2.6 and 7.4.1, and
//     Debian's 7.0.15 backports it; a bare upstream 7.0.15 lacks it.
//
// Redis has no notion of an invalid pattern: every byte string is a pattern
// with a meaning, so this package has no Valid or Compile error to report.
//
// Match runs in O(len(pattern)·len(key)) time at worst and allocates
// nothing: where Redis recurses on each '*' (its skipLongerMatches shortcut,
// added for CVE-2022-36021, only prunes branches that cannot succeed), this
// backtracks to the last '*' alone, which gives the same answers.
package glob

// maxStarGroups is how many runs of '*' Redis lets a pattern pass through:
// its matcher refuses to recurse past a nesting of 1000.
const maxStarGroups = 1000

// Match reports whether key matches pattern the way SCAN MATCH (and KEYS)
// decides it.
func Match(pattern, key string) bool {
	if pattern == "*" {
		// KEYS and SCAN never ask the matcher about "*": it matches every key,
		// the empty one too, which the matcher itself would not.
		return true
	}
	return match(pattern, key, maxStarGroups)
}

// match is stringmatchlen with its recursion cap as a parameter, so tests
// can exercise the cap on small patterns.
func match(p, k string, maxStars int) bool {
	if len(k) == 0 {
		// Redis' loop never starts on an empty key, so even "**" fails.
		return len(p) == 0
	}
	pi, ki := 0, 0
	// The pattern index just after the last run of '*', and the key index
	// where the bytes it has not swallowed yet begin; -1 before any '*'.
	starP, starK := -1, 0
	stars := 0
	for {
		if ki == len(k) {
			// Only '*' can match nothing; giving bytes back to an earlier
			// '*' cannot help, as what follows would need even more of them.
			for pi < len(p) && p[pi] == '*' {
				pi++
			}
			return pi == len(p)
		}
		if pi < len(p) && p[pi] == '*' {
			for pi < len(p) && p[pi] == '*' {
				pi++
			}
			if pi == len(p) {
				return true
			}
			stars++
			if stars > maxStars {
				return false
			}
			starP, starK = pi, ki
			continue
		}
		if pi < len(p) {
			if ok, next := matchOne(p, pi, k[ki]); ok {
				pi, ki = next, ki+1
				continue
			}
		}
		// Mismatch, or pattern used up before the key: let the last '*'
		// swallow one more byte and retry what follows it.
		if starP < 0 {
			return false
		}
		starK++
		pi, ki = starP, starK
	}
}

// matchOne matches the single-byte element that starts at p[i] (not '*')
// against c, and returns where the next element starts.
func matchOne(p string, i int, c byte) (ok bool, next int) {
	switch p[i] {
	case '?':
		return true, i + 1
	case '[':
		return matchClass(p, i+1, c)
	case '\\':
		if i+1 < len(p) {
			return p[i+1] == c, i + 2
		}
		return c == '\\', i + 1 // a lone trailing backslash is itself
	default:
		return p[i] == c, i + 1
	}
}

// matchClass matches c against the class whose body starts at p[i], just
// after its '['. It reads the class exactly as Redis does, escape first, then
// ']', then the pattern's end, then a range, then a plain byte.
func matchClass(p string, i int, c byte) (ok bool, next int) {
	neg := i < len(p) && p[i] == '^'
	if neg {
		i++
	}
	hit := false
	for {
		switch {
		case i+1 < len(p) && p[i] == '\\':
			i++
			hit = hit || p[i] == c
		case i < len(p) && p[i] == ']':
			return hit != neg, i + 1
		case i >= len(p):
			// Unterminated: the class is the rest of the pattern.
			return hit != neg, len(p)
		case i+2 < len(p) && p[i+1] == '-':
			// Redis compares plain chars, signed on x86-64.
			lo, hi, b := int8(p[i]), int8(p[i+2]), int8(c)
			if lo > hi {
				lo, hi = hi, lo
			}
			hit = hit || (lo <= b && b <= hi)
			i += 2
		default:
			hit = hit || p[i] == c
		}
		i++
	}
}

// Literal returns the part of pattern before its first '*', '?' or '[', with
// escapes resolved: every key the pattern matches starts with prefix. exact
// is true when the whole pattern is literal, so that it matches prefix and
// nothing else and a caller can look the key up instead of scanning.
func Literal(pattern string) (prefix string, exact bool) {
	var b []byte // only needed once an escape makes prefix differ from pattern
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '*', '?', '[':
			if b == nil {
				return pattern[:i], false
			}
			return string(b), false
		case '\\':
			if b == nil {
				b = append(make([]byte, 0, len(pattern)), pattern[:i]...)
			}
			if i+1 < len(pattern) {
				i++
			}
			b = append(b, pattern[i])
		default:
			if b != nil {
				b = append(b, c)
			}
		}
	}
	if b == nil {
		return pattern, true
	}
	return string(b), true
}

// Escape returns the pattern that matches s and nothing else, for keys that
// contain '*', '?', '[' or '\' (']', '^' and '-' mean nothing outside a class
// and are left alone).
func Escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if isMeta(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+n)
	for i := 0; i < len(s); i++ {
		if isMeta(s[i]) {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}

func isMeta(c byte) bool { return c == '*' || c == '?' || c == '[' || c == '\\' }
