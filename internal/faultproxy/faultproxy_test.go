package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// server is a real TCP server: each connection echoes what it reads (when
// echo is set) and, at EOF or error, reports everything it received and
// answers "bye" on a half-closed connection.
type server struct {
	addr string
	got  chan []byte
}

func newServer(t *testing.T, echo bool) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{addr: ln.Addr().String(), got: make(chan []byte, 16)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go func() {
				var all bytes.Buffer
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					all.Write(buf[:n])
					if echo && n > 0 {
						c.Write(buf[:n])
					}
					if err != nil {
						if errors.Is(err, io.EOF) {
							c.Write([]byte("bye"))
						}
						break
					}
				}
				c.Close()
				s.got <- all.Bytes()
			}()
		}
	}()
	return s
}

// received waits for what the server's next finished connection read.
func (s *server) received(t *testing.T) []byte {
	t.Helper()
	select {
	case b := <-s.got:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("the server connection never ended")
		return nil
	}
}

func dial(t *testing.T, p *Proxy) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

func waitFired(t *testing.T, fired <-chan struct{}) {
	t.Helper()
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("the rule never fired")
	}
}

func TestForwardsBothWays(t *testing.T) {
	s := newServer(t, true)
	p := New(t, s.addr)
	c := dial(t, p)
	want := payload(200 << 10)
	go c.Write(want)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("echo through the proxy: %v, equal %v", err, bytes.Equal(got, want))
	}
	c.CloseWrite()
	if b := s.received(t); len(b) != len(want) {
		t.Fatalf("server got %d bytes", len(b))
	}
	if rest, _ := io.ReadAll(c); string(rest) != "bye" {
		t.Fatalf("after the client's FIN the server's answer came as %q", rest)
	}
	if p.Bytes(Up) != int64(len(want)) || p.Bytes(Down) != int64(len(want))+3 {
		t.Fatalf("counted %d up, %d down", p.Bytes(Up), p.Bytes(Down))
	}
}

func TestCutAtAByte(t *testing.T) {
	s := newServer(t, false)
	p := New(t, s.addr)
	fired := p.Arm(Rule{Fault: Cut, Dir: Up, After: 1000})
	c := dial(t, p)
	c.Write(payload(600))
	c.Write(payload(600)) // the rule fires inside this write
	waitFired(t, fired)
	if b := s.received(t); !bytes.Equal(b, append(payload(600), payload(600)[:400]...)) {
		t.Fatalf("server got %d bytes, want exactly 1000", len(b))
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 10)); err == nil || n != 0 {
		t.Fatalf("client read %d, %v after the cut", n, err)
	}
	// Only that connection was cut: a new one goes through.
	c2 := dial(t, p)
	c2.Write([]byte("hello"))
	c2.CloseWrite()
	if b := s.received(t); string(b) != "hello" {
		t.Fatalf("after the cut a new connection carried %q", b)
	}
}

func TestResetSendsRST(t *testing.T) {
	s := newServer(t, true)
	p := New(t, s.addr)
	fired := p.Arm(Rule{Fault: Reset, Dir: Down, After: 5})
	c := dial(t, p)
	c.Write([]byte("0123456789"))
	waitFired(t, fired)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("client got %q, %v; want a connection reset", got, err)
	}
	if !strings.HasPrefix("01234", string(got)) {
		t.Fatalf("client got %q before the reset", got)
	}
}

func TestStallKeepsTheConnectionOpen(t *testing.T) {
	s := newServer(t, false)
	p := New(t, s.addr)
	fired := p.Arm(Rule{Fault: Stall, Dir: Up, When: Before([]byte("UNLINK"), 2)})
	c := dial(t, p)
	c.Write([]byte("GET a\nUNL"))
	c.Write([]byte("INK b\nUNLINK c\n"))
	waitFired(t, fired)
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	n, err := c.Read(make([]byte, 10))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || n != 0 {
		t.Fatalf("a stalled read gave %d, %v; want a timeout", n, err)
	}
	if _, err := c.Write([]byte("more")); err != nil {
		t.Fatalf("a stalled connection refused a write: %v", err)
	}
	p.Close() // releases the stall; the server saw exactly the bytes before the 2nd UNLINK
	if b := s.received(t); string(b) != "GET a\nUNLINK b\n" {
		t.Fatalf("server got %q", b)
	}
}

func TestAfterChunkWithLetsTheCommandThrough(t *testing.T) {
	s := newServer(t, false)
	p := New(t, s.addr)
	fired := p.Arm(Rule{Fault: Cut, Dir: Up, When: AfterChunkWith([]byte("mn\r\n"), 2)})
	c := dial(t, p)
	c.Write([]byte("md a q\r\nmn\r\n"))
	c.Write([]byte("md b q\r\nmd c q\r\nmn\r\n"))
	waitFired(t, fired)
	if b := s.received(t); string(b) != "md a q\r\nmn\r\nmd b q\r\nmd c q\r\nmn\r\n" {
		t.Fatalf("server got %q", b)
	}
}

func TestSlowLimitsBandwidth(t *testing.T) {
	s := newServer(t, true)
	p := New(t, s.addr)
	p.Arm(Rule{Fault: Slow, Dir: Up, Rate: 40 << 10})
	c := dial(t, p)
	want := payload(20 << 10)
	start := time.Now()
	go c.Write(want)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("slow echo: %v", err)
	}
	// 20 KiB at 40 KiB/s, each way paced: at least half a second.
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Fatalf("20 KiB at 40 KiB/s took only %v", el)
	}
}

func TestHalfCloseTowardTheClient(t *testing.T) {
	s := newServer(t, true)
	p := New(t, s.addr)
	fired := p.Arm(Rule{Fault: HalfCloseClient, Dir: Up})
	c := dial(t, p)
	c.Write([]byte("ping"))
	waitFired(t, fired)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, err := io.ReadAll(c); err != nil || len(got) != 0 {
		t.Fatalf("client read %q, %v; want a clean EOF and no echo", got, err)
	}
	c.Write([]byte("pong")) // still reaches the server
	c.CloseWrite()
	if b := s.received(t); string(b) != "pingpong" {
		t.Fatalf("server got %q", b)
	}
}

func TestHalfCloseTowardTheServer(t *testing.T) {
	s := newServer(t, false)
	p := New(t, s.addr)
	fired := p.Arm(Rule{Fault: HalfCloseServer, Dir: Up, After: 4})
	c := dial(t, p)
	c.Write([]byte("pingpong"))
	waitFired(t, fired)
	if b := s.received(t); string(b) != "ping" {
		t.Fatalf("server got %q", b)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, _ := io.ReadAll(c); string(got) != "bye" {
		t.Fatalf("the server's answer to its EOF reached the client as %q", got)
	}
}

func TestEverywhereAndRefuse(t *testing.T) {
	s := newServer(t, true)
	p := New(t, s.addr)
	open := dial(t, p)
	open.Write([]byte("x"))
	if _, err := io.ReadFull(open, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	fired := p.Arm(Rule{Fault: Cut, Dir: Up, Everywhere: true})
	c := dial(t, p)
	c.Write([]byte("y"))
	waitFired(t, fired)
	for i, conn := range []*net.TCPConn{open, c, dial(t, p)} {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := conn.Read(make([]byte, 1)); err == nil {
			t.Fatalf("connection %d read %d bytes after a cut everywhere", i, n)
		}
	}
	if p.Accepted() != 3 {
		t.Fatalf("accepted %d connections", p.Accepted())
	}

	q := New(t, s.addr)
	kept := dial(t, q)
	q.Refuse()
	if _, err := net.DialTimeout("tcp", q.Addr(), time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial after Refuse: %v", err)
	}
	kept.Write([]byte("z"))
	if _, err := io.ReadFull(kept, make([]byte, 1)); err != nil {
		t.Fatalf("an open connection stopped at Refuse: %v", err)
	}
}

func TestApplyStallsEverything(t *testing.T) {
	s := newServer(t, true)
	p := New(t, s.addr)
	p.Apply(Stall)
	c := dial(t, p)
	c.Write([]byte("x"))
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	var ne net.Error
	if _, err := c.Read(make([]byte, 1)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read under a global stall: %v", err)
	}
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }
