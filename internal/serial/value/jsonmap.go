package value

import (
	"encoding/base64"
	"math"
	"unicode/utf8"

	"github.com/cachectl/cachectl/internal/pyrepr"
)

// The Value tree -> JSON mapping (the table in README "JSON output"), used by `-o json`, `dump` and
// the dashboard's JSON view:
//
//	None, bool, int            null, true/false, exact digits (any size)
//	float                      a number in Python's repr form (1.0, 1e+16);
//	                           NaN, Infinity, -Infinity as the strings "NaN", "Infinity", "-Infinity"
//	str                        string (non-ASCII as is; controls, DEL, C1, bidi
//	                           overrides, U+2028/9 as \u escapes: safe on a terminal)
//	bytes                      {"$bytes": "<standard base64>"}
//	list, tuple, set, frozenset array
//	dict with str keys         object, in insertion order
//	other dicts                {"$dict": [[key, value], ...]}; also a str-keyed dict
//	                           holding a reserved key ("$bytes", "$dict", "$class",
//	                           "$args", "$state", "$ext", "$ref", "$truncated"), so
//	                           an object with a reserved key is always one of these shapes
//	datetime, date, time       ISO 8601 string (Python's isoformat(); a named zone
//	                           is appended as "[Europe/Paris]", RFC 9557)
//	timedelta                  ISO 8601 duration string "[-]PnDTnHnMn.nS", e.g.
//	                           "P1DT2H3M4.5S"; negative as "-PT1S"; zero "PT0S"
//	Decimal                    string ("1.10", "NaN")
//	UUID                       canonical lower-case string
//	object                     {"$class": "module.Name", "$args": [...], "$state": ...}
//	                           ("$state" only when the object has state)
//	msgpack ext                {"$ext": <type code>, "data": "<standard base64>"}
//	cycle marker               {"$ref": "cycle"}
//	truncated marker           {"$truncated": <items left out>}: an array element,
//	                           an object member "$truncated": N, a "$dict" element
//
// The output is compact and always valid JSON.

var reservedKeys = map[string]bool{
	"$bytes": true, "$dict": true, "$class": true, "$args": true, "$state": true,
	"$ext": true, "$ref": true, "$truncated": true,
}

// KindShape marks a JSON object built by JSONShape: its (reserved) keys are
// written as they are. Only the JSON writers (here and serial's renderer)
// meet it; no decoder makes one.
const KindShape Kind = 255

// ToJSON returns the JSON form of v (see the mapping above); nil is null.
func ToJSON(v *Value) []byte { return AppendJSON(nil, v) }

// AppendJSON appends the JSON form of v to dst.
func AppendJSON(dst []byte, v *Value) []byte {
	return appendJSON(dst, v, 0)
}

// MarshalJSON implements json.Marshaler with the mapping above. Note that
// json.Marshal re-escapes <, > and & in it; use a json.Encoder with
// SetEscapeHTML(false) to keep them.
func (v *Value) MarshalJSON() ([]byte, error) { return ToJSON(v), nil }

func appendJSON(dst []byte, v *Value, depth int) []byte {
	if v == nil {
		return append(dst, "null"...)
	}
	if depth > WalkDepthLimit {
		return append(dst, `{"$ref":"cycle"}`...)
	}
	switch v.Kind {
	case KindNone:
		return append(dst, "null"...)
	case KindBool:
		if v.Bool {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case KindInt:
		if v.Big != nil {
			return v.Big.Append(dst, 10)
		}
		return appendInt(dst, v.Int)
	case KindFloat:
		return AppendJSONFloat(dst, v.Float, true)
	case KindStr:
		return AppendJSONStr(dst, v.Str, -1)
	case KindCycle:
		// Written directly: a hostile pickle can hold a million of them.
		return append(dst, `{"$ref":"cycle"}`...)
	case KindList:
		dst = append(dst, '[')
		for i, it := range v.Items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSON(dst, it, depth+1)
		}
		return append(dst, ']')
	case KindDict, KindShape:
		if v.Kind == KindDict && !StrKeyed(v) {
			break
		}
		dst = append(dst, '{')
		for i, p := range v.Pairs {
			if i > 0 {
				dst = append(dst, ',')
			}
			if p.Key.Kind == KindTruncated {
				dst = append(dst, `"$truncated":`...)
				dst = appendInt(dst, p.Key.Int)
				continue
			}
			dst = AppendJSONStr(dst, p.Key.Str, -1)
			dst = append(dst, ':')
			dst = appendJSON(dst, p.Value, depth+1)
		}
		return append(dst, '}')
	}
	return appendJSON(dst, JSONShape(v), depth+1)
}

// StrKeyed reports whether a dict maps to a JSON object: every key a str
// that is not reserved, except perhaps a final truncated marker.
func StrKeyed(v *Value) bool {
	for i, p := range v.Pairs {
		if p.Key == nil {
			return false
		}
		if p.Key.Kind == KindTruncated && i == len(v.Pairs)-1 {
			continue
		}
		if p.Key.Kind != KindStr || reservedKeys[p.Key.Str] {
			return false
		}
	}
	return true
}

// JSONShape returns the JSON-native node (None, Bool, Int, Float, Str, List
// or str-keyed Dict) that stands for v in the mapping above, one level deep:
// children are mapped when they are visited.
func JSONShape(v *Value) *Value {
	obj := func(pairs ...Pair) *Value { return &Value{Kind: KindShape, Pairs: pairs} }
	key := NewStr
	switch v.Kind {
	case KindNone, KindBool, KindInt, KindFloat, KindStr, KindList, KindShape:
		return v
	case KindDict:
		if StrKeyed(v) {
			return v
		}
		items := make([]*Value, len(v.Pairs))
		for i, p := range v.Pairs {
			if p.Key != nil && p.Key.Kind == KindTruncated && i == len(v.Pairs)-1 {
				items[i] = p.Key
				continue
			}
			items[i] = NewList(nilToNone(p.Key), nilToNone(p.Value))
		}
		return obj(Pair{key("$dict"), NewList(items...)})
	case KindTuple, KindSet, KindFrozenSet:
		return &Value{Kind: KindList, Items: v.Items}
	case KindBytes:
		return obj(Pair{key("$bytes"), NewStr(base64.StdEncoding.EncodeToString(v.Bytes))})
	case KindDateTime, KindDate, KindTime:
		if v.DT == nil {
			return None()
		}
		return NewStr(ISOTemporal(v.Kind, v.DT))
	case KindTimeDelta:
		if v.TD == nil {
			return None()
		}
		return NewStr(v.TD.ISO())
	case KindDecimal:
		return NewStr(v.Str)
	case KindUUID:
		return NewStr(pyrepr.UUID(v.Bytes))
	case KindObject:
		args := v.Items
		if args == nil {
			args = []*Value{}
		}
		o := obj(Pair{key("$class"), NewStr(v.Str)}, Pair{key("$args"), NewList(args...)})
		if v.State != nil {
			o.Pairs = append(o.Pairs, Pair{key("$state"), v.State})
		}
		return o
	case KindExt:
		return obj(Pair{key("$ext"), NewInt(v.Int)}, Pair{key("data"), NewStr(base64.StdEncoding.EncodeToString(v.Bytes))})
	case KindCycle:
		return obj(Pair{key("$ref"), NewStr("cycle")})
	case KindTruncated:
		return obj(Pair{key("$truncated"), NewInt(v.Int)})
	}
	return None() // unknown kind: a hand-built node
}

func nilToNone(v *Value) *Value {
	if v == nil {
		return None()
	}
	return v
}

// AppendJSONFloat writes a finite float as Python's repr; NaN and the
// infinities as strings (quoted) or as Python's json literals (unquoted).
func AppendJSONFloat(dst []byte, f float64, quoted bool) []byte {
	var s string
	switch {
	case math.IsNaN(f):
		s = "NaN"
	case math.IsInf(f, 1):
		s = "Infinity"
	case math.IsInf(f, -1):
		s = "-Infinity"
	default:
		return pyrepr.AppendFloat(dst, f)
	}
	if quoted {
		return append(append(append(dst, '"'), s...), '"')
	}
	return append(dst, s...)
}

// AppendJSONStr writes s (its first limit bytes, cut at a character
// boundary, when 0 <= limit < len(s)) as a JSON string. Non-ASCII stays as is,
// except what a terminal could act on: C0 and C1 controls, DEL, the
// zero-width and bidirectional controls, U+2028/9 and U+FEFF become \u escapes.
// <, > and & are not escaped.
func AppendJSONStr(dst []byte, s string, limit int) []byte {
	if limit >= 0 && limit < len(s) {
		for limit > 0 && !utf8.RuneStart(s[limit]) {
			limit--
		}
		s = s[:limit]
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == '\b':
				dst = append(dst, '\\', 'b')
			case c == '\f':
				dst = append(dst, '\\', 'f')
			case c < 0x20 || c == 0x7f:
				dst = pyrepr.AppendHex(append(dst, '\\', 'u', '0', '0'), uint32(c), 2)
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1: // impossible for a Str node; stay valid
			dst = append(dst, `\ufffd`...)
		case terminalUnsafe(r):
			dst = append(dst, '\\', 'u')
			dst = pyrepr.AppendHex(dst, uint32(r), 4)
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// terminalUnsafe reports non-ASCII runes a terminal may act on rather than
// print (the set of textesc, plus the line and paragraph separators). All are
// in the BMP.
func terminalUnsafe(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f,
		r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069,
		r == 0x2028, r == 0x2029, r == 0xfeff:
		return true
	}
	return false
}
