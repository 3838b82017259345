package backends

import "testing"

func TestSplitStreamID(t *testing.T) {
	for _, c := range []struct {
		id      string
		ms, seq uint64
		ok      bool
	}{
		{"0-0", 0, 0, true},
		{"1526919030474-55", 1526919030474, 55, true},
		{"18446744073709551615-18446744073709551615", 1<<64 - 1, 1<<64 - 1, true},
		{"", 0, 0, false},
		{"12", 0, 0, false},
		{"12-", 0, 0, false},
		{"-3", 0, 0, false},
		{"12-x", 0, 0, false},
		{"1-2-3", 0, 0, false},
		{"18446744073709551616-0", 0, 0, false},
	} {
		ms, seq, ok := SplitStreamID(c.id)
		if ms != c.ms || seq != c.seq || ok != c.ok {
			t.Errorf("SplitStreamID(%q) = %d, %d, %v; want %d, %d, %v", c.id, ms, seq, ok, c.ms, c.seq, c.ok)
		}
	}
}

func TestStreamIDLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{
		{"1-0", "2-0", true},
		{"2-0", "1-9", false},
		{"5-1", "5-2", true},
		{"5-2", "5-2", false},
		{"9-0", "10-0", true}, // numbers, not text
		{"bad", "0-1", true},  // an unparsed ID counts as 0-0
	} {
		if got := StreamIDLess(c.a, c.b); got != c.less {
			t.Errorf("StreamIDLess(%q, %q) = %v, want %v", c.a, c.b, got, c.less)
		}
	}
}
