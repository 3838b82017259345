package tui

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestAnalysisView: A draws the analyze tables for the filter beside the
// key list, computed in the background (the list moves meanwhile); server
// bytes are escaped; a new filter analyzes again, and A closes the view,
// cancelling a run.
func TestAnalysisView(t *testing.T) {
	b, open := redisBackend(t, 50)
	ctx := context.Background()
	fillN(t, b, "user:%d", 300)
	fillN(t, b, "img:%d", 40)
	if err := b.Set(ctx, "img:big", []byte(strings.Repeat("x", 50000)), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := b.Set(ctx, "evil:\x1b[31mred", []byte(strings.Repeat("v", 20000)), 0); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, Options{Open: open, Kind: "redis", Address: "redis://test", StatsEvery: time.Hour})
	d.until("listing", d.scanDone)

	d.press("A")
	if !d.m.analysis.Active() || !d.m.analysis.Running() {
		t.Fatalf("after A: active %v, running %v", d.m.analysis.Active(), d.m.analysis.Running())
	}
	before, _ := d.m.list.Current()
	d.press("down") // the key list keeps working while it runs
	if after, _ := d.m.list.Current(); after.Key == before.Key {
		t.Fatal("the key list did not move while the analysis ran")
	}
	d.until("analysis done", func() bool { return d.m.analysis.Result() != nil && !d.m.analysis.Running() })
	if r := d.m.analysis.Result(); r.Result.Keys != 342 || r.Partial {
		t.Fatalf("analyzed %d keys (partial %v), want 342", r.Result.Keys, r.Partial)
	}
	screen := d.screen()
	contains(t, screen, "Analysis", "analyzed 342 key(s)", "Prefixes", "user:", "img:", "Biggest keys", "img:big", "█")
	if strings.Contains(strings.Join(d.m.analysis.Lines(), "\n"), "\x1b[31mred") {
		t.Fatal("a key's escape sequence reached the screen raw")
	}
	contains(t, screen, `\x1b[31mred`)

	// A narrower filter is analyzed again.
	d.press("/", "img:*", "enter")
	d.until("img analysis", func() bool {
		r := d.m.analysis.Result()
		return r != nil && !d.m.analysis.Running() && r.Opts.Patterns[0] == "img:*"
	})
	if n := d.m.analysis.Result().Result.Keys; n != 41 {
		t.Fatalf("img:* analyzed %d keys, want 41", n)
	}

	// Closing it cancels a run; the entry pane is back.
	d.press("r")
	if !d.m.analysis.Running() {
		t.Fatal("r did not analyze again")
	}
	d.press("A")
	if d.m.analysis.Active() || d.m.analysis.Running() {
		t.Fatal("A did not close the view and stop the run")
	}
	d.settle()
	contains(t, d.screen(), "key ")
}
