package backends

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseURLErrorsNeverEchoPasswords(t *testing.T) {
	for _, raw := range []string{"redis://u:se cret@h", "redis://u:secret@h:port", "redis://u:sec%zzret@h", "host:secret@x"} {
		_, err := ParseURL(raw)
		var ue *URLError
		if !errors.As(err, &ue) {
			t.Fatalf("%q: want URLError, got %v", raw, err)
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "sec%zzret") {
			t.Fatalf("%q: error leaks the password: %v", raw, err)
		}
	}
	if _, err := ParseURL("  "); err == nil || !strings.Contains(err.Error(), "empty URL") {
		t.Fatalf("empty URL: %v", err)
	}
	if _, err := ParseURL("localhost:6379"); err == nil || !strings.Contains(err.Error(), "missing scheme") {
		t.Fatalf("missing scheme: %v", err)
	}
}

func TestOpenUnknownScheme(t *testing.T) {
	called := false
	o := Drivers{{Kind: "redis", Schemes: []string{"redis"}, Open: func(context.Context, *url.URL, Options) (Backend, error) { called = true; return nil, nil }}}
	_, err := o.Open(context.Background(), "mongodb://u:pw@h", Options{})
	var ue *URLError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `unknown scheme "mongodb"`) || !strings.Contains(err.Error(), "redis://") {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "pw") {
		t.Fatalf("leaks password: %v", err)
	}
	if _, err := o.Open(context.Background(), "REDIS://h", Options{}); err != nil || !called {
		t.Fatalf("schemes are case-insensitive: %v", err)
	}
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{}.WithDefaults()
	if o.Timeout != DefaultOptions.Timeout || o.ScanCount != 1000 || o.MaxItems != 100 {
		t.Fatalf("defaults: %+v", o)
	}
}

func TestStatsFigures(t *testing.T) {
	var s Stats
	s.Figures(map[string]string{"keys": "curr_items", "uptime": "uptime", "hits": "get_hits", "misses": "nope", "bogus": "curr_items"},
		IntFigure(map[string]string{"curr_items": "42", "uptime": "90", "get_hits": "x"}))
	if s.Keys != 42 || s.Uptime != 90*time.Second || !s.Known["keys"] || !s.Known["uptime"] {
		t.Fatalf("%+v", s)
	}
	if s.Known["hits"] || s.Known["misses"] || s.Known["bogus"] {
		t.Fatalf("unreadable or unknown figures must stay unknown: %v", s.Known)
	}
}
