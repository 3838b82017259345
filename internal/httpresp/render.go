package httpresp

import (
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cachectl/cachectl/internal/role"
	"github.com/cachectl/cachectl/internal/serial"
	"github.com/cachectl/cachectl/internal/textesc"
)

// Body formats, as JSON's "body_format" names them.
const (
	BodyJSON  = "json"  // a JSON content type whose body parses
	BodyText  = "text"  // UTF-8 (or Latin-1 by its charset) text
	BodyBytes = "bytes" // anything else
)

// binaryPreview is how many bytes of a binary body RenderText shows when
// TextOptions.MaxBytes does not say.
const binaryPreview = 1024

// body is the body read by its content type.
type body struct {
	format string
	json   *serial.Value // BodyJSON
	text   string        // BodyText
}

// readBody reads the body as its Content-Type says: JSON when the type is
// JSON and it parses, text when it is UTF-8 (or Latin-1 by its charset),
// bytes otherwise.
func (r *Response) readBody() body {
	media, charset := r.mediaType()
	if isJSONType(media) {
		if v, err := serial.ParseJSON(r.Body); err == nil {
			return body{format: BodyJSON, json: v}
		}
	}
	switch strings.ToLower(charset) {
	case "iso-8859-1", "latin-1", "latin1", "iso8859-1", "l1", "us-ascii", "ascii":
		return body{format: BodyText, text: latin1(r.Body)}
	}
	if utf8.Valid(r.Body) {
		return body{format: BodyText, text: string(r.Body)}
	}
	return body{format: BodyBytes}
}

// mediaType returns the lower-case media type of Content-Type and its
// charset (Django's _charset when it names none).
func (r *Response) mediaType() (media, charset string) {
	ct := r.Header("content-type")
	media, params, err := mime.ParseMediaType(ct)
	if err != nil {
		media, _, _ = strings.Cut(ct, ";")
		media = strings.ToLower(strings.TrimSpace(media))
	}
	charset = params["charset"]
	if charset == "" {
		charset = r.charset
	}
	return media, charset
}

func isJSONType(media string) bool {
	return media == "application/json" || media == "text/json" || strings.HasSuffix(media, "+json")
}

// RenderText writes the response for a human, like an HTTP/1 message:
//
//	HTTP 200 OK
//	content-type: application/json
//
//	{
//	  "hello": "w"
//	}
//
// Header names and values are escaped (textesc; line breaks too), so no
// control byte reaches the terminal. The body is read by its content type:
// JSON indented as serial renders JSON, text as text (escaped), anything
// else as a size line and a bytes literal of its first MaxBytes bytes (1 KiB
// when MaxBytes is 0). MaxItems bounds the headers shown, MaxBytes each
// header value and the body; truncated reports a cut, as serial.RenderText
// does. opts.Style styles the status line (role.Heading), header names
// and the notes; the body is styled as serial styles it. BodyNote is not
// written: the caller shows it as a note.
func (r *Response) RenderText(w io.Writer, opts serial.TextOptions) (truncated bool, err error) {
	style := opts.Style
	var b []byte
	line := "HTTP " + strconv.Itoa(r.Status)
	if reason := http.StatusText(r.Status); reason != "" {
		line += " " + reason
	}
	b = append(b, style.Apply(role.Heading, line)...)
	b = append(b, '\n')
	shown := len(r.Headers)
	if opts.MaxItems > 0 && shown > opts.MaxItems {
		shown, truncated = opts.MaxItems, true
	}
	for _, h := range r.Headers[:shown] {
		b = append(b, style.Apply(role.Key, headerText(h.Name))...)
		b = append(b, ": "...)
		value, more := cutText(h.Value, opts.MaxBytes)
		b = append(b, headerText(value)...)
		if more > 0 {
			truncated = true
			b = append(b, style.Apply(role.Marker, "… ("+serial.HumanBytes(int64(more))+" more)")...)
		}
		b = append(b, '\n')
	}
	if n := len(r.Headers) - shown; n > 0 {
		b = append(b, style.Apply(role.Marker, "… ("+strconv.Itoa(n)+" more "+plural(n, "header")+")")...)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return truncated, err
	}
	if len(r.Body) == 0 {
		return truncated, nil
	}
	var cut bool
	switch bd := r.readBody(); bd.format {
	case BodyJSON:
		cut, err = serial.RenderText(w, serial.Decoded{Format: serial.FormatJSON, Value: bd.json}, opts)
	case BodyText:
		cut, err = serial.RenderText(w, serial.Decoded{Format: serial.FormatString, Value: serial.NewStr(bd.text)}, opts)
	default:
		what := serial.HumanBytes(int64(len(r.Body))) + " binary body"
		if media, _ := r.mediaType(); media != "" {
			what += " (" + media + ")"
		}
		if _, err := io.WriteString(w, style.Apply(role.Note, "["+textesc.Text(what)+"]")+"\n"); err != nil {
			return truncated, err
		}
		o := opts
		if o.MaxBytes <= 0 {
			o.MaxBytes = binaryPreview
		}
		cut, err = serial.RenderText(w, serial.Decoded{Format: serial.FormatBytes, Value: serial.NewBytes(r.Body)}, o)
	}
	return truncated || cut, err
}

// JSON returns the response as the "http_response" JSON shape:
//
//	{"kind": "litestar", "status": 200,
//	 "headers": [["content-type", "application/json"], ...],
//	 "content_encoding": "gzip",            (only when one was undone)
//	 "body_format": "json" | "text" | "bytes",
//	 "body": <the JSON value> | "<text>" | {"$bytes": "<base64>"},
//	 "body_note": "..."}                    (only when BodyNote is set)
//
// Strings are escaped as serial's JSON mapping escapes them; the body is
// the whole body, unbounded.
func (r *Response) JSON() []byte {
	str := func(dst []byte, s string) []byte { return serial.AppendJSON(dst, serial.NewStr(s)) }
	b := []byte(`{"kind":`)
	b = str(b, r.Kind)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"headers":[`...)
	for i, h := range r.Headers {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = str(b, h.Name)
		b = append(b, ',')
		b = str(b, h.Value)
		b = append(b, ']')
	}
	b = append(b, ']')
	if r.ContentEncoding != "" {
		b = append(b, `,"content_encoding":`...)
		b = str(b, r.ContentEncoding)
	}
	bd := r.readBody()
	b = append(b, `,"body_format":`...)
	b = str(b, bd.format)
	b = append(b, `,"body":`...)
	switch bd.format {
	case BodyJSON:
		b = serial.AppendJSON(b, bd.json)
	case BodyText:
		b = str(b, bd.text)
	default:
		b = serial.AppendJSON(b, serial.NewBytes(r.Body))
	}
	if r.BodyNote != "" {
		b = append(b, `,"body_note":`...)
		b = str(b, r.BodyNote)
	}
	return append(b, '}')
}

// headerText escapes a header name or value for the terminal, line breaks
// included, so one header stays on one line.
func headerText(s string) string {
	s = textesc.Text(s)
	if strings.IndexByte(s, '\n') >= 0 {
		s = strings.ReplaceAll(s, "\n", `\n`)
	}
	return s
}

// cutText keeps the first max bytes of s (all when max <= 0), at a
// character boundary, and says how many bytes it left out.
func cutText(s string, max int) (string, int) {
	if max <= 0 || len(s) <= max {
		return s, 0
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut], len(s) - cut
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// sizeText writes a cap as "64 MiB" when it is whole, else as serial.HumanBytes.
func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return serial.HumanBytes(n)
}
