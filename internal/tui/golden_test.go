package tui

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/backends/httpmem"
	"github.com/cachectl/cachectl/internal/demo"
	"github.com/cachectl/cachectl/internal/memserver"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// probe wraps the dashboard in a real tea.Program and tells the test when
// the model reaches a state, instead of scraping the diff-rendered output.
type probe struct {
	*Model
	mu    sync.Mutex
	conds []probeCond
}

type probeCond struct {
	ok   func(*Model) bool
	done chan struct{}
}

func (p *probe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := p.Model.Update(msg)
	p.mu.Lock()
	defer p.mu.Unlock()
	keep := p.conds[:0]
	for _, c := range p.conds {
		if c.ok(p.Model) {
			close(c.done)
		} else {
			keep = append(keep, c)
		}
	}
	p.conds = keep
	return p, cmd
}

func (p *probe) wait(t *testing.T, what string, ok func(*Model) bool) {
	t.Helper()
	c := probeCond{ok: ok, done: make(chan struct{})}
	p.mu.Lock()
	p.conds = append(p.conds, c)
	p.mu.Unlock()
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// goldenCache is a small, fixed cache: a few of the demo's kinds, no TTLs,
// behind cachectl's own HTTP cache server.
func goldenCache(t *testing.T) func(context.Context) (backends.Backend, error) {
	t.Helper()
	entries, err := demo.Entries(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	store := memserver.NewStore(memserver.Options{})
	want := map[string]bool{"orders:100001": true, "orders:100002": true, "orders:100003": true,
		"api:user:1": true, "api:user:2": true, "feed:1": true, "invoices:1": true}
	for _, e := range entries {
		if want[e.Key] {
			if err := store.Set(e.Key, e.Value, 0, e.Format); err != nil {
				t.Fatal(err)
			}
		}
	}
	srv := httptest.NewServer(memserver.NewHandler(store, memserver.HandlerOptions{Version: "cachectl/test"}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return func(ctx context.Context) (backends.Backend, error) { return httpmem.Open(ctx, u, backends.Options{}) }
}

// TestGolden draws the dashboard at the smallest supported size and a large
// one: tree view, orders: expanded, a pickled order open on the right.
func TestGolden(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {160, 45}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			m := New(ctx, Options{Open: goldenCache(t), Kind: "http", Address: "http://127.0.0.1:8750",
				Context: "demo", Label: "demo", Tree: true, StatsEvery: time.Hour})
			defer m.Close()
			p := &probe{Model: m}
			tm := teatest.NewTestModel(t, p, teatest.WithInitialTermSize(size.w, size.h),
				teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
			// The HTTP cache streams events: live mode is on once its stream is.
			p.wait(t, "keys, stats and live", func(m *Model) bool {
				return m.scanDone() && m.header.Stats() != nil && m.c.Live.State == uictx.LiveOn
			})
			// Tree rows: api:, feed:, invoices:, orders: — open orders: and its first order.
			tm.Send(tea.KeyPressMsg{Code: tea.KeyEnd})
			tm.Send(tea.KeyPressMsg{Code: tea.KeyRight})
			tm.Send(tea.KeyPressMsg{Code: tea.KeyDown})
			p.wait(t, "order shown", func(m *Model) bool {
				return m.detail.Key() == "orders:100001" && m.detail.Entry() != nil && !m.detail.Loading() && m.detail.Rendered().Seq == m.detail.Seq()
			})
			tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
			fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*probe)
			teatest.RequireEqualOutput(t, []byte(ansi.Strip(fm.View().Content)))
		})
	}
}

func (m *Model) scanDone() bool { return m.c.Backend != nil && m.list.ScanDone() }

// TestGoldenCluster draws the dashboard on a cluster: the topology line
// healthy at the smallest size, and during a failover (a primary dead and
// flagged, its key's node marked down) at a size where the line fits.
func TestGoldenCluster(t *testing.T) {
	for _, tc := range []struct {
		name string
		w, h int
		kill bool
	}{{"healthy", 80, 24, false}, {"failover", 120, 30, true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			fc := newFakeCluster(clusterData())
			at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
			m := New(ctx, Options{Open: fc.open, Kind: "redis", Address: fc.Describe().Address,
				StatsEvery: time.Hour, Now: func() time.Time { return at }})
			defer m.Close()
			p := &probe{Model: m}
			tm := teatest.NewTestModel(t, p, teatest.WithInitialTermSize(tc.w, tc.h),
				teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
			p.wait(t, "keys and topology", func(m *Model) bool { return m.scanDone() && m.header.Topology() != nil })
			// user:11, the fourth key, is on the first primary.
			for range 3 {
				tm.Send(tea.KeyPressMsg{Code: tea.KeyDown})
			}
			p.wait(t, "entry shown", func(m *Model) bool {
				return m.detail.Key() == "user:11" && m.detail.Entry() != nil && !m.detail.Loading() && m.detail.Rendered().Seq == m.detail.Seq()
			})
			if tc.kill {
				fc.kill(nodeAddr(1))
				fc.flag(nodeAddr(1))
				tm.Send(uictx.KeysChanged{}) // the header reads the figures again
				p.wait(t, "failover shown", func(m *Model) bool {
					return m.c.Conn.State == uictx.Degraded && m.header.Topology().Failover
				})
			}
			tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
			fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*probe)
			teatest.RequireEqualOutput(t, []byte(ansi.Strip(fm.View().Content)))
		})
	}
}

// TestGoldenLive draws live mode: the strip, a key written elsewhere
// listed in its place in the tree, and the open entry after it expired,
// still on its row, marked, saying when. The events come from the test,
// the cache is the golden HTTP cache.
func TestGoldenLive(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {120, 30}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			at := time.Date(2026, 11, 23, 12, 0, 5, 0, time.UTC)
			events := make(chan backends.Event)
			watch := func(ctx context.Context, opts backends.WatchOptions, fn func(backends.Event) error) error {
				opts.Ready()
				for {
					select {
					case e := <-events:
						if err := fn(e); err != nil {
							return err
						}
					case <-ctx.Done():
						return ctx.Err()
					}
				}
			}
			m := New(ctx, Options{Open: withEvents(goldenCache(t), watch), Kind: "http", Address: "http://127.0.0.1:8750",
				Tree: true, StatsEvery: time.Hour, Now: func() time.Time { return at }})
			defer m.Close()
			p := &probe{Model: m}
			tm := teatest.NewTestModel(t, p, teatest.WithInitialTermSize(size.w, size.h),
				teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
			p.wait(t, "keys, stats and live", func(m *Model) bool {
				return m.scanDone() && m.header.Stats() != nil && m.c.Live.State == uictx.LiveOn
			})
			tm.Send(tea.KeyPressMsg{Code: tea.KeyEnd})
			tm.Send(tea.KeyPressMsg{Code: tea.KeyRight})
			tm.Send(tea.KeyPressMsg{Code: tea.KeyDown})
			p.wait(t, "order shown", func(m *Model) bool {
				return m.detail.Key() == "orders:100001" && m.detail.Entry() != nil && !m.detail.Loading() && m.detail.Rendered().Seq == m.detail.Seq()
			})
			events <- backends.Event{Time: at, Kind: backends.EventSet, Key: "orders:100000"}
			events <- backends.Event{Time: at, Kind: backends.EventExpired, Key: "orders:100001"}
			p.wait(t, "the new order listed and the open one gone", func(m *Model) bool {
				_, listed := m.list.Store().Locate("orders:100000", false)
				return listed && m.detail.Gone() != ""
			})
			tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
			fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*probe)
			teatest.RequireEqualOutput(t, []byte(ansi.Strip(fm.View().Content)))
		})
	}
}
