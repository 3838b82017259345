package value

import (
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Format names how a value was (or is to be) decoded.
type Format string

const (
	FormatJSON    Format = "json"
	FormatString  Format = "string" // UTF-8 text
	FormatInt     Format = "int"    // ASCII decimal integer (Django stores ints raw)
	FormatBytes   Format = "bytes"  // anything else, shown as a Python bytes literal
	FormatPickle  Format = "pickle"
	FormatMsgpack Format = "msgpack"
)

// Inner is the format of the decoded bytes, without a compression wrapper:
// "zlib+pickle" gives "pickle".
func (f Format) Inner() Format {
	if i := strings.LastIndexByte(string(f), '+'); i >= 0 {
		return f[i+1:]
	}
	return f
}

// Codec is the compression wrapper of a format, or "" ("zlib+pickle" gives "zlib").
func (f Format) Codec() string {
	if i := strings.LastIndexByte(string(f), '+'); i >= 0 {
		return string(f[:i])
	}
	return ""
}

// FormatError says why bytes are not valid in a format.
type FormatError struct {
	Format Format
	Offset int // byte offset of the problem, -1 when there is none
	Msg    string
}

func (e *FormatError) Error() string {
	var what string
	switch e.Format {
	case FormatJSON:
		what = "not valid JSON"
	case FormatString:
		what = "not valid UTF-8 text"
	case FormatInt:
		what = "not an integer"
	default:
		what = "not valid " + string(e.Format)
	}
	if e.Msg != "" {
		what += ": " + e.Msg
	}
	if e.Offset >= 0 {
		what += " at offset " + strconv.Itoa(e.Offset)
	}
	return what
}

// MaxDepth bounds the nesting of containers a decoder accepts. Python's own
// json module gives up (RecursionError) at about this depth, so no Python app
// reads or writes deeper JSON; the bound also keeps rendering, whose indentation
// grows with depth, small.
const MaxDepth = 1000

// MaxIntDigits is Python's default sys.int_max_str_digits: json.loads refuses
// an integer literal with more digits, and so do we (it also keeps a hostile
// value from costing quadratic time in big-number conversion).
const MaxIntDigits = 4300

// WalkDepthLimit stops a walk through a hand-built tree that has a pointer
// cycle (decoders never build one and cut nesting at MaxDepth); what lies
// deeper is shown as a cycle marker.
const WalkDepthLimit = 4*MaxDepth + 64

// ParseIntText makes an Int node of a validated decimal literal (text, of
// ndigits digits, at offset of a value in format f for the error).
func ParseIntText(text string, ndigits int, f Format, offset int) (*Value, error) {
	if ndigits > MaxIntDigits {
		return nil, &FormatError{Format: f, Offset: offset,
			Msg: "integer with " + strconv.Itoa(ndigits) + " digits exceeds the limit of " + strconv.Itoa(MaxIntDigits)}
	}
	if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		return NewInt(i), nil
	}
	n, ok := new(big.Int).SetString(text, 10)
	if !ok {
		return nil, &FormatError{Format: f, Offset: offset, Msg: "invalid integer"}
	}
	if n.IsInt64() {
		return NewInt(n.Int64()), nil
	}
	return &Value{Kind: KindInt, Big: n}, nil
}

// InvalidUTF8 returns the offset of the first invalid UTF-8 byte, or -1.
func InvalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for off := 0; off < len(b); {
		r, size := utf8.DecodeRune(b[off:])
		if r == utf8.RuneError && size <= 1 {
			return off
		}
		off += size
	}
	return -1
}

// HumanBytes formats a byte count as the value renderers and decoder
// messages write it: "1 byte", "900 bytes", "5.2 KiB", "3.0 MiB".
func HumanBytes(n int64) string {
	switch {
	case n == 1:
		return "1 byte"
	case n < 1024:
		return strconv.FormatInt(n, 10) + " bytes"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	f := float64(n) / 1024
	u := 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + units[u]
}
