// Package value is the tree every decoder of serial produces and every
// encoder and renderer reads: Value nodes of a few kinds (Python's types,
// which cover JSON's and msgpack's), the formats' shared vocabulary (Format,
// FormatError, the limits), and the tree's two canonical text forms, the
// one-line Python repr (String) and the JSON mapping (ToJSON).
package value

import (
	"bytes"
	"math"
	"math/big"
	"strconv"
)

// Kind is the type of a Value node. The kinds cover everything the decoders
// produce (JSON, pickle, msgpack), so adding a decoder rarely changes this API.
type Kind uint8

const (
	KindNone      Kind = iota // Python None, JSON null, msgpack nil
	KindBool                  // Bool
	KindInt                   // Int, or Big when it does not fit in int64
	KindFloat                 // Float
	KindStr                   // Str: always valid UTF-8
	KindBytes                 // Bytes (Python bytes and bytearray, msgpack bin)
	KindList                  // Items
	KindTuple                 // Items
	KindSet                   // Items
	KindFrozenSet             // Items
	KindDict                  // Pairs, in insertion order; keys of any kind
	KindDateTime              // DT (all fields)
	KindDate                  // DT (Year, Month, Day)
	KindTime                  // DT (time fields and zone)
	KindTimeDelta             // TD
	KindDecimal               // Str: the decimal's text, e.g. "1.10", "NaN", "-Infinity"
	KindUUID                  // Bytes: the 16 bytes
	KindObject                // Str: qualified class name "module.Name"; Items: args (nil: the class itself); State
	KindExt                   // Int: msgpack extension type (int8); Bytes: data
	KindCycle                 // a reference back to an enclosing container (recursive pickle)
	KindTruncated             // Int: how many items a decoder left out to stay within its limits
)

var kindNames = [...]string{
	KindNone: "none", KindBool: "bool", KindInt: "int", KindFloat: "float",
	KindStr: "str", KindBytes: "bytes", KindList: "list", KindTuple: "tuple",
	KindSet: "set", KindFrozenSet: "frozenset", KindDict: "dict",
	KindDateTime: "datetime", KindDate: "date", KindTime: "time",
	KindTimeDelta: "timedelta", KindDecimal: "decimal", KindUUID: "uuid",
	KindObject: "object", KindExt: "ext", KindCycle: "cycle", KindTruncated: "truncated",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + itoa(int64(k)) + ")"
}

// Value is one node of a decoded value. Only the fields listed for its Kind
// are meaningful. Decoders never produce pointer cycles: a recursive structure
// is cut with a KindCycle node, so every tree can be walked recursively.
//
// A container a decoder had to cut ends with a KindTruncated node: the last
// element of Items, or for a dict the Key of the last Pair (its Value None).
type Value struct {
	Kind  Kind
	Bool  bool
	Int   int64      // KindInt (when Big is nil), KindExt type code, KindTruncated count
	Big   *big.Int   // KindInt outside the int64 range; nil otherwise
	Float float64    // KindFloat
	Str   string     // KindStr, KindDecimal text, KindObject class name; KindDict class when not dict (text only)
	Bytes []byte     // KindBytes, KindUUID (16 bytes), KindExt data
	Items []*Value   // KindList, KindTuple, KindSet, KindFrozenSet; KindObject args; KindDict defaultdict factory
	Pairs []Pair     // KindDict
	State *Value     // KindObject state (what __setstate__/BUILD gets); nil when none
	DT    *DateTime  // KindDateTime, KindDate, KindTime
	TD    *TimeDelta // KindTimeDelta
}

// Pair is one dict entry.
type Pair struct {
	Key, Value *Value
}

// None returns a None node.
func None() *Value { return &Value{Kind: KindNone} }

// NewBool returns a Bool node.
func NewBool(b bool) *Value { return &Value{Kind: KindBool, Bool: b} }

// NewInt returns an Int node.
func NewInt(i int64) *Value { return &Value{Kind: KindInt, Int: i} }

// NewBigInt returns an Int node holding a copy of i, using the int64 fast
// path when it fits.
func NewBigInt(i *big.Int) *Value {
	if i.IsInt64() {
		return NewInt(i.Int64())
	}
	return &Value{Kind: KindInt, Big: new(big.Int).Set(i)}
}

// NewFloat returns a Float node.
func NewFloat(f float64) *Value { return &Value{Kind: KindFloat, Float: f} }

// NewStr returns a Str node. s must be valid UTF-8; decoders guarantee it.
func NewStr(s string) *Value { return &Value{Kind: KindStr, Str: s} }

// NewBytes returns a Bytes node (b is not copied).
func NewBytes(b []byte) *Value { return &Value{Kind: KindBytes, Bytes: b} }

// NewList returns a List node.
func NewList(items ...*Value) *Value { return &Value{Kind: KindList, Items: items} }

// NewTuple returns a Tuple node.
func NewTuple(items ...*Value) *Value { return &Value{Kind: KindTuple, Items: items} }

// NewSet returns a Set node.
func NewSet(items ...*Value) *Value { return &Value{Kind: KindSet, Items: items} }

// NewFrozenSet returns a FrozenSet node.
func NewFrozenSet(items ...*Value) *Value { return &Value{Kind: KindFrozenSet, Items: items} }

// NewDict returns a Dict node with the pairs in the given order.
func NewDict(pairs ...Pair) *Value { return &Value{Kind: KindDict, Pairs: pairs} }

// NewDateTime returns a DateTime node.
func NewDateTime(dt DateTime) *Value { return &Value{Kind: KindDateTime, DT: &dt} }

// NewDate returns a Date node.
func NewDate(year, month, day int) *Value {
	return &Value{Kind: KindDate, DT: &DateTime{Year: year, Month: month, Day: day}}
}

// NewTime returns a Time node; the date fields of dt are ignored.
func NewTime(dt DateTime) *Value {
	dt.Year, dt.Month, dt.Day = 0, 0, 0
	return &Value{Kind: KindTime, DT: &dt}
}

// NewTimeDelta returns a TimeDelta node, normalized like Python's timedelta.
func NewTimeDelta(days, seconds, microseconds int64) *Value {
	td := NormalizeTimeDelta(days, seconds, microseconds)
	return &Value{Kind: KindTimeDelta, TD: &td}
}

// NewDecimal returns a Decimal node holding the decimal's text.
func NewDecimal(text string) *Value { return &Value{Kind: KindDecimal, Str: text} }

// NewUUID returns a UUID node.
func NewUUID(u [16]byte) *Value { return &Value{Kind: KindUUID, Bytes: u[:]} }

// NewObject returns an Object node for an instance of class ("module.Name")
// built from args, with state (nil for none).
func NewObject(class string, args []*Value, state *Value) *Value {
	if args == nil {
		args = []*Value{}
	}
	return &Value{Kind: KindObject, Str: class, Items: args, State: state}
}

// NewGlobal returns an Object node that stands for the class or function
// name ("module.Name") itself, as a pickle can hold one as a value (the
// factory of a defaultdict, an Enum member pickled by name): Items nil and
// no State. It maps to JSON like an object without arguments.
func NewGlobal(name string) *Value { return &Value{Kind: KindObject, Str: name} }

// NewExt returns a msgpack extension node.
func NewExt(typ int8, data []byte) *Value { return &Value{Kind: KindExt, Int: int64(typ), Bytes: data} }

// NewCycle returns a cycle marker.
func NewCycle() *Value { return &Value{Kind: KindCycle} }

// NewTruncated returns a marker for n items a decoder left out.
func NewTruncated(n int64) *Value { return &Value{Kind: KindTruncated, Int: n} }

// BigInt returns the value of an Int node as a *big.Int (a fresh copy).
func (v *Value) BigInt() *big.Int {
	if v.Big != nil {
		return new(big.Int).Set(v.Big)
	}
	return big.NewInt(v.Int)
}

// IntString returns the decimal digits of an Int node.
func (v *Value) IntString() string {
	if v.Big != nil {
		return v.Big.String()
	}
	return itoa(v.Int)
}

// IsSeq reports whether k keeps its children in Items as a container.
func (k Kind) IsSeq() bool {
	return k == KindList || k == KindTuple || k == KindSet || k == KindFrozenSet
}

// Equal reports whether a and b are the same tree. Floats compare by value
// with NaN equal to NaN and -0.0 different from 0.0; Int nodes compare by
// value whichever representation they use.
func Equal(a, b *Value) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case KindNone, KindCycle:
		return true
	case KindBool:
		return a.Bool == b.Bool
	case KindInt:
		if a.Big == nil && b.Big == nil {
			return a.Int == b.Int
		}
		return a.BigInt().Cmp(b.BigInt()) == 0
	case KindFloat:
		if math.IsNaN(a.Float) || math.IsNaN(b.Float) {
			return math.IsNaN(a.Float) && math.IsNaN(b.Float)
		}
		return a.Float == b.Float && math.Signbit(a.Float) == math.Signbit(b.Float)
	case KindStr, KindDecimal:
		return a.Str == b.Str
	case KindBytes, KindUUID:
		return bytes.Equal(a.Bytes, b.Bytes)
	case KindExt:
		return a.Int == b.Int && bytes.Equal(a.Bytes, b.Bytes)
	case KindTruncated:
		return a.Int == b.Int
	case KindList, KindTuple, KindSet, KindFrozenSet:
		return equalItems(a.Items, b.Items)
	case KindObject:
		return a.Str == b.Str && equalItems(a.Items, b.Items) && Equal(a.State, b.State)
	case KindDict:
		if len(a.Pairs) != len(b.Pairs) {
			return false
		}
		for i := range a.Pairs {
			if !Equal(a.Pairs[i].Key, b.Pairs[i].Key) || !Equal(a.Pairs[i].Value, b.Pairs[i].Value) {
				return false
			}
		}
		return true
	case KindDateTime, KindDate, KindTime:
		if a.DT == nil || b.DT == nil {
			return a.DT == b.DT
		}
		return *a.DT == *b.DT
	case KindTimeDelta:
		if a.TD == nil || b.TD == nil {
			return a.TD == b.TD
		}
		return *a.TD == *b.TD
	}
	return false
}

func equalItems(a, b []*Value) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func appendInt(dst []byte, i int64) []byte { return strconv.AppendInt(dst, i, 10) }
