package serial

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/cachectl/cachectl/internal/pyrepr"
)

// serializers are the names `set --serializer` takes. json (and, in a later
// stage, pickle and msgpack) parse the input as JSON into a Value tree and
// encode the tree; string and raw store the input bytes.
var serializers = []string{"raw", "string", "json", "pickle", "msgpack"}

// DefaultPickleProtocol is what `set --serializer pickle` writes unless told:
// Python 3.8-3.13's pickle.DEFAULT_PROTOCOL, readable by every Python 3.4+.
const DefaultPickleProtocol = 4

// EncodeOptions tune EncodeWith.
type EncodeOptions struct {
	Serializer     string
	PickleProtocol int // 2 to 5; 0 means DefaultPickleProtocol
}

// Serializers lists the serializers Encode accepts.
func Serializers() []string { return append([]string(nil), serializers...) }

// ParseJSON decodes JSON text the way Python's json.loads does (see
// parseJSON): exact integers, key order kept, NaN and Infinity accepted.
func ParseJSON(b []byte) (*Value, error) { return parseJSON(b) }

// Encode turns the input of `set` into the bytes to store:
//   - raw: the input unchanged;
//   - string: the input unchanged, which must be valid UTF-8;
//   - json: the input must be JSON text; it is parsed and written again as
//     Python's json.dumps(obj) writes it by default (", " and ": " separators,
//     ensure_ascii, NaN/Infinity literals, floats as repr, big integers exact).
func Encode(input []byte, serializer string) ([]byte, error) {
	return EncodeWith(input, EncodeOptions{Serializer: serializer})
}

// EncodeWith is Encode with options: pickle and msgpack parse the input as
// JSON like json does, then write the tree as pickle.dumps(obj, protocol) and
// msgpack.packb(obj, use_bin_type=True) write it.
func EncodeWith(input []byte, o EncodeOptions) ([]byte, error) {
	serializer := o.Serializer
	switch serializer {
	case "raw":
		return input, nil
	case "string":
		if !utf8.Valid(input) {
			return nil, errors.New("value is not valid UTF-8; use --serializer raw")
		}
		return input, nil
	}
	if !isSerializer(serializer) {
		return nil, unknownSerializer(serializer)
	}
	v, err := parseJSON(input)
	if err != nil {
		return nil, errors.New("value is " + err.Error() + "; write text as a JSON string or use --serializer string")
	}
	if serializer == "pickle" {
		return EncodePickle(v, o.pickleProtocol())
	}
	return EncodeValue(v, serializer)
}

func (o EncodeOptions) pickleProtocol() int {
	if o.PickleProtocol == 0 {
		return DefaultPickleProtocol
	}
	return o.PickleProtocol
}

// EncodeValue encodes a Value tree with a structured serializer (json; later
// pickle and msgpack). For json the tree must hold only what json.dumps
// accepts: None, bool, int, float, str, list, tuple, and dicts whose keys are
// str, int, float, bool or None (converted to strings as Python does).
func EncodeValue(v *Value, serializer string) ([]byte, error) {
	switch serializer {
	case "json":
		return appendPyJSON(nil, v, 0)
	case "pickle":
		return EncodePickle(v, DefaultPickleProtocol)
	case "msgpack":
		return EncodeMsgpack(v)
	case "string", "raw":
		return nil, errors.New("serializer " + serializer + " stores bytes, not a value")
	}
	return nil, unknownSerializer(serializer)
}

func isSerializer(s string) bool {
	for _, x := range serializers {
		if x == s {
			return true
		}
	}
	return false
}

func unknownSerializer(s string) error {
	return errors.New("unknown serializer " + strconv.Quote(s) + " (valid: " + strings.Join(serializers, ", ") + ")")
}

// appendPyJSON is json.dumps(obj) with its defaults.
func appendPyJSON(dst []byte, v *Value, depth int) ([]byte, error) {
	if v == nil {
		return append(dst, "null"...), nil
	}
	if depth > renderDepthLimit {
		return nil, errors.New("cannot encode as JSON: nesting deeper than " + strconv.Itoa(renderDepthLimit) + " levels")
	}
	var err error
	switch v.Kind {
	case KindNone:
		return append(dst, "null"...), nil
	case KindBool:
		if v.Bool {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case KindInt:
		return appendIntValue(dst, v), nil
	case KindFloat:
		return appendJSONFloat(dst, v.Float, false), nil
	case KindStr:
		return appendASCIIJSONStr(dst, v.Str), nil
	case KindList, KindTuple:
		dst = append(dst, '[')
		for i, it := range v.Items {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			if dst, err = appendPyJSON(dst, it, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case KindDict:
		dst = append(dst, '{')
		for i, p := range v.Pairs {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			if dst, err = appendPyJSONKey(dst, p.Key); err != nil {
				return nil, err
			}
			dst = append(dst, ": "...)
			if dst, err = appendPyJSON(dst, p.Value, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
	return nil, errors.New("cannot encode a " + v.Kind.String() + " value as JSON")
}

// appendPyJSONKey converts a dict key as json.dumps does.
func appendPyJSONKey(dst []byte, k *Value) ([]byte, error) {
	if k == nil {
		return append(dst, `"null"`...), nil
	}
	switch k.Kind {
	case KindStr:
		return appendASCIIJSONStr(dst, k.Str), nil
	case KindNone:
		return append(dst, `"null"`...), nil
	case KindBool:
		if k.Bool {
			return append(dst, `"true"`...), nil
		}
		return append(dst, `"false"`...), nil
	case KindInt:
		return append(appendIntValue(append(dst, '"'), k), '"'), nil
	case KindFloat:
		return append(appendJSONFloat(append(dst, '"'), k.Float, false), '"'), nil
	}
	return nil, errors.New("cannot encode as JSON: dict keys must be str, int, float, bool or None, not " + k.Kind.String())
}

func appendIntValue(dst []byte, v *Value) []byte {
	if v.Big != nil {
		return v.Big.Append(dst, 10)
	}
	return appendInt(dst, v.Int)
}

// appendASCIIJSONStr is json.dumps's string form with ensure_ascii: \" \\
// \n \r \t \b \f, every other byte outside ' '..'~' as \u00XX (lower-case
// hex, DEL included), characters beyond the BMP as surrogate pairs.
func appendASCIIJSONStr(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for _, r := range s { // invalid UTF-8 (impossible in a Str) reads as U+FFFD
		switch {
		case r == '"' || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r == '\n':
			dst = append(dst, '\\', 'n')
		case r == '\r':
			dst = append(dst, '\\', 'r')
		case r == '\t':
			dst = append(dst, '\\', 't')
		case r == '\b':
			dst = append(dst, '\\', 'b')
		case r == '\f':
			dst = append(dst, '\\', 'f')
		case r >= ' ' && r <= '~':
			dst = append(dst, byte(r))
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			dst = append(dst, '\\', 'u')
			dst = pyrepr.AppendHex(dst, uint32(r1), 4)
			dst = append(dst, '\\', 'u')
			dst = pyrepr.AppendHex(dst, uint32(r2), 4)
		default:
			dst = append(dst, '\\', 'u')
			dst = pyrepr.AppendHex(dst, uint32(r), 4)
		}
	}
	return append(dst, '"')
}
