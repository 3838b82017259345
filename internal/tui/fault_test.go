package tui

import (
	"context"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/backends/redis"
	"github.com/cachectl/cachectl/internal/faultproxy"
	"github.com/cachectl/cachectl/internal/testenv"
)

// The dashboard's delete (d, y) under a fault between it and a real Redis:
// the status line says what happened in one escaped line, the UI keeps
// answering, the key list matches the server, and no other key is touched.
func TestDeleteUnderFault(t *testing.T) {
	const (
		unconfirmed = "unconfirmed" // the delete's answer never came, nor did a lookup's
		deleted     = "deleted"     // the key is gone, and the dashboard says so
		stillThere  = "still there" // a lookup showed the delete did not happen
	)
	cases := []struct {
		name string
		rule faultproxy.Rule
		// gone: whether the server loses the key (the UNLINK reached it).
		gone    bool
		outcome string
	}{
		{"cut before the unlink", faultproxy.Rule{Fault: faultproxy.Cut, When: faultproxy.Before([]byte("unlink"), 1), Everywhere: true}, false, unconfirmed},
		{"reset before the unlink", faultproxy.Rule{Fault: faultproxy.Reset, When: faultproxy.Before([]byte("unlink"), 1), Everywhere: true}, false, unconfirmed},
		{"stall before the unlink", faultproxy.Rule{Fault: faultproxy.Stall, When: faultproxy.Before([]byte("unlink"), 1), Everywhere: true}, false, unconfirmed},
		// Half-open: the unlink still reaches the server, the answer cannot come back.
		{"half-close before the unlink", faultproxy.Rule{Fault: faultproxy.HalfCloseClient, When: faultproxy.Before([]byte("unlink"), 1), Everywhere: true}, true, unconfirmed},
		{"stall after the unlink", faultproxy.Rule{Fault: faultproxy.Stall, When: faultproxy.AfterChunkWith([]byte("unlink"), 1), Everywhere: true}, true, unconfirmed},
		// One connection breaks; the lookup on a new one tells the truth.
		{"cut one connection after the unlink", faultproxy.Rule{Fault: faultproxy.Cut, When: faultproxy.AfterChunkWith([]byte("unlink"), 1)}, true, deleted},
		{"cut one connection before the unlink", faultproxy.Rule{Fault: faultproxy.Cut, When: faultproxy.Before([]byte("unlink"), 1)}, false, stillThere},
		{"slow", faultproxy.Rule{Fault: faultproxy.Slow, Rate: 8 << 10}, true, deleted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw := testenv.RedisURL(t)
			rdb := testenv.RedisClient(t, raw)
			ctx := context.Background()
			victim := "k:victim"
			keep := []string{"k:", "k:vic", "victim", "k:0", "k:\x1b[31mvictim"}
			for _, k := range append([]string{victim}, keep...) {
				if err := rdb.Set(ctx, k, "v "+k, 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			u, _ := url.Parse(raw)
			p := faultproxy.New(t, u.Host)
			pu := *u
			pu.Host = p.Addr()
			const timeout = 300 * time.Millisecond
			open := func(ctx context.Context) (backends.Backend, error) {
				return redis.Open(ctx, &pu, backends.Options{Timeout: timeout, ScanCount: 100})
			}
			d := newDriver(t, Options{Open: open, Timeout: timeout})
			d.until("scan", d.scanDone)
			d.selectKey(victim)

			fired := p.Arm(tc.rule)
			d.press("d", "y")
			d.until("the delete's outcome: "+tc.outcome, func() bool {
				switch tc.outcome {
				case deleted:
					return strings.HasPrefix(d.statusText(), "deleted ")
				case stillThere:
					return strings.Contains(d.statusText(), "is still there")
				}
				return strings.Contains(d.statusText(), "unconfirmed")
			})
			select {
			case <-fired:
			default:
				t.Fatal("the fault never struck")
			}
			status := d.statusText()
			t.Logf("status %q (error %v)", status, d.statusErr())
			if regexp.MustCompile(`[\x00-\x1f\x7f]`).MatchString(status) {
				t.Errorf("the status line carries raw control bytes: %q", status)
			}
			if d.statusErr() != (tc.outcome != deleted) || strings.Contains(status, "delete failed") {
				t.Errorf("status %q (error %v), want %s", status, d.statusErr(), tc.outcome)
			}
			if !strings.Contains(status, victim) {
				t.Errorf("the status does not name the key: %q", status)
			}
			if tc.outcome == unconfirmed && !strings.Contains(status, "press r to refresh") {
				t.Errorf("an unconfirmed delete does not say how to see the truth: %q", status)
			}
			// Where the UNLINK gets through, the proxy may still be passing it on
			// when the dashboard has given up on the answer: await the server.
			gone := func() bool {
				n, err := rdb.Exists(ctx, victim).Result()
				if err != nil {
					t.Fatal(err)
				}
				return n == 0
			}
			lost := gone()
			for deadline := time.Now().Add(5 * time.Second); tc.gone && !lost && time.Now().Before(deadline); lost = gone() {
				runtime.Gosched()
			}
			if lost != tc.gone {
				t.Errorf("server lost the key: %v, want %v", lost, tc.gone)
			}
			// The list keeps the key exactly when the dashboard does not know it is gone.
			if listed := d.m.list.Store().Len() == 1+len(keep); listed == (tc.outcome == deleted) {
				t.Errorf("the key is listed: %v after status %q", listed, status)
			}
			for _, k := range keep {
				if v, err := rdb.Get(ctx, k).Result(); err != nil || v != "v "+k {
					t.Errorf("%q was touched: %q, %v", k, v, err)
				}
			}
			start := time.Now()
			d.press("?")
			if time.Since(start) > 100*time.Millisecond {
				t.Error("the dashboard stopped answering keys")
			}
		})
	}
}
