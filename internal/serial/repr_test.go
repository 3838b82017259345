package serial

import (
	"math"
	"testing"
	"time"
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
		if got := pyFloatRepr(tt.f); got != tt.want {
			t.Errorf("pyFloatRepr(%v) = %q, want Python's %q", tt.f, got, tt.want)
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
		if got := pyStrRepr(tt.in); got != tt.want {
			t.Errorf("pyStrRepr(%q) = %s, want %s", tt.in, got, tt.want)
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
		if got := string(appendPyBytes(nil, []byte(tt.in), -1)); got != tt.want {
			t.Errorf("repr(bytes %q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestTemporalReprMatchesCPython(t *testing.T) {
	tests := []struct {
		v    *Value
		want string
	}{
		{NewDateTime(DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4, Second: 5, Microsecond: 123456, HasOffset: true}),
			"datetime.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.timezone.utc)"},
		{NewDateTime(DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4}), "datetime.datetime(2024, 1, 2, 3, 4)"},
		{NewDateTime(DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4, Second: 5}), "datetime.datetime(2024, 1, 2, 3, 4, 5)"},
		{NewDateTime(DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4, HasOffset: true, Offset: -(5*time.Hour + 30*time.Minute)}),
			"datetime.datetime(2024, 1, 2, 3, 4, tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=66600)))"},
		{NewDateTime(DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4, Zone: "Europe/Paris", Fold: true}),
			"datetime.datetime(2024, 1, 2, 3, 4, fold=1, tzinfo=zoneinfo.ZoneInfo(key='Europe/Paris'))"},
		{NewTime(DateTime{Hour: 3, Minute: 4, Fold: true, HasOffset: true}), "datetime.time(3, 4, tzinfo=datetime.timezone.utc, fold=1)"},
		{NewTime(DateTime{}), "datetime.time(0, 0)"},
		{NewTime(DateTime{Hour: 3, Minute: 4, Second: 5, Microsecond: 6}), "datetime.time(3, 4, 5, 6)"},
		{NewDate(2024, 1, 2), "datetime.date(2024, 1, 2)"},
		{NewTimeDelta(0, 0, 0), "datetime.timedelta(0)"},
		{NewTimeDelta(0, -1, 0), "datetime.timedelta(days=-1, seconds=86399)"},
		{NewTimeDelta(1, 7384, 500000), "datetime.timedelta(days=1, seconds=7384, microseconds=500000)"},
		{NewTimeDelta(0, 0, -1), "datetime.timedelta(days=-1, seconds=86399, microseconds=999999)"},
		{NewTimeDelta(-3, 18000, 0), "datetime.timedelta(days=-3, seconds=18000)"},
		{NewDecimal("1.10"), "Decimal('1.10')"},
		{NewUUID(testUUID), "UUID('12345678-1234-5678-1234-567812345678')"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("repr = %s\n          want %s", got, tt.want)
		}
	}
}

func TestNormalizeTimeDelta(t *testing.T) {
	tests := []struct {
		d, s, us int64
		want     TimeDelta
	}{
		{0, 0, 0, TimeDelta{}},
		{0, 86400, 0, TimeDelta{Days: 1}},
		{0, -1, 0, TimeDelta{Days: -1, Seconds: 86399}},
		{0, 0, -1, TimeDelta{Days: -1, Seconds: 86399, Microseconds: 999999}},
		{1, 3600, 2_500_000, TimeDelta{Days: 1, Seconds: 3602, Microseconds: 500000}},
	}
	for _, tt := range tests {
		if got := NormalizeTimeDelta(tt.d, tt.s, tt.us); got != tt.want {
			t.Errorf("NormalizeTimeDelta(%d, %d, %d) = %+v, want %+v", tt.d, tt.s, tt.us, got, tt.want)
		}
	}
}

func TestValueStringIsOneLinePythonRepr(t *testing.T) {
	v := dict(
		str("list"), NewList(NewInt(1), NewFloat(2.0), None(), NewBool(true)),
		str("tuple1"), NewTuple(str("x")),
		str("tuple0"), NewTuple(),
		str("set"), NewSet(NewInt(1)),
		str("set0"), NewSet(),
		str("fs"), NewFrozenSet(NewInt(2)),
		str("fs0"), NewFrozenSet(),
		NewInt(3), NewBytes([]byte("b")),
		str("obj"), NewObject("app.Point", []*Value{NewInt(1), NewInt(2)}, nil),
		str("objstate"), NewObject("app.User", nil, dict(str("id"), NewInt(7))),
		str("objargsstate"), NewObject("collections.deque", []*Value{NewList()}, NewInt(5)),
		str("ext"), NewExt(5, []byte{1}),
		str("cycle"), NewList(NewCycle()),
		str("cut"), NewList(NewInt(1), NewTruncated(3)),
	)
	want := "{'list': [1, 2.0, None, True], 'tuple1': ('x',), 'tuple0': (), 'set': {1}, 'set0': set(), " +
		"'fs': frozenset({2}), 'fs0': frozenset(), 3: b'b', 'obj': app.Point(1, 2), 'objstate': app.User{'id': 7}, " +
		"'objargsstate': collections.deque([]){5}, 'ext': ExtType(code=5, data=b'\\x01'), 'cycle': [<cycle>], " +
		"'cut': [1, … (3 more items)]}"
	if got := v.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
}
