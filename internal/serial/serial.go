// Package serial turns the bytes of a cached value into a Value tree and back:
// it detects the format (in the order README "Values: what get decodes"
// gives; docs/architecture.md places it), decodes it, renders the tree as text or
// JSON, and encodes input for `set --serializer`. It never does I/O.
//
// Each format has its own package below serial: pickle, msgpack, pyjson
// (Python's json) and compress, all building the tree of package value.
// serial holds what spans them: detection, the Decode and Encode facade, and
// the renderers.
package serial

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cachectl/cachectl/internal/pyrepr"
	"github.com/cachectl/cachectl/internal/serial/compress"
	"github.com/cachectl/cachectl/internal/serial/msgpack"
	"github.com/cachectl/cachectl/internal/serial/pickle"
	"github.com/cachectl/cachectl/internal/serial/pyjson"
	"github.com/cachectl/cachectl/internal/serial/value"
)

// Decoded is a decoded value.
type Decoded struct {
	Format Format
	Value  *Value
	// Err, when set, is why the value's apparent (or forced) format failed; the
	// Value is then the raw bytes (Format bytes). Callers show it as a note.
	Err error
}

// detectText is the end of Detect's order for bytes that are no compression
// wrapper, pickle or msgpack: JSON, ASCII integer, UTF-8 text, bytes. JSON must parse completely; any top-level JSON value
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
		v, err := pyjson.Parse(b)
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
	case string(FormatPickle):
		v, err := pickle.Decode(b, o.pickleLimits())
		if err != nil {
			return fallback(err), nil
		}
		return Decoded{Format: FormatPickle, Value: v}, nil
	case string(FormatMsgpack):
		v, err := msgpack.Decode(b, msgpack.Limits{})
		if err != nil {
			return fallback(err), nil
		}
		return Decoded{Format: FormatMsgpack, Value: v}, nil
	case string(FormatJSON):
		v, err := pyjson.Parse(b)
		if err != nil {
			return fallback(err), nil
		}
		return Decoded{Format: FormatJSON, Value: v}, nil
	case string(FormatString):
		if off := value.InvalidUTF8(b); off >= 0 {
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
	return Decoded{}, errors.New("unknown format " + strconv.Quote(as) + " (valid: " + strings.Join(decodeModes, ", ") + ", optionally after a codec: " + strings.Join(compress.Codecs(), ", ") + ", e.g. zlib+pickle)")
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
	if c := compress.Sniff(prefix); c != "" {
		return Format(c)
	}
	switch {
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
	v, err := value.ParseIntText(string(b), len(digits), FormatInt, 0)
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
	return value.ParseIntText(string(text), ndigits, FormatInt, start)
}

// validUTF8Prefix reports whether b is valid UTF-8 except perhaps for a
// character cut at its end.
func validUTF8Prefix(b []byte) bool {
	off := value.InvalidUTF8(b)
	if off < 0 {
		return true
	}
	return len(b)-off < utf8.UTFMax && !utf8.FullRune(b[off:]) && utf8.RuneStart(b[off])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
