package deleter

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// keys is a backend holding key names only, for deletes; what a test does
// not need stays the nil interface, so an unexpected call panics. The bulk
// delete calls it from its own goroutines.
type keys struct {
	backends.Backend
	mu         sync.Mutex
	held       []string
	deleteErr  error // every Delete fails with it, deleting nothing
	inspectErr error // every Inspect fails with it
}

func (s *keys) Scan(ctx context.Context, pattern string, fn func([]string) error) error {
	s.mu.Lock()
	var match []string
	for _, k := range s.held {
		if strings.HasPrefix(k, strings.TrimSuffix(pattern, "*")) {
			match = append(match, k)
		}
	}
	s.mu.Unlock()
	return fn(match)
}

func (s *keys) Delete(_ context.Context, ks ...string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deleteErr != nil {
		return 0, s.deleteErr
	}
	n := len(s.held)
	s.held = slices.DeleteFunc(s.held, func(k string) bool { return slices.Contains(ks, k) })
	return int64(n - len(s.held)), nil
}

func (s *keys) Inspect(_ context.Context, ks []string) ([]backends.KeyInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inspectErr != nil {
		return nil, s.inspectErr
	}
	out := make([]backends.KeyInfo, len(ks))
	for i, k := range ks {
		out[i] = backends.KeyInfo{Key: k, Missing: !slices.Contains(s.held, k)}
	}
	return out, nil
}

// writes drives the deletes alone: commands run at once in the test's
// goroutine and their messages go back until none is left; what it
// publishes is kept for the test to read.
type writes struct {
	c      *uictx.Context
	m      *Model
	events []tea.Msg
	quit   bool
}

func newWrites(b backends.Backend) *writes {
	c := uictx.New(context.Background(), time.Now, time.Second, false)
	c.Backend = b
	return &writes{c: c, m: New(c)}
}

// run hands what was published to the deletes, as the root does, then
// runs cmd and hands it its message.
func (w *writes) run(cmd tea.Cmd) {
	for evs := w.c.Events(); len(evs) > 0; evs = w.c.Events() {
		for _, e := range evs {
			w.events = append(w.events, e)
			w.run(w.m.Update(e))
		}
	}
	if cmd == nil {
		return
	}
	switch msg := cmd().(type) {
	case nil:
	case tea.QuitMsg:
		w.quit = true
	case tea.BatchMsg:
		for _, c := range msg {
			w.run(c)
		}
	default:
		w.update(msg)
	}
}

func (w *writes) update(msg tea.Msg) { w.run(w.m.Update(msg)) }

func (w *writes) press(k string) { w.update(tea.KeyPressMsg{Code: rune(k[0]), Text: k}) }

// take returns the events published since the last take.
func (w *writes) take() []tea.Msg {
	e := w.events
	w.events = nil
	return e
}

func (w *writes) ask(t *testing.T) uictx.Ask {
	t.Helper()
	for _, e := range w.take() {
		if a, ok := e.(uictx.Ask); ok {
			return a
		}
	}
	t.Fatal("nothing was asked")
	return uictx.Ask{}
}

func status(evs []tea.Msg) (text string, isErr bool) {
	for _, e := range evs {
		if s, ok := e.(uictx.Status); ok {
			text, isErr = s.Text, s.Err
		}
	}
	return text, isErr
}

func published[E any](evs []tea.Msg) []E {
	var out []E
	for _, e := range evs {
		if e, ok := e.(E); ok {
			out = append(out, e)
		}
	}
	return out
}

// d asks about the selected key; y deletes it and tells the list it is gone.
func TestDeleteAsksAndReportsTheKeyGone(t *testing.T) {
	b := &keys{held: []string{"k:0", "k:1"}}
	w := newWrites(b)
	w.update(uictx.Selected{Key: "k:0", Branch: true})
	w.press("d")
	if s, _ := status(w.take()); !strings.HasPrefix(s, "d deletes one key") {
		t.Fatalf("d on a branch: %q", s)
	}
	w.update(uictx.Selected{Key: "k:0"})
	w.press("d")
	a := w.ask(t)
	if !a.YesNo || a.Label != "Delete k:0? " {
		t.Fatalf("asked %+v", a)
	}
	w.run(a.Decline())
	if s, _ := status(w.take()); s != "not deleted" || len(b.held) != 2 {
		t.Fatalf("declined: %q, %v held", s, b.held)
	}
	w.press("d")
	w.run(w.ask(t).Answer("y"))
	evs := w.take()
	if s, isErr := status(evs); s != "deleted k:0" || isErr {
		t.Fatalf("status %q %v", s, isErr)
	}
	if g := published[uictx.KeyDeleted](evs); len(g) != 1 || g[0].Key != "k:0" || len(published[uictx.KeysChanged](evs)) != 1 {
		t.Fatalf("published %v", evs)
	}
	if !slices.Equal(b.held, []string{"k:1"}) {
		t.Fatalf("held %v", b.held)
	}

	w.c.ReadOnly = true
	w.update(uictx.Selected{Key: "k:1"})
	w.press("d")
	evs = w.take()
	if s, _ := status(evs); len(published[uictx.Ask](evs)) != 0 || !strings.Contains(s, "read-only") {
		t.Fatalf("read-only d: %v", evs)
	}
}

// A delete whose answer was lost is looked up again on the clock until the
// server tells; only a key found gone leaves the list.
func TestUnconfirmedDeleteIsCheckedAgain(t *testing.T) {
	for _, tc := range []struct {
		name   string
		gone   bool
		status string
	}{
		{"gone", true, "deleted k (confirmed by looking again)"},
		{"still there", false, "k is still there: the delete did not happen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &keys{held: []string{"k"}, deleteErr: &backends.ConnError{Address: "redis://x", Err: errors.New("EOF")}}
			w := newWrites(b)
			w.update(uictx.Selected{Key: "k"})
			w.press("d")
			b.inspectErr = errors.New("i/o timeout") // the lookup is lost too
			w.run(w.ask(t).Answer("y"))
			if s, isErr := status(w.take()); !isErr || !strings.Contains(s, "unconfirmed") || !strings.Contains(s, "press r to refresh") {
				t.Fatalf("status %q", s)
			}
			b.mu.Lock()
			b.inspectErr = nil
			if tc.gone {
				b.held = nil
			}
			b.mu.Unlock()
			w.update(uictx.Tick(time.Now()))
			evs := w.take()
			if s, _ := status(evs); s != tc.status {
				t.Fatalf("after looking again: %q", s)
			}
			if got := len(published[uictx.KeyDeleted](evs)); got != map[bool]int{true: 1}[tc.gone] {
				t.Fatalf("published %v", evs)
			}
			w.update(uictx.Tick(time.Now()))
			if evs := w.take(); len(evs) != 0 {
				t.Fatalf("a settled delete was looked up again: %v", evs)
			}
		})
	}
}

// D counts the filter's keys and goes ahead only when that count is typed;
// the list stops listing meanwhile and lists again when it is done.
func TestDeleteFilterNeedsTheCountTyped(t *testing.T) {
	b := &keys{held: []string{"tmp:0", "tmp:1", "tmp:2", "keep:0"}}
	w := newWrites(b)
	w.update(uictx.Filter{Pattern: "*"})
	w.press("D")
	if s, isErr := status(w.take()); !isErr || !strings.Contains(s, "set one with / first") {
		t.Fatalf("D without a filter: %q", s)
	}
	w.update(uictx.Filter{Pattern: "tmp:*", Filtered: true})
	w.press("D")
	a := w.ask(t)
	if a.Label != "Delete 3 keys matching tmp:*? Type 3 to confirm: " || a.YesNo {
		t.Fatalf("asked %+v", a)
	}
	w.run(a.Answer("2"))
	if s, _ := status(w.take()); s != "not confirmed; nothing was deleted" || len(b.held) != 4 {
		t.Fatalf("a wrong count: %q, held %v", s, b.held)
	}
	w.run(a.Answer("3"))
	evs := w.take()
	if d := published[uictx.Deleting](evs); len(d) != 1 || d[0].Pattern != "tmp:*" {
		t.Fatalf("the list was not told to stop: %v", evs)
	}
	if w.m.Invalidating() {
		t.Fatal("still invalidating after the last batch")
	}
	if s, _ := status(evs); !strings.HasPrefix(s, "deleted 3 keys matching tmp:* in ") {
		t.Fatalf("status %q", s)
	}
	act := published[uictx.Activity](evs)
	if len(published[uictx.Deleted](evs)) != 1 || len(published[uictx.KeysChanged](evs)) != 1 || act[len(act)-1].Text != "" {
		t.Fatalf("published %v", evs)
	}
	if !slices.Equal(b.held, []string{"keep:0"}) {
		t.Fatalf("held %v", b.held)
	}
}

// A count that comes back after the filter changed asks nothing.
func TestStaleCountIsDropped(t *testing.T) {
	w := newWrites(&keys{})
	w.update(uictx.Filter{Pattern: "b*", Filtered: true})
	w.update(countedMsg{pattern: "a*"})
	if evs := w.take(); len(published[uictx.Ask](evs)) != 0 {
		t.Fatalf("a stale count asked: %v", evs)
	}
}

// q while the filter's keys are deleted stops that first, then quits
// without listing again; a second ctrl+c is not held, nor is q with
// nothing running.
func TestQuitWaitsForTheBulkDelete(t *testing.T) {
	w := newWrites(&keys{held: []string{"tmp:0", "tmp:1"}})
	if w.m.HoldQuit(false) {
		t.Fatal("q held with nothing running")
	}
	w.update(uictx.Filter{Pattern: "tmp:*", Filtered: true})
	w.press("D")
	next := w.ask(t).Answer("2")
	if !w.m.Invalidating() || !w.m.HoldQuit(false) {
		t.Fatalf("q not held while deleting (running %v)", w.m.Invalidating())
	}
	if w.m.HoldQuit(true) {
		t.Fatal("a second ctrl+c was held")
	}
	w.run(next)
	evs := w.take()
	if !w.quit || len(published[uictx.Deleted](evs)) != 0 {
		t.Fatalf("quit %v, published %v", w.quit, evs)
	}
	var said []string
	for _, s := range published[uictx.Status](evs) {
		said = append(said, s.Text)
	}
	if !slices.Contains(said, "stopping the deletion after its current batch… (ctrl+c again quits at once)") {
		t.Fatalf("said %q", said)
	}
}
