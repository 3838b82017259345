package httpresp

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/cachectl/cachectl/internal/serial"
)

// fromASGIMessages reads Litestar's response cache (>= 2.2, section 2.2): the
// ASGI messages the app sent, {"type": "http.response.start", "status",
// "headers": [[name, value], ...]} and then http.response.body messages,
// whose bodies are joined (a streaming response sends several).
func fromASGIMessages(v *serial.Value) (*Response, [][]byte, bool) {
	msgs, _ := seq(v)
	if len(msgs) == 0 || messageType(msgs[0]) != "http.response.start" {
		return nil, nil, false
	}
	code, ok := status(get(msgs[0], "status"))
	if !ok {
		return nil, nil, false
	}
	r := &Response{Kind: KindLitestar, Status: code}
	if h := get(msgs[0], "headers"); h != nil { // optional in ASGI
		if r.Headers, ok = pairHeaders(h); !ok {
			return nil, nil, false
		}
	}
	var chunks [][]byte
	for _, m := range msgs[1:] {
		if messageType(m) != "http.response.body" {
			return nil, nil, false
		}
		if more := get(m, "more_body"); more != nil && more.Kind != serial.KindBool {
			return nil, nil, false
		}
		b := get(m, "body") // optional in ASGI: b"" by default
		if b == nil {
			continue
		}
		if b.Kind != serial.KindBytes {
			return nil, nil, false
		}
		chunks = append(chunks, b.Bytes)
	}
	return r, chunks, true
}

func messageType(m *serial.Value) string {
	if m == nil || m.Kind != serial.KindDict {
		return ""
	}
	t, _ := text(get(m, "type"))
	return t
}

// fromLitestar20 reads what Litestar 2.0-2.1 pickled (section 2.2): the slotted
// litestar.response.base.ASGIResponse, whose encoded_headers are already the
// wire headers, (bytes, bytes) tuples.
func fromLitestar20(v *serial.Value) (*Response, [][]byte, bool) {
	st := attrs(v)
	code, ok := status(get(st, "status_code"))
	if !ok {
		return nil, nil, false
	}
	headers, ok := pairHeaders(get(st, "encoded_headers"))
	if !ok {
		return nil, nil, false
	}
	body, ok := data(get(st, "body"))
	if !ok {
		return nil, nil, false
	}
	if isTrue(get(st, "is_head_response")) {
		body = nil // ASGIResponse sends an empty body to HEAD
	}
	return &Response{Kind: KindLitestar20, Status: code, Headers: headers}, [][]byte{body}, true
}

// fromStarlite reads a pickled Starlite 1.x response (section 2.3), a slotted
// starlite.response.* instance. Its wire headers are built when it is sent,
// as Response.encoded_headers does: the headers dict (names lower-cased),
// a set-cookie per cookie, content-type from media_type (with the charset for
// text), any raw_headers, and content-length when there is a body.
func fromStarlite(v *serial.Value) (*Response, [][]byte, bool) {
	st := attrs(v)
	code, ok := status(get(st, "status_code"))
	if !ok {
		return nil, nil, false
	}
	body, ok := data(get(st, "body"))
	if !ok {
		return nil, nil, false
	}
	r := &Response{Kind: KindStarlite, Status: code}
	if h := get(st, "headers"); h != nil {
		if h.Kind != serial.KindDict {
			return nil, nil, false
		}
		for _, p := range h.Pairs {
			name, ok1 := text(p.Key)
			value, ok2 := headerValue(p.Value)
			if !ok1 || !ok2 {
				return nil, nil, false
			}
			r.Headers = append(r.Headers, Header{strings.ToLower(name), value})
		}
	}
	if c := get(st, "cookies"); c != nil && c.Kind != serial.KindNone {
		cookies, ok := seq(c)
		if !ok {
			return nil, nil, false
		}
		for _, ck := range cookies {
			if s, ok := starliteCookie(ck); ok { // a cookie of another shape is left out
				r.Headers = append(r.Headers, Header{"set-cookie", s})
			}
		}
	}
	if mt := get(st, "media_type"); mt != nil && mt.Kind != serial.KindNone {
		media, ok := text(mt)
		if !ok {
			return nil, nil, false
		}
		isText := strings.HasPrefix(media, "text/")
		if t := get(st, "is_text_response"); t != nil && t.Kind == serial.KindBool {
			isText = t.Bool
		}
		if isText {
			enc, ok := text(get(st, "encoding"))
			if !ok {
				enc = "utf-8"
			}
			media += "; charset=" + enc
		}
		r.Headers = append(r.Headers, Header{"content-type", media})
	}
	if raw := get(st, "raw_headers"); raw != nil && raw.Kind != serial.KindNone {
		extra, ok := pairHeaders(raw)
		if !ok {
			return nil, nil, false
		}
		r.Headers = append(r.Headers, extra...)
	}
	allowsBody := true
	if a := get(st, "status_allows_body"); a != nil && a.Kind == serial.KindBool {
		allowsBody = a.Bool
	}
	if isTrue(get(st, "is_head_response")) || !allowsBody {
		body = nil
	}
	if len(body) > 0 && r.Header("content-length") == "" {
		r.Headers = append(r.Headers, Header{"content-length", strconv.Itoa(len(body))})
	}
	return r, [][]byte{body}, true
}

// headerValue is str(value) of a Starlite header value: text, or an int.
func headerValue(v *serial.Value) (string, bool) {
	if s, ok := text(v); ok {
		return s, true
	}
	if v != nil && v.Kind == serial.KindInt {
		return v.IntString(), true
	}
	return "", false
}

// djangoStatus holds the status_code class attributes of Django's response
// classes that are not 200: an instance pickles status_code only when the
// constructor was given one (django/http/response.py).
var djangoStatus = map[string]int{
	"HttpResponseRedirect":          302,
	"HttpResponsePermanentRedirect": 301,
	"HttpResponseNotModified":       304,
	"HttpResponseBadRequest":        400,
	"HttpResponseForbidden":         403,
	"HttpResponseNotFound":          404,
	"HttpResponseNotAllowed":        405,
	"HttpResponseGone":              410,
	"HttpResponseServerError":       500,
}

// fromDjango reads a pickled Django response (section 4.4): the instance
// dict holds headers (a ResponseHeaders object whose _store maps lower-case
// names to (Name, value); before Django 3.2 a _headers dict of the same
// pairs), the body chunks in _container, and the cookies, which Django's
// handlers send as Set-Cookie headers after the others.
func fromDjango(v *serial.Value) (*Response, [][]byte, bool) {
	st := attrs(v)
	container, ok := seq(get(st, "_container"))
	if !ok {
		return nil, nil, false
	}
	chunks := make([][]byte, 0, len(container))
	for _, c := range container {
		b, ok := data(c)
		if !ok {
			return nil, nil, false
		}
		chunks = append(chunks, b)
	}
	_, class := splitClass(v.Str)
	code := 200
	if c, ok := djangoStatus[class]; ok {
		code = c
	}
	if s := get(st, "status_code"); s != nil {
		if code, ok = status(s); !ok {
			return nil, nil, false
		}
	}
	r := &Response{Kind: KindDjango, Status: code}
	store := get(st, "_headers")
	if h := get(st, "headers"); h != nil {
		if store = get(attrs(h), "_store"); store == nil {
			return nil, nil, false
		}
	}
	if store != nil {
		if store.Kind != serial.KindDict {
			return nil, nil, false
		}
		for _, p := range store.Pairs {
			pair, ok := seq(p.Value)
			if !ok || len(pair) != 2 {
				return nil, nil, false
			}
			name, ok1 := text(pair[0])
			value, ok2 := text(pair[1])
			if !ok1 || !ok2 {
				return nil, nil, false
			}
			r.Headers = append(r.Headers, Header{name, value})
		}
	}
	if c := get(st, "cookies"); c != nil {
		for _, m := range cookieMorsels(c) {
			r.Headers = append(r.Headers, Header{"Set-Cookie", m})
		}
	}
	if cs, ok := text(get(st, "_charset")); ok {
		r.charset = cs
	}
	return r, chunks, true
}

// fromASGICaches reads an asgi-caches page entry (section 3.2):
// {"content": base64.encodebytes(body), "status_code": int, "headers": {name: value}}.
func fromASGICaches(v *serial.Value) (*Response, [][]byte, bool) {
	content := get(v, "content")
	headers := get(v, "headers")
	if content == nil || content.Kind != serial.KindStr || headers == nil || headers.Kind != serial.KindDict {
		return nil, nil, false
	}
	code, ok := status(get(v, "status_code"))
	if !ok {
		return nil, nil, false
	}
	body, err := base64.StdEncoding.DecodeString(strings.Map(dropSpace, content.Str))
	if err != nil {
		return nil, nil, false
	}
	r := &Response{Kind: KindASGICaches, Status: code}
	for _, p := range headers.Pairs {
		if p.Key == nil || p.Key.Kind != serial.KindStr || p.Value == nil || p.Value.Kind != serial.KindStr {
			return nil, nil, false
		}
		r.Headers = append(r.Headers, Header{p.Key.Str, p.Value.Str})
	}
	return r, [][]byte{body}, true
}

// dropSpace removes the line breaks encodebytes puts every 76 characters.
func dropSpace(r rune) rune {
	if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
		return -1
	}
	return r
}

func isTrue(v *serial.Value) bool { return v != nil && v.Kind == serial.KindBool && v.Bool }
