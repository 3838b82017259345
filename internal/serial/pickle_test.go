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
	"testing"
)

const pickleVectorsFile = "testdata/vectors/pickle.jsonl"

// systemPython is Debian's Python, which has the stdlib modules the
// generator and the round-trip checks need (a pyenv python3 may not).
const systemPython = "/usr/bin/python3"

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
