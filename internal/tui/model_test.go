package tui

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/backends/httpmem"
	"github.com/cachectl/cachectl/internal/backends/redis"
	"github.com/cachectl/cachectl/internal/demo"
	"github.com/cachectl/cachectl/internal/memserver"
	"github.com/cachectl/cachectl/internal/profiles"
	"github.com/cachectl/cachectl/internal/testenv"
	"github.com/cachectl/cachectl/internal/textesc"
	"github.com/cachectl/cachectl/internal/tui/detail"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// fillDemo writes the demo's entries (pickled orders, JSON, msgpack, big
// values, keys with escape bytes) to b, without their TTLs unless keepTTL.
func fillDemo(t *testing.T, b backends.Backend, keepTTL bool) []demo.Entry {
	t.Helper()
	entries, err := demo.Entries(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		ttl := time.Duration(0)
		if keepTTL {
			ttl = e.TTL
		}
		if err := b.Set(context.Background(), e.Key, e.Value, ttl); err != nil {
			t.Fatal(err)
		}
	}
	return entries
}

func fillN(t *testing.T, b backends.Backend, format string, n int) {
	t.Helper()
	for i := range n {
		if err := b.Set(context.Background(), fmt.Sprintf(format, i), []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
	}
}

func exists(t *testing.T, b backends.Backend, key string) bool {
	t.Helper()
	_, err := b.Get(context.Background(), key)
	if errors.Is(err, backends.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func TestKeysStreamInAndFirstEntryOpens(t *testing.T) {
	b, open := redisBackend(t, 100)
	fillN(t, b, "item:%04d", 3000)
	d := newDriver(t, Options{Open: open, Kind: "redis", Address: "redis://test"})

	// The first batch paints before the scan ends (100 keys per SCAN page).
	d.until("first keys", func() bool { return d.m.list.Store().Len() > 0 })
	if d.m.list.Store().Len() >= 3000 && !d.scanDone() {
		t.Fatalf("the whole keyspace arrived in the first message")
	}
	d.until("scan done", d.scanDone)
	if got := d.m.list.Store().Len(); got != 3000 {
		t.Fatalf("loaded %d keys, want 3000", got)
	}
	d.until("first entry", d.entryShown)
	contains(t, d.screen(), "Keys 3,000", "● connected", "item:", "string")
	if !strings.HasPrefix(d.m.detail.Key(), "item:") {
		t.Fatalf("selected %q", d.m.detail.Key())
	}
}

func TestFilterIsServerSideAndEscClears(t *testing.T) {
	b, open := redisBackend(t, 50)
	fillN(t, b, "orders:%d", 120)
	fillN(t, b, "users:%d", 80)
	d := newDriver(t, Options{Open: open})
	d.until("scan", d.scanDone)

	d.press("/", "orders:1*", "enter")
	d.until("filtered scan", d.scanDone)
	// orders:1, orders:10-19, orders:100-119
	if got := d.m.list.Store().Len(); got != 1+10+20 {
		t.Fatalf("filter orders:1* loaded %d keys, want 31", got)
	}
	for i := range d.m.list.Store().Rows() {
		if k := d.m.list.Store().Row(i).Key; !strings.HasPrefix(k, "orders:1") {
			t.Fatalf("filter let %q through", k)
		}
	}
	contains(t, d.screen(), "Keys 31", "orders:1*")

	d.press("esc")
	d.until("unfiltered scan", d.scanDone)
	if got := d.m.list.Store().Len(); got != 200 {
		t.Fatalf("after esc: %d keys, want 200", got)
	}
}

func TestFindJumpsBetweenMatches(t *testing.T) {
	b, open := redisBackend(t, 1000)
	for _, k := range []string{"alpha", "beta:7", "gamma", "delta:7", "omega"} {
		if err := b.Set(context.Background(), k, []byte("x"), 0); err != nil {
			t.Fatal(err)
		}
	}
	d := newDriver(t, Options{Open: open})
	d.until("scan", d.scanDone)
	d.press("v") // tree view sorts; find must work there too
	d.press("f", ":7", "enter")
	first := d.m.detail.Key()
	if first != "beta:7" && first != "delta:7" {
		t.Fatalf("find :7 selected %q", first)
	}
	d.press("n")
	second := d.m.detail.Key()
	if second == first || !strings.HasSuffix(second, ":7") {
		t.Fatalf("n went from %q to %q", first, second)
	}
	d.press("n")
	if d.m.detail.Key() != first {
		t.Fatalf("n did not wrap around to %q: %q", first, d.m.detail.Key())
	}
	d.press("N")
	if d.m.detail.Key() != second {
		t.Fatalf("N went to %q, want %q", d.m.detail.Key(), second)
	}
	d.press("f", "nothing-like-this", "enter")
	if !d.statusErr() || !strings.Contains(d.statusText(), "no loaded key contains") {
		t.Fatalf("status %q", d.statusText())
	}
}

func TestTreeViewGroupsByDelimiter(t *testing.T) {
	b, open := redisBackend(t, 1000)
	fillN(t, b, "orders:%d", 30)
	fillN(t, b, "users:%d:profile", 12)
	if err := b.Set(context.Background(), "plain", []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, Options{Open: open, Tree: true})
	d.until("scan", d.scanDone)
	if got := d.m.list.Store().Rows(); got != 3 {
		t.Fatalf("collapsed tree has %d rows, want 3 (orders:, users:, plain)", got)
	}
	s := d.screen()
	contains(t, s, "▸ orders:", "30", "▸ users:", "12", "tree")
	// Open orders: and check its children are the 30 keys.
	d.press("g") // orders: is the first row (rows sort by bytes)
	if r := d.m.list.Store().Row(0); r.Key != "orders:" || !r.Branch || d.m.detail.Key() != "orders:" {
		t.Fatalf("first row %+v, selected %q", r, d.m.detail.Key())
	}
	d.press("enter")
	if got := d.m.list.Store().Rows(); got != 33 {
		t.Fatalf("after expanding orders: %d rows, want 33", got)
	}
	d.press("down")
	if !strings.HasPrefix(d.m.detail.Key(), "orders:") || d.m.detail.Branch() {
		t.Fatalf("first child is %q (branch %v)", d.m.detail.Key(), d.m.detail.Branch())
	}
	d.press("left") // from a leaf: to its branch
	if d.m.detail.Key() != "orders:" || !d.m.detail.Branch() {
		t.Fatalf("left went to %q", d.m.detail.Key())
	}
	d.press("left") // collapse
	if got := d.m.list.Store().Rows(); got != 3 {
		t.Fatalf("after collapsing: %d rows", got)
	}
	d.press("v")
	if d.m.list.Store().Tree() || d.m.list.Store().Rows() != 43 {
		t.Fatalf("flat view: tree=%v rows=%d", d.m.list.Store().Tree(), d.m.list.Store().Rows())
	}
}

func TestPickledEntryDecodedAndModes(t *testing.T) {
	b, open := redisBackend(t, 1000)
	fillDemo(t, b, false)
	d := newDriver(t, Options{Open: open})
	d.until("scan", d.scanDone)
	d.selectKey("orders:100001")
	s := d.screen()
	contains(t, s, "orders:100001", "pickle", "datetime.datetime(", "Decimal(", "no expiry")

	d.press("m")
	d.until("json", func() bool { return d.entryShown() && d.m.detail.Rendered().Mode == detail.ModeJSON })
	if c := ansi.Strip(d.m.detail.Rendered().Content); !strings.Contains(c, `"customer"`) || strings.Contains(c, "Decimal(") {
		t.Fatalf("json mode:\n%s", c)
	}
	d.press("m")
	d.until("hex", func() bool { return d.entryShown() && d.m.detail.Rendered().Mode == detail.ModeHex })
	if c := ansi.Strip(d.m.detail.Rendered().Content); !strings.HasPrefix(c, "00000000  80 05") {
		t.Fatalf("hex mode starts %q", c[:min(40, len(c))])
	}
	d.press("m")
	d.until("decoded", func() bool { return d.entryShown() && d.m.detail.Rendered().Mode == detail.ModeDecoded })
}

func TestBigValueWaitsForLoadAll(t *testing.T) {
	b, open := redisBackend(t, 1000)
	big := []byte(`{"items": [` + strings.Repeat(`"xxxxxxxxxx",`, 4000) + `"end"]}`)
	if err := b.Set(context.Background(), "big", big, 0); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, Options{Open: open, MaxFetch: 1024})
	d.until("scan", d.scanDone)
	d.until("metadata", func() bool { return d.m.detail.Info() != nil && !d.m.detail.Loading() })
	if d.m.detail.Entry() != nil {
		t.Fatal("a value over --max-fetch was fetched without load all")
	}
	contains(t, d.screen(), "press a to load it all")
	d.press("a")
	d.until("loaded", d.entryShown)
	if !d.m.detail.All() || !strings.Contains(d.m.detail.Rendered().Content, `"end"`) {
		t.Fatalf("load all did not show the whole value")
	}
}

func TestPreviewIsBoundedUntilLoadAll(t *testing.T) {
	b, open := redisBackend(t, 1000)
	big := []byte(`[` + strings.Repeat(`1,`, 1000) + `2]`)
	if err := b.Set(context.Background(), "list", big, 0); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, Options{Open: open})
	d.until("entry", d.entryShown)
	if !d.m.detail.Rendered().Cut {
		t.Fatal("1001 items rendered without a cut")
	}
	contains(t, d.screen(), "preview · a loads all")
	d.press("a")
	d.until("all", func() bool { return d.entryShown() && d.m.detail.Rendered().All })
	if d.m.detail.Rendered().Cut || !strings.Contains(ansi.Strip(d.m.detail.Rendered().Content), "2\n]") {
		t.Fatalf("load all still cut")
	}
}

func TestCorruptValueShowsItsError(t *testing.T) {
	b, open := redisBackend(t, 1000)
	// A pickle header with a frame that promises more than is there.
	if err := b.Set(context.Background(), "bad", []byte("\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00}\x94"), 0); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, Options{Open: open})
	d.until("entry", d.entryShown)
	contains(t, d.screen(), "⚠ not valid pickle", `b'\x80\x04`)
	if n := d.m.detail.Rendered().Note; !strings.Contains(n, "FRAME") || !strings.HasSuffix(n, "showing its bytes") {
		t.Fatalf("note %q", n)
	}
}

func TestHostileKeyIsEscaped(t *testing.T) {
	b, open := redisBackend(t, 1000)
	evil := "evil\x1b]0;pwned\x07\x1b[2J\r\n"
	if err := b.Set(context.Background(), evil, []byte("\x1b[31mred\x1b[0m"), 0); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, Options{Open: open})
	d.until("entry", d.entryShown)
	raw := d.m.View().Content
	for _, bad := range []string{"\x1b]0;", "\x07", "\x1b[2J", "\r", "\x1b[31mred"} {
		if strings.Contains(raw, bad) {
			t.Errorf("the frame carries %q raw", bad)
		}
	}
	contains(t, d.screen(), `"evil\x1b]0;pwned\x07\x1b[2J\r\n"`, `\x1b[31mred`)
}

func TestDeleteAsksFirst(t *testing.T) {
	b, open := redisBackend(t, 1000)
	fillN(t, b, "k:%d", 3)
	d := newDriver(t, Options{Open: open})
	d.until("entry", d.entryShown)
	key := d.m.detail.Key()

	d.press("d")
	contains(t, d.screen(), "Delete "+key+"? y/N")
	d.press("n")
	d.settle()
	if !exists(t, b, key) {
		t.Fatal("n deleted the key")
	}
	d.press("d", "y")
	d.until("deleted", func() bool { return strings.HasPrefix(d.statusText(), "deleted ") })
	if exists(t, b, key) {
		t.Fatal("d y left the key")
	}
	if d.m.list.Store().Len() != 2 {
		t.Fatalf("the list still holds %d keys", d.m.list.Store().Len())
	}
	for _, k := range []string{"k:0", "k:1", "k:2"} {
		if k != key && !exists(t, b, k) {
			t.Fatalf("%s was deleted too", k)
		}
	}
}

func TestDeleteFilterNeedsTheCountTyped(t *testing.T) {
	b, open := redisBackend(t, 20)
	fillN(t, b, "tmp:%d", 150)
	fillN(t, b, "keep:%d", 10)
	d := newDriver(t, Options{Open: open})
	d.until("scan", d.scanDone)

	d.press("D")
	if !strings.Contains(d.statusText(), "set one with / first") {
		t.Fatalf("D without a filter: %q", d.statusText())
	}
	d.press("/", "tmp:*", "enter")
	d.until("filtered", d.scanDone)
	d.press("D")
	d.until("count prompt", func() bool { return d.m.status.Prompting() })
	contains(t, d.screen(), "Delete 150 keys matching tmp:*? Type 150 to confirm")
	d.press("15", "enter")
	if !strings.Contains(d.statusText(), "not confirmed") || !exists(t, b, "tmp:7") {
		t.Fatalf("a wrong count went on: %q", d.statusText())
	}
	d.press("D")
	d.until("count prompt", func() bool { return d.m.status.Prompting() })
	d.press("150", "enter")
	d.until("done", func() bool {
		return !d.m.deleter.Invalidating() && strings.HasPrefix(d.statusText(), "deleted 150 keys")
	})
	d.until("rescan", d.scanDone)
	if d.m.list.Store().Len() != 0 {
		t.Fatalf("%d keys left under the filter", d.m.list.Store().Len())
	}
	for i := range 10 {
		if !exists(t, b, fmt.Sprintf("keep:%d", i)) {
			t.Fatalf("keep:%d was deleted", i)
		}
	}
	if exists(t, b, "tmp:0") {
		t.Fatal("tmp:0 survived")
	}
}

func TestEditTTLAndCountdown(t *testing.T) {
	b, open := redisBackend(t, 1000)
	fillN(t, b, "session:%d", 1)
	clock := time.Now()
	now := func() time.Time { return clock }
	d := newDriver(t, Options{Open: open, Now: now})
	d.until("entry", d.entryShown)
	contains(t, d.screen(), "no expiry")

	d.press("t", "5m", "enter")
	d.until("ttl set", func() bool { return strings.HasPrefix(d.statusText(), "TTL of session:0 set to 5m") })
	d.until("refetched", func() bool {
		return d.m.detail.Info() != nil && d.m.detail.Info().TTL.Expires && !d.m.detail.Loading()
	})
	ttl, err := b.TTL(context.Background(), "session:0")
	if err != nil || !ttl.Expires || ttl.Remaining < 290*time.Second || ttl.Remaining > 300*time.Second {
		t.Fatalf("server TTL %+v, %v", ttl, err)
	}
	contains(t, d.screen(), "ttl     5m")
	clock = clock.Add(61 * time.Second) // the countdown follows the clock
	contains(t, d.screen(), "ttl     3m5")

	d.press("t")
	if v := d.m.status.PromptValue(); v != "239" && v != "238" {
		t.Fatalf("the TTL prompt starts at %q", v)
	}
	d.press("esc", "t", "backspace", "backspace", "backspace", "nonsense", "enter")
	if !d.statusErr() || !strings.Contains(d.statusText(), "invalid duration") {
		t.Fatalf("bad TTL: %q", d.statusText())
	}
	d.press("t", "backspace", "backspace", "backspace", "0", "enter")
	d.until("persist", func() bool { return strings.Contains(d.statusText(), "no longer expires") })
	if ttl, _ := b.TTL(context.Background(), "session:0"); ttl.Expires {
		t.Fatal("TTL 0 did not persist the key")
	}
}

func TestReadOnlyRefusesWritesVisibly(t *testing.T) {
	b, open := redisBackend(t, 1000)
	fillN(t, b, "k:%d", 2)
	d := newDriver(t, Options{Open: open, ReadOnly: true, Context: "prod", Label: "PRODUCTION", Production: true})
	d.until("entry", d.entryShown)
	s := d.screen()
	contains(t, s, "READ-ONLY", "PRODUCTION", "delete (read-only)")
	for _, k := range []string{"d", "t"} {
		d.press(k)
		if d.m.status.Prompting() || !strings.Contains(d.statusText(), "read-only") {
			t.Fatalf("%s in read-only: prompt %v, status %q", k, d.m.status.Prompting(), d.statusText())
		}
	}
	d.press("/", "k:*", "enter")
	d.until("scan", d.scanDone)
	d.press("D")
	if d.m.status.Prompting() || !strings.Contains(d.statusText(), "read-only") {
		t.Fatalf("D in read-only: %q", d.statusText())
	}
	d.settle()
	if !exists(t, b, "k:0") || !exists(t, b, "k:1") {
		t.Fatal("a read-only dashboard deleted a key")
	}
}

func TestCopyKeyUsesOSC52(t *testing.T) {
	b, open := redisBackend(t, 1000)
	fillN(t, b, "copy:me:%d", 1)
	d := newDriver(t, Options{Open: open})
	d.until("entry", d.entryShown)
	cmd := d.m.onKey(keyMsgs("y")[0])
	if cmd == nil {
		t.Fatal("y returned no command")
	}
	if got := fmt.Sprint(cmd()); got != "copy:me:0" {
		t.Fatalf("clipboard gets %q", got)
	}
	contains(t, d.screen(), "copied copy:me:0 (OSC 52)")
}

// A hostile key pasted raw into a shell would run the line after its
// newline: the clipboard gets the escaped form the screen shows, and the
// status says so.
func TestCopyKeyWithControlBytesCopiesTheEscapedForm(t *testing.T) {
	b, open := redisBackend(t, 1000)
	key := "aa:x\ntouch /tmp/PWNED\n\x1b]52;c;\a"
	if err := b.Set(context.Background(), key, []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, Options{Open: open})
	d.until("entry", d.entryShown)
	if d.m.detail.Key() != key {
		t.Fatalf("selected %q", d.m.detail.Key())
	}
	cmd := d.m.onKey(keyMsgs("y")[0])
	if cmd == nil {
		t.Fatal("y returned no command")
	}
	got := fmt.Sprint(cmd())
	want := `"aa:x\ntouch /tmp/PWNED\n\x1b]52;c;\x07"`
	if got != want {
		t.Fatalf("clipboard gets %q, want %q", got, want)
	}
	if strings.ContainsAny(got, "\n\r\x1b\x07") {
		t.Fatalf("clipboard holds control bytes: %q", got)
	}
	if back, err := textesc.ParseKey(got); err != nil || back != key {
		t.Fatalf("the copied form does not read back: %q, %v", back, err)
	}
	contains(t, d.screen(), "copied the escaped form")
	contains(t, d.statusText(), "cachectl -E takes it back")
}

func TestFocusAndHelp(t *testing.T) {
	b, open := redisBackend(t, 1000)
	fillDemo(t, b, false)
	d := newDriver(t, Options{Open: open})
	d.apply(tea.WindowSizeMsg{Width: 80, Height: 24}) // the order is taller than the pane
	d.until("scan", d.scanDone)
	d.selectKey("orders:100001")
	d.press("enter")
	if d.m.focus != focusDetail {
		t.Fatal("enter on a key did not focus the value")
	}
	before := d.m.detail.ScrollOffset()
	d.press("down", "down")
	if d.m.detail.ScrollOffset() != before+2 {
		t.Fatalf("down in the value scrolled %d→%d", before, d.m.detail.ScrollOffset())
	}
	d.press("tab")
	if d.m.focus != focusList {
		t.Fatal("tab did not go back to the list")
	}
	d.press("?")
	contains(t, d.screen(), "page down", "delete filter", "decoded/json/hex")
	d.press("q")
	d.until("quit", func() bool { return d.quit })
}

// An unreachable server shows in the header and status line; once it is
// back, the dashboard reconnects and lists again by itself.
func TestDeadServerShowsAndReconnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	store := memserver.NewStore(memserver.Options{})
	for i := range 5 {
		if err := store.Set(fmt.Sprintf("back:%d", i), []byte("v"), 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	u, _ := url.Parse("http://" + addr)
	open := func(ctx context.Context) (backends.Backend, error) {
		return httpmem.Open(ctx, u, backends.Options{Timeout: time.Second})
	}
	// A clock that runs, and can jump past the retry backoff.
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	d := newDriver(t, Options{Open: open, Timeout: time.Second, Now: now})
	d.until("down", func() bool { return d.m.c.Conn.State == uictx.Down })
	contains(t, d.screen(), "✕ unreachable", "connection refused")

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s was taken meanwhile: %v", addr, err)
	}
	srv := &http.Server{Handler: memserver.NewHandler(store, memserver.HandlerOptions{})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	skew.Add(int64(time.Minute)) // past any backoff
	d.until("reconnected and listed", func() bool { return d.m.c.Conn.State == uictx.Up && d.m.list.Store().Len() == 5 })
	contains(t, d.screen(), "● connected", "Keys 5")
}

// A server that accepts but never answers: every request times out, the UI
// keeps answering keys, and the status line says what happened.
func TestSilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	u, _ := url.Parse("redis://" + ln.Addr().String())
	open := func(ctx context.Context) (backends.Backend, error) {
		return redis.Open(ctx, u, backends.Options{Timeout: 200 * time.Millisecond})
	}
	d := newDriver(t, Options{Open: open, Timeout: 200 * time.Millisecond})
	start := time.Now()
	d.press("down", "?", "?") // keys are handled while requests hang
	if time.Since(start) > 100*time.Millisecond {
		t.Fatal("key handling waited on the server")
	}
	d.until("timeout shown", func() bool { return d.m.c.Conn.State == uictx.Down })
	contains(t, d.screen(), "✕ unreachable")
	if s := d.screen(); !strings.Contains(s, "timeout") && !strings.Contains(s, "deadline") {
		t.Errorf("the status line does not say it timed out:\n%s", s)
	}
}

// Every frame fills the terminal exactly: as many lines as rows, none wider
// than the terminal, at every size from the smallest supported up, and after
// shrinking again.
func TestFramesFitTheTerminal(t *testing.T) {
	b, open := redisBackend(t, 1000)
	fillDemo(t, b, true)
	d := newDriver(t, Options{Open: open, Context: "prod", Label: "PRODUCTION", Production: true, ReadOnly: true})
	d.until("scan", d.scanDone)
	d.selectKey("orders:100001")
	for _, size := range [][2]int{{80, 24}, {100, 30}, {160, 45}, {240, 60}, {80, 24}, {81, 25}} {
		d.apply(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		d.until("render", d.entryShown)
		for _, tree := range []bool{false, true} {
			if d.m.list.Store().Tree() != tree {
				d.press("v")
			}
			frame := d.m.View().Content
			lines := strings.Split(frame, "\n")
			if len(lines) != size[1] {
				t.Errorf("%dx%d tree=%v: %d lines", size[0], size[1], tree, len(lines))
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w > size[0] {
					t.Errorf("%dx%d tree=%v: line %d is %d cells wide: %q", size[0], size[1], tree, i, w, ansi.Strip(l))
				}
			}
		}
	}
	d.press("?") // the full help takes more lines; the panes shrink to fit
	if lines := strings.Split(d.m.View().Content, "\n"); len(lines) != 25 {
		t.Errorf("with full help: %d lines at height 25", len(lines))
	}
}

// The colours follow the terminal's background: light terminals get dark
// text and the other way round.
func TestLightAndDarkTerminals(t *testing.T) {
	m := New(context.Background(), Options{})
	m.Update(tea.BackgroundColorMsg{Color: color.White})
	light := m.c.Styles
	m.Update(tea.BackgroundColorMsg{Color: color.Black})
	dark := m.c.Styles
	if light.IsDark || !dark.IsDark {
		t.Fatalf("isDark: light=%v dark=%v", light.IsDark, dark.IsDark)
	}
	if light.SelectedPaint == dark.SelectedPaint || light.Title.GetForeground() == dark.Title.GetForeground() {
		t.Fatal("the same colours on light and dark backgrounds")
	}
}

// Non-string Redis values are shown read-only with a bounded read; r lists
// again and picks up keys written meanwhile.
func TestCollectionsAndRefresh(t *testing.T) {
	b, open, raw := redisBackendURL(t, 1000)
	rdb := testenv.RedisClient(t, raw)
	ctx := context.Background()
	for i := range 150 {
		rdb.HSet(ctx, "h", fmt.Sprintf("field%03d", i), fmt.Sprintf("v\x1b%d", i))
	}
	d := newDriver(t, Options{Open: open})
	d.until("entry", d.entryShown)
	s := d.screen()
	contains(t, s, "key     h", "hash · 150 elements", `field000: "v\x1b0"`)
	if c := ansi.Strip(d.m.detail.Rendered().Content); !strings.Contains(c, "… showing 100 of 150 elements (read-only view)") {
		t.Fatalf("hash rendering:\n%s", c)
	}
	if err := b.Set(ctx, "later", []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	d.settle()
	if d.m.list.Store().Len() != 1 {
		t.Fatalf("a key written after the scan showed up without r: %d", d.m.list.Store().Len())
	}
	d.press("r")
	d.until("rescan", func() bool { return d.scanDone() && d.m.list.Store().Len() == 2 })
}

// Under a profile the dashboard lists its namespace, shows keys in the
// framework's terms, scopes typed filters and says what each key is.
func TestProfileScopeDisplayAndTag(t *testing.T) {
	b, open := redisBackend(t, 1000)
	for _, k := range []string{":1:alpha", ":1:beta", "other", ":1:views.decorators.cache.cache_header..fb81d1588724ec47394f8c4b789262a8"} {
		if err := b.Set(context.Background(), k, []byte("x"), 0); err != nil {
			t.Fatal(err)
		}
	}
	prof, err := profiles.Lookup("django", profiles.Options{Backend: "redis"})
	if err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, Options{Open: open, Pattern: prof.Pattern("*"), Scope: prof.Pattern,
		Display: func(k string) string { u, _ := prof.UserKey(k); return u },
		Tag: func(k string, v []byte) string {
			tag, _ := prof.Recognize(k, v)
			return strings.TrimSpace(tag.String())
		}})
	d.until("scan", d.scanDone)
	if d.m.list.Store().Len() != 3 {
		t.Fatalf("listed %d keys, want the 3 under :1:", d.m.list.Store().Len())
	}
	s := d.screen()
	contains(t, s, "│alpha", "│beta")
	if strings.Contains(s, "other") {
		t.Error("a key outside the profile's namespace is listed")
	}
	d.press("f", "cache_header", "enter")
	d.until("entry", d.entryShown)
	contains(t, d.screen(), "what    django page headers")
	d.press("/", "al*", "enter")
	d.until("filtered", d.scanDone)
	if d.m.list.Store().Len() != 1 || d.m.list.Pattern() != ":1:al*" {
		t.Fatalf("filter al* under django: pattern %q, %d keys", d.m.list.Pattern(), d.m.list.Store().Len())
	}
	d.press("/")
	if v := d.m.status.PromptValue(); v != "al*" {
		t.Fatalf("the filter prompt reopens with %q", v)
	}
	d.press("esc", "esc")
	d.until("unfiltered", d.scanDone)
	if d.m.list.Store().Len() != 3 {
		t.Fatalf("esc listed %d keys", d.m.list.Store().Len())
	}
}

// A cached HTTP response reads as one in the value pane; json mode still
// shows the stored object.
func TestCachedResponseShownAsResponse(t *testing.T) {
	b, open := redisBackend(t, 1000)
	fillDemo(t, b, false)
	d := newDriver(t, Options{Open: open})
	d.until("scan", d.scanDone)
	d.selectKey("LITESTAR:GET/itemspage=1&size=20")
	contains(t, d.screen(), "msgpack · litestar response", "HTTP 200 OK", "content-type: application/json", `"page": 1`)
	d.press("m")
	d.until("json", func() bool { return d.entryShown() && d.m.detail.Rendered().Mode == detail.ModeJSON })
	contains(t, d.screen(), `"type": "http.response.start"`)
}
