package watchtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
)

// Sampling is a hot-key sample (HotKeyer.HotKeys of a sampling method)
// running in a goroutine until stopped, its counts readable meanwhile.
type Sampling struct {
	Counter *backends.HotCounter
	Method  string
	cancel  context.CancelFunc
	done    chan sampled
}

type sampled struct {
	r   *backends.HotReport
	err error
}

// StartHot starts hk.HotKeys with no duration, counting into a counter of
// opts.Patterns, and returns once the sample runs (opts.Started).
func StartHot(t testing.TB, hk backends.HotKeyer, opts backends.HotOptions) *Sampling {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sampling{Counter: backends.NewHotCounter(opts.Capacity, opts.Patterns), cancel: cancel, done: make(chan sampled, 1)}
	opts.Counter, opts.Duration = s.Counter, 0
	started := make(chan string, 1)
	opts.Started = func(m string) { started <- m }
	go func() {
		r, err := hk.HotKeys(ctx, opts)
		s.done <- sampled{r, err}
	}()
	t.Cleanup(func() { _, _ = s.Stop() })
	select {
	case s.Method = <-started:
	case r := <-s.done:
		t.Fatalf("the sample did not start: %v", r.err)
	case <-time.After(30 * time.Second):
		t.Fatal("the sample did not start within 30s")
	}
	return s
}

// AwaitCount waits until key (on node, when not "") has been counted at
// least n times, and returns the counts so far.
func (s *Sampling) AwaitCount(t testing.TB, node, key string, n int64, timeout time.Duration) *backends.HotReport {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r := s.Counter.Report(s.Method, 0, 0)
		for _, k := range r.Keys {
			if k.Key == key && (node == "" || k.Node == node) && k.Count >= n {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q was not counted %d times within %v: %+v", key, n, timeout, r.Keys)
		}
		select {
		case d := <-s.done:
			s.done <- d
			t.Fatalf("the sample ended before %q was counted: %v", key, d.err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Stop cancels the sample and returns what HotKeys returned.
func (s *Sampling) Stop() (*backends.HotReport, error) {
	s.cancel()
	select {
	case d := <-s.done:
		s.done <- d // Stop may be called again (Cleanup)
		return d.r, d.err
	case <-time.After(30 * time.Second):
		return nil, errors.New("the sample did not end within 30s of its cancellation")
	}
}
