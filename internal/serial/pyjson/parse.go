// Package pyjson reads and writes JSON as Python's json module does:
// Parse is json.loads (exact integers, key order, NaN and Infinity), Dumps is
// json.dumps with its defaults.
package pyjson

import (
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/cachectl/cachectl/internal/pyrepr"
	"github.com/cachectl/cachectl/internal/serial/value"
)

// Parse decodes b the way Python's json.loads(bytes) does: the whole input
// must be one JSON value (surrounding whitespace allowed); NaN, Infinity and
// -Infinity are accepted; integers stay exact; object keys keep their order,
// and a repeated key keeps the position of its first occurrence with the value
// of its last, like a Python dict. A lone surrogate escape (which Python keeps
// in a str) becomes U+FFFD, since a Str node is always valid UTF-8.
func Parse(b []byte) (*value.Value, error) {
	p := jsonParser{b: b}
	p.skipSpace()
	v, err := p.value()
	if err == nil {
		p.skipSpace()
		if p.i < len(b) {
			err = p.errf("extra data " + p.describe())
		}
	}
	// Python decodes the bytes as UTF-8 before parsing; report a bad byte
	// first when it comes no later than the syntax error. (Checking after
	// parsing spares the scan of long text that fails at its first byte.)
	limit := len(b)
	if fe, ok := err.(*value.FormatError); ok {
		limit = min(len(b), fe.Offset+utf8.UTFMax)
	}
	if off := value.InvalidUTF8(b[:limit]); off >= 0 && (err == nil || off <= err.(*value.FormatError).Offset) {
		return nil, &value.FormatError{Format: value.FormatJSON, Offset: off, Msg: "invalid UTF-8 byte " + pyrepr.HexByte(b[off])}
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

type jsonParser struct {
	b     []byte
	i     int
	depth int
}

func (p *jsonParser) errf(msg string) *value.FormatError {
	return &value.FormatError{Format: value.FormatJSON, Offset: p.i, Msg: msg}
}

// describe names the byte at the current position for an error message.
func (p *jsonParser) describe() string {
	if p.i >= len(p.b) {
		return "end of input"
	}
	r, _ := utf8.DecodeRune(p.b[p.i:])
	return strconv.QuoteRuneToASCII(r)
}

func (p *jsonParser) unexpected(want string) *value.FormatError {
	if p.i >= len(p.b) {
		return p.errf("unexpected end of input, expecting " + want)
	}
	return p.errf("unexpected " + p.describe() + ", expecting " + want)
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) literal(word string) bool {
	if len(p.b)-p.i >= len(word) && string(p.b[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return true
	}
	return false
}

func (p *jsonParser) value() (*value.Value, error) {
	if p.i >= len(p.b) {
		return nil, p.unexpected("a value")
	}
	switch c := p.b[p.i]; c {
	case '{':
		return p.object()
	case '[':
		return p.array()
	case '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return value.NewStr(s), nil
	case 't':
		if p.literal("true") {
			return value.NewBool(true), nil
		}
	case 'f':
		if p.literal("false") {
			return value.NewBool(false), nil
		}
	case 'n':
		if p.literal("null") {
			return value.None(), nil
		}
	case 'N':
		if p.literal("NaN") {
			return value.NewFloat(math.NaN()), nil
		}
	case 'I':
		if p.literal("Infinity") {
			return value.NewFloat(math.Inf(1)), nil
		}
	case '-':
		if p.literal("-Infinity") {
			return value.NewFloat(math.Inf(-1)), nil
		}
		return p.number()
	default:
		if c >= '0' && c <= '9' {
			return p.number()
		}
	}
	return nil, p.unexpected("a value")
}

func (p *jsonParser) enter() error {
	p.depth++
	if p.depth > value.MaxDepth {
		return p.errf("nesting deeper than " + strconv.Itoa(value.MaxDepth) + " levels")
	}
	return nil
}

// leave moves past close when it comes next, after space, ending the array
// or object: the test for an empty one.
func (p *jsonParser) leave(close byte) bool {
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == close {
		p.i++
		p.depth--
		return true
	}
	return false
}

// more reads what follows an item of an array or object: ',' before another
// item (true) or close, which ends it (false).
func (p *jsonParser) more(close byte) (bool, error) {
	if p.leave(close) {
		return false, nil
	}
	if p.i < len(p.b) && p.b[p.i] == ',' {
		p.i++
		return true, nil
	}
	return false, p.unexpected("',' or '" + string(rune(close)) + "'")
}

func (p *jsonParser) array() (*value.Value, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.i++ // '['
	v := &value.Value{Kind: value.KindList}
	if p.leave(']') {
		v.Items = []*value.Value{}
		return v, nil
	}
	for {
		p.skipSpace()
		item, err := p.value()
		if err != nil {
			return nil, err
		}
		v.Items = append(v.Items, item)
		more, err := p.more(']')
		if err != nil {
			return nil, err
		}
		if !more {
			return v, nil
		}
	}
}

func (p *jsonParser) object() (*value.Value, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.i++ // '{'
	v := &value.Value{Kind: value.KindDict, Pairs: []value.Pair{}}
	if p.leave('}') {
		return v, nil
	}
	var index map[string]int // key -> position, built once the object grows
	for {
		p.skipSpace()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, p.unexpected("a property name in double quotes")
		}
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, p.unexpected("':'")
		}
		p.i++
		p.skipSpace()
		val, err := p.value()
		if err != nil {
			return nil, err
		}
		// Python dict semantics: a repeated key keeps its first position and
		// takes the last value.
		pos := -1
		if index != nil {
			if at, ok := index[key]; ok {
				pos = at
			}
		} else {
			for at := range v.Pairs {
				if v.Pairs[at].Key.Str == key {
					pos = at
					break
				}
			}
		}
		if pos >= 0 {
			v.Pairs[pos].Value = val
		} else {
			v.Pairs = append(v.Pairs, value.Pair{Key: value.NewStr(key), Value: val})
			if index != nil {
				index[key] = len(v.Pairs) - 1
			} else if len(v.Pairs) > 16 {
				index = make(map[string]int, 2*len(v.Pairs))
				for at, pr := range v.Pairs {
					index[pr.Key.Str] = at
				}
			}
		}
		more, err := p.more('}')
		if err != nil {
			return nil, err
		}
		if !more {
			return v, nil
		}
	}
}

// str reads a string literal at p.i (which is '"').
func (p *jsonParser) str() (string, error) {
	p.i++
	start := p.i
	// Fast path: no escapes.
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := string(p.b[start:p.i])
			p.i++
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.i++
	}
	buf := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(buf), nil
		case c < 0x20:
			return "", p.errf("invalid control character " + pyrepr.HexByte(c) + " in string")
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		// escape
		if p.i+1 >= len(p.b) {
			p.i++
			return "", p.unexpected("an escape")
		}
		esc := p.b[p.i+1]
		switch esc {
		case '"', '\\', '/':
			buf = append(buf, esc)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4(p.i + 2)
			if !ok {
				return "", p.errf("invalid \\u escape")
			}
			p.i += 6
			if utf16.IsSurrogate(r) {
				if r < 0xdc00 && p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					if r2, ok := p.hex4(p.i + 2); ok && r2 >= 0xdc00 && r2 <= 0xdfff {
						r = utf16.DecodeRune(r, r2)
						p.i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
			continue
		default:
			p.i++
			return "", p.errf("invalid escape " + p.describe())
		}
		p.i += 2
	}
	return "", p.errf("unterminated string")
}

func (p *jsonParser) hex4(at int) (rune, bool) {
	if at+4 > len(p.b) {
		return 0, false
	}
	var r rune
	for _, c := range p.b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?: an Int node
// when there is neither fraction nor exponent, a Float node otherwise.
func (p *jsonParser) number() (*value.Value, error) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	digitsStart := p.i
	if p.i >= len(p.b) || !isDigit(p.b[p.i]) {
		return nil, p.unexpected("a digit")
	}
	if p.b[p.i] == '0' {
		p.i++
	} else {
		for p.i < len(p.b) && isDigit(p.b[p.i]) {
			p.i++
		}
	}
	isFloat := false
	if p.i < len(p.b) && p.b[p.i] == '.' {
		if p.i+1 < len(p.b) && isDigit(p.b[p.i+1]) {
			isFloat = true
			p.i++
			for p.i < len(p.b) && isDigit(p.b[p.i]) {
				p.i++
			}
		}
		// Otherwise "1." stops before the dot, and the dot is extra data, as in Python.
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		j := p.i + 1
		if j < len(p.b) && (p.b[j] == '+' || p.b[j] == '-') {
			j++
		}
		if j < len(p.b) && isDigit(p.b[j]) {
			isFloat = true
			p.i = j
			for p.i < len(p.b) && isDigit(p.b[p.i]) {
				p.i++
			}
		}
	}
	text := string(p.b[start:p.i])
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil && !isRangeErr(err) { // out of range gives ±Inf or 0, like Python's float()
			return nil, &value.FormatError{Format: value.FormatJSON, Offset: start, Msg: "invalid number"}
		}
		return value.NewFloat(f), nil
	}
	return value.ParseIntText(text, p.i-digitsStart, value.FormatJSON, start)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
