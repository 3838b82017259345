package redis

import (
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/glob"
)

// Vectors from the Redis Cluster specification and redis-cli CLUSTER KEYSLOT.
func TestKeySlotMatchesRedis(t *testing.T) {
	for key, want := range map[string]int{
		"123456789":            12739, // CRC16 XMODEM check value 0x31C3
		"foo":                  12182,
		"bar":                  5061,
		"{user1000}.following": 3443,
		"{user1000}.followers": 3443,
		"foo{}{bar}":           8363, // "{}" is no tag: the whole key is hashed
		"foo{{bar}}zap":        4015, // the tag is "{bar"
		"foo{bar}{zap}":        5061, // the first tag wins: "bar"
		"":                     0,
	} {
		if got := keySlot(key); got != want {
			t.Errorf("keySlot(%q) = %d, want %d", key, got, want)
		}
	}
}

func TestPatternSlot(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		pinned  bool
		like    string // a key the pattern matches, whose slot it must be
	}{
		{"{user42}:*", true, "{user42}:profile"},
		{"app:{user42}:*", true, "app:{user42}:x"},
		{"exact-key", true, "exact-key"},
		{"*{user42}*", false, ""},
		{"{user*}:x", false, ""},
		{"{}:*", false, ""},
		{"user:*", false, ""},
		{`\{a}:*`, false, ""},
		{"{a*", false, ""},
	} {
		slot, ok := patternSlot(tc.pattern)
		if ok != tc.pinned {
			t.Errorf("patternSlot(%q) pinned=%v, want %v", tc.pattern, ok, tc.pinned)
			continue
		}
		if ok && slot != keySlot(tc.like) {
			t.Errorf("patternSlot(%q) = %d, but %q is in slot %d", tc.pattern, slot, tc.like, keySlot(tc.like))
		}
	}
}

func TestSameSlotName(t *testing.T) {
	for _, key := range []string{"plain", "{tag}rest", "a}b", "{}x", strings.Repeat("k", 300)} {
		n := sameSlotName(key, key+":tmp")
		if keySlot(n) != keySlot(key) || !strings.HasPrefix(n, key+":tmp") {
			t.Errorf("sameSlotName(%q) = %q in slot %d, want slot %d", key, n, keySlot(n), keySlot(key))
		}
	}
}

// FuzzPatternSlot: whenever a pattern pins a slot, every key it matches
// that the fuzzer finds hashes there.
func FuzzPatternSlot(f *testing.F) {
	for _, s := range []string{"{user42}:*", "a{b}c*", "x", "{", "}{a}*"} {
		f.Add(s, "suffix")
	}
	f.Fuzz(func(t *testing.T, pattern, tail string) {
		slot, ok := patternSlot(pattern)
		if !ok {
			return
		}
		lit := literalPrefix(pattern)
		key := lit
		if lit != pattern {
			key = lit + tail // what the wildcard after the prefix may match
		}
		if glob.Match(pattern, key) && keySlot(key) != slot {
			t.Fatalf("pattern %q pins slot %d but matches %q in slot %d", pattern, slot, key, keySlot(key))
		}
	})
}
