package value

import (
	"strconv"

	"github.com/cachectl/cachectl/internal/pyrepr"
	"github.com/cachectl/cachectl/internal/textesc"
)

// String returns the value as one line of Python-like text, without bounds
// or colour (for debugging, short previews and tests). It is the text serial's
// RenderText writes when every container stays on one line; a test there
// keeps the two the same.
func (v *Value) String() string { return string(appendRepr(nil, v, 0)) }

func appendRepr(dst []byte, v *Value, level int) []byte {
	if v == nil {
		return append(dst, "None"...)
	}
	if level > WalkDepthLimit {
		v = NewCycle()
	}
	switch v.Kind {
	case KindNone:
		return append(dst, "None"...)
	case KindBool:
		if v.Bool {
			return append(dst, "True"...)
		}
		return append(dst, "False"...)
	case KindInt:
		return append(dst, v.IntString()...)
	case KindFloat:
		return pyrepr.AppendFloat(dst, v.Float)
	case KindStr:
		return pyrepr.AppendStr(dst, v.Str)
	case KindBytes:
		return pyrepr.AppendBytes(dst, v.Bytes)
	case KindDecimal:
		return append(dst, "Decimal("+pyrepr.Str(v.Str)+")"...)
	case KindUUID:
		return append(dst, "UUID("+pyrepr.Str(pyrepr.UUID(v.Bytes))+")"...)
	case KindDateTime, KindDate, KindTime:
		if v.DT == nil {
			return append(dst, "None"...)
		}
		return append(dst, ReprTemporal(v.Kind, v.DT)...)
	case KindTimeDelta:
		if v.TD == nil {
			return append(dst, "None"...)
		}
		return append(dst, v.TD.Repr()...)
	case KindExt:
		dst = append(dst, "ExtType(code="+strconv.FormatInt(v.Int, 10)+", data="...)
		return append(pyrepr.AppendBytes(dst, v.Bytes), ')')
	case KindCycle:
		return append(dst, "<cycle>"...)
	case KindTruncated:
		return appendMoreItems(dst, v.Int)
	case KindList:
		return appendReprSeq(dst, "[", "]", v.Items, level, false)
	case KindTuple:
		return appendReprSeq(dst, "(", ")", v.Items, level, true)
	case KindSet:
		if len(v.Items) == 0 {
			return append(dst, "set()"...)
		}
		return appendReprSeq(dst, "{", "}", v.Items, level, false)
	case KindFrozenSet:
		if len(v.Items) == 0 {
			return append(dst, "frozenset()"...)
		}
		dst = appendReprSeq(append(dst, "frozenset("...), "{", "}", v.Items, level, false)
		return append(dst, ')')
	case KindDict:
		if v.Str == "" {
			return appendReprDict(dst, v.Pairs, level)
		}
		// OrderedDict, Counter, defaultdict: named as Python's repr does.
		dst = append(append(dst, textesc.Key(v.Str)...), '(')
		for _, f := range v.Items {
			dst = append(appendRepr(dst, f, level), ", "...)
		}
		return append(appendReprDict(dst, v.Pairs, level), ')')
	case KindObject:
		// The class name comes from the value's bytes (a pickle's GLOBAL): escape it.
		dst = append(dst, textesc.Key(v.Str)...)
		if v.Items == nil && v.State == nil {
			return dst // the class or function itself (NewGlobal)
		}
		if len(v.Items) > 0 || v.State == nil {
			dst = appendReprSeq(dst, "(", ")", v.Items, level, false)
		}
		if v.State != nil {
			if v.State.Kind == KindDict {
				return appendReprDict(dst, v.State.Pairs, level)
			}
			return appendReprSeq(dst, "{", "}", []*Value{v.State}, level, false)
		}
		return dst
	}
	return append(dst, "<"+v.Kind.String()+">"...)
}

// appendMoreItems is the marker of n items left out.
func appendMoreItems(dst []byte, n int64) []byte {
	if n == 1 {
		return append(dst, "… (1 more item)"...)
	}
	return append(dst, "… ("+strconv.FormatInt(n, 10)+" more items)"...)
}

// appendReprSeq writes items between open and close; oneTuple adds the comma
// of a one-item tuple.
func appendReprSeq(dst []byte, open, close string, items []*Value, level int, oneTuple bool) []byte {
	dst = append(dst, open...)
	for i, it := range items {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = appendRepr(dst, it, level+1)
	}
	if oneTuple && len(items) == 1 {
		dst = append(dst, ',')
	}
	return append(dst, close...)
}

func appendReprDict(dst []byte, pairs []Pair, level int) []byte {
	dst = append(dst, '{')
	for i, pr := range pairs {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		if pr.Key != nil && pr.Key.Kind == KindTruncated {
			dst = appendMoreItems(dst, pr.Key.Int)
			continue
		}
		dst = append(appendRepr(dst, pr.Key, level+1), ": "...)
		dst = appendRepr(dst, pr.Value, level+1)
	}
	return append(dst, '}')
}
