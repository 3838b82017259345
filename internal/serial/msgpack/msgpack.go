// Package msgpack decodes and encodes MessagePack as msgpack-python does.
//
// MessagePack, decoded and encoded by our own small codec rather than
// github.com/vmihailenco/msgpack/v5. We need what a general codec does not
// give: (1) a decoder that never allocates from a declared length before
// checking it against the bytes that remain, with limits on depth and on the
// number of nodes, so a hostile 5-byte header cannot ask for 4 GiB; (2) exact
// control of what each wire type becomes in the Value tree (uint64 beyond
// int64 as a big Int, every ext type including the timestamp -1 kept as raw
// Ext, a str that is not UTF-8 kept as bytes) and byte offsets in errors;
// (3) an encoder byte-identical to msgpack-python's packb(use_bin_type=True)
// (smallest int forms, floats always float 64, str8 for short strings); and
// (4) a single pass straight into Value nodes, with no interface{} tree in
// between. The format is small (one page of spec), so this is a few hundred lines
// checked against vectors made by msgpack-python itself
// (internal/serial/testdata/vectors).
package msgpack

import (
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cachectl/cachectl/internal/serial/value"
)

// DefaultMaxNodes is the node budget of a decode when Limits
// leaves it zero: about 600 MiB of Value nodes at worst, and ten times the
// nodes of a realistic 10 MB value (100k small maps).
const DefaultMaxNodes = 1 << 22

// Limits bounds what Decode builds. Zero fields take defaults.
type Limits struct {
	// MaxDepth is the deepest nesting of arrays and maps accepted (default
	// MaxDepth, like JSON); deeper input is an error.
	MaxDepth int
	// MaxNodes is how many Value nodes are built (default
	// DefaultMaxNodes). Past it, the rest of each open container is
	// still checked to the last byte but left out, and a KindTruncated node
	// saying how many items were left out ends the container (for a map, as the
	// Key of its last Pair).
	MaxNodes int
}

// Decode decodes b, which must hold exactly one MessagePack object.
//
//	nil, true/false           None, Bool
//	every int width           Int; a uint64 above MaxInt64 is a big Int
//	float 32/64               Float (a float 32 widened exactly, as Python does)
//	str 8/16/32, fixstr       Str when the bytes are UTF-8; otherwise Bytes, which is
//	                          what old msgpack (use_bin_type=False, as aiocache
//	                          installs of msgpack < 1.0 wrote) used str for
//	bin 8/16/32               Bytes
//	array, map                List; Dict with pairs in wire order, keys of any kind
//	ext, fixext               Ext(type, data) for every type, the timestamp type -1
//	                          included (see Timestamp), so nothing is lost and
//	                          Encode writes the same bytes again
//
// Declared lengths are checked against the remaining input before anything is
// allocated. Errors are *FormatError{Format: "msgpack"} with the offset of the
// offending byte. Bytes, Str and Ext data are copies: b may be reused.
//
// A repeated map key keeps its first position and takes its last value, as in
// the dict msgpack.unpackb returns (see dedupePairs).
func Decode(b []byte, lim Limits) (*value.Value, error) {
	d := mpDecoder{b: b, maxDepth: lim.MaxDepth, maxNodes: lim.MaxNodes}
	if d.maxDepth <= 0 {
		d.maxDepth = value.MaxDepth
	}
	if d.maxNodes <= 0 {
		d.maxNodes = DefaultMaxNodes
	}
	if len(b) == 0 {
		return nil, d.errAt(0, "empty input")
	}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.pos < len(b) {
		n := len(b) - d.pos
		return nil, d.errAt(d.pos, strconv.Itoa(n)+" trailing "+plural(n, "byte")+" after the object")
	}
	return v, nil
}

// Plausible reports whether b, which Decode decoded to v, should
// be taken for msgpack when detecting a format. Detection tries msgpack after
// pickle and JSON but before UTF-8 text, and every 1-byte ASCII text ("a",
// "7") is also a msgpack positive fixint, and some short non-ASCII text too
// ("Д" is d0 94, an int 8). The rule:
//
//	b is plausible msgpack unless it is printable UTF-8 text: valid UTF-8 with
//	no control character other than \t, \n and \r (no other C0, no DEL, no C1)
//	that does not start with a combining mark.
//
// So a lone printable ASCII byte or whitespace byte is text; a lone control
// byte 0x00-0x08, 0x0b, 0x0c, 0x0e-0x1f, 0x7f is the int msgpack.packb wrote.
// Text of two or more bytes that starts with ASCII is never one msgpack object.
// Every container, str, bin, ext, nil, bool and float starts with a byte that
// cannot begin UTF-8 text (0x80-0xc1, 0xf5-0xff), or with 0xc2-0xdf followed by
// a byte that rarely makes the pair valid. The overlaps that remain are
// resolved as text, because text that is by chance exactly one msgpack object
// is likelier than the reverse (e.g. Arabic text of 130-193 bytes starting with
// U+0640-U+067F reads as a str 8): "Ωabc" (uint 32), and a lone Cyrillic
// letter U+0400-U+043F, which is also an int 8 from -128 to -65 (d0 80-bf).
// The uint 8 values 128-191 (cc 80-bf) and uint 16 forms starting cd 80-bf
// are combining marks (U+0300-U+034F), which never start text: msgpack.
func Plausible(b []byte, v *value.Value) bool {
	if v == nil || len(b) == 0 {
		return false
	}
	return !printableText(b)
}

// printableText reports whether b is valid UTF-8 without control characters
// other than \t, \n and \r, and does not start with a combining mark.
func printableText(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if (r == utf8.RuneError && size == 1) || (r >= 0x80 && r <= 0x9f) {
			return false
		}
		if i == 0 && (unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r)) {
			return false
		}
		i += size
	}
	return true
}

// Timestamp returns the time of an Ext node of the msgpack timestamp
// type -1 (data of 4, 8 or 12 bytes, nanoseconds below 1e9), in UTC; ok is
// false for anything else. Renderers may show it as a time.
func Timestamp(v *value.Value) (t time.Time, ok bool) {
	if v == nil || v.Kind != value.KindExt || v.Int != -1 {
		return time.Time{}, false
	}
	var sec int64
	var nsec uint32
	switch b := v.Bytes; len(b) {
	case 4:
		sec = int64(binary.BigEndian.Uint32(b))
	case 8:
		x := binary.BigEndian.Uint64(b)
		nsec, sec = uint32(x>>34), int64(x&(1<<34-1))
	case 12:
		nsec, sec = binary.BigEndian.Uint32(b), int64(binary.BigEndian.Uint64(b[4:]))
	default:
		return time.Time{}, false
	}
	if nsec >= 1e9 {
		return time.Time{}, false
	}
	return time.Unix(sec, int64(nsec)).UTC(), true
}

type mpDecoder struct {
	b        []byte
	pos      int
	maxDepth int
	maxNodes int
	nodes    int
	slab     []value.Value     // nodes are carved from chunks: one allocation per many nodes
	slabN    int               // size of the next chunk (grows to 1024)
	keys     map[string]string // interned short map keys (the same keys repeat in every record)
}

func (d *mpDecoder) errAt(off int, msg string) *value.FormatError {
	return &value.FormatError{Format: value.FormatMsgpack, Offset: off, Msg: msg}
}

func (d *mpDecoder) node(k value.Kind) *value.Value {
	if len(d.slab) == 0 {
		n := max(d.slabN, 8)
		// Every node takes at least one input byte: never carve more than can be used.
		n = min(n, len(d.b)-d.pos+1, d.maxNodes-d.nodes+1)
		d.slab = make([]value.Value, max(n, 1))
		d.slabN = min(2*d.slabN+8, 1024)
	}
	v := &d.slab[0]
	d.slab = d.slab[1:]
	v.Kind = k
	d.nodes++
	return v
}

// mpHeader is what header read.
type mpHeader struct {
	kind byte // 's' str, 'b' bin, 'e' ext, 'a' array, 'm' map, 'v' scalar
	n    uint64
	ext  int8
}

var errTruncated = errors.New("truncated")

func (d *mpDecoder) need(n int) error {
	if len(d.b)-d.pos < n {
		return errTruncated
	}
	return nil
}

func (d *mpDecoder) truncErr(start int, what string) *value.FormatError {
	return d.errAt(start, "input ends inside "+what)
}

// readUint reads a width-byte big-endian number after the type byte.
func (d *mpDecoder) readUint(start, width int, what string) (uint64, error) {
	if err := d.need(width); err != nil {
		return 0, d.truncErr(start, what)
	}
	p := d.b[d.pos:]
	var x uint64
	switch width {
	case 1:
		x = uint64(p[0])
	case 2:
		x = uint64(binary.BigEndian.Uint16(p))
	case 4:
		x = uint64(binary.BigEndian.Uint32(p))
	case 8:
		x = binary.BigEndian.Uint64(p)
	}
	d.pos += width
	return x, nil
}

// header reads the type byte at d.pos and what follows it up to the payload.
// A scalar is decoded into v (when v is not nil); for str, bin, ext, array and
// map it returns the declared length (ext: the data length and the type code).
func (d *mpDecoder) header(v *value.Value) (h mpHeader, err error) {
	start := d.pos
	c := d.b[d.pos]
	d.pos++
	switch {
	case c <= 0x7f:
		if v != nil {
			v.Kind, v.Int = value.KindInt, int64(c)
		}
		return mpHeader{kind: 'v'}, nil
	case c >= 0xe0:
		if v != nil {
			v.Kind, v.Int = value.KindInt, int64(int8(c))
		}
		return mpHeader{kind: 'v'}, nil
	case c <= 0x8f:
		return mpHeader{kind: 'm', n: uint64(c & 0x0f)}, nil
	case c <= 0x9f:
		return mpHeader{kind: 'a', n: uint64(c & 0x0f)}, nil
	case c <= 0xbf:
		return mpHeader{kind: 's', n: uint64(c & 0x1f)}, nil
	}
	var x uint64
	switch c {
	case 0xc0:
		if v != nil {
			v.Kind = value.KindNone
		}
	case 0xc2, 0xc3:
		if v != nil {
			v.Kind, v.Bool = value.KindBool, c == 0xc3
		}
	case 0xca:
		if x, err = d.readUint(start, 4, "a float 32"); err == nil && v != nil {
			v.Kind, v.Float = value.KindFloat, float64(math.Float32frombits(uint32(x)))
		}
	case 0xcb:
		if x, err = d.readUint(start, 8, "a float 64"); err == nil && v != nil {
			v.Kind, v.Float = value.KindFloat, math.Float64frombits(x)
		}
	case 0xcc, 0xcd, 0xce, 0xcf:
		w := 1 << (c - 0xcc)
		if x, err = d.readUint(start, w, "a uint "+strconv.Itoa(8*w)); err == nil && v != nil {
			v.Kind = value.KindInt
			if x > math.MaxInt64 {
				v.Big = new(big.Int).SetUint64(x)
			} else {
				v.Int = int64(x)
			}
		}
	case 0xd0, 0xd1, 0xd2, 0xd3:
		w := 1 << (c - 0xd0)
		if x, err = d.readUint(start, w, "an int "+strconv.Itoa(8*w)); err == nil && v != nil {
			v.Kind = value.KindInt
			switch w {
			case 1:
				v.Int = int64(int8(x))
			case 2:
				v.Int = int64(int16(x))
			case 4:
				v.Int = int64(int32(x))
			default:
				v.Int = int64(x)
			}
		}
	case 0xc4, 0xc5, 0xc6:
		w := 1 << (c - 0xc4)
		x, err = d.readUint(start, w, "a bin "+strconv.Itoa(8*w)+" header")
		return mpHeader{kind: 'b', n: x}, err
	case 0xd9, 0xda, 0xdb:
		w := 1 << (c - 0xd9)
		x, err = d.readUint(start, w, "a str "+strconv.Itoa(8*w)+" header")
		return mpHeader{kind: 's', n: x}, err
	case 0xdc, 0xdd:
		w := 2 << (c - 0xdc)
		x, err = d.readUint(start, w, "an array "+strconv.Itoa(8*w)+" header")
		return mpHeader{kind: 'a', n: x}, err
	case 0xde, 0xdf:
		w := 2 << (c - 0xde)
		x, err = d.readUint(start, w, "a map "+strconv.Itoa(8*w)+" header")
		return mpHeader{kind: 'm', n: x}, err
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16
		if err = d.need(1); err != nil {
			return h, d.truncErr(start, "a fixext header")
		}
		h = mpHeader{kind: 'e', n: 1 << (c - 0xd4), ext: int8(d.b[d.pos])}
		d.pos++
		return h, nil
	case 0xc7, 0xc8, 0xc9: // ext 8, 16, 32
		w := 1 << (c - 0xc7)
		if x, err = d.readUint(start, w, "an ext "+strconv.Itoa(8*w)+" header"); err != nil {
			return h, err
		}
		if err = d.need(1); err != nil {
			return h, d.truncErr(start, "an ext "+strconv.Itoa(8*w)+" header")
		}
		h = mpHeader{kind: 'e', n: x, ext: int8(d.b[d.pos])}
		d.pos++
		return h, nil
	default: // 0xc1
		return h, d.errAt(start, "invalid type byte 0xc1")
	}
	return mpHeader{kind: 'v'}, err
}

// payload checks that n bytes of a str/bin/ext remain and returns them.
func (d *mpDecoder) payload(start int, h mpHeader) ([]byte, error) {
	if h.n > uint64(len(d.b)-d.pos) {
		what := "ext"
		switch h.kind {
		case 's':
			what = "str"
		case 'b':
			what = "bin"
		}
		return nil, d.errAt(start, what+" of "+strconv.FormatUint(h.n, 10)+" bytes exceeds the "+
			strconv.Itoa(len(d.b)-d.pos)+" remaining")
	}
	p := d.b[d.pos : d.pos+int(h.n)]
	d.pos += int(h.n)
	return p, nil
}

// count checks that a container of n items (pairs for a map) can fit in
// what remains: each item takes at least one byte.
func (d *mpDecoder) count(start int, h mpHeader) (int, error) {
	per := uint64(1)
	what := "array of "
	if h.kind == 'm' {
		per, what = 2, "map of "
	}
	rem := uint64(len(d.b) - d.pos)
	if h.n > rem/per {
		unit := " elements"
		if h.kind == 'm' {
			unit = " pairs"
		}
		return 0, d.errAt(start, what+strconv.FormatUint(h.n, 10)+unit+" exceeds the "+
			strconv.FormatUint(rem, 10)+" remaining bytes")
	}
	return int(h.n), nil
}

func (d *mpDecoder) value(depth int) (*value.Value, error) {
	if d.pos >= len(d.b) {
		return nil, d.errAt(d.pos, "unexpected end of input")
	}
	start := d.pos
	v := d.node(value.KindNone)
	h, err := d.header(v)
	if err != nil {
		return nil, err
	}
	switch h.kind {
	case 'v':
		return v, nil
	case 's', 'b', 'e':
		p, err := d.payload(start, h)
		if err != nil {
			return nil, err
		}
		switch h.kind {
		case 's':
			if !utf8.Valid(p) {
				v.Kind, v.Bytes = value.KindBytes, append([]byte{}, p...)
			} else {
				v.Kind, v.Str = value.KindStr, string(p)
			}
		case 'b':
			v.Kind, v.Bytes = value.KindBytes, append([]byte{}, p...)
		default:
			v.Kind, v.Int, v.Bytes = value.KindExt, int64(h.ext), append([]byte{}, p...)
		}
		return v, nil
	}
	n, err := d.count(start, h)
	if err != nil {
		return nil, err
	}
	if depth >= d.maxDepth {
		return nil, d.errAt(start, "nesting deeper than "+strconv.Itoa(d.maxDepth)+" levels")
	}
	if h.kind == 'a' {
		v.Kind = value.KindList
		v.Items = make([]*value.Value, 0, min(n, d.maxNodes-d.nodes+1))
		for i := 0; i < n; i++ {
			if d.nodes >= d.maxNodes {
				for j := i; j < n; j++ {
					if err := d.skip(depth + 1); err != nil {
						return nil, err
					}
				}
				v.Items = append(v.Items, value.NewTruncated(int64(n-i)))
				break
			}
			it, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			v.Items = append(v.Items, it)
		}
		return v, nil
	}
	v.Kind = value.KindDict
	v.Pairs = make([]value.Pair, 0, min(n, (d.maxNodes-d.nodes)/2+1))
	for i := 0; i < n; i++ {
		if d.nodes+1 >= d.maxNodes {
			for j := 2 * i; j < 2*n; j++ {
				if err := d.skip(depth + 1); err != nil {
					return nil, err
				}
			}
			v.Pairs = append(v.Pairs, value.Pair{Key: value.NewTruncated(int64(n - i)), Value: value.None()})
			break
		}
		k, err := d.key(depth + 1)
		if err != nil {
			return nil, err
		}
		val, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v.Pairs = append(v.Pairs, value.Pair{Key: k, Value: val})
	}
	v.Pairs = dedupePairs(v.Pairs)
	return v, nil
}

// dedupePairs merges repeated keys as a Python dict built from the pairs does
// (what msgpack.unpackb returns): the key keeps its first position and takes
// its last value. Keys are equal as in Python for str, bytes, int, bool
// (True == 1), None, float (1.0 == 1; NaN never equal) and ext; arrays and
// maps as keys (unhashable in Python) are kept as they come.
func dedupePairs(ps []value.Pair) []value.Pair {
	n := len(ps)
	if n < 2 {
		return ps
	}
	if n <= 16 { // the usual small record: look for a repeat without allocating
		dup := false
	scan:
		for i := 1; i < n; i++ {
			ki := ps[i].Key
			for j := 0; j < i; j++ {
				kj := ps[j].Key
				if ki.Kind == value.KindStr && kj.Kind == value.KindStr {
					if ki.Str == kj.Str {
						dup = true
						break scan
					}
					continue
				}
				a, okA := keyID(ki)
				b, okB := keyID(kj)
				if okA && okB && a == b {
					dup = true
					break scan
				}
			}
		}
		if !dup {
			return ps
		}
	}
	seen := make(map[string]int, n)
	out := ps[:0]
	for _, p := range ps {
		if id, ok := keyID(p.Key); ok {
			if i, dup := seen[id]; dup {
				out[i].Value = p.Value
				continue
			}
			seen[id] = len(out)
		}
		out = append(out, p)
	}
	// Clear the tail so the dropped nodes can be collected.
	clear(ps[len(out):n])
	return out
}

// keyID is a string equal for keys a Python dict treats as the same key.
func keyID(k *value.Value) (string, bool) {
	switch k.Kind {
	case value.KindStr:
		return "s" + k.Str, true
	case value.KindBytes:
		return "b" + string(k.Bytes), true
	case value.KindNone:
		return "n", true
	case value.KindBool:
		if k.Bool {
			return "i1", true
		}
		return "i0", true
	case value.KindInt:
		return "i" + k.IntString(), true
	case value.KindFloat:
		f := k.Float
		switch {
		case math.IsNaN(f):
			return "", false
		case f == math.Trunc(f) && !math.IsInf(f, 0):
			b, _ := big.NewFloat(f).Int(nil)
			return "i" + b.String(), true
		}
		return "f" + strconv.FormatFloat(f, 'g', -1, 64), true
	case value.KindExt:
		return "e" + strconv.FormatInt(k.Int, 10) + ":" + string(k.Bytes), true
	}
	return "", false
}

// key decodes a map key: a short str is interned, since records repeat keys.
func (d *mpDecoder) key(depth int) (*value.Value, error) {
	if d.pos < len(d.b) {
		if c := d.b[d.pos]; c >= 0xa0 && c <= 0xbf {
			n := int(c & 0x1f)
			if n < len(d.b)-d.pos {
				p := d.b[d.pos+1 : d.pos+1+n]
				if utf8.Valid(p) {
					d.pos += 1 + n
					v := d.node(value.KindStr)
					if d.keys == nil {
						d.keys = make(map[string]string)
					}
					s, ok := d.keys[string(p)]
					if !ok {
						s = string(p)
						if len(d.keys) < 4096 {
							d.keys[s] = s
						}
					}
					v.Str = s
					return v, nil
				}
			}
		}
	}
	return d.value(depth)
}

// skip checks one object without building it.
func (d *mpDecoder) skip(depth int) error {
	if d.pos >= len(d.b) {
		return d.errAt(d.pos, "unexpected end of input")
	}
	start := d.pos
	h, err := d.header(nil)
	if err != nil {
		return err
	}
	switch h.kind {
	case 'v':
		return nil
	case 's', 'b', 'e':
		_, err := d.payload(start, h)
		return err
	}
	n, err := d.count(start, h)
	if err != nil {
		return err
	}
	if depth >= d.maxDepth {
		return d.errAt(start, "nesting deeper than "+strconv.Itoa(d.maxDepth)+" levels")
	}
	if h.kind == 'm' {
		n *= 2
	}
	for i := 0; i < n; i++ {
		if err := d.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

func plural(n int, unit string) string {
	if n == 1 {
		return unit
	}
	return unit + "s"
}

// Encode encodes v as Python's msgpack.packb(obj, use_bin_type=True)
// (msgpack-python 1.0) does, byte for byte: ints in their smallest form
// (positive ints unsigned, negative ints signed), an int beyond uint64/int64
// an error (Python raises OverflowError); floats always as float 64; str as
// fixstr/str 8/16/32; bytes as bin 8/16/32; list and tuple as arrays; dicts as
// maps in their order; Ext nodes as fixext/ext 8/16/32 (msgpack.ExtType).
// Every other kind is an error "cannot encode <kind> as msgpack". Nesting is
// limited to MaxDepth (msgpack-python's packer stops at 511; its unpacker has
// no limit).
func Encode(v *value.Value) ([]byte, error) {
	return appendMsgpack(nil, v, 0)
}

func appendMsgpack(dst []byte, v *value.Value, depth int) ([]byte, error) {
	if v == nil {
		return append(dst, 0xc0), nil
	}
	var err error
	if (v.Kind == value.KindList || v.Kind == value.KindTuple || v.Kind == value.KindDict) && depth >= value.MaxDepth {
		return nil, errors.New("cannot encode as msgpack: nesting deeper than " + strconv.Itoa(value.MaxDepth) + " levels")
	}
	switch v.Kind {
	case value.KindNone:
		return append(dst, 0xc0), nil
	case value.KindBool:
		if v.Bool {
			return append(dst, 0xc3), nil
		}
		return append(dst, 0xc2), nil
	case value.KindInt:
		if v.Big == nil {
			return appendMsgpackInt(dst, v.Int), nil
		}
		if v.Big.IsInt64() {
			return appendMsgpackInt(dst, v.Big.Int64()), nil
		}
		if v.Big.IsUint64() {
			return binary.BigEndian.AppendUint64(append(dst, 0xcf), v.Big.Uint64()), nil
		}
		return nil, errors.New("cannot encode as msgpack: integer " + v.Big.String() + " is out of the 64-bit range")
	case value.KindFloat:
		return binary.BigEndian.AppendUint64(append(dst, 0xcb), math.Float64bits(v.Float)), nil
	case value.KindStr:
		n := len(v.Str)
		switch {
		case n < 32:
			dst = append(dst, 0xa0|byte(n))
		case n < 1<<8:
			dst = append(dst, 0xd9, byte(n))
		case n < 1<<16:
			dst = binary.BigEndian.AppendUint16(append(dst, 0xda), uint16(n))
		case uint64(n) < 1<<32:
			dst = binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(n))
		default:
			return nil, errors.New("cannot encode as msgpack: str longer than 4 GiB")
		}
		return append(dst, v.Str...), nil
	case value.KindBytes:
		n := len(v.Bytes)
		switch {
		case n < 1<<8:
			dst = append(dst, 0xc4, byte(n))
		case n < 1<<16:
			dst = binary.BigEndian.AppendUint16(append(dst, 0xc5), uint16(n))
		case uint64(n) < 1<<32:
			dst = binary.BigEndian.AppendUint32(append(dst, 0xc6), uint32(n))
		default:
			return nil, errors.New("cannot encode as msgpack: bytes longer than 4 GiB")
		}
		return append(dst, v.Bytes...), nil
	case value.KindExt:
		if v.Int < math.MinInt8 || v.Int > math.MaxInt8 {
			return nil, errors.New("cannot encode as msgpack: ext type " + strconv.FormatInt(v.Int, 10) + " is out of the int8 range")
		}
		n := len(v.Bytes)
		switch {
		case n == 1:
			dst = append(dst, 0xd4)
		case n == 2:
			dst = append(dst, 0xd5)
		case n == 4:
			dst = append(dst, 0xd6)
		case n == 8:
			dst = append(dst, 0xd7)
		case n == 16:
			dst = append(dst, 0xd8)
		case n < 1<<8:
			dst = append(dst, 0xc7, byte(n))
		case n < 1<<16:
			dst = binary.BigEndian.AppendUint16(append(dst, 0xc8), uint16(n))
		case uint64(n) < 1<<32:
			dst = binary.BigEndian.AppendUint32(append(dst, 0xc9), uint32(n))
		default:
			return nil, errors.New("cannot encode as msgpack: ext data longer than 4 GiB")
		}
		return append(append(dst, byte(int8(v.Int))), v.Bytes...), nil
	case value.KindList, value.KindTuple:
		n := len(v.Items)
		switch {
		case n < 16:
			dst = append(dst, 0x90|byte(n))
		case n < 1<<16:
			dst = binary.BigEndian.AppendUint16(append(dst, 0xdc), uint16(n))
		case uint64(n) < 1<<32:
			dst = binary.BigEndian.AppendUint32(append(dst, 0xdd), uint32(n))
		default:
			return nil, errors.New("cannot encode as msgpack: array of more than 2^32-1 items")
		}
		for _, it := range v.Items {
			if dst, err = appendMsgpack(dst, it, depth+1); err != nil {
				return nil, err
			}
		}
		return dst, nil
	case value.KindDict:
		n := len(v.Pairs)
		switch {
		case n < 16:
			dst = append(dst, 0x80|byte(n))
		case n < 1<<16:
			dst = binary.BigEndian.AppendUint16(append(dst, 0xde), uint16(n))
		case uint64(n) < 1<<32:
			dst = binary.BigEndian.AppendUint32(append(dst, 0xdf), uint32(n))
		default:
			return nil, errors.New("cannot encode as msgpack: map of more than 2^32-1 pairs")
		}
		for _, p := range v.Pairs {
			if dst, err = appendMsgpack(dst, p.Key, depth+1); err != nil {
				return nil, err
			}
			if dst, err = appendMsgpack(dst, p.Value, depth+1); err != nil {
				return nil, err
			}
		}
		return dst, nil
	}
	return nil, errors.New("cannot encode " + v.Kind.String() + " as msgpack")
}

// appendMsgpackInt writes i as msgpack-python's packer does.
func appendMsgpackInt(dst []byte, i int64) []byte {
	switch {
	case i >= 0 && i < 128:
		return append(dst, byte(i))
	case i >= 0 && i < 1<<8:
		return append(dst, 0xcc, byte(i))
	case i >= 0 && i < 1<<16:
		return binary.BigEndian.AppendUint16(append(dst, 0xcd), uint16(i))
	case i >= 0 && i < 1<<32:
		return binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(i))
	case i >= 0:
		return binary.BigEndian.AppendUint64(append(dst, 0xcf), uint64(i))
	case i >= -32:
		return append(dst, byte(int8(i)))
	case i >= math.MinInt8:
		return append(dst, 0xd0, byte(int8(i)))
	case i >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(dst, 0xd1), uint16(int16(i)))
	case i >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(dst, 0xd2), uint32(int32(i)))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(i))
}
