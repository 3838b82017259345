package sshtunnel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// Options shape a tunnel's connection and its health checks.
type Options struct {
	// Timeout bounds connecting to each hop, SSH handshake included.
	Timeout time.Duration
	// KeepAliveInterval is how often an idle tunnel is checked with a
	// keepalive@openssh.com request; KeepAliveTimeout how long an answer
	// may take before the connection counts as dead.
	KeepAliveInterval time.Duration
	KeepAliveTimeout  time.Duration
	// Warn reports what goes on but deserves a word (host key not verified).
	Warn func(string)
}

// Defaults: a dead link is noticed within some 10 seconds even when no
// packet says so (a bastion that vanished, a dropped route).
const (
	DefaultKeepAliveInterval = 5 * time.Second
	DefaultKeepAliveTimeout  = 5 * time.Second
)

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.KeepAliveInterval <= 0 {
		o.KeepAliveInterval = DefaultKeepAliveInterval
	}
	if o.KeepAliveTimeout <= 0 {
		o.KeepAliveTimeout = DefaultKeepAliveTimeout
	}
	return o
}

// Tunnel is one SSH client connection (over its jump hosts) that every
// Dial goes through. It is safe for concurrent use.
type Tunnel struct {
	plan    *Plan
	opts    Options
	client  *ssh.Client   // the target's
	clients []*ssh.Client // every hop's, jumps first

	done     chan struct{} // closed once the connection is gone
	mu       sync.Mutex
	err      error // why it is gone
	stopOnce sync.Once
}

// Open connects to every hop of the plan in turn, each through the one
// before, verifying host keys and logging in.
func Open(ctx context.Context, plan *Plan, opts Options) (*Tunnel, error) {
	opts = opts.withDefaults()
	t := &Tunnel{plan: plan, opts: opts, done: make(chan struct{})}
	hops := append(append([]Hop(nil), plan.Jumps...), plan.Target)
	var via *ssh.Client
	for i, hop := range hops {
		c, err := t.connect(ctx, via, hop, i < len(hops)-1)
		if err != nil {
			t.closeClients()
			return nil, err
		}
		t.clients = append(t.clients, c)
		via = c
	}
	t.client = via
	go t.watch()
	go t.keepAlive()
	return t, nil
}

// connect dials hop (through via, when not the first) and logs in.
func (t *Tunnel) connect(ctx context.Context, via *ssh.Client, hop Hop, isJump bool) (*ssh.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, t.opts.Timeout)
	defer cancel()
	what := "the SSH server " + hop.String()
	if isJump {
		what = "the SSH jump host " + hop.String()
	}
	var conn net.Conn
	var err error
	if via == nil {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", hop.Addr())
	} else {
		var ch net.Conn
		if ch, err = via.DialContext(ctx, "tcp", hop.Addr()); err == nil {
			conn = newConn(ch, t)
		}
	}
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil, ctx.Err()
			}
			return nil, &Error{Msg: fmt.Sprintf("cannot reach %s: no answer within %v", what, t.opts.Timeout)}
		}
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) {
			return nil, &Error{Msg: fmt.Sprintf("cannot reach %s: the previous jump host refused to connect to it (%s: %s)", what, oce.Reason, oce.Message)}
		}
		return nil, &Error{Msg: "cannot reach " + what, Err: unwrapNet(err)}
	}
	// The handshake is bounded by ctx too: a server that accepts and then
	// says nothing must not hang the command.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	hk := &hostKeys{hop: hop, insecure: t.plan.Insecure, warn: t.opts.Warn}
	cb, algos, err := hk.config()
	if err != nil {
		conn.Close()
		return nil, &Error{Msg: err.Error()}
	}
	ks := loadKeys(hop, t.plan.AgentSocket)
	defer ks.close()
	cfg := &ssh.ClientConfig{
		User:              hop.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(ks.signers...)},
		HostKeyCallback:   cb,
		HostKeyAlgorithms: algos,
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, hop.Addr(), cfg)
	if err != nil {
		switch {
		case hk.refused != nil:
			return nil, hk.refused
		case errors.Is(ctx.Err(), context.Canceled):
			return nil, ctx.Err()
		case ctx.Err() != nil || isTimeout(err):
			return nil, &Error{Msg: fmt.Sprintf("%s accepted the connection but did not finish the SSH handshake within %v", what, t.opts.Timeout)}
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, ks.authError(hop)
		case strings.Contains(err.Error(), "no common algorithm for host key"):
			return nil, hk.unoffered()
		}
		return nil, &Error{Msg: "SSH handshake with " + what + " failed", Err: trimSSH(err)}
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}

// trimSSH drops x/crypto's "ssh: handshake failed: " prefixes.
func trimSSH(err error) error {
	msg := err.Error()
	for {
		m := strings.TrimPrefix(strings.TrimPrefix(msg, "ssh: "), "handshake failed: ")
		if m == msg {
			break
		}
		msg = m
	}
	return errors.New(msg)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// String says where the tunnel goes, e.g. "deploy@bastion:22 (jump …)".
func (t *Tunnel) String() string { return t.plan.String() }

// Dial opens a connection to addr ("tcp" host:port, or a "unix" socket
// path) from the SSH server, within ctx. The connection supports deadlines.
func (t *Tunnel) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if err := t.Err(); err != nil {
		return nil, err
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return nil, &Error{Msg: fmt.Sprintf("cannot dial %s over SSH: only tcp and unix connections go through the tunnel", network)}
	}
	ch, err := t.client.DialContext(ctx, network, addr)
	if err == nil {
		return newConn(ch, t), nil
	}
	if e := t.Err(); e != nil {
		return nil, e
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("dial %s through SSH %s: %w", addr, t.plan.Target.String(), ctx.Err())
	}
	var oce *ssh.OpenChannelError
	if errors.As(err, &oce) {
		return nil, &ForwardError{Via: t.plan.Target.String(), Addr: addr, Forbidden: oce.Reason == ssh.Prohibited, Unix: network == "unix", Reason: forwardReason(oce)}
	}
	// The transport may be going down: tell that from a one-off failure.
	if e := t.check(); e != nil {
		return nil, e
	}
	return nil, &Error{Msg: fmt.Sprintf("dial %s through SSH %s", addr, t.plan.Target.String()), Err: trimSSH(err)}
}

func forwardReason(e *ssh.OpenChannelError) string {
	msg := strings.TrimSpace(e.Message)
	if msg == "" || strings.EqualFold(msg, e.Reason.String()) {
		return e.Reason.String()
	}
	return e.Reason.String() + ": " + msg
}

// Err is nil while the tunnel is up, else why it is not (a *DeadError, or
// ErrClosed after Close).
func (t *Tunnel) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// Done is closed when the tunnel is gone.
func (t *Tunnel) Done() <-chan struct{} { return t.done }

// Close ends the SSH connection; later dials fail with ErrClosed.
func (t *Tunnel) Close() error {
	t.stop(ErrClosed)
	return nil
}

// Check asks the server for a sign of life, within the keepalive timeout:
// nil when it answered, else the tunnel's death (which is then final).
func (t *Tunnel) Check() error { return t.check() }

func (t *Tunnel) check() error {
	if err := t.Err(); err != nil {
		return err
	}
	answered := make(chan error, 1)
	go func() {
		// Any reply, even "unknown request", proves the connection lives.
		_, _, err := t.client.SendRequest("keepalive@openssh.com", true, nil)
		answered <- err
	}()
	timer := time.NewTimer(t.opts.KeepAliveTimeout)
	defer timer.Stop()
	select {
	case err := <-answered:
		if err != nil {
			t.die(reason(err))
		}
	case <-t.done:
	case <-timer.C:
		t.die(fmt.Sprintf("no answer to a keepalive within %v", t.opts.KeepAliveTimeout))
	}
	return t.Err()
}

func (t *Tunnel) keepAlive() {
	tick := time.NewTicker(t.opts.KeepAliveInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.done:
			return
		case <-tick.C:
			if t.check() != nil {
				return
			}
		}
	}
}

// watch notices the connection closing under us (the server went away).
func (t *Tunnel) watch() {
	err := t.client.Wait()
	t.die(reason(err))
}

func (t *Tunnel) die(why string) {
	t.stop(&DeadError{Dest: t.plan.String(), Reason: why})
}

// stop records why the tunnel is gone (the first reason wins) and closes it.
func (t *Tunnel) stop(err error) {
	t.stopOnce.Do(func() {
		t.mu.Lock()
		t.err = err
		t.mu.Unlock()
		close(t.done)
		t.closeClients()
	})
}

func (t *Tunnel) closeClients() {
	// The target first: it runs over the jump hosts' channels.
	for i := len(t.clients) - 1; i >= 0; i-- {
		t.clients[i].Close()
	}
}

// reason says in a few words why a transport ended.
func reason(err error) string {
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return "the server closed the connection"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, net.ErrClosed):
		return "the connection was closed"
	}
	return trimSSH(unwrapNet(err)).Error()
}
