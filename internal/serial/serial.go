// Package serial turns the bytes of a cached value into a Value tree and back:
// it detects the format (DESIGN §6), decodes it, renders the tree as text or
// JSON, and encodes input for `set --serializer`. It never does I/O.
//
// This stage knows json, string (UTF-8 text), int (ASCII integer) and bytes.
// Compression, pickle and msgpack slot into Detect's order, DecodeAs's modes,
// Sniff and Encode's serializers without changing the API; the Value tree
// already has every kind they produce.
package serial

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cachectl/cachectl/internal/pyrepr"
)

// Format names how a value was (or is to be) decoded.
type Format string

const (
	FormatJSON   Format = "json"
	FormatString Format = "string" // UTF-8 text
	FormatInt    Format = "int"    // ASCII decimal integer (Django stores ints raw)
	FormatBytes  Format = "bytes"  // anything else, shown as a Python bytes literal
)

// Decoded is a decoded value.
type Decoded struct {
	Format Format
	Value  *Value
	// Err, when set, is why the value's apparent (or forced) format failed; the
	// Value is then the raw bytes (Format bytes). Callers show it as a note.
	Err error
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

// Detect decodes b in the order of DESIGN §6 (this stage: JSON, ASCII integer,
// UTF-8 text, bytes). JSON must parse completely; any top-level JSON value
// counts, scalars included, so "123" and "true" are JSON. An ASCII integer
// (optional sign, digits) is tried before UTF-8 text, since every such integer
// is also text: it only catches what JSON refuses, like "007" or "+5". Empty
// input is the empty string. Detect never fails: what fits no format is bytes,
// with Err set when the value looked like JSON (starts with '{' or '[').
func detectText(b []byte) Decoded {
	if len(b) == 0 {
		return Decoded{Format: FormatString, Value: NewStr("")}
	}
	var jsonErr error
	if mayBeJSON(b) {
		v, err := parseJSON(b)
		if err == nil {
			return Decoded{Format: FormatJSON, Value: v}
		}
		jsonErr = err
	}
	if v := autoInt(b); v != nil {
		return Decoded{Format: FormatInt, Value: v}
	}
	if utf8.Valid(b) {
		return Decoded{Format: FormatString, Value: NewStr(string(b))}
	}
	d := Decoded{Format: FormatBytes, Value: NewBytes(b)}
	if c := firstNonSpace(b); c == '{' || c == '[' {
		d.Err = jsonErr
	}
	return d
}

// decodeModes are the formats DecodeAs takes, in the order help text lists
// them; each may also be prefixed by a codec ("zlib+pickle"), and a codec alone
// ("gzip") inflates and then detects.
var decodeModes = []string{"auto", "pickle", "json", "msgpack", "string", "int", "bytes"}

// DecodeModes lists the values DecodeAs (and `get --as`) accepts.
func DecodeModes() []string { return append([]string(nil), decodeModes...) }

// DecodeAs decodes b as the named format ("auto", or "", is Detect; "int"
// accepts what Python's int() does: surrounding whitespace, a sign, digits
// with single underscores). A value that is
// not valid in the forced format comes back as bytes with Err saying why; the
// error return is only for an unknown format name.
func DecodeAs(b []byte, as string) (Decoded, error) {
	return Decode(b, DecodeOptions{As: as})
}

// decodeForced decodes b as one named format (no codec), falling back to
// bytes with the reason.
func decodeForced(b []byte, as string, o DecodeOptions) (Decoded, error) {
	fallback := func(err error) Decoded {
		return Decoded{Format: FormatBytes, Value: NewBytes(b), Err: err}
	}
	switch as {
	case "auto", "":
		return detectAuto(b, o), nil
	case string(formatPickle):
		v, err := DecodePickle(b, o.pickleLimits())
		if err != nil {
			return fallback(err), nil
		}
		return Decoded{Format: formatPickle, Value: v}, nil
	case string(FormatMsgpack):
		v, err := DecodeMsgpack(b, MsgpackLimits{})
		if err != nil {
			return fallback(err), nil
		}
		return Decoded{Format: FormatMsgpack, Value: v}, nil
	case string(FormatJSON):
		v, err := parseJSON(b)
		if err != nil {
			return fallback(err), nil
		}
		return Decoded{Format: FormatJSON, Value: v}, nil
	case string(FormatString):
		if off := invalidUTF8(b); off >= 0 {
			return fallback(&FormatError{Format: FormatString, Offset: off, Msg: "byte " + pyrepr.HexByte(b[off])}), nil
		}
		return Decoded{Format: FormatString, Value: NewStr(string(b))}, nil
	case string(FormatInt):
		v, err := pyInt(b)
		if err != nil {
			return fallback(err), nil
		}
		return Decoded{Format: FormatInt, Value: v}, nil
	case string(FormatBytes):
		return Decoded{Format: FormatBytes, Value: NewBytes(b)}, nil
	}
	return Decoded{}, errors.New("unknown format " + strconv.Quote(as) + " (valid: " + strings.Join(decodeModes, ", ") + ", optionally after a codec: " + strings.Join(codecs, ", ") + ", e.g. zlib+pickle)")
}

// Sniff guesses the format of a value from its first bytes, cheaply, for
// listings (`keys -l`). With complete set, prefix is the whole value and the
// answer is Detect's. Otherwise it is a guess: JSON when the prefix starts
// like a JSON container, string or number and is UTF-8 so far, string when it
// is UTF-8 so far, bytes else.
func Sniff(prefix []byte, complete bool) Format {
	if complete {
		return Detect(prefix).Format
	}
	switch {
	case bytes.HasPrefix(prefix, magicGzip):
		return CodecGzip
	case bytes.HasPrefix(prefix, magicZstd):
		return CodecZstd
	case bytes.HasPrefix(prefix, magicLZ4):
		return CodecLZ4
	case bytes.HasPrefix(prefix, magicSnappyFramed):
		return CodecSnappy
	case zlibHeader(prefix) && !utf8.Valid(prefix):
		return CodecZlib
	case isPickleHeader(prefix):
		return FormatPickle
	case len(prefix) > 0 && (prefix[0]>>4 == 0x8 || prefix[0]>>4 == 0x9 || prefix[0] >= 0xdc && prefix[0] <= 0xdf):
		return FormatMsgpack // a map or array header: no text starts like that
	}
	if !validUTF8Prefix(prefix) {
		return FormatBytes
	}
	switch c := firstNonSpace(prefix); {
	case c == '{' || c == '[' || c == '"':
		return FormatJSON
	case c == '-' || isDigit(c):
		// A long number: JSON unless something other than a number follows.
		for _, d := range prefix {
			if !isDigit(d) && !strings.ContainsRune("-+.eE \t\r\n", rune(d)) {
				return FormatString
			}
		}
		return FormatJSON
	}
	return FormatString
}

// mayBeJSON is a cheap test that spares parsing text that cannot be JSON.
func mayBeJSON(b []byte) bool {
	switch c := firstNonSpace(b); {
	case c == '{', c == '[', c == '"', c == '-', isDigit(c):
		return true
	case c == 't', c == 'f', c == 'n', c == 'N', c == 'I':
		return true // the parser fails at once unless a literal follows
	}
	return false
}

func firstNonSpace(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}

// autoInt is the ASCII integer of detection: an optional sign and 1 to
// MaxIntDigits digits, nothing else.
func autoInt(b []byte) *Value {
	digits := b
	if len(digits) > 0 && (digits[0] == '-' || digits[0] == '+') {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > MaxIntDigits {
		return nil
	}
	for _, c := range digits {
		if !isDigit(c) {
			return nil
		}
	}
	v, err := parseIntText(string(b), len(digits), FormatInt, 0)
	if err != nil {
		return nil
	}
	return v
}

// pyInt parses b like Python's int(text): surrounding ASCII whitespace, an
// optional sign, digits with single underscores between them.
func pyInt(b []byte) (*Value, error) {
	start, end := 0, len(b)
	isSpace := func(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }
	for start < end && isSpace(b[start]) {
		start++
	}
	for end > start && isSpace(b[end-1]) {
		end--
	}
	var text []byte
	i := start
	if i < end && (b[i] == '-' || b[i] == '+') {
		text = append(text, b[i])
		i++
	}
	ndigits := 0
	for ; i < end; i++ {
		c := b[i]
		switch {
		case isDigit(c):
			text = append(text, c)
			ndigits++
		case c == '_' && ndigits > 0 && i+1 < end && isDigit(b[i+1]):
		default:
			return nil, &FormatError{Format: FormatInt, Offset: i, Msg: "unexpected byte " + pyrepr.HexByte(c)}
		}
	}
	if ndigits == 0 {
		return nil, &FormatError{Format: FormatInt, Offset: i, Msg: "no digits"}
	}
	return parseIntText(string(text), ndigits, FormatInt, start)
}

// invalidUTF8 returns the offset of the first invalid UTF-8 byte, or -1.
func invalidUTF8(b []byte) int {
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

// validUTF8Prefix reports whether b is valid UTF-8 except perhaps for a
// character cut at its end.
func validUTF8Prefix(b []byte) bool {
	off := invalidUTF8(b)
	if off < 0 {
		return true
	}
	return len(b)-off < utf8.UTFMax && !utf8.FullRune(b[off:]) && utf8.RuneStart(b[off])
}
