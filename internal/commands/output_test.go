package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/config"
)

func TestParseTTL(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"300", 300 * time.Second, ""},
		{"1.5", 1500 * time.Millisecond, ""},
		{"0", 0, ""},
		{"30s", 30 * time.Second, ""},
		{"5m", 5 * time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"2d", 48 * time.Hour, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"", 0, "empty"},
		{"-5", 0, "zero or positive"},
		{"-5s", 0, "zero or positive"},
		{"soon", 0, "invalid duration"},
		{"1.5d", 0, "invalid duration"},
		{"10ns", 0, "smallest TTL is 1ms"},
		{"1e300", 0, "too large"},
		{"NaN", 0, "zero or positive"},
	}
	for _, tt := range tests {
		got, err := parseTTL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseTTL(%q): want error %q, got %v, %v", tt.in, tt.err, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseTTL(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	tests := map[time.Duration]string{
		500 * time.Millisecond:                "500ms",
		59 * time.Second:                      "59s",
		299 * time.Second:                     "4m59s",
		5 * time.Minute:                       "5m",
		90 * time.Minute:                      "1h30m",
		time.Hour + 30*time.Second:            "1h",
		76 * time.Hour:                        "3d4h",
		48*time.Hour + 5*time.Minute:          "2d",
		59*time.Second + 600*time.Millisecond: "1m",
	}
	for d, want := range tests {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestScriptTTLAndJSON(t *testing.T) {
	if got := scriptTTL(backends.NoExpiry); got != "none" {
		t.Errorf("no expiry: %q", got)
	}
	if got := scriptTTL(backends.ExpiresIn(59600 * time.Millisecond)); got != "60" {
		t.Errorf("59.6s rounds like Redis TTL to 60, got %q", got)
	}
	if ttlJSON(backends.NoExpiry) != nil {
		t.Error("no expiry must be JSON null")
	}
	if v := ttlJSON(backends.ExpiresIn(1234567 * time.Microsecond)); v == nil || *v != 1.235 {
		t.Errorf("ttl JSON rounds to ms: %v", v)
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 40: "3.0 TiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestJSONKey(t *testing.T) {
	if jsonKey("user:1") != "user:1" {
		t.Error("UTF-8 keys are plain strings")
	}
	m, ok := jsonKey("a\xff").(map[string]string)
	if !ok || m["$bytes"] != "Yf8=" {
		t.Errorf("binary key: %#v", jsonKey("a\xff"))
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{&backends.ConnError{Address: "x", Err: errors.New("refused")}, 1},
		{&backends.ServerError{Address: "x", Msg: "OOM"}, 1},
		{usagef("bad"), 2},
		{&backends.URLError{Reason: "bad"}, 2},
		{&backends.UnsupportedError{What: "x"}, 2},
		{config.ErrNoURL, 2},
		{&config.NoContextError{Name: "x"}, 2},
		{errors.New("unknown flag: --x"), 2},
		{backends.NotFound("k"), 3},
		{fmt.Errorf("get k: %w", backends.NotFound("k")), 3},
		{&silentError{err: backends.NotFound("k")}, 3},
		{&RefusedError{Msg: "no"}, 4},
		{context.Canceled, 130},
		{fmt.Errorf("scan: %w", context.Canceled), 130},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.err); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestErrorMessageRedactsURLs(t *testing.T) {
	err := fmt.Errorf("dial redis://app:hunter2@10.0.0.1:6379/0 failed:\nretry")
	msg := ErrorMessage(err)
	if strings.Contains(msg, "hunter2") || strings.Contains(msg, "\n") {
		t.Fatalf("message %q", msg)
	}
	if ErrorMessage(context.Canceled) != "interrupted" {
		t.Fatal("cancel message")
	}
}

func TestJoinNames(t *testing.T) {
	if got := joinNames([]string{"a", "b", "c"}); got != "a, b or c" {
		t.Fatal(got)
	}
}
