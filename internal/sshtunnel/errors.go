package sshtunnel

import (
	"fmt"
)

// Error is a failure of the tunnel itself (the SSH server cannot be
// reached, refuses the login, refuses a forward), as opposed to one of the
// server at the far end. Its message is complete: callers pass it on as it is.
type Error struct {
	Msg string
	Err error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Msg
	}
	return e.Msg + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// TunnelFailure marks the error as the tunnel's (see backends.IsTunnelError).
func (e *Error) TunnelFailure() {}

// TunnelFailure marks the error as the tunnel's.
func (e *HostKeyError) TunnelFailure() {}

// DeadError: the SSH connection died after it was made; every dial and
// every open connection fails with it from then on.
type DeadError struct {
	Dest   string
	Reason string
}

func (e *DeadError) Error() string {
	return fmt.Sprintf("the SSH connection to %s died: %s", e.Dest, e.Reason)
}

// TunnelFailure marks the error as the tunnel's.
func (e *DeadError) TunnelFailure() {}

// ForwardError: the SSH server would not open a connection to Addr: it
// forbids forwarding, or Addr refused it.
type ForwardError struct {
	Via       string // the SSH server
	Addr      string
	Forbidden bool
	Unix      bool   // Addr is a unix socket path
	Reason    string // the server's own words, untrusted
}

func (e *ForwardError) Error() string {
	if e.Forbidden {
		return fmt.Sprintf("the SSH server %s refused to forward to %s (%s): its sshd_config needs AllowTcpForwarding yes (AllowStreamLocalForwarding for unix sockets) and no PermitOpen that excludes it", e.Via, e.Addr, e.Reason)
	}
	if e.Unix {
		// sshd answers a refused unix socket forward as a failed one.
		return fmt.Sprintf("the SSH server %s could not connect to the unix socket %s: %s (the socket is missing, or its sshd_config lacks AllowStreamLocalForwarding yes)", e.Via, e.Addr, e.Reason)
	}
	return fmt.Sprintf("the SSH server %s could not connect to %s: %s", e.Via, e.Addr, e.Reason)
}

// TunnelFailure marks the error as the tunnel's.
func (e *ForwardError) TunnelFailure() {}

// ErrClosed is returned by a tunnel after Close.
var ErrClosed = &Error{Msg: "the SSH tunnel is closed"}
