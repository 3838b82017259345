package memserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func TestCapabilities(t *testing.T) {
	ts := newTestServer(t, Options{}, HandlerOptions{})
	ts.do(t, "GET", "/v1/capabilities", nil).expect(t, 200,
		`{"protocol":1,"server":"cachectl/dev","capabilities":["keys","get","set","delete","expire","invalidate","stats","invalidate-chunked","events"],"formats":[],"limits":{"max_body":16777216,"max_key":65536,"max_count":10000},"store":{"library":"cachectl","class":"memserver.Store","namespace":null}}`+"\n")

	ts = newTestServer(t, Options{}, HandlerOptions{MaxBody: 1000, MaxKey: 10, Version: "cachectl/1.2.3"})
	ts.do(t, "GET", "/v1/capabilities", nil).expect(t, 200,
		`{"protocol":1,"server":"cachectl/1.2.3","capabilities":["keys","get","set","delete","expire","invalidate","stats","invalidate-chunked","events"],"formats":[],"limits":{"max_body":1000,"max_key":10,"max_count":10000},"store":{"library":"cachectl","class":"memserver.Store","namespace":null}}`+"\n")
	r := ts.do(t, "HEAD", "/v1/capabilities", nil)
	if r.status != 200 || r.body != "" || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("HEAD capabilities: %+v", r)
	}
}

// expectEntry checks a GET or HEAD on an entry.
func expectEntry(t *testing.T, r response, body, ttl, format string) {
	t.Helper()
	if r.status != 200 || r.body != body {
		t.Fatalf("got %d %q, want 200 %q", r.status, r.body, body)
	}
	want := map[string]string{
		"Content-Type":   "application/octet-stream",
		"Content-Length": strconv.Itoa(len(body)),
		"Cache-TTL":      ttl,
		"Cache-Format":   format,
	}
	for name, v := range want {
		if got := r.header.Values(name); v == "" && len(got) != 0 || v != "" && (len(got) != 1 || got[0] != v) {
			t.Errorf("%s: %q, want %q", name, got, v)
		}
	}
}

func TestEntry(t *testing.T) {
	ts := newTestServer(t, Options{}, HandlerOptions{})
	const value = `{"id": 1, "name": "Ada"}`
	ts.do(t, "PUT", "/v1/entry?key=user%3A1&ttl=300", strings.NewReader(value), "Cache-Format", "json").expect(t, 204, "")
	expectEntry(t, ts.do(t, "GET", "/v1/entry?key=user%3A1", nil), value, "300", "json")
	ts.clock.Advance(500 * time.Millisecond)
	expectEntry(t, ts.do(t, "GET", "/v1/entry?key=user%3a1", nil), value, "299.5", "json")
	r := ts.do(t, "HEAD", "/v1/entry?key=user%3A1", nil)
	if r.status != 200 || r.body != "" || r.header.Get("Content-Length") != "24" || r.header.Get("Cache-TTL") != "299.5" {
		t.Fatalf("HEAD: %d %q %v", r.status, r.body, r.header)
	}

	// Replacing drops the old TTL and format.
	ts.do(t, "PUT", "/v1/entry?key=user%3A1", strings.NewReader("plain")).expect(t, 204, "")
	expectEntry(t, ts.do(t, "GET", "/v1/entry?key=user%3A1", nil), "plain", "-1", "")
	ts.do(t, "PUT", "/v1/entry?key=user%3A1&ttl=0", strings.NewReader("")).expect(t, 204, "")
	expectEntry(t, ts.do(t, "GET", "/v1/entry?key=user%3A1", nil), "", "-1", "")

	ts.do(t, "DELETE", "/v1/entry?key=user%3A1", nil).expect(t, 200, `{"deleted":1}`+"\n")
	ts.do(t, "DELETE", "/v1/entry?key=user%3A1", nil).expect(t, 200, `{"deleted":0}`+"\n")
	ts.do(t, "GET", "/v1/entry?key=user%3A1", nil).expect(t, 404, `{"error":"key not found","code":"not_found"}`+"\n")
	r = ts.do(t, "HEAD", "/v1/entry?key=user%3A1", nil)
	if r.status != 404 || r.body != "" || r.header.Get("Cache-Error") != "not_found" {
		t.Fatalf("HEAD of a missing key: %d %q %v", r.status, r.body, r.header)
	}

	// TTLs: fractions, rounding up, expiry.
	ts.do(t, "PUT", "/v1/entry?key=t&ttl=0.0001", strings.NewReader("x")).expect(t, 204, "")
	expectEntry(t, ts.do(t, "GET", "/v1/entry?key=t", nil), "x", "0.001", "")
	ts.do(t, "PUT", "/v1/entry?key=t&ttl=2.25", strings.NewReader("x"), "Cache-Format", "zlib+pickle").expect(t, 204, "")
	expectEntry(t, ts.do(t, "GET", "/v1/entry?key=t", nil), "x", "2.25", "zlib+pickle")
	ts.clock.Advance(2250 * time.Millisecond)
	ts.do(t, "GET", "/v1/entry?key=t", nil).expect(t, 404, `{"error":"key not found","code":"not_found"}`+"\n")
	ts.do(t, "DELETE", "/v1/entry?key=t", nil).expect(t, 200, `{"deleted":0}`+"\n")

	// '+' is a plus, not a space; parameter names may be escaped; unknown
	// parameters are ignored; the first of two values counts.
	ts.do(t, "PUT", "/v1/entry?key=a+b&x=%zz&key=other", strings.NewReader("p")).expect(t, 204, "")
	if _, ok := ts.store.Get("a+b"); !ok {
		t.Fatal(`key "a+b" not stored as such`)
	}
	expectEntry(t, ts.do(t, "GET", "/v1/entry?%6Bey=a%2Bb", nil), "p", "-1", "")
}

func TestExpireEndpoint(t *testing.T) {
	ts := newTestServer(t, Options{}, HandlerOptions{})
	ts.do(t, "PUT", "/v1/entry?key=k", strings.NewReader("v")).expect(t, 204, "")
	ts.do(t, "POST", "/v1/expire?key=k&ttl=10", nil).expect(t, 204, "")
	expectEntry(t, ts.do(t, "GET", "/v1/entry?key=k", nil), "v", "10", "")
	ts.do(t, "POST", "/v1/expire?key=k&ttl=0", nil).expect(t, 204, "")
	expectEntry(t, ts.do(t, "GET", "/v1/entry?key=k", nil), "v", "-1", "")
	ts.do(t, "POST", "/v1/expire?key=k&ttl=1.5", nil).expect(t, 204, "")
	ts.do(t, "POST", "/v1/expire?key=k", nil).expect(t, 204, "") // no ttl: no expiry
	expectEntry(t, ts.do(t, "GET", "/v1/entry?key=k", nil), "v", "-1", "")
	ts.do(t, "POST", "/v1/expire?key=nope&ttl=5", nil).expect(t, 404, `{"error":"key not found","code":"not_found"}`+"\n")
	ts.do(t, "POST", "/v1/expire?key=k&ttl=1", nil).expect(t, 204, "")
	ts.clock.Advance(time.Second)
	ts.do(t, "POST", "/v1/expire?key=k&ttl=5", nil).expect(t, 404, `{"error":"key not found","code":"not_found"}`+"\n")
}

type listedKey struct {
	Key    json.RawMessage `json:"key"`
	TTL    *float64        `json:"ttl"`
	Size   *int            `json:"size"`
	Format string          `json:"format"`
}

type listing struct {
	Keys   []listedKey `json:"keys"`
	Cursor *string     `json:"cursor"`
}

// decodeListing decodes a keys page strictly: no unknown fields, keys,
// cursor, ttl and size always there.
func decodeListing(t *testing.T, r response) listing {
	t.Helper()
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("keys: %d %q", r.status, r.body)
	}
	d := json.NewDecoder(strings.NewReader(r.body))
	d.DisallowUnknownFields()
	var l listing
	if err := d.Decode(&l); err != nil {
		t.Fatalf("keys page %q: %v", r.body, err)
	}
	if l.Keys == nil || l.Cursor == nil || !strings.Contains(r.body, `"keys":[`) {
		t.Fatalf("keys page without keys or cursor: %q", r.body)
	}
	for _, k := range l.Keys {
		if k.Size == nil || !strings.Contains(r.body, `"ttl":`) {
			t.Fatalf("key without size or ttl: %q", r.body)
		}
	}
	return l
}

// keyOf decodes a listed key: a string, or {"$bytes": base64} exactly when
// the key is not UTF-8.
func keyOf(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	var o map[string]string
	if err := json.Unmarshal(raw, &o); err != nil || len(o) != 1 {
		t.Fatalf("key %s is neither a string nor {\"$bytes\"}", raw)
	}
	b, err := base64.StdEncoding.DecodeString(o["$bytes"])
	if err != nil {
		t.Fatalf("key %s: %v", raw, err)
	}
	if utf8.Valid(b) {
		t.Fatalf("UTF-8 key %q sent as $bytes", b)
	}
	return string(b)
}

func TestKeys(t *testing.T) {
	ts := newTestServer(t, Options{}, HandlerOptions{})
	ts.do(t, "GET", "/v1/keys", nil).expect(t, 200, `{"keys":[],"cursor":""}`+"\n")

	_ = ts.store.Set("user:1", make([]byte, 27), 60*time.Second, "")
	_ = ts.store.Set("user:2", make([]byte, 1204), 0, "json")
	_ = ts.store.Set("other", []byte("x"), 0, "")
	ts.clock.Advance(500 * time.Millisecond)

	ts.do(t, "GET", "/v1/keys?match=user%3A1", nil).expect(t, 200,
		`{"keys":[{"key":"user:1","ttl":59.5,"size":27}],"cursor":""}`+"\n")
	ts.do(t, "GET", "/v1/keys?match=user%3A2&count=5", nil).expect(t, 200,
		`{"keys":[{"key":"user:2","ttl":null,"size":1204,"format":"json"}],"cursor":""}`+"\n")
	ts.do(t, "GET", "/v1/keys?match=", nil).expect(t, 200, `{"keys":[],"cursor":""}`+"\n")

	// Page by page, one key wished per page.
	got := map[string]listedKey{}
	cursor := ""
	for pages := 0; ; pages++ {
		l := decodeListing(t, ts.do(t, "GET", "/v1/keys?match=user%3A*&count=1&cursor="+cursor, nil))
		if len(l.Keys) > 1 {
			t.Fatalf("page of %d keys for count=1", len(l.Keys))
		}
		for _, k := range l.Keys {
			got[keyOf(t, k.Key)] = k
		}
		if *l.Cursor == "" {
			break
		}
		cursor = *l.Cursor
		if pages > 1000 {
			t.Fatal("listing does not end")
		}
	}
	if len(got) != 2 || *got["user:1"].TTL != 59.5 || *got["user:1"].Size != 27 || got["user:2"].TTL != nil || got["user:2"].Format != "json" {
		t.Fatalf("user:* listed %+v", got)
	}
	l := decodeListing(t, ts.do(t, "GET", "/v1/keys", nil))
	if len(l.Keys) != 3 || *l.Cursor != "" {
		t.Fatalf("default listing: %d keys, cursor %q", len(l.Keys), *l.Cursor)
	}
	r := ts.do(t, "HEAD", "/v1/keys", nil)
	if r.status != 200 || r.body != "" {
		t.Fatalf("HEAD keys: %d %q", r.status, r.body)
	}
}

func TestBinaryKeys(t *testing.T) {
	ts := newTestServer(t, Options{}, HandlerOptions{})
	keys := []string{"a b/%ff", "a\xffb", "\xc3\x28", "héllo", "user:1", "a+b", "\x00\x01\x7f"}
	for c := range 256 {
		keys = append(keys, string([]byte{byte(c)}), "k:"+string([]byte{byte(c)}))
	}
	for _, k := range keys {
		ts.do(t, "PUT", "/v1/entry?key="+escapeKey(k), strings.NewReader(k)).expect(t, 204, "")
	}
	for _, k := range keys {
		expectEntry(t, ts.do(t, "GET", "/v1/entry?key="+escapeKey(k), nil), k, "-1", "")
	}
	// The protocol's own example: the bytes 61 ff.
	expectEntry(t, ts.do(t, "GET", "/v1/entry?key=a%FFb", nil), "a\xffb", "-1", "")

	r := ts.do(t, "GET", "/v1/keys?count=10000", nil)
	if !strings.Contains(r.body, `{"key":{"$bytes":"/w=="},"ttl":null,"size":1}`) ||
		!strings.Contains(r.body, `{"key":"\u0000","ttl":null,"size":1}`) {
		t.Fatalf("keys 0xff and 0x00 not listed as expected: %s", r.body)
	}
	listed := map[string]int{}
	for _, k := range decodeListing(t, r).Keys {
		listed[keyOf(t, k.Key)]++
	}
	for _, k := range keys {
		if listed[k] != 1 {
			t.Errorf("key %q listed %d times", k, listed[k])
		}
	}
	if len(listed) != len(keys) {
		t.Errorf("%d keys listed, want %d", len(listed), len(keys))
	}

	// Patterns may be bytes too, in the query and in JSON.
	l := decodeListing(t, ts.do(t, "GET", "/v1/keys?match=k%3A%FF", nil))
	if len(l.Keys) != 1 || keyOf(t, l.Keys[0].Key) != "k:\xff" {
		t.Fatalf("match k:\\xff: %+v", l.Keys)
	}
	body := `{"match":[{"$bytes":"` + base64.StdEncoding.EncodeToString([]byte("k:[\x80-\xff]")) + `"}],"dry_run":true}`
	// Redis compares range bounds as signed chars: 0x80..0xff is 128 keys.
	ts.do(t, "POST", "/v1/invalidate", strings.NewReader(body)).expect(t, 200, `{"matched":128,"deleted":0,"cursor":""}`+"\n")
}

func TestInvalidateEndpoint(t *testing.T) {
	ts := newTestServer(t, Options{}, HandlerOptions{})
	for i := range 10 {
		_ = ts.store.Set("user:"+strconv.Itoa(i), nil, 0, "")
	}
	for i := range 5 {
		_ = ts.store.Set("session:"+strconv.Itoa(i), nil, 0, "")
	}
	ts.do(t, "POST", "/v1/invalidate", strings.NewReader(`{"match": ["user:*"], "dry_run": true}`)).
		expect(t, 200, `{"matched":10,"deleted":0,"cursor":""}`+"\n")
	if n := ts.store.Stats().Keys; n != 15 {
		t.Fatalf("dry run left %d keys, want 15", n)
	}
	ts.do(t, "POST", "/v1/invalidate", strings.NewReader(`{"match": ["user:[0-4]", "session:*"], "dry_run": false, "future": 1}`)).
		expect(t, 200, `{"matched":10,"deleted":10,"cursor":""}`+"\n")
	ts.do(t, "POST", "/v1/invalidate", strings.NewReader(`{"match": ["user:5", "user:5", "nope"]}`)).
		expect(t, 200, `{"matched":1,"deleted":1,"cursor":""}`+"\n")
	if n := ts.store.Stats().Keys; n != 4 {
		t.Fatalf("%d keys left, want 4", n)
	}

	const malformed = `{"error":"malformed JSON: want {\"match\": [globs], \"dry_run\": bool}"}` + "\n"
	const empty = `{"error":"match must hold at least one glob"}` + "\n"
	for body, want := range map[string]string{
		``:                                malformed,
		`[`:                               malformed,
		`{"match":["a"]} x`:               malformed,
		`{"match":"user:*"}`:              malformed,
		`{"match":[1]}`:                   malformed,
		`{"match":[null]}`:                malformed,
		`{"match":[{"$bytes":"!!"}]}`:     malformed,
		`{"match":[{"bytes":"YQ=="}]}`:    malformed,
		`{"match":["a"],"dry_run":"yes"}`: malformed,
		`{}`:                              empty,
		`null`:                            empty,
		`{"match":[]}`:                    empty,
		`{"match":null,"dry_run":true}`:   empty,
		`{"match":[{"$bytes":"YQ=="}],"dry_run":1}`: malformed,
	} {
		ts.do(t, "POST", "/v1/invalidate", strings.NewReader(body)).expect(t, 400, want)
	}
}

func TestStatsEndpoint(t *testing.T) {
	ts := newTestServer(t, Options{MaxMemory: 1 << 20}, HandlerOptions{Version: "cachectl/0.4.0"})
	ts.do(t, "PUT", "/v1/entry?key=k1&ttl=1", strings.NewReader("abc")).expect(t, 204, "")
	ts.do(t, "PUT", "/v1/entry?key=k2", strings.NewReader("abcd")).expect(t, 204, "")
	ts.do(t, "GET", "/v1/entry?key=k2", nil)
	ts.do(t, "GET", "/v1/entry?key=zz", nil)
	ts.clock.Advance(3600 * time.Second)
	ts.do(t, "GET", "/v1/entry?key=k1", nil) // expired: a miss
	ts.do(t, "GET", "/v1/stats", nil).expect(t, 200, fmt.Sprintf(
		`{"keys":1,"bytes":%d,"max_bytes":1048576,"hits":1,"misses":2,"evictions":0,"expired":1,"uptime_s":3600,"version":"cachectl/0.4.0"}`+"\n",
		2+4+entryOverhead))
}

func TestAuth(t *testing.T) {
	ts := newTestServer(t, Options{}, HandlerOptions{Token: "s3cret"})
	const denied = `{"error":"missing or wrong token"}` + "\n"
	for _, auth := range []string{"", "s3cret", "Bearer", "Bearer ", "Bearer s3cre", "Bearer s3cret2", "Basic czNjcmV0", "Bearers3cret"} {
		ts.token = ""
		r := ts.do(t, "GET", "/v1/capabilities", nil, "Authorization", auth)
		r.expect(t, 401, denied)
		if got := r.header.Get("WWW-Authenticate"); got != "Bearer" {
			t.Errorf("WWW-Authenticate %q", got)
		}
	}
	// Authentication comes first, before routing and before any write.
	ts.do(t, "GET", "/v1/nope", nil).expect(t, 401, denied)
	ts.do(t, "PUT", "/v1/entry?key=k", strings.NewReader("v")).expect(t, 401, denied)
	if ts.store.Stats().Keys != 0 {
		t.Fatal("an unauthorized PUT stored something")
	}

	ts.token = "s3cret"
	ts.do(t, "PUT", "/v1/entry?key=k", strings.NewReader("v")).expect(t, 204, "")
	ts.token = ""
	expectEntry(t, ts.do(t, "GET", "/v1/entry?key=k", nil, "Authorization", "bearer  s3cret"), "v", "-1", "")

	// Without a token every request is served, whatever it carries.
	open := newTestServer(t, Options{}, HandlerOptions{})
	if r := open.do(t, "GET", "/v1/stats", nil, "Authorization", "Bearer whatever"); r.status != 200 {
		t.Fatalf("no-token server: %d", r.status)
	}
}

// unsized hides a reader's length, so the client sends the body chunked.
type unsized struct{ io.Reader }

func TestLimits(t *testing.T) {
	ts := newTestServer(t, Options{MaxMemory: 4 * (entryOverhead + 110)}, HandlerOptions{MaxBody: 100, MaxKey: 10})
	const bigBody = `{"error":"body larger than 100 bytes"}` + "\n"
	ok, over := strings.Repeat("x", 100), strings.Repeat("x", 101)
	ts.do(t, "PUT", "/v1/entry?key=k", strings.NewReader(ok)).expect(t, 204, "")
	ts.do(t, "PUT", "/v1/entry?key=k", strings.NewReader(over)).expect(t, 413, bigBody)
	ts.do(t, "PUT", "/v1/entry?key=k", unsized{strings.NewReader(ok)}).expect(t, 204, "")
	ts.do(t, "PUT", "/v1/entry?key=k", unsized{strings.NewReader(over)}).expect(t, 413, bigBody)
	ts.do(t, "POST", "/v1/invalidate", strings.NewReader(`{"match":["`+over+`"]}`)).expect(t, 413, bigBody)

	const bigKey = `{"error":"key larger than 10 bytes"}` + "\n"
	ts.do(t, "PUT", "/v1/entry?key=0123456789", strings.NewReader("v")).expect(t, 204, "")
	ts.do(t, "GET", "/v1/entry?key=0123456789", nil).expect(t, 200, "v")
	for _, m := range []string{"GET", "PUT", "DELETE", "HEAD"} {
		r := ts.do(t, m, "/v1/entry?key=0123456789a", strings.NewReader("v"))
		if m == "HEAD" {
			r.expect(t, 413, "")
		} else {
			r.expect(t, 413, bigKey)
		}
	}
	ts.do(t, "POST", "/v1/expire?key=%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF", nil).expect(t, 413, bigKey)

	tiny := newTestServer(t, Options{MaxMemory: entryOverhead + 50}, HandlerOptions{})
	tiny.do(t, "PUT", "/v1/entry?key=k", strings.NewReader(strings.Repeat("x", 100))).
		expect(t, 413, `{"error":"entry larger than the server's max memory"}`+"\n")
}

func TestBadRequests(t *testing.T) {
	ts := newTestServer(t, Options{}, HandlerOptions{})
	_ = ts.store.Set("k", []byte("v"), 0, "")
	const (
		missingKey = `{"error":"missing key"}` + "\n"
		badQuery   = `{"error":"malformed query"}` + "\n"
		badTTL     = `{"error":"bad ttl: want non-negative decimal seconds"}` + "\n"
		badCount   = `{"error":"bad count: want 1 to 10000"}` + "\n"
		badCursor  = `{"error":"bad cursor"}` + "\n"
		badFormat  = `{"error":"bad Cache-Format"}` + "\n"
	)
	cases := []struct{ method, target, want string }{
		{"GET", "/v1/entry", missingKey},
		{"GET", "/v1/entry?key=", missingKey},
		{"GET", "/v1/entry?key", missingKey},
		{"GET", "/v1/entry?kex=k", missingKey},
		{"DELETE", "/v1/entry", missingKey},
		{"PUT", "/v1/entry?ttl=5", missingKey},
		{"POST", "/v1/expire?ttl=5", missingKey},
		{"GET", "/v1/entry?key=%zz", badQuery},
		{"GET", "/v1/entry?key=a%4", badQuery},
		{"GET", "/v1/entry?key=a%", badQuery},
		{"GET", "/v1/keys?match=%g0", badQuery},
		{"GET", "/v1/keys?cursor=%", badQuery},
		{"GET", "/v1/keys?count=%", badQuery},
		{"PUT", "/v1/entry?key=k&ttl=%", badQuery},
	}
	for _, ttl := range []string{"-1", "abc", "1e3", "NaN", "Inf", ".", "1.2.3", "+5", "%205", "0x10", "1_000", "5s"} {
		cases = append(cases,
			struct{ method, target, want string }{"PUT", "/v1/entry?key=k&ttl=" + ttl, badTTL},
			struct{ method, target, want string }{"POST", "/v1/expire?key=k&ttl=" + ttl, badTTL})
	}
	for _, count := range []string{"0", "10001", "abc", "-1", "1.5", "99999999999999999999", "+5"} {
		cases = append(cases, struct{ method, target, want string }{"GET", "/v1/keys?count=" + count, badCount})
	}
	for _, cursor := range []string{"abc", "-1", "1.0", "18446744073709551616", "%201"} {
		cases = append(cases, struct{ method, target, want string }{"GET", "/v1/keys?cursor=" + cursor, badCursor})
	}
	for _, c := range cases {
		ts.do(t, c.method, c.target, strings.NewReader("v")).expect(t, 400, c.want)
	}
	for _, f := range []string{"a b", strings.Repeat("j", 257), "a\tb", "é"} {
		ts.do(t, "PUT", "/v1/entry?key=k", strings.NewReader("v"), "Cache-Format", f).expect(t, 400, badFormat)
	}
	// An empty ttl, count or cursor is the same as none.
	ts.do(t, "PUT", "/v1/entry?key=k&ttl=", strings.NewReader("v")).expect(t, 204, "")
	ts.do(t, "GET", "/v1/keys?count=&cursor=", nil).expect(t, 200, `{"keys":[{"key":"k","ttl":null,"size":1}],"cursor":""}`+"\n")
	if e, _ := ts.store.Get("k"); string(e.Value) != "v" {
		t.Fatal("a bad request changed the stored value")
	}
}

func TestMethodNotAllowed(t *testing.T) {
	ts := newTestServer(t, Options{}, HandlerOptions{})
	cases := map[string][]string{
		"/v1/entry?key=k":  {"POST", "PATCH", "OPTIONS"},
		"/v1/keys":         {"POST", "PUT", "DELETE"},
		"/v1/expire?key=k": {"GET", "PUT", "HEAD"},
		"/v1/invalidate":   {"GET", "PUT", "DELETE"},
		"/v1/stats":        {"POST", "DELETE"},
		"/v1/capabilities": {"POST", "PUT"},
	}
	allow := map[string]string{
		"/v1/entry?key=k":  "GET, HEAD, PUT, DELETE",
		"/v1/keys":         "GET, HEAD",
		"/v1/expire?key=k": "POST",
		"/v1/invalidate":   "POST",
		"/v1/stats":        "GET, HEAD",
		"/v1/capabilities": "GET, HEAD",
	}
	for target, methods := range cases {
		for _, m := range methods {
			r := ts.do(t, m, target, nil)
			if m == "HEAD" {
				r.expect(t, 405, "")
			} else {
				r.expect(t, 405, `{"error":"method not allowed"}`+"\n")
			}
			if got := r.header.Get("Allow"); got != allow[target] {
				t.Errorf("%s %s: Allow %q, want %q", m, target, got, allow[target])
			}
		}
	}
}

func TestUnknownEndpoint(t *testing.T) {
	ts := newTestServer(t, Options{}, HandlerOptions{})
	for _, p := range []string{"/", "/v1", "/v1/", "/v1/entry/", "/v1/Entry", "/v2/entry?key=k", "/v1/entry/x", "/_cache/v1/stats", "/v1/stats.json"} {
		ts.do(t, "GET", p, nil).expect(t, 404, `{"error":"unknown endpoint","code":"unknown_endpoint"}`+"\n")
		// HEAD answers have no body: the header carries the code.
		if r := ts.do(t, "HEAD", p, nil); r.status != 404 || r.header.Get("Cache-Error") != "unknown_endpoint" {
			t.Errorf("HEAD %s: %d %v", p, r.status, r.header)
		}
	}
}

// The handler works under a base path by http.StripPrefix, as docs/http-protocol.md's
// {base}/v1/... asks.
func TestBasePath(t *testing.T) {
	s := NewStore(Options{})
	srv := httptest.NewServer(http.StripPrefix("/_cache", NewHandler(s, HandlerOptions{})))
	defer srv.Close()
	ts := &testServer{Server: srv, store: s}
	ts.do(t, "PUT", "/_cache/v1/entry?key=a%2Fb", strings.NewReader("v")).expect(t, 204, "")
	expectEntry(t, ts.do(t, "GET", "/_cache/v1/entry?key=a%2Fb", nil), "v", "-1", "")
	ts.do(t, "GET", "/_cache/v1/keys", nil).expect(t, 200, `{"keys":[{"key":"a/b","ttl":null,"size":1}],"cursor":""}`+"\n")
	ts.do(t, "GET", "/_cache/v1/nope", nil).expect(t, 404, `{"error":"unknown endpoint","code":"unknown_endpoint"}`+"\n")
}

func TestAccessLog(t *testing.T) {
	lines := make(chan string, 10)
	logf := func(format string, args ...any) { lines <- fmt.Sprintf(format, args...) }
	ts := newTestServer(t, Options{}, HandlerOptions{Token: "tok-SECRET", Log: logf})
	ts.do(t, "PUT", "/v1/entry?key=private-key", strings.NewReader("hello")).expect(t, 204, "")
	ts.do(t, "GET", "/v1/entry?key=private-key", nil)
	ts.token = "wrong"
	ts.do(t, "GET", "/v1/stats", nil)
	for _, want := range []string{`PUT "/v1/entry" 204 0 `, `GET "/v1/entry" 200 5 `, `GET "/v1/stats" 401 35 `} {
		line := <-lines // the handler logs after answering: wait for it
		if !strings.HasPrefix(line, want) {
			t.Errorf("log line %q, want prefix %q", line, want)
		}
		if strings.Contains(line, "SECRET") || strings.Contains(line, "wrong") || strings.Contains(line, "private") {
			t.Errorf("log line %q leaks the token or the key", line)
		}
	}
}

func TestHTTPEviction(t *testing.T) {
	size := int64(3+100) + entryOverhead
	ts := newTestServer(t, Options{MaxMemory: 10 * size}, HandlerOptions{})
	val := strings.Repeat("v", 100)
	for i := range 10 {
		ts.do(t, "PUT", fmt.Sprintf("/v1/entry?key=k%02d", i), strings.NewReader(val)).expect(t, 204, "")
	}
	ts.do(t, "GET", "/v1/entry?key=k00", nil).expect(t, 200, val)
	ts.do(t, "PUT", "/v1/entry?key=k10", strings.NewReader(val)).expect(t, 204, "")
	ts.do(t, "GET", "/v1/entry?key=k01", nil).expect(t, 404, `{"error":"key not found","code":"not_found"}`+"\n")
	for _, k := range []string{"k00", "k02", "k09", "k10"} {
		ts.do(t, "GET", "/v1/entry?key="+k, nil).expect(t, 200, val)
	}
	if st := ts.store.Stats(); st.Evictions != 1 || st.Keys != 10 {
		t.Fatalf("stats %+v", st)
	}
}

// Listing a 100k-key store over HTTP while keys come and go: every key
// present throughout is listed.
func TestHTTPListingUnderChurn(t *testing.T) {
	ts := newTestServer(t, Options{}, HandlerOptions{})
	const stable = 100_000
	for i := range stable {
		_ = ts.store.Set("s:"+strconv.Itoa(i), nil, 0, "")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(3, 4))
		for i := 0; ctx.Err() == nil; i++ {
			k := "c:" + strconv.Itoa(r.IntN(100_000))
			if r.IntN(2) == 0 {
				_ = ts.store.Set(k, nil, 0, "")
			} else {
				ts.store.Delete(k)
			}
		}
	}()
	defer func() { cancel(); wg.Wait() }()

	seen := make([]bool, stable)
	cursor := ""
	for page := 0; ; page++ {
		if page == 3 {
			for i := range 100_000 { // grow every table mid-listing
				_ = ts.store.Set("burst:"+strconv.Itoa(i), nil, 0, "")
			}
		}
		l := decodeListing(t, ts.do(t, "GET", "/v1/keys?count=10000&cursor="+cursor, nil))
		if len(l.Keys) > 10000 {
			t.Fatalf("page of %d keys", len(l.Keys))
		}
		for _, k := range l.Keys {
			if n, ok := strings.CutPrefix(keyOf(t, k.Key), "s:"); ok {
				i, err := strconv.Atoi(n)
				if err != nil {
					t.Fatal(err)
				}
				seen[i] = true
			}
		}
		if *l.Cursor == "" {
			break
		}
		cursor = *l.Cursor
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("s:%d never listed", i)
		}
	}
}

// Requests of every kind at once through the handler, under -race.
func TestHandlerConcurrent(t *testing.T) {
	ts := newTestServer(t, Options{MaxMemory: 64 << 10}, HandlerOptions{})
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 200 {
				k := "k" + strconv.Itoa(r.IntN(50))
				var resp response
				switch r.IntN(6) {
				case 0:
					resp = ts.do(t, "PUT", "/v1/entry?ttl=5&key="+k, bytes.NewReader(make([]byte, r.IntN(2000))))
				case 1:
					resp = ts.do(t, "DELETE", "/v1/entry?key="+k, nil)
				case 2:
					resp = ts.do(t, "GET", "/v1/keys?count=10&match=k1*", nil)
				case 3:
					resp = ts.do(t, "POST", "/v1/invalidate", strings.NewReader(`{"match":["k4*"],"dry_run":true}`))
				case 4:
					resp = ts.do(t, "GET", "/v1/stats", nil)
				default:
					resp = ts.do(t, "GET", "/v1/entry?key="+k, nil)
				}
				if resp.status >= 500 {
					t.Errorf("status %d: %s", resp.status, resp.body)
				}
			}
		}()
	}
	wg.Wait()
	checkInvariants(t, ts.store)
}
