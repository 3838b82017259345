package pickle_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/serial"
	"github.com/cachectl/cachectl/internal/serial/internal/serialtest"
	"github.com/cachectl/cachectl/internal/serial/pickle"
	"github.com/cachectl/cachectl/internal/serial/value"
)

// These tests decode and then render (serial.RenderText), so they sit in the
// external test package: serial imports pickle.

func le32(n int) string {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(n))
	return string(b[:])
}

// doublingDAG is l0 = [0]; l(i+1) = [l(i), l(i)]: 2**levels leaves when expanded.
func doublingDAG(levels int) []byte {
	var b strings.Builder
	b.WriteString("\x80\x04]\x94K\x00a")
	for i := 1; i <= levels; i++ {
		b.WriteString("](j" + le32(i-1) + "j" + le32(i-1) + "e\x94")
	}
	b.WriteString(".")
	return []byte(b.String())
}

// TestDecodePickleHostile: hostile pickles end quickly, with bounded memory,
// as an error or a marked tree.
func TestDecodePickleHostile(t *testing.T) {
	big := func(n int, s string) string { return strings.Repeat(s, n) }
	tests := []struct {
		name     string
		in       []byte
		lim      pickle.Limits
		wantErr  string                   // "" for a successful decode
		check    func(*value.Value) error // for a successful decode
		maxAlloc uint64
	}{
		{name: "list containing itself a million times",
			in: []byte("\x80\x04]\x94(" + big(1_000_000, "h\x00") + "e."),
			check: func(v *value.Value) error {
				if len(v.Items) != 1_000_000 || v.Items[0].Kind != value.KindCycle || v.Items[999_999].Kind != value.KindCycle {
					return errors.New("not a list of a million cycle markers")
				}
				return nil
			},
			maxAlloc: 96 << 20},
		{name: "100k nested lists (MARK/LIST)", in: []byte(big(100_000, "(") + big(100_000, "l") + "."),
			wantErr: "nesting deeper than 1000 levels", maxAlloc: 64 << 20},
		{name: "100k nested lists (EMPTY_LIST/APPEND)", in: []byte("\x80\x02" + big(100_000, "]") + big(99_999, "a") + "."),
			wantErr: "nesting deeper than 1000 levels", maxAlloc: 64 << 20},
		{name: "doubling DAG of 60 levels", in: doublingDAG(60), check: hasTruncation, maxAlloc: 64 << 20},
		{name: "100k references to a 1000-item list",
			in:    []byte("\x80\x04](" + big(1000, "K\x01") + "e\x94](" + big(100_000, "h\x00") + "e."),
			check: hasTruncation, maxAlloc: 64 << 20},
		{name: "memo bomb of MEMOIZE", in: []byte("\x80\x04N" + big(2_000_000, "\x94") + "."),
			wantErr: "memo index 1048576 exceeds the limit", maxAlloc: 64 << 20},
		{name: "LONG_BINPUT at the memo limit", in: []byte("Nr" + le32(1<<20-1) + "."), check: isNone, maxAlloc: 32 << 20},
		{name: "EMPTY_LIST bomb", in: []byte("\x80\x04" + big(2_000_000, "]") + "."), lim: pickle.Limits{MaxBytes: 32 << 20},
			wantErr: "decoding needs more than 32.0 MiB (limit)", maxAlloc: 96 << 20},
		{name: "EMPTY_LIST bomb, default limits", in: []byte("\x80\x04" + big(3_000_000, "]") + "."),
			wantErr: "decoding needs more than 256.0 MiB (limit)", maxAlloc: 512 << 20},
		// The stack grows by append: 40 MiB at the end, about 5 times that allocated on the way.
		{name: "DUP bomb", in: []byte("N" + big(5_000_000, "2") + "."), check: isNone, maxAlloc: 256 << 20},
		{name: "LONG4 with a huge length", in: []byte("\x80\x02\x8b\xff\xff\xff\x7f" + big(100, "x")), wantErr: "unexpected end of input in LONG4", maxAlloc: 1 << 20},
		{name: "BINUNICODE8 with a huge length", in: []byte("\x80\x04\x8d\x00\x00\x00\x00\x00\x00\x00\x40xx"), wantErr: "unexpected end of input in BINUNICODE8", maxAlloc: 1 << 20},
		{name: "BINBYTES8 with a huge length", in: []byte("\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\xffxx"), wantErr: "unexpected end of input in BINBYTES8", maxAlloc: 1 << 20},
		{name: "LONG4 of 1 MB", in: []byte("\x80\x02\x8b" + le32(1<<20) + big(1<<20, "\x01") + "."), wantErr: "digits", maxAlloc: 8 << 20},
		{name: "LONG of a million digits", in: []byte("L" + big(1_000_000, "7") + "L\n."), wantErr: "digits", maxAlloc: 8 << 20},
		{name: "MaxItems cuts containers", in: []byte("\x80\x04](" + big(5000, "K\x01") + "e."), lim: pickle.Limits{MaxItems: 10},
			check: func(v *value.Value) error {
				if len(v.Items) != 11 || v.Items[10].Kind != value.KindTruncated || v.Items[10].Int != 4990 {
					return errors.New("not cut after 10 items: " + v.String())
				}
				return nil
			},
			maxAlloc: 4 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := tt.lim
			var v *value.Value
			var err error
			elapsed, alloc := serialtest.TimeAndAlloc(func() { v, err = pickle.Decode(tt.in, lim) })
			for try := 0; try < 2 && elapsed > time.Second && !serialtest.RaceEnabled; try++ { // a busy machine: best of three
				again, _ := serialtest.TimeAndAlloc(func() { v, err = pickle.Decode(tt.in, lim) })
				elapsed = min(elapsed, again)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if err := tt.check(v); err != nil {
					t.Fatal(err)
				}
				js := value.ToJSON(v)
				if !json.Valid(js) {
					t.Fatalf("ToJSON is not valid JSON: %.200s", js)
				}
				var out bytes.Buffer
				if _, err := serial.RenderText(&out, serial.Decoded{Format: "pickle", Value: v}, serial.TextOptions{MaxItems: 100, MaxBytes: 100}); err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("%v, %.1f MiB allocated for %d input bytes", elapsed.Round(time.Millisecond), float64(alloc)/(1<<20), len(tt.in))
			if !serialtest.RaceEnabled && elapsed > time.Second {
				t.Errorf("took %v, want well under a second", elapsed)
			}
			if alloc > tt.maxAlloc {
				t.Errorf("allocated %.1f MiB, want at most %.1f MiB", float64(alloc)/(1<<20), float64(tt.maxAlloc)/(1<<20))
			}
		})
	}
}

func hasTruncation(v *value.Value) error {
	if !bytes.Contains(value.ToJSON(v), []byte(`"$truncated"`)) {
		return errors.New("no truncated marker in the expanded tree")
	}
	return nil
}

func isNone(v *value.Value) error {
	if v.Kind != value.KindNone {
		return errors.New("got " + v.String() + ", want None")
	}
	return nil
}
