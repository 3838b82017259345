package pyrepr

import (
	"math"
	"testing"
)

// Expected strings are CPython 3's repr() of the same values.
func TestPyFloatReprMatchesCPython(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{0.1, "0.1"},
		{1e16, "1e+16"},
		{1e-5, "1e-05"},
		{123456789012345678.0, "1.2345678901234568e+17"},
		{100.0, "100.0"},
		{math.Copysign(0, -1), "-0.0"},
		{0, "0.0"},
		{1e-4, "0.0001"},
		{9999999999999998.0, "9999999999999998.0"},
		{1e15, "1000000000000000.0"},
		{1.5e-7, "1.5e-07"},
		{5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{0.30000000000000004, "0.30000000000000004"},
		{2.5, "2.5"},
		{1e22, "1e+22"},
		{12345.678, "12345.678"},
		{-1e-10, "-1e-10"},
		{1.0 / 3, "0.3333333333333333"},
		{9007199254740992.0, "9007199254740992.0"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
	}
	for _, tt := range tests {
		if got := Float(tt.f); got != tt.want {
			t.Errorf("Float(%v) = %q, want Python's %q", tt.f, got, tt.want)
		}
	}
}

func TestPyStrAndBytesReprMatchCPython(t *testing.T) {
	strs := []struct{ in, want string }{
		{"", "''"},
		{"it's", `"it's"`},
		{`say "hi"`, `'say "hi"'`},
		{`both ' "`, `'both \' "'`},
		{"\x00\x1b[31m\u00a0\u200b\U0001F600é\x7f\u0085\u2028", `'\x00\x1b[31m\xa0\u200b😀é\x7f\x85\u2028'`},
		{"tab\tnl\ncr\r\\", `'tab\tnl\ncr\r\\'`},
		{"\u202e\U000e0001", `'\u202e\U000e0001'`},
	}
	for _, tt := range strs {
		if got := Str(tt.in); got != tt.want {
			t.Errorf("Str(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	bytesTests := []struct{ in, want string }{
		{"", "b''"},
		{"it's", `b"it's"`},
		{`a"b`, `b'a"b'`},
		{"\x00\xff\n\t\\", `b'\x00\xff\n\t\\'`},
		{"\x7f\x80 ~", `b'\x7f\x80 ~'`},
	}
	for _, tt := range bytesTests {
		if got := string(AppendBytes(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("repr(bytes %q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
