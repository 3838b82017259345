// Package httpmem is the backend for caches reached over the HTTP cache
// protocol v1 (docs/http-protocol.md): `cachectl serve`, `cachectl demo`, and
// Python apps exposing their in-process cache with contrib/python/cachectl_asgi.
package httpmem

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/jsonbytes"
)

// maxValue bounds what Get reads, whatever size the server announces.
const maxValue = 1 << 30

// maxJSON bounds a JSON response (a page of keys, stats).
const maxJSON = 64 << 20

// inspectWorkers is how many HEAD requests Inspect keeps in flight.
const inspectWorkers = 8

// Backend talks to one HTTP cache.
type Backend struct {
	base    string // scheme://host[:port][/prefix], no trailing slash
	display string
	token   string
	opts    backends.Options
	client  *http.Client

	capsMu sync.Mutex
	caps   *capabilities // asked once, on first need

	// heartbeat, when set, is asked of event streams (tests: a dead
	// stream is noticed after two missed heartbeats); 0 takes the server's.
	heartbeat time.Duration
}

// capabilities is what GET /v1/capabilities says that this client uses.
type capabilities struct {
	Capabilities []string `json:"capabilities"`
	Store        Store    `json:"store"`
}

// Store is the store a server says it serves (the "store" field of its
// capabilities), in the shape every backend reports it.
type Store = backends.StoreInfo

// kind is the backend kind this package serves.
const kind = "http"

// Driver declares the HTTP cache backend for the table in internal/backends/drivers.
// http+unix:// reaches workers on unix sockets (pool.go).
var Driver = backends.Driver{Kind: kind, Schemes: []string{"http", "https", "http+unix"}, Open: Open}

// Open returns a Backend for an http://, https:// or http+unix:// URL, or a
// Pool when the URL names several workers (pool.go); no network I/O
// happens yet. https URLs take ?ca=FILE and ?insecure=true like rediss:// ones.
func Open(_ context.Context, u *url.URL, opts backends.Options) (backends.Backend, error) {
	t, err := parseTarget(u)
	if err != nil {
		return nil, err
	}
	opts = opts.WithDefaults()
	if t.single() {
		m := t.members[0]
		display := m.base
		if m.to != nil {
			display = t.display // a socket: the http+unix URL says which
		}
		return newBackend(m.base, display, m.to, t.tls, opts), nil
	}
	if t.dir != "" && opts.Dial != nil {
		// The directory is read here, the sockets would be dialled at the
		// other end: they are not the same machine's.
		return nil, &backends.UnsupportedError{What: "a socket directory (http+unix:// of a directory) through a tunnel"}
	}
	if t.dnsHost != "" && opts.Dial != nil {
		// The name would be resolved here, by this machine's DNS, while the
		// workers are the far end's (a headless service inside the cluster).
		return nil, &backends.UnsupportedError{What: "?workers=dns through a tunnel (list the workers' addresses instead)"}
	}
	return newPool(t, opts), nil
}

// dialTarget is where a member's connections go whatever its URL's host
// says: one resolved address of a DNS name, or a unix socket.
type dialTarget struct{ network, addr string }

// newBackend is the client of one server at base. With to set every
// connection dials it (and no proxy is used, which would pick its own
// address); display is how messages name the server.
func newBackend(base, display string, to *dialTarget, tlsConf *tls.Config, opts backends.Options) *Backend {
	dial := opts.Dialer(opts.Timeout)
	proxy := http.ProxyFromEnvironment
	if opts.Dial != nil {
		// Through a tunnel the far end is reached from the SSH server: a
		// local HTTP_PROXY would be the wrong way round.
		proxy = nil
	}
	transport := &http.Transport{
		Proxy:               proxy,
		DialContext:         dial,
		TLSClientConfig:     tlsConf,
		MaxIdleConnsPerHost: inspectWorkers,
		IdleConnTimeout:     30 * time.Second,
	}
	if to != nil {
		transport.Proxy = nil
		transport.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dial(ctx, to.network, to.addr)
		}
	}
	return &Backend{
		base:    base,
		display: display,
		token:   opts.Token,
		opts:    opts,
		client:  &http.Client{Transport: transport, CheckRedirect: noRedirects},
	}
}

// noRedirects: a redirect would resend the bearer token elsewhere.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Describe says what this backend is, without network I/O.
func (b *Backend) Describe() backends.Info {
	return backends.Info{Kind: kind, Address: b.display, Capabilities: []string{"ttl", "expire-persist", "server-invalidate"}}
}

// Close drops idle connections.
func (b *Backend) Close() error {
	b.client.CloseIdleConnections()
	return nil
}

// endpoint builds {base}/v1/NAME?key=K&… with the key percent-encoded byte by byte.
func (b *Backend) endpoint(name string, params ...string) string {
	var sb strings.Builder
	sb.WriteString(b.base)
	sb.WriteString("/v1/")
	sb.WriteString(name)
	for i := 0; i+1 < len(params); i += 2 {
		if i == 0 {
			sb.WriteByte('?')
		} else {
			sb.WriteByte('&')
		}
		sb.WriteString(params[i])
		sb.WriteByte('=')
		// QueryEscape writes a space as "+"; the protocol wants %20 ("+" itself is %2B).
		sb.WriteString(strings.ReplaceAll(url.QueryEscape(params[i+1]), "+", "%20"))
	}
	return sb.String()
}

// do sends one request within the operation timeout and returns the
// response; the caller closes its body (cancel runs when it is closed).
func (b *Backend) do(ctx context.Context, method, target string, body io.Reader, header http.Header) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		cancel()
		return nil, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if b.token != "" {
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		err = b.wrap(ctx, err) // before cancel, which would look like a timeout
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelBody) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// wrap turns transport failures into backend errors.
func (b *Backend) wrap(ctx context.Context, err error) error {
	// A body read cut short by Ctrl-C fails with the context's cause
	// ("interrupt signal received"), which is not context.Canceled itself.
	if errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled) {
		return context.Canceled
	}
	if te := backends.TunnelError(err); te != nil {
		return te
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &backends.ConnError{Address: b.display, Err: fmt.Errorf("no answer within %v (raise --timeout?)", b.opts.Timeout)}
	}
	msg := err.Error()
	for _, tail := range []string{"connection refused", "no such host", "connection reset by peer", "certificate signed by unknown authority", "server gave HTTP response to HTTPS client", "EOF"} {
		if strings.Contains(msg, tail) {
			if tail == "EOF" {
				tail = "connection closed by server"
			}
			return &backends.ConnError{Address: b.display, Err: errors.New(tail)}
		}
	}
	return &backends.ConnError{Address: b.display, Err: err}
}

// answerErr is why an answer's JSON body could not be read: malformed JSON
// is the server's fault; a read that failed (the connection broke, the
// timeout struck, Ctrl-C) is a transport error like any other.
func (b *Backend) answerErr(ctx context.Context, what string, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syntax) || errors.As(err, &typ) || err == io.EOF { // io.EOF: a complete, empty body
		return &backends.ServerError{Address: b.display, Msg: what + ": " + err.Error()}
	}
	return b.wrap(ctx, err)
}

// codeNotFound is the error code of a 404 for no such key
// (docs/http-protocol.md, Errors).
const codeNotFound = "not_found"

// errorAnswer is a protocol error response: {"error": "…", "code": "…"},
// the code also in the Cache-Error header, the only place a HEAD answer
// (which has no body) keeps it.
type errorAnswer struct {
	status int
	line   string // the status line, e.g. "500 Internal Server Error"
	json   bool   // Content-Type application/json: a protocol answer, not some other server's page
	msg    string
	code   string
}

func readErrorAnswer(resp *http.Response) errorAnswer {
	a := errorAnswer{
		status: resp.StatusCode,
		line:   resp.Status,
		json:   strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"),
		code:   resp.Header.Get("Cache-Error"),
	}
	var e struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if json.Unmarshal(body, &e) == nil {
		a.msg = e.Error
		if e.Code != "" {
			a.code = e.Code
		}
	}
	return a
}

// keyError is the error of an answer about key that is not a success:
// backends.NotFound for a 404 meaning "no such key" (code not_found, or no
// code at all from a server older than the codes), else the server's error.
// unknown_endpoint is JSON too: a wrong base URL must not read as a missing key.
func (b *Backend) keyError(resp *http.Response, key string) error {
	a := readErrorAnswer(resp)
	if a.status == http.StatusNotFound && a.json && (a.code == "" || a.code == codeNotFound) {
		return backends.NotFound(key)
	}
	return b.answerError(a)
}

// statusError reads a protocol error response.
func (b *Backend) statusError(resp *http.Response) error {
	return b.answerError(readErrorAnswer(resp))
}

// answerError turns an error answer into a ServerError.
func (b *Backend) answerError(a errorAnswer) error {
	msg := a.msg
	switch {
	case msg != "":
	case a.code != "": // a HEAD answer: the code is all it says
		msg = strings.ReplaceAll(a.code, "_", " ")
	case a.status == http.StatusNotFound:
		msg = "not found: is " + b.base + " a cachectl HTTP cache (protocol v1)?"
	default:
		msg = "unexpected answer " + a.line
	}
	switch a.status {
	case http.StatusUnauthorized:
		msg = "authentication failed (401 " + msg + "); pass the token with --token, CACHECTL_TOKEN or a context's token_env"
	case http.StatusRequestEntityTooLarge:
		msg = "too large for the server (413 " + msg + ")"
	default:
		msg = strconv.Itoa(a.status) + " " + msg
	}
	return &backends.ServerError{Address: b.display, Msg: msg}
}

// parseTTL reads a Cache-TTL header: seconds, -1 for no expiry.
func parseTTL(h string) (backends.TTL, error) {
	if h == "" {
		return backends.UnknownTTL, nil
	}
	s, err := strconv.ParseFloat(h, 64)
	if err != nil {
		return backends.TTL{}, fmt.Errorf("bad Cache-TTL header %q", h)
	}
	if s < 0 {
		return backends.NoExpiry, nil
	}
	return backends.ExpiresIn(time.Duration(s * float64(time.Second))), nil
}

// Get reads the stored bytes of key.
func (b *Backend) Get(ctx context.Context, key string) (*backends.Entry, error) {
	resp, err := b.do(ctx, http.MethodGet, b.endpoint("entry", "key", key), nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, b.keyError(resp, key)
	}
	if resp.ContentLength > maxValue {
		return nil, &backends.ServerError{Address: b.display, Msg: fmt.Sprintf("value of %d bytes is over cachectl's limit of 1 GiB", resp.ContentLength)}
	}
	value, err := io.ReadAll(io.LimitReader(resp.Body, maxValue+1))
	if err != nil {
		return nil, b.wrap(ctx, err)
	}
	if len(value) > maxValue {
		return nil, &backends.ServerError{Address: b.display, Msg: "value over cachectl's limit of 1 GiB"}
	}
	ttl, err := parseTTL(resp.Header.Get("Cache-TTL"))
	if err != nil {
		return nil, &backends.ServerError{Address: b.display, Msg: err.Error()}
	}
	return &backends.Entry{Key: key, Value: value, TTL: ttl, Type: "string", Size: int64(len(value)), Hint: resp.Header.Get("Cache-Format")}, nil
}

// Set stores value under key.
func (b *Backend) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return b.SetFormat(ctx, key, value, ttl, "")
}

// SetFormat stores value and tells the server its format (Cache-Format), which
// servers that keep objects rather than bytes need.
func (b *Backend) SetFormat(ctx context.Context, key string, value []byte, ttl time.Duration, format string) error {
	h := http.Header{"Content-Type": {"application/octet-stream"}}
	if format != "" {
		h.Set("Cache-Format", format)
	}
	resp, err := b.do(ctx, http.MethodPut, b.endpoint("entry", "key", key, "ttl", seconds(ttl)), bytes.NewReader(value), h)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return b.statusError(resp)
	}
	return nil
}

func seconds(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// Delete removes keys, a few requests at a time, and counts those that existed.
func (b *Backend) Delete(ctx context.Context, keys ...string) (int64, error) {
	gone, err := b.deleteKeys(ctx, keys)
	var n int64
	for _, g := range gone {
		if g {
			n++
		}
	}
	return n, err
}

// deleteKeys deletes keys and says of each whether the server had it; a
// failure leaves the keys not yet answered false.
func (b *Backend) deleteKeys(ctx context.Context, keys []string) ([]bool, error) {
	gone := make([]bool, len(keys))
	err := parallel(ctx, len(keys), func(i int) error {
		resp, err := b.do(ctx, http.MethodDelete, b.endpoint("entry", "key", keys[i]), nil, nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return b.statusError(resp)
		}
		var r struct {
			Deleted int64 `json:"deleted"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&r); err != nil {
			return b.answerErr(ctx, "bad delete answer", err)
		}
		gone[i] = r.Deleted > 0 // each index is written by one worker only
		return nil
	})
	return gone, err
}

// parallel runs fn(0..n-1) on a few workers and returns the first error.
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	if n == 1 {
		return fn(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	errs := make(chan error, inspectWorkers)
	var wg sync.WaitGroup
	for range min(inspectWorkers, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					select {
					case errs <- err:
					default:
					}
					cancel()
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	return ctx.Err()
}

// head reads the metadata of key: TTL, size and format, without the value.
func (b *Backend) head(ctx context.Context, key string) (backends.KeyInfo, error) {
	resp, err := b.do(ctx, http.MethodHead, b.endpoint("entry", "key", key), nil, nil)
	if err != nil {
		return backends.KeyInfo{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := b.keyError(resp, key)
		if errors.Is(err, backends.ErrNotFound) {
			return backends.KeyInfo{Key: key, Missing: true}, nil
		}
		return backends.KeyInfo{}, err
	}
	ttl, err := parseTTL(resp.Header.Get("Cache-TTL"))
	if err != nil {
		return backends.KeyInfo{}, &backends.ServerError{Address: b.display, Msg: err.Error()}
	}
	return backends.KeyInfo{Key: key, Type: "string", TTL: ttl, Size: resp.ContentLength, Hint: resp.Header.Get("Cache-Format"), Partial: true}, nil
}

// TTL returns the remaining lifetime of key.
func (b *Backend) TTL(ctx context.Context, key string) (backends.TTL, error) {
	ki, err := b.head(ctx, key)
	if err != nil {
		return backends.TTL{}, err
	}
	if ki.Missing {
		return backends.TTL{}, backends.NotFound(key)
	}
	return ki.TTL, nil
}

// Expire changes the lifetime of key; 0 removes the expiry.
func (b *Backend) Expire(ctx context.Context, key string, ttl time.Duration) error {
	resp, err := b.do(ctx, http.MethodPost, b.endpoint("expire", "key", key, "ttl", seconds(ttl)), nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusOK {
		return nil
	}
	return b.keyError(resp, key)
}

// sniffLimit: a value without Cache-Format up to this size is fetched by
// Inspect so that its format can be told; larger ones are not.
const sniffLimit = 4 << 10

// Inspect reads the metadata of keys with HEAD requests, a few at a time.
// The server's Cache-Format says what a value is; a small value without one
// is fetched for its first bytes.
func (b *Backend) Inspect(ctx context.Context, keys []string) ([]backends.KeyInfo, error) {
	out := make([]backends.KeyInfo, len(keys))
	err := parallel(ctx, len(keys), func(i int) error {
		ki, err := b.head(ctx, keys[i])
		if err == nil && !ki.Missing && ki.Hint == "" && ki.Size >= 0 && ki.Size <= sniffLimit {
			e, gerr := b.Get(ctx, keys[i])
			switch {
			case gerr == nil:
				ki.Prefix, ki.Partial, ki.Size = e.Value[:min(len(e.Value), 64)], len(e.Value) > 64, e.Size
			case errors.Is(gerr, backends.ErrNotFound):
				ki.Missing = true
			default:
				err = gerr
			}
		}
		out[i] = ki
		return err
	})
	return out, err
}

type keysPage struct {
	Keys []struct {
		Key    jsonbytes.Bytes `json:"key"`
		TTL    *float64        `json:"ttl"`
		Size   int64           `json:"size"`
		Format string          `json:"format"`
	} `json:"keys"`
	Cursor string `json:"cursor"`
}

// ScanInfo pages through the keys matching pattern with what the listing
// says of them (TTL, size, format).
func (b *Backend) ScanInfo(ctx context.Context, pattern string, fn func(infos []backends.KeyInfo) error) error {
	cursor := ""
	count := strconv.Itoa(b.opts.ScanCount)
	for {
		var page keysPage
		if err := b.getJSON(ctx, b.endpoint("keys", "match", pattern, "cursor", cursor, "count", count), &page); err != nil {
			return err
		}
		if len(page.Keys) > 0 {
			infos := make([]backends.KeyInfo, len(page.Keys))
			for i, k := range page.Keys {
				ki := backends.KeyInfo{Key: string(k.Key), Type: "string", Size: k.Size, Hint: k.Format, TTL: backends.NoExpiry, Partial: true}
				if k.TTL != nil {
					ki.TTL = backends.ExpiresIn(time.Duration(*k.TTL * float64(time.Second)))
				}
				infos[i] = ki
			}
			if err := fn(infos); err != nil {
				return err
			}
		}
		if page.Cursor == "" {
			return nil
		}
		if page.Cursor == cursor && len(page.Keys) == 0 {
			return &backends.ServerError{Address: b.display, Msg: "the server's key listing does not advance (same cursor, no keys)"}
		}
		cursor = page.Cursor
	}
}

// Scan streams the keys matching pattern, page by page.
func (b *Backend) Scan(ctx context.Context, pattern string, fn func(keys []string) error) error {
	return b.ScanInfo(ctx, pattern, func(infos []backends.KeyInfo) error {
		keys := make([]string, len(infos))
		for i, ki := range infos {
			keys[i] = ki.Key
		}
		return fn(keys)
	})
}

func (b *Backend) getJSON(ctx context.Context, target string, v any) error {
	resp, err := b.do(ctx, http.MethodGet, target, nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return b.statusError(resp)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJSON)).Decode(v); err != nil {
		return b.answerErr(ctx, "bad JSON answer", err)
	}
	return nil
}

// Stats returns the server's figures.
func (b *Backend) Stats(ctx context.Context) (*backends.Stats, error) {
	var raw map[string]any
	if err := b.getJSON(ctx, b.endpoint("stats"), &raw); err != nil {
		return nil, err
	}
	st := &backends.Stats{Known: map[string]bool{}, Raw: map[string]map[string]string{b.display: {}}}
	for k, v := range raw {
		st.Raw[b.display][k] = fmt.Sprint(v)
	}
	st.Figures(map[string]string{
		"keys": "keys", "memory": "bytes", "hits": "hits", "misses": "misses",
		"evictions": "evictions", "expired": "expired", "uptime": "uptime_s",
	}, func(name string) (int64, bool) {
		f, ok := raw[name].(float64)
		return int64(f), ok
	})
	if v, ok := raw["version"].(string); ok {
		st.Version = v
		st.Known["version"] = true
	}
	return st, nil
}

// capabilities asks the server once what it supports; a failed answer is
// asked again next time.
func (b *Backend) capabilities(ctx context.Context) (*capabilities, error) {
	b.capsMu.Lock()
	defer b.capsMu.Unlock()
	if b.caps != nil {
		return b.caps, nil
	}
	var c capabilities
	if err := b.getJSON(ctx, b.endpoint("capabilities"), &c); err != nil {
		return nil, err
	}
	b.caps = &c
	return b.caps, nil
}

// Store says which store the server serves; the zero Store when it does not
// say (older servers).
func (b *Backend) Store(ctx context.Context) (Store, error) {
	c, err := b.capabilities(ctx)
	if err != nil {
		return Store{}, err
	}
	return c.Store, nil
}

// ChunkedInvalidate reports whether the server invalidates in bounded
// chunks (capability invalidate-chunked), so that InvalidateChunk works.
func (b *Backend) ChunkedInvalidate(ctx context.Context) (bool, error) {
	c, err := b.capabilities(ctx)
	if err != nil {
		return false, err
	}
	return hasCapability(c, "invalidate-chunked"), nil
}

// Invalidate deletes every key matching any of the globs on the server side,
// in one request.
func (b *Backend) Invalidate(ctx context.Context, patterns []string, dryRun bool) (matched, deleted int64, err error) {
	matched, deleted, _, err = b.invalidate(ctx, patterns, dryRun, "", 0)
	return matched, deleted, err
}

// InvalidateChunk deletes at most limit keys matching any of the globs,
// continuing from cursor ("" the first time); next is "" when the server has
// visited every key. Only for servers with ChunkedInvalidate.
func (b *Backend) InvalidateChunk(ctx context.Context, patterns []string, dryRun bool, cursor string, limit int) (matched, deleted int64, next string, err error) {
	return b.invalidate(ctx, patterns, dryRun, cursor, max(limit, 1))
}

func (b *Backend) invalidate(ctx context.Context, patterns []string, dryRun bool, cursor string, limit int) (matched, deleted int64, next string, err error) {
	req := struct {
		// Patterns that are not UTF-8 go as {"$bytes"}: as JSON strings
		// their bytes would turn into U+FFFD and match other keys.
		Match  []jsonbytes.Bytes `json:"match"`
		DryRun bool              `json:"dry_run"`
		Limit  int               `json:"limit,omitempty"`
		Cursor string            `json:"cursor,omitempty"`
	}{Match: make([]jsonbytes.Bytes, len(patterns)), DryRun: dryRun, Limit: limit, Cursor: cursor}
	for i, p := range patterns {
		req.Match[i] = jsonbytes.Bytes(p)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return 0, 0, "", err
	}
	resp, err := b.do(ctx, http.MethodPost, b.endpoint("invalidate"), bytes.NewReader(body), http.Header{"Content-Type": {"application/json"}})
	if err != nil {
		return 0, 0, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, "", b.statusError(resp)
	}
	var r struct {
		Matched int64   `json:"matched"`
		Deleted int64   `json:"deleted"`
		Cursor  *string `json:"cursor"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&r); err != nil {
		return 0, 0, "", b.answerErr(ctx, "bad invalidate answer", err)
	}
	if limit > 0 && r.Cursor == nil {
		return 0, 0, "", &backends.ServerError{Address: b.display, Msg: "the server's invalidate answer has no cursor"}
	}
	if r.Cursor != nil {
		next = *r.Cursor
	}
	return r.Matched, r.Deleted, next, nil
}
