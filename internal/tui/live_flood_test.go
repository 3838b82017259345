package tui

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// eventSource stands in for a server's event stream where no server can
// be made to send a chosen flood: the cache itself is real (the golden
// HTTP cache), its Watch is the test's.
type eventSource struct {
	backends.Backend
	watch func(ctx context.Context, opts backends.WatchOptions, fn func(backends.Event) error) error
}

func (s eventSource) Watch(ctx context.Context, opts backends.WatchOptions, fn func(backends.Event) error) error {
	return s.watch(ctx, opts, fn)
}

func withEvents(open func(context.Context) (backends.Backend, error), watch func(ctx context.Context, opts backends.WatchOptions, fn func(backends.Event) error) error) func(context.Context) (backends.Backend, error) {
	return func(ctx context.Context) (backends.Backend, error) {
		b, err := open(ctx)
		if err != nil {
			return nil, err
		}
		return eventSource{Backend: b, watch: watch}, nil
	}
}

// TestLiveFloodIsBounded: a flood of new keys written and deleted, first
// at about 200k events/s and then as fast as the source can send, must not
// grow the heap without bound nor hold a frame up: batches are coalesced
// and capped, overflow turns into (spaced) relistings, and removed keys
// are compacted away. The figures are logged.
func TestLiveFloodIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("floods for 4s")
	}
	var sent atomic.Int64
	phase := atomic.Int32{} // 0: paced, 1: unpaced, 2: stop
	watch := func(ctx context.Context, opts backends.WatchOptions, fn func(backends.Event) error) error {
		opts.Ready()
		now := time.Now()
		for i := 0; ctx.Err() == nil && phase.Load() < 2; i++ {
			k := fmt.Sprintf("flood:%d", i)
			if err := fn(backends.Event{Time: now, Kind: backends.EventSet, Key: k}); err != nil {
				return err
			}
			if i >= 500 { // some 500 flood keys live at a time
				if err := fn(backends.Event{Time: now, Kind: backends.EventDel, Key: fmt.Sprintf("flood:%d", i-500)}); err != nil {
					return err
				}
			}
			sent.Add(2)
			if phase.Load() == 0 && i%1000 == 999 {
				time.Sleep(10 * time.Millisecond) // ~2000 events per 10ms
				now = time.Now()
			}
		}
		<-ctx.Done()
		return ctx.Err()
	}
	d := newDriver(t, Options{Open: withEvents(goldenCache(t), watch), Kind: "http", StatsEvery: time.Hour})
	d.until("listing and live", func() bool { return d.scanDone() && d.liveOn() })

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	var slowest time.Duration
	var frames int
	run := func(p int32, dur time.Duration) float64 {
		phase.Store(p)
		from, start := sent.Load(), time.Now()
		end := time.After(dur)
		sample := time.NewTicker(100 * time.Millisecond)
		defer sample.Stop()
		for {
			select {
			case msg := <-d.msgs:
				t0 := time.Now()
				d.apply(msg)
				slowest = max(slowest, time.Since(t0))
				frames++
			case <-sample.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				d.seen = d.seen[:0] // the driver's own record is no part of the dashboard
			case <-end:
				return float64(sent.Load()-from) / time.Since(start).Seconds()
			}
		}
	}
	paced := run(0, 2*time.Second)
	unpaced := run(1, 2*time.Second)
	phase.Store(2)
	d.settle()
	// A key pressed right after the flood is handled at once.
	d.press("G")

	growth := int64(peak) - int64(base)
	t.Logf("paced %.0f ev/s, unpaced %.0f ev/s; %d messages applied, slowest %v; heap in use %d MiB at start, peak +%d MiB; keys held %d, removed held %d",
		paced, unpaced, frames, slowest.Round(time.Millisecond), base>>20, growth>>20, d.m.list.Store().Len(), d.m.list.Store().Removed())
	if unpaced < 100000 {
		t.Fatalf("the source sent only %.0f ev/s: no flood", unpaced)
	}
	if growth > 64<<20 {
		t.Fatalf("the heap grew by %d MiB under the flood", growth>>20)
	}
	if slowest > 250*time.Millisecond {
		t.Fatalf("a message took %v to apply: the UI froze", slowest)
	}
	if n := d.m.list.Store().Removed(); n > 1<<17 {
		t.Fatalf("%d removed keys still held", n)
	}
	if d.m.c.Live.State != uictx.LiveOn {
		t.Fatalf("live state %v after the flood", d.m.c.Live.State)
	}
}
