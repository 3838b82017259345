package memserver

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestBrowserSafety: without a token, only loopback Host names are served
// (DNS rebinding); with or without one, browsers' cross-origin requests are
// refused, and invalidate takes only a JSON body (no HTML form can send one).
func TestBrowserSafety(t *testing.T) {
	ts := newTestServer(t, Options{}, HandlerOptions{AllowedHosts: []string{"cache.internal"}})
	fill := func() {
		for _, k := range []string{"a", "b", "c"} {
			_ = ts.store.Set(k, []byte("v"), 0, "")
		}
	}
	fill()
	send := func(method, target, host, body string, headers ...string) response {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+target, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return response{resp.StatusCode, resp.Header, string(b)}
	}
	const rebinding = `{"error":"this cache answers only to a loopback host name without a token (DNS rebinding protection); use 127.0.0.1 or localhost"}` + "\n"
	const cross = `{"error":"cross-origin requests are refused (a web page may not drive this cache)"}` + "\n"
	const notJSON = `{"error":"the body must be sent as Content-Type: application/json"}` + "\n"
	inv := `{"match":["*"]}`

	for _, host := range []string{"evil.example", "evil.example:8750", "127.0.0.1.evil.example", "localhost.evil.example", "10.1.2.3"} {
		send("GET", "/v1/keys", host, "").expect(t, 421, rebinding)
		send("POST", "/v1/invalidate", host, inv, "Content-Type", "application/json").expect(t, 421, rebinding)
	}
	for _, host := range []string{"localhost", "LOCALHOST:9", "127.0.0.1", "127.0.0.1:1", "[::1]", "[::1]:8750", "cache.internal:80", "Cache.Internal"} {
		if r := send("GET", "/v1/stats", host, ""); r.status != 200 {
			t.Errorf("Host %q: %d %s", host, r.status, r.body)
		}
	}
	origin := "http://" + strings.TrimPrefix(ts.URL, "http://")
	for _, h := range [][]string{
		{"Origin", "https://evil.example"},
		{"Origin", "null"},
		{"Origin", "http://localhost"}, // another local origin is another site
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
	} {
		send("POST", "/v1/invalidate", "", inv, append([]string{"Content-Type", "application/json"}, h...)...).expect(t, 403, cross)
		send("POST", "/v1/expire?key=a&ttl=1", "", "", h...).expect(t, 403, cross)
		send("GET", "/v1/entry?key=a", "", "", h...).expect(t, 403, cross)
	}
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"} {
		send("POST", "/v1/invalidate", "", inv, "Content-Type", ct).expect(t, 415, notJSON)
	}
	if n := ts.store.Stats().Keys; n != 3 {
		t.Fatalf("refused requests deleted keys: %d left", n)
	}
	// The same origin, and what cachectl itself sends, work.
	if r := send("GET", "/v1/entry?key=a", "", "", "Origin", origin, "Sec-Fetch-Site", "same-origin"); r.status != 200 {
		t.Fatalf("same origin: %d %s", r.status, r.body)
	}
	send("POST", "/v1/invalidate", "", inv, "Content-Type", "application/json; charset=utf-8").expect(t, 200, `{"matched":3,"deleted":3,"cursor":""}`+"\n")

	// With a token the Host is not checked (a browser cannot send the
	// token cross-site), but cross-origin requests still are.
	tok := newTestServer(t, Options{}, HandlerOptions{Token: "t0ken"})
	ts = tok
	fill()
	auth := []string{"Authorization", "Bearer t0ken"}
	if r := send("GET", "/v1/stats", "cache.example.com", "", auth...); r.status != 200 {
		t.Fatalf("token, other host: %d %s", r.status, r.body)
	}
	send("POST", "/v1/invalidate", "", inv, append([]string{"Content-Type", "application/json", "Origin", "https://evil.example"}, auth...)...).expect(t, 403, cross)
	send("POST", "/v1/invalidate", "", inv, append([]string{"Content-Type", "text/plain"}, auth...)...).expect(t, 415, notJSON)
	if n := ts.store.Stats().Keys; n != 3 {
		t.Fatalf("refused requests deleted keys: %d left", n)
	}
}
