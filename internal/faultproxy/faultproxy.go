// Package faultproxy is a TCP proxy for tests: it stands on 127.0.0.1:0 in
// front of a real server and forwards bytes both ways until a rule fires,
// then cuts, resets, stalls, slows or half-closes the connection that
// tripped it, or every connection (a dead or hung server). Rules fire at an
// exact byte count or where a predicate on the bytes says, so a test can
// break an operation at a chosen moment ("before the 3rd UNLINK").
package faultproxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Dir is a direction of traffic.
type Dir int

const (
	// Up is client -> server.
	Up Dir = iota
	// Down is server -> client.
	Down
)

func (d Dir) String() string {
	if d == Up {
		return "client->server"
	}
	return "server->client"
}

// Fault is what happens to a connection when a rule fires.
type Fault int

const (
	// Cut closes both sides (FIN).
	Cut Fault = iota + 1
	// Reset closes both sides with SO_LINGER 0, so both get an RST.
	Reset
	// Stall stops forwarding both ways and keeps the sockets open: a hung server.
	Stall
	// Slow forwards at Rule.Rate bytes per second from then on, both ways.
	Slow
	// HalfCloseClient sends FIN toward the client (it reads EOF) and drops
	// what the server sends; the client's bytes still reach the server.
	HalfCloseClient
	// HalfCloseServer sends FIN toward the server and drops what the client
	// sends; the server's replies still reach the client.
	HalfCloseServer
)

func (f Fault) String() string {
	switch f {
	case Cut:
		return "cut"
	case Reset:
		return "reset"
	case Stall:
		return "stall"
	case Slow:
		return "slow"
	case HalfCloseClient:
		return "half-close-client"
	case HalfCloseServer:
		return "half-close-server"
	}
	return fmt.Sprintf("fault(%d)", int(f))
}

// Rule says when a fault fires. With neither After nor When it fires at the
// first byte in Dir. A rule fires once; Everywhere makes its fault the state
// of the whole proxy (open and future connections), else only the
// connection that tripped it suffers and new connections work.
type Rule struct {
	Fault Fault
	Dir   Dir
	// After fires the fault once exactly this many bytes have been
	// forwarded in Dir, counted over all connections.
	After int64
	// When is called (serialised) with each chunk read in Dir, in order;
	// it returns the offset in the chunk at which the fault fires (bytes
	// before it are forwarded), or false to let the chunk through.
	When func(chunk []byte) (at int, fire bool)
	// Everywhere: the fault hits every open connection and each new one.
	Everywhere bool
	// Rate is the bandwidth of Slow, in bytes per second (default 16 KiB/s).
	Rate int
}

// Proxy forwards connections to one server address.
type Proxy struct {
	t      testing.TB
	target string
	ln     net.Listener
	done   chan struct{} // closed by Close: stalled pumps give up
	wg     sync.WaitGroup

	mu       sync.Mutex
	rule     *Rule
	fired    chan struct{} // closed when the armed rule fires
	global   *Rule         // the fault every connection is under, if any
	conns    map[*conn]bool
	bytes    [2]int64
	accepted int
	refusing bool
}

// New starts a proxy to target (host:port) and closes it when the test ends.
func New(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("faultproxy: listen: %v", err)
	}
	p := &Proxy{t: t, target: target, ln: ln, done: make(chan struct{}), conns: map[*conn]bool{}, fired: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's host:port, to give the client instead of the server's.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Arm sets the rule (replacing an armed one that has not fired) and returns
// a channel closed when it fires, so a test can wait for the fault.
func (p *Proxy) Arm(r Rule) <-chan struct{} {
	if r.Fault == Slow && r.Rate <= 0 {
		r.Rate = 16 << 10
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rule = &r
	p.fired = make(chan struct{})
	return p.fired
}

// Apply fires f now on every open connection and every new one.
func (p *Proxy) Apply(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := &Rule{Fault: f, Everywhere: true, Rate: 16 << 10}
	p.global = r
	for c := range p.conns {
		c.hit(r)
	}
}

// Refuse closes the listening socket: new connections get ECONNREFUSED
// (nothing else takes the port meanwhile in a test); open ones go on.
func (p *Proxy) Refuse() {
	p.mu.Lock()
	p.refusing = true
	p.mu.Unlock()
	p.ln.Close()
}

// Bytes is how many bytes were forwarded in d so far.
func (p *Proxy) Bytes(d Dir) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bytes[d]
}

// Accepted is how many connections the proxy took.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Close stops the proxy and every connection, releasing stalled ones.
func (p *Proxy) Close() {
	p.mu.Lock()
	select {
	case <-p.done:
		p.mu.Unlock()
		return
	default:
	}
	close(p.done)
	for c := range p.conns {
		c.client.Close()
		c.server.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		cc, err := p.ln.Accept()
		if err != nil {
			p.mu.Lock()
			expected := p.refusing
			p.mu.Unlock()
			select {
			case <-p.done:
			default:
				if !expected && !errors.Is(err, net.ErrClosed) {
					p.t.Errorf("faultproxy: accept: %v", err)
				}
			}
			return
		}
		sc, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			// The server itself refused: pass that on as a reset.
			resetConn(cc)
			continue
		}
		c := &conn{p: p, client: cc.(*net.TCPConn), server: sc.(*net.TCPConn)}
		p.mu.Lock()
		select {
		case <-p.done:
			p.mu.Unlock()
			cc.Close()
			sc.Close()
			return
		default:
		}
		p.accepted++
		p.conns[c] = true
		if p.global != nil {
			c.hit(p.global)
		}
		p.mu.Unlock()
		p.wg.Add(2)
		go c.pump(Up, c.client, c.server)
		go c.pump(Down, c.server, c.client)
	}
}

// conn is one proxied connection; its fields under p.mu.
type conn struct {
	p              *Proxy
	client, server *net.TCPConn
	fault          *Rule
	ended          int // pumps finished
}

// hit puts c under rule r's fault; p.mu is held.
func (c *conn) hit(r *Rule) {
	c.fault = r
	switch r.Fault {
	case Cut:
		c.client.Close()
		c.server.Close()
	case Reset:
		resetConn(c.client)
		resetConn(c.server)
	case HalfCloseClient:
		c.client.CloseWrite()
	case HalfCloseServer:
		c.server.CloseWrite()
	}
}

func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// pump forwards one direction until src ends or a fault stops it.
func (c *conn) pump(d Dir, src, dst *net.TCPConn) {
	p := c.p
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !c.forward(d, buf[:n], dst) {
				break
			}
		}
		if err != nil {
			// A clean end: pass the FIN on, as a proxy does.
			if errors.Is(err, io.EOF) {
				dst.CloseWrite()
			}
			break
		}
	}
	p.mu.Lock()
	c.ended++
	if c.ended == 2 {
		delete(p.conns, c)
		c.client.Close()
		c.server.Close()
	}
	p.mu.Unlock()
}

// forward writes chunk to dst under the current fault, firing the armed
// rule at its byte; false means this direction is finished.
func (c *conn) forward(d Dir, chunk []byte, dst *net.TCPConn) bool {
	p := c.p
	p.mu.Lock()
	if c.fault == nil && p.rule != nil && p.rule.Dir == d {
		if at, ok := p.rule.trigger(p.bytes[d], chunk); ok {
			r := p.rule
			p.rule = nil
			p.bytes[d] += int64(at)
			// The bytes before the fault are written with the lock held, so
			// that the other direction cannot pass anything between them
			// and the fault (a reply racing back before a "reply lost" cut).
			// They are at most one read of 32 KiB, which loopback buffers take
			// at once.
			if _, err := dst.Write(chunk[:at]); err != nil {
				p.mu.Unlock()
				return false
			}
			// Fired before the fault takes effect: whoever sees the fault's
			// consequence (a cut, an error) then finds fired closed too.
			close(p.fired)
			if r.Everywhere {
				p.global = r
				for o := range p.conns {
					o.hit(r)
				}
			} else {
				c.hit(r)
			}
			chunk = chunk[at:]
		}
	}
	fault := c.fault
	if passes(fault, d) {
		p.bytes[d] += int64(len(chunk))
	}
	p.mu.Unlock()
	return c.write(fault, d, chunk, dst)
}

// trigger says whether r fires in chunk, and at which offset; p.mu is held.
func (r *Rule) trigger(sent int64, chunk []byte) (int, bool) {
	if r.When != nil {
		at, ok := r.When(chunk)
		return max(0, min(at, len(chunk))), ok
	}
	if sent+int64(len(chunk)) >= r.After {
		return int(max(0, r.After-sent)), true
	}
	return 0, false
}

// passes: under fault f, bytes going in d still reach the other side.
func passes(f *Rule, d Dir) bool {
	if f == nil {
		return true
	}
	switch f.Fault {
	case Slow:
		return true
	case HalfCloseClient, HalfCloseServer:
		return !dropped(f, d)
	}
	return false
}

// dropped: under fault f, bytes going in d are thrown away.
func dropped(f *Rule, d Dir) bool {
	if f == nil {
		return false
	}
	return f.Fault == HalfCloseClient && d == Down || f.Fault == HalfCloseServer && d == Up
}

// write sends b under fault f; false means stop this direction.
func (c *conn) write(f *Rule, d Dir, b []byte, dst *net.TCPConn) bool {
	if f == nil {
		_, err := dst.Write(b)
		return err == nil
	}
	switch f.Fault {
	case Cut, Reset:
		return false
	case Stall:
		<-c.p.done
		return false
	case Slow:
		// Pieces of a twentieth of a second each keep the pace smooth.
		piece := max(1, f.Rate/20)
		for len(b) > 0 {
			k := min(piece, len(b))
			if _, err := dst.Write(b[:k]); err != nil {
				return false
			}
			b = b[k:]
			select {
			case <-time.After(time.Duration(k) * time.Second / time.Duration(f.Rate)):
			case <-c.p.done:
				return false
			}
		}
		return true
	}
	if dropped(f, d) {
		return true // keep reading so the sender is not blocked, like a peer that ignores it
	}
	_, err := dst.Write(b)
	return err == nil
}

// Before returns a When that fires at the start of the nth occurrence
// (from 1) of token, counted over all chunks it is given; a token split
// between chunks is found too (it then fires at the start of the chunk
// that completes it).
func Before(token []byte, n int) func([]byte) (int, bool) {
	return nth(token, n, false)
}

// AfterChunkWith returns a When that fires after the whole chunk holding
// the end of the nth occurrence of token: for a small pipelined command
// the server gets all of it, and then the fault hits (its reply is lost).
func AfterChunkWith(token []byte, n int) func([]byte) (int, bool) {
	return nth(token, n, true)
}

func nth(token []byte, n int, afterChunk bool) func([]byte) (int, bool) {
	var tail []byte
	seen := 0
	return func(chunk []byte) (int, bool) {
		buf := append(append([]byte(nil), tail...), chunk...)
		off := 0
		for {
			i := bytes.Index(buf[off:], token)
			if i < 0 {
				break
			}
			seen++
			pos := off + i
			if seen == n {
				if afterChunk {
					return len(chunk), true
				}
				return max(0, pos-len(tail)), true
			}
			off = pos + len(token)
		}
		keep := min(len(token)-1, len(buf)-off)
		tail = append(tail[:0], buf[len(buf)-keep:]...)
		return 0, false
	}
}
