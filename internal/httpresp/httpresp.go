// Package httpresp recognises cached HTTP responses inside decoded cache
// values and renders them as HTTP responses: status line, headers, and the
// body with its Content-Encoding undone.
//
// Recognised (reference/python-cache-formats.md sections 0, 2.2, 2.3, 3.2, 4.4):
//   - "litestar": Litestar >= 2.2 response cache, a msgpack array of ASGI
//     messages (http.response.start, then http.response.body ones, joined);
//   - "litestar-2.0": Litestar 2.0-2.1, a pickled
//     litestar.response.base.ASGIResponse;
//   - "starlite": Starlite 1.x, a pickled starlite.response.* instance, also
//     pickled twice as its Memcached backend stores it;
//   - "django": a pickled django.http.response.HttpResponse or subclass
//     (JsonResponse, HttpResponseRedirect, TemplateResponse, DRF's Response...);
//   - "asgi-caches": the JSON page entry {"content", "status_code", "headers"}.
package httpresp

import (
	"strings"
	"unicode/utf8"

	"github.com/cachectl/cachectl/internal/serial"
)

// Kinds of cached response, as Response.Kind names them.
const (
	KindLitestar   = "litestar"
	KindLitestar20 = "litestar-2.0"
	KindStarlite   = "starlite"
	KindDjango     = "django"
	KindASGICaches = "asgi-caches"
)

// Header is one response header, as stored (names keep their case).
type Header struct{ Name, Value string }

// Response is a cached HTTP response.
type Response struct {
	Kind    string
	Status  int
	Headers []Header // in the order the framework sends them
	// Body is the body after undoing Content-Encoding; it may share memory
	// with the decoded value.
	Body []byte
	// ContentEncoding is the Content-Encoding that was undone ("gzip", "br",
	// "deflate", "zstd", or a list such as "gzip, br"); "" when none was.
	ContentEncoding string
	// BodyNote says why Body is not the whole decoded body (a Content-Encoding
	// that could not be undone, a body over the size cap). RenderText does not
	// print it: callers show it as a note, as they show serial.Decoded.Err.
	BodyNote string

	charset string // charset to read text with when Content-Type names none (Django's _charset)
}

// Options tune FromWith.
type Options struct {
	// MaxInflate caps the body: the stored chunks joined, and again after
	// undoing Content-Encoding (0 means serial.DefaultMaxInflate, as --max-inflate).
	MaxInflate int64
}

// From recognises a response in a decoded value with default options; ok is
// false for anything else.
func From(v *serial.Value) (*Response, bool) { return FromWith(v, Options{}) }

// FromWith recognises a response in a decoded value. It never panics, whatever
// the tree holds: a node of an unexpected kind or a missing field means the
// value is not a response (ok false).
func FromWith(v *serial.Value, opts Options) (*Response, bool) {
	limit := opts.MaxInflate
	if limit <= 0 {
		limit = serial.DefaultMaxInflate
	}
	r, chunks, ok := recognise(v)
	if !ok && v != nil && v.Kind == serial.KindBytes && looksPickled(v.Bytes) {
		// Starlite's MemcachedCacheBackend pickles the pickled response again
		// (section 2.3): the outer pickle decodes to the inner one's bytes.
		// One level only: an inner value that is bytes again is not unwrapped.
		if d, err := serial.Decode(v.Bytes, serial.DecodeOptions{As: string(serial.FormatPickle)}); err == nil && d.Err == nil {
			r, chunks, ok = recognise(d.Value)
		}
	}
	if !ok {
		return nil, false
	}
	r.setBody(chunks, limit)
	return r, true
}

// looksPickled is a cheap test for a pickle of protocol 2 to 5.
func looksPickled(b []byte) bool {
	return len(b) >= 3 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5 && b[len(b)-1] == '.'
}

// recognise finds which framework stored v; the body comes back as the
// stored chunks, joined by setBody.
func recognise(v *serial.Value) (*Response, [][]byte, bool) {
	if v == nil {
		return nil, nil, false
	}
	switch v.Kind {
	case serial.KindList, serial.KindTuple:
		return fromASGIMessages(v)
	case serial.KindDict:
		return fromASGICaches(v)
	case serial.KindObject:
		module, _ := splitClass(v.Str)
		switch {
		case inModule(module, "litestar.response"):
			return fromLitestar20(v)
		case inModule(module, "starlite.response"):
			return fromStarlite(v)
		case inModule(module, "django.http"), inModule(module, "django.template.response"),
			inModule(module, "rest_framework.response"):
			return fromDjango(v)
		}
	}
	return nil, nil, false
}

// setBody joins the stored chunks (at most limit bytes) and undoes the
// Content-Encoding.
func (r *Response) setBody(chunks [][]byte, limit int64) {
	var total int64
	for _, c := range chunks {
		total += int64(len(c))
	}
	switch {
	case total > limit:
		r.Body = joinChunks(chunks, limit)
		r.BodyNote = "the stored body is " + sizeText(total) + ", over the " + sizeText(limit) +
			" limit (raise --max-inflate); only its start is shown, as stored"
		return
	case len(chunks) == 1:
		r.Body = chunks[0]
	default:
		r.Body = joinChunks(chunks, total)
	}
	codings := r.codings()
	if len(codings) == 0 || len(r.Body) == 0 {
		return
	}
	out, err := decodeContent(r.Body, codings, limit)
	if err != nil {
		r.BodyNote = "content-encoding " + strings.Join(codings, ", ") + " could not be undone: " + err.Error() +
			"; the body is shown as stored"
		return
	}
	r.Body, r.ContentEncoding = out, strings.Join(codings, ", ")
}

func joinChunks(chunks [][]byte, limit int64) []byte {
	out := make([]byte, 0, limit)
	for _, c := range chunks {
		room := int(limit) - len(out)
		if room <= 0 {
			break
		}
		out = append(out, c[:min(len(c), room)]...)
	}
	return out
}

// Header returns the value of the first header named name (compared
// case-insensitively), or "".
func (r *Response) Header(name string) string {
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// codings lists the content codings of every Content-Encoding header, in
// the order they were applied, lower-cased, without identity.
func (r *Response) codings() []string {
	var out []string
	for _, h := range r.Headers {
		if !strings.EqualFold(h.Name, "content-encoding") {
			continue
		}
		for c := range strings.SplitSeq(h.Value, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			if c != "" && c != "identity" {
				out = append(out, c)
			}
		}
	}
	return out
}

// ---- reading the value tree ----

// splitClass splits "module.Class" at its last dot.
func splitClass(s string) (module, class string) {
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "", s
}

// inModule reports whether module is pkg or inside it.
func inModule(module, pkg string) bool {
	return module == pkg || strings.HasPrefix(module, pkg+".")
}

// get returns the value of the str (or bytes) key in a dict; nil when d is
// not a dict or has no such key.
func get(d *serial.Value, key string) *serial.Value {
	if d == nil || d.Kind != serial.KindDict {
		return nil
	}
	for _, p := range d.Pairs {
		if p.Key == nil {
			continue
		}
		if (p.Key.Kind == serial.KindStr && p.Key.Str == key) || (p.Key.Kind == serial.KindBytes && string(p.Key.Bytes) == key) {
			return p.Value
		}
	}
	return nil
}

// attrs returns the instance attributes of a pickled object as one dict: the
// decoder merges the (dict or None, slots dict) state of a slotted class
// already, but a tree built by hand may still hold the pair.
func attrs(obj *serial.Value) *serial.Value {
	if obj == nil || obj.Kind != serial.KindObject || obj.State == nil {
		return nil
	}
	s := obj.State
	switch {
	case s.Kind == serial.KindDict:
		return s
	case s.Kind == serial.KindTuple && len(s.Items) == 2 && s.Items[0] != nil && s.Items[1] != nil &&
		(s.Items[0].Kind == serial.KindNone || s.Items[0].Kind == serial.KindDict) && s.Items[1].Kind == serial.KindDict:
		merged := &serial.Value{Kind: serial.KindDict}
		merged.Pairs = append(append(merged.Pairs, s.Items[0].Pairs...), s.Items[1].Pairs...)
		return merged
	}
	return nil
}

// seq returns the items of a list or tuple.
func seq(v *serial.Value) ([]*serial.Value, bool) {
	if v == nil || (v.Kind != serial.KindList && v.Kind != serial.KindTuple) {
		return nil, false
	}
	return v.Items, true
}

// text returns a str, or bytes read as UTF-8 when valid and as Latin-1 (the
// charset of HTTP headers) otherwise, so the result is always valid UTF-8.
func text(v *serial.Value) (string, bool) {
	if v == nil {
		return "", false
	}
	switch v.Kind {
	case serial.KindStr:
		return v.Str, true
	case serial.KindBytes:
		return bytesText(v.Bytes), true
	}
	return "", false
}

func bytesText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return latin1(b)
}

func latin1(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/2)
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// data returns bytes, or a str's UTF-8 bytes.
func data(v *serial.Value) ([]byte, bool) {
	if v == nil {
		return nil, false
	}
	switch v.Kind {
	case serial.KindBytes:
		return v.Bytes, true
	case serial.KindStr:
		return []byte(v.Str), true
	}
	return nil, false
}

// status returns an HTTP status code: an int of three digits, or an IntEnum
// member such as http.HTTPStatus.OK (pickled as the class called with its value).
func status(v *serial.Value) (int, bool) {
	if v != nil && v.Kind == serial.KindObject && len(v.Items) == 1 && v.State == nil {
		v = v.Items[0]
	}
	if v == nil || v.Kind != serial.KindInt || v.Big != nil || v.Int < 100 || v.Int > 999 {
		return 0, false
	}
	return int(v.Int), true
}

// pairHeaders reads a list of (name, value) pairs of str or bytes.
func pairHeaders(v *serial.Value) ([]Header, bool) {
	items, ok := seq(v)
	if !ok {
		return nil, false
	}
	out := make([]Header, 0, len(items))
	for _, it := range items {
		pair, ok := seq(it)
		if !ok || len(pair) != 2 {
			return nil, false
		}
		name, ok1 := text(pair[0])
		value, ok2 := text(pair[1])
		if !ok1 || !ok2 {
			return nil, false
		}
		out = append(out, Header{name, value})
	}
	return out, true
}
