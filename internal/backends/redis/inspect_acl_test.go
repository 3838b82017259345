package redis

import (
	"context"
	"slices"
	"testing"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/testenv"
)

// TestInspectUnderACL: what a user's ACL refuses is unknown and named in
// Denied; the key is never reported missing for it.
func TestInspectUnderACL(t *testing.T) {
	dbURL := testenv.RedisURL(t)
	c := testenv.RedisClient(t, dbURL)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Set(ctx, "s:1", "hello", 0).Err())
	must(c.Expire(ctx, "s:1", 3600e9).Err())
	must(c.RPush(ctx, "l:1", "a", "b").Err())
	must(c.HSet(ctx, "h:1", "f", "v").Err())
	must(c.Set(ctx, "aa:1", `{"a":1}`, 0).Err())
	keys := []string{"s:1", "l:1", "h:1", "aa:1", "gone"}

	// "gone" is missing whenever TYPE or PTTL may say so; where neither may,
	// a key SCAN listed a moment ago is shown as it was, unknown.
	inspect := func(canTell bool, rules ...string) map[string]backends.KeyInfo {
		t.Helper()
		b := open(t, testenv.RedisUserURL(t, dbURL, rules...), backends.Options{})
		infos, err := b.Inspect(ctx, keys)
		if err != nil {
			t.Fatalf("Inspect as %v: %v", rules, err)
		}
		m := map[string]backends.KeyInfo{}
		for _, ki := range infos {
			m[ki.Key] = ki
		}
		if m["gone"].Missing != canTell {
			t.Errorf("as %v, a key that does not exist: %+v", rules, m["gone"])
		}
		for _, k := range keys[:4] {
			if m[k].Missing {
				t.Errorf("as %v, %s is reported missing: %+v", rules, k, m[k])
			}
		}
		return m
	}
	check := func(what string, ki backends.KeyInfo, typ string, ttlUnknown bool, size, length int64, denied ...string) {
		t.Helper()
		if ki.Type != typ || ki.TTL.Unknown != ttlUnknown || ki.Size != size || ki.Length != length || !slices.Equal(ki.Denied, denied) {
			t.Errorf("%s %s: type %q ttl-unknown %v size %d length %d denied %q; want %q %v %d %d %q",
				what, ki.Key, ki.Type, ki.TTL.Unknown, ki.Size, ki.Length, ki.Denied, typ, ttlUnknown, size, length, denied)
		}
	}

	// No PTTL, STRLEN, GETRANGE or LLEN: types still known, HLEN still read.
	m := inspect(true, "~*", "+scan", "+type", "+hlen")
	check("without pttl/strlen/getrange/llen", m["s:1"], "string", true, -1, 0, "PTTL", "STRLEN", "GETRANGE")
	if m["s:1"].Prefix != nil || !m["s:1"].Partial {
		t.Errorf("without getrange the prefix is unknown: %+v", m["s:1"])
	}
	check("without pttl/strlen/getrange/llen", m["l:1"], "list", true, -1, -1, "PTTL", "LLEN")
	check("without pttl/strlen/getrange/llen", m["h:1"], "hash", true, -1, 1, "PTTL")

	// Limited by key pattern: the other keys are listed, nothing known.
	m = inspect(false, "~aa:*", "+@read")
	check("limited to aa:*", m["aa:1"], "string", false, 7, 0)
	if string(m["aa:1"].Prefix) != `{"a":1}` {
		t.Errorf("aa:1 prefix %q", m["aa:1"].Prefix)
	}
	for _, k := range []string{"s:1", "l:1", "h:1"} {
		check("limited to aa:*", m[k], "", true, -1, -1, backends.DeniedKey)
	}

	// SCAN alone: nothing but the names.
	m = inspect(false, "~*", "+scan")
	for _, k := range []string{"s:1", "l:1", "h:1"} {
		check("scan only", m[k], "", true, -1, -1, "TYPE", "PTTL")
	}

	// No TYPE: a key STRLEN answers for is a string; others stay unknown.
	m = inspect(true, "~*", "+scan", "+pttl", "+strlen", "+getrange")
	check("without type", m["s:1"], "string", false, 5, 0, "TYPE")
	if !m["s:1"].TTL.Expires {
		t.Errorf("without type, the TTL is still read: %+v", m["s:1"].TTL)
	}
	check("without type", m["l:1"], "", false, -1, -1, "TYPE")

	// Everything granted: nothing denied (the default user's view).
	m = inspect(true, "~*", "+@all")
	check("all", m["s:1"], "string", false, 5, 0)
	check("all", m["l:1"], "list", false, -1, 2)
}
