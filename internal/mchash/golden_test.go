package mchash

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// golden is what testdata/gen_golden.py prints: the server index the real
// Python client chose for each key of a keyset, one digit per key.
type golden struct {
	Versions map[string]string   `json:"versions"`
	Keysets  map[string][]string `json:"keysets"` // hex of the wire keys
	Configs  []goldenConfig      `json:"configs"`
}

type goldenConfig struct {
	Scheme  string   `json:"scheme"`
	Servers []string `json:"servers"`
	Keyset  string   `json:"keyset"`
	Expect  string   `json:"expect"`
}

func parseGolden(t *testing.T, data []byte) *golden {
	t.Helper()
	var g golden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatalf("golden data: %v", err)
	}
	return &g
}

func (g *golden) keys(t *testing.T, name string) []string {
	t.Helper()
	hexes, ok := g.Keysets[name]
	if !ok {
		t.Fatalf("golden data has no keyset %q", name)
	}
	keys := make([]string, len(hexes))
	for i, h := range hexes {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatalf("keyset %s[%d]: %v", name, i, err)
		}
		keys[i] = string(b)
	}
	return keys
}

// check compares every golden placement with the Selector's and returns how
// many keys it compared per scheme.
func (g *golden) check(t *testing.T) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, c := range g.Configs {
		keys := g.keys(t, c.Keyset)
		if len(c.Expect) != len(keys) {
			t.Fatalf("%s %v %s: %d expectations for %d keys", c.Scheme, c.Servers, c.Keyset, len(c.Expect), len(keys))
		}
		sel, err := New(c.Scheme, c.Servers)
		if err != nil {
			t.Fatalf("New(%q, %q): %v", c.Scheme, c.Servers, err)
		}
		bad := 0
		for i, k := range keys {
			want := int(c.Expect[i] - '0')
			if got := sel(k); got != want {
				if bad++; bad <= 5 {
					t.Errorf("%s %q key %q (%s keyset #%d): got server %d, the Python client picks %d",
						c.Scheme, c.Servers, k, c.Keyset, i, got, want)
				}
			}
		}
		if bad > 5 {
			t.Errorf("%s %q %s keyset: %d of %d keys misplaced", c.Scheme, c.Servers, c.Keyset, bad, len(keys))
		}
		counts[c.Scheme] += len(keys)
	}
	return counts
}

func readGoldenFile(t *testing.T) *golden {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	return parseGolden(t, data)
}

// TestGoldenFile checks the placements the real libraries made when
// testdata/golden.json was generated, so it runs without Python.
func TestGoldenFile(t *testing.T) {
	g := readGoldenFile(t)
	counts := g.check(t)
	for _, s := range []string{PyMemcache, PyMemcacheBytes, PyLibMC} {
		if counts[s] < 300 {
			t.Errorf("golden file checks only %d keys for %s", counts[s], s)
		}
	}
	t.Logf("checked %v (made with %v)", counts, g.Versions)
}

// TestGoldenDiscriminates makes sure the golden keys exercise the details
// that are easy to get wrong: a plausible but wrong variant of each scheme
// must misplace some of them.
func TestGoldenDiscriminates(t *testing.T) {
	g := readGoldenFile(t)
	variants := map[string]func(servers []string) func(string) int{
		// pymemcache hashing the UTF-8 bytes instead of the code points' low bytes.
		PyMemcache: func(servers []string) func(string) int {
			nodes := mustPyNodes(t, servers)
			return func(k string) int {
				var key []byte
				for i := 0; i < len(k); i++ {
					key = append(key, k[i])
				}
				return rendezvousUTF8(nodes, key)
			}
		},
		// libmemcached's one-at-a-time with an unsigned char.
		PyLibMC: func(servers []string) func(string) int {
			return func(k string) int {
				var h uint32
				for i := 0; i < len(k); i++ {
					h += uint32(k[i])
					h += h << 10
					h ^= h >> 6
				}
				h += h << 3
				h ^= h >> 11
				h += h << 15
				return int(h % uint32(len(servers)))
			}
		},
	}
	for scheme, variant := range variants {
		differ := 0
		for _, c := range g.Configs {
			if c.Scheme != scheme || c.Keyset != "str" {
				continue
			}
			v := variant(c.Servers)
			for i, k := range g.keys(t, c.Keyset) {
				if v(k) != int(c.Expect[i]-'0') {
					differ++
				}
			}
		}
		if differ < 20 {
			t.Errorf("%s: only %d golden keys tell the real scheme from a plausible wrong one", scheme, differ)
		}
	}
}

func mustPyNodes(t *testing.T, servers []string) []pyNode {
	t.Helper()
	var nodes []pyNode
	for i, s := range servers {
		name, err := pymemcacheNodeName(s)
		if err != nil {
			t.Fatal(err)
		}
		dup := false
		for _, n := range nodes {
			dup = dup || n.name == name
		}
		if !dup {
			nodes = append(nodes, pyNode{name: name, index: i})
		}
	}
	return nodes
}

// rendezvousUTF8 is rendezvous with node names hashed as UTF-8 bytes.
func rendezvousUTF8(nodes []pyNode, key []byte) int {
	high, winner := int64(-1), 0
	for i, n := range nodes {
		score := int64(murmur3x86_32(append([]byte(n.name+"-"), key...), 0))
		if score > high {
			high, winner = score, i
		}
	}
	return nodes[winner].index
}

// pythonWith returns a Python interpreter that can import module, preferring
// Debian's /usr/bin/python3 (where python3-pymemcache and python3-pylibmc
// install). Without one the test skips, or fails when CACHECTL_REQUIRE_SERVERS
// is set: `make test` and CI must not skip the real-library comparison.
func pythonWith(t *testing.T, module string) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import "+module).Run() == nil {
			return path
		}
	}
	missing(t, "no python3 that can import "+module+" (apt-get install python3-"+module+")")
	return ""
}

func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CACHECTL_REQUIRE_SERVERS") != "" {
		t.Fatalf("%s, but CACHECTL_REQUIRE_SERVERS is set", why)
	}
	t.Skip(why)
}

func runGenerator(t *testing.T, python string, args ...string) *golden {
	t.Helper()
	cmd := exec.Command(python, append([]string{filepath.Join("testdata", "gen_golden.py")}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gen_golden.py %v: %v\n%s", args, err, stderr.Bytes())
	}
	return parseGolden(t, out)
}

// TestPymemcacheLive asks the installed pymemcache's HashClient where 2,000
// keys of each kind go, for pools of 2, 3 and 5 servers and more, and checks
// that the committed golden file is what the generator makes today.
func TestPymemcacheLive(t *testing.T) {
	py := pythonWith(t, "pymemcache")
	g := runGenerator(t, py, "--only", "pymemcache", "--keys", "2000")
	counts := g.check(t)
	if counts[PyMemcache] < 2000*5 || counts[PyMemcacheBytes] < 2000*5 {
		t.Errorf("live pymemcache comparison covered only %v", counts)
	}
	t.Logf("pymemcache %s: checked %v", g.Versions["pymemcache"], counts)

	// The committed file must match a fresh run (its pymemcache part; the
	// pylibmc part depends on real servers and is checked by TestPylibmcLive).
	small := runGenerator(t, py, "--only", "pymemcache", "--keys", strconv.Itoa(len(readGoldenFile(t).Keysets["str"])))
	committed := readGoldenFile(t)
	want := map[string]string{}
	for _, c := range committed.Configs {
		if c.Scheme != PyLibMC {
			want[c.Scheme+" "+c.Keyset+" "+stringsKey(c.Servers)] = c.Expect
		}
	}
	for _, c := range small.Configs {
		k := c.Scheme + " " + c.Keyset + " " + stringsKey(c.Servers)
		if want[k] != c.Expect {
			t.Errorf("testdata/golden.json is stale for %s: regenerate it (see gen_golden.py)", k)
		}
		delete(want, k)
	}
	for k := range want {
		t.Errorf("testdata/golden.json has %s, which the generator no longer makes", k)
	}
	for name, hexes := range small.Keysets {
		if stringsKey(hexes) != stringsKey(committed.Keysets[name]) {
			t.Errorf("testdata/golden.json keyset %s is stale: regenerate it", name)
		}
	}
}

func stringsKey(s []string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
