// Package pyrepr writes values as CPython 3's repr() does: str, bytes and
// float, plus the hex helpers those escapes and error messages share. It is a
// leaf: the value renderers (serial) and the key hashing of pymemcache
// (mchash) both use it.
package pyrepr

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// Float is Python's repr(float) (which json.dumps uses too): the
// shortest digits that round-trip, in fixed notation when
// 1e-4 <= |x| < 1e16 (with ".0" when integral), otherwise as d.ddde±XX.
// Go's 'g' format switches notation at different points and never adds ".0".
func Float(f float64) string {
	return string(AppendFloat(nil, f))
}

// AppendFloat appends Float(f) to dst.
func AppendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "nan"...)
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	i := len(e) - 1
	for e[i] != 'e' {
		i--
	}
	exp, _ := strconv.Atoi(string(e[i+1:]))
	if f == 0 || (exp >= -4 && exp < 16) {
		start := len(dst)
		dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
		for _, c := range dst[start:] {
			if c == '.' {
				return dst
			}
		}
		return append(dst, ".0"...)
	}
	// Go already writes at least two exponent digits with a sign, as Python does.
	return append(dst, e...)
}

// Str is Python's repr(str): single quotes unless the text holds a
// single quote and no double quote; \\, the quote, \t \n \r escaped; other
// non-printable characters as \xNN, \uNNNN or \UNNNNNNNN.
func Str(s string) string {
	return string(AppendStr(nil, s))
}

// AppendStr appends Str(s) to dst.
func AppendStr(dst []byte, s string) []byte {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	dst = append(dst, quote)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			dst = appendByte(dst, c, quote)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1: // impossible for a Str node; stay safe
			dst = appendByte(dst, c, quote)
		case unicode.IsPrint(r):
			dst = append(dst, s[i:i+size]...)
		case r <= 0xff:
			dst = append(dst, '\\', 'x', hexDigits[r>>4], hexDigits[r&15])
		case r <= 0xffff:
			dst = append(dst, '\\', 'u')
			dst = AppendHex(dst, uint32(r), 4)
		default:
			dst = append(dst, '\\', 'U')
			dst = AppendHex(dst, uint32(r), 8)
		}
		i += size
	}
	return append(dst, quote)
}

// AppendBytes appends Python's repr(b): b'...' with Python's escapes.
func AppendBytes(dst, b []byte) []byte {
	quote := byte('\'')
	if indexByte(b, '\'') >= 0 && indexByte(b, '"') < 0 {
		quote = '"'
	}
	dst = append(dst, 'b', quote)
	for _, c := range b {
		dst = appendByte(dst, c, quote)
	}
	return append(dst, quote)
}

// appendByte appends c as repr writes a byte of bytes, or an ASCII character
// of str, between quote marks: the quote, \\, \t \n \r by name, other
// control characters and bytes from 0x7f as \xhh.
func appendByte(dst []byte, c, quote byte) []byte {
	switch {
	case c == quote || c == '\\':
		return append(dst, '\\', c)
	case c == '\t':
		return append(dst, '\\', 't')
	case c == '\n':
		return append(dst, '\\', 'n')
	case c == '\r':
		return append(dst, '\\', 'r')
	case c < 0x20 || c >= 0x7f:
		return append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
	}
	return append(dst, c)
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// AppendHex appends the low width hex digits of v, lower-case, zero-padded.
func AppendHex(dst []byte, v uint32, width int) []byte {
	for shift := (width - 1) * 4; shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[(v>>uint(shift))&15])
	}
	return dst
}

// HexByte is how error messages name a byte: "0x1b".
func HexByte(c byte) string { return "0x" + string([]byte{hexDigits[c>>4], hexDigits[c&15]}) }

// UUID is the canonical 8-4-4-4-12 lower-case form of a UUID's 16 bytes
// (Python's str(uuid)).
func UUID(b []byte) string {
	if len(b) != 16 {
		return hex.EncodeToString(b) // malformed node; decoders never produce one
	}
	var out []byte
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexDigits[c>>4], hexDigits[c&15])
	}
	return string(out)
}
