package keylist

import (
	"context"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

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
