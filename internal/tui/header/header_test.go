package header

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// The last n samples, scaled to the highest of them.
func TestSparklineScalesToItsPeak(t *testing.T) {
	if got := sparkline([]float64{0, 1, 2, 4, 8}, 4); got != "▂▃▅█" {
		t.Fatalf("sparkline %q", got)
	}
	if got := sparkline(nil, 4); got != "" {
		t.Fatalf("no samples drew %q", got)
	}
}

// A failed read marks the server down with a backoff; the next good one
// brings it back and tells the other components.
func TestStatsDownAndBackUp(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := uictx.New(context.Background(), func() time.Time { return now }, time.Second, false)
	m := New(c, Options{StatsEvery: time.Hour})
	m.Update(statsMsg{err: errors.New("refused")})
	if c.Conn.State != uictx.Down || !c.Conn.RetryAt.Equal(now.Add(time.Second)) {
		t.Fatalf("conn %+v", c.Conn)
	}
	c.Events()
	m.Update(statsMsg{s: &backends.Stats{Keys: 3, Known: map[string]bool{"keys": true}}, at: now})
	if c.Conn.State != uictx.Up || m.Stats().Keys != 3 {
		t.Fatalf("conn %+v stats %+v", c.Conn, m.Stats())
	}
	var back bool
	for _, e := range c.Events() {
		_, ok := e.(uictx.Reconnected)
		back = back || ok
	}
	if !back {
		t.Fatal("coming back up published no Reconnected")
	}
}
