package serial

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const pickleVectorsFile = "testdata/vectors/pickle.jsonl"

type pickleVector struct {
	Name     string          `json:"name"`
	Protocol int             `json:"protocol"`
	Hex      string          `json:"hex"`
	JSON     json.RawMessage `json:"json"`
	data     []byte
}

func loadPickleVectors(t testing.TB) []pickleVector {
	t.Helper()
	f, err := os.Open(pickleVectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []pickleVector
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var v pickleVector
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", pickleVectorsFile, err)
		}
		if v.data, err = hex.DecodeString(v.Hex); err != nil {
			t.Fatalf("%s %s: %v", pickleVectorsFile, v.Name, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no pickle vectors")
	}
	return out
}

// TestPickleVectors decodes every CPython pickle of the corpus and compares
// the JSON mapping with what the generator computed from the Python objects.
func TestPickleVectors(t *testing.T) {
	for _, vec := range loadPickleVectors(t) {
		v, err := DecodePickle(vec.data, DefaultLimits)
		if err != nil {
			t.Errorf("%s p%d: %v", vec.Name, vec.Protocol, err)
			continue
		}
		got := ToJSON(v)
		if err := sameJSON(got, vec.JSON); err != nil {
			t.Errorf("%s p%d: %v\n got %.600s\nwant %.600s", vec.Name, vec.Protocol, err, got, vec.JSON)
		}
	}
}

// TestPickleVectorsUpToDate regenerates the vectors with CPython and checks
// that the committed file is what the generator writes.
func TestPickleVectorsUpToDate(t *testing.T) {
	if _, err := os.Stat(systemPython); err != nil {
		t.Skip(systemPython + " not found")
	}
	out := filepath.Join(t.TempDir(), "pickle.jsonl")
	cmd := exec.Command(systemPython, "../../scripts/gen_vectors_pickle.py", "-o", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(pickleVectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if !bytes.Equal(gl[i], wl[i]) {
				t.Fatalf("%s is stale (regenerate with scripts/gen_vectors_pickle.py); line %d differs:\n new %.300s\n old %.300s",
					pickleVectorsFile, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s is stale: %d lines generated, %d committed", pickleVectorsFile, len(gl), len(wl))
	}
}

// sameJSON compares two JSON texts token by token: object members in order,
// strings after unescaping, integers exactly, other numbers as float64 values
// (so 1e+16 and 1e16 agree, and -0.0 differs from 0.0).
func sameJSON(a, b []byte) error {
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	for i := 0; ; i++ {
		ta, ea := da.Token()
		tb, eb := db.Token()
		if ea == io.EOF && eb == io.EOF {
			return nil
		}
		if ea != nil || eb != nil {
			return errors.New("token " + strconv.Itoa(i) + ": " + errString(ea) + " / " + errString(eb))
		}
		if !sameToken(ta, tb) {
			return errors.New("token " + strconv.Itoa(i) + " differs: " + tokenString(ta) + " vs " + tokenString(tb))
		}
	}
}

func sameToken(a, b json.Token) bool {
	na, aok := a.(json.Number)
	nb, bok := b.(json.Number)
	if !aok || !bok {
		return a == b
	}
	if na == nb {
		return true
	}
	ia, aInt := new(big.Int).SetString(string(na), 10)
	ib, bInt := new(big.Int).SetString(string(nb), 10)
	if aInt && bInt {
		return ia.Cmp(ib) == 0
	}
	fa, err1 := strconv.ParseFloat(string(na), 64)
	fb, err2 := strconv.ParseFloat(string(nb), 64)
	return err1 == nil && err2 == nil && math.Float64bits(fa) == math.Float64bits(fb)
}

func tokenString(t json.Token) string {
	b, _ := json.Marshal(t)
	if d, ok := t.(json.Delim); ok {
		return d.String()
	}
	return string(b)
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// pickleRoundTripCases are trees EncodePickle must write so that
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
	jsonRange(`[`, `]`, 30000, func(i int) string {
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
	v  *Value
	py string
}{
	{NewBytes([]byte{}), `b''`},
	{NewBytes([]byte{0, 0xff, 'a'}), `b'\x00\xffa'`},
	{NewBytes([]byte("a")), `b'a'`},
	{NewBytes(bytes.Repeat([]byte{7}, 300)), `b'\x07' * 300`},
	{NewBytes(bytes.Repeat([]byte{9}, 70000)), `b'\x09' * 70000`},
	{NewList(NewBytes([]byte("x")), NewBytes([]byte("yz")), NewBytes(nil)), `[b'x', b'yz', b'']`},
	{NewTuple(), `()`},
	{NewTuple(NewInt(1)), `(1,)`},
	{NewTuple(NewInt(1), NewStr("a"), None()), `(1, 'a', None)`},
	{NewTuple(NewInt(1), NewInt(2), NewInt(3), NewInt(4)), `(1, 2, 3, 4)`},
	{NewSet(), `set()`},
	{NewSet(NewInt(3), NewInt(1), NewStr("x")), `{1, 3, 'x'}`},
	{NewFrozenSet(), `frozenset()`},
	{NewFrozenSet(NewInt(1), NewTuple(NewInt(2), NewInt(3))), `frozenset({1, (2, 3)})`},
	{NewList(NewSet(NewInt(1)), NewSet(NewInt(2)), NewFrozenSet(NewInt(3))), `[{1}, {2}, frozenset({3})]`},
	{dict(NewInt(1), NewStr("a"), None(), NewBool(true), NewTuple(NewInt(1), NewBytes([]byte("k"))), NewFloat(2.5)),
		`{1: 'a', None: True, (1, b'k'): 2.5}`},
	{NewTuple(NewList(NewInt(1)), NewDict()), `([1], {})`},
}

// TestEncodePickleCPython checks EncodePickle against CPython: pickle.loads
// gives the equal object for every tree and protocol, and for JSON input
// the bytes are exactly pickle.dumps(json.loads(text), protocol).
func TestEncodePickleCPython(t *testing.T) {
	if _, err := os.Stat(systemPython); err != nil {
		t.Skip(systemPython + " not found")
	}
	type pyCase struct {
		JSON     string `json:"json,omitempty"`
		Py       string `json:"py,omitempty"`
		Protocol int    `json:"protocol"`
		Hex      string `json:"hex"`
	}
	var cases []pyCase
	for _, text := range pickleRoundTripJSON {
		v, err := ParseJSON([]byte(text))
		if err != nil {
			t.Fatalf("%.40s: %v", text, err)
		}
		for proto := 2; proto <= 5; proto++ {
			b, err := EncodePickle(v, proto)
			if err != nil {
				t.Fatalf("EncodePickle(%.40s, %d): %v", text, proto, err)
			}
			cases = append(cases, pyCase{JSON: text, Protocol: proto, Hex: hex.EncodeToString(b)})
		}
	}
	for _, tc := range pickleRoundTripTrees {
		for proto := 2; proto <= 5; proto++ {
			b, err := EncodePickle(tc.v, proto)
			if err != nil {
				t.Fatalf("EncodePickle(%s, %d): %v", tc.py, proto, err)
			}
			cases = append(cases, pyCase{Py: tc.py, Protocol: proto, Hex: hex.EncodeToString(b)})
		}
	}
	input, _ := json.Marshal(cases)
	cmd := exec.Command(systemPython, "-c", pickleCheckScript)
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
		if _, err := DecodePickle(b, DefaultLimits); err != nil {
			t.Errorf("p%d %.60s: DecodePickle: %v", c.Protocol, what, err)
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
		"defaultdict int empty p4": "collections.defaultdict(builtins.int)",
		"class reference p3":       "app.models.User",
		"namedtuple p4":            "app.models.Pair(1, 'two')",
		"slots dataclass p5":       "app.models.Point{'x': 1, 'y': 2}",
		"dataclass p0":             "app.models.User{'id': 7, 'name': 'ada', 'tags': ['admin', 'ops']}",
		"self-referencing list p1": "[1, <cycle>]",
		"datetime zoneinfo new york ambiguous fold 1 p5": "datetime.datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=zoneinfo.ZoneInfo(key='America/New_York'))",
		"datetime offset +05:30 p2":                      "datetime.datetime(2024, 6, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(seconds=19800)))",
		"set strs p0":                                    "{'date', 'banana', 'cherry', 'apple'}",
		"bytearray p5":                                   `b'xyz\x00\xff'`,
		"ordereddict p4":                                 "{'z': 1, 'a': [2], 'm': None}",
		"uuid small p0":                                  "UUID('00000000-0000-0000-0000-000000000001')",
		"decimal NaN p2":                                 "Decimal('NaN')",
		"timedelta negative p4":                          "datetime.timedelta(days=-3, seconds=18000)",
	}
	seen := 0
	for _, vec := range loadPickleVectors(t) {
		key := vec.Name + " p" + strconv.Itoa(vec.Protocol)
		w, ok := want[key]
		if !ok {
			continue
		}
		seen++
		v, err := DecodePickle(vec.data, DefaultLimits)
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
