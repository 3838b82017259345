package memserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzHandler sends arbitrary requests straight to the handler (no client in
// between to clean them up) and checks that it never panics, answers only the
// statuses the protocol names, and that every error is a one-line
// {"error": ...} JSON body.
func FuzzHandler(f *testing.F) {
	seeds := []struct {
		method, path, query, body, format string
		auth                              bool
		chunked                           bool
	}{
		{"GET", "/v1/entry", "key=user%3A1", "", "", true, false},
		{"PUT", "/v1/entry", "key=user%3A1&ttl=300", `{"id": 1}`, "json", true, false},
		{"PUT", "/v1/entry", "key=a%FF&ttl=0.5", "\x00\xff", "zlib+pickle", true, true},
		{"HEAD", "/v1/entry", "key=a%ff", "", "", true, false},
		{"DELETE", "/v1/entry", "key=user%3A1", "", "", true, false},
		{"POST", "/v1/expire", "key=user%3A1&ttl=10", "", "", true, false},
		{"GET", "/v1/keys", "match=user%3A*&count=2&cursor=", "", "", true, false},
		{"GET", "/v1/keys", "match=[a-&cursor=1152921504606846976", "", "", true, false},
		{"POST", "/v1/invalidate", "", `{"match":["user:*",{"$bytes":"/w=="}],"dry_run":true}`, "", true, false},
		{"POST", "/v1/invalidate", "", `{"match":["*"]}`, "", true, true},
		{"GET", "/v1/stats", "", "", "", true, false},
		{"GET", "/v1/capabilities", "", "", "", false, false},
		{"PATCH", "/v1/nope", "key=%", "x", "a b", false, false},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, []byte(s.body), s.format, s.auth, s.chunked)
	}

	clock := newClock()
	store := NewStore(Options{MaxMemory: 64 << 10, Now: clock.Now})
	opts := HandlerOptions{MaxBody: 4096, MaxKey: 64}
	open := NewHandler(store, opts)
	opts.Token = "fuzz-token"
	locked := NewHandler(store, opts)

	f.Fuzz(func(t *testing.T, method, path, query string, body []byte, format string, auth, chunked bool) {
		clock.Advance(100 * time.Millisecond) // let TTLs run out now and then
		req := &http.Request{
			Method:        method,
			URL:           &url.URL{Path: path, RawQuery: query},
			Header:        http.Header{},
			Body:          http.NoBody,
			ContentLength: int64(len(body)),
			Host:          "127.0.0.1:8750",
		}
		req = req.WithContext(t.Context())
		if len(body) > 0 {
			req.Body = httpBody(body)
		}
		if chunked {
			req.ContentLength = -1
		}
		req.Header.Set("Content-Type", "application/json")
		if format != "" {
			req.Header.Set("Cache-Format", format)
		}
		h := open
		if auth {
			h = locked
			req.Header.Set("Authorization", "Bearer fuzz-token")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)

		switch w.Code {
		case 200, 204, 400, 401, 404, 405, 413, 415:
		default:
			t.Fatalf("%s %q ?%q: status %d", method, path, query, w.Code)
		}
		ct := w.Header().Get("Content-Type")
		if w.Code == 204 && w.Body.Len() != 0 {
			t.Fatalf("204 with a body %q", w.Body.String())
		}
		if w.Code == 405 && w.Header().Get("Allow") == "" {
			t.Fatal("405 without Allow")
		}
		if ct == "application/json" && method != http.MethodHead && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("invalid JSON body %q", w.Body.String())
		}
		if w.Code < 400 {
			return
		}
		if ct != "application/json" {
			t.Fatalf("status %d with Content-Type %q", w.Code, ct)
		}
		var e map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
			t.Fatalf("error body %q: %v", w.Body.String(), err)
		}
		msg, ok := e["error"].(string)
		fields := 1
		if code, has := e["code"]; has { // the optional error code, also in Cache-Error
			fields++
			if s, isStr := code.(string); !isStr || s == "" || s != w.Header().Get("Cache-Error") {
				t.Fatalf("error code %v with Cache-Error %q", code, w.Header().Get("Cache-Error"))
			}
		} else if w.Header().Get("Cache-Error") != "" {
			t.Fatalf("Cache-Error %q without a code in the body", w.Header().Get("Cache-Error"))
		}
		if len(e) != fields || !ok || msg == "" || strings.ContainsAny(msg, "\r\n") {
			t.Fatalf("error body %q", w.Body.String())
		}
	})
}

func httpBody(b []byte) *readCloser { return &readCloser{bytes.NewReader(b)} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
