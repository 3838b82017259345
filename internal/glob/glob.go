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
// Match runs in O(len(pattern) + len(key)·⌈L/64⌉) time, L being the
// longest run of elements between two '*', whatever both hold: the pattern is cut into segments at its runs of '*'; the first is
// anchored at the key's start, the last at its end, and each one between is
// found leftmost-first, which is all a glob needs (a '*' can always swallow
// what an earlier match skipped). A literal segment is found with
// strings.Index or, when long, Knuth-Morris-Pratt; one with '?' or classes
// with a bit-parallel shift-and, a table per byte value. Each
// search resumes where the previous one matched, so the key is read about
// once: a 64 KiB key against "*aaaa…b" costs one pass over it, where the
// backtracking matcher this replaced took seconds. Typical patterns allocate
// nothing.
package glob

import (
	"math/bits"
	"strings"
)

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

// MatchesAll reports whether pattern matches every non-empty key (Redis
// keys are never empty): runs of '*' plus at most one element that takes
// any byte, such as "*", "**", "?*", "*?*" or "[^]*". "[*]*" is not one of
// them: "[*]" is the byte '*' only. Callers use it to decide "this deletes
// everything" by what a pattern means rather than how it is spelled.
func MatchesAll(pattern string) bool {
	stars, elems := false, 0
	for i := 0; i < len(pattern); {
		if pattern[i] == '*' {
			stars = true
			i++
			continue
		}
		// Two elements cannot match a one-byte key; one must take any byte.
		if elems++; elems > 1 {
			return false
		}
		kind, _, set, next := elem(pattern, i)
		if kind == litElem || (kind == classElem && !set.full()) {
			return false
		}
		i = next
	}
	// Without a '*' only keys of one length match. With at most two runs
	// the star cap never applies.
	return stars
}

// match is stringmatchlen with its recursion cap as a parameter, so tests
// can exercise the cap on small patterns.
func match(p, k string, maxStars int) bool {
	if len(k) == 0 {
		// Redis' loop never starts on an empty key, so even "**" fails.
		return len(p) == 0
	}
	// The first segment, anchored at the key's start, is matched while it is
	// read, so a key that differs early costs little.
	firstStar, ki := 0, 0
	for firstStar < len(p) && p[firstStar] != '*' {
		if ki == len(k) {
			return false
		}
		ok, next := matchOne(p, firstStar, k[ki])
		if !ok {
			return false
		}
		firstStar, ki = next, ki+1
	}
	if firstStar == len(p) {
		return ki == len(k)
	}
	// lastSeg: where the last segment starts, just after the last run of
	// '*'; lastLen: how many key bytes it takes.
	lastSeg, runs, lastLen := 0, 0, 0
	for i := firstStar; i < len(p); {
		if p[i] == '*' {
			for i < len(p) && p[i] == '*' {
				i++
			}
			runs++
			lastSeg, lastLen = i, 0
			continue
		}
		i = skip(p, i)
		lastLen++
	}
	// Redis gives up when its recursion passes the 1001st run of '*', which
	// every successful match does unless that run ends the pattern: the cap
	// is a property of the pattern alone.
	if runs > maxStars && (runs > maxStars+1 || lastSeg != len(p)) {
		return false
	}
	end := len(k) - lastLen
	if end < ki || anchored(p, lastSeg, len(p), k[end:]) != lastLen {
		return false
	}
	for i := firstStar; ; {
		for i < lastSeg && p[i] == '*' {
			i++
		}
		if i == lastSeg {
			return true
		}
		j := i
		for j < lastSeg && p[j] != '*' {
			j = skip(p, j)
		}
		at, n := find(p, i, j, k[ki:end])
		if at < 0 {
			return false
		}
		ki += at + n
		i = j
	}
}

// anchored matches the star-free segment p[from:to] against the start of k
// and returns how many bytes of k it took, or -1.
func anchored(p string, from, to int, k string) int {
	ki := 0
	for i := from; i < to; ki++ {
		if ki == len(k) {
			return -1
		}
		ok, next := matchOne(p, i, k[ki])
		if !ok {
			return -1
		}
		i = next
	}
	return ki
}

// naiveBytes is the longest segment searched by trying each start in turn:
// below it a table costs more than it saves.
const naiveBytes = 16

// find returns where the leftmost match of the star-free segment p[from:to]
// starts in s, or -1, and how many bytes the segment takes.
func find(p string, from, to int, s string) (at, n int) {
	literal, escaped := true, false
	for i := from; i < to; n++ {
		switch p[i] {
		case '?', '[':
			literal = false
		case '\\':
			escaped = true
		}
		i = skip(p, i)
	}
	switch {
	case n > len(s):
		return -1, n
	case literal:
		needle := p[from:to]
		if escaped {
			needle, _ = Literal(needle)
		}
		if n <= 32 {
			// Short needles: strings.Index's brute force is SIMD and
			// bounded by n per byte.
			return strings.Index(s, needle), n
		}
		return kmp(s, needle), n
	case to-from <= naiveBytes:
		for j := 0; j+n <= len(s); j++ {
			if anchored(p, from, to, s[j:]) >= 0 {
				return j, n
			}
		}
		return -1, n
	case n <= 64:
		return shiftAnd1(p, from, to, n, s), n
	}
	return shiftAnd(p, from, to, n, s), n
}

// kmp is Knuth-Morris-Pratt: linear in len(s)+len(needle) whatever they
// hold, where strings.Index on long needles may not be.
func kmp(s, needle string) int {
	fail := make([]int, len(needle))
	for i, k := 1, 0; i < len(needle); i++ {
		for k > 0 && needle[i] != needle[k] {
			k = fail[k-1]
		}
		if needle[i] == needle[k] {
			k++
		}
		fail[i] = k
	}
	for i, k := 0, 0; i < len(s); i++ {
		for k > 0 && s[i] != needle[k] {
			k = fail[k-1]
		}
		if s[i] == needle[k] {
			k++
		}
		if k == len(needle) {
			return i - k + 1
		}
	}
	return -1
}

// shiftAnd1 is shiftAnd for segments of at most 64 elements: one word of
// state, its table on the stack.
func shiftAnd1(p string, from, to, n int, s string) int {
	var table [256]uint64
	var anyByte uint64
	j := 0
	for i := from; i < to; j++ {
		kind, c, set, next := elem(p, i)
		bit := uint64(1) << j
		switch kind {
		case litElem:
			table[c] |= bit
		case anyElem:
			anyByte |= bit
		default:
			set.each(func(c byte) { table[c] |= bit })
		}
		i = next
	}
	var d uint64
	done := uint64(1) << (n - 1)
	for x := 0; x < len(s); x++ {
		d = (d<<1 | 1) & (table[s[x]] | anyByte)
		if d&done != 0 {
			return x - n + 1
		}
	}
	return -1
}

// shiftAnd finds the leftmost match of a segment of n elements in s: bit j
// of the state is set while the last j+1 bytes read match the segment's
// first j+1 elements, and one shift-or-and per byte and 64 elements moves
// every candidate start at once.
func shiftAnd(p string, from, to, n int, s string) int {
	words := (n + 63) / 64
	table := make([]uint64, 256*words) // table[c*words+w]: elements taking byte c
	anyByte := make([]uint64, words)   // elements taking any byte ('?')
	d := make([]uint64, words)
	j := 0
	for i := from; i < to; j++ {
		kind, c, set, next := elem(p, i)
		w, bit := j/64, uint64(1)<<(j%64)
		switch kind {
		case litElem:
			table[int(c)*words+w] |= bit
		case anyElem:
			anyByte[w] |= bit
		default:
			set.each(func(c byte) { table[int(c)*words+w] |= bit })
		}
		i = next
	}
	last, done := (n-1)/64, uint64(1)<<((n-1)%64)
	for x := 0; x < len(s); x++ {
		row := table[int(s[x])*words : int(s[x])*words+words]
		carry := uint64(1)
		for w := range d {
			v := d[w]
			d[w] = (v<<1 | carry) & (row[w] | anyByte[w])
			carry = v >> 63
		}
		if d[last]&done != 0 {
			return x - n + 1
		}
	}
	return -1
}

type elemKind uint8

const (
	litElem   elemKind = iota // one given byte
	anyElem                   // '?'
	classElem                 // [...]
)

// elem reads the element at p[i] (not '*'): what it matches and where the
// next one starts.
func elem(p string, i int) (kind elemKind, c byte, set byteSet, next int) {
	switch p[i] {
	case '?':
		return anyElem, 0, set, i + 1
	case '[':
		set, next = classSet(p, i+1)
		return classElem, 0, set, next
	case '\\':
		if i+1 < len(p) {
			return litElem, p[i+1], set, i + 2
		}
		return litElem, '\\', set, i + 1 // a lone trailing backslash is itself
	}
	return litElem, p[i], set, i + 1
}

// skip returns where the element after the one at p[i] (not '*') starts.
func skip(p string, i int) int {
	_, n := matchOne(p, i, 0)
	return n
}

// matchOne matches the single-byte element that starts at p[i] (not '*')
// against c, and returns where the next element starts.
func matchOne(p string, i int, c byte) (ok bool, next int) {
	switch p[i] {
	case '?':
		return true, i + 1
	case '[':
		set, next := classSet(p, i+1)
		return set.has(c), next
	case '\\':
		if i+1 < len(p) {
			return p[i+1] == c, i + 2
		}
		return c == '\\', i + 1 // a lone trailing backslash is itself
	default:
		return p[i] == c, i + 1
	}
}

// byteSet is a set of byte values, one bit each.
type byteSet [4]uint64

func (s *byteSet) add(c byte)      { s[c>>6] |= 1 << (c & 63) }
func (s *byteSet) has(c byte) bool { return s[c>>6]&(1<<(c&63)) != 0 }
func (s *byteSet) full() bool      { return s[0]&s[1]&s[2]&s[3] == ^uint64(0) }
func (s *byteSet) each(f func(byte)) {
	for w, v := range s {
		for ; v != 0; v &= v - 1 {
			f(byte(w*64 + bits.TrailingZeros64(v)))
		}
	}
}

// addRange adds lo..hi, unsigned and inclusive, lo <= hi.
func (s *byteSet) addRange(lo, hi byte) {
	for w := int(lo) >> 6; w <= int(hi)>>6; w++ {
		a, b := max(int(lo), w*64)&63, min(int(hi), w*64+63)&63
		s[w] |= (^uint64(0) >> (63 - (b - a))) << a
	}
}

// classSet reads the class whose body starts at p[i], just after its '[',
// exactly as Redis does: escape first, then ']', then the pattern's end,
// then a range, then a plain byte. It returns the bytes the class takes and
// where the next element starts.
func classSet(p string, i int) (set byteSet, next int) {
	neg := i < len(p) && p[i] == '^'
	if neg {
		i++
	}
loop:
	for ; ; i++ {
		switch {
		case i+1 < len(p) && p[i] == '\\':
			i++
			set.add(p[i])
		case i < len(p) && p[i] == ']':
			next = i + 1
			break loop
		case i >= len(p):
			// Unterminated: the class is the rest of the pattern.
			next = len(p)
			break loop
		case i+2 < len(p) && p[i+1] == '-':
			// Redis compares plain chars, signed on x86-64, so a range
			// across 0 is two unsigned ones: 0x80.. and ..0x7f.
			lo, hi := int8(p[i]), int8(p[i+2])
			if lo > hi {
				lo, hi = hi, lo
			}
			if lo < 0 && hi >= 0 {
				set.addRange(byte(lo), 0xff)
				set.addRange(0, byte(hi))
			} else {
				set.addRange(byte(lo), byte(hi))
			}
			i += 2
		default:
			set.add(p[i])
		}
	}
	if neg {
		for w := range set {
			set[w] = ^set[w]
		}
	}
	return set, next
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
