package httpmem

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/faultproxy"
	"github.com/cachectl/cachectl/internal/memserver"
)

// TestBodyReadFaults: a listing page whose body breaks off mid-way is a
// transport failure: Ctrl-C is an interruption (exit 130), a stall the
// timeout, a reset a connection error; never "bad JSON answer".
func TestBodyReadFaults(t *testing.T) {
	store := memserver.NewStore(memserver.Options{})
	for i := range 2000 {
		if err := store.Set(fmt.Sprintf("page:%04d:%s", i, strings.Repeat("x", 40)), []byte("v"), 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(memserver.NewHandler(store, memserver.HandlerOptions{}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name      string
		fault     faultproxy.Fault
		interrupt bool
		want      func(error) bool
	}{
		{"stall+sigint", faultproxy.Stall, true, func(err error) bool { return errors.Is(err, context.Canceled) }},
		{"stall", faultproxy.Stall, false, func(err error) bool {
			var ce *backends.ConnError
			return errors.As(err, &ce) && strings.Contains(err.Error(), "no answer within 500ms")
		}},
		{"reset", faultproxy.Reset, false, func(err error) bool {
			var ce *backends.ConnError
			return errors.As(err, &ce)
		}},
		{"cut", faultproxy.Cut, false, func(err error) bool {
			var ce *backends.ConnError
			return errors.As(err, &ce) && strings.Contains(err.Error(), "connection closed by server")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			px := faultproxy.New(t, srv.Listener.Addr().String())
			b := openURL(t, "http://"+px.Addr(), "")
			b.opts.Timeout, b.opts.ScanCount = 500*time.Millisecond, 1000
			// Well inside the first page's body (1000 keys, ~70 KB).
			fired := px.Arm(faultproxy.Rule{Fault: tc.fault, Dir: faultproxy.Down, After: 20000, Everywhere: true})
			// As signal.NotifyContext does on Ctrl-C: cancelled with a cause.
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			if tc.interrupt {
				go func() { <-fired; cancel(errors.New("interrupt signal received")) }()
			}
			err := b.Scan(ctx, "page:*", func([]string) error { return nil })
			if !tc.want(err) || strings.Contains(err.Error(), "bad JSON") {
				t.Fatalf("Scan = %v (%T)", err, err)
			}
		})
	}
}
