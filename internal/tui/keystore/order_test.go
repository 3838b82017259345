package keystore

import (
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// refNatCompare is the natural order written the slow, obvious way, to check
// natCompare and natHead against: split into tokens (a number per digit run, valued
// with math/big; a byte per other byte), compare token by token (a number sorts as a
// digit byte against any other byte), the shorter list first, then bytes.
func refNatCompare(a, b string) int {
	type tok struct {
		num *big.Int
		b   byte
	}
	split := func(s string) []tok {
		var out []tok
		for i := 0; i < len(s); {
			if s[i] < '0' || s[i] > '9' {
				out = append(out, tok{b: s[i]})
				i++
				continue
			}
			e := i
			for e < len(s) && s[e] >= '0' && s[e] <= '9' {
				e++
			}
			n, _ := new(big.Int).SetString(s[i:e], 10)
			out = append(out, tok{num: n})
			i = e
		}
		return out
	}
	ta, tb := split(a), split(b)
	for i := 0; i < len(ta) && i < len(tb); i++ {
		x, y := ta[i], tb[i]
		var c int
		switch {
		case x.num != nil && y.num != nil:
			c = x.num.Cmp(y.num)
		case x.num != nil:
			c = strings.Compare("0", string(y.b))
		case y.num != nil:
			c = strings.Compare(string(x.b), "0")
		default:
			c = strings.Compare(string(x.b), string(y.b))
		}
		if c != 0 {
			return c
		}
	}
	if len(ta) != len(tb) {
		if len(ta) < len(tb) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func TestNatCompareExamples(t *testing.T) {
	want := []string{"", "0", "00", "01", "1", "2", "9", "10", "18", "19", "20", "100", "a", "v2", "v9", "v10", "v10a", "v10b", "v11"}
	got := slices.Clone(want)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
	slices.SortFunc(got, natCompare)
	if !slices.Equal(got, want) {
		t.Fatalf("sorted:\n%q\nwant\n%q", got, want)
	}
}

// randNatString draws strings rich in digit runs, leading zeros and bytes around '0'..'9'.
func randNatString(rng *rand.Rand) string {
	alphabet := []string{"0", "00", "1", "7", "9", "10", "99", "123456789012345678901234567890", "/", ":", "@", "a", "\x00", "\xff", "-"}
	var b strings.Builder
	for range rng.IntN(7) {
		b.WriteString(alphabet[rng.IntN(len(alphabet))])
	}
	return b.String()
}

func TestNatCompareMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		a, b := randNatString(rng), randNatString(rng)
		want := refNatCompare(a, b)
		if got := natCompare(a, b); got != want {
			t.Fatalf("natCompare(%q, %q) = %d, want %d", a, b, got, want)
		}
		if (want == 0) != (a == b) {
			t.Fatalf("%q and %q tie", a, b)
		}
		// Unequal heads must order as the labels do; equal heads may say nothing.
		if ha, hb := natHead(a), natHead(b); ha < hb && want >= 0 || ha > hb && want <= 0 {
			t.Fatalf("natHead(%q)=%x, natHead(%q)=%x disagree with order %d", a, ha, b, hb, want)
		}
	}
}

func FuzzNatCompare(f *testing.F) {
	f.Add("v9", "v10")
	f.Add("01", "1")
	f.Add("a\xff9", "a\x009")
	f.Fuzz(func(t *testing.T, a, b string) {
		want := refNatCompare(a, b)
		if got := natCompare(a, b); got != want {
			t.Fatalf("natCompare(%q, %q) = %d, want %d", a, b, got, want)
		}
		if got := natCompare(b, a); got != -want {
			t.Fatalf("natCompare(%q, %q) = %d, not antisymmetric", b, a, got)
		}
		if ha, hb := natHead(a), natHead(b); ha < hb && want >= 0 || ha > hb && want <= 0 {
			t.Fatalf("natHead(%q)=%x, natHead(%q)=%x disagree with order %d", a, ha, b, hb, want)
		}
	})
}

func TestTreeSortsNumbersNaturally(t *testing.T) {
	keys := []string{"user:20", "user:2", "user:19", "user:18", "user:100", "user:02", "v10:x", "v9:x", "v9"}
	s := treeStore(":", keys...)
	expandKey(t, s, "user:")
	want := []string{"user: (6) -", "  02", "  2", "  18", "  19", "  20", "  100", "v9", "v9: (1) +", "v10: (1) +"}
	if got := dump(s); !slices.Equal(got, want) {
		t.Fatalf("rows =\n%q\nwant\n%q", got, want)
	}
	// Find walks the same order: after user:19 comes user:20, not user:2.
	from := slices.Index(dump(s), "  19")
	row, ok := s.Find(from, "user:", true)
	if !ok || s.Row(row).Key != "user:20" {
		t.Fatalf("Find after user:19 = %d (%q), %v; want user:20", row, s.Row(row).Key, ok)
	}
	// A delimiter ending in a digit keeps byte order (see order.go).
	s = treeStore("_0", "x_02", "x_010", "x_09")
	expandKey(t, s, "x_0")
	if got, want := dump(s), []string{"x_0 (3) -", "  10", "  2", "  9"}; !slices.Equal(got, want) {
		t.Fatalf("byte-order rows =\n%q\nwant\n%q", got, want)
	}
}
