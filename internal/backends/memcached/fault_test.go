package memcached

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/faultproxy"
	"github.com/cachectl/cachectl/internal/testenv"
)

// TestScanBrokenConnection: a listing whose connection breaks (after items
// flowed, by a reset, or by a close at the command from a real memcached)
// is a connection error, never "not supported" as twemproxy's hang-up is
// (TestClassicProtocol).
func TestScanBrokenConnection(t *testing.T) {
	addr := testenv.MemcachedAddr(t)
	seed := open(t, "memcached://"+addr, backends.Options{})
	p := prefix(t)
	for i := range 300 {
		if err := seed.Set(context.Background(), fmt.Sprintf("%s%03d", p, i), []byte("v"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	atCommand := func() func([]byte) (int, bool) { return faultproxy.Before([]byte("lru_crawler"), 1) }
	for _, tc := range []struct {
		name string
		rule faultproxy.Rule
	}{
		{"cut-after-items", faultproxy.Rule{Fault: faultproxy.Cut, Dir: faultproxy.Down, After: 4000}},
		{"reset-after-items", faultproxy.Rule{Fault: faultproxy.Reset, Dir: faultproxy.Down, After: 4000}},
		{"half-close-after-items", faultproxy.Rule{Fault: faultproxy.HalfCloseClient, Dir: faultproxy.Down, After: 4000}},
		// Nothing came back, as from twemproxy, but the server answers the
		// meta no-op on a new connection: a real memcached, so a real break.
		{"cut-one-conn-at-command", faultproxy.Rule{Fault: faultproxy.Cut, Dir: faultproxy.Up, When: atCommand()}},
		{"cut-at-command", faultproxy.Rule{Fault: faultproxy.Cut, Dir: faultproxy.Up, When: atCommand(), Everywhere: true}},
		{"reset-at-command", faultproxy.Rule{Fault: faultproxy.Reset, Dir: faultproxy.Up, When: atCommand(), Everywhere: true}},
		{"half-close-at-command", faultproxy.Rule{Fault: faultproxy.HalfCloseClient, Dir: faultproxy.Up, When: atCommand(), Everywhere: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			px := faultproxy.New(t, addr)
			fired := px.Arm(tc.rule)
			b := open(t, "memcached://"+px.Addr(), backends.Options{Timeout: 2 * time.Second})
			err := b.Scan(context.Background(), p+"*", func([]string) error { return nil })
			select { // the proxy marks the rule fired just after it strikes
			case <-fired:
			case <-time.After(2 * time.Second):
				t.Fatalf("the fault never struck; Scan: %v", err)
			}
			var ce *backends.ConnError
			var ue *backends.UnsupportedError
			if errors.As(err, &ue) || !errors.As(err, &ce) {
				t.Fatalf("Scan = %v (%T), want a connection error", err, err)
			}
		})
	}
}
