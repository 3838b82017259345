package commands

import (
	"bufio"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"
)

// Hostile server text: an OSC window title ended by BEL, a colour, a screen
// clear, a C1 CSI and a bidi override. None of it may reach a terminal raw.
const hostile = "\x1b]0;pwn\x07\x1b[31mred\x1b[2J\u009b1m\u202erev\x7f"

// terminalUnsafe returns the first byte or rune of s a terminal could act
// on (anything but printable text, newlines and the spaces tabwriter pads
// with), or "" when there is none.
func terminalUnsafe(s string) string {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return fmt.Sprintf("invalid byte %#x at %d", s[i], i)
		case r == '\n':
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f,
			r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0xfeff:
			return fmt.Sprintf("%U at %d", r, i)
		}
		i += size
	}
	return ""
}

// serveLines runs a line-oriented fake server on loopback: reply gets each
// request line and returns the bytes to answer (nil: read on).
func serveLines(t *testing.T, reply func(line string, r *bufio.Reader) []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if out := reply(strings.TrimRight(line, "\r\n"), r); out != nil {
						if _, err := c.Write(out); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// fakeRedis answers INFO with hostile fields, DBSIZE with a count and
// everything else with an error reply holding hostile text.
func fakeRedis(t *testing.T) string {
	return serveLines(t, func(line string, r *bufio.Reader) []byte {
		if !strings.HasPrefix(line, "*") {
			return nil
		}
		n, _ := strconv.Atoi(line[1:])
		var args []string
		for i := 0; i < n; i++ {
			r.ReadString('\n') // $len
			a, _ := r.ReadString('\n')
			args = append(args, strings.TrimRight(a, "\r\n"))
		}
		if len(args) > 0 && strings.EqualFold(args[0], "INFO") {
			info := "# Server\r\nredis_version:7.0" + hostile + "\r\nos:Linux" + hostile + "\r\nuptime_in_seconds:5\r\n"
			return fmt.Appendf(nil, "$%d\r\n%s\r\n", len(info), info)
		}
		if len(args) > 0 && strings.EqualFold(args[0], "DBSIZE") {
			return []byte(":3\r\n")
		}
		return []byte("-ERR " + hostile + "\r\n")
	})
}

// fakeMemcached fails every command but stats, whose version is hostile.
func fakeMemcached(t *testing.T) string {
	return serveLines(t, func(line string, _ *bufio.Reader) []byte {
		if line == "stats" {
			return []byte("STAT pid 1\r\nSTAT version 1.6" + hostile + "\r\nSTAT curr_items 3\r\nEND\r\n")
		}
		if line == "version" {
			return []byte("VERSION 1.6" + hostile + "\r\n")
		}
		return []byte("SERVER_ERROR " + hostile + "\r\n")
	})
}

// fakeHTTPCache speaks just enough of protocol v1 to be opened, then answers
// with hostile stats, JSON errors, plain bodies and reason phrases.
func fakeHTTPCache(t *testing.T) string {
	esc := strings.NewReplacer("\x1b", `\u001b`, "\x07", `\u0007`, "\x7f", `\u007f`).Replace(hostile)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/capabilities":
			fmt.Fprint(w, `{"version":1,"capabilities":["keys","entry","stats","invalidate","expire"]}`)
		case "/v1/stats":
			fmt.Fprintf(w, `{"keys":1,"version":"9%s","server":"x%s"}`, esc, esc)
		case "/v1/keys":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, `{"error":"bad %s"}`, esc)
		default: // a raw reason phrase and a plain-text body
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			body := "plain " + hostile
			fmt.Fprintf(buf, "HTTP/1.1 503 Bad%s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", "\x1b[31mReason", len(body), body)
			buf.Flush()
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestServerTextNeverReachesTheTerminalRaw(t *testing.T) {
	redis := "redis://" + fakeRedis(t)
	mc := "memcached://" + fakeMemcached(t)
	web := fakeHTTPCache(t)
	tests := []struct {
		name string
		args []string
		want string // the escaped form that must be shown instead
	}{
		{"redis error reply", []string{"-u", redis, "get", "k"}, `ERR \x1b]0;pwn\x07\x1b[31mred`},
		{"redis error on set", []string{"-u", redis, "set", "k", "v"}, `\x1b[2J`},
		{"redis error on keys", []string{"-u", redis, "keys"}, `\u009b1m\u202erev\x7f`},
		{"redis error on del", []string{"-u", redis, "del", "k"}, `\x1b]0;pwn`},
		{"redis error on invalidate", []string{"-u", redis, "invalidate", "k*", "--yes"}, `\x1b]0;pwn`},
		{"redis stats version", []string{"-u", redis, "stats"}, `redis 7.0\x1b]0;pwn\x07`},
		{"redis stats raw fields", []string{"-u", redis, "stats", "--raw"}, `Linux\x1b]0;pwn\x07`},
		{"redis stats json", []string{"-u", redis, "stats", "-o", "json"}, `\u009b1m\u202erev\u007f`},
		{"memcached server error", []string{"-u", mc, "get", "k"}, `SERVER_ERROR`},
		{"memcached error on set", []string{"-u", mc, "set", "k", "v"}, `SERVER_ERROR`},
		{"memcached stats version", []string{"-u", mc, "stats"}, `1.6\x1b]0;pwn\x07`},
		{"memcached stats raw", []string{"-u", mc, "stats", "--raw"}, `1.6\x1b]0;pwn\x07`},
		{"http error body", []string{"-u", web, "keys"}, `bad \x1b]0;pwn\x07`},
		{"http reason phrase", []string{"-u", web, "get", "k"}, `Bad\x1b[31mReason`},
		{"http reason phrase on set", []string{"-u", web, "set", "k", "v"}, `Bad\x1b[31mReason`},
		{"http stats version", []string{"-u", web, "stats"}, `9\x1b]0;pwn\x07`},
		{"http stats raw", []string{"-u", web, "stats", "--raw"}, `x\x1b]0;pwn\x07`},
		{"http stats json", []string{"-u", web, "stats", "-o", "json"}, `\u009b1m\u202erev\u007f`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRun(t, nil)
			code := r.run(append([]string{"--timeout", "2s"}, tt.args...)...)
			out, errOut := r.stdout.String(), r.stderr.String()
			if bad := terminalUnsafe(out); bad != "" {
				t.Errorf("stdout holds %s: %q", bad, out)
			}
			if bad := terminalUnsafe(errOut); bad != "" {
				t.Errorf("stderr holds %s: %q", bad, errOut)
			}
			if !strings.Contains(out+errOut, tt.want) {
				t.Errorf("exit %d; output lacks %q:\nstdout: %q\nstderr: %q", code, tt.want, out, errOut)
			}
			if n := strings.Count(errOut, "\n"); code != 0 && n != 1 {
				t.Errorf("an error is one line, got %d: %q", n, errOut)
			}
		})
	}
}

func TestBrokenPipeExitCode(t *testing.T) {
	stdout := &fs.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.EPIPE}
	if got := ExitCode(fmt.Errorf("dump stopped after 3 entries: %w", stdout)); got != ExitBrokenPipe {
		t.Errorf("EPIPE on output: exit %d, want %d", got, ExitBrokenPipe)
	}
	// A server that closed its end while we wrote is a connection error.
	conn := &net.OpError{Op: "write", Net: "tcp", Err: &os.SyscallError{Syscall: "write", Err: syscall.EPIPE}}
	if got := ExitCode(fmt.Errorf("get k: %w", conn)); got != ExitError {
		t.Errorf("EPIPE on a server connection: exit %d, want %d", got, ExitError)
	}
}

func TestBackendWarningsAreEscaped(t *testing.T) {
	r := newTestRun(t, nil)
	r.f.warn("NOPERM " + hostile + "\nsecond line")
	got := r.stderr.String()
	if bad := terminalUnsafe(got); bad != "" {
		t.Errorf("warning holds %s: %q", bad, got)
	}
	if strings.Count(got, "\n") != 1 || !strings.Contains(got, `NOPERM \x1b]0;pwn\x07`) {
		t.Errorf("warning: %q", got)
	}
}

func TestErrorMessageKeepsPunctuationAfterURLs(t *testing.T) {
	err := fmt.Errorf("invalid cache URL redis://h/0?password=***: put it elsewhere; see http://u:pw@h:1/, then retry")
	want := "invalid cache URL redis://h/0?password=***: put it elsewhere; see http://***@h:1/, then retry" // an HTTP cache has no user names
	if got := ErrorMessage(err); got != want {
		t.Errorf("ErrorMessage = %q, want %q", got, want)
	}
}
