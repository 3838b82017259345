package backends

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"redis://host:6379/0", "redis://host:6379/0"},
		{"redis://user@host", "redis://user@host"},
		{"redis://user:pw@host:6379/0", "redis://user:***@host:6379/0"},
		{"redis://:pw@host", "redis://:***@host"},
		{"redis://u:p%40ss@h", "redis://u:***@h"},
		{"redis://u:pa/ss@h", "redis://u:***@h"},
		{"redis://u:pa#ss@h", "redis://u:***@h"},
		{"redis://u:p@ss@h/0", "redis://u:***@h/0"},
		{"not a url:pw@x", "not a url:***@x"},
	}
	for _, tt := range tests {
		got := Redact(tt.in)
		if got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
		for _, secret := range []string{"pw", "pa/ss", "pa#ss", "p@ss", "p%40ss"} {
			if strings.Contains(tt.in, ":"+secret+"@") && strings.Contains(got, secret) {
				t.Errorf("Redact(%q) leaks %q: %q", tt.in, secret, got)
			}
		}
	}
}

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
	o := Openers{"redis": func(context.Context, *url.URL, Options) (Backend, error) { called = true; return nil, nil }}
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
