package serial

import (
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"strconv"
	"unicode/utf8"
)

// EncodePickle writes v as pickle.dumps(obj, protocol) does (protocols 2-5)
// for the kinds JSON input gives and a few more: None, bool, int of any size,
// float, str, list, tuple, dict (keys of any hashable kind), bytes, set and
// frozenset. Every other kind is refused ("cannot pickle datetime"): writing
// them would mean choosing a class for Python to import.
//
// The output is byte-identical to CPython's C pickler for the objects
// json.loads returns, framing (protocol 4+) and memo included. CPython
// memoizes by object identity, so the encoder follows what json.loads shares:
// equal dict keys are one object (its scanner reuses them), as are the empty
// string and one-character Latin-1 strings (cached by CPython); a node
// reached twice through the same pointer is one object too.
func EncodePickle(v *Value, protocol int) ([]byte, error) {
	if protocol < 2 || protocol > 5 {
		return nil, errors.New("cannot pickle with protocol " + strconv.Itoa(protocol) + " (valid: 2-5)")
	}
	e := &pickleEncoder{proto: protocol, frameStart: -1}
	e.out = append(e.out, opProto, byte(protocol))
	e.framing = protocol >= 4
	if err := e.save(v, false, 0); err != nil {
		return nil, err
	}
	e.write(opStop)
	e.commitFrame()
	return e.out, nil
}

const (
	frameSizeTarget = 64 << 10 // CPython's _FRAME_SIZE_TARGET
	frameSizeMin    = 4        // smaller frames lose their FRAME header
	frameHeaderSize = 9
	pickleBatchSize = 1000
)

// Go's math.NaN() and Python's float("nan") differ in one payload bit; a NaN
// from JSON input is written as Python writes its own.
var (
	goNaN     = math.Float64bits(math.NaN())
	pythonNaN = uint64(0x7ff8000000000000)
)

type pickleEncoder struct {
	proto      int
	out        []byte
	framing    bool
	frameStart int // offset of the open frame's header, -1 when none

	memoLen uint32
	ptrMemo map[*Value]uint32 // containers, bytes and str by identity
	keyMemo map[string]uint32 // dict keys (json.loads reuses equal keys)
	chrMemo map[string]uint32 // "" and one-character Latin-1 strings (cached by CPython)
	globals map[string]uint32 // classes and functions, "module\nname"
}

// ---- output and framing (Modules/_pickle.c) ----

func (e *pickleEncoder) openFrame() {
	if e.framing && e.frameStart < 0 {
		e.frameStart = len(e.out)
		e.out = append(e.out, make([]byte, frameHeaderSize)...)
	}
}

func (e *pickleEncoder) write(b ...byte) {
	e.openFrame()
	e.out = append(e.out, b...)
}

func (e *pickleEncoder) writeString(s string) {
	e.openFrame()
	e.out = append(e.out, s...)
}

func (e *pickleEncoder) commitFrame() {
	if !e.framing || e.frameStart < 0 {
		return
	}
	n := len(e.out) - e.frameStart - frameHeaderSize
	if n >= frameSizeMin {
		e.out[e.frameStart] = opFrame
		binary.LittleEndian.PutUint64(e.out[e.frameStart+1:], uint64(n))
	} else {
		copy(e.out[e.frameStart:], e.out[e.frameStart+frameHeaderSize:])
		e.out = e.out[:len(e.out)-frameHeaderSize]
	}
	e.frameStart = -1
}

// boundary ends the frame once it holds the target size; CPython checks
// before saving each object.
func (e *pickleEncoder) boundary() {
	if e.framing && e.frameStart >= 0 && len(e.out)-e.frameStart-frameHeaderSize >= frameSizeTarget {
		e.commitFrame()
	}
}

// writeLarge writes an opcode header and its payload; a payload of a frame's
// size or more goes outside any frame.
func (e *pickleEncoder) writeLarge(header []byte, payload string) {
	if !e.framing || len(payload) < frameSizeTarget {
		e.write(header...)
		e.writeString(payload)
		return
	}
	e.commitFrame()
	e.out = append(e.out, header...)
	e.out = append(e.out, payload...)
}

// ---- memo ----

func (e *pickleEncoder) memoPut() uint32 {
	idx := e.memoLen
	e.memoLen++
	switch {
	case e.proto >= 4:
		e.write(opMemoize)
	case idx < 256:
		e.write(opBinPut, byte(idx))
	default:
		var b [5]byte
		b[0] = opLongBinPut
		binary.LittleEndian.PutUint32(b[1:], idx)
		e.write(b[:]...)
	}
	return idx
}

func (e *pickleEncoder) memoGet(idx uint32) {
	if idx < 256 {
		e.write(opBinGet, byte(idx))
		return
	}
	var b [5]byte
	b[0] = opLongBinGet
	binary.LittleEndian.PutUint32(b[1:], idx)
	e.write(b[:]...)
}

func putMemo[K comparable](m *map[K]uint32, k K, idx uint32) {
	if *m == nil {
		*m = make(map[K]uint32)
	}
	(*m)[k] = idx
}

// ---- values ----

func (e *pickleEncoder) save(v *Value, isKey bool, depth int) error {
	if depth > renderDepthLimit {
		return errors.New("cannot pickle: nesting deeper than " + strconv.Itoa(renderDepthLimit) + " levels")
	}
	if v == nil {
		v = &Value{Kind: KindNone}
	}
	e.boundary()
	var err error
	switch v.Kind {
	case KindNone:
		e.write(opNone)
	case KindBool:
		if v.Bool {
			e.write(opNewTrue)
		} else {
			e.write(opNewFalse)
		}
	case KindInt:
		e.saveInt(v)
	case KindFloat:
		bits := math.Float64bits(v.Float)
		if bits == goNaN {
			bits = pythonNaN
		}
		var b [9]byte
		b[0] = opBinFloat
		binary.BigEndian.PutUint64(b[1:], bits)
		e.write(b[:]...)
	case KindStr:
		err = e.saveStr(v, isKey)
	case KindBytes:
		e.saveBytes(v)
	case KindList:
		err = e.saveList(v, depth)
	case KindTuple:
		err = e.saveTuple(v, depth)
	case KindDict:
		err = e.saveDict(v, depth)
	case KindSet, KindFrozenSet:
		err = e.saveSet(v, depth)
	default:
		return errors.New("cannot pickle " + v.Kind.String())
	}
	return err
}

// saveInt is save_long: BININT1/BININT2/BININT when it fits a signed 32-bit
// int, else LONG1/LONG4 with the shortest little-endian two's complement.
func (e *pickleEncoder) saveInt(v *Value) {
	if v.Big == nil || v.Big.IsInt64() {
		i := v.Int
		if v.Big != nil {
			i = v.Big.Int64()
		}
		switch {
		case i >= 0 && i <= 0xff:
			e.write(opBinInt1, byte(i))
			return
		case i >= 0 && i <= 0xffff:
			e.write(opBinInt2, byte(i), byte(i>>8))
			return
		case i >= math.MinInt32 && i <= math.MaxInt32:
			var b [5]byte
			b[0] = opBinInt
			binary.LittleEndian.PutUint32(b[1:], uint32(int32(i)))
			e.write(b[:]...)
			return
		}
	}
	data := longLE(v.BigInt())
	if len(data) < 256 {
		e.write(opLong1, byte(len(data)))
	} else {
		var b [5]byte
		b[0] = opLong4
		binary.LittleEndian.PutUint32(b[1:], uint32(len(data)))
		e.write(b[:]...)
	}
	e.write(data...)
}

// longLE is CPython's encode_long: nbits/8+1 bytes of little-endian two's
// complement, one less for a negative number whose top byte is only sign.
func longLE(x *big.Int) []byte {
	n := x.BitLen()/8 + 1
	buf := make([]byte, n)
	if x.Sign() >= 0 {
		x.FillBytes(buf)
	} else {
		// two's complement: 2**(8n) + x
		y := new(big.Int).Lsh(big.NewInt(1), uint(8*n))
		y.Add(y, x)
		y.FillBytes(buf)
	}
	for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
		buf[i], buf[j] = buf[j], buf[i]
	}
	if x.Sign() < 0 && n > 1 && buf[n-1] == 0xff && buf[n-2]&0x80 != 0 {
		buf = buf[:n-1]
	}
	return buf
}

func (e *pickleEncoder) saveStr(v *Value, isKey bool) error {
	s := v.Str
	if !utf8.ValidString(s) {
		return errors.New("cannot pickle a str that is not valid UTF-8")
	}
	r, size := utf8.DecodeRuneInString(s)
	cached := s == "" || (size == len(s) && r < 0x100)
	var idx uint32
	var ok bool
	switch {
	case cached:
		idx, ok = e.chrMemo[s]
	case isKey:
		idx, ok = e.keyMemo[s]
	default:
		idx, ok = e.ptrMemo[v]
	}
	if ok {
		e.memoGet(idx)
		return nil
	}
	n := len(s)
	switch {
	case n <= 0xff && e.proto >= 4:
		e.write(opShortBinUnicode, byte(n))
		e.writeString(s)
	case uint64(n) > 0xffffffff && e.proto >= 4:
		var b [9]byte
		b[0] = opBinUnicode8
		binary.LittleEndian.PutUint64(b[1:], uint64(n))
		e.writeLarge(b[:], s)
	default:
		var b [5]byte
		b[0] = opBinUnicode
		binary.LittleEndian.PutUint32(b[1:], uint32(n))
		e.writeLarge(b[:], s)
	}
	idx = e.memoPut()
	switch {
	case cached:
		putMemo(&e.chrMemo, s, idx)
	case isKey:
		putMemo(&e.keyMemo, s, idx)
	default:
		putMemo(&e.ptrMemo, v, idx)
	}
	return nil
}

// strConst writes a str CPython holds as one interned object ("latin1").
func (e *pickleEncoder) strConst(s string) {
	key := "\x00const:" + s
	if idx, ok := e.globals[key]; ok {
		e.memoGet(idx)
		return
	}
	var b [5]byte
	b[0] = opBinUnicode
	binary.LittleEndian.PutUint32(b[1:], uint32(len(s)))
	e.write(b[:]...)
	e.writeString(s)
	putMemo(&e.globals, key, e.memoPut())
}

func (e *pickleEncoder) saveBytes(v *Value) {
	if idx, ok := e.ptrMemo[v]; ok {
		e.memoGet(idx)
		return
	}
	b := v.Bytes
	if e.proto < 3 {
		// Protocol 2 has no bytes opcode: codecs.encode(latin1 text, "latin1"),
		// which Python 2 reads as a str and Python 3 as bytes.
		if len(b) == 0 {
			e.global("builtins", "bytes")
			e.write(opEmptyTuple, opReduce)
		} else {
			e.global("_codecs", "encode")
			text := make([]rune, len(b))
			for i, c := range b {
				text[i] = rune(c)
			}
			_ = e.saveStr(&Value{Kind: KindStr, Str: string(text)}, false)
			e.strConst("latin1")
			e.write(opTuple2)
			e.memoPut()
			e.write(opReduce)
		}
		putMemo(&e.ptrMemo, v, e.memoPut())
		return
	}
	n := len(b)
	switch {
	case n <= 0xff:
		e.write(opShortBinBytes, byte(n))
		e.write(b...)
	case uint64(n) > 0xffffffff && e.proto >= 4:
		var h [9]byte
		h[0] = opBinBytes8
		binary.LittleEndian.PutUint64(h[1:], uint64(n))
		e.writeLarge(h[:], string(b))
	default:
		var h [5]byte
		h[0] = opBinBytes
		binary.LittleEndian.PutUint32(h[1:], uint32(n))
		e.writeLarge(h[:], string(b))
	}
	putMemo(&e.ptrMemo, v, e.memoPut())
}

// global writes a class or function reference (GLOBAL with Python 2 names
// below protocol 3, STACK_GLOBAL from 4), memoized once.
func (e *pickleEncoder) global(module, name string) {
	key := module + "\n" + name
	if idx, ok := e.globals[key]; ok {
		e.memoGet(idx)
		return
	}
	if e.proto >= 4 {
		_ = e.saveStr(&Value{Kind: KindStr, Str: module}, false)
		_ = e.saveStr(&Value{Kind: KindStr, Str: name}, false)
		e.write(opStackGlobal)
	} else {
		if e.proto < 3 && module == "builtins" {
			module = "__builtin__"
		}
		e.write(opGlobal)
		e.writeString(module + "\n" + name + "\n")
	}
	putMemo(&e.globals, key, e.memoPut())
}

func (e *pickleEncoder) saveList(v *Value, depth int) error {
	if idx, ok := e.ptrMemo[v]; ok {
		e.memoGet(idx)
		return nil
	}
	e.write(opEmptyList)
	putMemo(&e.ptrMemo, v, e.memoPut())
	return e.appends(v.Items, depth)
}

// appends is batch_list_exact: one APPEND for a single item, else batches
// of MARK ... APPENDS.
func (e *pickleEncoder) appends(items []*Value, depth int) error {
	if len(items) == 1 {
		if err := e.save(items[0], false, depth+1); err != nil {
			return err
		}
		e.write(opAppend)
		return nil
	}
	for start := 0; start < len(items); start += pickleBatchSize {
		e.write(opMark)
		for _, it := range items[start:min(start+pickleBatchSize, len(items))] {
			if err := e.save(it, false, depth+1); err != nil {
				return err
			}
		}
		e.write(opAppends)
	}
	return nil
}

func (e *pickleEncoder) saveTuple(v *Value, depth int) error {
	n := len(v.Items)
	if n == 0 {
		e.write(opEmptyTuple)
		return nil
	}
	if idx, ok := e.ptrMemo[v]; ok {
		e.memoGet(idx)
		return nil
	}
	if n > 3 {
		e.write(opMark)
	}
	for _, it := range v.Items {
		if err := e.save(it, false, depth+1); err != nil {
			return err
		}
	}
	if n <= 3 {
		e.write(opTuple1 + byte(n-1))
	} else {
		e.write(opTuple)
	}
	putMemo(&e.ptrMemo, v, e.memoPut())
	return nil
}

// saveDict is save_dict + batch_dict_exact: SETITEM for a single item, else
// batches of MARK ... SETITEMS, the last one empty when the size is a
// multiple of the batch size (as CPython writes it).
func (e *pickleEncoder) saveDict(v *Value, depth int) error {
	if idx, ok := e.ptrMemo[v]; ok {
		e.memoGet(idx)
		return nil
	}
	for _, p := range v.Pairs {
		if err := hashable(p.Key, "dict key"); err != nil {
			return err
		}
	}
	e.write(opEmptyDict)
	putMemo(&e.ptrMemo, v, e.memoPut())
	pairs := v.Pairs
	if len(pairs) == 0 {
		return nil
	}
	item := func(p Pair) error {
		if err := e.save(p.Key, true, depth+1); err != nil {
			return err
		}
		return e.save(p.Value, false, depth+1)
	}
	if len(pairs) == 1 {
		if err := item(pairs[0]); err != nil {
			return err
		}
		e.write(opSetItem)
		return nil
	}
	for start := 0; ; start += pickleBatchSize {
		end := min(start+pickleBatchSize, len(pairs))
		e.write(opMark)
		for _, p := range pairs[start:end] {
			if err := item(p); err != nil {
				return err
			}
		}
		e.write(opSetItems)
		if end-start < pickleBatchSize {
			return nil
		}
	}
}

// saveSet is save_set / save_frozenset: EMPTY_SET + ADDITEMS batches and
// MARK ... FROZENSET from protocol 4, set(list) / frozenset(list) before.
func (e *pickleEncoder) saveSet(v *Value, depth int) error {
	for _, it := range v.Items {
		if err := hashable(it, "set item"); err != nil {
			return err
		}
	}
	if idx, ok := e.ptrMemo[v]; ok {
		e.memoGet(idx)
		return nil
	}
	if e.proto < 4 {
		name := "set"
		if v.Kind == KindFrozenSet {
			name = "frozenset"
		}
		e.global("builtins", name)
		e.write(opEmptyList)
		e.memoPut()
		if err := e.appends(v.Items, depth); err != nil {
			return err
		}
		e.write(opTuple1)
		e.memoPut()
		e.write(opReduce)
		putMemo(&e.ptrMemo, v, e.memoPut())
		return nil
	}
	if v.Kind == KindFrozenSet {
		e.write(opMark)
		for _, it := range v.Items {
			if err := e.save(it, false, depth+1); err != nil {
				return err
			}
		}
		e.write(opFrozenSet)
		putMemo(&e.ptrMemo, v, e.memoPut())
		return nil
	}
	e.write(opEmptySet)
	putMemo(&e.ptrMemo, v, e.memoPut())
	if len(v.Items) == 0 {
		return nil
	}
	for start := 0; ; start += pickleBatchSize {
		end := min(start+pickleBatchSize, len(v.Items))
		e.write(opMark)
		for _, it := range v.Items[start:end] {
			if err := e.save(it, false, depth+1); err != nil {
				return err
			}
		}
		e.write(opAddItems)
		if end-start < pickleBatchSize {
			return nil
		}
	}
}

// hashable refuses what Python cannot use as a dict key or set item.
func hashable(v *Value, what string) error {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case KindList, KindDict, KindSet:
		return errors.New("cannot pickle a " + v.Kind.String() + " as a " + what + " (unhashable in Python)")
	case KindTuple:
		for _, it := range v.Items {
			if err := hashable(it, what); err != nil {
				return err
			}
		}
	}
	return nil
}
