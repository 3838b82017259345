// Package pickle decodes and encodes Python pickles (protocols 0-5) without
// running anything: Decode turns a pickle into a Value tree, Encode writes a
// tree as pickle.dumps does.
package pickle

import (
	"encoding/binary"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cachectl/cachectl/internal/pyrepr"
	"github.com/cachectl/cachectl/internal/serial/value"
)

// Pickle decoding: a parse-only interpreter of the pickle virtual machine
// (protocols 0-5). It never imports or calls anything: a global becomes a
// name, a call becomes data (README: "Values: what get decodes").
//
// We wrote our own instead of using a library: nlpodyssey/gopickle is served
// here only at v0.2.0 and has no allocation limits (a small hostile pickle can
// exhaust memory through it), and kisielk/og-rek's decoder lacks BUILD, NEWOBJ,
// sets and LONG4, which every dataclass, UUID and protocol-4 set needs. Ours
// keeps every limit in Limits, and turns the known reducers into natural nodes.
//
// How Python values map to the tree:
//   - None, bool, int, float, str, bytes, bytearray, list, tuple, dict, set and
//     frozenset become their kinds (bytearray is Bytes, as in JSON). Python 2
//     str (STRING, BINSTRING) is Str when ASCII, else Bytes.
//   - datetime.datetime/date/time, timedelta, decimal.Decimal and uuid.UUID
//     become their kinds. A datetime's tzinfo sets Offset (datetime.timezone,
//     pytz) or Zone (zoneinfo.ZoneInfo, pytz); a named zone's offset is looked
//     up in the system time-zone database, as Python's zoneinfo does (fold
//     included), and left out when the zone is unknown there. The name of a
//     datetime.timezone is dropped, as isoformat() drops it. A datetime whose
//     tzinfo is another class stays an object datetime.datetime(naive, tzinfo).
//   - collections.OrderedDict, Counter and defaultdict become Dicts (natural
//     JSON objects) whose Str names the class for the text rendering;
//     defaultdict's factory is the Dict's one Item.
//   - Any other call or instance becomes an Object node: Str the qualified
//     name ("module.Qualname", Python 2 names mapped as _compat_pickle does),
//     Items the constructor arguments, State what BUILD passed. Items that
//     SETITEM(S) or APPEND(S)/ADDITEMS add to such an object (dict and list
//     subclasses, deque) are collected in one dict (or list)
//     appended to Items, so a dict subclass reads as
//     app.Registry({'a': [1]}). NEWOBJ_EX's keyword
//     arguments are appended to Items as a dict when there are any.
//   - A BUILD state (dict or None, slots dict), what the default __setstate__
//     of a class with __slots__ receives, is merged into one dict; any other
//     state is kept as it is.
//   - A class or function used as a value (defaultdict's factory, an Enum
//     member pickled by name through getattr) is a NewGlobal node: an Object
//     with nil Items and no state. getattr(global, "name") is the global
//     "module.Class.name". Calling something that is not a global keeps both
//     as data: Object "<call>" (or "<new>" for NEWOBJ) with the callable as
//     its first argument. EXT1/2/4 push Object "copyreg.extension" with the
//     registry code as its argument.
//   - Refused with an error: persistent IDs (PERSID, BINPERSID), out-of-band
//     buffers (NEXT_BUFFER, READONLY_BUFFER), BUILD on None/bool/int/float/
//     str/bytes (Python fails too), and anything after STOP.
//   - A container that contains itself is cut with a cycle marker; shared
//     references are shared (or copied where a cycle is cut). The tree,
//     counted with repetition, may hold at most twice the nodes and
//     references the pickle made (plus 65536), and no more than MaxBytes
//     worth: what exceeds it becomes a truncated marker, so walking or
//     rendering the tree costs about what reading the pickle did.

// Limits bounds the work and memory of Decode. A zero field takes its
// value from DefaultLimits.
type Limits struct {
	MaxDepth int // container nesting (deeper pickles are refused)
	MaxMemo  int // memo entries: the highest memo index a pickle may use, plus one
	// MaxItems keeps only the first MaxItems items of each container (the rest
	// become a truncated marker); 0 keeps all, bounded only by MaxBytes.
	MaxItems int
	// MaxBytes bounds the approximate memory of the decoded tree (nodes, item
	// slices, text), with shared references counted each time they appear in
	// the tree. A pickle that needs more to parse is refused; a tree that only
	// grows past it by repeating shared references is cut with a truncated marker.
	MaxBytes int64
}

// DefaultLimits are the limits of detection and `get`.
var DefaultLimits = Limits{MaxDepth: value.MaxDepth, MaxMemo: 1 << 20, MaxItems: 0, MaxBytes: 256 << 20}

// Pickle opcodes (pickletools.opcodes).
const (
	opMark            = '('
	opStop            = '.'
	opPop             = '0'
	opPopMark         = '1'
	opDup             = '2'
	opFloat           = 'F'
	opInt             = 'I'
	opBinInt          = 'J'
	opBinInt1         = 'K'
	opLong            = 'L'
	opBinInt2         = 'M'
	opNone            = 'N'
	opPersID          = 'P'
	opBinPersID       = 'Q'
	opReduce          = 'R'
	opString          = 'S'
	opBinString       = 'T'
	opShortBinString  = 'U'
	opUnicode         = 'V'
	opBinUnicode      = 'X'
	opAppend          = 'a'
	opBuild           = 'b'
	opGlobal          = 'c'
	opDict            = 'd'
	opEmptyDict       = '}'
	opAppends         = 'e'
	opGet             = 'g'
	opBinGet          = 'h'
	opInst            = 'i'
	opLongBinGet      = 'j'
	opList            = 'l'
	opEmptyList       = ']'
	opObj             = 'o'
	opPut             = 'p'
	opBinPut          = 'q'
	opLongBinPut      = 'r'
	opSetItem         = 's'
	opTuple           = 't'
	opEmptyTuple      = ')'
	opSetItems        = 'u'
	opBinFloat        = 'G'
	opProto           = 0x80
	opNewObj          = 0x81
	opExt1            = 0x82
	opExt2            = 0x83
	opExt4            = 0x84
	opTuple1          = 0x85
	opTuple2          = 0x86
	opTuple3          = 0x87
	opNewTrue         = 0x88
	opNewFalse        = 0x89
	opLong1           = 0x8a
	opLong4           = 0x8b
	opBinBytes        = 'B'
	opShortBinBytes   = 'C'
	opShortBinUnicode = 0x8c
	opBinUnicode8     = 0x8d
	opBinBytes8       = 0x8e
	opEmptySet        = 0x8f
	opAddItems        = 0x90
	opFrozenSet       = 0x91
	opNewObjEx        = 0x92
	opStackGlobal     = 0x93
	opMemoize         = 0x94
	opFrame           = 0x95
	opByteArray8      = 0x96
	opNextBuffer      = 0x97
	opReadOnlyBuffer  = 0x98
)

// Approximate costs charged against Limits.MaxBytes.
const (
	valueCost = 144 + 8 // a Value, plus its pointer in a parent
	pairCost  = 16
	ptrCost   = 8
)

// maxLongBytes bounds LONG1/LONG4: a longer integer has more than MaxIntDigits
// decimal digits (Python refuses to print those too).
const maxLongBytes = (value.MaxIntDigits*3322/1000)/8 + 2

// Decode decodes a complete pickle (protocol 0-5): the whole input up to
// and including STOP, nothing after it. Errors are *FormatError values.
func Decode(b []byte, lim Limits) (*value.Value, error) {
	d := newPickleDecoder(b, lim)
	root, err := d.run()
	if err != nil {
		return nil, err
	}
	return d.finish(root)
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxMemo <= 0 {
		l.MaxMemo = DefaultLimits.MaxMemo
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxItems < 0 {
		l.MaxItems = 0
	}
	return l
}

type pickleDecoder struct {
	in    []byte
	s     string // the input as a string: str payloads are substrings of it
	pos   int
	op    int // offset of the opcode being run
	lim   Limits
	used  int64
	proto int

	stack []*value.Value
	marks []int
	fence int              // stack index of the innermost mark (items below it cannot be popped)
	memo  [][]*value.Value // pages of memoPageSize entries
	nmemo int              // filled memo entries (MEMOIZE stores at this index)

	refs     map[*value.Value]globalCode   // nodes that stand for a class or function
	shared   map[*value.Value]struct{}     // containers pushed again by GET or DUP
	objItems map[*value.Value]*value.Value // object -> the dict/list collecting its SETITEMS/APPENDS

	slab     []value.Value
	ptrs     []*value.Value
	pairs    []value.Pair
	dts      []value.DateTime
	barena   []byte
	nodes    int64                     // nodes made
	refCount int64                     // references pushed again (GET, DUP)
	zones    map[string]*time.Location // zones looked up by this decode (nil: unknown)
	lastZone string
	lastLoc  *time.Location

	cycle  *value.Value
	leaves [leafCount]*value.Value // shared immutable leaves: 0-255, None, False, True
}

// Leaves the tree may share: immutable, so one node serves every occurrence.
const (
	leafNone  = 256
	leafFalse = 257
	leafTrue  = 258
	leafCount = 259
)

// leaf returns the shared node of the int 0-255, None, False or True.
func (d *pickleDecoder) leaf(i int) *value.Value {
	if v := d.leaves[i]; v != nil {
		return v
	}
	v := d.node()
	switch i {
	case leafNone:
	case leafFalse, leafTrue:
		v.Kind, v.Bool = value.KindBool, i == leafTrue
	default:
		v.Kind, v.Int = value.KindInt, int64(i)
	}
	d.leaves[i] = v
	return v
}

func newPickleDecoder(b []byte, lim Limits) *pickleDecoder {
	lim = lim.withDefaults()
	d := &pickleDecoder{in: b, s: string(b), lim: lim, used: int64(len(b))}
	d.stack = make([]*value.Value, 0, 32)
	return d
}

// ---- errors ----

func (d *pickleDecoder) errAt(off int, msg string) error {
	return &value.FormatError{Format: value.FormatPickle, Offset: off, Msg: msg}
}

func (d *pickleDecoder) fail(msg string) error { return d.errAt(d.op, msg) }

func (d *pickleDecoder) truncated() error {
	return d.fail("unexpected end of input in " + opName(d.in[d.op]))
}

func (d *pickleDecoder) underflow() error {
	return d.fail(opName(d.in[d.op]) + ": unpickling stack underflow")
}

func (d *pickleDecoder) tooBig() error {
	return d.fail("decoding needs more than " + value.HumanBytes(d.lim.MaxBytes) + " (limit)")
}

// ---- allocation ----

func (d *pickleDecoder) charge(n int64) error {
	d.used += n
	if d.used > d.lim.MaxBytes {
		return d.tooBig()
	}
	return nil
}

// node returns a zeroed Value from the current slab.
func (d *pickleDecoder) node() *value.Value {
	if len(d.slab) == cap(d.slab) {
		d.slab = make([]value.Value, 0, min(max(2*cap(d.slab), 16), 1024))
	}
	d.slab = d.slab[:len(d.slab)+1]
	d.used += valueCost
	d.nodes++
	return &d.slab[len(d.slab)-1]
}

// items returns a copy of src in an exactly-sized slice (appending to it
// reallocates, so it never runs into its neighbours).
func (d *pickleDecoder) items(src []*value.Value) []*value.Value {
	n := len(src)
	d.used += int64(n) * ptrCost
	if n > 256 {
		out := make([]*value.Value, n)
		copy(out, src)
		return out
	}
	if cap(d.ptrs)-len(d.ptrs) < n {
		d.ptrs = make([]*value.Value, 0, 4096)
	}
	off := len(d.ptrs)
	d.ptrs = append(d.ptrs, src...)
	return d.ptrs[off : off+n : off+n]
}

func (d *pickleDecoder) pairSlice(n int) []value.Pair {
	d.used += int64(n) * pairCost
	if n > 256 {
		return make([]value.Pair, 0, n)
	}
	if cap(d.pairs)-len(d.pairs) < n {
		d.pairs = make([]value.Pair, 0, 2048)
	}
	off := len(d.pairs)
	d.pairs = d.pairs[:off+n]
	return d.pairs[off : off : off+n]
}

func (d *pickleDecoder) bytesCopy(p []byte) []byte {
	n := len(p)
	d.used += int64(n)
	if n > 2048 {
		return append([]byte(nil), p...)
	}
	if cap(d.barena)-len(d.barena) < n {
		d.barena = make([]byte, 0, 16<<10)
	}
	off := len(d.barena)
	d.barena = append(d.barena, p...)
	return d.barena[off : off+n : off+n]
}

func (d *pickleDecoder) newDT() *value.DateTime {
	if len(d.dts) == cap(d.dts) {
		d.dts = make([]value.DateTime, 0, 64)
	}
	d.dts = d.dts[:len(d.dts)+1]
	return &d.dts[len(d.dts)-1]
}

func (d *pickleDecoder) floatNode(f float64) *value.Value {
	v := d.node()
	v.Kind, v.Float = value.KindFloat, f
	return v
}

func (d *pickleDecoder) intNode(i int64) *value.Value {
	v := d.node()
	v.Kind, v.Int = value.KindInt, i
	return v
}

func (d *pickleDecoder) strNode(s string) *value.Value {
	v := d.node()
	v.Kind, v.Str = value.KindStr, s
	return v
}

func (d *pickleDecoder) bytesNode(b []byte) *value.Value {
	v := d.node()
	v.Kind, v.Bytes = value.KindBytes, b
	return v
}

func (d *pickleDecoder) seqNode(k value.Kind, items []*value.Value) *value.Value {
	v := d.node()
	v.Kind, v.Items = k, items
	return v
}

func (d *pickleDecoder) object(class string, args []*value.Value, state *value.Value) *value.Value {
	if args == nil {
		args = []*value.Value{}
	}
	v := d.node()
	v.Kind, v.Str, v.Items, v.State = value.KindObject, class, args, state
	return v
}

// ---- stack ----

func (d *pickleDecoder) push(v *value.Value) { d.stack = append(d.stack, v) }

func (d *pickleDecoder) pop() (*value.Value, error) {
	n := len(d.stack)
	if n <= d.fence {
		return nil, d.underflow()
	}
	v := d.stack[n-1]
	d.stack = d.stack[:n-1]
	return v, nil
}

func (d *pickleDecoder) top() (*value.Value, error) {
	if v, ok := d.peek(); ok {
		return v, nil
	}
	return nil, d.underflow()
}

// peek is top without the error, small enough to inline (MEMOIZE).
func (d *pickleDecoder) peek() (v *value.Value, ok bool) {
	n := len(d.stack)
	if n <= d.fence {
		return nil, false
	}
	return d.stack[n-1], true
}

// pop2 pops the top two values: top was on top, below beneath it.
func (d *pickleDecoder) pop2() (below, top *value.Value, err error) {
	n := len(d.stack)
	if n-d.fence < 2 {
		return nil, nil, d.underflow()
	}
	below, top = d.stack[n-2], d.stack[n-1]
	d.stack = d.stack[:n-2]
	return below, top, nil
}

// popOnto pops the top value and returns it with the target beneath it,
// which stays on the stack (APPEND, BUILD).
func (d *pickleDecoder) popOnto() (x, target *value.Value, err error) {
	if target, x, err = d.pop2(); err == nil {
		d.push(target) // back into the slot pop2 freed: no allocation
	}
	return x, target, err
}

// popMarkOnto pops the innermost mark and returns the items above it with
// the value beneath the mark, the target they go onto (APPENDS, ADDITEMS,
// SETITEMS).
func (d *pickleDecoder) popMarkOnto() ([]*value.Value, *value.Value, error) {
	its, m, err := d.popMark()
	if err != nil {
		return nil, nil, err
	}
	if m == 0 {
		return nil, nil, d.underflow()
	}
	return its, d.stack[m-1], nil
}

// popMark pops the innermost mark and returns the items above it (valid until
// the next push) and the stack index where the mark was.
func (d *pickleDecoder) popMark() ([]*value.Value, int, error) {
	if len(d.marks) == 0 {
		return nil, 0, d.fail(opName(d.in[d.op]) + ": could not find MARK")
	}
	m := d.marks[len(d.marks)-1]
	d.marks = d.marks[:len(d.marks)-1]
	d.fence = 0
	if len(d.marks) > 0 {
		d.fence = d.marks[len(d.marks)-1]
	}
	items := d.stack[m:]
	d.stack = d.stack[:m]
	return items, m, nil
}

// ---- input ----

func (d *pickleDecoder) read(n uint64) ([]byte, error) {
	if p, ok := d.take(n); ok {
		return p, nil
	}
	return nil, d.truncated()
}

// take and byte1 are read and uint(1) without the error, small enough to
// inline into the opcodes that run most (GET, MEMOIZE, the short str and
// bytes): ok is false when the input ends first.
func (d *pickleDecoder) take(n uint64) (p []byte, ok bool) {
	if n > uint64(len(d.in)-d.pos) {
		return nil, false
	}
	p = d.in[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return p, true
}

func (d *pickleDecoder) byte1() (b byte, ok bool) {
	if d.pos >= len(d.in) {
		return 0, false
	}
	b = d.in[d.pos]
	d.pos++
	return b, true
}

// line returns the bytes up to the next newline (excluded) and moves past it.
func (d *pickleDecoder) line() ([]byte, error) {
	rest := d.in[d.pos:]
	for i, c := range rest {
		if c == '\n' {
			d.pos += i + 1
			return rest[:i], nil
		}
	}
	return nil, d.truncated()
}

func (d *pickleDecoder) uint(n int) (uint64, error) {
	p, err := d.read(uint64(n))
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.LittleEndian.Uint16(p)), nil
	case 4:
		return uint64(binary.LittleEndian.Uint32(p)), nil
	}
	return binary.LittleEndian.Uint64(p), nil
}

// ---- the machine ----

// run executes opcodes until STOP. It fetches each opcode, enforces the
// memory budget and hands the opcode to the method of its family below. The
// dispatch stays in this loop (not in a helper it calls): one jump per opcode
// instead of two keeps decoding as fast as the single loop it replaced.
func (d *pickleDecoder) run() (*value.Value, error) {
	for d.pos < len(d.in) {
		d.op = d.pos
		op := d.in[d.pos]
		d.pos++
		if d.used > d.lim.MaxBytes {
			return nil, d.tooBig()
		}
		var err error
		switch op {
		case opStop:
			return d.stop()
		case opProto, opFrame:
			err = d.framing(op)
		case opMark, opPop, opPopMark, opDup:
			err = d.stackOp(op)
		case opNone, opNewTrue, opNewFalse, opBinInt, opBinInt1, opBinInt2, opLong1, opLong4, opInt, opLong,
			opBinFloat, opFloat:
			err = d.scalar(op)
		case opShortBinUnicode, opBinUnicode, opBinUnicode8, opUnicode,
			opShortBinBytes, opBinBytes, opBinBytes8, opByteArray8, opShortBinString, opBinString, opString:
			err = d.text(op)
		case opEmptyList, opEmptyTuple, opEmptyDict, opEmptySet, opTuple1, opTuple2, opTuple3,
			opTuple, opList, opFrozenSet, opDict:
			err = d.container(op)
		case opAppend, opAppends, opAddItems, opSetItem, opSetItems:
			err = d.fill(op)
		case opMemoize, opBinPut, opLongBinPut, opPut, opBinGet, opLongBinGet, opGet:
			err = d.memoOp(op)
		case opGlobal, opStackGlobal, opExt1, opExt2, opExt4:
			err = d.globalOp(op)
		case opReduce, opNewObj, opNewObjEx, opInst, opObj, opBuild:
			err = d.callOp(op)
		case opPersID, opBinPersID, opNextBuffer, opReadOnlyBuffer:
			err = d.refused(op)
		default:
			err = d.fail("unknown opcode " + pyrepr.HexByte(op))
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, d.errAt(len(d.in), "unexpected end of input (no STOP opcode)")
}

// pushed pushes v unless err is set: the tail of an opcode whose node is
// built by a function that can fail.
func (d *pickleDecoder) pushed(v *value.Value, err error) error {
	if err != nil {
		return err
	}
	d.push(v)
	return nil
}

// pushAgain pushes a node already in the tree (DUP, GET): a shared reference.
func (d *pickleDecoder) pushAgain(v *value.Value) {
	d.noteShared(v)
	d.used += ptrCost
	d.refCount++
	d.push(v)
}

// stop runs STOP: the value on top of the stack is the result, and nothing
// may follow it.
func (d *pickleDecoder) stop() (*value.Value, error) {
	v, err := d.pop()
	if err != nil {
		return nil, err
	}
	if d.pos != len(d.in) {
		return nil, d.errAt(d.pos, "trailing data after STOP ("+value.HumanBytes(int64(len(d.in)-d.pos))+")")
	}
	return v, nil
}

// framing runs PROTO and FRAME. Frames need no bookkeeping: the whole pickle
// is in memory, so a frame is only checked to fit in it.
func (d *pickleDecoder) framing(op byte) error {
	if op == opProto {
		n, err := d.uint(1)
		if err != nil {
			return err
		}
		if n > 5 {
			return d.fail("unsupported pickle protocol: " + strconv.FormatUint(n, 10))
		}
		d.proto = int(n)
		return nil
	}
	n, err := d.uint(8)
	if err != nil {
		return err
	}
	if n > uint64(len(d.in)-d.pos) {
		return d.fail("FRAME of " + strconv.FormatUint(n, 10) + " bytes runs past the end of the input")
	}
	return nil
}

// stackOp runs MARK, POP, POP_MARK and DUP.
func (d *pickleDecoder) stackOp(op byte) error {
	switch op {
	case opMark:
		d.marks = append(d.marks, len(d.stack))
		d.fence = len(d.stack)
		d.used += 8
	case opPop:
		if n := len(d.marks); n > 0 && d.marks[n-1] == len(d.stack) {
			_, _, err := d.popMark()
			return err
		}
		_, err := d.pop()
		return err
	case opPopMark:
		_, _, err := d.popMark()
		return err
	case opDup:
		v, err := d.top()
		if err != nil {
			return err
		}
		d.pushAgain(v)
	}
	return nil
}

// scalar runs the opcodes that push None, a bool, an int or a float.
func (d *pickleDecoder) scalar(op byte) error {
	switch op {
	case opNone:
		d.push(d.leaf(leafNone))
	case opNewTrue:
		d.push(d.leaf(leafTrue))
	case opNewFalse:
		d.push(d.leaf(leafFalse))
	case opBinInt:
		n, err := d.uint(4)
		if err != nil {
			return err
		}
		d.push(d.intNode(int64(int32(uint32(n)))))
	case opBinInt1:
		if d.pos >= len(d.in) {
			return d.truncated()
		}
		d.push(d.leaf(int(d.in[d.pos])))
		d.pos++
	case opBinInt2:
		n, err := d.uint(2)
		if err != nil {
			return err
		}
		d.push(d.intNode(int64(n)))
	case opLong1, opLong4:
		p, err := d.prefixed()
		if err != nil {
			return err
		}
		return d.pushed(d.longBytes(p))
	case opInt, opLong:
		ln, err := d.line()
		if err != nil {
			return err
		}
		return d.pushed(d.textInt(ln, op == opLong))
	case opBinFloat:
		p, err := d.read(8)
		if err != nil {
			return err
		}
		d.push(d.floatNode(math.Float64frombits(binary.BigEndian.Uint64(p))))
	case opFloat:
		ln, err := d.line()
		if err != nil {
			return err
		}
		f, err := parsePyFloat(string(ln))
		if err != nil {
			return d.fail("FLOAT: " + err.Error())
		}
		d.push(d.floatNode(f))
	}
	return nil
}

// text runs the opcodes that push a str or bytes: length-prefixed (BIN*,
// SHORT_BIN*, BYTEARRAY8) or a line of escaped text (UNICODE, STRING).
func (d *pickleDecoder) text(op byte) error {
	if op == opUnicode || op == opString {
		return d.textLine(op)
	}
	p, err := d.prefixed()
	if err != nil {
		return err
	}
	switch op {
	case opShortBinUnicode, opBinUnicode, opBinUnicode8:
		return d.pushed(d.utf8Str(len(p)))
	case opShortBinBytes, opBinBytes, opBinBytes8, opByteArray8:
		d.push(d.bytesNode(d.bytesCopy(p)))
	case opShortBinString, opBinString:
		d.push(d.py2Str(p))
	}
	return nil
}

// textLine runs UNICODE and STRING, whose argument is a line of escaped text.
func (d *pickleDecoder) textLine(op byte) error {
	ln, err := d.line()
	if err != nil {
		return err
	}
	if op == opUnicode {
		s, err := rawUnicodeEscape(ln)
		if err != nil {
			return d.fail("UNICODE: " + err.Error())
		}
		d.used += int64(len(s))
		d.push(d.strNode(s))
		return nil
	}
	if len(ln) < 2 || ln[0] != ln[len(ln)-1] || (ln[0] != '\'' && ln[0] != '"') {
		return d.fail("the STRING opcode argument must be quoted")
	}
	p, err := escapeDecode(ln[1 : len(ln)-1])
	if err != nil {
		return d.fail("STRING: " + err.Error())
	}
	d.push(d.py2Str(p))
	return nil
}

// container runs the opcodes that push a new list, tuple, dict or set,
// empty or made of the items above the innermost mark.
func (d *pickleDecoder) container(op byte) error {
	switch op {
	case opEmptyList:
		d.push(d.seqNode(value.KindList, nil))
	case opEmptyTuple:
		d.push(d.seqNode(value.KindTuple, []*value.Value{}))
	case opEmptyDict:
		v := d.node()
		v.Kind = value.KindDict
		d.push(v)
	case opEmptySet:
		d.push(d.seqNode(value.KindSet, nil))
	case opTuple1, opTuple2, opTuple3:
		n := int(op-opTuple1) + 1
		if len(d.stack)-d.fence < n {
			return d.underflow()
		}
		items := d.items(d.stack[len(d.stack)-n:])
		d.stack = d.stack[:len(d.stack)-n]
		d.push(d.seqNode(value.KindTuple, items))
	case opTuple, opList, opFrozenSet:
		its, _, err := d.popMark()
		if err != nil {
			return err
		}
		kind := value.KindTuple
		if op == opList {
			kind = value.KindList
		} else if op == opFrozenSet {
			kind = value.KindFrozenSet
		}
		d.push(d.seqNode(kind, d.items(its)))
	case opDict:
		its, _, err := d.popMark()
		if err != nil {
			return err
		}
		if len(its)%2 != 0 {
			return d.fail("odd number of items for DICT")
		}
		pairs := d.pairSlice(len(its) / 2)
		for i := 0; i < len(its); i += 2 {
			pairs = append(pairs, value.Pair{Key: its[i], Value: its[i+1]})
		}
		v := d.node()
		v.Kind, v.Pairs = value.KindDict, pairs
		d.push(v)
	}
	return nil
}

// fill runs the opcodes that add items to the list, set or dict (or object)
// on the stack: APPEND(S), ADDITEMS, SETITEM(S).
func (d *pickleDecoder) fill(op byte) error {
	switch op {
	case opAppend:
		x, target, err := d.popOnto()
		if err != nil {
			return err
		}
		return d.appendTo(target, []*value.Value{x})
	case opAppends, opAddItems:
		its, target, err := d.popMarkOnto()
		if err != nil {
			return err
		}
		return d.appendTo(target, its)
	case opSetItem:
		key, val, err := d.pop2()
		if err != nil {
			return err
		}
		target, err := d.top()
		if err != nil {
			return err
		}
		return d.setItems(target, []*value.Value{key, val})
	case opSetItems:
		its, target, err := d.popMarkOnto()
		if err != nil {
			return err
		}
		if len(its)%2 != 0 {
			return d.fail("odd number of items for SETITEMS")
		}
		return d.setItems(target, its)
	}
	return nil
}

// memoOp runs MEMOIZE and the PUT and GET families. MEMOIZE and BINGET make
// half the opcodes of a pickle: their index is read here, without a call.
func (d *pickleDecoder) memoOp(op byte) error {
	var idx uint64
	switch op {
	case opMemoize:
		idx = uint64(d.nmemo) // the next free index
	case opBinPut, opBinGet:
		b, ok := d.byte1()
		if !ok {
			return d.truncated()
		}
		idx = uint64(b)
	default:
		var err error
		if idx, err = d.memoIndex(op); err != nil {
			return err
		}
	}
	switch op {
	case opBinGet, opLongBinGet, opGet:
		v := d.memoGet(idx)
		if v == nil {
			return d.fail("memo value not found at index " + strconv.FormatUint(idx, 10))
		}
		d.pushAgain(v)
		return nil
	}
	v, ok := d.peek()
	if !ok {
		return d.underflow()
	}
	return d.memoPut(idx, v)
}

// memoIndex reads the memo index of LONG_BINPUT and LONG_BINGET (four
// bytes) or PUT and GET (a line of digits).
func (d *pickleDecoder) memoIndex(op byte) (uint64, error) {
	if op == opLongBinPut || op == opLongBinGet {
		return d.uint(4)
	}
	return d.lineIndex()
}

// globalOp runs the opcodes that push a name: GLOBAL, STACK_GLOBAL and the
// extension registry codes EXT1/2/4.
func (d *pickleDecoder) globalOp(op byte) error {
	switch op {
	case opGlobal:
		mod, name, err := d.globalLines()
		if err != nil {
			return err
		}
		d.push(d.global(mod, name))
	case opStackGlobal:
		mod, name, err := d.pop2()
		if err != nil {
			return err
		}
		if mod.Kind != value.KindStr || name.Kind != value.KindStr {
			return d.fail("STACK_GLOBAL requires str")
		}
		d.push(d.global(mod.Str, name.Str))
	case opExt1, opExt2, opExt4:
		n := 1
		if op == opExt2 {
			n = 2
		} else if op == opExt4 {
			n = 4
		}
		code, err := d.uint(n)
		if err != nil {
			return err
		}
		if op == opExt4 {
			code = uint64(int64(int32(uint32(code))))
		}
		if int64(code) <= 0 {
			return d.fail("EXT specifies code <= 0")
		}
		d.push(d.object("copyreg.extension", d.items([]*value.Value{d.intNode(int64(code))}), nil))
	}
	return nil
}

// globalLines reads the module and name lines of GLOBAL and INST.
func (d *pickleDecoder) globalLines() (mod, name string, err error) {
	m, err := d.line()
	if err != nil {
		return "", "", err
	}
	n, err := d.line()
	if err != nil {
		return "", "", err
	}
	if !utf8.Valid(m) || !utf8.Valid(n) {
		return "", "", d.fail(opName(d.in[d.op]) + ": module or name is not UTF-8")
	}
	return string(m), string(n), nil
}

// callOp runs the opcodes that call or build: REDUCE, NEWOBJ(_EX), INST,
// OBJ and BUILD. Nothing is called: the call becomes data (see call).
func (d *pickleDecoder) callOp(op byte) error {
	switch op {
	case opReduce:
		fn, args, err := d.popCall()
		if err != nil {
			return err
		}
		return d.pushed(d.call(fn, args))
	case opNewObj, opNewObjEx:
		var kwargs *value.Value
		var err error
		if op == opNewObjEx {
			if kwargs, err = d.pop(); err != nil {
				return err
			}
			if kwargs.Kind != value.KindDict {
				return d.fail("NEWOBJ_EX keyword arguments are a " + kwargs.Kind.String() + ", not a dict")
			}
		}
		cls, args, err := d.popCall()
		if err != nil {
			return err
		}
		d.push(d.newObj(cls, args, kwargs))
	case opInst:
		mod, name, err := d.globalLines()
		if err != nil {
			return err
		}
		its, _, err := d.popMark()
		if err != nil {
			return err
		}
		args := d.items(its)
		return d.pushed(d.call(d.global(mod, name), args))
	case opObj:
		its, _, err := d.popMark()
		if err != nil {
			return err
		}
		if len(its) == 0 {
			return d.underflow()
		}
		all := d.items(its)
		return d.pushed(d.call(all[0], all[1:]))
	case opBuild:
		state, target, err := d.popOnto()
		if err != nil {
			return err
		}
		return d.build(target, state)
	}
	return nil
}

// popCall pops the callable and the argument tuple of REDUCE or
// NEWOBJ(_EX); the arguments are capped so that appending to them copies.
func (d *pickleDecoder) popCall() (fn *value.Value, args []*value.Value, err error) {
	fn, tuple, err := d.pop2()
	if err != nil {
		return nil, nil, err
	}
	if tuple.Kind != value.KindTuple {
		return nil, nil, d.fail(opName(d.in[d.op]) + " arguments are a " + tuple.Kind.String() + ", not a tuple")
	}
	return fn, tuple.Items[:len(tuple.Items):len(tuple.Items)], nil
}

// refused fails the opcodes whose data is not in the pickle: persistent IDs
// and out-of-band buffers.
func (d *pickleDecoder) refused(op byte) error {
	if op == opPersID || op == opBinPersID {
		return d.fail("persistent IDs (pickle " + opName(op) + ") cannot be decoded: the pickle refers to objects its writer stored elsewhere")
	}
	return d.fail("out-of-band buffers (pickle protocol 5 NEXT_BUFFER) cannot be decoded: the buffers were never stored")
}

// prefixed reads the argument of an opcode that carries its length: a
// little-endian count of lenSize(op) bytes, then that many bytes. Python
// reads the 4-byte counts of BINSTRING and LONG4 as signed.
func (d *pickleDecoder) prefixed() ([]byte, error) {
	op := d.in[d.op]
	size := lenSize(op)
	if size == 1 { // SHORT_BIN*, LONG1: the common case, read without a call
		if n, ok := d.byte1(); ok {
			if p, ok := d.take(uint64(n)); ok {
				return p, nil
			}
		}
		return nil, d.truncated()
	}
	n, err := d.uint(size)
	if err != nil {
		return nil, err
	}
	if (op == opBinString || op == opLong4) && int32(uint32(n)) < 0 {
		return nil, d.fail(opName(op) + " has a negative byte count")
	}
	return d.read(n)
}

// lenSize is the size of the length prefix of a length-prefixed opcode.
func lenSize(op byte) int {
	switch op {
	case opShortBinUnicode, opShortBinBytes, opShortBinString, opLong1:
		return 1
	case opBinUnicode, opBinBytes, opBinString, opLong4:
		return 4
	}
	return 8
}

var opNames = map[byte]string{
	opMark: "MARK", opStop: "STOP", opPop: "POP", opPopMark: "POP_MARK", opDup: "DUP", opFloat: "FLOAT",
	opInt: "INT", opBinInt: "BININT", opBinInt1: "BININT1", opLong: "LONG", opBinInt2: "BININT2", opNone: "NONE",
	opPersID: "PERSID", opBinPersID: "BINPERSID", opReduce: "REDUCE", opString: "STRING", opBinString: "BINSTRING",
	opShortBinString: "SHORT_BINSTRING", opUnicode: "UNICODE", opBinUnicode: "BINUNICODE", opAppend: "APPEND",
	opBuild: "BUILD", opGlobal: "GLOBAL", opDict: "DICT", opEmptyDict: "EMPTY_DICT", opAppends: "APPENDS",
	opGet: "GET", opBinGet: "BINGET", opInst: "INST", opLongBinGet: "LONG_BINGET", opList: "LIST",
	opEmptyList: "EMPTY_LIST", opObj: "OBJ", opPut: "PUT", opBinPut: "BINPUT", opLongBinPut: "LONG_BINPUT",
	opSetItem: "SETITEM", opTuple: "TUPLE", opEmptyTuple: "EMPTY_TUPLE", opSetItems: "SETITEMS",
	opBinFloat: "BINFLOAT", opProto: "PROTO", opNewObj: "NEWOBJ", opExt1: "EXT1", opExt2: "EXT2", opExt4: "EXT4",
	opTuple1: "TUPLE1", opTuple2: "TUPLE2", opTuple3: "TUPLE3", opNewTrue: "NEWTRUE", opNewFalse: "NEWFALSE",
	opLong1: "LONG1", opLong4: "LONG4", opBinBytes: "BINBYTES", opShortBinBytes: "SHORT_BINBYTES",
	opShortBinUnicode: "SHORT_BINUNICODE", opBinUnicode8: "BINUNICODE8", opBinBytes8: "BINBYTES8",
	opEmptySet: "EMPTY_SET", opAddItems: "ADDITEMS", opFrozenSet: "FROZENSET", opNewObjEx: "NEWOBJ_EX",
	opStackGlobal: "STACK_GLOBAL", opMemoize: "MEMOIZE", opFrame: "FRAME", opByteArray8: "BYTEARRAY8",
	opNextBuffer: "NEXT_BUFFER", opReadOnlyBuffer: "READONLY_BUFFER",
}

func opName(op byte) string {
	if s, ok := opNames[op]; ok {
		return s
	}
	return "opcode " + pyrepr.HexByte(op)
}

// ---- memo and sharing ----

// The memo is kept in pages, so growing it never copies it.
const memoPageSize = 1024

func (d *pickleDecoder) memoPut(idx uint64, v *value.Value) error {
	if idx >= uint64(d.lim.MaxMemo) {
		return d.fail("memo index " + strconv.FormatUint(idx, 10) + " exceeds the limit of " + strconv.Itoa(d.lim.MaxMemo) + " entries")
	}
	page, off := int(idx/memoPageSize), int(idx%memoPageSize)
	for page >= len(d.memo) {
		if err := d.charge(memoPageSize * ptrCost); err != nil {
			return err
		}
		d.memo = append(d.memo, make([]*value.Value, memoPageSize))
	}
	if d.memo[page][off] == nil {
		d.nmemo++
	}
	d.memo[page][off] = v
	return nil
}

func (d *pickleDecoder) memoGet(idx uint64) *value.Value {
	if page := idx / memoPageSize; page < uint64(len(d.memo)) {
		return d.memo[page][idx%memoPageSize]
	}
	return nil
}

func (d *pickleDecoder) lineIndex() (uint64, error) {
	ln, err := d.line()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(ln)), 10, 64)
	if err != nil {
		return 0, d.fail(opName(d.in[d.op]) + ": invalid memo index " + strconv.Quote(string(ln)))
	}
	return n, nil
}

// noteShared records a node pushed a second time: a container that can now
// sit in two places of the tree, or inside itself.
func (d *pickleDecoder) noteShared(v *value.Value) {
	switch v.Kind {
	case value.KindList, value.KindTuple, value.KindSet, value.KindFrozenSet, value.KindDict, value.KindObject:
		if d.shared == nil {
			d.shared = make(map[*value.Value]struct{})
		}
		d.shared[v] = struct{}{}
	}
}

// ---- scalars ----

// longBytes decodes LONG1/LONG4's little-endian two's complement.
func (d *pickleDecoder) longBytes(p []byte) (*value.Value, error) {
	n := len(p)
	if n == 0 {
		return d.intNode(0), nil
	}
	if n <= 8 {
		var u uint64
		for i := n - 1; i >= 0; i-- {
			u = u<<8 | uint64(p[i])
		}
		if p[n-1]&0x80 != 0 && n < 8 {
			u |= ^uint64(0) << (8 * n) // sign-extend
		}
		return d.intNode(int64(u)), nil
	}
	if n > maxLongBytes {
		return nil, d.fail("integer of " + strconv.Itoa(n) + " bytes exceeds the limit of " + strconv.Itoa(value.MaxIntDigits) + " digits")
	}
	be := make([]byte, n)
	for i := range p {
		be[n-1-i] = p[i]
	}
	x := new(big.Int).SetBytes(be)
	if p[n-1]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
	}
	d.used += int64(n)
	v := d.node()
	v.Kind = value.KindInt
	if x.IsInt64() {
		v.Int = x.Int64()
	} else {
		v.Big = x
	}
	return v, nil
}

// textInt parses the argument of INT ("I01"/"I00" are True/False) or LONG
// (with its trailing "L").
func (d *pickleDecoder) textInt(ln []byte, long bool) (*value.Value, error) {
	s := strings.TrimSpace(string(ln))
	if !long && (s == "00" || s == "01") {
		return d.leaf(leafFalse + int(s[1]-'0')), nil
	}
	if long {
		s = strings.TrimSuffix(s, "L")
	}
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return nil, d.fail(opName(d.in[d.op]) + ": invalid integer " + strconv.Quote(string(ln)))
	}
	if len(digits) > value.MaxIntDigits {
		return nil, d.fail("integer with " + strconv.Itoa(len(digits)) + " digits exceeds the limit of " + strconv.Itoa(value.MaxIntDigits))
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return d.intNode(i), nil
	}
	x, ok := new(big.Int).SetString(strings.TrimPrefix(s, "+"), 10)
	if !ok {
		return nil, d.fail(opName(d.in[d.op]) + ": invalid integer " + strconv.Quote(string(ln)))
	}
	d.used += int64(len(digits) / 2)
	v := d.node()
	v.Kind, v.Big = value.KindInt, x
	return v, nil
}

// parsePyFloat is Python's float(text) for the FLOAT opcode's argument.
func parsePyFloat(s string) (float64, error) {
	t := strings.TrimSpace(s)
	low := strings.ToLower(strings.TrimLeft(t, "+-"))
	if strings.HasPrefix(low, "0x") || strings.ContainsRune(t, '_') || t == "" {
		return 0, strconv.ErrSyntax
	}
	f, err := strconv.ParseFloat(t, 64)
	if ne, ok := err.(*strconv.NumError); err != nil && (!ok || ne.Err != strconv.ErrRange || math.IsInf(f, 0)) {
		return 0, err // Python refuses an overflow too (underflow gives 0)
	}
	return f, nil
}

// utf8Str makes a Str node of the n bytes just read (a substring of the
// input, not a copy). Python writes str with the "surrogatepass" error
// handler; a surrogate pair becomes the character it stands for and a lone
// surrogate U+FFFD, since a Str node is valid UTF-8.
func (d *pickleDecoder) utf8Str(n int) (*value.Value, error) {
	s := d.s[d.pos-n : d.pos]
	if !utf8.ValidString(s) {
		fixed, ok := decodeSurrogatePass(s)
		if !ok {
			return nil, d.fail(opName(d.in[d.op]) + ": invalid UTF-8")
		}
		s = fixed
	}
	return d.strNode(s), nil
}

// decodeSurrogatePass decodes UTF-8 that may hold encoded surrogates.
func decodeSurrogatePass(s string) (string, bool) {
	var b strings.Builder
	surrogate := func(i int) rune { // the surrogate encoded at s[i:i+3], or -1
		if i+3 <= len(s) && s[i] == 0xed && s[i+1] >= 0xa0 && s[i+1] <= 0xbf && s[i+2]&0xc0 == 0x80 {
			return 0xd000 | rune(s[i+1]&0x3f)<<6 | rune(s[i+2]&0x3f)
		}
		return -1
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError || size != 1 {
			b.WriteString(s[i : i+size])
			i += size
			continue
		}
		hi := surrogate(i)
		if hi < 0 {
			return "", false
		}
		if lo := surrogate(i + 3); hi < 0xdc00 && lo >= 0xdc00 {
			b.WriteRune(0x10000 + (hi-0xd800)<<10 + (lo - 0xdc00))
			i += 6
			continue
		}
		b.WriteRune(utf8.RuneError)
		i += 3
	}
	return b.String(), true
}

// rawUnicodeEscape decodes Python's raw-unicode-escape codec (the UNICODE
// opcode): bytes are Latin-1 characters, except \uXXXX and \UXXXXXXXX after
// an odd number of backslashes.
func rawUnicodeEscape(p []byte) (string, error) {
	var b strings.Builder
	b.Grow(len(p))
	var pendingHi rune = -1
	put := func(r rune) {
		if pendingHi >= 0 {
			if r >= 0xdc00 && r <= 0xdfff {
				b.WriteRune(0x10000 + (pendingHi-0xd800)<<10 + (r - 0xdc00))
				pendingHi = -1
				return
			}
			b.WriteRune(utf8.RuneError)
			pendingHi = -1
		}
		switch {
		case r >= 0xd800 && r <= 0xdbff:
			pendingHi = r
		case r >= 0xdc00 && r <= 0xdfff:
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	for i := 0; i < len(p); {
		if p[i] != '\\' {
			put(rune(p[i]))
			i++
			continue
		}
		j := i
		for j < len(p) && p[j] == '\\' {
			j++
		}
		run := j - i
		if run%2 == 0 || j >= len(p) || (p[j] != 'u' && p[j] != 'U') {
			for k := 0; k < run; k++ {
				put('\\')
			}
			i = j
			continue
		}
		for k := 0; k < run-1; k++ {
			put('\\')
		}
		n := 4
		if p[j] == 'U' {
			n = 8
		}
		if j+1+n > len(p) {
			return "", errTruncatedEscape
		}
		x, err := strconv.ParseUint(string(p[j+1:j+1+n]), 16, 32)
		if err != nil {
			return "", errTruncatedEscape
		}
		if x > utf8.MaxRune {
			return "", errBadEscape
		}
		put(rune(x))
		i = j + 1 + n
	}
	if pendingHi >= 0 {
		b.WriteRune(utf8.RuneError)
	}
	return b.String(), nil
}

type pickleTextError string

func (e pickleTextError) Error() string { return string(e) }

const (
	errTruncatedEscape = pickleTextError("truncated \\uXXXX or \\UXXXXXXXX escape")
	errBadEscape       = pickleTextError("\\Uxxxxxxxx out of range")
)

// escapeDecode is Python's codecs.escape_decode (the STRING opcode's quoted
// Python 2 str literal).
func escapeDecode(p []byte) ([]byte, error) {
	out := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(p) {
			return nil, pickleTextError("trailing \\ in string")
		}
		switch c = p[i]; c {
		case '\n':
		case '\\', '\'', '"':
			out = append(out, c)
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, 11)
		case 'x':
			if i+2 >= len(p) {
				return nil, pickleTextError("invalid \\x escape")
			}
			x, err := strconv.ParseUint(string(p[i+1:i+3]), 16, 8)
			if err != nil {
				return nil, pickleTextError("invalid \\x escape")
			}
			out = append(out, byte(x))
			i += 2
		case '0', '1', '2', '3', '4', '5', '6', '7':
			x := int(c - '0')
			for k := 0; k < 2 && i+1 < len(p) && p[i+1] >= '0' && p[i+1] <= '7'; k++ {
				i++
				x = x*8 + int(p[i]-'0')
			}
			out = append(out, byte(x))
		default:
			out = append(out, '\\', c)
		}
	}
	return out, nil
}

// py2Str is a Python 2 str: Str when ASCII (what Python 3 loads by default),
// else Bytes (what it loads with encoding="bytes").
func (d *pickleDecoder) py2Str(p []byte) *value.Value {
	for _, c := range p {
		if c >= 0x80 {
			return d.bytesNode(d.bytesCopy(p))
		}
	}
	d.used += int64(len(p))
	return d.strNode(string(p))
}

// ---- containers ----

func (d *pickleDecoder) appendTo(target *value.Value, its []*value.Value) error {
	op := d.in[d.op]
	switch target.Kind {
	case value.KindList:
		if op == opAddItems {
			break
		}
		d.extend(target, its)
		return nil
	case value.KindSet:
		if op != opAddItems {
			break
		}
		d.extend(target, its)
		return nil
	case value.KindObject:
		if _, isRef := d.refs[target]; isRef {
			break
		}
		coll := d.collector(target, value.KindList)
		if coll == nil {
			break
		}
		d.used += int64(len(its)) * ptrCost
		coll.Items = append(coll.Items, its...)
		return nil
	}
	return d.fail(opName(op) + " on a " + target.Kind.String())
}

// extend appends its to the items of a list or set; the first items get a
// slice of their own (see items).
func (d *pickleDecoder) extend(target *value.Value, its []*value.Value) {
	if target.Items == nil {
		target.Items = d.items(its)
		return
	}
	d.used += int64(len(its)) * ptrCost
	target.Items = append(target.Items, its...)
}

func (d *pickleDecoder) setItems(target *value.Value, its []*value.Value) error {
	var dict *value.Value
	switch target.Kind {
	case value.KindDict:
		dict = target
	case value.KindObject:
		if _, isRef := d.refs[target]; !isRef {
			dict = d.collector(target, value.KindDict)
		}
	}
	if dict == nil {
		return d.fail(opName(d.in[d.op]) + " on a " + target.Kind.String())
	}
	if dict.Pairs == nil {
		dict.Pairs = d.pairSlice(len(its) / 2)
	} else {
		d.used += int64(len(its)/2) * pairCost
	}
	for i := 0; i < len(its); i += 2 {
		dict.Pairs = append(dict.Pairs, value.Pair{Key: its[i], Value: its[i+1]})
	}
	return nil
}

// collector returns the dict or list (kind) appended to an object's
// arguments that collects what SETITEMS or APPENDS add to the object; nil when
// the object already collects the other kind.
func (d *pickleDecoder) collector(obj *value.Value, kind value.Kind) *value.Value {
	if d.objItems == nil {
		d.objItems = make(map[*value.Value]*value.Value)
	}
	if c, ok := d.objItems[obj]; ok {
		if c.Kind != kind {
			return nil
		}
		return c
	}
	c := d.node()
	c.Kind = kind
	obj.Items = append(obj.Items[:len(obj.Items):len(obj.Items)], c)
	d.objItems[obj] = c
	return c
}

// ---- globals and calls ----

type globalCode uint8

const (
	gOther globalCode = iota
	gDateTime
	gDate
	gTime
	gTimeDelta
	gDecimal
	gUUID
	gSet
	gFrozenSet
	gBytes
	gByteArray
	gCodecsEncode
	gGetattr
	gReconstructor
	gNewObj
	gNewObjEx
	gOrderedDict
	gDefaultDict
	gCounter
	gZoneInfoUnpickle
)

var knownGlobals = map[string]globalCode{
	"datetime.datetime":           gDateTime,
	"datetime.date":               gDate,
	"datetime.time":               gTime,
	"datetime.timedelta":          gTimeDelta,
	"decimal.Decimal":             gDecimal,
	"_pydecimal.Decimal":          gDecimal,
	"uuid.UUID":                   gUUID,
	"builtins.set":                gSet,
	"builtins.frozenset":          gFrozenSet,
	"builtins.bytes":              gBytes,
	"builtins.bytearray":          gByteArray,
	"_codecs.encode":              gCodecsEncode,
	"codecs.encode":               gCodecsEncode,
	"builtins.getattr":            gGetattr,
	"copyreg._reconstructor":      gReconstructor,
	"copyreg.__newobj__":          gNewObj,
	"copyreg.__newobj_ex__":       gNewObjEx,
	"collections.OrderedDict":     gOrderedDict,
	"collections.defaultdict":     gDefaultDict,
	"collections.Counter":         gCounter,
	"zoneinfo.ZoneInfo._unpickle": gZoneInfoUnpickle,
}

// global returns a node standing for the class or function module.name.
func (d *pickleDecoder) global(module, name string) *value.Value {
	if d.proto < 3 {
		module, name = py2Name(module, name)
	}
	return d.ref(module + "." + name)
}

func (d *pickleDecoder) ref(qualified string) *value.Value {
	v := d.node()
	v.Kind, v.Str = value.KindObject, qualified
	if d.refs == nil {
		d.refs = make(map[*value.Value]globalCode)
	}
	d.refs[v] = knownGlobals[qualified]
	return v
}

// call is REDUCE, INST and OBJ: fn(*args).
func (d *pickleDecoder) call(fn *value.Value, args []*value.Value) (*value.Value, error) {
	code, isRef := d.refs[fn]
	if !isRef {
		// Calling an instance or a call's result: keep both as data.
		return d.object("<call>", append([]*value.Value{fn}, args...), nil), nil
	}
	if v := d.known(code, fn, args); v != nil {
		return v, nil
	}
	return d.object(fn.Str, args, nil), nil
}

// known builds the natural node of a known reducer, or returns nil when the
// arguments are not the shape it understands.
func (d *pickleDecoder) known(code globalCode, fn *value.Value, args []*value.Value) *value.Value {
	switch code {
	case gDateTime, gDate, gTime:
		return d.temporal(code, args)
	case gTimeDelta:
		var p [3]int64
		if len(args) > 3 {
			return nil
		}
		for i, a := range args {
			if a.Kind != value.KindInt || a.Big != nil || a.Int > 1e15 || a.Int < -1e15 {
				return nil
			}
			p[i] = a.Int
		}
		td := value.NormalizeTimeDelta(p[0], p[1], p[2])
		if td.Days > 999999999 || td.Days < -999999999 {
			return nil
		}
		v := d.node()
		v.Kind, v.TD = value.KindTimeDelta, &td
		return v
	case gDecimal:
		if len(args) == 1 && args[0].Kind == value.KindStr && validDecimal(args[0].Str) {
			v := d.node()
			v.Kind, v.Str = value.KindDecimal, strings.TrimSpace(args[0].Str)
			return v
		}
		if len(args) == 1 && args[0].Kind == value.KindInt {
			v := d.node()
			v.Kind, v.Str = value.KindDecimal, args[0].IntString()
			return v
		}
	case gUUID:
		if len(args) == 1 && args[0].Kind == value.KindStr {
			if u, ok := parseUUIDText(args[0].Str); ok {
				return d.uuidNode(u)
			}
		}
	case gSet, gFrozenSet:
		kind := value.KindSet
		if code == gFrozenSet {
			kind = value.KindFrozenSet
		}
		switch {
		case len(args) == 0:
			return d.seqNode(kind, nil)
		case len(args) == 1 && args[0].Kind.IsSeq():
			return d.seqNode(kind, d.items(args[0].Items))
		}
	case gBytes, gByteArray, gCodecsEncode:
		if len(args) == 0 && code != gCodecsEncode {
			return d.bytesNode([]byte{})
		}
		if len(args) == 1 && args[0].Kind == value.KindBytes && code != gCodecsEncode {
			return d.bytesNode(args[0].Bytes)
		}
		if len(args) == 2 && args[0].Kind == value.KindStr && args[1].Kind == value.KindStr {
			if b, ok := encodeText(args[0].Str, args[1].Str); ok {
				d.used += int64(len(b))
				return d.bytesNode(b)
			}
		}
	case gGetattr:
		if len(args) == 2 && args[1].Kind == value.KindStr {
			if _, isRef := d.refs[args[0]]; isRef {
				return d.ref(args[0].Str + "." + args[1].Str)
			}
		}
	case gReconstructor:
		if len(args) == 3 {
			if _, isRef := d.refs[args[1]]; isRef {
				if args[1].Str == "builtins.object" || args[2].Kind == value.KindNone {
					return d.newObj(args[0], nil, nil)
				}
				return d.newObj(args[0], d.items(args[2:3]), nil)
			}
		}
	case gNewObj:
		if len(args) >= 1 {
			return d.newObj(args[0], args[1:], nil)
		}
	case gNewObjEx:
		if len(args) == 3 && args[1].Kind == value.KindTuple && args[2].Kind == value.KindDict {
			return d.newObj(args[0], args[1].Items, args[2])
		}
	case gOrderedDict:
		if v := d.orderedDict(args); v != nil {
			v.Str = "collections.OrderedDict"
			return v
		}
	case gDefaultDict:
		// defaultdict.__reduce__ gives (factory,) and its items come by SETITEMS.
		if len(args) <= 1 {
			v := d.node()
			v.Kind, v.Str = value.KindDict, "collections.defaultdict"
			v.Items = d.items(args)
			return v
		}
	case gCounter:
		if len(args) == 0 || (len(args) == 1 && args[0].Kind == value.KindDict) {
			v := d.orderedDict(args)
			v.Str = "collections.Counter"
			return v
		}
	case gZoneInfoUnpickle:
		if len(args) >= 1 && args[0].Kind == value.KindStr {
			return d.object("zoneinfo.ZoneInfo", d.items(args[:1]), nil)
		}
	}
	return nil
}

// newObj is NEWOBJ and copyreg.__newobj__: cls.__new__(cls, *args, **kwargs).
func (d *pickleDecoder) newObj(cls *value.Value, args []*value.Value, kwargs *value.Value) *value.Value {
	args = args[:len(args):len(args)]
	if kwargs != nil && len(kwargs.Pairs) > 0 {
		args = append(args, kwargs)
	}
	if _, isRef := d.refs[cls]; !isRef {
		return d.object("<new>", append([]*value.Value{cls}, args...), nil)
	}
	return d.object(cls.Str, args, nil)
}

func (d *pickleDecoder) orderedDict(args []*value.Value) *value.Value {
	v := d.node()
	v.Kind = value.KindDict
	if len(args) == 0 {
		return v
	}
	if len(args) != 1 {
		return nil
	}
	switch a := args[0]; {
	case a.Kind == value.KindDict:
		v.Pairs = append(d.pairSlice(len(a.Pairs)), a.Pairs...)
	case a.Kind == value.KindList || a.Kind == value.KindTuple:
		v.Pairs = d.pairSlice(len(a.Items))
		for _, it := range a.Items {
			if !(it.Kind == value.KindList || it.Kind == value.KindTuple) || len(it.Items) != 2 {
				return nil
			}
			v.Pairs = append(v.Pairs, value.Pair{Key: it.Items[0], Value: it.Items[1]})
		}
	default:
		return nil
	}
	return v
}

// kindClasses names the class of a natural node, for a BUILD on it.
var kindClasses = [...]string{
	value.KindNone: "builtins.NoneType", value.KindBool: "builtins.bool", value.KindInt: "builtins.int", value.KindFloat: "builtins.float",
	value.KindStr: "builtins.str", value.KindBytes: "builtins.bytes", value.KindList: "builtins.list", value.KindTuple: "builtins.tuple",
	value.KindSet: "builtins.set", value.KindFrozenSet: "builtins.frozenset", value.KindDict: "builtins.dict",
	value.KindDateTime: "datetime.datetime", value.KindDate: "datetime.date", value.KindTime: "datetime.time",
	value.KindTimeDelta: "datetime.timedelta", value.KindDecimal: "decimal.Decimal", value.KindUUID: "uuid.UUID",
	value.KindObject: "builtins.object", value.KindExt: "builtins.object", value.KindCycle: "builtins.object", value.KindTruncated: "builtins.object",
}

// build is BUILD: set the state of target (in place, so every reference sees it).
func (d *pickleDecoder) build(target, state *value.Value) error {
	if _, isRef := d.refs[target]; isRef {
		return d.fail("BUILD on the class " + target.Str)
	}
	switch target.Kind {
	case value.KindNone, value.KindBool, value.KindInt, value.KindFloat, value.KindStr, value.KindBytes:
		// Python fails too (these have no __dict__); and the tree shares such leaves.
		return d.fail("BUILD on a " + target.Kind.String())
	}
	state = mergeSlotState(d, state)
	if target.Kind != value.KindObject {
		// Python would call __setstate__ of a natural value (a datetime or
		// a set, say) or fail; keep the value and its state as an object.
		old := d.node()
		*old = *target
		*target = value.Value{Kind: value.KindObject, Str: kindClasses[old.Kind], Items: d.items([]*value.Value{old}), State: state}
		return nil
	}
	if target.Str == "uuid.UUID" && len(target.Items) == 0 && state.Kind == value.KindDict {
		for _, p := range state.Pairs {
			if p.Key.Kind == value.KindStr && p.Key.Str == "int" && p.Value.Kind == value.KindInt {
				if u, ok := uuidFromInt(p.Value); ok {
					*target = value.Value{Kind: value.KindUUID, Bytes: d.bytesCopy(u[:])}
					return nil
				}
			}
		}
	}
	if target.State != nil && target.State.Kind == value.KindDict && state.Kind == value.KindDict {
		merged := d.node()
		merged.Kind = value.KindDict
		merged.Pairs = append(append(d.pairSlice(len(target.State.Pairs)+len(state.Pairs)), target.State.Pairs...), state.Pairs...)
		target.State = merged
		return nil
	}
	target.State = state
	return nil
}

// mergeSlotState turns the state (dict or None, slots dict) that the default
// __reduce_ex__ writes for a class with __slots__ into one dict.
func mergeSlotState(d *pickleDecoder, state *value.Value) *value.Value {
	if state.Kind != value.KindTuple || len(state.Items) != 2 {
		return state
	}
	first, slots := state.Items[0], state.Items[1]
	if (first.Kind != value.KindNone && first.Kind != value.KindDict) || slots.Kind != value.KindDict {
		return state
	}
	v := d.node()
	v.Kind = value.KindDict
	v.Pairs = append(append(d.pairSlice(len(first.Pairs)+len(slots.Pairs)), first.Pairs...), slots.Pairs...)
	return v
}

func (d *pickleDecoder) uuidNode(u [16]byte) *value.Value {
	v := d.node()
	v.Kind, v.Bytes = value.KindUUID, d.bytesCopy(u[:])
	return v
}

// uuidFromInt converts UUID's int state (0 <= n < 2**128).
func uuidFromInt(n *value.Value) ([16]byte, bool) {
	var u [16]byte
	if n.Big == nil {
		if n.Int < 0 {
			return u, false
		}
		binary.BigEndian.PutUint64(u[8:], uint64(n.Int))
		return u, true
	}
	if n.Big.Sign() < 0 || n.Big.BitLen() > 128 {
		return u, false
	}
	n.Big.FillBytes(u[:])
	return u, true
}

// parseUUIDText accepts what uuid.UUID(hex) does: braces, "urn:uuid:" and
// hyphens are dropped, 32 hex digits remain.
func parseUUIDText(s string) ([16]byte, bool) {
	var u [16]byte
	s = strings.TrimPrefix(strings.TrimPrefix(s, "urn:"), "uuid:")
	s = strings.Trim(s, "{}")
	s = strings.ReplaceAll(s, "-", "")
	if len(s) != 32 {
		return u, false
	}
	for i := 0; i < 16; i++ {
		x, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return u, false
		}
		u[i] = byte(x)
	}
	return u, true
}

// validDecimal reports whether Decimal(s) accepts s (surrounding whitespace,
// sign, digits with a point and exponent, or Infinity/Inf/NaN/sNaN with a
// diagnostic).
func validDecimal(s string) bool {
	s = strings.TrimSpace(s)
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	low := strings.ToLower(s)
	switch {
	case low == "inf" || low == "infinity":
		return true
	case strings.HasPrefix(low, "nan") || strings.HasPrefix(low, "snan"):
		diag := strings.TrimPrefix(strings.TrimPrefix(low, "s"), "nan")
		return strings.Trim(diag, "0123456789") == ""
	}
	mant, exp := low, ""
	if i := strings.IndexByte(low, 'e'); i >= 0 {
		mant, exp = low[:i], low[i+1:]
		if exp != "" && (exp[0] == '+' || exp[0] == '-') {
			exp = exp[1:]
		}
		if exp == "" || strings.Trim(exp, "0123456789") != "" {
			return false
		}
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	if intPart+frac == "" || strings.Trim(intPart+frac, "0123456789") != "" {
		return false
	}
	return len(s) <= 1<<16
}

// encodeText is str.encode(encoding) for the codecs pickles use.
func encodeText(s, encoding string) ([]byte, bool) {
	enc := strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(encoding))
	switch enc {
	case "latin1", "iso88591", "l1", "8859", "cp819", "latin":
		out := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 0xff {
				return nil, false
			}
			out = append(out, byte(r))
		}
		return out, true
	case "ascii", "usascii", "646":
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return nil, false
			}
		}
		return []byte(s), true
	case "utf8", "u8", "utf":
		return []byte(s), true
	}
	return nil, false
}

// ---- datetime ----

func (d *pickleDecoder) temporal(code globalCode, args []*value.Value) *value.Value {
	var dt value.DateTime
	var tz *value.Value
	var ok bool
	switch code {
	case gDateTime:
		ok, tz = d.dtPayload(args, 10, &dt)
	case gDate:
		ok, tz = d.dtPayload(args, 4, &dt)
		ok = ok && tz == nil
	case gTime:
		ok, tz = d.dtPayload(args, 6, &dt)
	}
	if !ok {
		return nil
	}
	kind := value.KindDateTime
	if code == gDate {
		kind = value.KindDate
	} else if code == gTime {
		kind = value.KindTime
	}
	aware := true
	if tz != nil && tz.Kind != value.KindNone {
		aware = d.applyTZ(kind, &dt, tz)
	}
	p := d.newDT()
	*p = dt
	v := d.node()
	v.Kind, v.DT = kind, p
	if !aware {
		// An unknown tzinfo: keep it beside the naive value.
		return d.object(kindClasses[kind], d.items([]*value.Value{v, tz}), nil)
	}
	return v
}

// dtPayload reads a datetime/date/time state: the packed bytes (or a Latin-1
// str, as Python 2 wrote them) and an optional tzinfo, or the constructor's
// integer arguments.
func (d *pickleDecoder) dtPayload(args []*value.Value, size int, dt *value.DateTime) (bool, *value.Value) {
	if len(args) == 0 {
		return false, nil
	}
	var tz *value.Value
	var p []byte
	switch a := args[0]; a.Kind {
	case value.KindBytes:
		p = a.Bytes
	case value.KindStr:
		b, ok := encodeText(a.Str, "latin1")
		if !ok {
			return false, nil
		}
		p = b
	case value.KindInt:
		return d.dtInts(args, size, dt)
	default:
		return false, nil
	}
	if len(p) != size || len(args) > 2 {
		return false, nil
	}
	if len(args) == 2 {
		tz = args[1]
	}
	switch size {
	case 10, 4:
		dt.Year, dt.Month, dt.Day = int(p[0])<<8|int(p[1]), int(p[2]&0x7f), int(p[3])
		dt.Fold = p[2]&0x80 != 0
		if size == 10 {
			dt.Hour, dt.Minute, dt.Second = int(p[4]), int(p[5]), int(p[6])
			dt.Microsecond = int(p[7])<<16 | int(p[8])<<8 | int(p[9])
		} else if dt.Fold {
			return false, nil
		}
	case 6:
		dt.Hour, dt.Minute, dt.Second = int(p[0]&0x7f), int(p[1]), int(p[2])
		dt.Fold = p[0]&0x80 != 0
		dt.Microsecond = int(p[3])<<16 | int(p[4])<<8 | int(p[5])
	}
	return validDT(size, dt), tz
}

func (d *pickleDecoder) dtInts(args []*value.Value, size int, dt *value.DateTime) (bool, *value.Value) {
	n, min := 7, 3 // datetime(year, month, day[, hour[, minute[, second[, microsecond]]]])
	if size == 4 {
		n = 3
	} else if size == 6 {
		n, min = 4, 0
	}
	var vals [7]int
	i := 0
	for ; i < len(args) && i < n && args[i].Kind == value.KindInt; i++ {
		if args[i].Big != nil || args[i].Int < 0 || args[i].Int > 9999 {
			return false, nil
		}
		vals[i] = int(args[i].Int)
	}
	if i < min {
		return false, nil
	}
	var tz *value.Value
	if i < len(args) {
		if size == 4 || i != len(args)-1 {
			return false, nil
		}
		tz = args[i]
	}
	if size == 6 {
		dt.Hour, dt.Minute, dt.Second, dt.Microsecond = vals[0], vals[1], vals[2], vals[3]
	} else {
		dt.Year, dt.Month, dt.Day = vals[0], vals[1], vals[2]
		dt.Hour, dt.Minute, dt.Second, dt.Microsecond = vals[3], vals[4], vals[5], vals[6]
	}
	return validDT(size, dt), tz
}

func validDT(size int, dt *value.DateTime) bool {
	if size != 6 {
		if dt.Year < 1 || dt.Year > 9999 || dt.Month < 1 || dt.Month > 12 || dt.Day < 1 ||
			dt.Day > daysIn(dt.Year, dt.Month) {
			return false
		}
	}
	return dt.Hour < 24 && dt.Minute < 60 && dt.Second < 60 && dt.Microsecond < 1_000_000
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// applyTZ sets the zone fields of dt from a tzinfo node; false when the
// tzinfo is not one we know.
func (d *pickleDecoder) applyTZ(kind value.Kind, dt *value.DateTime, tz *value.Value) bool {
	if tz.Kind != value.KindObject {
		return false
	}
	args := tz.Items
	switch tz.Str {
	case "datetime.timezone":
		if len(args) < 1 || len(args) > 2 || args[0].Kind != value.KindTimeDelta {
			return false
		}
		td := args[0].TD
		off := time.Duration(td.Days*86400+td.Seconds)*time.Second + time.Duration(td.Microseconds)*time.Microsecond
		if off <= -24*time.Hour || off >= 24*time.Hour {
			return false
		}
		dt.HasOffset, dt.Offset = true, off
		return true
	case "pytz._UTC":
		dt.HasOffset, dt.Offset = true, 0
		return len(args) == 0
	case "zoneinfo.ZoneInfo", "pytz._p":
		if len(args) < 1 || args[0].Kind != value.KindStr || args[0].Str == "" {
			return false
		}
		dt.Zone = args[0].Str
		if tz.Str == "pytz._p" && len(args) >= 2 {
			// A localized pytz zone carries its offset: (zone, utcoffset, dst, tzname).
			if args[1].Kind != value.KindInt || args[1].Big != nil || args[1].Int <= -86400 || args[1].Int >= 86400 {
				return false
			}
			dt.HasOffset, dt.Offset = true, time.Duration(args[1].Int)*time.Second
			return true
		}
		if loc := d.location(dt.Zone); loc != nil {
			if off, ok := zoneOffset(loc, kind, dt); ok {
				dt.HasOffset, dt.Offset = true, off
			}
		}
		return true
	}
	return false
}

// location loads a named zone once per decode; a pickle naming many zones
// stops looking them up after a few, so it cannot make us read the zone
// database thousands of times.
func (d *pickleDecoder) location(name string) *time.Location {
	if name == d.lastZone {
		return d.lastLoc
	}
	loc := d.lookupZone(name)
	d.lastZone, d.lastLoc = name, loc
	return loc
}

func (d *pickleDecoder) lookupZone(name string) *time.Location {
	if loc, ok := d.zones[name]; ok {
		return loc
	}
	if len(d.zones) >= 16 || !validZoneName(name) {
		return nil
	}
	if d.zones == nil {
		d.zones = make(map[string]*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = nil
	}
	d.zones[name] = loc
	return loc
}

func validZoneName(s string) bool {
	if s == "" || len(s) > 64 || s == "Local" || s[0] == '/' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/_+-", c) >= 0) {
			return false
		}
	}
	return true
}

// zoneOffset is the UTC offset Python's zoneinfo gives a wall time: after a
// transition once the wall time reaches transition + the larger of the two
// offsets (fold 0) or the smaller (fold 1). So an ambiguous time takes the
// earlier offset with fold 0, and a time in a gap the offset before the gap
// with fold 0. A time (no date) gets an offset only from a fixed-offset zone,
// as in Python.
func zoneOffset(loc *time.Location, kind value.Kind, dt *value.DateTime) (time.Duration, bool) {
	if kind == value.KindTime {
		t := time.Unix(0, 0).In(loc)
		if start, end := t.ZoneBounds(); !start.IsZero() || !end.IsZero() {
			return 0, false
		}
		_, off := t.Zone()
		return time.Duration(off) * time.Second, true
	}
	wall := time.Date(dt.Year, time.Month(dt.Month), dt.Day, dt.Hour, dt.Minute, dt.Second, 0, time.UTC).Unix()
	// Transitions more than two days before the wall time are passed whatever the fold.
	t := time.Unix(wall-2*86400, 0).In(loc)
	for range 16 {
		_, off := t.Zone()
		_, end := t.ZoneBounds()
		if end.IsZero() {
			return time.Duration(off) * time.Second, true
		}
		_, after := end.Zone()
		lo, hi := off, after
		if lo > hi {
			lo, hi = hi, lo
		}
		threshold := end.Unix() + int64(hi)
		if dt.Fold {
			threshold = end.Unix() + int64(lo)
		}
		if wall < threshold {
			return time.Duration(off) * time.Second, true
		}
		t = end
	}
	return 0, false
}

// ---- finishing: cut cycles, bound the expanded tree, check depth ----

type pickleWalker struct {
	d       *pickleDecoder
	budget  int64 // nodes the tree may still hold, counted with repetition
	onPath  map[*value.Value]bool
	maxDeep int
}

func (d *pickleDecoder) finish(root *value.Value) (*value.Value, error) {
	// Every node of the tree counts each time it appears. Without shared
	// containers that is at most the nodes and references the pickle made;
	// expanding shared containers may add as much again (plus a little), and
	// never more than MaxBytes worth of nodes.
	budget := 2*(d.nodes+d.refCount) + 1<<16
	budget = min(budget, d.lim.MaxBytes/valueCost)
	w := &pickleWalker{d: d, budget: budget, maxDeep: d.lim.MaxDepth}
	if len(d.shared) > 0 {
		w.onPath = make(map[*value.Value]bool)
	}
	v, _, err := w.walk(root, 0)
	return v, err
}

func (w *pickleWalker) cycle() *value.Value {
	if w.d.cycle == nil {
		w.d.cycle = value.NewCycle()
	}
	return w.d.cycle
}

// walk returns v, or a copy of it with cycles cut and the budget applied
// (changed reports a copy); v itself is never modified.
func (w *pickleWalker) walk(v *value.Value, depth int) (*value.Value, bool, error) {
	w.budget--
	switch v.Kind {
	case value.KindList, value.KindTuple, value.KindSet, value.KindFrozenSet, value.KindDict, value.KindObject:
	default:
		return v, false, nil
	}
	if v.Kind == value.KindObject && v.Items == nil && v.State == nil {
		return v, false, nil // a class or function
	}
	if depth >= w.maxDeep {
		return nil, false, &value.FormatError{Format: value.FormatPickle, Offset: -1, Msg: "nesting deeper than " + strconv.Itoa(w.maxDeep) + " levels"}
	}
	if len(v.Items) == 0 && len(v.Pairs) == 0 && v.State == nil {
		return v, false, nil
	}
	if w.onPath != nil {
		if _, ok := w.d.shared[v]; ok {
			if w.onPath[v] {
				return w.cycle(), true, nil
			}
			w.onPath[v] = true
			defer delete(w.onPath, v)
		}
	}
	var out *value.Value // the copy, made at the first change
	change := func() {
		if out == nil {
			out = &value.Value{}
			*out = *v
		}
	}
	limit := w.d.lim.MaxItems
	if n := len(v.Items); n > 0 {
		var items []*value.Value
		for i, it := range v.Items {
			if w.budget <= 0 || (limit > 0 && i >= limit) {
				if items == nil {
					items = append(make([]*value.Value, 0, i+1), v.Items[:i]...)
				}
				items = append(items, value.NewTruncated(int64(n-i)))
				break
			}
			nv, changed, err := w.walk(it, depth+1)
			if err != nil {
				return nil, false, err
			}
			if changed && items == nil {
				items = append(make([]*value.Value, 0, n), v.Items[:i]...)
			}
			if items != nil {
				items = append(items, nv)
			}
		}
		if items != nil {
			change()
			out.Items = items
		}
	}
	if n := len(v.Pairs); n > 0 {
		var pairs []value.Pair
		for i, p := range v.Pairs {
			if w.budget <= 0 || (limit > 0 && i >= limit) {
				if pairs == nil {
					pairs = append(make([]value.Pair, 0, i+1), v.Pairs[:i]...)
				}
				pairs = append(pairs, value.Pair{Key: value.NewTruncated(int64(n - i)), Value: value.None()})
				break
			}
			k, kc, err := w.walk(p.Key, depth+1)
			if err != nil {
				return nil, false, err
			}
			val, vc, err := w.walk(p.Value, depth+1)
			if err != nil {
				return nil, false, err
			}
			if (kc || vc) && pairs == nil {
				pairs = append(make([]value.Pair, 0, n), v.Pairs[:i]...)
			}
			if pairs != nil {
				pairs = append(pairs, value.Pair{Key: k, Value: val})
			}
		}
		if pairs != nil {
			change()
			out.Pairs = pairs
		}
	}
	if v.State != nil {
		if w.budget <= 0 {
			change()
			out.State = value.NewTruncated(1)
		} else {
			st, changed, err := w.walk(v.State, depth+1)
			if err != nil {
				return nil, false, err
			}
			if changed {
				change()
				out.State = st
			}
		}
	}
	if out != nil {
		return out, true, nil
	}
	return v, false, nil
}
