package mchash

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestSchemesAndNew(t *testing.T) {
	if got := Schemes(); got[0] != Default || len(got) != len(builders) {
		t.Errorf("Schemes() = %v", got)
	}
	for _, s := range Schemes() {
		if _, err := New(s, []string{"a:1", "b:2"}); err != nil {
			t.Errorf("New(%q): %v", s, err)
		}
		if _, err := New(s, nil); !errors.Is(err, ErrNoServers) {
			t.Errorf("New(%q, nil) error = %v, want ErrNoServers", s, err)
		}
	}
	if _, err := New("ketama", []string{"a:1"}); err == nil || !strings.Contains(err.Error(), "pymemcache") {
		t.Errorf("unknown scheme error = %v", err)
	}
	if _, err := New(PyMemcache, []string{"a:1", "b:x"}); err == nil {
		t.Error("pymemcache accepted a port it cannot parse")
	}
	// "" means the default scheme.
	servers := []string{"a:1", "b:2", "c:3"}
	def, _ := New("", servers)
	pm, _ := New(PyMemcache, servers)
	for _, k := range []string{"x", "y", "z", "django:1:k"} {
		if def(k) != pm(k) {
			t.Errorf("default scheme differs from pymemcache for %q", k)
		}
	}
	// New copies the list.
	s := []string{"a:1", "b:2"}
	sel, _ := New(PyMemcache, s)
	before := sel("k")
	s[0], s[1] = s[1], s[0]
	if sel("k") != before {
		t.Error("Selector changed when the caller's slice did")
	}
}

func TestOneServer(t *testing.T) {
	for _, s := range Schemes() {
		sel, err := New(s, []string{"only:11211"})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"", "a", "ключ", "\xff"} {
			if got := sel(k); got != 0 {
				t.Errorf("%s with one server put %q on %d", s, k, got)
			}
		}
	}
}

// Vectors from pymemcache.client.murmur3.murmur3_32 (str input, so these
// ASCII strings are their own bytes) and MurmurHash3_x86_32's reference.
func TestMurmur3(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint32
	}{
		{"", 0},
		{"a", 0x3c2569b2},
		{"abcd", 0x43ed676a},
		{"abcde", 0xe89b9af6},
		{"hello", 0x248bfa47},
		{"The quick brown fox jumps over the lazy dog", 0x2e4ff723},
	} {
		if got := murmur3x86_32([]byte(c.in), 0); got != c.want {
			t.Errorf("murmur3(%q) = %#x, want %#x", c.in, got, c.want)
		}
	}
	// pymemcache's murmur3_32 over a str reads ord(c) & 0xff per code point:
	// murmur3_32("été") == 0x2b5e8427, murmur3_32("😀") == 0x514e28b7.
	for in, want := range map[string]uint32{"été": 0x2b5e8427, "😀": 0x514e28b7} {
		if got := murmur3x86_32(pyStrLowBytes(nil, in), 0); got != want {
			t.Errorf("pymemcache murmur3(%q) = %#x, want %#x", in, got, want)
		}
	}
}

// Vectors from a Python transcription of libhashkit/one_at_a_time.cc with
// a signed char; pylibmc placed keys as these predict on real servers.
func TestOneAtATime(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint32
	}{
		{"", 0},
		{"a", 0xca2e9442},
		{"The quick brown fox jumps over the lazy dog", 0x519e91f5},
		{"ключ", 0xfbca080a},
	} {
		if got := oneAtATime(c.in); got != c.want {
			t.Errorf("oneAtATime(%q) = %#x, want %#x", c.in, got, c.want)
		}
	}
}

// gomemcache is not a dependency of this module, so its placements are
// worked out by hand from memcache/selector.go: crc32.ChecksumIEEE of the
// key's first 256 bytes, modulo the number of servers. The sums come from
// Python's zlib.crc32, an independent CRC-32 implementation.
func TestGomemcache(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, c := range []struct {
		key  string
		sum  uint32
		want [3]int // with 2, 3 and 5 servers
	}{
		{"foo", 0x8c736521, [3]int{1, 2, 4}},
		{"bar", 0x76ff8caa, [3]int{0, 2, 3}},
		{"django:1:session", 0x41656e17, [3]int{1, 2, 4}},
		// 300 bytes hash as their first 256 (crc32 of all 300 is 0x1b432d13,
		// which would give 1, 2, 3).
		{long, 0x73ee1a10, [3]int{0, 2, 0}},
	} {
		for i, n := range []int{2, 3, 5} {
			sel, _ := New(GoMemcache, make([]string, n))
			if got := sel(c.key); got != c.want[i] {
				t.Errorf("gomemcache %d servers, key %.20q: got %d, want %d (crc %#x)", n, c.key, got, c.want[i], c.sum)
			}
		}
	}
	// Duplicates keep their places: a server listed twice takes two slots.
	sel, _ := New(GoMemcache, []string{"a:1", "a:1", "b:1"})
	if got := sel("foo"); got != 2 { // 0x8c736521 % 3
		t.Errorf("gomemcache with a duplicate: got %d, want 2", got)
	}
}

// Names from pymemcache 3.5.2's _make_client_key(normalize_server_spec(s)).
func TestPymemcacheNodeName(t *testing.T) {
	for in, want := range map[string]string{
		"h:11211":      "h:11211",
		"h:011211":     "h:11211",
		"h":            "h:11211",
		"[::1]:11211":  "::1:11211",
		"[::1]":        "::1:11211",
		"unix:/a.sock": "/a.sock",
		"/b.sock":      "/b.sock",
		"h: 7":         "h:7",
		"h:+7":         "h:7",
		"h:1_1211":     "h:11211",
		"::1":          "::1",
		"h:-5":         "h:-5",
		"[[h]]:1":      "h:1",
		"café:1":       "café:1",
	} {
		got, err := pymemcacheNodeName(in)
		if err != nil || got != want {
			t.Errorf("node name of %q = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"h:", "h:x", "h:1__1", "h:_1", "h:1_", "h:+-1", "\xff:1"} {
		if got, err := pymemcacheNodeName(in); err == nil {
			t.Errorf("node name of %q = %q, want an error as int() raises", in, got)
		}
	}
}

// Python's "%s" % b for bytes b.
func TestPyBytesRepr(t *testing.T) {
	for in, want := range map[string]string{
		"abc":                           `b'abc'`,
		"a'b":                           `b"a'b"`,
		`a"b`:                           `b'a"b'`,
		`a'"b`:                          `b'a\'"b'`,
		`\`:                             `b'\\'`,
		"\x00\x01\t\n\r\x7f\x80\xff":    `b'\x00\x01\t\n\r\x7f\x80\xff'`,
		"caf\xc3\xa9":                   `b'caf\xc3\xa9'`,
		"":                              `b''`,
		"~ !":                           `b'~ !'`,
		"\x1f\x20\x7e":                  `b'\x1f ~'`,
		"a\\'b":                         `b"a\\'b"`,
		"\"'":                           `b'"\''`,
		"1234567890abcdefABCDEF:;<=>?@": `b'1234567890abcdefABCDEF:;<=>?@'`,
	} {
		if got := string(pyBytesRepr(nil, in)); got != want {
			t.Errorf("repr(%q) = %s, want %s", in, got, want)
		}
	}
}

// pymemcache-bytes hashes every key through its repr; pymemcache only the
// keys that are not UTF-8, which no str key can become.
func TestPymemcacheKeyKinds(t *testing.T) {
	servers := []string{"a:1", "b:1", "c:1", "d:1", "e:1", "f:1", "g:1"}
	str, _ := New(PyMemcache, servers)
	byt, _ := New(PyMemcacheBytes, servers)
	nodes := mustPyNodes(t, servers)
	for _, k := range []string{"\xff", "a\x80b", "\xc3"} {
		if str(k) != byt(k) {
			t.Errorf("invalid UTF-8 key %q: pymemcache %d, pymemcache-bytes %d", k, str(k), byt(k))
		}
	}
	sameRepr, sameStr := 0, 0
	for _, k := range []string{"k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "é1", "é2"} {
		if byt(k) == rendezvous(nodes, pyBytesRepr(nil, k)) {
			sameRepr++
		}
		if str(k) == rendezvous(nodes, pyStrLowBytes(nil, k)) {
			sameStr++
		}
	}
	if sameRepr != 10 || sameStr != 10 {
		t.Errorf("key kinds: repr %d/10, str %d/10", sameRepr, sameStr)
	}
	differ := 0
	for _, k := range []string{"k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"} {
		if str(k) != byt(k) {
			differ++
		}
	}
	if differ == 0 {
		t.Error("str and bytes keys placed alike: the repr is not being hashed")
	}
}

// When two nodes score the same, pymemcache keeps the larger name, whatever
// the order (testdata/gen_golden.py's TIE_NODES; the golden file has
// HashClient's own answer for both orders).
func TestPymemcacheTie(t *testing.T) {
	a, b := "mc11354.test:11211", "mc15180.test:11211"
	key := "django:1:tie"
	ha := murmur3x86_32([]byte(a+"-"+key), 0)
	hb := murmur3x86_32([]byte(b+"-"+key), 0)
	if ha != hb {
		t.Fatalf("scores %d and %d do not tie", ha, hb)
	}
	for _, servers := range [][]string{{a, b}, {b, a}, {"x:1", a, b}, {b, "x:1", a}} {
		sel, _ := New(PyMemcache, servers)
		want := slices.Index(servers, b)
		if hx := murmur3x86_32([]byte("x:1-"+key), 0); hx > hb && slices.Contains(servers, "x:1") {
			want = slices.Index(servers, "x:1")
		}
		if got := sel(key); got != want {
			t.Errorf("tie in %q: got %d, want %d", servers, got, want)
		}
	}
}

// A server named twice (even spelled differently) is one node to
// pymemcache; the Selector answers with its first position.
func TestPymemcacheDuplicates(t *testing.T) {
	sel, _ := New(PyMemcache, []string{"a:11211", "b:11211", "a:011211", "a"})
	for _, k := range []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"} {
		if got := sel(k); got != 0 && got != 1 {
			t.Errorf("key %q on %d, a later spelling of a listed server", k, got)
		}
	}
}

func BenchmarkSelectors(b *testing.B) {
	servers := []string{"mc1:11211", "mc2:11211", "mc3:11211", "mc4:11211", "mc5:11211"}
	for _, s := range Schemes() {
		sel, _ := New(s, servers)
		b.Run(s, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				sel("django:1:views.decorators.cache.cache_page.some.key")
			}
		})
	}
}
