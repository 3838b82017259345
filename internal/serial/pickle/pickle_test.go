package pickle

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/serial/internal/serialtest"
	"github.com/cachectl/cachectl/internal/serial/pyjson"
	"github.com/cachectl/cachectl/internal/serial/value"
)

// TestPickleVectors decodes every CPython pickle of the corpus and compares
// the JSON mapping with what the generator computed from the Python objects.
func TestPickleVectors(t *testing.T) {
	for _, vec := range serialtest.LoadPickleVectors(t) {
		v, err := Decode(vec.Data, DefaultLimits)
		if err != nil {
			t.Errorf("%s p%d: %v", vec.Name, vec.Protocol, err)
			continue
		}
		got := value.ToJSON(v)
		if err := serialtest.SameJSON(got, vec.JSON); err != nil {
			t.Errorf("%s p%d: %v\n got %.600s\nwant %.600s", vec.Name, vec.Protocol, err, got, vec.JSON)
		}
	}
}

// TestPickleVectorsUpToDate regenerates the vectors with CPython and checks
// that the committed file is what the generator writes.
func TestPickleVectorsUpToDate(t *testing.T) {
	if _, err := os.Stat(serialtest.SystemPython); err != nil {
		t.Skip(serialtest.SystemPython + " not found")
	}
	out := filepath.Join(t.TempDir(), "pickle.jsonl")
	cmd := exec.Command(serialtest.SystemPython, serialtest.Script("gen_vectors_pickle.py"), "-o", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(serialtest.VectorPath("pickle.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if !bytes.Equal(gl[i], wl[i]) {
				t.Fatalf("%s is stale (regenerate with scripts/gen_vectors_pickle.py); line %d differs:\n new %.300s\n old %.300s",
					serialtest.VectorPath("pickle.jsonl"), i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s is stale: %d lines generated, %d committed", serialtest.VectorPath("pickle.jsonl"), len(gl), len(wl))
	}
}

// pickleRoundTripCases are trees Encode must write so that
// pickle.loads gives back the equal object: JSON texts (whose pickles must
// also be byte-identical to pickle.dumps(json.loads(text))) and trees of the
// other kinds with their Python literal.
var pickleRoundTripJSON = []string{
	`null`, `true`, `false`, `0`, `1`, `255`, `256`, `65535`, `65536`, `-1`, `-256`,
	`2147483647`, `2147483648`, `-2147483648`, `-2147483649`, `9223372036854775807`, `-9223372036854775808`,
	`9223372036854775808`, `18446744073709551616`, `-18446744073709551616`, `-340282366920938463463374607431768211456`,
	`1` + strings.Repeat("0", 700), `-` + strings.Repeat("9", 1000),
	`1.5`, `-0.0`, `0.1`, `1e308`, `5e-324`, `NaN`, `Infinity`, `-Infinity`,
	`""`, `"a"`, `"é"`, `"日本語"`, `"😀"`, `"\u0000\n\"\\"`, `"` + strings.Repeat("x", 255) + `"`, `"` + strings.Repeat("y", 256) + `"`,
	`"` + strings.Repeat("z", 70000) + `"`,
	`[]`, `{}`, `[1]`, `[1, 2]`, `{"a": 1}`, `{"a": 1, "b": [true, null]}`,
	`["a", "a", "", "", "ab", "ab", "é", "é", "€", "€"]`,
	`[{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"name": "id", "id": "name"}]`,
	`{"a": {"a": {"a": "a"}}}`,
	`[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]`,
	jsonRange(`[`, `]`, 1000, func(i int) string { return strconv.Itoa(i) }),
	jsonRange(`[`, `]`, 2001, func(i int) string { return strconv.Itoa(i * 1000) }),
	jsonRange(`{`, `}`, 1000, func(i int) string { return `"k` + strconv.Itoa(i) + `": ` + strconv.Itoa(i) }),
	jsonRange(`{`, `}`, 2500, func(i int) string { return `"k` + strconv.Itoa(i) + `": "v` + strconv.Itoa(i) + `"` }),
	jsonRange(`[`, `]`, 5000, func(i int) string { // several frames
		return `{"id": ` + strconv.Itoa(i) + `, "name": "user ` + strconv.Itoa(i) + `", "score": ` + strconv.Itoa(i) + `.5, "tags": ["x", "y"]}`
	}),
}

func jsonRange(open, close string, n int, item func(int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = item(i)
	}
	return open + strings.Join(parts, ", ") + close
}

var pickleRoundTripTrees = []struct {
	v  *value.Value
	py string
}{
	{value.NewBytes([]byte{}), `b''`},
	{value.NewBytes([]byte{0, 0xff, 'a'}), `b'\x00\xffa'`},
	{value.NewBytes([]byte("a")), `b'a'`},
	{value.NewBytes(bytes.Repeat([]byte{7}, 300)), `b'\x07' * 300`},
	{value.NewBytes(bytes.Repeat([]byte{9}, 70000)), `b'\x09' * 70000`},
	{value.NewList(value.NewBytes([]byte("x")), value.NewBytes([]byte("yz")), value.NewBytes(nil)), `[b'x', b'yz', b'']`},
	{value.NewTuple(), `()`},
	{value.NewTuple(value.NewInt(1)), `(1,)`},
	{value.NewTuple(value.NewInt(1), value.NewStr("a"), value.None()), `(1, 'a', None)`},
	{value.NewTuple(value.NewInt(1), value.NewInt(2), value.NewInt(3), value.NewInt(4)), `(1, 2, 3, 4)`},
	{value.NewSet(), `set()`},
	{value.NewSet(value.NewInt(3), value.NewInt(1), value.NewStr("x")), `{1, 3, 'x'}`},
	{value.NewFrozenSet(), `frozenset()`},
	{value.NewFrozenSet(value.NewInt(1), value.NewTuple(value.NewInt(2), value.NewInt(3))), `frozenset({1, (2, 3)})`},
	{value.NewList(value.NewSet(value.NewInt(1)), value.NewSet(value.NewInt(2)), value.NewFrozenSet(value.NewInt(3))), `[{1}, {2}, frozenset({3})]`},
	{dict(value.NewInt(1), value.NewStr("a"), value.None(), value.NewBool(true), value.NewTuple(value.NewInt(1), value.NewBytes([]byte("k"))), value.NewFloat(2.5)),
		`{1: 'a', None: True, (1, b'k'): 2.5}`},
	{value.NewTuple(value.NewList(value.NewInt(1)), value.NewDict()), `([1], {})`},
}

// TestEncodePickleCPython checks Encode against CPython: pickle.loads
// gives the equal object for every tree and protocol, and for JSON input
// the bytes are exactly pickle.dumps(json.loads(text), protocol).
func TestEncodePickleCPython(t *testing.T) {
	if _, err := os.Stat(serialtest.SystemPython); err != nil {
		t.Skip(serialtest.SystemPython + " not found")
	}
	type pyCase struct {
		JSON     string `json:"json,omitempty"`
		Py       string `json:"py,omitempty"`
		Protocol int    `json:"protocol"`
		Hex      string `json:"hex"`
	}
	var cases []pyCase
	for _, text := range pickleRoundTripJSON {
		v, err := pyjson.Parse([]byte(text))
		if err != nil {
			t.Fatalf("%.40s: %v", text, err)
		}
		for proto := 2; proto <= 5; proto++ {
			b, err := Encode(v, proto)
			if err != nil {
				t.Fatalf("Encode(%.40s, %d): %v", text, proto, err)
			}
			cases = append(cases, pyCase{JSON: text, Protocol: proto, Hex: hex.EncodeToString(b)})
		}
	}
	for _, tc := range pickleRoundTripTrees {
		for proto := 2; proto <= 5; proto++ {
			b, err := Encode(tc.v, proto)
			if err != nil {
				t.Fatalf("Encode(%s, %d): %v", tc.py, proto, err)
			}
			cases = append(cases, pyCase{Py: tc.py, Protocol: proto, Hex: hex.EncodeToString(b)})
		}
	}
	input, _ := json.Marshal(cases)
	cmd := exec.Command(serialtest.SystemPython, "-c", pickleCheckScript)
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.Bytes())
	}
	var results []struct {
		Equal   bool   `json:"equal"`
		CPython string `json:"cpython"`
		Got     string `json:"got"`
	}
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(cases) {
		t.Fatalf("python output: %v (%d results for %d cases)", err, len(results), len(cases))
	}
	for i, r := range results {
		c := cases[i]
		what := c.JSON + c.Py
		if !r.Equal {
			t.Errorf("p%d %.60s: pickle.loads gave %s", c.Protocol, what, r.Got)
		}
		if c.JSON != "" && r.CPython != c.Hex {
			t.Errorf("p%d %.60s: bytes differ from CPython's\n ours %.200s\n cpy  %.200s", c.Protocol, what, c.Hex, r.CPython)
		}
		// And our own decoder reads what we wrote.
		b, _ := hex.DecodeString(c.Hex)
		if _, err := Decode(b, DefaultLimits); err != nil {
			t.Errorf("p%d %.60s: Decode: %v", c.Protocol, what, err)
		}
	}
}

const pickleCheckScript = `
import json, math, pickle, sys

def same(a, b):
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b

out = []
for c in json.load(sys.stdin):
    if "json" in c:
        want = json.loads(c["json"])
        ref = pickle.dumps(want, protocol=c["protocol"]).hex()
    else:
        want, ref = eval(c["py"]), ""
    got = pickle.loads(bytes.fromhex(c["hex"]))
    out.append({"equal": same(got, want), "cpython": ref, "got": repr(got)[:300]})
json.dump(out, sys.stdout)
`

// TestDecodePickleText checks the Python-like text of decoded CPython
// pickles, where it says more than the JSON mapping does.
func TestDecodePickleText(t *testing.T) {
	want := map[string]string{
		"enum p4":                  "app.models.Color.RED",
		"defaultdict list p2":      "collections.defaultdict(builtins.list, {'a': [1, 2], 'b': []})",
		"defaultdict int empty p4": "collections.defaultdict(builtins.int, {})",
		"class reference p3":       "app.models.User",
		"namedtuple p4":            "app.models.Pair(1, 'two')",
		"slots dataclass p5":       "app.models.Point{'x': 1, 'y': 2}",
		"dataclass p0":             "app.models.User{'id': 7, 'name': 'ada', 'tags': ['admin', 'ops']}",
		"self-referencing list p1": "[1, <cycle>]",
		"datetime zoneinfo new york ambiguous fold 1 p5": "datetime.datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=zoneinfo.ZoneInfo(key='America/New_York'))",
		"datetime offset +05:30 p2":                      "datetime.datetime(2024, 6, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(seconds=19800)))",
		"set strs p0":                                    "{'date', 'banana', 'cherry', 'apple'}",
		"bytearray p5":                                   `b'xyz\x00\xff'`,
		"ordereddict p4":                                 "collections.OrderedDict({'z': 1, 'a': [2], 'm': None})",
		"counter p3":                                     "collections.Counter({'a': 5, 'b': 2, 'r': 2, 'c': 1, 'd': 1})",
		"uuid small p0":                                  "UUID('00000000-0000-0000-0000-000000000001')",
		"decimal NaN p2":                                 "Decimal('NaN')",
		"timedelta negative p4":                          "datetime.timedelta(days=-3, seconds=18000)",
	}
	seen := 0
	for _, vec := range serialtest.LoadPickleVectors(t) {
		key := vec.Name + " p" + strconv.Itoa(vec.Protocol)
		w, ok := want[key]
		if !ok {
			continue
		}
		seen++
		v, err := Decode(vec.Data, DefaultLimits)
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		if got := v.String(); got != w {
			t.Errorf("%s:\n got %s\nwant %s", key, got, w)
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of the %d vectors", seen, len(want))
	}
}

// TestDecodePickleHandMade covers what CPython 3 never writes but other
// writers (Python 2, hand-made or hostile pickles) do.
func TestDecodePickleHandMade(t *testing.T) {
	tests := []struct {
		name, in, want string // want: ToJSON, or "text:" + String()
	}{
		{"p0 INST instance", "(I1\nI2\nimod\nCls\n.", `{"$class":"mod.Cls","$args":[1,2]}`},
		{"p1 OBJ instance", "(cmod\nCls\nK\x01o.", `{"$class":"mod.Cls","$args":[1]}`},
		{"a reduce of os.system is only data", "cos\nsystem\n(S'echo hi'\ntR.", `{"$class":"os.system","$args":["echo hi"]}`},
		{"py2 STRING with escapes", "S'a\\x41\\n\\'q'\n.", `"aA\n'q"`},
		{"py2 SHORT_BINSTRING non-ASCII is bytes", "U\x02\xc3\xa9.", `{"$bytes":"w6k="}`},
		{"py2 BINSTRING ASCII is str", "T\x03\x00\x00\x00abc.", `"abc"`},
		{"py2 datetime with a str state", "\x80\x02cdatetime\ndatetime\nU\n\x07\xe8\x01\x02\x03\x04\x05\x00\x00\x01\x85R.", `"2024-01-02T03:04:05.000001"`},
		{"py2 name of unicode", "c__builtin__\nunicode\n.", `text:builtins.str`},
		{"py2 names only below protocol 3", "\x80\x03c__builtin__\nunicode\n.", `text:__builtin__.unicode`},
		{"py2 exceptions module", "cexceptions\nValueError\n(S'bad'\ntR.", `{"$class":"builtins.ValueError","$args":["bad"]}`},
		{"LONG text", "L-12345678901234567890L\n.", `-12345678901234567890`},
		{"INT bools and ints", "(I1\nI01\nI00\nI-7\nl.", `[1,true,false,-7]`},
		{"FLOAT text inf", "(Finf\nF-2.5\nl.", `["Infinity",-2.5]`},
		{"UNICODE raw-unicode-escape", "V\\u20ac\\\\u0041x\\U0001f600\n.", `"€\\\\u0041x😀"`},
		{"UNICODE lone surrogate", "V\\ud800x\n.", `"` + "\ufffd" + `x"`},
		{"BINUNICODE surrogate pair", "X\x06\x00\x00\x00\xed\xa0\xbd\xed\xb8\x80.", `"😀"`},
		{"BINUNICODE lone surrogate", "X\x03\x00\x00\x00\xed\xa0\x80.", `"` + "\ufffd" + `"`},
		{"DUP", "K\x012\x86.", `[1,1]`},
		{"POP", "NK\x050.", `null`},
		{"POP of a mark", "K\x01(0.", `1`},
		{"POP_MARK", "N(K\x01K\x021.", `null`},
		{"FRAME is optional", "\x80\x04}\x94(\x8c\x01a\x94K\x01u.", `{"a":1}`},
		{"p0 memo recursion", "(lp0\nI1\nag0\na.", `[1,{"$ref":"cycle"}]`},
		{"EXT1", "\x80\x02\x82\x05.", `{"$class":"copyreg.extension","$args":[5]}`},
		{"BUILD on a date keeps both", "\x80\x04\x8c\x08datetime\x8c\x04date\x93C\x04\x07\xe8\x01\x02\x85R}\x8c\x01aK\x01sb.",
			`{"$class":"datetime.date","$args":["2024-01-02"],"$state":{"a":1}}`},
		{"BUILD state (dict, slots) is merged", "\x80\x02capp\nC\n)\x81}X\x01\x00\x00\x00xK\x01s}X\x01\x00\x00\x00yK\x02s\x86b.",
			`{"$class":"app.C","$args":[],"$state":{"x":1,"y":2}}`},
		{"BUILD twice merges dicts", "\x80\x02capp\nC\n)\x81}X\x01\x00\x00\x00xK\x01sb}X\x01\x00\x00\x00yK\x02sb.",
			`{"$class":"app.C","$args":[],"$state":{"x":1,"y":2}}`},
		{"copyreg.__newobj__ called by REDUCE", "\x80\x02ccopy_reg\n__newobj__\ncapp\nC\nK\x07\x86R.", `{"$class":"app.C","$args":[7]}`},
		{"_reconstructor of a dict subclass", "ccopy_reg\n_reconstructor\n(capp\nD\nc__builtin__\ndict\n(dtR.",
			`{"$class":"app.D","$args":[{}]}`},
		{"OrderedDict from pairs (Python 2)", "\x80\x02ccollections\nOrderedDict\n](](X\x01\x00\x00\x00aK\x01ee\x85R.", `{"a":1}`},
		{"datetime from integer arguments", "\x80\x02cdatetime\ndatetime\n(M\xe8\x07K\x01K\x02K\x03tR.", `"2024-01-02T03:00:00"`},
		{"datetime with an invalid payload stays an object", "\x80\x04\x8c\x08datetime\x8c\x08datetime\x93C\x04\x07\xe8\x0d\x02\x85R.",
			`{"$class":"datetime.datetime","$args":[{"$bytes":"B+gNAg=="}]}`},
		{"pytz static zone", "\x80\x04\x8c\x08datetime\x8c\x08datetime\x93C\n\x07\xe8\x07\x0e\x0a\x1e\x00\x00\x00\x00\x8c\x04pytz\x8c\x02_p\x93\x8c\tEtc/GMT-3\x85R\x86R.",
			`"2024-07-14T10:30:00+03:00[Etc/GMT-3]"`},
		{"zone unknown to the system keeps no offset", "\x80\x04\x8c\x08datetime\x8c\x08datetime\x93C\n\x07\xe8\x07\x0e\x0a\x1e\x00\x00\x00\x00\x8c\x08zoneinfo\x8c\x08ZoneInfo\x93\x8c\x0cMars/Olympus\x85R\x86R.",
			`"2024-07-14T10:30:00[Mars/Olympus]"`},
		{"UUID from its hex", "\x80\x02cuuid\nUUID\nX\x20\x00\x00\x0012345678123456781234567812345678\x85R.", `"12345678-1234-5678-1234-567812345678"`},
		{"UUID with an out-of-range int stays an object", "\x80\x02cuuid\nUUID\n)\x81}X\x03\x00\x00\x00intJ\xff\xff\xff\xffsb.",
			`{"$class":"uuid.UUID","$args":[],"$state":{"int":-1}}`},
		{"calling a call result", "\x80\x02cmod\nf\n)R)R.", `{"$class":"\u003ccall\u003e","$args":[{"$class":"mod.f","$args":[]}]}`},
		{"a dict key may be any value", "}(]K\x01u.", `{"$dict":[[[],1]]}`},
		{"leftover stack items are ignored, as in Python", "K\x01K\x02.", `2`},
		{"deep MARK stack", strings.Repeat("(", 100000) + "N.", `null`},
		{"nesting at the limit", strings.Repeat("(", 1000) + strings.Repeat("l", 1000) + ".", strings.Repeat("[", 1000) + strings.Repeat("]", 1000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Decode([]byte(tt.in), DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			if text, ok := strings.CutPrefix(tt.want, "text:"); ok {
				if got := v.String(); got != text {
					t.Errorf("got %s, want %s", got, text)
				}
				return
			}
			if got := value.ToJSON(v); serialtest.SameJSON(got, []byte(tt.want)) != nil {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDecodePickleErrors(t *testing.T) {
	huge8 := "\xff\xff\xff\xff\xff\xff\xff\x7f"
	tests := []struct{ name, in, want string }{
		{"empty", "", "no STOP"},
		{"no STOP", "\x80\x04N", "no STOP"},
		{"trailing data", "N.x", "not valid pickle: trailing data after STOP (1 byte) at offset 2"},
		{"protocol 6", "\x80\x06N.", "unsupported pickle protocol: 6"},
		{"NEXT_BUFFER", "\x80\x05\x97\x98.", "out-of-band buffers (pickle protocol 5 NEXT_BUFFER) cannot be decoded: the buffers were never stored"},
		{"READONLY_BUFFER", "\x80\x05C\x01x\x98.", "out-of-band buffers"},
		{"PERSID", "P1\n.", "persistent IDs (pickle PERSID) cannot be decoded"},
		{"BINPERSID", "NQ.", "persistent IDs (pickle BINPERSID)"},
		{"memo miss", "h\x05.", "memo value not found at index 5"},
		{"STOP on an empty stack", ".", "STOP: unpickling stack underflow"},
		{"APPEND on an empty stack", "a.", "APPEND: unpickling stack underflow"},
		{"pop below a mark", "N(a.", "APPEND: unpickling stack underflow"},
		{"odd SETITEMS", "}(K\x01u.", "odd number of items for SETITEMS"},
		{"APPENDS on a dict", "}(K\x01e.", "APPENDS on a dict"},
		{"REDUCE args not a tuple", "cmod\nf\nK\x01R.", "REDUCE arguments are a int, not a tuple"},
		{"STACK_GLOBAL of ints", "\x80\x04K\x01K\x02\x93.", "STACK_GLOBAL requires str"},
		{"BUILD on a class", "cmod\nC\n}b.", "BUILD on the class mod.C"},
		{"LONG4 longer than the input", "\x80\x02\x8b\xff\xff\xff\x7f", "not valid pickle: unexpected end of input in LONG4 at offset 2"},
		{"LONG4 negative length", "\x80\x02\x8b\xff\xff\xff\xff", "LONG4 has a negative byte count"},
		{"LONG4 too many digits", "\x8b\x00\x10\x00\x00" + strings.Repeat("\x01", 4096) + ".", "exceeds the limit of 4300 digits"},
		{"LONG too many digits", "L" + strings.Repeat("9", 5000) + "L\n.", "integer with 5000 digits exceeds the limit of 4300"},
		{"BINUNICODE8 longer than the input", "\x80\x04\x8d" + huge8, "unexpected end of input in BINUNICODE8"},
		{"BINBYTES8 longer than the input", "\x80\x04\x8e" + huge8, "unexpected end of input in BINBYTES8"},
		{"BYTEARRAY8 longer than the input", "\x80\x05\x96" + huge8, "unexpected end of input in BYTEARRAY8"},
		{"BINSTRING negative", "T\xff\xff\xff\xff", "BINSTRING has a negative byte count"},
		{"FRAME longer than the input", "\x80\x04\x95" + huge8 + "N.", "FRAME of 9223372036854775807 bytes runs past the end"},
		{"unknown opcode", "\xff", "unknown opcode 0xff"},
		{"memo index over the limit", "Nr\xff\xff\xff\x7f.", "memo index 2147483647 exceeds the limit of 1048576 entries"},
		{"EXT code 0", "\x82\x00.", "EXT specifies code <= 0"},
		{"invalid UTF-8", "X\x02\x00\x00\x00\xff\xfe.", "BINUNICODE: invalid UTF-8"},
		{"STRING unquoted", "Sabc\n.", "the STRING opcode argument must be quoted"},
		{"UNICODE short escape", "V\\u12\n.", "truncated \\uXXXX"},
		{"FLOAT overflow", "F1e400\n.", "FLOAT"},
		{"POP_MARK without a mark", "N1.", "could not find MARK"},
		{"GLOBAL without newline", "cmod", "unexpected end of input in GLOBAL"},
		{"nesting too deep", strings.Repeat("(", 1001) + strings.Repeat("l", 1001) + ".", "nesting deeper than 1000 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Decode([]byte(tt.in), DefaultLimits)
			if err == nil {
				t.Fatalf("no error; decoded %s", v)
			}
			var fe *value.FormatError
			if !errors.As(err, &fe) || fe.Format != "pickle" {
				t.Fatalf("error %v is not a pickle *FormatError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

// TestDecodePickleTruncatedAnywhere cuts every vector at every offset (at
// 64 spread offsets and the last 16 when it is over 1 KiB): each prefix is an
// error, never a panic.
func TestDecodePickleTruncatedAnywhere(t *testing.T) {
	n := 0
	for _, vec := range serialtest.LoadPickleVectors(t) {
		size := len(vec.Data)
		for cut := 0; cut < size; cut++ {
			if size > 1024 && cut < size-16 && cut%(size/64) != 0 {
				continue
			}
			n++
			if v, err := Decode(vec.Data[:cut], DefaultLimits); err == nil {
				t.Fatalf("%s p%d cut at %d of %d decoded to %s", vec.Name, vec.Protocol, cut, size, v)
			}
		}
	}
	t.Logf("%d prefixes", n)
}

// TestDecodePickleGarbage feeds random bytes, bare and behind each protocol
// header: errors or values, never a panic, a hang or invalid JSON.
func TestDecodePickleGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		b := make([]byte, rng.IntN(200))
		for j := range b {
			if rng.IntN(4) == 0 {
				b[j] = byte(0x80 + rng.IntN(0x19)) // the protocol 2+ opcodes
			} else {
				b[j] = byte(rng.IntN(256))
			}
		}
		if i%2 == 0 {
			b = append([]byte{0x80, byte(i % 6)}, b...)
		}
		if v, err := Decode(b, DefaultLimits); err == nil && !json.Valid(value.ToJSON(v)) {
			t.Fatalf("%x: invalid JSON", b)
		}
	}
}

// benchPickle is a realistic ~10 MB cached payload: CPython's protocol 4
// pickle of 100k records (str, int, float, bool, None, a UTC datetime, a
// list), written by the vector generator; without Python, a similar pickle
// of JSON kinds written by Encode.
func benchPickle(b *testing.B) []byte {
	if _, err := os.Stat(serialtest.SystemPython); err == nil {
		path := filepath.Join(b.TempDir(), "bench.pickle")
		cmd := exec.Command(serialtest.SystemPython, serialtest.Script("gen_vectors_pickle.py"), "--bench", path)
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("generator: %v\n%s", err, msg)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	b.Log(serialtest.SystemPython + " not found: benchmarking a pickle of JSON kinds written by Encode")
	text := jsonRange(`[`, `]`, 100_000, func(i int) string {
		return `{"id": ` + strconv.Itoa(i) + `, "name": "user-` + strconv.Itoa(i) + `", "email": "user` + strconv.Itoa(i) +
			`@example.com", "score": ` + strconv.Itoa(i) + `.25, "active": true, "created": "2024-01-01T00:00:00+00:00", "tags": ["t1", "group-3"], "note": null}`
	})
	v, err := pyjson.Parse([]byte(text))
	if err != nil {
		b.Fatal(err)
	}
	data, err := Encode(v, 4)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func BenchmarkDecodePickle10MB(b *testing.B) {
	data := benchPickle(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data, DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEncodePickleGolden pins a few CPython outputs, so the encoder is
// checked where Python is absent too.
func TestEncodePickleGolden(t *testing.T) {
	tests := []struct {
		name  string
		v     *value.Value
		proto int
		want  string // pickle.dumps(obj, proto).hex() from CPython 3.11
	}{
		{"json dict p4", mustJSON(t, `{"a": 1, "b": [true, null, 1.5]}`), 4,
			"8004951e000000000000007d94288c0161944b018c0162945d9428884e473ff800000000000065752e"},
		{"json list p2", mustJSON(t, `["x", "x", -2147483649, 18446744073709551616]`), 2,
			"80025d710028580100000078710168018a05ffffff7fff8a09000000000000000001652e"},
		{"json non-ASCII p5", mustJSON(t, `{"k": "é"}`), 5, "8005950d000000000000007d948c016b948c02c3a994732e"},
		{"empty list p3", value.NewList(), 3, "80035d71002e"},
		{"bytes and sets p2", dict(value.NewInt(1), value.NewBytes([]byte("ab")), value.NewInt(2), value.NewSet(value.NewInt(1), value.NewInt(2)), value.NewInt(3), value.NewFrozenSet(value.NewInt(4))), 2,
			"80027d7100284b01635f636f646563730a656e636f64650a710158020000006162710258060000006c6174696e3171038671045271054b02635f5f6275696c74696e5f5f0a7365740a71065d7107284b014b02658571085271094b03635f5f6275696c74696e5f5f0a66726f7a656e7365740a710a5d710b4b046185710c52710d752e"},
		{"bytes and sets p4", dict(value.NewInt(1), value.NewBytes([]byte("ab")), value.NewInt(2), value.NewSet(value.NewInt(1), value.NewInt(2)), value.NewInt(3), value.NewFrozenSet(value.NewInt(4))), 4,
			"8004951d000000000000007d94284b0143026162944b028f94284b014b02904b03284b049194752e"},
	}
	for _, tt := range tests {
		got, err := Encode(tt.v, tt.proto)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if hex.EncodeToString(got) != tt.want {
			t.Errorf("%s:\n got %x\nwant %s", tt.name, got, tt.want)
		}
	}
}

func mustJSON(t *testing.T, text string) *value.Value {
	t.Helper()
	v, err := pyjson.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestEncodePickleRefuses(t *testing.T) {
	tests := []struct {
		name  string
		v     *value.Value
		proto int
		want  string
	}{
		{"protocol 1", value.None(), 1, "cannot pickle with protocol 1 (valid: 2-5)"},
		{"protocol 6", value.None(), 6, "cannot pickle with protocol 6"},
		{"cycle marker", value.NewList(value.NewCycle()), 4, "cannot pickle cycle"},
		{"list in a set", value.NewSet(value.NewList()), 4, "cannot pickle a list as a set item (unhashable in Python)"},
		{"dict key in a tuple", dict(value.NewTuple(value.NewInt(1), value.NewDict()), value.None()), 3, "cannot pickle a dict as a dict key"},
	}
	for _, tt := range tests {
		if _, err := Encode(tt.v, tt.proto); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}
