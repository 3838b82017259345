package serial

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"testing"
	"time"
)

var testUUID = [16]byte{0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78}

func TestToJSONEveryKind(t *testing.T) {
	paris := DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4, Zone: "Europe/Paris"}
	tests := []struct {
		name string
		v    *Value
		want string
	}{
		{"nil is null", nil, `null`},
		{"None", None(), `null`},
		{"true", NewBool(true), `true`},
		{"false", NewBool(false), `false`},
		{"int", NewInt(-42), `-42`},
		{"big int exact", NewBigInt(bigPow2(100)), `1267650600228229401496703205376`},
		{"hand-built small Big", &Value{Kind: KindInt, Big: big.NewInt(7)}, `7`},
		{"integral float keeps .0", NewFloat(100), `100.0`},
		{"float repr", NewFloat(0.1), `0.1`},
		{"large float exponent", NewFloat(1e16), `1e+16`},
		{"minus zero", NewFloat(math.Copysign(0, -1)), `-0.0`},
		{"NaN as string", NewFloat(math.NaN()), `"NaN"`},
		{"Infinity as string", NewFloat(math.Inf(1)), `"Infinity"`},
		{"-Infinity as string", NewFloat(math.Inf(-1)), `"-Infinity"`},
		{"str keeps non-ASCII and <>&", str("é <b>&"), `"é <b>&"`},
		{"str escapes controls, DEL, C1, bidi, separators", str("\x00\x1b[1m\t\n\r\b\f\x7f\u0085\u202e\u2028\ufeff\"\\"),
			`"\u0000\u001b[1m\t\n\r\b\f\u007f\u0085\u202e\u2028\ufeff\"\\"`},
		{"bytes", NewBytes([]byte{0, 1, 0xff}), `{"$bytes":"AAH/"}`},
		{"empty list", NewList(), `[]`},
		{"list", NewList(NewInt(1), str("a")), `[1,"a"]`},
		{"tuple is an array", NewTuple(NewInt(1)), `[1]`},
		{"set is an array", NewSet(NewInt(1), NewInt(2)), `[1,2]`},
		{"frozenset is an array", NewFrozenSet(str("x")), `["x"]`},
		{"empty dict", NewDict(), `{}`},
		{"str-keyed dict in insertion order", dict(str("z"), NewInt(1), str("a"), NewInt(2)), `{"z":1,"a":2}`},
		{"int-keyed dict", dict(NewInt(1), str("a"), NewInt(2), str("b")), `{"$dict":[[1,"a"],[2,"b"]]}`},
		{"tuple-keyed dict", dict(NewTuple(NewInt(1), NewInt(2)), None()), `{"$dict":[[[1,2],null]]}`},
		{"dict with a reserved key uses $dict", dict(str("$bytes"), str("x")), `{"$dict":[["$bytes","x"]]}`},
		{"datetime naive", NewDateTime(DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4, Second: 5}), `"2024-01-02T03:04:05"`},
		{"datetime utc with micros", NewDateTime(DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4, Second: 5, Microsecond: 123456, HasOffset: true}),
			`"2024-01-02T03:04:05.123456+00:00"`},
		{"datetime negative offset", NewDateTime(DateTime{Year: 2024, Month: 1, Day: 2, HasOffset: true, Offset: -(5*time.Hour + 30*time.Minute)}),
			`"2024-01-02T00:00:00-05:30"`},
		{"datetime offset with seconds", NewDateTime(DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4, Second: 5, HasOffset: true, Offset: time.Hour + 7*time.Second}),
			`"2024-01-02T03:04:05+01:00:07"`},
		{"datetime named zone", NewDateTime(paris), `"2024-01-02T03:04:00[Europe/Paris]"`},
		{"date", NewDate(24, 1, 2), `"0024-01-02"`},
		{"time", NewTime(DateTime{Hour: 3, Minute: 4, Second: 5, Microsecond: 6}), `"03:04:05.000006"`},
		{"timedelta zero", NewTimeDelta(0, 0, 0), `"PT0S"`},
		{"timedelta days hours minutes fraction", NewTimeDelta(1, 7384, 500000), `"P1DT2H3M4.5S"`},
		{"timedelta whole days", NewTimeDelta(3, 0, 0), `"P3D"`},
		{"timedelta minus one second", NewTimeDelta(0, -1, 0), `"-PT1S"`},
		{"timedelta minus one microsecond", NewTimeDelta(0, 0, -1), `"-PT0.000001S"`},
		{"timedelta -3 days +5h", NewTimeDelta(-3, 18000, 0), `"-P2DT19H"`},
		{"decimal", NewDecimal("1.10"), `"1.10"`},
		{"uuid", NewUUID(testUUID), `"12345678-1234-5678-1234-567812345678"`},
		{"object without state", NewObject("app.models.Point", []*Value{NewInt(1), NewInt(2)}, nil),
			`{"$class":"app.models.Point","$args":[1,2]}`},
		{"object with state", NewObject("app.User", nil, dict(str("id"), NewInt(7))),
			`{"$class":"app.User","$args":[],"$state":{"id":7}}`},
		{"ext", NewExt(-1, []byte{1, 2}), `{"$ext":-1,"data":"AQI="}`},
		{"cycle", NewList(NewInt(1), NewCycle()), `[1,{"$ref":"cycle"}]`},
		{"truncated list", NewList(NewInt(1), NewTruncated(99)), `[1,{"$truncated":99}]`},
		{"truncated str-keyed dict", dict(str("a"), NewInt(1), NewTruncated(5), None()), `{"a":1,"$truncated":5}`},
		{"truncated other dict", dict(NewInt(1), NewInt(1), NewTruncated(5), None()), `{"$dict":[[1,1],{"$truncated":5}]}`},
		{"nested non-JSON kinds", NewList(NewTuple(NewBytes([]byte("hi")), NewSet(NewDecimal("2")))), `[[{"$bytes":"aGk="},["2"]]]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ToJSON(tt.v)
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
		Key   string `json:"key"`
		Value *Value `json:"value"`
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out{"k", dict(str("b"), str("<&>"), str("a"), NewBytes([]byte("x")))}); err != nil {
		t.Fatal(err)
	}
	want := `{"key":"k","value":{"b":"<&>","a":{"$bytes":"eA=="}}}` + "\n"
	if buf.String() != want {
		t.Errorf("encoded %s, want %s", buf.String(), want)
	}
}

func TestToJSONPointerCycleIsCut(t *testing.T) {
	// Decoders never build one, but a hand-built cycle must not hang.
	l := NewList()
	l.Items = append(l.Items, l)
	got := ToJSON(l)
	if !json.Valid(got) || !bytes.Contains(got, []byte(`{"$ref":"cycle"}`)) {
		t.Errorf("ToJSON of a pointer cycle = %.80s...", got)
	}
}
