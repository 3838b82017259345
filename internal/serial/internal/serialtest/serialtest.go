// Package serialtest holds what the tests of serial and its format packages
// share: the golden vectors (internal/serial/testdata/vectors, written by
// scripts/gen-vectors.py), the generator scripts, the system Python, and
// small tree builders.
package serialtest

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
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/role"
	"github.com/cachectl/cachectl/internal/serial/value"
)

// Root is the repository root: the nearest directory above the working
// directory (a test's package directory) that holds go.mod.
func Root() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// VectorPath is the path of a golden vector file.
func VectorPath(name string) string {
	return filepath.Join(Root(), "internal", "serial", "testdata", "vectors", name)
}

// Script is the path of a script in scripts/ (the vector generators).
func Script(name string) string { return filepath.Join(Root(), "scripts", name) }

// MsgpackVector is a line of msgpack.jsonl.
type MsgpackVector struct {
	Name   string `json:"name"`
	Hex    string `json:"hex"`
	JSON   string `json:"json"`
	Encode bool   `json:"encode"`
	Error  bool   `json:"error"`
}

// ReadJSONL decodes every line of a vectors file into a T.
func ReadJSONL[T any](t testing.TB, name string) []T {
	t.Helper()
	f, err := os.Open(VectorPath(name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Unhex decodes hex written with or without spaces.
func Unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TimeAndAlloc runs f three times and reports the least time it took and the
// fewest bytes it allocated. The process-wide counters also see whatever
// else runs meanwhile (a finished test's exec goroutines, the runtime), which
// only ever adds: the minimum is f's own cost, and a real excess shows in
// every run.
func TimeAndAlloc(f func()) (time.Duration, uint64) {
	var best time.Duration
	var least uint64
	for i := range 3 {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		start := time.Now()
		f()
		d := time.Since(start)
		runtime.ReadMemStats(&m1)
		if a := m1.TotalAlloc - m0.TotalAlloc; i == 0 || a < least {
			least = a
		}
		if i == 0 || d < best {
			best = d
		}
	}
	return best, least
}

// CompressVector is a line of compress.jsonl.
type CompressVector struct {
	Name     string `json:"name"`
	Codec    string `json:"codec"`
	Hex      string `json:"hex"`
	InnerHex string `json:"inner_hex"`
	Auto     *bool  `json:"auto"`
}

// PickleVector is a line of pickle.jsonl.
type PickleVector struct {
	Name     string          `json:"name"`
	Protocol int             `json:"protocol"`
	Hex      string          `json:"hex"`
	JSON     json.RawMessage `json:"json"`
	Data     []byte          `json:"-"` // Hex decoded
}

// LoadPickleVectors reads pickle.jsonl.
func LoadPickleVectors(t testing.TB) []PickleVector {
	t.Helper()
	out := ReadJSONL[PickleVector](t, "pickle.jsonl")
	for i := range out {
		var err error
		if out[i].Data, err = hex.DecodeString(out[i].Hex); err != nil {
			t.Fatalf("pickle.jsonl %s: %v", out[i].Name, err)
		}
	}
	if len(out) == 0 {
		t.Fatal("no pickle vectors")
	}
	return out
}

// SameJSON compares two JSON texts token by token: object members in order,
// strings after unescaping, integers exactly, other numbers as float64 values
// (so 1e+16 and 1e16 agree, and -0.0 differs from 0.0).
func SameJSON(a, b []byte) error {
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

// BigPow2 is 2**n.
func BigPow2(n uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), n) }

// Str is a str node.
func Str(s string) *value.Value { return value.NewStr(s) }

// Dict is a dict of the keys and values that alternate in kv.
func Dict(kv ...*value.Value) *value.Value {
	d := &value.Value{Kind: value.KindDict, Pairs: []value.Pair{}}
	for i := 0; i < len(kv); i += 2 {
		d.Pairs = append(d.Pairs, value.Pair{Key: kv[i], Value: kv[i+1]})
	}
	return d
}

// Strs are str nodes.
func Strs(ss ...string) []*value.Value {
	out := make([]*value.Value, len(ss))
	for i, s := range ss {
		out[i] = value.NewStr(s)
	}
	return out
}

// KV is a dict entry with a str key.
func KV(k string, v *value.Value) value.Pair { return value.Pair{Key: value.NewStr(k), Value: v} }

// TestUUID is the UUID 12345678-1234-5678-1234-567812345678.
var TestUUID = [16]byte{0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78}

// SGRStyle styles roles with ANSI SGR parameters ("36", "1;34"); a role
// without one stays plain.
func SGRStyle(codes map[role.Role]string) role.Styler {
	return func(r role.Role, s string) string {
		if c := codes[r]; c != "" {
			return "\x1b[" + c + "m" + s + "\x1b[0m"
		}
		return s
	}
}

// ANSIStyle is the basic-colour palette the commands and the dashboard style
// values with.
func ANSIStyle() role.Styler {
	return SGRStyle(map[role.Role]string{
		role.Key: "36", role.String: "32", role.Number: "33", role.Literal: "35", role.Type: "1", role.Marker: "2",
	})
}
