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
