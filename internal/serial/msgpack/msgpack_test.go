package msgpack

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/serial/internal/serialtest"
	"github.com/cachectl/cachectl/internal/serial/pyjson"
	"github.com/cachectl/cachectl/internal/serial/value"
)

// TestMsgpackVectors: every vector msgpack-python made decodes to the JSON
// mapping computed in Python; what unpackb refuses we refuse; encode vectors
// are written back byte for byte from their JSON.
func TestMsgpackVectors(t *testing.T) {
	vecs := serialtest.ReadJSONL[serialtest.MsgpackVector](t, "msgpack.jsonl")
	if len(vecs) < 100 {
		t.Fatalf("only %d msgpack vectors", len(vecs))
	}
	var encodes int
	for _, vec := range vecs {
		b := serialtest.Unhex(t, vec.Hex)
		v, err := Decode(b, Limits{})
		if vec.Error {
			var fe *value.FormatError
			if !errors.As(err, &fe) || fe.Format != value.FormatMsgpack {
				t.Errorf("%s: Decode(%x) = %v, %v; want a msgpack FormatError", vec.Name, b, v, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Decode: %v", vec.Name, err)
			continue
		}
		if got := string(value.ToJSON(v)); got != vec.JSON {
			t.Errorf("%s: ToJSON\n got %.300s\nwant %.300s", vec.Name, got, vec.JSON)
		}
		// int8 -128 (d0 80) is also the text "Ѐ"; text wins (see Plausible).
		if !Plausible(b, v) && vec.Name != "int/-128" {
			t.Errorf("%s: real msgpack %x judged implausible", vec.Name, b[:min(len(b), 16)])
		}
		if !vec.Encode {
			continue
		}
		encodes++
		jv, err := pyjson.Parse([]byte(vec.JSON))
		if err != nil {
			t.Fatalf("%s: %v", vec.Name, err)
		}
		out, err := Encode(jv)
		if err != nil {
			t.Errorf("%s: Encode: %v", vec.Name, err)
		} else if !bytes.Equal(out, b) {
			t.Errorf("%s: Encode\n got %.200x\nwant %.200x", vec.Name, out, b)
		}
		// The decoded tree encodes to the same bytes too.
		if out, err := Encode(v); err != nil || !bytes.Equal(out, b) {
			t.Errorf("%s: Encode(Decode(b)) = %.100x, %v", vec.Name, out, err)
		}
	}
	if encodes < 40 {
		t.Errorf("only %d encode vectors", encodes)
	}
}

// TestMsgpackVectorsUpToDate regenerates the vectors with the committed
// script and compares them with the committed files.
func TestMsgpackVectorsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	if err := exec.Command(serialtest.SystemPython, "-c", "import msgpack, lz4.frame, snappy, zstandard").Run(); err != nil {
		t.Skipf("%s with msgpack, lz4, snappy and zstandard is not available: %v", serialtest.SystemPython, err)
	}
	dir := t.TempDir()
	cmd := exec.Command(serialtest.SystemPython, serialtest.Script("gen_vectors_msgpack.py"), dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen_vectors_msgpack.py: %v\n%s", err, out)
	}
	for _, name := range []string{"msgpack.jsonl", "compress.jsonl"} {
		want, err := os.ReadFile(serialtest.VectorPath(name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
			for i := range min(len(gl), len(wl)) {
				if gl[i] != wl[i] {
					t.Fatalf("%s is stale (run scripts/gen_vectors_msgpack.py); first difference at line %d:\n got %.200s\nwant %.200s", name, i+1, gl[i], wl[i])
				}
			}
			t.Fatalf("%s is stale: %d lines generated, %d committed", name, len(gl), len(wl))
		}
	}
}

// TestEncodeMsgpackRoundTripPython: what Encode writes, msgpack-python
// reads back equal to json.loads of the input.
func TestEncodeMsgpackRoundTripPython(t *testing.T) {
	if err := exec.Command(serialtest.SystemPython, "-c", "import msgpack").Run(); err != nil {
		t.Skipf("%s with msgpack is not available: %v", serialtest.SystemPython, err)
	}
	inputs := []string{
		`null`, `true`, `false`, `0`, `-1`, `127`, `128`, `-32`, `-33`, `255`, `256`, `65535`, `65536`,
		`4294967295`, `4294967296`, `9223372036854775807`, `9223372036854775808`, `18446744073709551615`,
		`-9223372036854775808`, `-2147483649`, `1.5`, `-0.0`, `1e300`, `0.1`, `""`, `"é"`, `"😀 \u0000"`,
		`"` + strings.Repeat("a", 31) + `"`, `"` + strings.Repeat("b", 32) + `"`, `"` + strings.Repeat("c", 256) + `"`,
		`"` + strings.Repeat("d", 70000) + `"`, `[]`, `{}`, `[1, [2, [3, [4]]]]`, `{"a": {"b": [1, 2, {"c": null}]}}`,
		`{"z": 1, "a": 2, "m": 3}`, `{"a": 1, "a": 2}`, `[` + strings.Repeat(`1,`, 70000) + `1]`,
		`{` + strings.Repeat(`"k": 1, `, 3) + `"last": [true, false, null]}`,
		`[{"type": "http.response.start", "status": 200, "headers": []}, {"type": "http.response.body", "body": "{}"}]`,
		strings.Repeat("[", 200) + strings.Repeat("]", 200),
	}
	var keys strings.Builder
	keys.WriteString("{")
	for i := range 70000 {
		if i > 0 {
			keys.WriteString(",")
		}
		keys.WriteString(`"k` + strconv.Itoa(i) + `":` + strconv.Itoa(i))
	}
	keys.WriteString("}")
	inputs = append(inputs, keys.String())

	var stdin bytes.Buffer
	for _, in := range inputs {
		v, err := pyjson.Parse([]byte(in))
		if err != nil {
			t.Fatalf("ParseJSON(%.50s): %v", in, err)
		}
		out, err := Encode(v)
		if err != nil {
			t.Fatalf("Encode(%.50s): %v", in, err)
		}
		line, _ := json.Marshal([]string{in, hex.EncodeToString(out)})
		stdin.Write(append(line, '\n'))
	}
	script := `
import json, sys, msgpack
for line in sys.stdin:
    text, hx = json.loads(line)
    got = msgpack.unpackb(bytes.fromhex(hx), raw=False, strict_map_key=False)
    want = json.loads(text)
    same = json.dumps(got) == json.dumps(want) and msgpack.packb(want, use_bin_type=True).hex() == hx
    print("ok" if same else "MISMATCH %.80s" % text)
`
	cmd := exec.Command(serialtest.SystemPython, "-c", script)
	cmd.Stdin = &stdin
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(inputs) {
		t.Fatalf("python answered %d lines for %d inputs:\n%s", len(lines), len(inputs), out)
	}
	for _, l := range lines {
		if l != "ok" {
			t.Error(l)
		}
	}
}

func TestEncodeMsgpackErrors(t *testing.T) {
	deep := value.NewInt(1)
	for range value.MaxDepth + 1 {
		deep = value.NewList(deep)
	}
	tests := []struct {
		v    *value.Value
		want string
	}{
		{value.NewBigInt(bigPow2(64)), "cannot encode as msgpack: integer 18446744073709551616 is out of the 64-bit range"},
		{value.NewBigInt(new(big.Int).Sub(big.NewInt(math.MinInt64), big.NewInt(1))), "out of the 64-bit range"},
		{value.NewSet(value.NewInt(1)), "cannot encode set as msgpack"},
		{value.NewFrozenSet(), "cannot encode frozenset as msgpack"},
		{value.NewDate(2024, 1, 2), "cannot encode date as msgpack"},
		{value.NewDateTime(value.DateTime{Year: 2024, Month: 1, Day: 2}), "cannot encode datetime as msgpack"},
		{value.NewDecimal("1.10"), "cannot encode decimal as msgpack"},
		{value.NewUUID([16]byte{}), "cannot encode uuid as msgpack"},
		{value.NewObject("m.C", nil, nil), "cannot encode object as msgpack"},
		{value.NewList(value.NewInt(1), value.NewTruncated(5)), "cannot encode truncated as msgpack"},
		{value.NewList(value.NewCycle()), "cannot encode cycle as msgpack"},
		{dict(value.NewSet(), value.NewInt(1)), "cannot encode set as msgpack"},
		{&value.Value{Kind: value.KindExt, Int: 200}, "ext type 200 is out of the int8 range"},
		{deep, "nesting deeper than 1000 levels"},
	}
	for _, tt := range tests {
		out, err := Encode(tt.v)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Encode(%s) = %x, %v; want error %q", tt.v.Kind, out, err, tt.want)
		}
	}
	// Tuples are arrays; a nil pointer is nil; a big Int in int64 range takes the small form.
	for _, tt := range []struct {
		v    *value.Value
		want string
	}{
		{value.NewTuple(value.NewInt(1), value.NewStr("a")), "9201a161"},
		{nil, "c0"},
		{&value.Value{Kind: value.KindInt, Big: big.NewInt(-1)}, "ff"},
		{value.NewBigInt(new(big.Int).SetUint64(math.MaxUint64)), "cfffffffffffffffff"},
		{value.NewExt(-1, []byte{0, 0, 0, 1}), "d6ff00000001"},
		{value.NewExt(9, make([]byte, 17)), "c71109" + strings.Repeat("00", 17)},
		{value.NewBytes(nil), "c400"},
		{dict(value.NewInt(1), value.NewBytes([]byte{1})), "8101c40101"},
	} {
		out, err := Encode(tt.v)
		if err != nil || hex.EncodeToString(out) != tt.want {
			t.Errorf("Encode = %x, %v; want %s", out, err, tt.want)
		}
	}
}

// TestPlausibleMsgpack: the rule of Plausible over the inputs that
// make detection hard.
func TestPlausibleMsgpack(t *testing.T) {
	litestar := vectorHex(t, "litestar/response 13 bytes")
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"empty", "", false},
		{"ASCII digit", "7", false},
		{"letter a (fixint 97)", "a", false},
		{"space", " ", false},
		{"newline", "\n", false},
		{"tab", "\t", false},
		{"hello (not one object)", "hello", false},
		{"{} (fixint 123 then more)", "{}", false},
		{"[]", "[]", false},
		{"ASCII digits", "12345", false},
		{"Cyrillic Д is int8 -108 but text", "Д", false},
		{"Cyrillic я plus ASCII is int16 but text", "я!", false},
		{"Ā then 128 letters is bin8 but text", "Ā" + strings.Repeat("x", 128), false},
		{"NUL byte: int 0", "\x00", true},
		{"DEL byte: int 127", "\x7f", true},
		{"ESC byte: int 27", "\x1b", true},
		{"nil", "\xc0", true},
		{"true", "\xc3", true},
		{"false", "\xc2", true},
		{"-1", "\xff", true},
		{"empty map (a lone 0x80, not pickle)", "\x80", true},
		{"empty array", "\x90", true},
		{"empty str", "\xa0", true},
		{"fixstr hello", "\xa5hello", true},
		{"str8", "\xd9\x05hello", true},
		{"bin", "\xc4\x03abc", true},
		{"uint8 200", "\xcc\xc8", true},
		{"uint8 128 (also a lone combining mark U+0300)", "\xcc\x80", true},
		{"uint16 (also combining U+0340 then A)", "\xcd\x80A", true},
		{"int8 -128 (also Cyrillic Ѐ)", "\xd0\x80", false},
		{"Greek Ωabc is uint32 but text", "Ωabc", false},
		{"Arabic text that is exactly a str8", "\u064a" + strings.Repeat("\u0628", 69), false},
		{"float64", "\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00", true},
		{"ext", "\xd4\x01\x00", true},
		{"timestamp", "\xd6\xff\x65\x53\xf1\x00", true},
		{"dict", "\x84\xa1a\x01\xa1b\x92\x01\x02\xa1c\xa3str\xa1d\xc4\x02\x01\x02", true},
		{"list", "\x93\x01\x02\x03", true},
		{"Litestar ASGI messages", string(litestar), true},
	}
	for _, tt := range tests {
		b := []byte(tt.in)
		v, err := Decode(b, Limits{})
		got := err == nil && Plausible(b, v)
		if got != tt.want {
			t.Errorf("%s (%x): decodes %v (err %v), plausible %v; want %v", tt.name, b, v, err, got, tt.want)
		}
	}
	// Every single byte: plausible exactly when it is one msgpack object and
	// not a printable ASCII or whitespace character.
	for c := range 256 {
		b := []byte{byte(c)}
		v, err := Decode(b, Limits{})
		one := c <= 0x7f || c == 0x80 || c == 0x90 || c == 0xa0 || c == 0xc0 || c == 0xc2 || c == 0xc3 || c >= 0xe0
		if (err == nil) != one {
			t.Errorf("byte %#02x: Decode err %v", c, err)
		}
		text := (c >= 0x20 && c <= 0x7e) || c == '\t' || c == '\n' || c == '\r'
		if got := err == nil && Plausible(b, v); got != (one && !text) {
			t.Errorf("byte %#02x: plausible %v", c, got)
		}
	}
	if Plausible([]byte{0xc0}, nil) {
		t.Error("Plausible with a nil value")
	}
}

func vectorHex(t testing.TB, name string) []byte {
	for _, vec := range serialtest.ReadJSONL[serialtest.MsgpackVector](t, "msgpack.jsonl") {
		if vec.Name == name {
			return serialtest.Unhex(t, vec.Hex)
		}
	}
	t.Fatalf("no vector %q", name)
	return nil
}

func TestDecodeMsgpackErrors(t *testing.T) {
	tests := []struct {
		hex  string
		want string
	}{
		{"", "not valid msgpack: empty input at offset 0"},
		{"c1", "not valid msgpack: invalid type byte 0xc1 at offset 0"},
		{"0102", "not valid msgpack: 1 trailing byte after the object at offset 1"},
		{"c0c0c0", "not valid msgpack: 2 trailing bytes after the object at offset 1"},
		{"cd00", "not valid msgpack: input ends inside a uint 16 at offset 0"},
		{"9201", "not valid msgpack: array of 2 elements exceeds the 1 remaining bytes at offset 0"},
		{"920102", ""},
		{"93c0c0", "not valid msgpack: array of 3 elements exceeds the 2 remaining bytes at offset 0"},
		{"9101", ""},
		{"910191", "not valid msgpack: 1 trailing byte after the object at offset 2"},
		{"92c0dc", "not valid msgpack: input ends inside an array 16 header at offset 2"},
		{"ddee6b2800", "not valid msgpack: array of 4000000000 elements exceeds the 0 remaining bytes at offset 0"},
		{"dfffffffff01", "not valid msgpack: map of 4294967295 pairs exceeds the 1 remaining bytes at offset 0"},
		{"81a161", "not valid msgpack: unexpected end of input at offset 3"},
		{"82a161", "not valid msgpack: map of 2 pairs exceeds the 2 remaining bytes at offset 0"},
		{"82a16101a162", "not valid msgpack: unexpected end of input at offset 6"},
		{"dbffffffff61", "not valid msgpack: str of 4294967295 bytes exceeds the 1 remaining at offset 0"},
		{"c6ffffffff", "not valid msgpack: bin of 4294967295 bytes exceeds the 0 remaining at offset 0"},
		{"c9ffffffff01", "not valid msgpack: ext of 4294967295 bytes exceeds the 0 remaining at offset 0"},
		{"c9ffffff", "not valid msgpack: input ends inside an ext 32 header at offset 0"},
		{"c70a", "not valid msgpack: input ends inside an ext 8 header at offset 0"},
		{"d4", "not valid msgpack: input ends inside a fixext header at offset 0"},
		{"d601", "not valid msgpack: ext of 4 bytes exceeds the 0 remaining at offset 0"},
		{"ca0000", "not valid msgpack: input ends inside a float 32 at offset 0"},
		{"91d3", "not valid msgpack: input ends inside an int 64 at offset 1"},
	}
	for _, tt := range tests {
		_, err := Decode(serialtest.Unhex(t, tt.hex), Limits{})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("Decode(%s) error\n got %q\nwant %q", tt.hex, got, tt.want)
		}
	}
}

func TestDecodeMsgpackValues(t *testing.T) {
	tests := []struct {
		hex  string
		want *value.Value
	}{
		{"cfffffffffffffffff", value.NewBigInt(new(big.Int).SetUint64(math.MaxUint64))},
		{"cf8000000000000000", value.NewBigInt(new(big.Int).SetUint64(1 << 63))},
		{"cf7fffffffffffffff", value.NewInt(math.MaxInt64)},
		{"d38000000000000000", value.NewInt(math.MinInt64)},
		{"ca3dcccccd", value.NewFloat(float64(float32(0.1)))},
		{"a300fffe", value.NewBytes([]byte{0, 0xff, 0xfe})}, // str that is not UTF-8 (old msgpack bytes)
		{"d6ff00000001", value.NewExt(-1, []byte{0, 0, 0, 1})},
		{"83a16101a16202a16103", dict(str("a"), value.NewInt(3), str("b"), value.NewInt(2))},
		{"8301a1610203c3a162", dict(value.NewInt(1), str("b"), value.NewInt(2), value.NewInt(3))},                                  // True == 1 as a dict key
		{"82cb3ff0000000000000c001c3", dict(value.NewFloat(1), value.NewBool(true))},                                               // 1.0 == 1 as a dict key
		{"82910101910102", dict(value.NewList(value.NewInt(1)), value.NewInt(1), value.NewList(value.NewInt(1)), value.NewInt(2))}, // unhashable keys stay
	}
	for _, tt := range tests {
		v, err := Decode(serialtest.Unhex(t, tt.hex), Limits{})
		if err != nil || !value.Equal(v, tt.want) {
			t.Errorf("Decode(%s) = %v, %v; want %v", tt.hex, v, err, tt.want)
		}
	}
	// A map of 17 pairs with a repeat takes the general path.
	var b []byte
	b = append(b, 0xde, 0, 18)
	for i := range 17 {
		b = append(b, 0xa2, 'k', byte('a'+i), byte(i))
	}
	b = append(b, 0xa2, 'k', 'a', 99)
	v, err := Decode(b, Limits{})
	if err != nil || len(v.Pairs) != 17 || v.Pairs[0].Value.Int != 99 || v.Pairs[16].Key.Str != "kq" {
		t.Errorf("map with a repeated key: %v, %v", v, err)
	}
	// Decoded bytes are copies of the input.
	in := serialtest.Unhex(t, "92c40161a162")
	v, err = Decode(in, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	clear(in)
	if v.Items[0].Bytes[0] != 'a' || v.Items[1].Str != "b" {
		t.Errorf("decoded value changed with its input: %v", v)
	}
}

func TestMsgpackTimestamp(t *testing.T) {
	tests := []struct {
		hex  string
		want string // RFC 3339; "" = not a timestamp
	}{
		{"d6ff6553f100", "2023-11-14T22:13:20Z"},
		{"d7ffa1dcd42067760225", "2025-01-02T03:04:05.678901Z"}, // Litestar StorageObject.expires_at
		{"c70cff00000001fffffff1886e0900", "0001-01-01T00:00:00.000000001Z"},
		{"d7fffffffffc00000000", ""}, // 0x3fffffff nanoseconds: over 1e9
		{"d5ff0000", ""},             // 2 bytes: not a timestamp form
		{"d60100000001", ""},         // type 1
		{"c0", ""},
	}
	for _, tt := range tests {
		v, err := Decode(serialtest.Unhex(t, tt.hex), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		ts, ok := Timestamp(v)
		got := ""
		if ok {
			got = ts.Format(time.RFC3339Nano)
		}
		if got != tt.want {
			t.Errorf("Timestamp(%s) = %q, want %q", tt.hex, got, tt.want)
		}
	}
}

func TestDecodeMsgpackLimits(t *testing.T) {
	// Depth: MaxDepth levels are fine, one more is not; the option lowers it.
	nest := func(n int) []byte { return append(bytes.Repeat([]byte{0x91}, n), 0x01) }
	if _, err := Decode(nest(value.MaxDepth), Limits{}); err != nil {
		t.Errorf("nesting at the limit: %v", err)
	}
	if _, err := Decode(nest(value.MaxDepth+1), Limits{}); err == nil || !strings.Contains(err.Error(), "nesting deeper than 1000 levels at offset 1000") {
		t.Errorf("nesting beyond the limit: %v", err)
	}
	if _, err := Decode(nest(11), Limits{MaxDepth: 10}); err == nil {
		t.Error("MaxDepth 10 accepted 11 levels")
	}
	// Nodes: past the budget, items are left out and counted, but all bytes are still checked.
	b := serialtest.Unhex(t, "94 01 02 93 03 04 05 06")
	v, err := Decode(b, Limits{MaxNodes: 5})
	want := value.NewList(value.NewInt(1), value.NewInt(2), value.NewList(value.NewInt(3), value.NewTruncated(2)), value.NewTruncated(1))
	if err != nil || !value.Equal(v, want) {
		t.Errorf("MaxNodes 5: %v, %v; want %v", v, err, want)
	}
	if got := string(value.ToJSON(v)); got != `[1,2,[3,{"$truncated":2}],{"$truncated":1}]` {
		t.Errorf("truncated JSON %s", got)
	}
	v, err = Decode(serialtest.Unhex(t, "83 a161 01 a162 02 a163 03"), Limits{MaxNodes: 4})
	if err != nil || string(value.ToJSON(v)) != `{"a":1,"$truncated":2}` {
		t.Errorf("truncated map: %s, %v", value.ToJSON(v), err)
	}
	if _, err := Decode(serialtest.Unhex(t, "94 01 02 93 03 04 05 c1"), Limits{MaxNodes: 3}); err == nil {
		t.Error("a bad byte in the left-out part was accepted")
	}
	if _, err := Decode(serialtest.Unhex(t, "92 01 dd ffffffff"), Limits{MaxNodes: 1}); err == nil {
		t.Error("a huge header in the left-out part was accepted")
	}
	if _, err := Decode(append([]byte{0x92, 0x01}, nest(value.MaxDepth)...), Limits{MaxNodes: 2}); err == nil {
		t.Error("too deep nesting in the left-out part was accepted")
	}
}

// TestMsgpackHostile: declared sizes never allocate before they are checked,
// deep nesting stops at the limit, and every truncation is an error. Each case
// must finish within a second.
func TestMsgpackHostile(t *testing.T) {
	cases := []struct {
		name     string
		in       []byte
		maxAlloc uint64
	}{
		{"array32 of 4e9", serialtest.Unhex(t, "ddee6b2800"), 4 << 10},
		{"array32 of 2^32-1 with a byte", serialtest.Unhex(t, "ddffffffff01"), 4 << 10},
		{"map32 of 2^32-1", serialtest.Unhex(t, "dfffffffff01"), 4 << 10},
		{"str32 of 4 GiB", serialtest.Unhex(t, "dbffffffff61"), 4 << 10},
		{"bin32 of 4 GiB", serialtest.Unhex(t, "c6ffffffff00"), 4 << 10},
		{"ext32 of 4 GiB", serialtest.Unhex(t, "c9ffffffff0100"), 4 << 10},
		{"array32 of 1e6 in 1e6 bytes then short", append(serialtest.Unhex(t, "dd000f4240"), make([]byte, 999_999)...), 64 << 20},
		{"100k nested fixarrays", append(bytes.Repeat([]byte{0x91}, 100_000), 0x01), 8 << 20},
		{"100k nested array32", bytes.Repeat(serialtest.Unhex(t, "dd00000001"), 100_000), 8 << 20},
		{"100k nested fixmaps", bytes.Repeat(serialtest.Unhex(t, "8101"), 100_000), 8 << 20},
		{"300k zeros in an array32 then c1", append(append(serialtest.Unhex(t, "dd000493e1"), make([]byte, 300_000)...), 0xc1), 64 << 20},
	}
	for _, tc := range cases {
		var err error
		d, alloc := serialtest.TimeAndAlloc(func() { _, err = Decode(tc.in, Limits{}) })
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
		if d > time.Second || alloc > tc.maxAlloc {
			t.Errorf("%s: %v, %d bytes allocated (limit %d)", tc.name, d, alloc, tc.maxAlloc)
		}
		t.Logf("%s: %v, %d bytes allocated: %v", tc.name, d, alloc, err)
	}
	// Truncated at every offset: an error, never a panic.
	start := time.Now()
	for _, vec := range serialtest.ReadJSONL[serialtest.MsgpackVector](t, "msgpack.jsonl") {
		b := serialtest.Unhex(t, vec.Hex)
		if vec.Error || len(b) > 4096 {
			continue
		}
		for i := range len(b) {
			if v, err := Decode(b[:i], Limits{}); err == nil {
				t.Errorf("%s cut at %d: decoded %v", vec.Name, i, v)
			}
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("truncations took %v", d)
	}
}

// benchMsgpack is a realistic ~10 MB msgpack value: a list of 100k records
// like an API response cache or a bulk cached query, as msgpack.packb writes
// them.
func benchMsgpack(tb testing.TB) []byte {
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"}
	items := make([]*value.Value, 100_000)
	for i := range items {
		w := words[i%len(words)]
		items[i] = dict(
			str("id"), value.NewInt(int64(i)),
			str("name"), str("user-"+strconv.Itoa(i)),
			str("email"), str(w+strconv.Itoa(i)+"@example.com"),
			str("active"), value.NewBool(i%3 != 0),
			str("score"), value.NewFloat(float64(i)*0.37),
			str("tags"), value.NewList(str(w), str(words[(i+3)%len(words)])),
			str("avatar"), value.NewBytes(bytes.Repeat([]byte{byte(i)}, 8)),
		)
	}
	b, err := Encode(value.NewList(items...))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkDecodeMsgpack10MB decodes benchMsgpack. With
// CACHECTL_BENCH_DUMP=FILE it also writes the bytes there, for timing
// Python on the same input:
//
//	/usr/bin/python3 -m timeit -s 'import msgpack; b=open("FILE","rb").read()' 'msgpack.unpackb(b)'
func BenchmarkDecodeMsgpack10MB(b *testing.B) {
	data := benchMsgpack(b)
	if f := os.Getenv("CACHECTL_BENCH_DUMP"); f != "" {
		if err := os.WriteFile(f, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
