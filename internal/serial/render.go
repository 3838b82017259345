package serial

import (
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cachectl/cachectl/internal/pyrepr"
	"github.com/cachectl/cachectl/internal/role"
	"github.com/cachectl/cachectl/internal/textesc"
)

// TextOptions controls RenderText.
type TextOptions struct {
	// Style styles each token by its role (key, string, number…); nil
	// writes plain text, never any escape byte. It gets escaped text.
	Style  role.Styler
	Indent int // spaces per nesting level; 0 means 2
	// Width is the line width for the Python-like form: a container that fits
	// stays on one line. 0 means 80; negative keeps every container on one line.
	Width    int
	MaxItems int // items shown per container (the rest summarized); 0 = all
	MaxBytes int // bytes shown of each str or bytes value; 0 = all
}

// RenderText writes d for a human, followed by a newline:
//   - string: the text itself (terminal controls escaped by textesc.Text),
//     so `x=$(cachectl get k)` gets the exact text when nothing needs escaping;
//   - int: its digits;
//   - json: indented JSON like `python -m json.tool` or jq (two spaces, key
//     order kept, JSON string escapes, non-ASCII as is, NaN/Infinity as
//     Python writes them);
//   - bytes: a Python bytes literal b'...';
//   - any other format (pickle, msgpack): Python-literal-like text, a
//     container on one line when it fits in Width, else one item per line.
//
// Decoded.Err is not printed: the caller shows it as a note.
// Bounds cut each container after MaxItems items ("… (N more items)") and each
// str or bytes value after MaxBytes bytes ("… (5.2 KiB more)"); truncated
// reports whether the renderer cut anything, so the caller can say so.
// Items a decoder already left out (KindTruncated) are shown the same way but
// do not set truncated.
func RenderText(w io.Writer, d Decoded, opts TextOptions) (truncated bool, err error) {
	p := newPrinter(opts)
	p.w = w
	v := d.Value
	d.Format = d.Format.Inner()
	switch {
	case v == nil:
		p.py(None(), 0)
	case d.Format == FormatString && v.Kind == KindStr:
		s, more := p.cutString(v.Str)
		p.raw(textesc.Text(s))
		p.moreBytes(more)
	case d.Format == FormatInt && v.Kind == KindInt:
		p.tok(role.Number, v.IntString())
	case d.Format == FormatBytes && v.Kind == KindBytes:
		p.pyBytes(v.Bytes)
	case d.Format == FormatJSON:
		p.js(v, 0)
	default:
		p.py(v, 0)
	}
	// Text that already ends a line (files, templates) gets no second newline.
	if p.col != 0 || p.empty() {
		p.buf = append(p.buf, '\n')
	}
	p.flush()
	return p.truncated, p.err
}

type printer struct {
	written   int // bytes already flushed to w
	opts      TextOptions
	w         io.Writer
	err       error
	buf       []byte
	col       int  // runes written since the last newline
	fitting   int  // > 0 while trying the one-line form of a container
	limit     int  // the column the one-line form must not pass
	over      bool // the one-line form did not fit
	truncated bool
}

func newPrinter(opts TextOptions) *printer {
	if opts.Indent <= 0 {
		opts.Indent = 2
	}
	if opts.Width == 0 {
		opts.Width = 80
	}
	return &printer{opts: opts}
}

const flushAt = 64 << 10

func (p *printer) flush() {
	if p.w == nil || len(p.buf) == 0 || p.err != nil {
		return
	}
	_, p.err = p.w.Write(p.buf)
	p.written += len(p.buf)
	p.buf = p.buf[:0]
}

// empty reports that nothing has been rendered yet.
func (p *printer) empty() bool { return p.written == 0 && len(p.buf) == 0 }

// raw writes text without a newline.
func (p *printer) raw(s string) {
	p.buf = append(p.buf, s...)
	p.advance(s)
}

func (p *printer) advance(s string) {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		p.col = 0
		s = s[i+1:]
	}
	p.col += utf8.RuneCountInString(s)
	if p.fitting > 0 && p.col > p.limit {
		p.over = true
	}
}

// tok writes a token styled for its role; only s counts for the columns,
// as the styling takes none.
func (p *printer) tok(r role.Role, s string) {
	if p.opts.Style == nil {
		p.raw(s)
		return
	}
	p.buf = append(p.buf, p.opts.Style(r, s)...)
	p.advance(s)
}

// tokBytes writes a token held in scratch (text built by an append function).
func (p *printer) tokBytes(r role.Role, b []byte) { p.tok(r, string(b)) }

func (p *printer) newline(level int) {
	if p.fitting > 0 { // a line break never fits on one line
		p.over = true
		return
	}
	if len(p.buf) >= flushAt {
		p.flush()
	}
	p.buf = append(p.buf, '\n')
	for i := 0; i < level*p.opts.Indent; i++ {
		p.buf = append(p.buf, ' ')
	}
	p.col = level * p.opts.Indent
}

// tryFlat runs render in one-line mode and reports whether it fit in Width;
// when it did not, the output is rolled back.
func (p *printer) tryFlat(render func()) bool {
	if p.fitting > 0 || p.opts.Width < 0 {
		render()
		return !p.over
	}
	mark, col := len(p.buf), p.col
	p.fitting++
	p.limit = p.opts.Width
	render()
	p.fitting--
	if !p.over {
		return true
	}
	p.buf, p.col, p.over = p.buf[:mark], col, false
	return false
}

// shown returns how many of n items to show, noting a cut.
func (p *printer) shown(n int) int {
	if p.opts.MaxItems > 0 && n > p.opts.MaxItems {
		p.truncated = true
		return p.opts.MaxItems
	}
	return n
}

func (p *printer) moreItems(n int64) {
	s := "… (" + strconv.FormatInt(n, 10) + " more items)"
	if n == 1 {
		s = "… (1 more item)"
	}
	p.tok(role.Marker, s)
}

func (p *printer) moreBytes(n int) {
	if n > 0 {
		p.tok(role.Marker, "… ("+HumanBytes(int64(n))+" more)")
	}
}

// cutString applies MaxBytes to s at a character boundary, returning the part
// to show and how many bytes are left out.
func (p *printer) cutString(s string) (string, int) {
	if p.opts.MaxBytes <= 0 || len(s) <= p.opts.MaxBytes {
		return s, 0
	}
	cut := p.opts.MaxBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	p.truncated = true
	return s[:cut], len(s) - cut
}

func (p *printer) cutBytes(b []byte) ([]byte, int) {
	if p.opts.MaxBytes <= 0 || len(b) <= p.opts.MaxBytes {
		return b, 0
	}
	p.truncated = true
	return b[:p.opts.MaxBytes], len(b) - p.opts.MaxBytes
}

// tooLong reports, in one-line mode, that a leaf of n bytes (at least n/4
// characters) cannot fit, so it is not rendered in vain.
func (p *printer) tooLong(n int) bool {
	if p.fitting > 0 && n/4 > p.limit-p.col {
		p.over = true
		return true
	}
	return p.over
}

// ---- Python-like form ----

func (p *printer) py(v *Value, level int) {
	if p.over {
		return
	}
	if v == nil {
		p.tok(role.Literal, "None")
		return
	}
	if level > renderDepthLimit {
		v = NewCycle()
	}
	switch v.Kind {
	case KindNone:
		p.tok(role.Literal, "None")
	case KindBool:
		if v.Bool {
			p.tok(role.Literal, "True")
		} else {
			p.tok(role.Literal, "False")
		}
	case KindInt:
		p.tok(role.Number, v.IntString())
	case KindFloat:
		p.tok(role.Number, pyrepr.Float(v.Float))
	case KindStr:
		p.pyStr(role.String, v.Str)
	case KindBytes:
		p.pyBytes(v.Bytes)
	case KindDecimal:
		p.tok(role.Number, "Decimal("+pyrepr.Str(v.Str)+")")
	case KindUUID:
		p.tok(role.Type, "UUID("+pyrepr.Str(pyrepr.UUID(v.Bytes))+")")
	case KindDateTime, KindDate, KindTime:
		if v.DT == nil {
			p.tok(role.Literal, "None")
		} else {
			p.tok(role.Number, reprTemporal(v.Kind, v.DT))
		}
	case KindTimeDelta:
		if v.TD == nil {
			p.tok(role.Literal, "None")
		} else {
			p.tok(role.Number, v.TD.Repr())
		}
	case KindExt:
		p.tok(role.Type, "ExtType")
		p.raw("(code=" + strconv.FormatInt(v.Int, 10) + ", data=")
		p.pyBytes(v.Bytes)
		p.raw(")")
	case KindCycle:
		p.tok(role.Marker, "<cycle>")
	case KindTruncated:
		p.moreItems(v.Int)
	case KindList:
		p.pySeq("[", "]", v.Items, level, false)
	case KindTuple:
		p.pySeq("(", ")", v.Items, level, true)
	case KindSet:
		if len(v.Items) == 0 {
			p.raw("set()")
			return
		}
		p.pySeq("{", "}", v.Items, level, false)
	case KindFrozenSet:
		if len(v.Items) == 0 {
			p.raw("frozenset()")
			return
		}
		p.raw("frozenset(")
		p.pySeq("{", "}", v.Items, level, false)
		p.raw(")")
	case KindDict:
		if v.Str == "" {
			p.pyDict(v.Pairs, level)
			return
		}
		// OrderedDict, Counter, defaultdict: JSON shows a plain object; the
		// text says which class it was, as Python's repr does.
		p.tok(role.Type, textesc.Key(v.Str))
		p.raw("(")
		for _, f := range v.Items {
			p.py(f, level)
			p.raw(", ")
		}
		p.pyDict(v.Pairs, level)
		p.raw(")")
	case KindObject:
		// The class name comes from the value's bytes (a pickle's GLOBAL): escape it.
		p.tok(role.Type, textesc.Key(v.Str))
		if v.Items == nil && v.State == nil {
			return // the class or function itself (NewGlobal)
		}
		if len(v.Items) > 0 || v.State == nil {
			p.pySeq("(", ")", v.Items, level, false)
		}
		if v.State != nil {
			if v.State.Kind == KindDict {
				p.pyDict(v.State.Pairs, level)
			} else {
				p.pySeq("{", "}", []*Value{v.State}, level, false)
			}
		}
	default:
		p.tok(role.Marker, "<"+v.Kind.String()+">")
	}
}

func (p *printer) pyStr(r role.Role, s string) {
	if p.tooLong(len(s)) {
		return
	}
	shown, more := p.cutString(s)
	p.tokBytes(r, pyrepr.AppendStr(nil, shown))
	p.moreBytes(more)
}

func (p *printer) pyBytes(b []byte) {
	if p.tooLong(len(b)) {
		return
	}
	shown, more := p.cutBytes(b)
	p.tokBytes(role.String, pyrepr.AppendBytes(nil, shown))
	p.moreBytes(more)
}

// pySeq writes items between open and close: on one line when it fits,
// else one item per line with trailing commas. oneTuple adds the comma of a
// one-item tuple.
func (p *printer) pySeq(open, close string, items []*Value, level int, oneTuple bool) {
	if len(items) == 0 {
		p.raw(open + close)
		return
	}
	n := p.shown(len(items))
	fits := p.tryFlat(func() {
		p.raw(open)
		for i := 0; i < n && !p.over; i++ {
			if i > 0 {
				p.raw(", ")
			}
			p.py(items[i], level+1)
		}
		if n < len(items) {
			p.raw(", ")
			p.moreItems(int64(len(items) - n))
		} else if oneTuple && len(items) == 1 {
			p.raw(",")
		}
		p.raw(close)
	})
	if fits || p.fitting > 0 {
		return
	}
	p.raw(open)
	for i := 0; i < n; i++ {
		p.newline(level + 1)
		p.py(items[i], level+1)
		p.raw(",")
	}
	if n < len(items) {
		p.newline(level + 1)
		p.moreItems(int64(len(items) - n))
	}
	p.newline(level)
	p.raw(close)
}

func (p *printer) pyKey(k *Value, level int) {
	if k != nil && k.Kind == KindStr {
		p.pyStr(role.Key, k.Str)
		return
	}
	p.py(k, level)
}

func (p *printer) pyDict(pairs []Pair, level int) {
	if len(pairs) == 0 {
		p.raw("{}")
		return
	}
	n := p.shown(len(pairs))
	entry := func(pr Pair, level int) {
		if pr.Key != nil && pr.Key.Kind == KindTruncated {
			p.moreItems(pr.Key.Int)
			return
		}
		p.pyKey(pr.Key, level)
		p.raw(": ")
		p.py(pr.Value, level)
	}
	fits := p.tryFlat(func() {
		p.raw("{")
		for i := 0; i < n && !p.over; i++ {
			if i > 0 {
				p.raw(", ")
			}
			entry(pairs[i], level+1)
		}
		if n < len(pairs) {
			p.raw(", ")
			p.moreItems(int64(len(pairs) - n))
		}
		p.raw("}")
	})
	if fits || p.fitting > 0 {
		return
	}
	p.raw("{")
	for i := 0; i < n; i++ {
		p.newline(level + 1)
		entry(pairs[i], level+1)
		p.raw(",")
	}
	if n < len(pairs) {
		p.newline(level + 1)
		p.moreItems(int64(len(pairs) - n))
	}
	p.newline(level)
	p.raw("}")
}

// ---- JSON form ----

func (p *printer) js(v *Value, level int) {
	if v == nil {
		p.tok(role.Literal, "null")
		return
	}
	if level > renderDepthLimit {
		p.raw(`{"$ref": "cycle"}`)
		return
	}
	switch v.Kind {
	case KindNone:
		p.tok(role.Literal, "null")
	case KindBool:
		if v.Bool {
			p.tok(role.Literal, "true")
		} else {
			p.tok(role.Literal, "false")
		}
	case KindInt:
		p.tok(role.Number, v.IntString())
	case KindFloat:
		p.tokBytes(role.Number, appendJSONFloat(nil, v.Float, false))
	case KindStr:
		p.jsStr(role.String, v.Str)
	case KindTruncated:
		p.moreItems(v.Int)
	case KindList:
		if len(v.Items) == 0 {
			p.raw("[]")
			return
		}
		n := p.shown(len(v.Items))
		p.raw("[")
		for i := 0; i < n; i++ {
			p.newline(level + 1)
			p.js(v.Items[i], level+1)
			if i < len(v.Items)-1 {
				p.raw(",")
			}
		}
		if n < len(v.Items) {
			p.newline(level + 1)
			p.moreItems(int64(len(v.Items) - n))
		}
		p.newline(level)
		p.raw("]")
	case KindDict, kindShape:
		if v.Kind == KindDict && !strKeyed(v) {
			p.js(jsonShape(v), level)
			return
		}
		if len(v.Pairs) == 0 {
			p.raw("{}")
			return
		}
		n := p.shown(len(v.Pairs))
		p.raw("{")
		for i := 0; i < n; i++ {
			pr := v.Pairs[i]
			p.newline(level + 1)
			if pr.Key.Kind == KindTruncated {
				p.moreItems(pr.Key.Int)
				continue
			}
			p.jsStr(role.Key, pr.Key.Str)
			p.raw(": ")
			p.js(pr.Value, level+1)
			if i < len(v.Pairs)-1 {
				p.raw(",")
			}
		}
		if n < len(v.Pairs) {
			p.newline(level + 1)
			p.moreItems(int64(len(v.Pairs) - n))
		}
		p.newline(level)
		p.raw("}")
	default:
		p.js(jsonShape(v), level)
	}
}

func (p *printer) jsStr(r role.Role, s string) {
	shown, more := p.cutString(s)
	p.tokBytes(r, appendJSONStr(nil, shown, -1))
	p.moreBytes(more)
}
