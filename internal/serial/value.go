package serial

import (
	"math/big"

	"github.com/cachectl/cachectl/internal/serial/value"
)

// The Value tree lives in package value, below the format packages that
// build it; these aliases keep serial.Value and its constructors the
// vocabulary of the code above serial.

type (
	Value       = value.Value
	Kind        = value.Kind
	Pair        = value.Pair
	DateTime    = value.DateTime
	TimeDelta   = value.TimeDelta
	Format      = value.Format
	FormatError = value.FormatError
)

const (
	KindNone      = value.KindNone
	KindBool      = value.KindBool
	KindInt       = value.KindInt
	KindFloat     = value.KindFloat
	KindStr       = value.KindStr
	KindBytes     = value.KindBytes
	KindList      = value.KindList
	KindTuple     = value.KindTuple
	KindSet       = value.KindSet
	KindFrozenSet = value.KindFrozenSet
	KindDict      = value.KindDict
	KindDateTime  = value.KindDateTime
	KindDate      = value.KindDate
	KindTime      = value.KindTime
	KindTimeDelta = value.KindTimeDelta
	KindDecimal   = value.KindDecimal
	KindUUID      = value.KindUUID
	KindObject    = value.KindObject
	KindExt       = value.KindExt
	KindCycle     = value.KindCycle
	KindTruncated = value.KindTruncated
)

const (
	FormatJSON    = value.FormatJSON
	FormatString  = value.FormatString
	FormatInt     = value.FormatInt
	FormatBytes   = value.FormatBytes
	FormatPickle  = value.FormatPickle
	FormatMsgpack = value.FormatMsgpack
)

// MaxDepth and MaxIntDigits bound every decoder (see package value).
const (
	MaxDepth     = value.MaxDepth
	MaxIntDigits = value.MaxIntDigits
)

func None() *Value                        { return value.None() }
func NewBool(b bool) *Value               { return value.NewBool(b) }
func NewInt(i int64) *Value               { return value.NewInt(i) }
func NewBigInt(i *big.Int) *Value         { return value.NewBigInt(i) }
func NewFloat(f float64) *Value           { return value.NewFloat(f) }
func NewStr(s string) *Value              { return value.NewStr(s) }
func NewBytes(b []byte) *Value            { return value.NewBytes(b) }
func NewList(items ...*Value) *Value      { return value.NewList(items...) }
func NewTuple(items ...*Value) *Value     { return value.NewTuple(items...) }
func NewSet(items ...*Value) *Value       { return value.NewSet(items...) }
func NewFrozenSet(items ...*Value) *Value { return value.NewFrozenSet(items...) }
func NewDict(pairs ...Pair) *Value        { return value.NewDict(pairs...) }
func NewDateTime(dt DateTime) *Value      { return value.NewDateTime(dt) }
func NewDate(year, month, day int) *Value { return value.NewDate(year, month, day) }
func NewTime(dt DateTime) *Value          { return value.NewTime(dt) }
func NewTimeDelta(days, seconds, microseconds int64) *Value {
	return value.NewTimeDelta(days, seconds, microseconds)
}
func NewDecimal(text string) *Value { return value.NewDecimal(text) }
func NewUUID(u [16]byte) *Value     { return value.NewUUID(u) }
func NewObject(class string, args []*Value, state *Value) *Value {
	return value.NewObject(class, args, state)
}
func NewGlobal(name string) *Value        { return value.NewGlobal(name) }
func NewExt(typ int8, data []byte) *Value { return value.NewExt(typ, data) }
func NewCycle() *Value                    { return value.NewCycle() }
func NewTruncated(n int64) *Value         { return value.NewTruncated(n) }
func Equal(a, b *Value) bool              { return value.Equal(a, b) }
func NormalizeTimeDelta(days, seconds, microseconds int64) TimeDelta {
	return value.NormalizeTimeDelta(days, seconds, microseconds)
}
func ToJSON(v *Value) []byte                 { return value.ToJSON(v) }
func AppendJSON(dst []byte, v *Value) []byte { return value.AppendJSON(dst, v) }

// HumanBytes formats a byte count: "1 byte", "900 bytes", "5.2 KiB".
func HumanBytes(n int64) string { return value.HumanBytes(n) }

// What render.go uses of the tree's own text forms.

const (
	renderDepthLimit = value.WalkDepthLimit
	kindShape        = value.KindShape
)

func reprTemporal(k Kind, dt *DateTime) string { return value.ReprTemporal(k, dt) }
func jsonShape(v *Value) *Value                { return value.JSONShape(v) }
func strKeyed(v *Value) bool                   { return value.StrKeyed(v) }

func appendJSONFloat(dst []byte, f float64, quoted bool) []byte {
	return value.AppendJSONFloat(dst, f, quoted)
}

func appendJSONStr(dst []byte, s string, limit int) []byte { return value.AppendJSONStr(dst, s, limit) }
