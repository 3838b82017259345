package redis

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/faultproxy"
)

// viaProxy opens the backend on raw's database through a fault proxy.
func viaProxy(t *testing.T, raw string, opts backends.Options) (*Backend, *faultproxy.Proxy) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	px := faultproxy.New(t, u.Host)
	u.Host = px.Addr()
	return open(t, u.String(), opts), px
}

func awaitFault(t *testing.T, fired <-chan struct{}) {
	t.Helper()
	select { // the proxy marks the rule fired just after it strikes
	case <-fired:
	case <-time.After(2 * time.Second):
		t.Fatal("the fault never struck")
	}
}

// TestWritesAreNotResent: a write whose reply was lost (the server got it,
// then the connection was cut; a new connection would work) is an error,
// never sent again on a new connection: a re-sent UNLINK answers 0 for the
// keys the first one deleted and the count would say nothing was deleted.
func TestWritesAreNotResent(t *testing.T) {
	ctx := context.Background()
	direct, raw := fresh(t)
	keys := make([]string, 20)
	for i := range keys {
		keys[i] = fmt.Sprintf("w:%02d", i)
	}
	for _, tc := range []struct {
		name, token string
		write       func(b *Backend) error
		check       func() error
	}{
		{"delete", "unlink", func(b *Backend) error {
			n, err := b.Delete(ctx, keys...)
			if err != nil && n != 0 {
				return fmt.Errorf("deleted %d with the reply lost", n)
			}
			return err
		}, func() error {
			if n, _ := direct.client.Exists(ctx, keys...).Result(); n != 0 {
				return fmt.Errorf("%d keys left: the server did not get the UNLINKs", n)
			}
			return nil
		}},
		{"set", "set", func(b *Backend) error { return b.Set(ctx, "w:00", []byte("new"), 0) }, func() error {
			if v, _ := direct.client.Get(ctx, "w:00").Result(); v != "new" {
				return fmt.Errorf("w:00 = %q: the server did not get the SET", v)
			}
			return nil
		}},
		{"expire", "pexpire", func(b *Backend) error { return b.Expire(ctx, "w:01", time.Hour) }, func() error {
			if d, _ := direct.client.PTTL(ctx, "w:01").Result(); d <= 0 {
				return fmt.Errorf("w:01 TTL %v: the server did not get the PEXPIRE", d)
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range keys {
				if err := direct.Set(ctx, k, []byte("v"), 0); err != nil {
					t.Fatal(err)
				}
			}
			b, px := viaProxy(t, raw, backends.Options{Timeout: 2 * time.Second})
			fired := px.Arm(faultproxy.Rule{Fault: faultproxy.Cut, Dir: faultproxy.Up, When: faultproxy.AfterChunkWith([]byte("\r\n"+tc.token+"\r\n"), 1)})
			err := tc.write(b)
			awaitFault(t, fired)
			var ce *backends.ConnError
			if !errors.As(err, &ce) {
				t.Fatalf("%s with its reply lost: %v (%T), want a connection error", tc.name, err, err)
			}
			if n := px.Accepted(); n != 1 {
				t.Fatalf("%d connections: the write was sent again", n)
			}
			if err := tc.check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCancelWhileStalled: Ctrl-C during a read the server never answers
// ends it as a cancellation (exit 130), not as a timeout.
func TestCancelWhileStalled(t *testing.T) {
	_, raw := fresh(t)
	b, px := viaProxy(t, raw, backends.Options{Timeout: 500 * time.Millisecond})
	fired := px.Arm(faultproxy.Rule{Fault: faultproxy.Stall, Dir: faultproxy.Up, Everywhere: true})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-fired; cancel() }()
	_, err := b.Get(ctx, "k")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Get after Ctrl-C: %v, want context.Canceled", err)
	}
	// Without Ctrl-C the same stall is the timeout it is.
	_, err = b.Get(context.Background(), "k")
	var ce *backends.ConnError
	if !errors.As(err, &ce) || errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "no answer within 500ms") {
		t.Fatalf("Get on a stalled link: %v", err)
	}
}
