// Package textesc makes keys and values safe to print on a terminal and parses
// the escaped key form back. Control bytes never reach the terminal raw: a key
// holding ESC could otherwise recolour, retitle or rewrite the operator's screen.
package textesc

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Key returns s unchanged when every byte of it is printable UTF-8 and it does
// not start with a double quote; otherwise it returns a double-quoted form with
// backslash escapes, which ParseKey reads back to the same bytes. So a line of
// `cachectl keys` output starts with `"` exactly when it is in quoted form.
func Key(s string) string {
	if s != "" && s[0] != '"' && isPlain(s) {
		return s
	}
	return Quote(s)
}

// NeedsQuoting reports whether Key(s) would quote s.
func NeedsQuoting(s string) bool { return s == "" || s[0] == '"' || !isPlain(s) }

// Text returns s with every byte that could drive a terminal escaped, keeping
// newlines and tabs so multi-line text still reads naturally. Backslashes are
// left alone: this is for display, and --raw gives the exact bytes.
func Text(s string) string {
	if isPlainText(s) {
		return s
	}
	return visible(s, true)
}

// Quote always returns the double-quoted escaped form of s.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteByte('"')
	escapeInto(&b, s)
	b.WriteByte('"')
	return b.String()
}

func escapeInto(b *strings.Builder, s string) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case isUnsafe(r):
			writeRuneEscape(b, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
}

func writeRuneEscape(b *strings.Builder, r rune) {
	switch {
	case r < 0x80:
		fmt.Fprintf(b, `\x%02x`, r)
	case r <= 0xFFFF:
		fmt.Fprintf(b, `\u%04x`, r)
	default:
		fmt.Fprintf(b, `\U%08x`, r)
	}
}

// isPlain reports whether s prints as it is: valid UTF-8 without a rune a
// terminal may act on.
func isPlain(s string) bool { return plain(s, false) }

// isPlainText is isPlain letting newlines and tabs through, as Text keeps them.
func isPlainText(s string) bool { return plain(s, true) }

func plain(s string, keepLayout bool) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && !(keepLayout && (c == '\n' || c == '\t'))) || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size <= 1) || isUnsafe(r) {
			return false
		}
		i += size
	}
	return true
}

// isUnsafe reports runes a terminal may act on rather than print: C0 and C1
// controls, DEL, and the invisible bidirectional overrides of "Trojan Source".
func isUnsafe(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators: some terminals break the line
		return true
	case r == 0xfeff:
		return true
	}
	return false
}

// ParseKey reads a key in escaped form: optionally double-quoted, with the
// escapes \\ \" \n \r \t \0 \xNN \uNNNN and \UNNNNNNNN. It is what
// `--escaped-keys` applies to key arguments, so any key `cachectl keys`
// printed can be passed back, including keys holding NUL bytes.
func ParseKey(s string) (string, error) {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("escaped key %q ends with a lone backslash", s)
		}
		i++
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case '"':
			b.WriteByte('"')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '0':
			b.WriteByte(0)
		case 'x', 'u', 'U':
			width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[s[i]]
			if i+width >= len(s) {
				return "", fmt.Errorf("escaped key %q: \\%c needs %d hex digits", s, s[i], width)
			}
			v, err := strconv.ParseUint(s[i+1:i+1+width], 16, 32)
			if err != nil {
				return "", fmt.Errorf("escaped key %q: bad \\%c escape", s, s[i])
			}
			if s[i] == 'x' {
				b.WriteByte(byte(v))
			} else {
				if !utf8.ValidRune(rune(v)) {
					return "", fmt.Errorf("escaped key %q: \\%c%s is not a valid code point", s, s[i], s[i+1:i+1+width])
				}
				b.WriteRune(rune(v))
			}
			i += width
		default:
			return "", fmt.Errorf("escaped key %q: unknown escape \\%c", s, s[i])
		}
	}
	return b.String(), nil
}

// Keys escapes each key (or pattern) as Key does and joins them with spaces.
func Keys(ks []string) string {
	q := make([]string, len(ks))
	for i, k := range ks {
		q[i] = Key(k)
	}
	return strings.Join(q, " ")
}

// Line returns s as one line safe for a terminal: like Text, but newlines,
// carriage returns and tabs become single spaces, so text a server sent (an
// error reply, a version string) can neither drive the terminal nor forge a
// second line of output.
func Line(s string) string {
	if isPlain(s) {
		return s
	}
	return visible(s, false)
}

// visible is Text (keepLayout) or Line for an s that is not plain: runes a
// terminal may act on escaped; newlines and tabs kept and CR escaped, or all
// three written as a space.
func visible(s string, keepLayout bool) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\r' || r == '\t':
			switch {
			case !keepLayout:
				b.WriteByte(' ')
			case r == '\r':
				b.WriteString(`\r`)
			default:
				b.WriteRune(r)
			}
		case isUnsafe(r):
			writeRuneEscape(&b, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
