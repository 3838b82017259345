package value_test

import (
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/serial/internal/serialtest"
	"github.com/cachectl/cachectl/internal/serial/value"
)

func TestTemporalReprMatchesCPython(t *testing.T) {
	tests := []struct {
		v    *value.Value
		want string
	}{
		{value.NewDateTime(value.DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4, Second: 5, Microsecond: 123456, HasOffset: true}),
			"datetime.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.timezone.utc)"},
		{value.NewDateTime(value.DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4}), "datetime.datetime(2024, 1, 2, 3, 4)"},
		{value.NewDateTime(value.DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4, Second: 5}), "datetime.datetime(2024, 1, 2, 3, 4, 5)"},
		{value.NewDateTime(value.DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4, HasOffset: true, Offset: -(5*time.Hour + 30*time.Minute)}),
			"datetime.datetime(2024, 1, 2, 3, 4, tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=66600)))"},
		{value.NewDateTime(value.DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4, Zone: "Europe/Paris", Fold: true}),
			"datetime.datetime(2024, 1, 2, 3, 4, fold=1, tzinfo=zoneinfo.ZoneInfo(key='Europe/Paris'))"},
		{value.NewTime(value.DateTime{Hour: 3, Minute: 4, Fold: true, HasOffset: true}), "datetime.time(3, 4, tzinfo=datetime.timezone.utc, fold=1)"},
		{value.NewTime(value.DateTime{}), "datetime.time(0, 0)"},
		{value.NewTime(value.DateTime{Hour: 3, Minute: 4, Second: 5, Microsecond: 6}), "datetime.time(3, 4, 5, 6)"},
		{value.NewDate(2024, 1, 2), "datetime.date(2024, 1, 2)"},
		{value.NewTimeDelta(0, 0, 0), "datetime.timedelta(0)"},
		{value.NewTimeDelta(0, -1, 0), "datetime.timedelta(days=-1, seconds=86399)"},
		{value.NewTimeDelta(1, 7384, 500000), "datetime.timedelta(days=1, seconds=7384, microseconds=500000)"},
		{value.NewTimeDelta(0, 0, -1), "datetime.timedelta(days=-1, seconds=86399, microseconds=999999)"},
		{value.NewTimeDelta(-3, 18000, 0), "datetime.timedelta(days=-3, seconds=18000)"},
		{value.NewDecimal("1.10"), "Decimal('1.10')"},
		{value.NewUUID(serialtest.TestUUID), "UUID('12345678-1234-5678-1234-567812345678')"},
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
		want     value.TimeDelta
	}{
		{0, 0, 0, value.TimeDelta{}},
		{0, 86400, 0, value.TimeDelta{Days: 1}},
		{0, -1, 0, value.TimeDelta{Days: -1, Seconds: 86399}},
		{0, 0, -1, value.TimeDelta{Days: -1, Seconds: 86399, Microseconds: 999999}},
		{1, 3600, 2_500_000, value.TimeDelta{Days: 1, Seconds: 3602, Microseconds: 500000}},
	}
	for _, tt := range tests {
		if got := value.NormalizeTimeDelta(tt.d, tt.s, tt.us); got != tt.want {
			t.Errorf("NormalizeTimeDelta(%d, %d, %d) = %+v, want %+v", tt.d, tt.s, tt.us, got, tt.want)
		}
	}
}

func TestValueStringIsOneLinePythonRepr(t *testing.T) {
	v := serialtest.Dict(
		serialtest.Str("list"), value.NewList(value.NewInt(1), value.NewFloat(2.0), value.None(), value.NewBool(true)),
		serialtest.Str("tuple1"), value.NewTuple(serialtest.Str("x")),
		serialtest.Str("tuple0"), value.NewTuple(),
		serialtest.Str("set"), value.NewSet(value.NewInt(1)),
		serialtest.Str("set0"), value.NewSet(),
		serialtest.Str("fs"), value.NewFrozenSet(value.NewInt(2)),
		serialtest.Str("fs0"), value.NewFrozenSet(),
		value.NewInt(3), value.NewBytes([]byte("b")),
		serialtest.Str("obj"), value.NewObject("app.Point", []*value.Value{value.NewInt(1), value.NewInt(2)}, nil),
		serialtest.Str("objstate"), value.NewObject("app.User", nil, serialtest.Dict(serialtest.Str("id"), value.NewInt(7))),
		serialtest.Str("objargsstate"), value.NewObject("collections.deque", []*value.Value{value.NewList()}, value.NewInt(5)),
		serialtest.Str("ext"), value.NewExt(5, []byte{1}),
		serialtest.Str("cycle"), value.NewList(value.NewCycle()),
		serialtest.Str("cut"), value.NewList(value.NewInt(1), value.NewTruncated(3)),
	)
	want := "{'list': [1, 2.0, None, True], 'tuple1': ('x',), 'tuple0': (), 'set': {1}, 'set0': set(), " +
		"'fs': frozenset({2}), 'fs0': frozenset(), 3: b'b', 'obj': app.Point(1, 2), 'objstate': app.User{'id': 7}, " +
		"'objargsstate': collections.deque([]){5}, 'ext': ExtType(code=5, data=b'\\x01'), 'cycle': [<cycle>], " +
		"'cut': [1, … (3 more items)]}"
	if got := v.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
}
