package sshtunnel

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// conn is a channel of the SSH connection with deadlines. x/crypto's
// channel connections refuse SetDeadline ("deadline not supported"), while
// go-redis and mcproto bound every exchange with deadlines: the channel is
// spliced to one end of a net.Pipe, whose deadlines work, and the caller
// holds the other end. When the tunnel dies, reads and writes fail with
// its *DeadError rather than a bare EOF.
type conn struct {
	net.Conn          // the caller's end of the pipe
	theirs   net.Conn // the other end, fed from and to the channel
	ch       net.Conn // the SSH channel
	probe    func() error
	dead     func() error // the tunnel's death, once known; nil for none

	closing  atomic.Bool
	failOnce sync.Once
	failure  atomic.Pointer[error]
}

// newConn splices ch to a pipe. probe (nil for none) tells a tunnel that
// died from a server that closed just this connection.
func newConn(ch net.Conn, t *Tunnel) net.Conn {
	ours, theirs := net.Pipe()
	c := &conn{Conn: ours, theirs: theirs, ch: ch}
	if t != nil && t.client != nil {
		c.probe, c.dead = t.check, t.Err
	}
	go c.copy(theirs, ch)
	go c.copy(ch, theirs)
	return c
}

// copy moves bytes one way until either side ends, then ends both: a
// half-closed stream serves none of the protocols that use the tunnel.
func (c *conn) copy(dst io.Writer, src io.Reader) {
	_, _ = io.Copy(dst, src)
	c.ended()
}

func (c *conn) ended() {
	c.failOnce.Do(func() {
		if !c.closing.Load() && c.probe != nil {
			// Before the caller sees the end, learn whether the whole
			// tunnel went down: then it gets the tunnel's error.
			if perr := c.probe(); perr != nil {
				c.failure.Store(&perr)
			}
		}
		c.ch.Close()
		// Closing the far end of the pipe ends the caller's reads with
		// EOF and its writes with io.ErrClosedPipe (mapped in Read and Write).
		c.theirs.Close()
	})
}

func (c *conn) mapErr(err error) error {
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) && c.failed() == nil {
		return err
	}
	if f := c.failed(); f != nil {
		return f
	}
	return err
}

func (c *conn) failed() error {
	if p := c.failure.Load(); p != nil {
		return *p
	}
	// A connection the caller closed itself when it saw the end fails
	// like the others once the tunnel's death is known.
	if c.dead != nil {
		if err := c.dead(); err != nil && err != ErrClosed {
			return err
		}
	}
	return nil
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	return n, c.mapErr(err)
}

func (c *conn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	return n, c.mapErr(err)
}

// The deadline setters fail on a closed pipe too (go-redis sets one
// before each write), so their errors say why as well.
func (c *conn) SetDeadline(t time.Time) error      { return c.mapErr(c.Conn.SetDeadline(t)) }
func (c *conn) SetReadDeadline(t time.Time) error  { return c.mapErr(c.Conn.SetReadDeadline(t)) }
func (c *conn) SetWriteDeadline(t time.Time) error { return c.mapErr(c.Conn.SetWriteDeadline(t)) }

// Close ends the channel and the pipe.
func (c *conn) Close() error {
	c.closing.Store(true)
	err := c.Conn.Close()
	c.ch.Close()
	return err
}

// RemoteAddr is the channel's (go-redis names connections by it).
func (c *conn) RemoteAddr() net.Addr { return c.ch.RemoteAddr() }
