package tui

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/backends/redis"
	"github.com/cachectl/cachectl/internal/testenv"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// TestReadOnlyACLUser: as a user with only read commands the dashboard
// browses, its header says "no INFO permission" while connected (no error
// state), and a delete the server refuses says so and leaves the key.
func TestReadOnlyACLUser(t *testing.T) {
	b, _, raw := redisBackendURL(t, 1000)
	fillN(t, b, "k:%d", 3)
	u, err := url.Parse(testenv.RedisUserURL(t, raw, "~*", "-@all", "+@read", "-keys"))
	if err != nil {
		t.Fatal(err)
	}
	open := func(ctx context.Context) (backends.Backend, error) {
		return redis.Open(ctx, u, backends.Options{Timeout: 5 * time.Second})
	}
	d := newDriver(t, Options{Open: open, Kind: "redis", Address: "redis://ro:***@127.0.0.1:6379"})
	d.until("entry", d.entryShown)
	d.until("stats", func() bool { return d.m.header.Stats() != nil })
	if d.m.c.Conn.State != uictx.Up {
		t.Fatalf("without INFO the connection is %v", d.m.c.Conn.State)
	}
	head := strings.SplitN(d.screen(), "\n", 3)
	contains(t, head[0]+"\n"+head[1], "● connected", "keys 3 · no INFO permission")
	if strings.Contains(head[1], "memory") || strings.Contains(head[1], "hit ratio") {
		t.Errorf("figures the server did not give are drawn: %q", head[1])
	}
	key := d.m.detail.Key()
	d.press("d", "y")
	d.until("refusal", func() bool { return strings.Contains(d.statusText(), "no UNLINK permission") })
	if !d.statusErr() || !strings.Contains(d.statusText(), "+unlink (category @write)") {
		t.Errorf("status %q (error %v)", d.statusText(), d.statusErr())
	}
	if !exists(t, b, key) {
		t.Fatalf("a refused delete removed %s", key)
	}
	// On an 80-column terminal the drawn status line still holds the grant
	// (the header already names the server and the user).
	d.apply(tea.WindowSizeMsg{Width: 80, Height: 24})
	user := u.User.Username()
	want := "delete failed: no UNLINK permission: ACL SETUSER " + user + " +unlink"
	if screen := d.screen(); !strings.Contains(screen, want) {
		t.Errorf("at 80 columns the status line lost %q:\n%s", want, screen)
	}
	if !strings.HasPrefix(d.statusText(), want+" (category @write)") {
		t.Errorf("status %q", d.statusText())
	}
}

// TestRefusalIsNoOutage: a listing or a read the user's ACL refuses is the
// server's answer: the dashboard stays connected (not "unreachable",
// retrying) and says what to grant.
func TestRefusalIsNoOutage(t *testing.T) {
	b, _, raw := redisBackendURL(t, 1000)
	fillN(t, b, "k:%d", 3)
	for _, tc := range []struct {
		rules []string
		want  string
	}{
		{[]string{"~*", "-@all", "+@read", "-scan"}, "no SCAN permission: ACL SETUSER "},
		{[]string{"~other:*", "-@all", "+@read"}, "error: key outside the user's ACL key patterns: ACL SETUSER "},
	} {
		u, err := url.Parse(testenv.RedisUserURL(t, raw, tc.rules...))
		if err != nil {
			t.Fatal(err)
		}
		open := func(ctx context.Context) (backends.Backend, error) {
			return redis.Open(ctx, u, backends.Options{Timeout: 5 * time.Second})
		}
		d := newDriver(t, Options{Open: open, Kind: "redis", Address: "redis://u:***@127.0.0.1:6379"})
		d.until(tc.want, func() bool { return strings.Contains(d.screen(), tc.want) })
		d.settle()
		if d.m.c.Conn.State != uictx.Up || strings.Contains(d.screen(), "unreachable") || strings.Contains(d.screen(), "retry") {
			t.Errorf("%v: a refusal taken for an outage (%v):\n%s", tc.rules, d.m.c.Conn.State, d.screen())
		}
	}
}
