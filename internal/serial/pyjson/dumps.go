package pyjson

import (
	"errors"
	"strconv"
	"unicode/utf16"

	"github.com/cachectl/cachectl/internal/pyrepr"
	"github.com/cachectl/cachectl/internal/serial/value"
)

// Dumps is json.dumps(obj) with its defaults: ", " and ": " separators,
// ensure_ascii, NaN/Infinity literals, floats as repr, big integers exact.
// The tree must hold only what json.dumps accepts: None, bool, int, float,
// str, list, tuple, and dicts whose keys are str, int, float, bool or None
// (converted to strings as Python does).
func Dumps(v *value.Value) ([]byte, error) { return appendDumps(nil, v, 0) }

func appendDumps(dst []byte, v *value.Value, depth int) ([]byte, error) {
	if v == nil {
		return append(dst, "null"...), nil
	}
	if depth > value.WalkDepthLimit {
		return nil, errors.New("cannot encode as JSON: nesting deeper than " + strconv.Itoa(value.WalkDepthLimit) + " levels")
	}
	var err error
	switch v.Kind {
	case value.KindNone:
		return append(dst, "null"...), nil
	case value.KindBool:
		if v.Bool {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case value.KindInt:
		return appendIntValue(dst, v), nil
	case value.KindFloat:
		return value.AppendJSONFloat(dst, v.Float, false), nil
	case value.KindStr:
		return appendASCIIJSONStr(dst, v.Str), nil
	case value.KindList, value.KindTuple:
		dst = append(dst, '[')
		for i, it := range v.Items {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			if dst, err = appendDumps(dst, it, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case value.KindDict:
		dst = append(dst, '{')
		for i, p := range v.Pairs {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			if dst, err = appendDumpsKey(dst, p.Key); err != nil {
				return nil, err
			}
			dst = append(dst, ": "...)
			if dst, err = appendDumps(dst, p.Value, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
	return nil, errors.New("cannot encode a " + v.Kind.String() + " value as JSON")
}

// appendDumpsKey converts a dict key as json.dumps does.
func appendDumpsKey(dst []byte, k *value.Value) ([]byte, error) {
	if k == nil {
		return append(dst, `"null"`...), nil
	}
	switch k.Kind {
	case value.KindStr:
		return appendASCIIJSONStr(dst, k.Str), nil
	case value.KindNone:
		return append(dst, `"null"`...), nil
	case value.KindBool:
		if k.Bool {
			return append(dst, `"true"`...), nil
		}
		return append(dst, `"false"`...), nil
	case value.KindInt:
		return append(appendIntValue(append(dst, '"'), k), '"'), nil
	case value.KindFloat:
		return append(value.AppendJSONFloat(append(dst, '"'), k.Float, false), '"'), nil
	}
	return nil, errors.New("cannot encode as JSON: dict keys must be str, int, float, bool or None, not " + k.Kind.String())
}

func appendIntValue(dst []byte, v *value.Value) []byte {
	if v.Big != nil {
		return v.Big.Append(dst, 10)
	}
	return strconv.AppendInt(dst, v.Int, 10)
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
