package textesc

import (
	"fmt"
	"unicode/utf8"
)

// JSON escapes, as \uXXXX, the runes of an encoding/json document that a
// terminal may act on but encoding/json leaves raw (DEL, C1 controls, bidi
// overrides and isolates, zero-width marks), so `cat` of a dump file cannot
// reorder or hide what it shows. Outside strings JSON is ASCII, so this only
// touches string contents, and a decoder reads back the same text.
func JSON(b []byte) []byte {
	i := 0
	for i < len(b) {
		if b[i] < utf8.RuneSelf {
			if b[i] == 0x7f {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError && isUnsafe(r) {
			break
		}
		i += size
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:i]...)
	for i < len(b) {
		r, size := utf8.DecodeRune(b[i:])
		if (r == 0x7f || r >= utf8.RuneSelf) && r != utf8.RuneError && isUnsafe(r) {
			// Every unsafe rune is in the BMP, so one \u escape suffices.
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}
