package commands

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/config"
)

// Exit codes of DESIGN section 5; scripts branch on them, so they never change.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitNotFound    = 3
	ExitRefused     = 4
	ExitInterrupted = 130
)

// UsageError is a bad flag, argument or URL: fixing the command line helps.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

// RefusedError is an operation cachectl declines for safety (read-only
// context, destructive action without confirmation).
type RefusedError struct{ Msg string }

func (e *RefusedError) Error() string { return e.Msg }

var urlInText = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"']+`)

// ExitCode maps an error returned by a command to the process exit code.
// It is the one place that does so.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var (
		usage       *UsageError
		refused     *RefusedError
		urlErr      *backends.URLError
		unsupported *backends.UnsupportedError
		noContext   *config.NoContextError
		badName     *config.NameError
		badKey      *backends.KeyError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &refused):
		return ExitRefused
	case errors.As(err, &usage), errors.As(err, &urlErr), errors.As(err, &unsupported),
		errors.Is(err, config.ErrNoURL), errors.As(err, &noContext), errors.As(err, &badName),
		errors.As(err, &badKey):
		return ExitUsage
	case errors.Is(err, backends.ErrNotFound):
		return ExitNotFound
	case isCobraUsage(err):
		return ExitUsage
	}
	return ExitError
}

// isCobraUsage recognises the errors cobra itself returns for unknown
// commands and flags, which are not typed.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "requires at most", "required flag"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// ErrorMessage is the one line printed for err: lower-case, no stack, no password.
func ErrorMessage(err error) string {
	if errors.Is(err, context.Canceled) {
		return "interrupted"
	}
	msg := err.Error()
	// Guard against a password that slipped into a wrapped library error.
	msg = urlInText.ReplaceAllStringFunc(msg, backends.Redact)
	msg = strings.ReplaceAll(msg, "\n", " ")
	return msg
}
