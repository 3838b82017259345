package keylist

import (
	"context"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

func selections(c *uictx.Context) []uictx.Selected {
	var out []uictx.Selected
	for _, e := range c.Events() {
		if s, ok := e.(uictx.Selected); ok {
			out = append(out, s)
		}
	}
	return out
}

// The first batch selects the first row; moving the cursor selects again.
func TestBatchesAndCursorAnnounceTheSelection(t *testing.T) {
	c := uictx.New(context.Background(), time.Now, time.Second, false)
	m := New(c, Options{Pattern: "*", Delim: ":"})
	m.SetSize(40, 20)
	m.SetFocused(true)
	m.Update(m.ScanBatch([]string{"a", "b", "c"}))
	if s := selections(c); len(s) != 1 || s[0].Key != "a" {
		t.Fatalf("first batch selected %+v", s)
	}
	m.Update(m.ScanBatch([]string{"d"}))
	if s := selections(c); len(s) != 0 {
		t.Fatalf("a later batch changed the selection: %+v", s)
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyDown})
	if s := selections(c); len(s) != 1 || s[0].Key != "b" {
		t.Fatalf("down selected %+v", s)
	}
	if r, ok := m.Current(); !ok || r.Key != "b" {
		t.Fatalf("current %+v %v", r, ok)
	}
}

// A key the writes report gone leaves the list, and the row that takes its
// place is selected.
func TestKeyDeletedDropsTheKey(t *testing.T) {
	c := uictx.New(context.Background(), time.Now, time.Second, false)
	m := New(c, Options{Pattern: "*", Delim: ":"})
	m.SetSize(40, 20)
	m.Update(m.ScanBatch([]string{"a", "b", "c"}))
	c.Events()
	m.Update(uictx.KeyDeleted{Key: "a"})
	if s := selections(c); len(s) != 1 || s[0].Key != "b" || m.Store().Len() != 2 {
		t.Fatalf("after deleting a: selected %+v, %d keys", s, m.Store().Len())
	}
}

// keysOnly lists its keys; nothing else is asked of it.
type keysOnly struct {
	backends.Backend
	keys []string
}

func (b keysOnly) Scan(_ context.Context, _ string, fn func([]string) error) error { return fn(b.keys) }

// Each listing says what it lists; a bulk delete stops the listing, which
// starts afresh when the delete is done.
func TestListingAroundABulkDelete(t *testing.T) {
	c := uictx.New(context.Background(), time.Now, time.Second, false)
	c.Backend = keysOnly{keys: []string{"tmp:0", "tmp:1"}}
	m := New(c, Options{Pattern: "tmp:*", Delim: ":"})
	m.SetSize(40, 20)
	m.Update(uictx.Connected{})
	var f []uictx.Filter
	for _, e := range c.Events() {
		if e, ok := e.(uictx.Filter); ok {
			f = append(f, e)
		}
	}
	if len(f) != 1 || f[0] != (uictx.Filter{Pattern: "tmp:*", Filtered: true}) {
		t.Fatalf("announced %+v", f)
	}
	late := m.ScanBatch([]string{"late"}) // a batch of the scan about to stop
	m.Update(uictx.Deleting{Pattern: "tmp:*"})
	if !m.ScanDone() {
		t.Fatal("the listing runs on during the delete")
	}
	m.Update(late)
	if m.Store().Len() != 0 {
		t.Fatalf("a stopped scan's batch was loaded: %d keys", m.Store().Len())
	}
	next := m.Update(uictx.Deleted{Pattern: "tmp:*"})
	if next == nil || m.ScanDone() {
		t.Fatal("the list did not list again")
	}
	m.Update(next())
	if m.Store().Len() != 2 {
		t.Fatalf("listed %d keys", m.Store().Len())
	}
}
