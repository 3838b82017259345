package httpmem

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/memserver"
)

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAgainstMemserver(t *testing.T) {
	ctx := context.Background()
	store := memserver.NewStore(memserver.Options{})
	mux := http.NewServeMux()
	mux.Handle("/base/", http.StripPrefix("/base", memserver.NewHandler(store, memserver.HandlerOptions{Token: "tk"})))
	b := openURL(t, serve(t, mux)+"/base/", "tk")
	keys := []string{"plain", "with space", "slash/and?query&amp=1", "plus+sign", "\x00\xff binary", "percent%41"}
	for i, k := range keys {
		if err := b.SetFormat(ctx, k, []byte{byte(i)}, time.Duration(i)*time.Minute, "bytes"); err != nil {
			t.Fatalf("set %q: %v", k, err)
		}
	}
	for i, k := range keys {
		e, err := b.Get(ctx, k)
		if err != nil || len(e.Value) != 1 || e.Value[0] != byte(i) || e.Hint != "bytes" {
			t.Fatalf("get %q: %+v, %v", k, e, err)
		}
		if e.TTL.Expires != (i > 0) {
			t.Fatalf("%q TTL %+v", k, e.TTL)
		}
		if st, _ := store.Get(k); st.Value == nil {
			t.Fatalf("%q is not stored under its exact bytes", k)
		}
	}
	// Paging: one key per page still lists everything once.
	b.opts.ScanCount = 1
	seen := map[string]int{}
	if err := b.Scan(ctx, "*", func(ks []string) error {
		for _, k := range ks {
			seen[k]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(keys) {
		t.Fatalf("listed %v", seen)
	}
	infos, err := b.Inspect(ctx, append(keys, "missing"))
	if err != nil {
		t.Fatal(err)
	}
	if !infos[len(keys)].Missing || infos[1].Size != 1 || infos[1].Hint != "bytes" {
		t.Fatalf("inspect: %+v", infos)
	}
	// No Cache-Format: a small value is fetched so its format can be told.
	if err := store.Set("noformat", []byte(`{"a":1}`), 0, ""); err != nil {
		t.Fatal(err)
	}
	infos, err = b.Inspect(ctx, []string{"noformat"})
	if err != nil || string(infos[0].Prefix) != `{"a":1}` || infos[0].Partial || infos[0].Hint != "" {
		t.Fatalf("inspect without a format: %+v, %v", infos, err)
	}
	n, err := b.Delete(ctx, keys...)
	if err != nil || n != int64(len(keys)) {
		t.Fatalf("Delete = %d, %v", n, err)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	var se *backends.ServerError
	var ce *backends.ConnError

	// Not a cachectl cache at all: the 404 says so instead of "not found".
	b := openURL(t, serve(t, http.NotFoundHandler()), "")
	if _, err := b.Get(ctx, "k"); !errors.As(err, &se) || !strings.Contains(err.Error(), "protocol v1") {
		t.Fatalf("plain 404: %v", err)
	}

	// A redirect is not followed: it would send the token elsewhere.
	var leaked atomic.Bool
	elsewhere := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Store(true)
		}
	}))
	b = openURL(t, serve(t, http.RedirectHandler(elsewhere, http.StatusFound)), "secret")
	if _, err := b.Get(ctx, "k"); err == nil || leaked.Load() {
		t.Fatalf("redirect: %v (token sent on: %v)", err, leaked.Load())
	}

	// A silent server times out within --timeout.
	block := make(chan struct{})
	slow := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	t.Cleanup(func() { close(block) }) // before the server's Close, which waits for the handler
	b = openURL(t, slow, "")
	b.opts.Timeout = 200 * time.Millisecond
	start := time.Now()
	if _, err := b.Get(ctx, "k"); !errors.As(err, &ce) || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Fatalf("silent server: %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatal("the timeout did not apply")
	}

	// A listing that never advances is an error, not an endless loop.
	stuck := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"keys":[],"cursor":"7"}`))
	}))
	b = openURL(t, stuck, "")
	calls := 0
	err := b.Scan(ctx, "*", func([]string) error { calls++; return nil })
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "does not advance") {
		t.Fatalf("stuck cursor: %v", err)
	}

	// Garbage JSON and oversized announcements are clean errors.
	garbage := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/entry") {
			w.Header().Set("Content-Length", "2000000000")
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Write([]byte("{not json"))
	}))
	b = openURL(t, garbage, "")
	if _, err := b.Stats(ctx); !errors.As(err, &se) || !strings.Contains(err.Error(), "bad JSON") {
		t.Fatalf("garbage stats: %v", err)
	}
	if _, err := b.Get(ctx, "k"); !errors.As(err, &se) || !strings.Contains(err.Error(), "limit of 1 GiB") {
		t.Fatalf("a 2 GB value: %v", err)
	}
}

func TestOpenURL(t *testing.T) {
	for raw, want := range map[string]string{
		"http://u:p@h:1":            "bearer token",
		"http://h:1/#x":             "fragment",
		"https://h:1/?ca=/nonexist": "cannot read the CA file",
		"http://h:1/?ca=x":          "unknown parameter",
		"https://h:1/?insecure=yes": "true or false",
	} {
		u, err := backends.ParseURL(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		_, err = Open(context.Background(), u, backends.Options{})
		var ue *backends.URLError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), ":p@") {
			t.Fatalf("%s: %v, want a URLError saying %q", raw, err, want)
		}
	}
}

// TestNotFoundCodes: a 404 is a missing key only when its error code says
// so (or, from a server older than the codes, carries no code at all); the
// 404 of an unknown endpoint is JSON too and means a wrong base URL.
func TestNotFoundCodes(t *testing.T) {
	ctx := context.Background()
	store := memserver.NewStore(memserver.Options{})
	mux := http.NewServeMux()
	mux.Handle("/base/", http.StripPrefix("/base", memserver.NewHandler(store, memserver.HandlerOptions{})))
	root := serve(t, mux)

	wantMissing := func(what string, b *Backend) {
		t.Helper()
		_, getErr := b.Get(ctx, "k")
		_, ttlErr := b.TTL(ctx, "k")
		for i, err := range []error{getErr, ttlErr, b.Expire(ctx, "k", time.Minute)} {
			if !errors.Is(err, backends.ErrNotFound) {
				t.Fatalf("%s, call %d of get, ttl, expire: %v, want key not found", what, i+1, err)
			}
		}
	}
	wantMissing("a missing key", openURL(t, root+"/base", ""))

	wrong := openURL(t, root+"/base/_cache", "")
	var se *backends.ServerError
	for name, call := range map[string]func() error{
		"get":    func() error { _, err := wrong.Get(ctx, "k"); return err },
		"ttl":    func() error { _, err := wrong.TTL(ctx, "k"); return err },
		"expire": func() error { return wrong.Expire(ctx, "k", time.Minute) },
		"inspect": func() error {
			_, err := wrong.Inspect(ctx, []string{"k"})
			return err
		},
	} {
		err := call()
		if errors.Is(err, backends.ErrNotFound) || !errors.As(err, &se) || se.Msg != "404 unknown endpoint" {
			t.Errorf("%s under a wrong base path: %v, want a server error 404 unknown endpoint", name, err)
		}
	}

	// A server from before the codes: its JSON 404 still means no such key.
	legacy := openURL(t, serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":"key not found"}`))
	})), "")
	wantMissing("a server without codes", legacy)
}
