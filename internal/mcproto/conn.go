// Package mcproto is a small memcached client for what an admin tool needs and
// general clients lack: the meta protocol (mg, ms, md, mn) with pipelining and
// quiet mode, base64 keys, stats, and key enumeration (lru_crawler metadump,
// stats cachedump). One Conn is one connection to one server; it is not safe
// for concurrent use.
package mcproto

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// MaxKeyLen is memcached's limit on a key, in bytes.
const MaxKeyLen = 250

// maxValueLen bounds the size a server may announce for one value; memcached's
// own item size limit (-I) cannot exceed 1 GiB.
const maxValueLen = 1 << 30

// maxLine bounds one response line; longer means the peer is not memcached.
const maxLine = 64 << 10

// ErrNoMeta is returned by meta commands on a server (or proxy) that does not
// speak the meta protocol: memcached before 1.6, twemproxy.
var ErrNoMeta = errors.New("the server does not speak the meta protocol")

// ServerError is an error line from the server: ERROR, CLIENT_ERROR or
// SERVER_ERROR and its text.
type ServerError struct {
	Line string
}

func (e *ServerError) Error() string { return e.Line }

// ProtocolError is a reply cachectl cannot make sense of; the connection is
// unusable afterwards.
type ProtocolError struct {
	What string
}

func (e *ProtocolError) Error() string { return "unexpected reply from memcached: " + e.What }

// Conn is one connection to one memcached server.
type Conn struct {
	nc      net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	timeout time.Duration
	broken  error // set once the stream is out of sync; every later call fails
}

// Dial connects to addr (host:port) within timeout and ctx.
func Dial(ctx context.Context, addr string, timeout time.Duration) (*Conn, error) {
	return DialWith(ctx, nil, addr, timeout)
}

// DialFunc opens a network connection (net.Dialer.DialContext's shape).
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// DialWith connects to addr with dial (a tunnel's, say; nil dials directly)
// within timeout and ctx. The connection must support deadlines.
func DialWith(ctx context.Context, dial DialFunc, addr string, timeout time.Duration) (*Conn, error) {
	if dial == nil {
		dial = (&net.Dialer{Timeout: timeout}).DialContext
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nc, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return NewConn(nc, timeout), nil
}

// NewConn wraps an established connection. timeout bounds each exchange.
func NewConn(nc net.Conn, timeout time.Duration) *Conn {
	return &Conn{nc: nc, r: bufio.NewReaderSize(nc, maxLine), w: bufio.NewWriterSize(nc, 64<<10), timeout: timeout}
}

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// Broken reports whether the connection is out of sync and must be dropped.
func (c *Conn) Broken() bool { return c.broken != nil }

// arm sets the deadline of the next exchange from the timeout and ctx.
func (c *Conn) arm(ctx context.Context) error {
	if c.broken != nil {
		return c.broken
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dl := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	return c.nc.SetDeadline(dl)
}

// watch closes the connection's deadline early when ctx is cancelled (Ctrl-C),
// so a blocked read returns at once. The returned stop must be called.
func (c *Conn) watch(ctx context.Context) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = c.nc.SetDeadline(time.Unix(1, 0))
		case <-done:
		}
	}()
	return func() { close(done) }
}

// fail marks the connection broken (a reply may be half read, so the stream
// cannot be trusted) and returns err, or ctx's error when the failure came
// from a cancellation.
func (c *Conn) fail(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	c.broken = err
	return err
}

// readLine returns one line without its line ending (\r\n, or \n alone as
// metadump writes). The slice is valid until the next read.
func (c *Conn) readLine() ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, &ProtocolError{What: "a line longer than 64 KiB"}
		}
		if errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// errorLine turns ERROR/CLIENT_ERROR/SERVER_ERROR lines into a ServerError.
func errorLine(line []byte) error {
	s := string(line)
	if s == "ERROR" || strings.HasPrefix(s, "ERROR ") || strings.HasPrefix(s, "CLIENT_ERROR") || strings.HasPrefix(s, "SERVER_ERROR") {
		return &ServerError{Line: s}
	}
	return nil
}

func unexpected(line []byte) error {
	if err := errorLine(line); err != nil {
		return err
	}
	s := string(line)
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return &ProtocolError{What: strconv.Quote(s)}
}

// Version returns the server's version string.
func (c *Conn) Version(ctx context.Context) (string, error) {
	if err := c.arm(ctx); err != nil {
		return "", err
	}
	defer c.watch(ctx)()
	if _, err := c.w.WriteString("version\r\n"); err != nil {
		return "", c.fail(ctx, err)
	}
	if err := c.w.Flush(); err != nil {
		return "", c.fail(ctx, err)
	}
	line, err := c.readLine()
	if err != nil {
		return "", c.fail(ctx, err)
	}
	v, ok := strings.CutPrefix(string(line), "VERSION ")
	if !ok {
		return "", c.fail(ctx, unexpected(line))
	}
	return v, nil
}

// Probe tells whether the server speaks the meta protocol, with a meta no-op.
// Memcached before 1.6 answers ERROR; twemproxy closes the connection, after
// which this Conn is broken and the caller must dial again.
func (c *Conn) Probe(ctx context.Context) (meta bool, err error) {
	if err := c.arm(ctx); err != nil {
		return false, err
	}
	defer c.watch(ctx)()
	if _, err := c.w.WriteString("mn\r\n"); err != nil {
		return false, c.fail(ctx, err)
	}
	if err := c.w.Flush(); err != nil {
		return false, c.fail(ctx, err)
	}
	line, err := c.readLine()
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || isReset(err):
		c.broken = ErrNoMeta
		return false, nil
	case err != nil:
		return false, c.fail(ctx, err)
	case string(line) == "MN":
		return true, nil
	case errorLine(line) != nil:
		return false, nil
	}
	return false, c.fail(ctx, unexpected(line))
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "connection reset")
}

// Stats runs "stats" (or "stats ARG") and returns the figures in order.
func (c *Conn) Stats(ctx context.Context, arg string) ([][2]string, error) {
	if err := c.arm(ctx); err != nil {
		return nil, err
	}
	defer c.watch(ctx)()
	cmd := "stats\r\n"
	if arg != "" {
		cmd = "stats " + arg + "\r\n"
	}
	if _, err := c.w.WriteString(cmd); err != nil {
		return nil, c.fail(ctx, err)
	}
	if err := c.w.Flush(); err != nil {
		return nil, c.fail(ctx, err)
	}
	var out [][2]string
	for {
		line, err := c.readLine()
		if err != nil {
			return nil, c.fail(ctx, err)
		}
		s := string(line)
		if s == "END" {
			return out, nil
		}
		rest, ok := strings.CutPrefix(s, "STAT ")
		if !ok {
			return nil, c.fail(ctx, unexpected(line))
		}
		name, value, _ := strings.Cut(rest, " ")
		out = append(out, [2]string{name, value})
	}
}

// ttlArg converts a lifetime to memcached's exptime: 0 never expires, values
// over 30 days are read by the server as a Unix time, so long lifetimes are
// sent as one. Lifetimes under a second round up so they still expire later
// rather than never. The server reads exptime as a signed 32-bit number and
// takes anything past it as already expired (it answers HD and the item is
// gone), so lifetimes beyond January 2038 end then instead.
func ttlArg(ttl time.Duration, now time.Time) int64 {
	if ttl <= 0 {
		return 0
	}
	secs := int64(ttl / time.Second)
	if ttl%time.Second != 0 {
		secs++ // (ttl + time.Second - 1) would overflow near the largest Duration
	}
	if secs <= 30*24*3600 {
		return secs
	}
	const maxExptime = 1<<31 - 1
	if secs > maxExptime-now.Unix() {
		return maxExptime
	}
	return now.Unix() + secs
}

// ExptimeArg is ttlArg for callers of the classic protocol.
func ExptimeArg(ttl time.Duration, now time.Time) int32 {
	v := ttlArg(ttl, now)
	if v > int64(^uint32(0)>>1) {
		v = int64(^uint32(0) >> 1)
	}
	return int32(v)
}
