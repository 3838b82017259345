package backends

import (
	"errors"
	"fmt"

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
