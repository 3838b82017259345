package pickle

import (
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cachectl/cachectl/internal/serial/value"
)

// Encode writes v as pickle.dumps(obj, protocol) does (protocols 2-5).
// Every kind Decode produces can be written except the cycle and
// truncation markers and msgpack extensions:
//
//   - None, bool, int, float, str, bytes, list, tuple, dict, set and
//     frozenset as their Python types (bytes as _codecs.encode(latin1 text,
//     "latin1") with protocol 2, which has no bytes opcode; set and frozenset
//     as set(list) and frozenset(list) below protocol 4).
//   - datetime, date and time as CPython pickles them: the class called with
//     the packed state bytes and the tzinfo. A fixed offset is
//     datetime.timezone(timedelta(...)), offset 0 the timezone.utc singleton,
//     a named zone zoneinfo.ZoneInfo._unpickle(key, 1) (the method got with
//     getattr), as zoneinfo reduces itself. A named zone's offset is not
//     stored: Python (and Decode) compute it from the zone, so a value
//     whose offset is not the one zoneinfo gives the zone then (pytz's LMT,
//     say) is refused; one with a zone and no offset is written, and reads
//     back with the offset. CPython writes fold=1 only from protocol 4 (and
//     drops it below, for older readers): it is refused below 4.
//   - timedelta as timedelta(days, seconds, microseconds); decimal.Decimal as
//     Decimal(text), the text as it is; uuid.UUID as CPython 3.11 writes it,
//     UUID.__new__(UUID) (NEWOBJ) and BUILD {'int': n}.
//   - A dict whose Str names collections.OrderedDict, Counter or defaultdict
//     as those classes reduce themselves: OrderedDict() and the items,
//     Counter(dict), defaultdict(factory) and the items (the factory is the
//     one Item; no Item for none).
//   - An Object with no Items and no State is a reference to the class or
//     function it names: GLOBAL, STACK_GLOBAL from protocol 4, and below 4 a
//     nested name as getattr(parent, "name"), as CPython writes them. Other
//     Objects are calls: cls.__new__(cls) (NEWOBJ) for no arguments when the
//     name looks like a class (its last part starts with a capital) or there
//     is a State, else name(*Items) (REDUCE); then BUILD with the State.
//     That is how CPython writes an instance of a plain class or dataclass
//     (its __dict__ the State); a namedtuple or an exception loads either
//     way. Where Decode would read the REDUCE as a natural node
//     (Object "decimal.Decimal" ["1.5"], which came from a NEWOBJ), NEWOBJ
//     is written, so the tree reads back the same.
//   - The Objects the decoder makes of shapes it keeps as data are written
//     back as those shapes: "<call>" and "<new>" (the callable first),
//     copyreg.extension (EXT1/2/4), datetime.datetime or time(naive value,
//     tzinfo of another class), collections.deque(iterable, maxlen, items
//     appended), zoneinfo.ZoneInfo(key) and datetime.timezone(timedelta(0)).
//
// A name does not say where the module ends: it is taken as the first part
// and each following part that does not start with a capital, never the
// last ("app.models.Order.Kind" is Kind nested in app.models.Order,
// "os.path.join" is join in os.path). Protocol 2 writes Python 2 names as
// CPython does (builtins.str as __builtin__.unicode); a name whose Python 2
// name reads back as another one is written unmapped, and refused when that
// reads back changed too (a module named Queue).
//
// What Decode cannot tell apart is written one way: the state of a
// class with __slots__ (merged into one dict, which Python's default BUILD
// sets as __dict__), the keyword arguments of NEWOBJ_EX and the items that
// APPENDS or SETITEMS add to a list or dict subclass (arguments of the
// call, except for a deque with a maxlen).
//
// For the objects json.loads returns, and for datetimes, dates, times,
// timedeltas, Decimals (their str()), UUIDs, OrderedDicts, Counters,
// defaultdicts, deques with a maxlen, class and function references and
// instances whose class takes no constructor arguments, the output is
// byte-identical to CPython 3.11's C pickler, framing (protocol 4+) and memo
// included. CPython memoizes by object identity, so the encoder shares what
// CPython does: equal dict keys are one object (json.loads reuses them), as
// are the empty str and bytes and one-character Latin-1 strs and bytes
// (cached), the attribute names of an object's state (interned; in 3.11 the
// interned "x" of some letters is not the cached "x"), module names (one
// object per module; another for builtin functions), timezone.utc and the
// ZoneInfo of one key; any node reached twice through the same pointer is
// one object too.
//
// Decode reads the output back to an equal tree, except for a named
// zone without its offset (read back with it).
func Encode(v *value.Value, protocol int) ([]byte, error) {
	if protocol < 2 || protocol > 5 {
		return nil, errors.New("cannot pickle with protocol " + strconv.Itoa(protocol) + " (valid: 2-5)")
	}
	e := &pickleEncoder{proto: protocol, frameStart: -1}
	e.out = append(e.out, opProto, byte(protocol))
	e.framing = protocol >= 4
	if err := e.save(v, poolNone, 0); err != nil {
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

// strPool says which str objects CPython would share with a str of equal
// text (the pickle memo works by object identity).
type strPool uint8

const (
	poolNone     strPool = iota // its own object: shared only through the same *Value
	poolKey                     // a dict key: json.loads reuses equal keys
	poolAttr                    // an interned identifier: state keys, "int" of UUID, "latin1"
	poolModule                  // a module name, as classes hold it in __module__
	poolModuleFn                // "builtins" as builtin functions hold it (another object)
)

type pickleEncoder struct {
	proto      int
	out        []byte
	framing    bool
	frameStart int // offset of the open frame's header, -1 when none

	memoLen uint32
	ptrMemo map[*value.Value]uint32 // containers, bytes, str and objects by identity
	chrMemo map[string]uint32       // "" and one-character Latin-1 strings (cached by CPython)
	shared  map[string]uint32       // strs by pool and text; "\x01" + bytes of 0-1 byte; "\x00utc"; "\x00zone\x00" + key
	globals map[string]uint32       // classes and functions, "module\nqualname"

	// zones looks up named zones as Decode will when it reads the
	// output (in the same order, with the same limits).
	zones *pickleDecoder
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
// before saving each object (so before each part of a reduce too).
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

// memoized writes a GET and reports true when v was written before.
func (e *pickleEncoder) memoized(v *value.Value) bool {
	if idx, ok := e.ptrMemo[v]; ok {
		e.memoGet(idx)
		return true
	}
	return false
}

func putMemo[K comparable](m *map[K]uint32, k K, idx uint32) {
	if *m == nil {
		*m = make(map[K]uint32)
	}
	(*m)[k] = idx
}

// reduceTuple closes the arguments just written into a tuple (tupleOp is
// TUPLE1, TUPLE2 or TUPLE3), memoized as Pickler does, and calls the
// callable written before them. The caller memoizes the result or not.
func (e *pickleEncoder) reduceTuple(tupleOp byte) {
	e.write(tupleOp)
	e.memoPut()
	e.write(opReduce)
}

// ---- values ----

func (e *pickleEncoder) save(v *value.Value, pool strPool, depth int) error {
	if depth > value.WalkDepthLimit {
		return errors.New("cannot pickle: nesting deeper than " + strconv.Itoa(value.WalkDepthLimit) + " levels")
	}
	if v == nil {
		v = &value.Value{Kind: value.KindNone}
	}
	e.boundary()
	var err error
	switch v.Kind {
	case value.KindNone:
		e.write(opNone)
	case value.KindBool:
		if v.Bool {
			e.write(opNewTrue)
		} else {
			e.write(opNewFalse)
		}
	case value.KindInt:
		e.saveInt(v)
	case value.KindFloat:
		bits := math.Float64bits(v.Float)
		if bits == goNaN {
			bits = pythonNaN
		}
		var b [9]byte
		b[0] = opBinFloat
		binary.BigEndian.PutUint64(b[1:], bits)
		e.write(b[:]...)
	case value.KindStr:
		err = e.saveStr(v, pool)
	case value.KindBytes:
		e.saveBytes(v)
	case value.KindList:
		err = e.saveList(v, depth)
	case value.KindTuple:
		err = e.saveTuple(v, depth)
	case value.KindDict:
		err = e.saveDict(v, poolKey, depth)
	case value.KindSet, value.KindFrozenSet:
		err = e.saveSet(v, depth)
	case value.KindDateTime, value.KindDate, value.KindTime:
		err = e.saveTemporal(v)
	case value.KindTimeDelta:
		err = e.saveTimeDelta(v)
	case value.KindDecimal:
		err = e.saveDecimal(v)
	case value.KindUUID:
		err = e.saveUUID(v, depth)
	case value.KindObject:
		err = e.saveObject(v, depth)
	default:
		return errors.New("cannot pickle " + v.Kind.String())
	}
	return err
}

// saveInt is save_long: BININT1/BININT2/BININT when it fits a signed 32-bit
// int, else LONG1/LONG4 with the shortest little-endian two's complement.
func (e *pickleEncoder) saveInt(v *value.Value) {
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

func (e *pickleEncoder) saveStr(v *value.Value, pool strPool) error {
	s := v.Str
	if !utf8.ValidString(s) {
		return errors.New("cannot pickle a str that is not valid UTF-8")
	}
	r, size := utf8.DecodeRuneInString(s)
	cached := s == "" || (size == len(s) && r < 0x100)
	if cached && pool == poolAttr && len(s) == 1 && strings.Contains(frozenIdentChars, s) {
		cached = false
	}
	var idx uint32
	var ok bool
	switch {
	case cached:
		idx, ok = e.chrMemo[s]
	case pool == poolNone:
		idx, ok = e.ptrMemo[v]
	default:
		idx, ok = e.shared[string(rune('0'+pool))+s]
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
	case pool == poolNone:
		putMemo(&e.ptrMemo, v, idx)
	default:
		putMemo(&e.shared, string(rune('0'+pool))+s, idx)
	}
	return nil
}

// frozenIdentChars are the one-character identifiers whose interned str in
// CPython 3.11 is not the cached Latin-1 character (a deep-frozen module
// interned its own first): an attribute named "x" is another object than
// the "x" of data.
const frozenIdentChars = "BCLST_abcdefhijklmnopqrstvwxy"

// str saves the text s as a str of pool (poolNone: a new object).
func (e *pickleEncoder) str(pool strPool, s string) {
	e.boundary()
	_ = e.saveStr(&value.Value{Kind: value.KindStr, Str: s}, pool) // s is valid UTF-8 wherever this is called
}

// small saves an int the encoder chooses (never memoized).
func (e *pickleEncoder) small(i int64) {
	e.boundary()
	e.saveInt(&value.Value{Kind: value.KindInt, Int: i})
}

func (e *pickleEncoder) saveBytes(v *value.Value) {
	b := v.Bytes
	// CPython caches b'' and the one-byte bytes: one object per value.
	single := ""
	if len(b) <= 1 {
		single = "\x01" + string(b)
		if idx, ok := e.shared[single]; ok {
			e.memoGet(idx)
			return
		}
	}
	if e.memoized(v) {
		return
	}
	remember := func(idx uint32) {
		if single != "" {
			putMemo(&e.shared, single, idx)
		} else {
			putMemo(&e.ptrMemo, v, idx)
		}
	}
	if e.proto < 3 {
		// Protocol 2 has no bytes opcode: codecs.encode(latin1 text, "latin1"),
		// which Python 2 reads as a str and Python 3 as bytes.
		if len(b) == 0 {
			_ = e.global("builtins", "bytes")
			e.write(opEmptyTuple, opReduce) // no frames below protocol 4
		} else {
			_ = e.global("_codecs", "encode")
			text := make([]rune, len(b))
			for i, c := range b {
				text[i] = rune(c)
			}
			e.str(poolNone, string(text))
			e.str(poolAttr, "latin1")
			e.reduceTuple(opTuple2)
		}
		remember(e.memoPut())
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
	remember(e.memoPut())
}

// ---- containers ----

func (e *pickleEncoder) saveList(v *value.Value, depth int) error {
	if e.memoized(v) {
		return nil
	}
	e.write(opEmptyList)
	putMemo(&e.ptrMemo, v, e.memoPut())
	return e.appends(v.Items, depth)
}

// appends is batch_list_exact: one APPEND for a single item, else batches
// of MARK ... APPENDS.
func (e *pickleEncoder) appends(items []*value.Value, depth int) error {
	if len(items) == 1 {
		if err := e.save(items[0], poolNone, depth+1); err != nil {
			return err
		}
		e.write(opAppend)
		return nil
	}
	for start := 0; start < len(items); start += pickleBatchSize {
		e.write(opMark)
		for _, it := range items[start:min(start+pickleBatchSize, len(items))] {
			if err := e.save(it, poolNone, depth+1); err != nil {
				return err
			}
		}
		e.write(opAppends)
	}
	return nil
}

func (e *pickleEncoder) saveTuple(v *value.Value, depth int) error {
	n := len(v.Items)
	if n == 0 {
		e.write(opEmptyTuple)
		return nil
	}
	if e.memoized(v) {
		return nil
	}
	if n > 3 {
		e.write(opMark)
	}
	for _, it := range v.Items {
		if err := e.save(it, poolNone, depth+1); err != nil {
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

// args saves the argument tuple of a call (a new tuple object).
func (e *pickleEncoder) args(items []*value.Value, depth int) error {
	e.boundary()
	return e.saveTuple(&value.Value{Kind: value.KindTuple, Items: items}, depth)
}

// saveDict writes a dict (keys shared as keys says) or, when its Str names
// one, an OrderedDict, Counter or defaultdict.
func (e *pickleEncoder) saveDict(v *value.Value, keys strPool, depth int) error {
	if e.memoized(v) {
		return nil
	}
	for _, p := range v.Pairs {
		if err := hashable(p.Key, "dict key"); err != nil {
			return err
		}
	}
	if v.Str != "collections.defaultdict" && len(v.Items) > 0 {
		return errors.New("cannot pickle a dict with items beside its pairs (only a defaultdict has one: its factory)")
	}
	switch v.Str {
	case "":
		e.write(opEmptyDict)
		putMemo(&e.ptrMemo, v, e.memoPut())
		return e.setItemsExact(v.Pairs, keys, depth)
	case "collections.OrderedDict":
		// OrderedDict.__reduce__: OrderedDict() and the items from an iterator.
		_ = e.global("collections", "OrderedDict")
		_ = e.args(nil, depth)
		e.write(opReduce)
		putMemo(&e.ptrMemo, v, e.memoPut())
		return e.setItems(v.Pairs, depth)
	case "collections.defaultdict":
		// defaultdict.__reduce__: defaultdict(factory), () for no factory,
		// and the items from an iterator.
		if len(v.Items) > 1 {
			return errors.New("cannot pickle a defaultdict with " + strconv.Itoa(len(v.Items)) + " factories")
		}
		_ = e.global("collections", "defaultdict")
		if err := e.args(v.Items, depth); err != nil {
			return err
		}
		e.write(opReduce)
		putMemo(&e.ptrMemo, v, e.memoPut())
		return e.setItems(v.Pairs, depth)
	case "collections.Counter":
		// Counter.__reduce__: Counter(dict(self)).
		_ = e.global("collections", "Counter")
		e.boundary()
		if err := e.saveDict(&value.Value{Kind: value.KindDict, Pairs: v.Pairs}, poolKey, depth); err != nil {
			return err
		}
		e.reduceTuple(opTuple1)
		putMemo(&e.ptrMemo, v, e.memoPut())
		return nil
	}
	return errors.New("cannot pickle a dict of class " + v.Str + " (only collections.OrderedDict, Counter and defaultdict)")
}

func (e *pickleEncoder) item(p value.Pair, keys strPool, depth int) error {
	if err := e.save(p.Key, keys, depth+1); err != nil {
		return err
	}
	return e.save(p.Value, poolNone, depth+1)
}

// setItemsExact is batch_dict_exact: SETITEM for a single item, else
// batches of MARK ... SETITEMS, the last one empty when the size is a
// multiple of the batch size (as CPython writes it).
func (e *pickleEncoder) setItemsExact(pairs []value.Pair, keys strPool, depth int) error {
	if len(pairs) == 0 {
		return nil
	}
	if len(pairs) == 1 {
		if err := e.item(pairs[0], keys, depth); err != nil {
			return err
		}
		e.write(opSetItem)
		return nil
	}
	for start := 0; ; start += pickleBatchSize {
		end := min(start+pickleBatchSize, len(pairs))
		e.write(opMark)
		for _, p := range pairs[start:end] {
			if err := e.item(p, keys, depth); err != nil {
				return err
			}
		}
		e.write(opSetItems)
		if end-start < pickleBatchSize {
			return nil
		}
	}
}

// setItems is batch_dict, for the items a reduce gives as an iterator.
func (e *pickleEncoder) setItems(pairs []value.Pair, depth int) error {
	return batched(e, pairs, opSetItem, opSetItems, func(p value.Pair) error {
		return e.item(p, poolKey, depth)
	})
}

// saveSet is save_set / save_frozenset: EMPTY_SET + ADDITEMS batches and
// MARK ... FROZENSET from protocol 4, set(list) / frozenset(list) before.
func (e *pickleEncoder) saveSet(v *value.Value, depth int) error {
	for _, it := range v.Items {
		if err := hashable(it, "set item"); err != nil {
			return err
		}
	}
	if e.memoized(v) {
		return nil
	}
	if e.proto < 4 {
		name := "set"
		if v.Kind == value.KindFrozenSet {
			name = "frozenset"
		}
		_ = e.global("builtins", name)
		e.write(opEmptyList)
		e.memoPut()
		if err := e.appends(v.Items, depth); err != nil {
			return err
		}
		e.reduceTuple(opTuple1)
		putMemo(&e.ptrMemo, v, e.memoPut())
		return nil
	}
	if v.Kind == value.KindFrozenSet {
		e.write(opMark)
		for _, it := range v.Items {
			if err := e.save(it, poolNone, depth+1); err != nil {
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
			if err := e.save(it, poolNone, depth+1); err != nil {
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
func hashable(v *value.Value, what string) error {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case value.KindList, value.KindDict, value.KindSet:
		return errors.New("cannot pickle a " + v.Kind.String() + " as a " + what + " (unhashable in Python)")
	case value.KindTuple:
		for _, it := range v.Items {
			if err := hashable(it, what); err != nil {
				return err
			}
		}
	}
	return nil
}

// ---- classes and functions ----

// splitGlobal splits a qualified name into the module and the qualified
// name inside it: the module is the first part and each following part that
// does not start with a capital letter, but never the last part.
func splitGlobal(name string) (module, qualname string, ok bool) {
	parts := strings.Split(name, ".")
	if len(parts) < 2 {
		return "", "", false
	}
	k := 1
	for k < len(parts)-1 && moduleLike(parts[k]) {
		k++
	}
	return strings.Join(parts[:k], "."), strings.Join(parts[k:], "."), true
}

func moduleLike(part string) bool {
	p := strings.TrimLeft(part, "_")
	return p != "" && !(p[0] >= 'A' && p[0] <= 'Z')
}

// classLike reports whether the last part of a qualified name starts with a
// capital letter (classes do by convention, functions do not).
func classLike(qualname string) bool {
	last := qualname[strings.LastIndexByte(qualname, '.')+1:]
	last = strings.TrimLeft(last, "_")
	return last != "" && last[0] >= 'A' && last[0] <= 'Z'
}

// builtinTypes are the lower-case classes of builtins: their __module__ is
// one interned "builtins", the builtin functions hold another.
var builtinTypes = map[string]bool{
	"bool": true, "bytearray": true, "bytes": true, "classmethod": true, "complex": true, "dict": true,
	"enumerate": true, "filter": true, "float": true, "frozenset": true, "int": true, "list": true,
	"map": true, "memoryview": true, "object": true, "property": true, "range": true, "reversed": true,
	"set": true, "slice": true, "staticmethod": true, "str": true, "super": true, "tuple": true,
	"type": true, "zip": true,
}

func isGlobalNode(v *value.Value) bool {
	return v != nil && v.Kind == value.KindObject && v.Items == nil && v.State == nil
}

// globalName writes a reference to the class or function name ("module.Qualname").
func (e *pickleEncoder) globalName(name string) error {
	module, qualname, ok := splitGlobal(name)
	if !ok {
		return errors.New("cannot pickle a reference to " + strconv.Quote(name) + ": not a qualified name (module.Name)")
	}
	return e.global(module, qualname)
}

// global writes a reference to module.qualname, memoized once: STACK_GLOBAL
// from protocol 4; below it GLOBAL with Python 2 names for protocol 2, and a
// nested name as getattr(parent, "name"), as CPython 3.11 writes them.
func (e *pickleEncoder) global(module, qualname string) error {
	e.boundary()
	key := module + "\n" + qualname
	if idx, ok := e.globals[key]; ok {
		e.memoGet(idx)
		return nil
	}
	switch i := strings.LastIndexByte(qualname, '.'); {
	case e.proto >= 4:
		pool := poolModule
		if module == "builtins" && !builtinTypes[qualname] && !classLike(qualname) {
			pool = poolModuleFn
		}
		e.str(pool, module)
		e.str(poolNone, qualname)
		e.write(opStackGlobal)
	case i >= 0:
		if err := e.checkGlobalLine(module, qualname[:strings.IndexByte(qualname, '.')]); err != nil {
			return err
		}
		_ = e.global("builtins", "getattr")
		if err := e.global(module, qualname[:i]); err != nil {
			return err
		}
		e.str(poolNone, qualname[i+1:])
		e.reduceTuple(opTuple2)
	default:
		if err := e.checkGlobalLine(module, qualname); err != nil {
			return err
		}
		m, n := module, qualname
		if e.proto < 3 {
			m, n, _ = py2Global(module, qualname)
		}
		e.write(opGlobal)
		e.writeString(m + "\n" + n + "\n")
	}
	putMemo(&e.globals, key, e.memoPut())
	return nil
}

// checkGlobalLine refuses a module and name that GLOBAL cannot hold, or
// that protocol 2 cannot name so that the reader gets them back.
func (e *pickleEncoder) checkGlobalLine(module, name string) error {
	if strings.ContainsRune(module+name, '\n') {
		return errors.New("cannot pickle a reference to " + strconv.Quote(module+"."+name) + " with protocol " + strconv.Itoa(e.proto) + ": the name holds a newline")
	}
	if e.proto < 3 {
		if _, _, ok := py2Global(module, name); !ok {
			rm, rn := py2Name(module, name)
			return errors.New("cannot pickle a reference to " + module + "." + name + " with protocol 2: Python reads that name as " +
				rm + "." + rn + " (Python 2 names); use protocol 3 or higher")
		}
	}
	return nil
}

// ---- objects ----

// saveObject writes an Object node: a class or function reference, a call
// with its state, or one of the shapes the decoder keeps as data.
func (e *pickleEncoder) saveObject(v *value.Value, depth int) error {
	if isGlobalNode(v) {
		return e.globalName(v.Str)
	}
	if e.memoized(v) {
		return nil
	}
	items := v.Items
	var appended []*value.Value // items a reduce appends after the call (APPENDS)
	switch {
	case v.Str == "<call>" || v.Str == "<new>":
		// A call of something that is not a global: the callable comes first.
		if len(items) == 0 {
			return errors.New("cannot pickle an object " + v.Str + " without its callable (the first item)")
		}
		if isGlobalNode(items[0]) {
			return errors.New("cannot pickle an object " + v.Str + " whose callable is the global " + items[0].Str +
				" (name the object after the global instead)")
		}
		if err := e.save(items[0], poolNone, depth+1); err != nil {
			return err
		}
		if err := e.args(items[1:], depth); err != nil {
			return err
		}
		if v.Str == "<new>" {
			e.write(opNewObj)
		} else {
			e.write(opReduce)
		}
	case v.Str == "copyreg.extension" && len(items) == 1 && items[0] != nil && items[0].Kind == value.KindInt &&
		items[0].Big == nil && items[0].Int > 0 && items[0].Int <= math.MaxInt32:
		// An extension code (copyreg.add_extension), as the pickle had it.
		code := items[0].Int
		switch {
		case code <= 0xff:
			e.write(opExt1, byte(code))
		case code <= 0xffff:
			e.write(opExt2, byte(code), byte(code>>8))
		default:
			var b [5]byte
			b[0] = opExt4
			binary.LittleEndian.PutUint32(b[1:], uint32(code))
			e.write(b[:]...)
		}
		return e.build(v.State, depth) // EXT objects are not memoized
	case v.State == nil && v.Str == "zoneinfo.ZoneInfo" && len(items) == 1 && items[0] != nil && items[0].Kind == value.KindStr:
		return e.saveZone(items[0].Str)
	case v.State == nil && v.Str == "datetime.timezone" && len(items) == 1 && items[0] != nil &&
		items[0].Kind == value.KindTimeDelta && items[0].TD != nil && *items[0].TD == (value.TimeDelta{}):
		e.saveUTC()
		return nil
	case v.Str == "collections.deque" && len(items) == 3 && items[2] != nil && items[2].Kind == value.KindList && len(items[2].Items) > 0:
		// deque.__reduce__ with a maxlen: deque((), maxlen) and the items
		// appended, which the decoder collects into a third argument.
		_ = e.global("collections", "deque")
		if err := e.args(items[:2], depth); err != nil {
			return err
		}
		e.write(opReduce)
		appended = items[2].Items
	case e.foreignTZ(v):
		// datetime(naive, tzinfo) with a tzinfo of another class: write it
		// as datetime does, the state bytes and the tzinfo.
		dt := items[0]
		_ = e.global("datetime", kindClasses[dt.Kind][len("datetime."):])
		payload, err := e.payload(dt.Kind, dt.DT) // the naive fields
		if err != nil {
			return err
		}
		e.boundary()
		e.saveBytes(&value.Value{Kind: value.KindBytes, Bytes: payload})
		if err := e.save(items[1], poolNone, depth+1); err != nil {
			return err
		}
		e.reduceTuple(opTuple2)
	default:
		module, qualname, ok := splitGlobal(v.Str)
		if !ok {
			return errors.New("cannot pickle an object of " + strconv.Quote(v.Str) + ": not a qualified class name (module.Name)")
		}
		newObj := len(items) == 0 && (v.State != nil || classLike(qualname))
		if !newObj && reduceConverts(v.Str, items) {
			newObj = true
		}
		if err := e.global(module, qualname); err != nil {
			return err
		}
		if err := e.args(items, depth); err != nil {
			return err
		}
		if newObj {
			e.write(opNewObj)
		} else {
			e.write(opReduce)
		}
	}
	putMemo(&e.ptrMemo, v, e.memoPut())
	if err := e.appendItems(appended, depth); err != nil {
		return err
	}
	return e.build(v.State, depth)
}

// appendItems is batch_list, for the items a reduce gives as an iterator.
func (e *pickleEncoder) appendItems(items []*value.Value, depth int) error {
	return batched(e, items, opAppend, opAppends, func(it *value.Value) error {
		return e.save(it, poolNone, depth+1)
	})
}

// batched writes what a reduce gives as an iterator the way batch_list and
// batch_dict do: batches of MARK ... many, and one for a batch of one.
func batched[T any](e *pickleEncoder, xs []T, one, many byte, save func(T) error) error {
	for len(xs) > 0 {
		if len(xs) == 1 {
			if err := save(xs[0]); err != nil {
				return err
			}
			e.write(one)
			return nil
		}
		n := min(len(xs), pickleBatchSize)
		e.write(opMark)
		for _, x := range xs[:n] {
			if err := save(x); err != nil {
				return err
			}
		}
		e.write(many)
		xs = xs[n:]
	}
	return nil
}

// build writes BUILD with state, when there is one. A state dict is an
// object's __dict__: its keys are interned attribute names.
func (e *pickleEncoder) build(state *value.Value, depth int) error {
	if state == nil {
		return nil
	}
	if depth+1 > value.WalkDepthLimit {
		return errors.New("cannot pickle: nesting deeper than " + strconv.Itoa(value.WalkDepthLimit) + " levels")
	}
	var err error
	if state.Kind == value.KindDict && state.Str == "" {
		e.boundary()
		err = e.saveDict(state, poolAttr, depth+1)
	} else {
		err = e.save(state, poolNone, depth+1)
	}
	if err != nil {
		return err
	}
	e.write(opBuild)
	return nil
}

// reduceConverts reports whether Decode would read name(*args)
// (REDUCE) as something else than the object: a natural node or another
// name. Such objects came from NEWOBJ, and are written so.
func reduceConverts(name string, args []*value.Value) bool {
	code := knownGlobals[name]
	if code == gOther {
		return false
	}
	d := newPickleDecoder(nil, Limits{})
	fn := d.ref(name)
	for _, a := range args {
		if isGlobalNode(a) {
			d.refs[a] = knownGlobals[a.Str]
		}
	}
	return d.known(code, fn, args) != nil
}

// foreignTZ reports whether v is what the decoder makes of a datetime or
// time whose tzinfo is of a class it does not know: Object
// datetime.datetime (or time) with the naive value and the tzinfo.
func (e *pickleEncoder) foreignTZ(v *value.Value) bool {
	if v.State != nil || len(v.Items) != 2 {
		return false
	}
	dt, tz := v.Items[0], v.Items[1]
	if dt == nil || dt.DT == nil || tz == nil || tz.Kind == value.KindNone ||
		!(dt.Kind == value.KindDateTime || dt.Kind == value.KindTime) || v.Str != kindClasses[dt.Kind] {
		return false
	}
	if _, err := temporalPayload(dt.Kind, dt.DT); err != nil {
		return false
	}
	// The decoder must not recognize the tzinfo; what it sets before giving
	// up (the zone of a malformed pytz tzinfo) must be what the node holds.
	got := *dt.DT
	got.HasOffset, got.Offset, got.Zone = false, 0, ""
	if newPickleDecoder(nil, Limits{}).applyTZ(dt.Kind, &got, tz) || got != *dt.DT {
		return false
	}
	return true
}

// ---- datetime, timedelta, Decimal, UUID ----

// temporalPayload packs a datetime (10 bytes), date (4) or time (6) as
// their __reduce__ does, fold in the high bit of the month (datetime) or
// hour (time).
func temporalPayload(k value.Kind, dt *value.DateTime) ([]byte, error) {
	size := map[value.Kind]int{value.KindDateTime: 10, value.KindDate: 4, value.KindTime: 6}[k]
	check := *dt
	if k == value.KindTime {
		check.Year, check.Month, check.Day = 1, 1, 1
	}
	if check.Hour < 0 || check.Minute < 0 || check.Second < 0 || check.Microsecond < 0 || !validDT(size, &check) {
		return nil, errors.New("cannot pickle an invalid " + k.String() + " " + value.ISOTemporal(k, dt))
	}
	var fold byte
	if dt.Fold {
		fold = 0x80
	}
	us := dt.Microsecond
	clock := []byte{byte(dt.Hour), byte(dt.Minute), byte(dt.Second), byte(us >> 16), byte(us >> 8), byte(us)}
	switch k {
	case value.KindDate:
		return []byte{byte(dt.Year >> 8), byte(dt.Year), byte(dt.Month), byte(dt.Day)}, nil
	case value.KindTime:
		clock[0] |= fold
		return clock, nil
	}
	return append([]byte{byte(dt.Year >> 8), byte(dt.Year), byte(dt.Month) | fold, byte(dt.Day)}, clock...), nil
}

// payload is temporalPayload for the protocol: CPython writes the fold only
// from protocol 4 (older readers refuse the bit) and drops it below; the
// encoder refuses to drop it.
func (e *pickleEncoder) payload(k value.Kind, dt *value.DateTime) ([]byte, error) {
	if dt.Fold && e.proto < 4 {
		return nil, errors.New("cannot pickle " + k.String() + " " + value.ISOTemporal(k, dt) + " with fold=1 with protocol " +
			strconv.Itoa(e.proto) + ": Python writes the fold only from protocol 4 (and drops it below); use protocol 4 or 5")
	}
	return temporalPayload(k, dt)
}

func (e *pickleEncoder) saveTemporal(v *value.Value) error {
	dt := v.DT
	if dt == nil {
		return errors.New("cannot pickle a " + v.Kind.String() + " without its fields")
	}
	if e.memoized(v) {
		return nil
	}
	aware := dt.HasOffset || dt.Zone != ""
	if v.Kind == value.KindDate && (aware || dt.Fold) {
		return errors.New("cannot pickle a date with a time zone or fold")
	}
	payload, err := e.payload(v.Kind, dt)
	if err != nil {
		return err
	}
	if aware {
		if err := e.checkTZ(v.Kind, dt); err != nil {
			return err
		}
	}
	_ = e.global("datetime", kindClasses[v.Kind][len("datetime."):])
	e.boundary()
	e.saveBytes(&value.Value{Kind: value.KindBytes, Bytes: payload})
	if aware {
		switch {
		case dt.Zone != "":
			if err := e.saveZone(dt.Zone); err != nil {
				return err
			}
		case dt.Offset == 0:
			e.saveUTC()
		default:
			e.saveTimezone(dt.Offset)
		}
		e.reduceTuple(opTuple2)
	} else {
		e.reduceTuple(opTuple1)
	}
	putMemo(&e.ptrMemo, v, e.memoPut())
	return nil
}

// checkTZ refuses a zone and offset that do not read back as they are: an
// offset Python's timezone cannot hold, or a named zone whose offset is not
// the one zoneinfo gives it at that time (only the name is pickled).
func (e *pickleEncoder) checkTZ(k value.Kind, dt *value.DateTime) error {
	naive := *dt
	naive.HasOffset, naive.Offset, naive.Zone = false, 0, ""
	var tz *value.Value
	if dt.Zone != "" {
		tz = &value.Value{Kind: value.KindObject, Str: "zoneinfo.ZoneInfo", Items: []*value.Value{value.NewStr(dt.Zone)}}
	} else {
		tz = &value.Value{Kind: value.KindObject, Str: "datetime.timezone", Items: []*value.Value{offsetDelta(dt.Offset)}}
	}
	if e.zones == nil {
		e.zones = newPickleDecoder(nil, Limits{})
	}
	got := naive
	ok := e.zones.applyTZ(k, &got, tz)
	switch {
	case ok && got == *dt:
		return nil
	case dt.Zone == "":
		return errors.New("cannot pickle " + k.String() + " " + value.ISOTemporal(k, dt) +
			": datetime.timezone takes a whole number of microseconds strictly between -24h and +24h")
	case ok && !dt.HasOffset:
		return nil // Python computes the offset from the zone
	case got.HasOffset:
		return errors.New("cannot pickle " + k.String() + " " + value.ISOTemporal(k, dt) + ": zoneinfo gives " + dt.Zone +
			" the offset " + value.ISOOffset(got.Offset) + " then, and a pickle holds only the zone's name")
	}
	return errors.New("cannot pickle " + k.String() + " " + value.ISOTemporal(k, dt) + ": the offset of " + dt.Zone +
		" is not known here, and a pickle holds only the zone's name")
}

func offsetDelta(off time.Duration) *value.Value {
	td := value.NormalizeTimeDelta(0, 0, off.Microseconds())
	return &value.Value{Kind: value.KindTimeDelta, TD: &td}
}

// saveUTC writes datetime.timezone.utc, a singleton: timezone(timedelta(0)).
func (e *pickleEncoder) saveUTC() {
	e.boundary()
	if idx, ok := e.shared["\x00utc"]; ok {
		e.memoGet(idx)
		return
	}
	putMemo(&e.shared, "\x00utc", e.timezone(0))
}

// saveTimezone writes datetime.timezone(timedelta(...)), a new object.
func (e *pickleEncoder) saveTimezone(off time.Duration) {
	e.boundary()
	e.timezone(off)
}

func (e *pickleEncoder) timezone(off time.Duration) uint32 {
	_ = e.global("datetime", "timezone")
	e.boundary()
	e.timedelta(*offsetDelta(off).TD)
	e.reduceTuple(opTuple1)
	return e.memoPut()
}

// saveZone writes zoneinfo.ZoneInfo(key) as ZoneInfo.__reduce__ does:
// ZoneInfo._unpickle(key, 1), the method got by getattr. ZoneInfo caches
// its zones, so one key is one object.
func (e *pickleEncoder) saveZone(key string) error {
	if !utf8.ValidString(key) {
		return errors.New("cannot pickle a zone name that is not valid UTF-8")
	}
	e.boundary()
	if idx, ok := e.shared["\x00zone\x00"+key]; ok {
		e.memoGet(idx)
		return nil
	}
	_ = e.global("builtins", "getattr")
	e.boundary()
	_ = e.global("zoneinfo", "ZoneInfo")
	e.str(poolNone, "_unpickle") // the method's __name__, a new str each time
	e.reduceTuple(opTuple2)
	e.memoPut()
	e.str(poolNone, key)
	e.small(1) // from the cache
	e.reduceTuple(opTuple2)
	putMemo(&e.shared, "\x00zone\x00"+key, e.memoPut())
	return nil
}

// timedelta writes timedelta(days, seconds, microseconds) and returns its
// memo index.
func (e *pickleEncoder) timedelta(td value.TimeDelta) uint32 {
	_ = e.global("datetime", "timedelta")
	e.small(td.Days)
	e.small(td.Seconds)
	e.small(td.Microseconds)
	e.reduceTuple(opTuple3)
	return e.memoPut()
}

func (e *pickleEncoder) saveTimeDelta(v *value.Value) error {
	if v.TD == nil {
		return errors.New("cannot pickle a timedelta without its fields")
	}
	if e.memoized(v) {
		return nil
	}
	td := value.NormalizeTimeDelta(v.TD.Days, v.TD.Seconds, v.TD.Microseconds)
	if td.Days < -999999999 || td.Days > 999999999 {
		return errors.New("cannot pickle timedelta " + td.Repr() + ": Python's limit is 999999999 days")
	}
	putMemo(&e.ptrMemo, v, e.timedelta(td))
	return nil
}

// saveDecimal writes Decimal(text), as Decimal.__reduce__ does with
// str(self): the text is written as it is.
func (e *pickleEncoder) saveDecimal(v *value.Value) error {
	if !validDecimal(v.Str) || strings.TrimSpace(v.Str) != v.Str {
		return errors.New("cannot pickle decimal " + strconv.Quote(v.Str) + ": not the text of a Decimal")
	}
	if e.memoized(v) {
		return nil
	}
	_ = e.global("decimal", "Decimal")
	e.str(poolNone, v.Str)
	e.reduceTuple(opTuple1)
	putMemo(&e.ptrMemo, v, e.memoPut())
	return nil
}

// saveUUID writes a uuid.UUID as CPython 3.11 does: UUID.__new__(UUID)
// (copyreg's protocol 2 reduce) and BUILD with __getstate__'s {'int': n}
// (is_safe is not kept, so it is unknown and left out as UUID leaves it).
func (e *pickleEncoder) saveUUID(v *value.Value, depth int) error {
	if len(v.Bytes) != 16 {
		return errors.New("cannot pickle a uuid of " + strconv.Itoa(len(v.Bytes)) + " bytes (want 16)")
	}
	if e.memoized(v) {
		return nil
	}
	_ = e.global("uuid", "UUID")
	_ = e.args(nil, depth)
	e.write(opNewObj)
	putMemo(&e.ptrMemo, v, e.memoPut())
	n := value.NewBigInt(new(big.Int).SetBytes(v.Bytes))
	return e.build(value.NewDict(value.Pair{Key: value.NewStr("int"), Value: n}), depth)
}
