package redis

import (
	"bufio"
	"slices"
	"strings"
	"testing"
)

func TestParseMonitorLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		cut  bool
		ok   bool
		db   int
		args []string
	}{
		{"get", `1700000000.123456 [0 127.0.0.1:50000] "get" "k"`, false, true, 0, []string{"get", "k"}},
		{"db 3 select", `1700000000.1 [3 127.0.0.1:1] "SELECT" "3"`, false, true, 3, []string{"SELECT", "3"}},
		{"lua client", `1700000000.1 [0 lua] "get" "ek"`, false, true, 0, []string{"get", "ek"}},
		{"unix client", `1700000000.1 [0 unix:/tmp/r.sock] "del" "a" "b"`, false, true, 0, []string{"del", "a", "b"}},
		{"ipv6 client", `1700000000.1 [0 [::1]:6379] "get" "k"`, false, true, 0, []string{"get", "k"}},
		{"escapes", `1.0 [0 c] "set" "a\"b\\x" "v\x01\n\r\t\a\b"`, false, true, 0, []string{"set", "a\"b\\x", "v\x01\n\r\t\a\b"}},
		{"high bytes", `1.0 [0 c] "get" "\xff\xfe"`, false, true, 0, []string{"get", "\xff\xfe"}},
		{"a key with '] \"' in it", `1.0 [0 c] "get" "x] \"y"`, false, true, 0, []string{"get", `x] "y`}},
		{"empty argument", `1.0 [0 c] "set" "" "v"`, false, true, 0, []string{"set", "", "v"}},
		{"bad hex escape kept", `1.0 [0 c] "get" "\xzz"`, false, true, 0, []string{"get", "xzz"}},
		{"cut inside the value", `1.0 [0 c] "set" "k" "vvvvv`, true, true, 0, []string{"set", "k"}},
		{"cut inside an escape", `1.0 [0 c] "set" "k" "v\x0`, true, true, 0, []string{"set", "k"}},
		{"unterminated, not cut", `1.0 [0 c] "get" "k`, false, false, 0, nil},
		{"OK reply", `OK`, false, false, 0, nil},
		{"no args", `1.0 [0 c]`, false, false, 0, nil},
		{"no db", `1.0 [x c] "get" "k"`, false, false, 0, nil},
		{"junk between args", `1.0 [0 c] "get"x"k"`, false, false, 0, nil},
		{"bad time", `1a0 [0 c] "get" "k"`, false, false, 0, nil},
		{"huge db number", `1.0 [99999999999 c] "get" "k"`, false, false, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := parseMonitorLine([]byte(tt.line), tt.cut)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, tt.ok, m)
			}
			if !ok {
				return
			}
			if m.DB != tt.db || !slices.Equal(m.Args, tt.args) {
				t.Fatalf("got db %d args %q, want db %d args %q", m.DB, m.Args, tt.db, tt.args)
			}
		})
	}
}

func TestKeySpecKeys(t *testing.T) {
	tests := []struct {
		cmd  string
		args []string
		want []string
	}{
		{"get", []string{"GET", "k"}, []string{"k"}},
		{"set", []string{"set", "k", "v", "EX", "10"}, []string{"k"}},
		{"mget", []string{"mget", "a", "b", "c"}, []string{"a", "b", "c"}},
		{"mset", []string{"mset", "a", "1", "b", "2"}, []string{"a", "b"}},
		{"blpop", []string{"blpop", "a", "b", "0"}, []string{"a", "b"}},
		{"rename", []string{"rename", "a", "b"}, []string{"a", "b"}},
		{"get without its key", []string{"get"}, nil},
		{"mset missing a value", []string{"mset", "a", "1", "b"}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		name := strings.Fields(tt.cmd)[0]
		spec, ok := knownKeySpecs[name]
		if !ok {
			t.Fatalf("%s: no key spec", name)
		}
		if got := spec.keys(nil, tt.args); !slices.Equal(got, tt.want) {
			t.Errorf("%s %q: keys %q, want %q", tt.cmd, tt.args, got, tt.want)
		}
	}
	if got := (keySpec{}).keys(nil, []string{"ping"}); got != nil {
		t.Errorf("a command without keys gave %q", got)
	}
	if got := (keySpec{First: 1, Last: 1, Step: 0}).keys(nil, []string{"x", "y"}); got != nil {
		t.Errorf("a zero step gave %q", got)
	}
}

func TestReadMonitorCutsLongLines(t *testing.T) {
	long := `1.0 [0 c] "set" "big" "` + strings.Repeat("v", 3*monitorLineMax) + `"`
	stream := "+" + long + "\r\n" + "-ERR junk\r\n" + "+1.0 [0 c] \"get\" \"small\"\r\n"
	rd := bufio.NewReaderSize(strings.NewReader(stream), monitorLineMax)
	var got [][]string
	var cuts []bool
	err := readMonitor(rd, func(line []byte, cut bool) {
		m, ok := parseMonitorLine(line, cut)
		if !ok {
			t.Errorf("line not parsed (cut %v): %.60q", cut, line)
			return
		}
		got = append(got, m.Args)
		cuts = append(cuts, cut)
	})
	if err == nil || err.Error() != "EOF" {
		t.Fatalf("readMonitor ended with %v, want EOF", err)
	}
	if len(got) != 2 || !slices.Equal(got[0], []string{"set", "big"}) || !slices.Equal(got[1], []string{"get", "small"}) {
		t.Fatalf("got %q", got)
	}
	if !cuts[0] || cuts[1] {
		t.Fatalf("cuts %v, want [true false]", cuts)
	}
}

// FuzzParseMonitorLine: whatever a server sends, the parser neither panics
// nor returns a line without a command, and a line it accepts whole reads
// the same once its arguments are quoted again.
func FuzzParseMonitorLine(f *testing.F) {
	for _, s := range []string{
		`1700000000.123456 [0 127.0.0.1:50000] "get" "k"`,
		`1.0 [0 c] "set" "a\"b\\x" "v\x01\n"`,
		`1.0 [0 lua] "mget" "a" "b"`,
		`1.0 [12 unix:/x] "set" "k" "v\x`,
		`OK`, ``, `"`, `1.0 [0 c] "`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, line []byte, cut bool) {
		m, ok := parseMonitorLine(line, cut)
		if !ok {
			return
		}
		if len(m.Args) == 0 || m.DB < 0 {
			t.Fatalf("accepted %q as db %d args %q", line, m.DB, m.Args)
		}
		if cut {
			return
		}
		// Quoting the arguments back and parsing again gives them again.
		var sb strings.Builder
		sb.WriteString("1.0 [0 c]")
		for _, a := range m.Args {
			sb.WriteString(" ")
			sb.WriteString(reprQuote(a))
		}
		again, ok := parseMonitorLine([]byte(sb.String()), false)
		if !ok || !slices.Equal(again.Args, m.Args) {
			t.Fatalf("%q: args %q quoted as %q read back as %q (ok %v)", line, m.Args, sb.String(), again.Args, ok)
		}
		for _, spec := range knownKeySpecs {
			_ = spec.keys(nil, m.Args)
		}
	})
}

// reprQuote quotes s as Redis' sdscatrepr does.
func reprQuote(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		case '\a':
			sb.WriteString(`\a`)
		case '\b':
			sb.WriteString(`\b`)
		default:
			if c < 0x20 || c > 0x7e {
				sb.WriteString(`\x` + strings.ToLower(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
			} else {
				sb.WriteByte(c)
			}
		}
	}
	sb.WriteByte('"')
	return sb.String()
}
