package tui

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/backends/redis"
)

// hostileRedis is a fake server whose INFO reports a version full of
// escapes and whose every other reply is an error full of them.
func hostileRedis(t *testing.T) string {
	t.Helper()
	const evil = "\x1b]0;pwn\x07\x1b[2J\u009b1m\u202e"
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
					n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
					var args []string
					for i := 0; i < n; i++ {
						r.ReadString('\n')
						a, _ := r.ReadString('\n')
						args = append(args, strings.ToUpper(strings.TrimSpace(a)))
					}
					reply := "-ERR listing " + evil + "\r\n"
					switch {
					case len(args) > 0 && args[0] == "INFO":
						info := "redis_version:7.0" + evil + "\r\nuptime_in_seconds:1\r\n"
						reply = fmt.Sprintf("$%d\r\n%s\r\n", len(info), info)
					case len(args) > 0 && args[0] == "DBSIZE":
						reply = ":1\r\n"
					}
					if _, err := c.Write([]byte(reply)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "redis://" + ln.Addr().String()
}

func TestHostileServerTextIsEscaped(t *testing.T) {
	u, err := url.Parse(hostileRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	opts := backends.Options{ScanCount: 100, Timeout: 2 * time.Second}
	open := func(ctx context.Context) (backends.Backend, error) { return redis.Open(ctx, u, opts) }
	d := newDriver(t, Options{Open: open})
	d.until("the listing error and stats", func() bool { return d.m.list.ScanErr() != nil && d.m.header.Stats() != nil })
	d.m.status.Set("", false) // the status line shows the listing error when nothing else
	v := d.m.View()
	for _, bad := range []string{"\x1b]0;", "\x07", "\x1b[2J", "\u009b", "\u202e"} {
		if strings.Contains(v.Content, bad) || strings.Contains(v.WindowTitle, bad) {
			t.Errorf("the frame carries %q raw", bad)
		}
	}
	contains(t, d.screen(), `7.0\x1b]0;pwn\x07\x1b[2J\u009b1m\u202e`, `listing \x1b]0;pwn\x07`)
}
