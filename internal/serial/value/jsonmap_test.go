package value_test

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/serial/internal/serialtest"
	"github.com/cachectl/cachectl/internal/serial/value"
)

func TestToJSONEveryKind(t *testing.T) {
	paris := value.DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4, Zone: "Europe/Paris"}
	tests := []struct {
		name string
		v    *value.Value
		want string
	}{
		{"nil is null", nil, `null`},
		{"None", value.None(), `null`},
		{"true", value.NewBool(true), `true`},
		{"false", value.NewBool(false), `false`},
		{"int", value.NewInt(-42), `-42`},
		{"big int exact", value.NewBigInt(serialtest.BigPow2(100)), `1267650600228229401496703205376`},
		{"hand-built small Big", &value.Value{Kind: value.KindInt, Big: big.NewInt(7)}, `7`},
		{"integral float keeps .0", value.NewFloat(100), `100.0`},
		{"float repr", value.NewFloat(0.1), `0.1`},
		{"large float exponent", value.NewFloat(1e16), `1e+16`},
		{"minus zero", value.NewFloat(math.Copysign(0, -1)), `-0.0`},
		{"NaN as string", value.NewFloat(math.NaN()), `"NaN"`},
		{"Infinity as string", value.NewFloat(math.Inf(1)), `"Infinity"`},
		{"-Infinity as string", value.NewFloat(math.Inf(-1)), `"-Infinity"`},
		{"str keeps non-ASCII and <>&", serialtest.Str("é <b>&"), `"é <b>&"`},
		{"str escapes controls, DEL, C1, bidi, separators", serialtest.Str("\x00\x1b[1m\t\n\r\b\f\x7f\u0085\u202e\u2028\ufeff\"\\"),
			`"\u0000\u001b[1m\t\n\r\b\f\u007f\u0085\u202e\u2028\ufeff\"\\"`},
		{"bytes", value.NewBytes([]byte{0, 1, 0xff}), `{"$bytes":"AAH/"}`},
		{"empty list", value.NewList(), `[]`},
		{"list", value.NewList(value.NewInt(1), serialtest.Str("a")), `[1,"a"]`},
		{"tuple is an array", value.NewTuple(value.NewInt(1)), `[1]`},
		{"set is an array", value.NewSet(value.NewInt(1), value.NewInt(2)), `[1,2]`},
		{"frozenset is an array", value.NewFrozenSet(serialtest.Str("x")), `["x"]`},
		{"empty dict", value.NewDict(), `{}`},
		{"str-keyed dict in insertion order", serialtest.Dict(serialtest.Str("z"), value.NewInt(1), serialtest.Str("a"), value.NewInt(2)), `{"z":1,"a":2}`},
		{"int-keyed dict", serialtest.Dict(value.NewInt(1), serialtest.Str("a"), value.NewInt(2), serialtest.Str("b")), `{"$dict":[[1,"a"],[2,"b"]]}`},
		{"tuple-keyed dict", serialtest.Dict(value.NewTuple(value.NewInt(1), value.NewInt(2)), value.None()), `{"$dict":[[[1,2],null]]}`},
		{"dict with a reserved key uses $dict", serialtest.Dict(serialtest.Str("$bytes"), serialtest.Str("x")), `{"$dict":[["$bytes","x"]]}`},
		{"datetime naive", value.NewDateTime(value.DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4, Second: 5}), `"2024-01-02T03:04:05"`},
		{"datetime utc with micros", value.NewDateTime(value.DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4, Second: 5, Microsecond: 123456, HasOffset: true}),
			`"2024-01-02T03:04:05.123456+00:00"`},
		{"datetime negative offset", value.NewDateTime(value.DateTime{Year: 2024, Month: 1, Day: 2, HasOffset: true, Offset: -(5*time.Hour + 30*time.Minute)}),
			`"2024-01-02T00:00:00-05:30"`},
		{"datetime offset with seconds", value.NewDateTime(value.DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4, Second: 5, HasOffset: true, Offset: time.Hour + 7*time.Second}),
			`"2024-01-02T03:04:05+01:00:07"`},
		{"datetime named zone", value.NewDateTime(paris), `"2024-01-02T03:04:00[Europe/Paris]"`},
		{"date", value.NewDate(24, 1, 2), `"0024-01-02"`},
		{"time", value.NewTime(value.DateTime{Hour: 3, Minute: 4, Second: 5, Microsecond: 6}), `"03:04:05.000006"`},
		{"timedelta zero", value.NewTimeDelta(0, 0, 0), `"PT0S"`},
		{"timedelta days hours minutes fraction", value.NewTimeDelta(1, 7384, 500000), `"P1DT2H3M4.5S"`},
		{"timedelta whole days", value.NewTimeDelta(3, 0, 0), `"P3D"`},
		{"timedelta minus one second", value.NewTimeDelta(0, -1, 0), `"-PT1S"`},
		{"timedelta minus one microsecond", value.NewTimeDelta(0, 0, -1), `"-PT0.000001S"`},
		{"timedelta -3 days +5h", value.NewTimeDelta(-3, 18000, 0), `"-P2DT19H"`},
		{"decimal", value.NewDecimal("1.10"), `"1.10"`},
		{"uuid", value.NewUUID(serialtest.TestUUID), `"12345678-1234-5678-1234-567812345678"`},
		{"object without state", value.NewObject("app.models.Point", []*value.Value{value.NewInt(1), value.NewInt(2)}, nil),
			`{"$class":"app.models.Point","$args":[1,2]}`},
		{"object with state", value.NewObject("app.User", nil, serialtest.Dict(serialtest.Str("id"), value.NewInt(7))),
			`{"$class":"app.User","$args":[],"$state":{"id":7}}`},
		{"ext", value.NewExt(-1, []byte{1, 2}), `{"$ext":-1,"data":"AQI="}`},
		{"cycle", value.NewList(value.NewInt(1), value.NewCycle()), `[1,{"$ref":"cycle"}]`},
		{"truncated list", value.NewList(value.NewInt(1), value.NewTruncated(99)), `[1,{"$truncated":99}]`},
		{"truncated str-keyed dict", serialtest.Dict(serialtest.Str("a"), value.NewInt(1), value.NewTruncated(5), value.None()), `{"a":1,"$truncated":5}`},
		{"truncated other dict", serialtest.Dict(value.NewInt(1), value.NewInt(1), value.NewTruncated(5), value.None()), `{"$dict":[[1,1],{"$truncated":5}]}`},
		{"nested non-JSON kinds", value.NewList(value.NewTuple(value.NewBytes([]byte("hi")), value.NewSet(value.NewDecimal("2")))), `[[{"$bytes":"aGk="},["2"]]]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := value.ToJSON(tt.v)
			if string(got) != tt.want {
				t.Errorf("ToJSON(%s) = %s, want %s", tt.v, got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("ToJSON(%s) = %s is not valid JSON", tt.v, got)
			}
		})
	}
}

func TestMarshalJSONInStructKeepsShapeAndOrder(t *testing.T) {
	type out struct {
		Key   string       `json:"key"`
		Value *value.Value `json:"value"`
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out{"k", serialtest.Dict(serialtest.Str("b"), serialtest.Str("<&>"), serialtest.Str("a"), value.NewBytes([]byte("x")))}); err != nil {
		t.Fatal(err)
	}
	want := `{"key":"k","value":{"b":"<&>","a":{"$bytes":"eA=="}}}` + "\n"
	if buf.String() != want {
		t.Errorf("encoded %s, want %s", buf.String(), want)
	}
}

func TestToJSONPointerCycleIsCut(t *testing.T) {
	// Decoders never build one, but a hand-built cycle must not hang.
	l := value.NewList()
	l.Items = append(l.Items, l)
	got := value.ToJSON(l)
	if !json.Valid(got) || !bytes.Contains(got, []byte(`{"$ref":"cycle"}`)) {
		t.Errorf("ToJSON of a pointer cycle = %.80s...", got)
	}
}
