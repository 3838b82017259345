package backends

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cachectl/cachectl/internal/textesc"
)

// ErrNotFound is wrapped by every error that means "no such key".
var ErrNotFound = errors.New("key not found")

// NotFound returns an error wrapping ErrNotFound that names the key.
func NotFound(key string) error {
	return &notFoundError{key: key}
}

type notFoundError struct{ key string }

func (e *notFoundError) Error() string { return fmt.Sprintf("key %s not found", textesc.Key(e.key)) }
func (e *notFoundError) Unwrap() error { return ErrNotFound }

// URLError is a cache URL that cannot be used: a bad scheme, host, port or
// parameter. It maps to the usage exit code. Its text never holds a password.
type URLError struct {
	URL    string // already redacted
	Reason string
}

func (e *URLError) Error() string {
	if e.URL == "" {
		return "invalid cache URL: " + e.Reason
	}
	return fmt.Sprintf("invalid cache URL %s: %s", e.URL, e.Reason)
}

// UnsupportedError is a feature that this backend (or this build) does not
// offer; it maps to the usage exit code because retrying cannot help.
type UnsupportedError struct {
	What string
}

func (e *UnsupportedError) Error() string { return e.What + " is not supported yet" }

// TunnelError finds, in err's chain, a failure of the tunnel that
// Options.Dial goes through (internal/sshtunnel marks its errors with a
// TunnelFailure method): the SSH connection died, refused a forward,
// refused a host key. Such an error names itself completely, so backends
// return it as it is instead of as the cache server's.
func TunnelError(err error) error {
	var te interface {
		error
		TunnelFailure()
	}
	if errors.As(err, &te) {
		return te
	}
	return nil
}

// ConnError says a server could not be reached or stopped answering.
type ConnError struct {
	Address string // redacted
	Err     error
}

func (e *ConnError) Error() string {
	return fmt.Sprintf("cannot reach %s: %v", e.Address, e.Err)
}
func (e *ConnError) Unwrap() error { return e.Err }

// ServerError is an error reply from the server (WRONGTYPE, NOAUTH, OOM, ...).
type ServerError struct {
	Address string
	Msg     string
}

func (e *ServerError) Error() string { return fmt.Sprintf("server %s: %s", e.Address, e.Msg) }

// KeyError is a key the backend cannot store (too long, bytes its protocol
// cannot carry). It maps to the usage exit code.
type KeyError struct {
	Key    string
	Reason string
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("key %s: %s", textesc.Key(e.Key), e.Reason)
}

// PermissionError is a command (or key) the server's access control refused
// the user: Redis' NOPERM. It says what was refused and the rule that would
// allow it, in one line; errors.As still finds the ServerError it wraps, so
// it counts as the server's answer (nothing was done), never as a lost reply.
type PermissionError struct {
	Address string // redacted
	User    string // the ACL user ("default" when the URL names none)
	// Command is the refused command as ACL rules name it ("info",
	// "client|setname"); "" when the key (Key) or something else was refused.
	Command string
	// Key: the command was allowed but a key is outside the user's key patterns.
	Key bool
	// Category is an ACL category that holds Command ("@dangerous"), "" when
	// not known.
	Category string
	// Grants are the rules to add, when more than "+"+Command ("+cluster|slots
	// +cluster|nodes": a cluster client needs both); Where says where
	// ("on every node", as each node has its own ACLs).
	Grants []string
	Where  string
	Reply  string // the server's reply, escaped when printed
}

// maxReplyLen bounds how much of a server's refusal an error quotes.
const maxReplyLen = 200

func (e *PermissionError) Error() string {
	reply := e.Reply
	if utf8.RuneCountInString(reply) > maxReplyLen {
		reply = string([]rune(reply)[:maxReplyLen]) + "…"
	}
	reply = textesc.Line(reply)
	user := strconv.Quote(e.User)
	switch {
	// The server's own words come last: where the line is cut (the
	// dashboard's status line) the grant is what must remain.
	case e.Command != "":
		return fmt.Sprintf("server %s refused %s for user %s: %s; %s", e.Address, e.CommandName(), user, e.Hint(), reply)
	case e.Key:
		return fmt.Sprintf("server %s refused user %s a key outside its key patterns: %s; %s", e.Address, user, e.Hint(), reply)
	}
	return fmt.Sprintf("server %s refused user %s: %s", e.Address, user, reply)
}

// Brief is the refusal for a narrow line that already names the server
// (the dashboard's): what is missing, then the rule that grants it, then its
// category, so a cut keeps the rule: "no INFO permission: ACL SETUSER ro
// +info (category @dangerous)".
func (e *PermissionError) Brief() string {
	hint := strings.TrimPrefix(strings.TrimPrefix(e.Hint(), "grant it with "), "allow it with ")
	switch {
	case e.Command != "":
		return "no " + e.CommandName() + " permission: " + hint
	case e.Key:
		return "key outside the user's ACL key patterns: " + hint
	}
	return e.Error()
}

// Hint says what would allow what was refused: "grant it with ACL SETUSER
// ro +info (category @dangerous)".
func (e *PermissionError) Hint() string {
	user := textesc.Line(e.User)
	switch {
	case e.Command != "":
		rules := "+" + e.Command
		if len(e.Grants) > 0 {
			rules = strings.Join(e.Grants, " ")
		}
		cat := ""
		if e.Category != "" {
			cat = " (category " + e.Category + ")"
		}
		return fmt.Sprintf("grant it with ACL SETUSER %s %s%s%s", user, textesc.Line(rules), where(e.Where), cat)
	case e.Key:
		return fmt.Sprintf("allow it with ACL SETUSER %s ~PATTERN%s", user, where(e.Where))
	}
	return ""
}

func where(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

// CommandName is Command as people write it: "INFO", "CLIENT SETNAME".
func (e *PermissionError) CommandName() string {
	return textesc.Line(strings.ToUpper(strings.ReplaceAll(e.Command, "|", " ")))
}

func (e *PermissionError) Unwrap() error { return &ServerError{Address: e.Address, Msg: e.Reply} }
