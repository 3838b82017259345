package memserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	// DefaultMaxBody and DefaultMaxKey are the limits NewHandler uses when
	// HandlerOptions leaves them at 0.
	DefaultMaxBody = 16 << 20
	DefaultMaxKey  = 64 << 10
	// DefaultVersion names the server when HandlerOptions.Version is empty.
	DefaultVersion = "cachectl/dev"

	// maxFormat bounds Cache-Format: it is stored with every entry and sent
	// back in a header.
	maxFormat = 256

	// DefaultChunkBudget bounds the time one chunked invalidate request
	// spends deleting, so that its answer comes well within a client's
	// timeout however many keys match.
	DefaultChunkBudget = 50 * time.Millisecond
)

// HandlerOptions configure NewHandler.
type HandlerOptions struct {
	// Token, when not empty, is required as "Authorization: Bearer TOKEN".
	Token string
	// MaxBody bounds request bodies in bytes (0: DefaultMaxBody).
	MaxBody int64
	// MaxKey bounds keys in bytes (0: DefaultMaxKey).
	MaxKey int
	// Version is the "server" and "version" field (empty: DefaultVersion).
	Version string
	// Log, when not nil, gets one access-log line per request: method,
	// path, status, response bytes and duration (never headers, so never
	// the token, nor the query, which holds keys).
	Log func(format string, args ...any)
	// AllowedHosts are Host names accepted without a token besides loopback
	// names and addresses and the address the request came in on (host or
	// host:port; see "Browser safety" in docs/http-protocol.md).
	AllowedHosts []string
	// ChunkBudget bounds the time of one chunked invalidate request (0:
	// DefaultChunkBudget).
	ChunkBudget time.Duration
	// Stop, when closed, ends every event stream, so that a graceful
	// shutdown (http.Server.RegisterOnShutdown) does not wait for them.
	Stop <-chan struct{}
	// EventBuffer is how many events one stream may fall behind before it
	// gets a gap instead (0: DefaultEventBuffer).
	EventBuffer int
}

type handler struct {
	store    *Store
	maxBody  int64
	maxKey   int
	version  string
	log      func(format string, args ...any)
	hasToken bool
	tokenSum [sha256.Size]byte
	hosts    map[string]bool // AllowedHosts, lower-case, ports stripped
	budget   time.Duration
	stop     <-chan struct{}
	// eventBuffer bounds each event stream's backlog.
	eventBuffer int

	capabilities []byte // the constant GET /v1/capabilities body
	// Header values shared by every response that uses them (net/http only
	// reads them), so the GET path does not allocate them.
	octetStream, jsonType, noExpiry []string
}

// NewHandler serves the HTTP cache protocol v1 (docs/http-protocol.md) for
// store at /v1/...; to serve it under a base path, wrap it in
// http.StripPrefix.
func NewHandler(store *Store, opts HandlerOptions) http.Handler {
	h := &handler{
		store:       store,
		maxBody:     opts.MaxBody,
		maxKey:      opts.MaxKey,
		version:     opts.Version,
		log:         opts.Log,
		hasToken:    opts.Token != "",
		tokenSum:    sha256.Sum256([]byte(opts.Token)),
		octetStream: []string{"application/octet-stream"},
		jsonType:    []string{"application/json"},
		noExpiry:    []string{"-1"},
		hosts:       map[string]bool{},
		budget:      opts.ChunkBudget,
		stop:        opts.Stop,
		eventBuffer: opts.EventBuffer,
	}
	for _, a := range opts.AllowedHosts {
		h.hosts[hostOnly(a)] = true
	}
	if h.budget <= 0 {
		h.budget = DefaultChunkBudget
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBody
	}
	if h.maxKey <= 0 {
		h.maxKey = DefaultMaxKey
	}
	if h.version == "" {
		h.version = DefaultVersion
	}
	// Structs, not maps, keep the fields in the order the protocol shows.
	type limits struct {
		MaxBody  int64 `json:"max_body"`
		MaxKey   int   `json:"max_key"`
		MaxCount int   `json:"max_count"`
	}
	type storeInfo struct {
		Library   string  `json:"library"`
		Class     string  `json:"class"`
		Namespace *string `json:"namespace"`
	}
	caps, err := json.Marshal(struct {
		Protocol     int       `json:"protocol"`
		Server       string    `json:"server"`
		Capabilities []string  `json:"capabilities"`
		Formats      []string  `json:"formats"`
		Limits       limits    `json:"limits"`
		Store        storeInfo `json:"store"`
	}{
		Protocol:     1,
		Server:       h.version,
		Capabilities: []string{"keys", "get", "set", "delete", "expire", "invalidate", "stats", CapInvalidateChunked, CapEvents},
		Formats:      []string{},
		Limits:       limits{h.maxBody, h.maxKey, MaxCount},
		Store:        storeInfo{Library: "cachectl", Class: "memserver.Store"},
	})
	if err != nil {
		panic(err) // constant shapes of strings and numbers cannot fail
	}
	h.capabilities = append(caps, '\n')
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.log != nil {
		lw := &logWriter{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		defer func() {
			h.log("%s %q %d %d %s", r.Method, r.URL.Path, lw.status, lw.bytes, time.Since(start))
		}()
		w = lw
	}
	if !h.hasToken && !h.allowedHost(r) {
		h.fail(w, http.StatusMisdirectedRequest, "this cache answers only to a loopback host name without a token (DNS rebinding protection); use 127.0.0.1 or localhost")
		return
	}
	if crossOrigin(r) {
		h.fail(w, http.StatusForbidden, "cross-origin requests are refused (a web page may not drive this cache)")
		return
	}
	if h.hasToken && !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		h.fail(w, http.StatusUnauthorized, "missing or wrong token")
		return
	}
	switch r.URL.Path {
	case "/v1/entry":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			h.getEntry(w, r)
		case http.MethodPut:
			h.putEntry(w, r)
		case http.MethodDelete:
			h.deleteEntry(w, r)
		default:
			h.notAllowed(w, "GET, HEAD, PUT, DELETE")
		}
	case "/v1/keys":
		if h.method(w, r, "GET, HEAD", http.MethodGet, http.MethodHead) {
			h.keys(w, r)
		}
	case "/v1/expire":
		if h.method(w, r, "POST", http.MethodPost) {
			h.expire(w, r)
		}
	case "/v1/invalidate":
		if h.method(w, r, "POST", http.MethodPost) {
			h.invalidate(w, r)
		}
	case "/v1/stats":
		if h.method(w, r, "GET, HEAD", http.MethodGet, http.MethodHead) {
			h.stats(w)
		}
	case "/v1/events":
		if h.method(w, r, "GET", http.MethodGet) {
			h.events(w, r)
		}
	case "/v1/capabilities":
		if h.method(w, r, "GET, HEAD", http.MethodGet, http.MethodHead) {
			h.writeJSON(w, http.StatusOK, h.capabilities)
		}
	default:
		h.failCode(w, http.StatusNotFound, CodeUnknownEndpoint, "unknown endpoint")
	}
}

// CapInvalidateChunked is the capability of POST /v1/invalidate with
// "limit" and "cursor": bounded steps with exact counts.
const CapInvalidateChunked = "invalidate-chunked"

// allowedHost is the DNS rebinding check: a page on evil.example whose name
// now resolves to 127.0.0.1 still sends "Host: evil.example".
func (h *handler) allowedHost(r *http.Request) bool {
	host := hostOnly(r.Host)
	switch {
	case host == "":
		return false
	case host == "localhost" || h.hosts[host]:
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	// The address the connection came in on names this server, whatever it is.
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if tcp, ok := local.(*net.TCPAddr); ok && tcp.IP.Equal(ip) {
		return true
	}
	return false
}

// hostOnly lower-cases a Host value and drops its port and a final dot.
func hostOnly(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), ".")
	return strings.ToLower(host)
}

// crossOrigin reports a request a browser sent on behalf of another site's
// page. cachectl and scripts send neither header; a page served by this very
// origin (none is) would send its own origin.
func crossOrigin(r *http.Request) bool {
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("Sec-Fetch-Site"))) {
	case "cross-site", "same-site":
		return true
	}
	origins := r.Header.Values("Origin")
	if len(origins) == 0 {
		return false
	}
	if len(origins) > 1 {
		return true
	}
	o := strings.ToLower(strings.TrimSpace(origins[0]))
	host := strings.ToLower(r.Host)
	return host == "" || (o != "http://"+host && o != "https://"+host)
}

// authorized compares digests of the tokens, in constant time: comparing the
// tokens themselves would leak the configured token's length.
func (h *handler) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], h.tokenSum[:]) == 1
}

func (h *handler) method(w http.ResponseWriter, r *http.Request, allow string, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	h.notAllowed(w, allow)
	return false
}

func (h *handler) notAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	h.fail(w, http.StatusMethodNotAllowed, "method not allowed")
}

func (h *handler) getEntry(w http.ResponseWriter, r *http.Request) {
	key, ok := h.key(w, r)
	if !ok {
		return
	}
	e, found := h.store.Get(key)
	if !found {
		h.failCode(w, http.StatusNotFound, CodeNotFound, "key not found")
		return
	}
	// One backing array for the per-response header values.
	vals := make([]string, 3)
	vals[0] = strconv.Itoa(len(e.Value))
	hd := w.Header()
	hd["Content-Type"] = h.octetStream
	hd["Content-Length"] = vals[0:1:1]
	if e.TTL == NoExpiry {
		hd["Cache-Ttl"] = h.noExpiry
	} else {
		vals[1] = string(appendSeconds(nil, e.TTL))
		hd["Cache-Ttl"] = vals[1:2:2]
	}
	if e.Format != "" {
		vals[2] = e.Format
		hd["Cache-Format"] = vals[2:3:3]
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(e.Value) // a client gone mid-body is not ours to report
	}
}

func (h *handler) putEntry(w http.ResponseWriter, r *http.Request) {
	key, ttl, ok := h.keyTTL(w, r)
	if !ok {
		return
	}
	format := r.Header.Get("Cache-Format")
	if !validFormat(format) {
		h.fail(w, http.StatusBadRequest, "bad Cache-Format")
		return
	}
	body, ok := h.body(w, r)
	if !ok {
		return
	}
	if err := h.store.Set(key, body, ttl, format); err != nil {
		h.fail(w, http.StatusRequestEntityTooLarge, "entry larger than the server's max memory")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) deleteEntry(w http.ResponseWriter, r *http.Request) {
	key, ok := h.key(w, r)
	if !ok {
		return
	}
	body := []byte("{\"deleted\":0}\n")
	if h.store.Delete(key) {
		body[11] = '1'
	}
	h.writeJSON(w, http.StatusOK, body)
}

func (h *handler) expire(w http.ResponseWriter, r *http.Request) {
	key, ttl, ok := h.keyTTL(w, r)
	if !ok {
		return
	}
	if !h.store.Expire(key, ttl) {
		h.failCode(w, http.StatusNotFound, CodeNotFound, "key not found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) keys(w http.ResponseWriter, r *http.Request) {
	q := r.URL.RawQuery
	match, found, err := queryParam(q, "match")
	if err != nil {
		h.fail(w, http.StatusBadRequest, "malformed query")
		return
	}
	if !found {
		match = "*"
	}
	cursor, _, err := queryParam(q, "cursor")
	if err != nil {
		h.fail(w, http.StatusBadRequest, "malformed query")
		return
	}
	count := DefaultCount
	c, _, err := queryParam(q, "count")
	if err != nil {
		h.fail(w, http.StatusBadRequest, "malformed query")
		return
	}
	if c != "" {
		var ok bool
		if count, ok = parseCount(c); !ok {
			h.fail(w, http.StatusBadRequest, "bad count: want 1 to "+strconv.Itoa(MaxCount))
			return
		}
	}
	keys, next, err := h.store.Scan(cursor, match, count)
	if err != nil {
		h.fail(w, http.StatusBadRequest, "bad cursor")
		return
	}
	b := make([]byte, 0, 64+len(keys)*48)
	b = append(b, `{"keys":[`...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"key":`...)
		b = appendJSONKey(b, k.Key)
		b = append(b, `,"ttl":`...)
		if k.TTL == NoExpiry {
			b = append(b, "null"...)
		} else {
			b = appendSeconds(b, k.TTL)
		}
		b = append(b, `,"size":`...)
		b = strconv.AppendInt(b, int64(k.Size), 10)
		if k.Format != "" {
			b = append(b, `,"format":`...)
			b = appendJSONKey(b, k.Format)
		}
		b = append(b, '}')
	}
	b = append(b, `],"cursor":`...)
	b = appendJSONString(b, next)
	b = append(b, "}\n"...)
	h.writeJSON(w, http.StatusOK, b)
}

// invalidateRequest is POST /v1/invalidate's body; patterns, like keys, are
// strings or {"$bytes": base64}. Limit > 0 asks for one bounded step from
// Cursor (capability invalidate-chunked).
type invalidateRequest struct {
	Match  []jsonBytes `json:"match"`
	DryRun bool        `json:"dry_run"`
	Limit  *int64      `json:"limit"`
	Cursor string      `json:"cursor"`
}

func (h *handler) invalidate(w http.ResponseWriter, r *http.Request) {
	// A JSON body cannot come from a cross-site HTML form, which can only
	// send text/plain, urlencoded or multipart bodies without a preflight.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		h.fail(w, http.StatusUnsupportedMediaType, "the body must be sent as Content-Type: application/json")
		return
	}
	body, ok := h.body(w, r)
	if !ok {
		return
	}
	var req invalidateRequest
	if err := json.Unmarshal(body, &req); err != nil {
		h.fail(w, http.StatusBadRequest, "malformed JSON: want {\"match\": [globs], \"dry_run\": bool}")
		return
	}
	if len(req.Match) == 0 {
		h.fail(w, http.StatusBadRequest, "match must hold at least one glob")
		return
	}
	patterns := make([]string, len(req.Match))
	for i, p := range req.Match {
		patterns[i] = string(p)
	}
	var (
		matched, deleted int64
		next             string
		err              error
	)
	switch {
	case req.Limit == nil && req.Cursor == "":
		matched, deleted, err = h.store.Invalidate(r.Context(), patterns, req.DryRun)
	case req.Limit == nil || *req.Limit < 1:
		h.fail(w, http.StatusBadRequest, "limit must be a positive number of keys")
		return
	default:
		limit := int(min(*req.Limit, 1<<30))
		matched, deleted, next, err = h.store.InvalidateChunk(r.Context(), patterns, req.DryRun, req.Cursor, limit, h.budget)
		if errors.Is(err, ErrBadCursor) {
			h.fail(w, http.StatusBadRequest, "bad cursor")
			return
		}
	}
	if err != nil {
		h.fail(w, http.StatusInternalServerError, "invalidate interrupted: "+err.Error())
		return
	}
	b := append([]byte(`{"matched":`), strconv.FormatInt(matched, 10)...)
	b = append(b, `,"deleted":`...)
	b = strconv.AppendInt(b, deleted, 10)
	b = append(b, `,"cursor":`...)
	b = appendJSONString(b, next)
	b = append(b, "}\n"...)
	h.writeJSON(w, http.StatusOK, b)
}

func (h *handler) stats(w http.ResponseWriter) {
	st := h.store.Stats()
	b, err := json.Marshal(struct {
		Keys      int64  `json:"keys"`
		Bytes     int64  `json:"bytes"`
		MaxBytes  int64  `json:"max_bytes"`
		Hits      int64  `json:"hits"`
		Misses    int64  `json:"misses"`
		Evictions int64  `json:"evictions"`
		Expired   int64  `json:"expired"`
		Uptime    int64  `json:"uptime_s"`
		Version   string `json:"version"`
	}{st.Keys, st.Bytes, st.MaxBytes, st.Hits, st.Misses, st.Evictions, st.Expired, int64(st.Uptime / time.Second), h.version})
	if err != nil {
		h.fail(w, http.StatusInternalServerError, "encoding stats failed")
		return
	}
	h.writeJSON(w, http.StatusOK, append(b, '\n'))
}

// key reads the required key parameter, answering the error itself.
func (h *handler) key(w http.ResponseWriter, r *http.Request) (string, bool) {
	key, _, err := queryParam(r.URL.RawQuery, "key")
	switch {
	case err != nil:
		h.fail(w, http.StatusBadRequest, "malformed query")
	case key == "":
		h.fail(w, http.StatusBadRequest, "missing key")
	case len(key) > h.maxKey:
		h.fail(w, http.StatusRequestEntityTooLarge, "key larger than "+strconv.Itoa(h.maxKey)+" bytes")
	default:
		return key, true
	}
	return "", false
}

// ttl reads the optional ttl parameter (absent or empty: 0, no expiry).
func (h *handler) ttl(w http.ResponseWriter, r *http.Request) (time.Duration, bool) {
	s, _, err := queryParam(r.URL.RawQuery, "ttl")
	if err != nil {
		h.fail(w, http.StatusBadRequest, "malformed query")
		return 0, false
	}
	d, ok := parseSeconds(s)
	if !ok {
		h.fail(w, http.StatusBadRequest, "bad ttl: want non-negative decimal seconds")
		return 0, false
	}
	return d, true
}

// keyTTL reads the key and ttl parameters of a write (PUT, expire).
func (h *handler) keyTTL(w http.ResponseWriter, r *http.Request) (string, time.Duration, bool) {
	key, ok := h.key(w, r)
	if !ok {
		return "", 0, false
	}
	ttl, ok := h.ttl(w, r)
	return key, ttl, ok
}

// body reads the whole request body within maxBody, answering 413 beyond it
// without reading what a Content-Length already gives away.
func (h *handler) body(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.ContentLength > h.maxBody {
		h.fail(w, http.StatusRequestEntityTooLarge, "body larger than "+strconv.FormatInt(h.maxBody, 10)+" bytes")
		return nil, false
	}
	if r.Body == nil {
		return []byte{}, true
	}
	if r.ContentLength >= 0 {
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			h.fail(w, http.StatusBadRequest, "reading the body failed")
			return nil, false
		}
		return b, true
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, h.maxBody+1))
	if err != nil {
		h.fail(w, http.StatusBadRequest, "reading the body failed")
		return nil, false
	}
	if int64(len(b)) > h.maxBody {
		h.fail(w, http.StatusRequestEntityTooLarge, "body larger than "+strconv.FormatInt(h.maxBody, 10)+" bytes")
		return nil, false
	}
	return b, true
}

func (h *handler) writeJSON(w http.ResponseWriter, status int, body []byte) {
	hd := w.Header()
	hd["Content-Type"] = h.jsonType
	hd["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body) // a client gone mid-body is not ours to report
}

// fail answers {"error": msg}.
func (h *handler) fail(w http.ResponseWriter, status int, msg string) {
	h.failCode(w, status, "", msg)
}

// Error codes of the protocol (docs/http-protocol.md, Errors): a 404 alone
// cannot tell a missing key from a base URL that points elsewhere.
const (
	CodeNotFound        = "not_found"
	CodeUnknownEndpoint = "unknown_endpoint"
)

// failCode answers {"error": msg, "code": code} (no code when empty), with
// the code also in the Cache-Error header, which a HEAD answer keeps when
// its body is dropped.
func (h *handler) failCode(w http.ResponseWriter, status int, code, msg string) {
	b := appendJSONString([]byte(`{"error":`), msg)
	if code != "" {
		w.Header()["Cache-Error"] = []string{code}
		b = appendJSONString(append(b, `,"code":`...), code)
	}
	h.writeJSON(w, status, append(b, "}\n"...))
}

// validFormat accepts a Cache-Format of visible ASCII: it is echoed in a
// response header, and every format the protocol names is a short token.
func validFormat(f string) bool {
	if len(f) > maxFormat {
		return false
	}
	for i := 0; i < len(f); i++ {
		if f[i] <= ' ' || f[i] >= 0x7f {
			return false
		}
	}
	return true
}

// logWriter records what the access log reports.
type logWriter struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (l *logWriter) WriteHeader(status int) {
	if !l.wroteHeader {
		l.status, l.wroteHeader = status, true
	}
	l.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the connection (flushes and
// deadlines of event streams).
func (l *logWriter) Unwrap() http.ResponseWriter { return l.ResponseWriter }

func (l *logWriter) Write(b []byte) (int, error) {
	l.wroteHeader = true
	n, err := l.ResponseWriter.Write(b)
	l.bytes += int64(n)
	return n, err
}
