package commands

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/invalidate"
)

// TestErrorMessageInterrupted: an interruption keeps what the error says was
// done, and still exits 130.
func TestErrorMessageInterrupted(t *testing.T) {
	sigint := context.Cause(canceledWithCause(errors.New("interrupt signal received")))
	tests := []struct {
		err  error
		want string
	}{
		{context.Canceled, "interrupted"},
		{fmt.Errorf("x: %w", context.Canceled), "interrupted: x"},
		{fmt.Errorf("deleted 8 key(s), then: %w", context.Canceled), "interrupted: deleted 8 key(s)"},
		{fmt.Errorf("dump stopped after 95 entries: %w", context.Canceled), "interrupted: dump stopped after 95 entries"},
		{fmt.Errorf("restore stopped after 99 entries: FILE: line 100: %w", context.Canceled), "interrupted: restore stopped after 99 entries: FILE: line 100"},
		{fmt.Errorf("read body: %v: %w", sigint, context.Canceled), "interrupted: read body"},
		{&invalidate.InterruptedError{Err: &backends.ConnError{Address: "127.0.0.1:1", Err: errors.New("no answer within 3s")}},
			"interrupted: cannot reach 127.0.0.1:1: no answer within 3s"},
		{fmt.Errorf("a\x1b[31m: %w", context.Canceled), `interrupted: a\x1b[31m`},
	}
	for _, tt := range tests {
		if got := ErrorMessage(tt.err); got != tt.want {
			t.Errorf("ErrorMessage(%q) = %q, want %q", tt.err, got, tt.want)
		}
		if got := ExitCode(tt.err); got != ExitInterrupted {
			t.Errorf("ExitCode(%q) = %d, want %d", tt.err, got, ExitInterrupted)
		}
	}
}

func canceledWithCause(cause error) context.Context {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	return ctx
}
