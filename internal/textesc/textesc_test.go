package textesc

import (
	"strings"
	"testing"
)

func TestKey(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain ascii stays", "user:1", "user:1"},
		{"unicode stays", "café:ü", "café:ü"},
		{"backslash in plain key stays", `a\b`, `a\b`},
		{"escape byte is quoted", "a\x1b[31mb", `"a\x1b[31mb"`},
		{"newline", "a\nb", `"a\nb"`},
		{"tab", "a\tb", `"a\tb"`},
		{"nul", "a\x00b", `"a\x00b"`},
		{"invalid utf8", "a\xffb", `"a\xffb"`},
		{"backslash inside quoted form doubles", "\x01\\", `"\x01\\"`},
		{"leading quote forces quoting", `"x"`, `"\"x\""`},
		{"empty", "", `""`},
		{"C1 control", "a\u009bb", `"a\u009bb"`},
		{"bidi override", "a\u202eb", `"a\u202eb"`},
		{"line separator", "a\u2028b", `"a\u2028b"`},
		{"paragraph separator", "a\u2029b", `"a\u2029b"`},
		{"DEL", "a\x7fb", `"a\x7fb"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Key(tt.in); got != tt.want {
				t.Fatalf("Key(%q) = %s, want %s", tt.in, got, tt.want)
			}
			back, err := ParseKey(Key(tt.in))
			if Key(tt.in) != tt.in || NeedsQuoting(tt.in) {
				if err != nil || back != tt.in {
					t.Fatalf("ParseKey(Key(%q)) = %q, %v; want the original bytes", tt.in, back, err)
				}
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{`plain`, "plain", ""},
		{`"quoted"`, "quoted", ""},
		{`a\x00b`, "a\x00b", ""},
		{`\u00e9`, "é", ""},
		{`\U0001F600`, "😀", ""},
		{`\n\r\t\\\"\0`, "\n\r\t\\\"\x00", ""},
		{`a\`, "", "lone backslash"},
		{`\x4`, "", "needs 2 hex digits"},
		{`\xzz`, "", "bad \\x escape"},
		{`\q`, "", "unknown escape"},
		{`\ud800`, "", "not a valid code point"},
	}
	for _, tt := range tests {
		got, err := ParseKey(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseKey(%s): want error %q, got %q, %v", tt.in, tt.err, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseKey(%s) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hello\nworld\tx", "hello\nworld\tx"},
		{`C:\path`, `C:\path`},
		{"red\x1b[31m", `red\x1b[31m`},
		{"bell\x07", `bell\x07`},
		{"cr\r\n", "cr\\r\n"},
		{"bad\xff", `bad\xff`},
		{"osc\u009d", `osc\u009d`},
	}
	for _, tt := range tests {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzKeyRoundTrip(f *testing.F) {
	for _, s := range []string{"", "a", "a\x00b", "\"", `\x41`, "\xff\xfe", "é\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := Key(s)
		for i := 0; i < len(k); i++ {
			if c := k[i]; c < 0x20 || c == 0x7f {
				t.Fatalf("Key(%q) = %q holds control byte %#x", s, k, c)
			}
		}
		if k == s {
			return
		}
		back, err := ParseKey(k)
		if err != nil || back != s {
			t.Fatalf("ParseKey(Key(%q)) = %q, %v", s, back, err)
		}
		txt := Text(s)
		for i := 0; i < len(txt); i++ {
			if c := txt[i]; (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
				t.Fatalf("Text(%q) holds control byte %#x", s, c)
			}
		}
	})
}

func TestLine(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "ERR unknown command", "ERR unknown command"},
		{"osc title and colour", "ERR \x1b]0;pwn\x07\x1b[31mred", `ERR \x1b]0;pwn\x07\x1b[31mred`},
		{"forged second line", "oops\nerror: all fine\r\tx", "oops error: all fine  x"},
		{"c1 csi", "a\u009b2J", `a\u009b2J`},
		{"bidi override", "abc\u202edef", `abc\u202edef`},
		{"invalid utf-8", "bad\xff", `bad\xff`},
		{"backslash kept", `C:\x`, `C:\x`},
		{"utf-8 kept", "café ✓", "café ✓"},
	}
	for _, tt := range tests {
		if got := Line(tt.in); got != tt.want {
			t.Errorf("%s: Line(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}
