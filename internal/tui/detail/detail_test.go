package detail

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/tui/keystore"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// store is a backend holding entries in memory; what a test does not need
// stays the nil interface, so an unexpected call panics.
type store struct {
	backends.Backend
	entries    map[string]*backends.Entry
	inspectErr error // every Inspect fails with it
	getErr     error // every Get fails with it
	gets       int
	inspects   int
	expired    []time.Duration
}

func (s *store) Inspect(_ context.Context, keys []string) ([]backends.KeyInfo, error) {
	s.inspects++
	if s.inspectErr != nil {
		return nil, s.inspectErr
	}
	out := make([]backends.KeyInfo, len(keys))
	for i, k := range keys {
		e, ok := s.entries[k]
		switch {
		case !ok:
			out[i] = backends.KeyInfo{Key: k, Missing: true}
		case e.Collection != nil:
			out[i] = backends.KeyInfo{Key: k, Type: e.Type, TTL: e.TTL, Size: -1, Length: e.Collection.Length}
		default:
			out[i] = backends.KeyInfo{Key: k, Type: e.Type, TTL: e.TTL, Size: int64(len(e.Value))}
		}
	}
	return out, nil
}

func (s *store) Get(_ context.Context, key string) (*backends.Entry, error) {
	s.gets++
	if s.getErr != nil {
		return nil, s.getErr
	}
	if e, ok := s.entries[key]; ok {
		return e, nil
	}
	return nil, backends.ErrNotFound
}

func (s *store) Expire(_ context.Context, key string, ttl time.Duration) error {
	s.expired = append(s.expired, ttl)
	e, ok := s.entries[key]
	if !ok {
		return backends.ErrNotFound
	}
	e.TTL = backends.NoExpiry
	if ttl > 0 {
		e.TTL = backends.ExpiresIn(ttl)
	}
	return nil
}

func strEntry(key, value string) *backends.Entry {
	return &backends.Entry{Key: key, Type: "string", Value: []byte(value), Size: int64(len(value))}
}

// pane drives the detail pane alone, as the root would: the list's cursor
// is a row the test sets, commands run at once in the test's goroutine and
// their messages go back to the pane until none is left.
type pane struct {
	t   *testing.T
	c   *uictx.Context
	m   *Model
	row keystore.Row
	now time.Time
}

func newPane(t *testing.T, b backends.Backend, opts Options) *pane {
	p := &pane{t: t, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p.c = uictx.New(context.Background(), func() time.Time { return p.now }, time.Second, false)
	p.c.Backend = b
	opts.Cursor = func() (keystore.Row, bool) { return p.row, p.row.Key != "" }
	p.m = New(p.c, opts)
	p.run(p.m.SetSize(60, 20))
	return p
}

func (p *pane) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	switch msg := cmd().(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			p.run(c)
		}
	default:
		p.run(p.m.Update(msg))
	}
}

func (p *pane) update(msg tea.Msg) { p.run(p.m.Update(msg)) }

// selectRow puts the list's cursor on a row and announces it, as the list does.
func (p *pane) selectRow(r keystore.Row) {
	p.row = r
	p.update(uictx.Selected{Key: r.Key, Branch: r.Branch})
}

func (p *pane) selectKey(key string) { p.selectRow(keystore.Row{Key: key, Label: key}) }

func (p *pane) press(keys ...string) {
	special := map[string]tea.KeyPressMsg{
		"down": {Code: tea.KeyDown}, "up": {Code: tea.KeyUp}, "pgdown": {Code: tea.KeyPgDown}, "esc": {Code: tea.KeyEscape},
	}
	for _, k := range keys {
		msg, ok := special[k]
		if !ok {
			msg = tea.KeyPressMsg{Code: rune(k[0]), Text: k}
		}
		p.update(msg)
	}
}

// screen is the pane without colours.
func (p *pane) screen() string { return ansi.Strip(p.m.View()) }

func (p *pane) contains(want ...string) {
	p.t.Helper()
	s := p.screen()
	for _, w := range want {
		if !strings.Contains(s, w) {
			p.t.Errorf("pane lacks %q:\n%s", w, s)
		}
	}
}

// ask is the prompt the pane published last, and the status it said last.
func (p *pane) events() (ask *uictx.Ask, status *uictx.Status) {
	for _, e := range p.c.Events() {
		switch e := e.(type) {
		case uictx.Ask:
			ask = &e
		case uictx.Status:
			status = &e
		}
	}
	return ask, status
}

// m cycles decoded → json → hex → decoded, rendering the value each time.
func TestModesCycle(t *testing.T) {
	b := &store{entries: map[string]*backends.Entry{"k": strEntry("k", `{"a":1}`)}}
	p := newPane(t, b, Options{})
	p.selectKey("k")
	if p.m.Entry() == nil || p.m.Loading() || p.m.Rendered().Mode != ModeDecoded || p.m.Rendered().Seq != p.m.Seq() {
		t.Fatalf("selected: entry %v loading %v rendered %+v", p.m.Entry(), p.m.Loading(), p.m.Rendered())
	}
	p.contains("key     k", "decoded  json  hex")
	for _, tc := range []struct {
		mode Mode
		want string
	}{{ModeJSON, `"a"`}, {ModeHex, "7b 22 61 22 3a 31 7d"}, {ModeDecoded, "a"}} {
		p.press("m")
		r := p.m.Rendered()
		if r.Mode != tc.mode || !strings.Contains(r.Content, tc.want) {
			t.Fatalf("after m: mode %v content %q, want %v with %q", r.Mode, r.Content, tc.mode, tc.want)
		}
	}
	if b.gets != 1 {
		t.Fatalf("changing mode read the value again: %d reads", b.gets)
	}
}

// A value bigger than MaxFetch is not read until a; then it is, once.
func TestLoadAllFetchesWhatWasTooBig(t *testing.T) {
	b := &store{entries: map[string]*backends.Entry{"big": strEntry("big", strings.Repeat("x", 100))}}
	p := newPane(t, b, Options{MaxFetch: 16})
	p.selectKey("big")
	if p.m.Info() == nil || p.m.Entry() != nil || b.gets != 0 {
		t.Fatalf("too big: info %v entry %v reads %d", p.m.Info(), p.m.Entry(), b.gets)
	}
	p.contains("The value is 100 B; press a to load it all.")
	p.press("a")
	if !p.m.All() || p.m.Entry() == nil || !p.m.Rendered().All || b.gets != 1 {
		t.Fatalf("after a: all %v entry %v rendered %+v reads %d", p.m.All(), p.m.Entry(), p.m.Rendered(), b.gets)
	}
	p.contains("xxxx", " all")
	p.press("a")
	if b.gets != 1 {
		t.Fatalf("a second a read again: %d reads", b.gets)
	}
}

// A value read whole but drawn as a preview is drawn whole on a, without
// reading it again; a new selection starts from the preview.
func TestLoadAllRendersPastThePreview(t *testing.T) {
	b := &store{entries: map[string]*backends.Entry{
		"big":   strEntry("big", strings.Repeat("x", 70<<10)),
		"other": strEntry("other", "v"),
	}}
	p := newPane(t, b, Options{})
	p.selectKey("big")
	p.press("m", "m") // hex previews the first 64 KiB
	if r := p.m.Rendered(); !r.Cut || r.All {
		t.Fatalf("preview %+v", r)
	}
	p.contains("preview · a loads all")
	p.press("a")
	if r := p.m.Rendered(); r.Cut || !r.All || b.gets != 1 {
		t.Fatalf("after a: cut %v all %v, %d reads", r.Cut, r.All, b.gets)
	}
	p.selectKey("other")
	if p.m.All() {
		t.Fatal("load all outlived the selection")
	}
}

// t asks for the TTL starting at what is left; the answer is parsed, set
// and read back, and the countdown follows the clock.
func TestTTLEditPrompt(t *testing.T) {
	e := strEntry("session", "v")
	e.TTL = backends.ExpiresIn(300 * time.Second)
	b := &store{entries: map[string]*backends.Entry{"session": e}}
	p := newPane(t, b, Options{})
	p.selectKey("session")
	p.contains("ttl     5m")
	p.now = p.now.Add(61 * time.Second)
	p.contains("ttl     3m59s")
	p.c.Events()

	p.press("t")
	ask, _ := p.events()
	if ask == nil || ask.Label != "TTL of session (300, 5m, 2d; 0 = no expiry): " || ask.Value != "239" {
		t.Fatalf("t asked %+v", ask)
	}
	p.run(ask.Answer("nonsense"))
	if _, st := p.events(); st == nil || !st.Err || !strings.Contains(st.Text, "invalid duration") || len(b.expired) != 0 {
		t.Fatalf("a bad TTL: status %+v, set %v", st, b.expired)
	}
	p.run(ask.Answer("10m"))
	if _, st := p.events(); st == nil || st.Err || st.Text != "TTL of session set to 10m" {
		t.Fatalf("status %+v", st)
	}
	if len(b.expired) != 1 || b.expired[0] != 10*time.Minute || p.m.Info().TTL.Remaining != 10*time.Minute {
		t.Fatalf("set %v, read back %+v", b.expired, p.m.Info().TTL)
	}
	p.press("t")
	ask, _ = p.events()
	p.run(ask.Answer("0"))
	if _, st := p.events(); st == nil || st.Text != "session no longer expires" {
		t.Fatalf("status %+v", st)
	}
	p.contains("no expiry")

	p.c.ReadOnly = true
	p.press("t")
	if ask, st := p.events(); ask != nil || st == nil || !strings.Contains(st.Text, "read-only") {
		t.Fatalf("read-only t: asked %+v, status %+v", ask, st)
	}
}

// The value scrolls only while the pane has the focus; esc gives it back.
func TestScrolling(t *testing.T) {
	b := &store{entries: map[string]*backends.Entry{"k": strEntry("k", strings.Repeat("0123456789abcdef", 100))}}
	p := newPane(t, b, Options{})
	p.run(p.m.SetSize(100, 20)) // wide enough for a hex line
	p.selectKey("k")
	p.press("m", "m") // 100 lines of hex in a view of 13
	p.press("down")
	if p.m.ScrollOffset() != 0 {
		t.Fatal("the pane scrolled without the focus")
	}
	p.m.SetFocused(true)
	p.press("down", "down")
	if p.m.ScrollOffset() != 2 {
		t.Fatalf("down down scrolled to %d", p.m.ScrollOffset())
	}
	p.contains("00000020  ", " 2%")
	p.press("G")
	if got := p.m.ScrollOffset(); got != 100-13 {
		t.Fatalf("G scrolled to %d", got)
	}
	p.contains("00000630  ", " 100%")
	p.press("g", "pgdown")
	if got := p.m.ScrollOffset(); got != 13 {
		t.Fatalf("g pgdown scrolled to %d", got)
	}
	p.c.Events()
	p.press("esc")
	var back bool
	for _, e := range p.c.Events() {
		_, ok := e.(uictx.Back)
		back = back || ok
	}
	if !back {
		t.Fatal("esc did not give the focus back")
	}
}

// A failed read shows its error; the connection is down unless the key
// merely vanished.
func TestFetchError(t *testing.T) {
	b := &store{inspectErr: errors.New("dial tcp: connection refused")}
	p := newPane(t, b, Options{})
	p.selectKey("k")
	if p.m.Loading() || p.c.Conn.State != uictx.Down {
		t.Fatalf("loading %v conn %+v", p.m.Loading(), p.c.Conn)
	}
	p.contains("error: dial tcp: connection refused")

	b = &store{entries: map[string]*backends.Entry{"k": strEntry("k", "v")}, getErr: fmt.Errorf("get k: %w", backends.ErrNotFound)}
	p = newPane(t, b, Options{})
	p.selectKey("k")
	if p.c.Conn.State == uictx.Down {
		t.Fatal("a key gone between inspect and get marked the server down")
	}
	p.contains("error: get k: key not found")
}

// A collection is listed by the shared renderer, its kind as the format.
func TestCollection(t *testing.T) {
	h := &backends.Entry{Key: "user:1", Type: "hash", Collection: &backends.Collection{Kind: "hash", Length: 2,
		Items: []backends.Item{{Field: []byte("name"), Value: []byte("ada")}, {Field: []byte("lang"), Value: []byte("go")}}}}
	p := newPane(t, &store{entries: map[string]*backends.Entry{"user:1": h}}, Options{})
	p.selectKey("user:1")
	if r := p.m.Rendered(); r.Format != "hash" || r.Note != "" {
		t.Fatalf("rendered %+v", r)
	}
	p.contains("hash · 2 elements", "name", "ada", "lang", "go")
}

// A branch shows the count of keys loaded beneath it, read live, and reads nothing.
func TestBranchReadsNothing(t *testing.T) {
	b := &store{}
	p := newPane(t, b, Options{})
	p.selectRow(keystore.Row{Key: "orders:", Label: "orders:", Branch: true, Count: 3})
	p.row.Count = 1200 // more keys streamed in
	p.contains("branch  orders:", "keys    1,200 loaded beneath")
	if b.gets != 0 || p.m.Loading() {
		t.Fatalf("a branch read %d values, loading %v", b.gets, p.m.Loading())
	}
}

// Control bytes in a key, a value or a tag reach the terminal escaped, and
// the pane stays exactly its size.
func TestHostileBytesEscaped(t *testing.T) {
	evil := "evil\x1b]0;pwned\x07\x1b[2J\r\n"
	b := &store{entries: map[string]*backends.Entry{evil: strEntry(evil, "\x1b[31mred\x1b[0m")}}
	tag := func(string, []byte) string { return "django\x1b[2J page" }
	p := newPane(t, b, Options{Tag: tag})
	p.selectKey(evil)
	raw := p.m.View()
	for _, bad := range []string{"\x1b]0;", "\x07", "\x1b[2J", "\r", "\x1b[31mred"} {
		if strings.Contains(raw, bad) {
			t.Errorf("the pane carries %q raw", bad)
		}
	}
	p.contains(`"evil\x1b]0;pwned\x07\x1b[2J\r\n"`, `\x1b[31mred`, `django\x1b[2J page`)
	lines := p.m.Lines()
	if len(lines) != 20 {
		t.Fatalf("%d lines, want 20", len(lines))
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w != 60 {
			t.Errorf("line %d is %d wide: %q", i, w, ansi.Strip(l))
		}
	}
}

// The node holding the entry is named (from the entry when the listing's
// metadata does not say), and marked while it is down.
func TestNodeNamed(t *testing.T) {
	e := strEntry("k", "v")
	e.Server = "127.0.0.1:7001"
	p := newPane(t, &store{entries: map[string]*backends.Entry{"k": e}}, Options{})
	p.selectKey("k")
	p.contains("ttl     no expiry · on 127.0.0.1:7001")
	if strings.Contains(p.screen(), "(down)") {
		t.Fatalf("a live node marked down:\n%s", p.screen())
	}
	p.c.NodesDown = []string{"127.0.0.1:7001"}
	p.contains("on 127.0.0.1:7001 (down)")
}

// While the rest of a deployment answers, a read that failed is retried
// with a backoff and says when; while the server is down the header's probe
// is the retry, and Reconnected reads again at once.
func TestFailedReadIsRetried(t *testing.T) {
	refused := &backends.ConnError{Address: "127.0.0.1:7001", Err: errors.New("connection refused")}
	b := &store{entries: map[string]*backends.Entry{"k": strEntry("k", "v")}, inspectErr: refused}
	p := newPane(t, b, Options{})
	p.c.Degrade(errors.New("1 of 6 nodes did not answer"), p.now.Add(time.Hour))
	p.selectKey("k")
	p.contains("error (retry in 1s): cannot reach 127.0.0.1:7001")
	if p.c.Conn.State != uictx.Degraded {
		t.Fatalf("conn %+v", p.c.Conn)
	}
	p.now = p.now.Add(500 * time.Millisecond)
	p.update(uictx.Tick(p.now))
	if b.inspects != 1 {
		t.Fatalf("retried before its time: %d reads", b.inspects)
	}
	p.now = p.now.Add(time.Second)
	p.update(uictx.Tick(p.now))
	if b.inspects != 2 {
		t.Fatalf("%d reads after the backoff", b.inspects)
	}
	p.contains("error (retry in 2s)")
	b.inspectErr = nil
	p.now = p.now.Add(2 * time.Second)
	p.update(uictx.Tick(p.now))
	if p.m.Entry() == nil || p.m.Err() != nil {
		t.Fatalf("entry %v err %v after the node came back", p.m.Entry(), p.m.Err())
	}

	// Down: the pane waits for the header.
	b.inspectErr = refused
	p.c.Up()
	p.selectKey("k")
	if p.c.Conn.State != uictx.Down {
		t.Fatalf("conn %+v", p.c.Conn)
	}
	if strings.Contains(p.screen(), "retry") {
		t.Errorf("the pane names a retry while the server is down:\n%s", p.screen())
	}
	n := b.inspects
	p.now = p.now.Add(time.Minute)
	p.update(uictx.Tick(p.now))
	if b.inspects != n {
		t.Fatalf("the pane retried while the server was down")
	}
	b.inspectErr = nil
	p.update(uictx.Reconnected{})
	if p.m.Entry() == nil || b.inspects != n+1 {
		t.Fatalf("Reconnected did not read again: entry %v, %d reads", p.m.Entry(), b.inspects-n)
	}
}

// Reconnected reads the shown entry again: it may have changed, or moved
// to another node, meanwhile.
func TestReconnectedReadsTheEntryAgain(t *testing.T) {
	e := strEntry("k", "old")
	e.Server = "127.0.0.1:7001"
	b := &store{entries: map[string]*backends.Entry{"k": e}}
	p := newPane(t, b, Options{})
	p.selectKey("k")
	moved := strEntry("k", "new")
	moved.Server = "127.0.0.1:7004"
	b.entries["k"] = moved
	p.update(uictx.Reconnected{})
	p.contains("on 127.0.0.1:7004", "new")
}
