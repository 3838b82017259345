// Package watchtest runs a backends.Watcher in tests as the dashboard runs
// it: in a goroutine feeding a channel. It is not in testenv because glob's
// tests import testenv and backends imports glob.
package watchtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
)

// Watching is a backends.Watcher's Watch running in a goroutine that feeds
// a channel, as the dashboard runs it.
type Watching struct {
	events chan backends.Event
	done   chan error
	cancel context.CancelFunc
}

// Start starts w.Watch and returns once every subscription is
// confirmed (opts.Ready); the watch is stopped when the test ends.
func Start(t testing.TB, w backends.Watcher, opts backends.WatchOptions) *Watching {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ww := &Watching{events: make(chan backends.Event, 1000), done: make(chan error, 1), cancel: cancel}
	ready := make(chan struct{})
	opts.Ready = func() { close(ready) }
	go func() {
		ww.done <- w.Watch(ctx, opts, func(e backends.Event) error {
			select {
			case ww.events <- e:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	t.Cleanup(func() { _ = ww.Stop() })
	select {
	case <-ready:
	case err := <-ww.done:
		t.Fatalf("the watch did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the watch did not start within 30s")
	}
	return ww
}

// Stop cancels the watch and returns what Watch returned.
func (w *Watching) Stop() error {
	w.cancel()
	select {
	case err := <-w.done:
		w.done <- err // Stop may be called again (Cleanup)
		return err
	case <-time.After(30 * time.Second):
		return errors.New("the watch did not end within 30s of its cancellation")
	}
}

// Await reads events until one has kind and key ("" for any), failing
// the test after timeout; it returns that event and those read before it.
func (w *Watching) Await(t testing.TB, kind, key string, timeout time.Duration) (backends.Event, []backends.Event) {
	t.Helper()
	var before []backends.Event
	deadline := time.After(timeout)
	for {
		select {
		case e := <-w.events:
			if (kind == "" || e.Kind == kind) && (key == "" || e.Key == key) {
				return e, before
			}
			before = append(before, e)
		case err := <-w.done:
			w.done <- err
			t.Fatalf("the watch ended (%v) before a %s event of %q; saw %v", err, kind, key, before)
		case <-deadline:
			t.Fatalf("no %s event of %q within %v; saw %v", kind, key, timeout, before)
		}
	}
}
