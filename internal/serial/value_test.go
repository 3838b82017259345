package serial

import (
	"testing"
	"time"
)

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
