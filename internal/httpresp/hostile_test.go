package httpresp

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"

	"github.com/cachectl/cachectl/internal/serial"
)

// asgi builds Litestar's message list (names, values and bodies as bytes)
// and returns it as stored: msgpack bytes, decoded again by detection.
func asgi(t testing.TB, status int64, headers [][2]string, bodies ...[]byte) *serial.Value {
	t.Helper()
	hs := make([]*serial.Value, len(headers))
	for i, h := range headers {
		hs[i] = serial.NewList(serial.NewBytes([]byte(h[0])), serial.NewBytes([]byte(h[1])))
	}
	msgs := []*serial.Value{serial.NewDict(
		serial.Pair{Key: serial.NewStr("type"), Value: serial.NewStr("http.response.start")},
		serial.Pair{Key: serial.NewStr("status"), Value: serial.NewInt(status)},
		serial.Pair{Key: serial.NewStr("headers"), Value: serial.NewList(hs...)},
	)}
	for i, b := range bodies {
		msgs = append(msgs, serial.NewDict(
			serial.Pair{Key: serial.NewStr("type"), Value: serial.NewStr("http.response.body")},
			serial.Pair{Key: serial.NewStr("body"), Value: serial.NewBytes(b)},
			serial.Pair{Key: serial.NewStr("more_body"), Value: serial.NewBool(i < len(bodies)-1)},
		))
	}
	return viaMsgpack(t, serial.NewList(msgs...))
}

func viaMsgpack(t testing.TB, v *serial.Value) *serial.Value {
	t.Helper()
	b, err := serial.EncodeMsgpack(v)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, b).Value
}

func viaPickle(t testing.TB, v *serial.Value) *serial.Value {
	t.Helper()
	b, err := serial.EncodePickle(v, 5)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, b).Value
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestContentEncodings(t *testing.T) {
	page := []byte(strings.Repeat("<p>the same page, compressed</p>\n", 50))
	var zl, raw, br, zs bytes.Buffer
	zw := zlib.NewWriter(&zl)
	zw.Write(page)
	zw.Close()
	fw, _ := flate.NewWriter(&raw, flate.DefaultCompression)
	fw.Write(page)
	fw.Close()
	bw := brotli.NewWriter(&br)
	bw.Write(page)
	bw.Close()
	enc, _ := zstd.NewWriter(&zs)
	enc.Write(page)
	enc.Close()
	var gzbr bytes.Buffer // gzip first, then br: "Content-Encoding: gzip, br"
	bw = brotli.NewWriter(&gzbr)
	bw.Write(gz(t, page))
	bw.Close()
	tests := []struct {
		name, header, want string
		body               []byte
	}{
		{"gzip", "gzip", "gzip", gz(t, page)},
		{"x-gzip", "x-gzip", "x-gzip", gz(t, page)},
		{"deflate as zlib", "deflate", "deflate", zl.Bytes()},
		{"deflate sent raw", "deflate", "deflate", raw.Bytes()},
		{"br", "br", "br", br.Bytes()},
		{"zstd", "zstd", "zstd", zs.Bytes()},
		{"upper case and identity", " GZIP , identity", "gzip", gz(t, page)},
		{"two codings undone in reverse", "gzip, br", "gzip, br", gzbr.Bytes()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustFrom(t, asgi(t, 200, [][2]string{{"content-type", "text/html"}, {"Content-Encoding", tt.header}}, tt.body))
			if r.ContentEncoding != tt.want || r.BodyNote != "" || !bytes.Equal(r.Body, page) {
				t.Fatalf("encoding %q note %q body %d bytes", r.ContentEncoding, r.BodyNote, len(r.Body))
			}
			if m := checkJSON(t, r); m["content_encoding"] != tt.want || m["body"] != string(page) {
				t.Errorf("JSON content_encoding %v", m["content_encoding"])
			}
		})
	}
}

func TestContentEncodingFailuresKeepStoredBody(t *testing.T) {
	page := []byte(strings.Repeat("some text that compresses well. ", 100))
	full := gz(t, page)
	tests := []struct {
		name, header string
		body         []byte
		note         string
	}{
		{"truncated gzip", "gzip", full[:len(full)/2], "content-encoding gzip could not be undone: corrupt or truncated gzip stream: unexpected end of data"},
		{"gzip without its trailer", "gzip", full[:len(full)-8], "could not be undone"},
		{"not gzip at all", "gzip", []byte("plain text"), "content-encoding gzip could not be undone"},
		{"truncated br", "br", brotliOf(page)[:10], "content-encoding br could not be undone"},
		{"garbage deflate", "deflate", []byte{0xff, 0xff, 0xff, 0xff}, "content-encoding deflate could not be undone"},
		{"unknown coding", "compress", full, "content-encoding compress could not be undone: unsupported coding compress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustFrom(t, asgi(t, 200, [][2]string{{"content-encoding", tt.header}}, tt.body))
			if !strings.Contains(r.BodyNote, tt.note) || !strings.HasSuffix(r.BodyNote, "the body is shown as stored") {
				t.Errorf("note %q, want it to contain %q", r.BodyNote, tt.note)
			}
			if r.ContentEncoding != "" || !bytes.Equal(r.Body, tt.body) {
				t.Errorf("encoding %q, body changed", r.ContentEncoding)
			}
			m := checkJSON(t, r)
			if _, has := m["content_encoding"]; has || m["body_note"] != r.BodyNote {
				t.Errorf("JSON: %s", r.JSON())
			}
		})
	}
}

func brotliOf(b []byte) []byte {
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, 1)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// gzipBomb returns a valid gzip stream of n MiB of zeros, about 1 KiB per
// MiB: one sync-flushed deflate run of 1 MiB of zeros (its matches reach
// back only inside itself, so it decodes the same anywhere) repeated n
// times, then an empty final block and the trailer.
func gzipBomb(t testing.TB, n int) []byte {
	var blk bytes.Buffer
	fw, err := flate.NewWriter(&blk, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	fw.Write(zeros)
	fw.Flush()
	out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}
	crc := uint32(0)
	for range n {
		out = append(out, blk.Bytes()...)
		crc = crc32.Update(crc, crc32.IEEETable, zeros)
	}
	out = append(out, 0x03, 0x00) // final block: fixed Huffman, end of block only
	out = binary.LittleEndian.AppendUint32(out, crc)
	return binary.LittleEndian.AppendUint32(out, uint32(uint64(n)<<20))
}

func TestGzipBombConstruction(t *testing.T) {
	bomb := gzipBomb(t, 8)
	zr, err := gzip.NewReader(bytes.NewReader(bomb))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, zr)
	if err != nil || n != 8<<20 {
		t.Fatalf("the bomb inflates to %d bytes (%v), want 8 MiB", n, err)
	}
}

func TestGzipBombIsRefused(t *testing.T) {
	bomb := gzipBomb(t, 1024) // 1 GiB of zeros
	if len(bomb) > 2<<20 {
		t.Fatalf("bomb of %d bytes", len(bomb))
	}
	v := asgi(t, 200, [][2]string{{"content-type", "text/plain"}, {"content-encoding", "gzip"}}, bomb)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := mustFrom(t, v)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2*uint64(serial.DefaultMaxInflate) {
		t.Errorf("allocated %d MiB to refuse a bomb over a %d MiB cap", alloc>>20, serial.DefaultMaxInflate>>20)
	}
	want := "content-encoding gzip could not be undone: gzip: inflated size exceeds 64 MiB (raise --max-inflate); the body is shown as stored"
	if r.BodyNote != want {
		t.Errorf("note %q\nwant %q", r.BodyNote, want)
	}
	if r.ContentEncoding != "" || !bytes.Equal(r.Body, bomb) {
		t.Errorf("encoding %q, body %d bytes", r.ContentEncoding, len(r.Body))
	}
	out := render(t, r, serial.TextOptions{})
	if len(out) > 8<<10 || !strings.Contains(out, "binary body (text/plain)]") {
		t.Errorf("the stored bomb renders as %d bytes:\n%.300s", len(out), out)
	}
}

func TestBombsOverASmallCap(t *testing.T) {
	zeros := make([]byte, 4<<20)
	var zs, raw bytes.Buffer
	enc, _ := zstd.NewWriter(&zs)
	enc.Write(zeros)
	enc.Close()
	fw, _ := flate.NewWriter(&raw, flate.BestCompression)
	fw.Write(zeros)
	fw.Close()
	for _, tt := range []struct {
		coding string
		body   []byte
	}{{"br", brotliOf(zeros)}, {"zstd", zs.Bytes()}, {"deflate", raw.Bytes()}, {"gzip", gz(t, zeros)}} {
		t.Run(tt.coding, func(t *testing.T) {
			v := asgi(t, 200, [][2]string{{"content-encoding", tt.coding}}, tt.body)
			r, ok := FromWith(v, Options{MaxInflate: 1 << 20})
			if !ok {
				t.Fatal("not recognised")
			}
			if !strings.Contains(r.BodyNote, "inflated size exceeds 1 MiB") || !bytes.Equal(r.Body, tt.body) {
				t.Errorf("note %q, body %d bytes", r.BodyNote, len(r.Body))
			}
			// The same body under the default cap inflates.
			if r := mustFrom(t, v); r.BodyNote != "" || len(r.Body) != len(zeros) {
				t.Errorf("default cap: note %q, body %d bytes", r.BodyNote, len(r.Body))
			}
		})
	}
}

func TestStoredBodyOverTheCapIsCut(t *testing.T) {
	v := asgi(t, 200, [][2]string{{"content-type", "text/plain"}}, bytes.Repeat([]byte("a"), 70), bytes.Repeat([]byte("b"), 70))
	r, ok := FromWith(v, Options{MaxInflate: 100})
	if !ok {
		t.Fatal("not recognised")
	}
	if string(r.Body) != strings.Repeat("a", 70)+strings.Repeat("b", 30) {
		t.Errorf("body %q", r.Body)
	}
	if r.BodyNote != "the stored body is 140 bytes, over the 100 bytes limit (raise --max-inflate); only its start is shown, as stored" {
		t.Errorf("note %q", r.BodyNote)
	}
}

func TestNotResponses(t *testing.T) {
	start := func(extra ...serial.Pair) *serial.Value {
		return serial.NewDict(append([]serial.Pair{
			{Key: serial.NewStr("type"), Value: serial.NewStr("http.response.start")},
			{Key: serial.NewStr("status"), Value: serial.NewInt(200)},
		}, extra...)...)
	}
	bodyMsg := serial.NewDict(
		serial.Pair{Key: serial.NewStr("type"), Value: serial.NewStr("http.response.body")},
		serial.Pair{Key: serial.NewStr("body"), Value: serial.NewBytes([]byte("x"))})
	headers := func(items ...*serial.Value) serial.Pair {
		return serial.Pair{Key: serial.NewStr("headers"), Value: serial.NewList(items...)}
	}
	b := func(s string) *serial.Value { return serial.NewBytes([]byte(s)) }
	tests := []struct {
		name string
		v    *serial.Value
	}{
		{"nil", nil},
		{"empty list", serial.NewList()},
		{"ASGI list with no start message", serial.NewList(bodyMsg, bodyMsg)},
		{"start message second", serial.NewList(bodyMsg, start())},
		{"a message of another type", serial.NewList(start(), serial.NewDict(serial.Pair{Key: serial.NewStr("type"), Value: serial.NewStr("http.response.trailers")}))},
		{"a message that is not a dict", serial.NewList(start(), b("body"))},
		{"header of one item", serial.NewList(start(headers(serial.NewList(b("a")))), bodyMsg)},
		{"header of three items", serial.NewList(start(headers(serial.NewList(b("a"), b("b"), b("c")))), bodyMsg)},
		{"header that is bytes", serial.NewList(start(headers(b("a: b"))), bodyMsg)},
		{"header name an int", serial.NewList(start(headers(serial.NewList(serial.NewInt(1), b("b")))), bodyMsg)},
		{"status 99", serial.NewList(serial.NewDict(serial.Pair{Key: serial.NewStr("type"), Value: serial.NewStr("http.response.start")}, serial.Pair{Key: serial.NewStr("status"), Value: serial.NewInt(99)}))},
		{"list of ints", serial.NewList(serial.NewInt(1), serial.NewInt(2))},
		{"a plain dict", serial.NewDict(serial.Pair{Key: serial.NewStr("content"), Value: serial.NewStr("x")})},
		{"another pickled class", serial.NewObject("app.models.Item", nil, serial.NewDict())},
		{"django class without state", serial.NewObject("django.http.response.HttpResponse", nil, nil)},
		{"starlite class with a list state", serial.NewObject("starlite.response.base.Response", nil, serial.NewList())},
		{"bytes that are no pickle", serial.NewBytes([]byte("\x80\x05junk."))},
		{"a string", serial.NewStr("HTTP/1.1 200 OK")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r, ok := From(tt.v); ok || r != nil {
				t.Errorf("recognised: %+v", r)
			}
		})
	}
	// The ASGI message list with only its start message is a response with no body.
	r := mustFrom(t, viaMsgpack(t, serial.NewList(start())))
	if len(r.Body) != 0 || r.Status != 200 {
		t.Errorf("start only: %+v", r)
	}
}

// wrongValues are values of every kind; a field is checked with those not skipped.
func wrongValues(skip ...serial.Kind) []*serial.Value {
	all := []*serial.Value{
		serial.None(), serial.NewBool(true), serial.NewInt(7), serial.NewStr("x"), serial.NewBytes([]byte("x")),
		serial.NewList(), serial.NewDict(), serial.NewObject("evil.Thing", nil, serial.NewDict()), serial.NewFloat(200),
	}
	var out []*serial.Value
outer:
	for _, v := range all {
		for _, k := range skip {
			if v.Kind == k {
				continue outer
			}
		}
		out = append(out, v)
	}
	return out
}

// set replaces the value of a str key in a dict (or an object's attributes).
func set(t testing.TB, d *serial.Value, key string, v *serial.Value) {
	t.Helper()
	if d.Kind == serial.KindObject {
		d = attrs(d)
	}
	for i := range d.Pairs {
		if k := d.Pairs[i].Key; k.Kind == serial.KindStr && k.Str == key {
			d.Pairs[i].Value = v
			return
		}
	}
	t.Fatalf("no key %q in %s", key, d)
}

func TestWrongTypesInEveryField(t *testing.T) {
	ref := func(t testing.TB) *serial.Value { return decode(t, litestarRef(t)).Value }
	fix := func(name string) func(testing.TB) *serial.Value {
		return func(t testing.TB) *serial.Value { return fixture(t, name).Value }
	}
	type mutation struct {
		name string
		load func(testing.TB) *serial.Value
		// at returns the container and key (or index, for a list) to overwrite
		at   func(root *serial.Value) (container *serial.Value, key string, index int)
		skip []serial.Kind // kinds that are valid there
	}
	field := func(path func(*serial.Value) *serial.Value, key string) func(*serial.Value) (*serial.Value, string, int) {
		return func(root *serial.Value) (*serial.Value, string, int) { return path(root), key, -1 }
	}
	index := func(path func(*serial.Value) *serial.Value, i int) func(*serial.Value) (*serial.Value, string, int) {
		return func(root *serial.Value) (*serial.Value, string, int) { return path(root), "", i }
	}
	root := func(v *serial.Value) *serial.Value { return v }
	msg := func(i int) func(*serial.Value) *serial.Value {
		return func(v *serial.Value) *serial.Value { return v.Items[i] }
	}
	litHeaders := func(v *serial.Value) *serial.Value { return get(v.Items[0], "headers") }
	litHeader0 := func(v *serial.Value) *serial.Value { return get(v.Items[0], "headers").Items[0] }
	st := func(v *serial.Value) *serial.Value { return attrs(v) }
	djContainer := func(v *serial.Value) *serial.Value { return get(attrs(v), "_container") }
	djStore := func(v *serial.Value) *serial.Value { return get(attrs(get(attrs(v), "headers")), "_store") }
	djHeaders := func(v *serial.Value) *serial.Value { return get(attrs(v), "headers") }
	slHeaders := func(v *serial.Value) *serial.Value { return get(attrs(v), "headers") }
	asgiHeaders := func(v *serial.Value) *serial.Value { return get(v, "headers") }
	muts := []mutation{
		{"litestar start type", ref, field(msg(0), "type"), nil},
		{"litestar status", ref, field(msg(0), "status"), nil},
		{"litestar headers", ref, field(msg(0), "headers"), []serial.Kind{serial.KindList}},
		{"litestar one header", ref, index(litHeaders, 0), nil},
		{"litestar header name", ref, index(litHeader0, 0), []serial.Kind{serial.KindStr, serial.KindBytes}},
		{"litestar header value", ref, index(litHeader0, 1), []serial.Kind{serial.KindStr, serial.KindBytes}},
		{"litestar body message", ref, index(root, 1), nil},
		{"litestar body type", ref, field(msg(1), "type"), nil},
		{"litestar body", ref, field(msg(1), "body"), []serial.Kind{serial.KindBytes}},
		{"litestar more_body", ref, field(msg(1), "more_body"), []serial.Kind{serial.KindBool}},
		{"litestar-2.0 status_code", fix("litestar20.pickle"), field(st, "status_code"), nil},
		{"litestar-2.0 encoded_headers", fix("litestar20.pickle"), field(st, "encoded_headers"), []serial.Kind{serial.KindList}},
		{"litestar-2.0 body", fix("litestar20.pickle"), field(st, "body"), []serial.Kind{serial.KindBytes, serial.KindStr}},
		{"starlite status_code", fix("starlite.pickle"), field(st, "status_code"), nil},
		{"starlite body", fix("starlite.pickle"), field(st, "body"), []serial.Kind{serial.KindBytes, serial.KindStr}},
		{"starlite headers", fix("starlite.pickle"), field(st, "headers"), []serial.Kind{serial.KindDict}},
		{"starlite header value", fix("starlite.pickle"), field(slHeaders, "ETag"), []serial.Kind{serial.KindStr, serial.KindBytes, serial.KindInt}},
		{"starlite cookies", fix("starlite.pickle"), field(st, "cookies"), []serial.Kind{serial.KindList, serial.KindNone}},
		{"starlite media_type", fix("starlite.pickle"), field(st, "media_type"), []serial.Kind{serial.KindStr, serial.KindBytes, serial.KindNone}},
		{"starlite raw_headers", fix("starlite.pickle"), field(st, "raw_headers"), []serial.Kind{serial.KindList, serial.KindNone}},
		{"django _container", fix("django-json.pickle"), field(st, "_container"), []serial.Kind{serial.KindList}},
		{"django body chunk", fix("django-json.pickle"), index(djContainer, 0), []serial.Kind{serial.KindBytes, serial.KindStr}},
		{"django status_code", fix("django-json.pickle"), func(v *serial.Value) (*serial.Value, string, int) {
			s := attrs(v)
			s.Pairs = append(s.Pairs, serial.Pair{Key: serial.NewStr("status_code"), Value: serial.NewInt(200)})
			return s, "status_code", -1
		}, nil},
		{"django headers", fix("django-json.pickle"), field(st, "headers"), nil},
		{"django _store", fix("django-json.pickle"), field(attrsOf(djHeaders), "_store"), []serial.Kind{serial.KindDict}},
		{"django one header", fix("django-json.pickle"), field(djStore, "content-type"), nil},
		{"asgi-caches content", fix("asgi-caches.json"), field(root, "content"), nil},
		{"asgi-caches status_code", fix("asgi-caches.json"), field(root, "status_code"), nil},
		{"asgi-caches headers", fix("asgi-caches.json"), field(root, "headers"), []serial.Kind{serial.KindDict}},
		{"asgi-caches header value", fix("asgi-caches.json"), field(asgiHeaders, "vary"), []serial.Kind{serial.KindStr}},
	}
	for _, m := range muts {
		t.Run(m.name, func(t *testing.T) {
			if _, ok := From(m.load(t)); !ok {
				t.Fatal("the unchanged value is not recognised")
			}
			for _, wrong := range wrongValues(m.skip...) {
				v := m.load(t)
				c, key, i := m.at(v)
				if key != "" {
					set(t, c, key, wrong)
				} else {
					c.Items[i] = wrong
				}
				if r, ok := From(v); ok {
					t.Errorf("recognised with %s = %s: %+v", m.name, wrong, r)
				}
			}
		})
	}
}

func attrsOf(path func(*serial.Value) *serial.Value) func(*serial.Value) *serial.Value {
	return func(v *serial.Value) *serial.Value { return attrs(path(v)) }
}

func TestDjangoShapes(t *testing.T) {
	str := serial.NewStr
	pair := func(k string, v *serial.Value) serial.Pair { return serial.Pair{Key: str(k), Value: v} }
	hdr := func(name, value string) *serial.Value { return serial.NewTuple(str(name), str(value)) }
	container := pair("_container", serial.NewList(serial.NewBytes([]byte("not "))))

	t.Run("before 3.2: _headers in the instance dict", func(t *testing.T) {
		v := viaPickle(t, serial.NewObject("django.http.response.HttpResponseNotModified", nil, serial.NewDict(
			pair("_headers", serial.NewDict(pair("content-type", hdr("Content-Type", "text/plain")), pair("etag", hdr("ETag", `"abc"`)))),
			pair("_charset", str("utf-8")), container)))
		r := mustFrom(t, v)
		if r.Status != 304 || !equalHeaders(r.Headers, []Header{{"Content-Type", "text/plain"}, {"ETag", `"abc"`}}) {
			t.Errorf("%+v", r)
		}
	})
	t.Run("an explicit status_code wins over the class", func(t *testing.T) {
		v := viaPickle(t, serial.NewObject("django.http.response.HttpResponseRedirect", nil, serial.NewDict(
			pair("status_code", serial.NewInt(418)), container)))
		r := mustFrom(t, v)
		if r.Status != 418 || !strings.HasPrefix(render(t, r, serial.TextOptions{}), "HTTP 418 I'm a teapot\n") {
			t.Errorf("%+v", r)
		}
	})
	t.Run("status as an http.HTTPStatus member", func(t *testing.T) {
		v := viaPickle(t, serial.NewObject("django.http.response.HttpResponse", nil, serial.NewDict(
			pair("status_code", serial.NewObject("http.HTTPStatus", []*serial.Value{serial.NewInt(201)}, nil)), container)))
		if r := mustFrom(t, v); r.Status != 201 {
			t.Errorf("status %d", r.Status)
		}
	})
	t.Run("latin-1 charset from _charset", func(t *testing.T) {
		v := viaPickle(t, serial.NewObject("django.http.response.HttpResponse", nil, serial.NewDict(
			pair("_headers", serial.NewDict(pair("content-type", hdr("Content-Type", "text/plain")))),
			pair("_charset", str("iso-8859-1")),
			pair("_container", serial.NewList(serial.NewBytes([]byte("caf\xe9\n")))))))
		r := mustFrom(t, v)
		if got := render(t, r, serial.TextOptions{}); !strings.HasSuffix(got, "\n\ncafé\n") {
			t.Errorf("%q", got)
		}
		if m := checkJSON(t, r); m["body"] != "café\n" || m["body_format"] != "text" {
			t.Errorf("%s", r.JSON())
		}
	})
	t.Run("slot state pair as a hand-built tree keeps it", func(t *testing.T) {
		v := serial.NewObject("litestar.response.base.ASGIResponse", nil, serial.NewTuple(serial.None(), serial.NewDict(
			pair("body", serial.NewBytes([]byte("ok"))), pair("encoded_headers", serial.NewList()), pair("status_code", serial.NewInt(200)))))
		if r := mustFrom(t, v); string(r.Body) != "ok" || r.Kind != KindLitestar20 {
			t.Errorf("%+v", r)
		}
	})
}

func TestDoublePickleIsUnwrappedOnce(t *testing.T) {
	inner, err := os.ReadFile("testdata/starlite.pickle")
	if err != nil {
		t.Fatal(err)
	}
	twice, err := serial.EncodePickle(serial.NewBytes(inner), 4)
	if err != nil {
		t.Fatal(err)
	}
	thrice, err := serial.EncodePickle(serial.NewBytes(twice), 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := From(decode(t, twice).Value); !ok {
		t.Error("pickled twice: not recognised")
	}
	if _, ok := From(decode(t, thrice).Value); ok {
		t.Error("pickled three times: recognised")
	}
}

func TestTerminalEscapes(t *testing.T) {
	v := asgi(t, 200, [][2]string{
		{"content-type", "text/plain; charset=utf-8"},
		{"x-evil", "\x1b]0;pwned\x07\x1b[2J red\r\nInjected: yes"},
		{"x-\x1b[31mname", "v"},
		{"x-latin1", "caf\xe9"},
	}, []byte("body \x1b[31mred\x1b[0m\u009b text\n"))
	r := mustFrom(t, v)
	out := render(t, r, serial.TextOptions{})
	for i, c := range []byte(out) {
		if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
			t.Fatalf("control byte %#x at %d in\n%q", c, i, out)
		}
	}
	if strings.Contains(out, "\u009b") {
		t.Errorf("C1 CSI in output: %q", out)
	}
	lines := strings.Split(out, "\n")
	want := []string{
		"HTTP 200 OK",
		"content-type: text/plain; charset=utf-8",
		`x-evil: \x1b]0;pwned\x07\x1b[2J red\r\nInjected: yes`,
		`x-\x1b[31mname: v`,
		"x-latin1: café", // a header that is not UTF-8 is read as Latin-1
		"",
		`body \x1b[31mred\x1b[0m\u009b text`,
		"",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", out, strings.Join(want, "\n"))
	}
	js := string(r.JSON())
	if strings.ContainsAny(js, "\x1b\x07\r\u009b") || !strings.Contains(js, `\u001b]0;pwned\u0007`) {
		t.Errorf("JSON not escaped: %s", js)
	}
	checkJSON(t, r)
}

func TestRenderBounds(t *testing.T) {
	var hs [][2]string
	hs = append(hs, [2]string{"content-type", "application/json"})
	for i := range 1000 {
		hs = append(hs, [2]string{"x-h" + itoa(i), strings.Repeat("v", 100)})
	}
	items := make([]string, 500)
	for i := range items {
		items[i] = itoa(i)
	}
	r := mustFrom(t, asgi(t, 200, hs, []byte("["+strings.Join(items, ",")+"]")))
	var buf bytes.Buffer
	cut, err := r.RenderText(&buf, serial.TextOptions{MaxItems: 3, MaxBytes: 10})
	if err != nil || !cut {
		t.Fatalf("cut %v err %v", cut, err)
	}
	want := "HTTP 200 OK\ncontent-type: applicatio… (6 bytes more)\nx-h0: vvvvvvvvvv… (90 bytes more)\n" +
		"x-h1: vvvvvvvvvv… (90 bytes more)\n… (998 more headers)\n\n[\n  0,\n  1,\n  2,\n  … (497 more items)\n]\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	if cut, _ := r.RenderText(&buf, serial.TextOptions{}); cut || strings.Count(buf.String(), "\n") != 1+1001+1+502 {
		t.Errorf("unbounded: cut %v, %d lines", cut, strings.Count(buf.String(), "\n"))
	}
}

func TestRenderBinaryAndText(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0, 0xff}, 2048)...)
	r := mustFrom(t, asgi(t, 200, [][2]string{{"Content-Type", "image/png"}}, png))
	out := render(t, r, serial.TextOptions{})
	if !strings.HasPrefix(out, "HTTP 200 OK\nContent-Type: image/png\n\n[4.0 KiB binary body (image/png)]\nb'\\x89PNG\\r\\n\\x1a\\n\\x00\\xff") ||
		!strings.HasSuffix(out, "'… (3.0 KiB more)\n") {
		t.Errorf("binary body:\n%s", out)
	}
	if m := checkJSON(t, r); m["body_format"] != "bytes" || m["body"].(map[string]any)["$bytes"] == "" {
		t.Errorf("%.200s", r.JSON())
	}
	out = render(t, r, serial.TextOptions{MaxBytes: 4})
	if !strings.HasSuffix(out, "b'\\x89PNG'… (4.0 KiB more)\n") {
		t.Errorf("MaxBytes 4: %q", out)
	}

	r = mustFrom(t, asgi(t, 200, [][2]string{{"content-type", "application/json"}}, []byte("{not json")))
	if m := checkJSON(t, r); m["body_format"] != "text" || m["body"] != "{not json" {
		t.Errorf("broken JSON body: %s", r.JSON())
	}
	r = mustFrom(t, asgi(t, 200, nil, []byte("no content type")))
	if got := render(t, r, serial.TextOptions{}); got != "HTTP 200 OK\n\nno content type\n" {
		t.Errorf("%q", got)
	}
	r = mustFrom(t, asgi(t, 599, [][2]string{{"content-type", "application/problem+json"}}, []byte(`{"a":1}`)))
	if got := render(t, r, serial.TextOptions{}); got != "HTTP 599\ncontent-type: application/problem+json\n\n{\n  \"a\": 1\n}\n" {
		t.Errorf("%q", got)
	}
}

func TestRenderColor(t *testing.T) {
	r := mustFrom(t, decode(t, litestarRef(t)).Value)
	out := render(t, r, serial.TextOptions{Style: ansiStyle})
	if !strings.HasPrefix(out, "\x1b[1mHTTP 200 OK\x1b[0m\n\x1b[36mcontent-type\x1b[0m: application/json\n") ||
		!strings.Contains(out, "\x1b[36m\"hello\"\x1b[0m") {
		t.Errorf("%q", out)
	}
	if out := render(t, r, serial.TextOptions{}); strings.Contains(out, "\x1b") {
		t.Errorf("escape without colour: %q", out)
	}
}

func TestHostileTreesDoNotPanic(t *testing.T) {
	n := func(k serial.Kind) *serial.Value { return &serial.Value{Kind: k} }
	str := serial.NewStr
	trees := []*serial.Value{
		{Kind: serial.KindList, Items: []*serial.Value{nil}},
		{Kind: serial.KindList, Items: []*serial.Value{{Kind: serial.KindDict, Pairs: []serial.Pair{{Key: nil, Value: nil}, {Key: str("type"), Value: nil}}}}},
		{Kind: serial.KindList, Items: []*serial.Value{serial.NewDict(serial.Pair{Key: str("type"), Value: str("http.response.start")}, serial.Pair{Key: str("status"), Value: serial.NewInt(200)}, serial.Pair{Key: str("headers"), Value: &serial.Value{Kind: serial.KindList, Items: []*serial.Value{nil, {Kind: serial.KindTuple, Items: []*serial.Value{nil, nil}}}}})}},
		{Kind: serial.KindDict, Pairs: []serial.Pair{{Key: str("content"), Value: nil}, {Key: str("headers"), Value: nil}}},
		{Kind: serial.KindDict, Pairs: []serial.Pair{{Key: str("content"), Value: str("")}, {Key: str("status_code"), Value: serial.NewInt(200)}, {Key: str("headers"), Value: &serial.Value{Kind: serial.KindDict, Pairs: []serial.Pair{{Key: nil, Value: nil}}}}}},
		{Kind: serial.KindObject, Str: "django.http.response.HttpResponse"},
		{Kind: serial.KindObject, Str: "django.http.response.HttpResponse", State: &serial.Value{Kind: serial.KindDict, Pairs: []serial.Pair{
			{Key: str("_container"), Value: &serial.Value{Kind: serial.KindList, Items: []*serial.Value{nil}}}}}},
		{Kind: serial.KindObject, Str: "django.http.response.HttpResponse", State: &serial.Value{Kind: serial.KindDict, Pairs: []serial.Pair{
			{Key: str("_container"), Value: serial.NewList()},
			{Key: str("headers"), Value: &serial.Value{Kind: serial.KindObject, State: &serial.Value{Kind: serial.KindDict, Pairs: []serial.Pair{{Key: str("_store"), Value: &serial.Value{Kind: serial.KindDict, Pairs: []serial.Pair{{Key: nil, Value: nil}}}}}}}},
			{Key: str("cookies"), Value: &serial.Value{Kind: serial.KindObject, Items: []*serial.Value{nil, {Kind: serial.KindDict, Pairs: []serial.Pair{{Key: nil, Value: nil}, {Key: str("c"), Value: &serial.Value{Kind: serial.KindObject, State: n(serial.KindList), Items: []*serial.Value{nil}}}, {Key: str("d"), Value: &serial.Value{Kind: serial.KindObject, State: serial.NewDict(serial.Pair{Key: str("key"), Value: str("k")}, serial.Pair{Key: str("coded_value"), Value: str("v")}), Items: []*serial.Value{{Kind: serial.KindDict, Pairs: []serial.Pair{{Key: nil, Value: nil}, {Key: str("secure"), Value: nil}, {Key: str("expires"), Value: n(serial.KindCycle)}}}}}}}}}}},
		}}},
		{Kind: serial.KindObject, Str: "starlite.response.base.Response", State: &serial.Value{Kind: serial.KindTuple, Items: []*serial.Value{nil, nil}}},
		{Kind: serial.KindObject, Str: "starlite.response.base.Response", State: serial.NewDict(
			serial.Pair{Key: str("status_code"), Value: serial.NewInt(200)}, serial.Pair{Key: str("body"), Value: serial.NewBytes(nil)},
			serial.Pair{Key: str("cookies"), Value: &serial.Value{Kind: serial.KindList, Items: []*serial.Value{nil, n(serial.KindObject), {Kind: serial.KindObject, State: serial.NewDict(serial.Pair{Key: str("key"), Value: str("k")}, serial.Pair{Key: str("max_age"), Value: n(serial.KindTruncated)}, serial.Pair{Key: nil, Value: nil})}}}},
			serial.Pair{Key: str("headers"), Value: &serial.Value{Kind: serial.KindDict, Pairs: []serial.Pair{{Key: nil, Value: nil}}}})},
		{Kind: serial.KindObject, Str: "litestar.response.base.ASGIResponse", State: &serial.Value{Kind: serial.KindTuple, Items: []*serial.Value{n(serial.KindNone), nil}}},
		{Kind: serial.KindObject, Str: "litestar.response.base.ASGIResponse", Items: []*serial.Value{nil}, State: serial.NewDict(serial.Pair{Key: str("status_code"), Value: &serial.Value{Kind: serial.KindObject, Items: []*serial.Value{nil}}})},
		{Kind: serial.KindBytes, Bytes: []byte("\x80\x05.")},
		n(serial.KindCycle), n(serial.KindTruncated), n(255),
	}
	for _, v := range trees {
		if r, ok := From(v); ok {
			render(t, r, serial.TextOptions{MaxItems: 2, MaxBytes: 8})
			checkJSON(t, r)
		}
	}
}

func TestManyBodyMessagesAreJoined(t *testing.T) {
	bodies := make([][]byte, 20000)
	for i := range bodies {
		bodies[i] = []byte{'a' + byte(i%26)}
	}
	r := mustFrom(t, asgi(t, 200, [][2]string{{"content-type", "text/plain"}}, bodies...))
	if len(r.Body) != len(bodies) || r.Body[27] != 'b' {
		t.Errorf("body %d bytes", len(r.Body))
	}
}
