package commands

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"syscall"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/config"
	"github.com/cachectl/cachectl/internal/redact"
	"github.com/cachectl/cachectl/internal/sshtunnel"
	"github.com/cachectl/cachectl/internal/textesc"
)

// Exit codes (README "Exit codes"); scripts branch on them, so they never change.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitNotFound    = 3
	ExitRefused     = 4
	ExitInterrupted = 130
	// ExitBrokenPipe is what a shell reports for a process that SIGPIPE
	// ended (128+13): stdout was closed before everything was written, as in
	// `cachectl keys | head`. Commands end this way whether the runtime's
	// SIGPIPE or a returned EPIPE noticed it, so scripts see one status.
	ExitBrokenPipe = 141
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
		badToken    *config.TokenError
		badSetting  *config.SettingError
		hostKey     *sshtunnel.HostKeyError
	)
	switch {
	case isBrokenPipe(err):
		return ExitBrokenPipe
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &refused), errors.As(err, &hostKey):
		// An SSH host key known_hosts does not vouch for: cachectl
		// refuses for safety, as for a read-only context.
		return ExitRefused
	case errors.As(err, &usage), errors.As(err, &urlErr), errors.As(err, &unsupported),
		errors.Is(err, config.ErrNoURL), errors.As(err, &noContext), errors.As(err, &badName),
		errors.As(err, &badKey), errors.As(err, &badToken), errors.As(err, &badSetting):
		return ExitUsage
	case errors.Is(err, backends.ErrNotFound):
		return ExitNotFound
	case isCobraUsage(err):
		return ExitUsage
	}
	return ExitError
}

// isBrokenPipe reports a write to a closed output pipe (stdout, stderr or a
// file such as /dev/stdout). A server connection reset while writing is a
// *net.OpError and stays an ordinary error: it must not pass silently.
func isBrokenPipe(err error) bool {
	var netErr *net.OpError
	return errors.Is(err, syscall.EPIPE) && !errors.As(err, &netErr)
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
	msg := err.Error()
	if errors.Is(err, context.Canceled) {
		msg = interruptedMessage(msg)
	}
	// Guard against a password that slipped into a wrapped library error.
	msg = urlInText.ReplaceAllStringFunc(msg, func(u string) string {
		// "URL: reason" — the colon ends the sentence, not a query value.
		trimmed := strings.TrimRight(u, ":,;.)")
		return redact.URL(trimmed) + u[len(trimmed):]
	})
	// Server replies, HTTP bodies and reason phrases are in msg: escape what
	// a terminal would act on and keep it to one line.
	return textesc.Line(msg)
}

// interruptedMessage says an interruption (Ctrl-C, SIGTERM) as such and
// keeps what the error adds: "dump stopped after 95 entries: context
// canceled" becomes "interrupted: dump stopped after 95 entries"; a bare
// cancellation is just "interrupted".
func interruptedMessage(msg string) string {
	for _, c := range []string{"context canceled", "interrupt signal received", "terminated signal received"} {
		if m, ok := strings.CutSuffix(msg, c); ok {
			msg = strings.TrimSuffix(m, ": ")
		}
		msg = strings.ReplaceAll(msg, c, "interrupted")
	}
	// del: "deleted 8 key(s), then: context canceled".
	msg = strings.TrimSuffix(msg, ", then")
	if msg == "" || msg == "interrupted" {
		return "interrupted"
	}
	return "interrupted: " + msg
}

// scrubbedError hides known secrets in err's text: whatever a library or a
// parser quoted from a URL or a flag (a password that net/url took for a
// path, a token in a user part), the message never holds it. Unwrap keeps
// the exit code mapping.
type scrubbedError struct {
	err     error
	secrets []string
}

func (e *scrubbedError) Error() string { return scrub(e.err.Error(), e.secrets) }
func (e *scrubbedError) Unwrap() error { return e.err }

// minSecretLen keeps very short secrets from mangling every message that
// happens to contain their letters; they are still masked inside URLs.
const minSecretLen = 3

// withSecretsHidden wraps err so that its text never shows the secrets of
// the given URLs, nor the given secret values themselves.
func withSecretsHidden(err error, urls []string, values ...string) error {
	if err == nil {
		return nil
	}
	var secrets []string
	for _, u := range urls {
		secrets = append(secrets, redact.Secrets(u)...)
	}
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			secrets = append(secrets, v)
		}
	}
	if len(secrets) == 0 {
		return err
	}
	return &scrubbedError{err: err, secrets: secrets}
}

func scrub(msg string, secrets []string) string {
	// Longest first, so a secret holding another is masked whole.
	sorted := slices.Clone(secrets)
	slices.SortFunc(sorted, func(a, b string) int { return len(b) - len(a) })
	for _, s := range sorted {
		if len(s) >= minSecretLen {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	return msg
}
