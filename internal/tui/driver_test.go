package tui

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/backends/redis"
	"github.com/cachectl/cachectl/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(m.Run()) }

// driver runs a Model the way a tea.Program does, but in the test's
// goroutine: commands run concurrently and their messages are applied one at
// a time by until(), so assertions see consistent state.
type driver struct {
	t    *testing.T
	m    *Model
	msgs chan tea.Msg
	quit bool
	seen []tea.Msg // every message applied, for assertions on side effects
}

func newDriver(t *testing.T, opts Options) *driver {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := New(ctx, opts)
	d := &driver{t: t, m: m, msgs: make(chan tea.Msg, 1024)}
	t.Cleanup(func() { cancel(); m.Close() })
	d.apply(tea.WindowSizeMsg{Width: 120, Height: 40})
	d.run(m.Init())
	return d
}

func (d *driver) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		msg := cmd()
		d.msgs <- msg
	}()
}

func (d *driver) apply(msg tea.Msg) {
	switch msg := msg.(type) {
	case nil:
		return
	case tea.BatchMsg:
		for _, c := range msg {
			d.run(c)
		}
		return
	case tea.QuitMsg:
		d.quit = true
		return
	}
	d.seen = append(d.seen, msg)
	_, cmd := d.m.Update(msg)
	d.run(cmd)
}

// until applies messages until cond holds, failing after a timeout.
func (d *driver) until(what string, cond func() bool) {
	d.t.Helper()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for !cond() {
		select {
		case msg := <-d.msgs:
			d.apply(msg)
		case <-deadline.C:
			d.t.Fatalf("timed out waiting for %s; screen:\n%s", what, d.screen())
		}
	}
}

// settle applies whatever arrives within a short quiet period.
func (d *driver) settle() {
	for {
		select {
		case msg := <-d.msgs:
			d.apply(msg)
		case <-time.After(150 * time.Millisecond):
			return
		}
	}
}

// press sends keys as a terminal would: "enter", "esc", "down", "ctrl+c" or
// text typed character by character.
func (d *driver) press(keys ...string) {
	for _, k := range keys {
		for _, msg := range keyMsgs(k) {
			d.apply(msg)
		}
	}
}

func keyMsgs(k string) []tea.KeyPressMsg {
	special := map[string]tea.KeyPressMsg{
		"enter": {Code: tea.KeyEnter}, "esc": {Code: tea.KeyEscape}, "tab": {Code: tea.KeyTab},
		"up": {Code: tea.KeyUp}, "down": {Code: tea.KeyDown}, "left": {Code: tea.KeyLeft}, "right": {Code: tea.KeyRight},
		"pgdown": {Code: tea.KeyPgDown}, "pgup": {Code: tea.KeyPgUp}, "backspace": {Code: tea.KeyBackspace},
		"ctrl+c": {Code: 'c', Mod: tea.ModCtrl},
	}
	if m, ok := special[k]; ok {
		return []tea.KeyPressMsg{m}
	}
	var out []tea.KeyPressMsg
	for _, r := range k {
		out = append(out, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return out
}

// screen is the current frame without colours.
func (d *driver) screen() string { return ansi.Strip(d.m.View().Content) }

func (d *driver) scanDone() bool { return d.m.scanDone() }

// entryShown: the selected key's value is rendered in the detail pane.
func (d *driver) entryShown() bool {
	return d.m.detail.Entry() != nil && !d.m.detail.Loading() && d.m.detail.Rendered().Seq == d.m.detail.Seq()
}

// selectKey moves the cursor to key through the find prompt, as a user would.
func (d *driver) selectKey(key string) {
	d.t.Helper()
	d.press("f", key, "enter")
	if d.m.detail.Key() != key {
		d.t.Fatalf("find %q selected %q", key, d.m.detail.Key())
	}
	d.until("entry "+key, func() bool {
		return d.entryShown() || d.m.detail.Info() != nil && d.m.detail.Entry() == nil && !d.m.detail.Loading()
	})
}

// redisBackend opens a fresh Redis database for one test.
func redisBackend(t *testing.T, scanCount int) (backends.Backend, func(context.Context) (backends.Backend, error)) {
	t.Helper()
	b, open, _ := redisBackendURL(t, scanCount)
	return b, open
}

func redisBackendURL(t *testing.T, scanCount int) (backends.Backend, func(context.Context) (backends.Backend, error), string) {
	t.Helper()
	raw := testenv.RedisURL(t)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	openOpts := backends.Options{ScanCount: scanCount, Timeout: 5 * time.Second}
	b, err := redis.Open(context.Background(), u, openOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	open := func(ctx context.Context) (backends.Backend, error) { return redis.Open(ctx, u, openOpts) }
	return b, open, raw
}

func contains(t *testing.T, screen string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(screen, w) {
			t.Errorf("screen lacks %q:\n%s", w, screen)
		}
	}
}

// statusText and statusErr are what the status line last said.
func (d *driver) statusText() string { s, _ := d.m.status.Text(); return s }
func (d *driver) statusErr() bool    { _, e := d.m.status.Text(); return e }
