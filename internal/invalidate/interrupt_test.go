package invalidate

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/backends/redis"
	"github.com/cachectl/cachectl/internal/faultproxy"
	"github.com/cachectl/cachectl/internal/testenv"
)

// TestInterruptDuringStalledBatch: Ctrl-C while a batch is in flight and the
// server never answers it. The run waits for that batch (within the
// timeout), then fails with an error that is both the interruption (exit
// 130) and the batch's own failure; the counts stay exact.
func TestInterruptDuringStalledBatch(t *testing.T) {
	raw := testenv.RedisURL(t)
	direct := open(t, raw, redis.Open, backends.Options{})
	fill(t, direct, "", []string{"s"}, 100)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	px := faultproxy.New(t, u.Host)
	u.Host = px.Addr()
	b := open(t, u.String(), redis.Open, backends.Options{Timeout: 500 * time.Millisecond})
	// The 3rd batch of 20 reaches the server; its answer never comes back.
	fired := px.Arm(faultproxy.Rule{Fault: faultproxy.Stall, Dir: faultproxy.Up, Everywhere: true,
		When: faultproxy.AfterChunkWith([]byte("\r\nunlink\r\n"), 41)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-fired; cancel() }()
	sum, err := Run(ctx, b, Options{Patterns: []string{"s:*"}, Batch: 20})
	var ie *InterruptedError
	var ce *backends.ConnError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &ie) || !errors.As(err, &ce) {
		t.Fatalf("err %v (%T), want an interruption wrapping the batch's connection error", err, err)
	}
	px.Close()
	lost := int64(100 - len(keys(t, direct, "s:*")))
	if sum.Deleted != 40 || sum.Unconfirmed != 20 || lost < sum.Deleted || lost > sum.Deleted+sum.Unconfirmed {
		t.Fatalf("summary %+v; the server lost %d", sum, lost)
	}
}
