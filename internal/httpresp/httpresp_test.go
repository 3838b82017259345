package httpresp

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/serial"
	"github.com/cachectl/cachectl/internal/testenv"
)

// systemPython is Debian's Python, which has python3-django, python3-msgpack
// and python3-brotli for scripts/gen-http-vectors.py.
const systemPython = "/usr/bin/python3"

// litestarRefHex is the 13-byte JSON response of python-cache-formats.md
// section 2.2, as msgspec wrote it.
const litestarRefHex = "92 83 a4 74 79 70 65 b3 68 74 74 70 2e 72 65 73 70 6f 6e 73 65 2e 73 74 61 72 74 a6 73 74 61 74 75 73 cc c8 " +
	"a7 68 65 61 64 65 72 73 92 92 c4 0c 63 6f 6e 74 65 6e 74 2d 74 79 70 65 c4 10 61 70 70 6c 69 63 61 74 69 6f 6e 2f 6a 73 6f 6e " +
	"92 c4 0e 63 6f 6e 74 65 6e 74 2d 6c 65 6e 67 74 68 c4 02 31 33 83 a4 74 79 70 65 b2 68 74 74 70 2e 72 65 73 70 6f 6e 73 65 2e " +
	"62 6f 64 79 a4 62 6f 64 79 c4 0d 7b 22 68 65 6c 6c 6f 22 3a 22 77 22 7d a9 6d 6f 72 65 5f 62 6f 64 79 c2"

func litestarRef(t testing.TB) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(litestarRefHex, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decode runs the real detection on stored bytes.
func decode(t testing.TB, b []byte) serial.Decoded {
	t.Helper()
	d, err := serial.Decode(b, serial.DecodeOptions{})
	if err != nil || d.Err != nil {
		t.Fatalf("decode: %v %v", err, d.Err)
	}
	return d
}

func fixture(t testing.TB, name string) serial.Decoded {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, b)
}

func mustFrom(t testing.TB, v *serial.Value) *Response {
	t.Helper()
	r, ok := From(v)
	if !ok {
		t.Fatalf("not recognised: %s", v)
	}
	return r
}

func render(t testing.TB, r *Response, opts serial.TextOptions) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := r.RenderText(&buf, opts); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// checkJSON checks that JSON() is valid and returns it parsed.
func checkJSON(t testing.TB, r *Response) map[string]any {
	t.Helper()
	b := r.JSON()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("JSON() is not valid JSON: %v\n%s", err, b)
	}
	return m
}

func TestLitestarReferenceResponse(t *testing.T) {
	d := decode(t, litestarRef(t))
	if d.Format != serial.FormatMsgpack {
		t.Fatalf("format %s", d.Format)
	}
	r := mustFrom(t, d.Value)
	wantText := "HTTP 200 OK\ncontent-type: application/json\ncontent-length: 13\n\n{\n  \"hello\": \"w\"\n}\n"
	if got := render(t, r, serial.TextOptions{}); got != wantText {
		t.Errorf("RenderText:\n%s\nwant:\n%s", got, wantText)
	}
	wantJSON := `{"kind":"litestar","status":200,"headers":[["content-type","application/json"],["content-length","13"]],"body_format":"json","body":{"hello":"w"}}`
	if got := string(r.JSON()); got != wantJSON {
		t.Errorf("JSON:\n%s\nwant\n%s", got, wantJSON)
	}
	// The generator checks its msgpack against the same hex.
	stored, err := os.ReadFile(filepath.Join("testdata", "litestar-json.msgpack"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, litestarRef(t)) {
		t.Error("testdata/litestar-json.msgpack differs from the reference bytes")
	}
}

func TestFixtures(t *testing.T) {
	itemsJSON := func() string {
		var b strings.Builder
		b.WriteByte('[')
		for i := range 20 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"id":` + itoa(i) + `,"name":"item ` + itoa(i) + `"}`)
		}
		return b.String() + "]"
	}
	lines := func() string {
		var b strings.Builder
		for i := range 40 {
			b.WriteString("line of text " + itoa(i) + "\n")
		}
		return b.String()
	}
	tests := []struct {
		name     string
		file     string
		format   serial.Format // what detection says the stored value is
		kind     string
		status   int
		headers  []Header
		encoding string
		bodyFmt  string
		body     string // the body after undoing the content encoding
		text     string // exact RenderText output, when given
	}{
		{
			name: "litestar gzip json", file: "litestar-gzip.msgpack", format: serial.FormatMsgpack,
			kind: KindLitestar, status: 200,
			headers:  []Header{{"content-type", "application/json"}, {"content-encoding", "gzip"}, {"vary", "accept-encoding"}, {"content-length", "143"}},
			encoding: "gzip", bodyFmt: BodyJSON, body: itemsJSON(),
		},
		{
			name: "litestar br html", file: "litestar-br.msgpack", format: serial.FormatMsgpack,
			kind: KindLitestar, status: 200,
			headers:  []Header{{"content-type", "text/html; charset=utf-8"}, {"content-encoding", "br"}, {"vary", "accept-encoding"}, {"content-length", "62"}},
			encoding: "br", bodyFmt: BodyText,
			body: "<html><body>" + strings.Repeat("<p>brotli compressed page</p>", 30) + "</body></html>",
		},
		{
			name: "litestar stream of 3 body messages", file: "litestar-stream.msgpack", format: serial.FormatMsgpack,
			kind: KindLitestar, status: 200,
			headers: []Header{{"content-type", "text/plain; charset=utf-8"}},
			bodyFmt: BodyText, body: "chunk one\nchunk two\n",
			text: "HTTP 200 OK\ncontent-type: text/plain; charset=utf-8\n\nchunk one\nchunk two\n",
		},
		{
			name: "litestar 2.0 pickled ASGIResponse", file: "litestar20.pickle", format: serial.FormatPickle,
			kind: KindLitestar20, status: 200,
			headers: []Header{{"content-type", "application/json"}, {"content-length", "13"}},
			bodyFmt: BodyJSON, body: `{"hello":"w"}`,
			text: "HTTP 200 OK\ncontent-type: application/json\ncontent-length: 13\n\n{\n  \"hello\": \"w\"\n}\n",
		},
		{
			name: "starlite pickled response with a cookie", file: "starlite.pickle", format: serial.FormatPickle,
			kind: KindStarlite, status: 200,
			headers: []Header{{"etag", `"v1"`}, {"cache-control", "max-age=60"},
				{"set-cookie", "seen=1; HttpOnly; Path=/; SameSite=lax"}, // Cookie.to_header(header="") in Python
				{"content-type", "application/json"}, {"content-length", "25"}},
			bodyFmt: BodyJSON, body: `{"id":1,"tags":["a","b"]}`,
		},
		{
			name: "starlite double pickle from memcached", file: "starlite-memcached.pickle", format: serial.FormatPickle,
			kind: KindStarlite, status: 200,
			headers: []Header{{"etag", `"v1"`}, {"cache-control", "max-age=60"},
				{"set-cookie", "seen=1; HttpOnly; Path=/; SameSite=lax"},
				{"content-type", "application/json"}, {"content-length", "25"}},
			bodyFmt: BodyJSON, body: `{"id":1,"tags":["a","b"]}`,
		},
		{
			name: "starlite text response gets its charset", file: "starlite-text.pickle", format: serial.FormatPickle,
			kind: KindStarlite, status: 201,
			headers: []Header{{"content-type", "text/plain; charset=utf-8"}, {"content-length", "8"}},
			bodyFmt: BodyText, body: "created\n",
			text: "HTTP 201 Created\ncontent-type: text/plain; charset=utf-8\ncontent-length: 8\n\ncreated\n",
		},
		{
			name: "django html with vary, cache headers and a cookie", file: "django-html.pickle", format: serial.FormatPickle,
			kind: KindDjango, status: 200,
			headers: []Header{{"Content-Type", "text/html; charset=utf-8"}, {"Vary", "Accept-Encoding, Cookie"},
				{"Expires", "Sun, 22 Nov 2026 18:47:07 GMT"}, {"Cache-Control", "max-age=120"},
				{"Set-Cookie", `theme="dark mode"; HttpOnly; Path=/; SameSite=Lax`}}, // Morsel.OutputString() in Python
			bodyFmt: BodyText, body: "<!doctype html>\n<p>Hello, café</p>\n",
			text: "HTTP 200 OK\nContent-Type: text/html; charset=utf-8\nVary: Accept-Encoding, Cookie\n" +
				"Expires: Sun, 22 Nov 2026 18:47:07 GMT\nCache-Control: max-age=120\n" +
				"Set-Cookie: theme=\"dark mode\"; HttpOnly; Path=/; SameSite=Lax\n\n<!doctype html>\n<p>Hello, café</p>\n",
		},
		{
			name: "django JsonResponse", file: "django-json.pickle", format: serial.FormatPickle,
			kind: KindDjango, status: 200,
			headers: []Header{{"Content-Type", "application/json"}, {"Vary", "Accept-Encoding"},
				{"Expires", "Sun, 22 Nov 2026 18:47:07 GMT"}, {"Cache-Control", "max-age=60"}},
			bodyFmt: BodyJSON, body: `{"ok": true, "items": [1, 2, 3], "name": "widget"}`,
			text: "HTTP 200 OK\nContent-Type: application/json\nVary: Accept-Encoding\nExpires: Sun, 22 Nov 2026 18:47:07 GMT\n" +
				"Cache-Control: max-age=60\n\n{\n  \"ok\": true,\n  \"items\": [\n    1,\n    2,\n    3\n  ],\n  \"name\": \"widget\"\n}\n",
		},
		{
			name: "django body gzipped by GZipMiddleware", file: "django-gzip.pickle", format: serial.FormatPickle,
			kind: KindDjango, status: 200,
			headers: []Header{{"Content-Type", "text/plain; charset=utf-8"}, {"Vary", "Accept-Encoding"}, {"Content-Length", "126"},
				{"Content-Encoding", "gzip"}, {"Expires", "Sun, 22 Nov 2026 18:47:07 GMT"}, {"Cache-Control", "max-age=120"}},
			encoding: "gzip", bodyFmt: BodyText, body: lines(),
		},
		{
			name: "django redirect takes status 302 from its class", file: "django-redirect.pickle", format: serial.FormatPickle,
			kind: KindDjango, status: 302,
			headers: []Header{{"Content-Type", "text/html; charset=utf-8"}, {"Location", "/login/?next=/items"}},
			bodyFmt: BodyText, body: "",
			text: "HTTP 302 Found\nContent-Type: text/html; charset=utf-8\nLocation: /login/?next=/items\n\n",
		},
		{
			name: "django rendered SimpleTemplateResponse", file: "django-template.pickle", format: serial.FormatPickle,
			kind: KindDjango, status: 200,
			headers: []Header{{"Content-Type", "text/html; charset=utf-8"}, {"Expires", "Sun, 22 Nov 2026 18:47:07 GMT"}, {"Cache-Control", "max-age=120"}},
			bodyFmt: BodyText, body: "<ul><li>a</li><li>b</li></ul>",
		},
		{
			name: "asgi-caches entry of the reference", file: "asgi-caches.json", format: serial.FormatJSON,
			kind: KindASGICaches, status: 200,
			headers: []Header{{"content-length", "17"}, {"content-type", "application/json"}, {"vary", "Accept-Encoding"},
				{"cache-control", "max-age=60"}, {"expires", "Sun, 22 Nov 2026 18:48:55 GMT"}},
			bodyFmt: BodyJSON, body: `{"hello":"world"}`,
		},
		{
			name: "asgi-caches base64 over several lines", file: "asgi-caches-html.json", format: serial.FormatJSON,
			kind: KindASGICaches, status: 200,
			headers: []Header{{"content-type", "text/html; charset=utf-8"}, {"content-length", "195"}},
			bodyFmt: BodyText, body: "<p>" + strings.Repeat("asgi-caches splits base64 every 76 characters. ", 4) + "</p>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := fixture(t, tt.file)
			if d.Format != tt.format {
				t.Fatalf("stored value detected as %s, want %s", d.Format, tt.format)
			}
			r := mustFrom(t, d.Value)
			if r.Kind != tt.kind || r.Status != tt.status {
				t.Errorf("kind %q status %d, want %q %d", r.Kind, r.Status, tt.kind, tt.status)
			}
			if !equalHeaders(r.Headers, tt.headers) {
				t.Errorf("headers\n got %q\nwant %q", r.Headers, tt.headers)
			}
			if r.ContentEncoding != tt.encoding || r.BodyNote != "" {
				t.Errorf("content encoding %q (note %q), want %q", r.ContentEncoding, r.BodyNote, tt.encoding)
			}
			if string(r.Body) != tt.body {
				t.Errorf("body\n got %q\nwant %q", r.Body, tt.body)
			}
			m := checkJSON(t, r)
			if m["kind"] != tt.kind || m["status"] != float64(tt.status) || m["body_format"] != tt.bodyFmt {
				t.Errorf("JSON kind/status/body_format: %v %v %v", m["kind"], m["status"], m["body_format"])
			}
			if ce, has := m["content_encoding"]; has != (tt.encoding != "") || (has && ce != tt.encoding) {
				t.Errorf("JSON content_encoding %v, want %q", ce, tt.encoding)
			}
			switch tt.bodyFmt {
			case BodyJSON:
				var want any
				if err := json.Unmarshal([]byte(tt.body), &want); err != nil {
					t.Fatal(err)
				}
				if !jsonEqual(m["body"], want) {
					t.Errorf("JSON body %v, want %v", m["body"], want)
				}
			case BodyText:
				if m["body"] != tt.body {
					t.Errorf("JSON body %q, want %q", m["body"], tt.body)
				}
			}
			out := render(t, r, serial.TextOptions{})
			if tt.text != "" && out != tt.text {
				t.Errorf("RenderText:\n%s\nwant:\n%s", out, tt.text)
			}
			if !strings.HasPrefix(out, "HTTP "+itoa(tt.status)+" ") {
				t.Errorf("status line: %q", out)
			}
		})
	}
}

func TestHeaderLookupIgnoresCase(t *testing.T) {
	r := mustFrom(t, fixture(t, "django-gzip.pickle").Value)
	for _, name := range []string{"content-encoding", "CONTENT-ENCODING", "Content-Encoding"} {
		if got := r.Header(name); got != "gzip" {
			t.Errorf("Header(%q) = %q", name, got)
		}
	}
	if got := r.Header("x-missing"); got != "" {
		t.Errorf("missing header: %q", got)
	}
}

func equalHeaders(a, b []Header) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func itoa(i int) string { return serial.NewInt(int64(i)).IntString() }

// TestVectorsUpToDate regenerates testdata with the committed script and
// compares it with the committed files.
func TestVectorsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	if err := exec.Command(systemPython, "-c", "import django, msgpack, brotli").Run(); err != nil {
		if testenv.Required() { // CI installs python3-django, -msgpack and -brotli
			t.Fatalf("%s with django, msgpack and brotli is required: %v", systemPython, err)
		}
		t.Skipf("%s with django, msgpack and brotli is not available: %v", systemPython, err)
	}
	dir := t.TempDir()
	if out, err := exec.Command(systemPython, filepath.Join("..", "..", "scripts", "gen-http-vectors.py"), dir).CombinedOutput(); err != nil {
		t.Fatalf("gen-http-vectors.py: %v\n%s", err, out)
	}
	generated, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(generated) != len(committed) {
		t.Errorf("script writes %d files, testdata has %d", len(generated), len(committed))
	}
	for _, e := range generated {
		got, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("testdata", e.Name()))
		if err != nil {
			t.Errorf("%s: %v (run scripts/gen-http-vectors.py)", e.Name(), err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata/%s is stale (run scripts/gen-http-vectors.py)", e.Name())
		}
	}
}
