package serial

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct {
		name    string
		in      string
		format  Format
		want    *Value // nil: only the format is checked
		wantErr bool   // Decoded.Err set
	}{
		{"empty value is the empty string", "", FormatString, str(""), false},
		{"plain integer is JSON", "123", FormatJSON, NewInt(123), false},
		{"integer JSON refuses (leading zeros) is int", "007", FormatInt, NewInt(7), false},
		{"negative leading zeros is int", "-007", FormatInt, NewInt(-7), false},
		{"plus sign is int", "+5", FormatInt, NewInt(5), false},
		{"JSON refuses 01, int takes it", "01", FormatInt, NewInt(1), false},
		{"integer with surrounding whitespace is JSON", " 1 ", FormatJSON, NewInt(1), false},
		{"minus zero integer is JSON 0", "-0", FormatJSON, NewInt(0), false},
		{"2**100 is an exact JSON int", "1267650600228229401496703205376", FormatJSON, NewBigInt(bigPow2(100)), false},
		{"-2**100 is an exact JSON int", "-1267650600228229401496703205376", FormatJSON, NewBigInt(new(big.Int).Neg(bigPow2(100))), false},
		{"int64 max stays on the fast path", "9223372036854775807", FormatJSON, NewInt(math.MaxInt64), false},
		{"int64 min stays on the fast path", "-9223372036854775808", FormatJSON, NewInt(math.MinInt64), false},
		{"float", "1.5", FormatJSON, NewFloat(1.5), false},
		{"float with exponent", "1E2", FormatJSON, NewFloat(100), false},
		{"minus zero float", "-0.0", FormatJSON, NewFloat(math.Copysign(0, -1)), false},
		{"float overflow is infinity like Python", "1e400", FormatJSON, NewFloat(math.Inf(1)), false},
		{"NaN literal", "NaN", FormatJSON, NewFloat(math.NaN()), false},
		{"Infinity literal", "Infinity", FormatJSON, NewFloat(math.Inf(1)), false},
		{"-Infinity literal", "-Infinity", FormatJSON, NewFloat(math.Inf(-1)), false},
		{"lower-case nan is text", "nan", FormatString, str("nan"), false},
		{"true", "true", FormatJSON, NewBool(true), false},
		{"null", "null", FormatJSON, None(), false},
		{"top-level JSON string", `"hi"`, FormatJSON, str("hi"), false},
		{"nested", `{"a":[1,{"b":null}],"c":"é"}`, FormatJSON,
			dict(str("a"), NewList(NewInt(1), dict(str("b"), None())), str("c"), str("é")), false},
		{"object keys keep their order", `{"z":1,"a":2,"m":3}`, FormatJSON,
			dict(str("z"), NewInt(1), str("a"), NewInt(2), str("m"), NewInt(3)), false},
		{"duplicate key keeps first position and last value", `{"a":1,"b":2,"a":3}`, FormatJSON,
			dict(str("a"), NewInt(3), str("b"), NewInt(2)), false},
		{"escapes and surrogate pair", `"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"`, FormatJSON, str("a\"\\/\b\f\n\r\té😀"), false},
		{"lone surrogate becomes U+FFFD", `["\ud800", "\udc00x"]`, FormatJSON, NewList(str("\ufffd"), str("\ufffdx")), false},
		{"trailing garbage is text", "{}x", FormatString, str("{}x"), false},
		{"trailing comma is text", "[1,]", FormatString, nil, false},
		{"1. is text", "1.", FormatString, nil, false},
		{"underscored digits are text", "1_000", FormatString, nil, false},
		{"two numbers are text", "12 34", FormatString, nil, false},
		{"raw control char in JSON string is text", "\"a\x01\"", FormatString, nil, false},
		{"terminal escape is text", "\x1b[31mred", FormatString, str("\x1b[31mred"), false},
		{"plain text", "hello world", FormatString, str("hello world"), false},
		{"UTF-8 BOM text is text", "\xef\xbb\xbf{}", FormatString, nil, false},
		{"invalid UTF-8 is bytes without a reason", "\xff\xfe\x00", FormatBytes, NewBytes([]byte("\xff\xfe\x00")), false},
		{"JSON-looking invalid UTF-8 is bytes with the reason", "{\"a\":\"\xff\"}", FormatBytes, nil, true},
		{"integer beyond 4300 digits is text", strings.Repeat("9", 4301), FormatString, nil, false},
		{"integer of 4300 digits is JSON", strings.Repeat("9", 4300), FormatJSON, nil, false},
		{"nesting at the limit is JSON", deep(MaxDepth), FormatJSON, nil, false},
		{"nesting beyond the limit is text", deep(MaxDepth + 1), FormatString, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Detect([]byte(tt.in))
			if d.Format != tt.format {
				t.Fatalf("Detect(%q).Format = %q, want %q (err %v)", tt.in, d.Format, tt.format, d.Err)
			}
			if tt.want != nil && !Equal(d.Value, tt.want) {
				t.Errorf("Detect(%q).Value = %s, want %s", tt.in, d.Value, tt.want)
			}
			if (d.Err != nil) != tt.wantErr {
				t.Errorf("Detect(%q).Err = %v, want error: %v", tt.in, d.Err, tt.wantErr)
			}
			if d.Value == nil {
				t.Errorf("Detect(%q).Value is nil", tt.in)
			}
		})
	}
}

func TestParseJSONErrors(t *testing.T) {
	tests := []struct {
		in, wantMsg string
	}{
		{"", "not valid JSON: unexpected end of input, expecting a value at offset 0"},
		{"{}x", "not valid JSON: extra data 'x' at offset 2"},
		{`{"a" 1}`, `not valid JSON: unexpected '1', expecting ':' at offset 5`},
		{`{a:1}`, `not valid JSON: unexpected 'a', expecting a property name in double quotes at offset 1`},
		{`[1 2]`, `not valid JSON: unexpected '2', expecting ',' or ']' at offset 3`},
		{`"abc`, `not valid JSON: unterminated string at offset 4`},
		{"\"a\nb\"", `not valid JSON: invalid control character 0x0a in string at offset 2`},
		{`"\x"`, `not valid JSON: invalid escape 'x' at offset 2`},
		{`"\u12"`, `not valid JSON: invalid \u escape at offset 1`},
		{"[\"\xff\"]", "not valid JSON: invalid UTF-8 byte 0xff at offset 2"},
		{strings.Repeat("[", MaxDepth+1), "not valid JSON: nesting deeper than 1000 levels at offset 1000"},
		{strings.Repeat("1", 4301), "not valid JSON: integer with 4301 digits exceeds the limit of 4300 at offset 0"},
		{"\x1b", `not valid JSON: unexpected '\x1b', expecting a value at offset 0`},
	}
	for _, tt := range tests {
		_, err := ParseJSON([]byte(tt.in))
		if err == nil {
			t.Errorf("ParseJSON(%q) succeeded, want error %q", tt.in, tt.wantMsg)
			continue
		}
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("ParseJSON(%q) error %T is not a *FormatError", tt.in, err)
		}
		if err.Error() != tt.wantMsg {
			t.Errorf("ParseJSON(%q) error = %q, want %q", tt.in, err, tt.wantMsg)
		}
	}
}

func TestParseJSONManyDuplicateKeysUseIndex(t *testing.T) {
	// More than 16 keys switches to the map index; duplicates must still merge.
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < 40; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + strconv.Itoa(i%20) + `":` + strconv.Itoa(i))
	}
	b.WriteString("}")
	v, err := ParseJSON([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Pairs) != 20 {
		t.Fatalf("got %d pairs, want 20", len(v.Pairs))
	}
	for i, p := range v.Pairs {
		if p.Key.Str != "k"+strconv.Itoa(i) || p.Value.Int != int64(i+20) {
			t.Errorf("pair %d = %s: %s, want k%d: %d", i, p.Key, p.Value, i, i+20)
		}
	}
}

func TestDecodeAs(t *testing.T) {
	tests := []struct {
		name, in, as string
		format       Format
		want         *Value
		wantErr      string // Decoded.Err text, "" for none
	}{
		{"auto is Detect", "123", "auto", FormatJSON, NewInt(123), ""},
		{"forced json", `{"a":1}`, "json", FormatJSON, dict(str("a"), NewInt(1)), ""},
		{"forced json that fails falls back to bytes with the reason", "{x", "json", FormatBytes,
			NewBytes([]byte("{x")), "not valid JSON: unexpected 'x', expecting a property name in double quotes at offset 1"},
		{"forced string", `{"a":1}`, "string", FormatString, str(`{"a":1}`), ""},
		{"forced string of invalid UTF-8", "ab\xffc", "string", FormatBytes, NewBytes([]byte("ab\xffc")),
			"not valid UTF-8 text: byte 0xff at offset 2"},
		{"forced int with Python int() syntax", " -1_000\n", "int", FormatInt, NewInt(-1000), ""},
		{"forced int of 2**100", "1267650600228229401496703205376", "int", FormatInt, NewBigInt(bigPow2(100)), ""},
		{"forced int refuses a float", "1.5", "int", FormatBytes, NewBytes([]byte("1.5")), "not an integer: unexpected byte 0x2e at offset 1"},
		{"forced int refuses a double underscore", "1__0", "int", FormatBytes, nil, "not an integer: unexpected byte 0x5f at offset 1"},
		{"forced int refuses empty", "", "int", FormatBytes, nil, "not an integer: no digits at offset 0"},
		{"forced bytes", "hi", "bytes", FormatBytes, NewBytes([]byte("hi")), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := DecodeAs([]byte(tt.in), tt.as)
			if err != nil {
				t.Fatalf("DecodeAs(%q, %q) error %v", tt.in, tt.as, err)
			}
			if d.Format != tt.format {
				t.Errorf("format = %q, want %q", d.Format, tt.format)
			}
			if tt.want != nil && !Equal(d.Value, tt.want) {
				t.Errorf("value = %s, want %s", d.Value, tt.want)
			}
			gotErr := ""
			if d.Err != nil {
				gotErr = d.Err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("Err = %q, want %q", gotErr, tt.wantErr)
			}
		})
	}
}

func TestDecodeAsUnknownModeListsValidOnes(t *testing.T) {
	_, err := DecodeAs([]byte("x"), "yaml")
	if err == nil || !strings.HasPrefix(err.Error(), `unknown format "yaml" (valid: auto, pickle, json, msgpack, string, int, bytes, optionally after a codec: gzip, zlib`) {
		t.Fatalf("DecodeAs(yaml) error = %v", err)
	}
	if got := strings.Join(DecodeModes(), ","); got != "auto,pickle,json,msgpack,string,int,bytes" {
		t.Errorf("DecodeModes() = %s", got)
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		complete bool
		want     Format
	}{
		{"complete value uses Detect", "007", true, FormatInt},
		{"complete JSON", `{"a":1}`, true, FormatJSON},
		{"complete empty", "", true, FormatString},
		{"prefix of an object", `{"a": [1, 2`, false, FormatJSON},
		{"prefix of an array after whitespace", "\n [", false, FormatJSON},
		{"prefix of a number", "12345", false, FormatJSON},
		{"prefix of text starting with digits", "12 apples", false, FormatString},
		{"prefix of text", "hello", false, FormatString},
		{"prefix cut inside a character is still text", "caf\xc3", false, FormatString},
		{"prefix with invalid UTF-8 is bytes", "ab\xffcd", false, FormatBytes},
		{"empty prefix", "", false, FormatString},
	}
	for _, tt := range tests {
		if got := Sniff([]byte(tt.in), tt.complete); got != tt.want {
			t.Errorf("%s: Sniff(%q, %v) = %q, want %q", tt.name, tt.in, tt.complete, got, tt.want)
		}
	}
}
