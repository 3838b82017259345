package serial

import (
	"strings"
	"testing"
)

// Each want is what CPython 3 prints for json.dumps(json.loads(in)),
// verified by hand with python3 and kept here as literals.
func TestEncodeJSONMatchesPythonDumps(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":[1,2.5,"é"]}`, `{"a": [1, 2.5, "\u00e9"]}`},
		{`{"a":1,"b":2,"a":3}`, `{"a": 3, "b": 2}`},
		{`["\u2028", "\u007f", "\u0000\u001f", "😀", "<>&", "tab\tnl\n", "\\\"", "\/"]`,
			`["\u2028", "\u007f", "\u0000\u001f", "\ud83d\ude00", "<>&", "tab\tnl\n", "\\\"", "/"]`},
		{`[NaN, Infinity, -Infinity, 1267650600228229401496703205376, -0.0, 1e400]`,
			`[NaN, Infinity, -Infinity, 1267650600228229401496703205376, -0.0, Infinity]`},
		{`[1E2, 1e-7, -0, 0.0, 1.0, 10000000000000000.0, 123456789012345678901234567890]`,
			`[100.0, 1e-07, 0, 0.0, 1.0, 1e+16, 123456789012345678901234567890]`},
		{`[1.0e+2, 0.5E-3, 1e308, 5e-324, 2e-324]`, `[100.0, 0.0005, 1e+308, 5e-324, 0.0]`},
		{`"\ud83d\ude00 \u00e9"`, `"\ud83d\ude00 \u00e9"`},
		{`{}`, `{}`},
		{`[]`, `[]`},
		{` [ {} , [ ] , { "" : "" } ] `, `[{}, [], {"": ""}]`},
		{`true`, `true`},
		{`null`, `null`},
		{` 1 `, `1`},
		{`"\b\f\r"`, `"\b\f\r"`},
	}
	for _, tt := range tests {
		got, err := Encode([]byte(tt.in), "json")
		if err != nil {
			t.Errorf("Encode(%s, json) error %v", tt.in, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("Encode(%s, json)\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

func TestEncodeValueJSONConvertsKeysLikePython(t *testing.T) {
	// json.dumps({1: 2, 1.5: 3, None: 5, False: 6}) == '{"1": 2, "1.5": 3, "null": 5, "false": 6}'
	v := dict(NewInt(1), NewInt(2), NewFloat(1.5), NewInt(3), None(), NewInt(5), NewBool(false), NewInt(6))
	got, err := EncodeValue(v, "json")
	if err != nil || string(got) != `{"1": 2, "1.5": 3, "null": 5, "false": 6}` {
		t.Errorf("EncodeValue = %s, %v", got, err)
	}
	// Tuples are lists to json.dumps.
	got, err = EncodeValue(NewTuple(NewInt(1), NewInt(2)), "json")
	if err != nil || string(got) != `[1, 2]` {
		t.Errorf("EncodeValue(tuple) = %s, %v", got, err)
	}
	for _, bad := range []*Value{NewBytes([]byte("x")), NewSet(), dict(NewTuple(), NewInt(1)), NewList(NewDecimal("1"))} {
		if _, err := EncodeValue(bad, "json"); err == nil || !strings.HasPrefix(err.Error(), "cannot encode") {
			t.Errorf("EncodeValue(%s, json) error = %v, want a cannot-encode error", bad, err)
		}
	}
}

func TestEncodeSerializers(t *testing.T) {
	tests := []struct {
		name, in, serializer string
		want                 string
		wantErr              string
	}{
		{"raw keeps bytes", "\xff\x00", "raw", "\xff\x00", ""},
		{"string keeps text", "héllo\n", "string", "héllo\n", ""},
		{"string refuses invalid UTF-8", "a\xffb", "string", "", "value is not valid UTF-8; use --serializer raw"},
		{"json refuses text", "hello", "json", "",
			"value is not valid JSON: unexpected 'h', expecting a value at offset 0; write text as a JSON string or use --serializer string"},
		{"json refuses trailing data", "{} {}", "json", "",
			"value is not valid JSON: extra data '{' at offset 3; write text as a JSON string or use --serializer string"},
		{"unknown serializer lists valid ones", "x", "yaml", "", `unknown serializer "yaml" (valid: raw, string, json, pickle, msgpack)`},
		{"pickle protocol 4 like pickle.dumps", "1", "pickle", "\x80\x04K\x01.", ""},
		{"msgpack like packb", `{"a": [1, "x"]}`, "msgpack", "\x81\xa1a\x92\x01\xa1x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode([]byte(tt.in), tt.serializer)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Fatalf("error = %q, want %q", gotErr, tt.wantErr)
			}
			if string(got) != tt.want {
				t.Errorf("Encode = %q, want %q", got, tt.want)
			}
		})
	}
	if got := strings.Join(Serializers(), ","); got != "raw,string,json,pickle,msgpack" {
		t.Errorf("Serializers() = %s", got)
	}
}
