package commands

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/config"
	"github.com/cachectl/cachectl/internal/sshtunnel"
)

// sshTunnel is the command line's one SSH tunnel (--ssh, CACHECTL_SSH or a
// context's ssh block): opened on the first dial of any backend, shared by
// every connection after it, closed when the command ends.
type sshTunnel struct {
	plan *sshtunnel.Plan
	opts sshtunnel.Options
	ctx  context.Context // the command's: Ctrl-C stops the opening

	mu  sync.Mutex
	t   *sshtunnel.Tunnel
	err error // a failed first open: later dials fail alike, nothing more is tried
	// Once the tunnel has died the next dial opens a new one, so the
	// dashboard and watch outlive a bastion's restart as they outlive a
	// cache server's; a failed reopen is not tried again before retryAt,
	// and dials until then fail with reopenErr.
	retryAt   time.Time
	reopenErr error
}

// reopenPause spaces out attempts to reopen a dead tunnel: the clients'
// retries would otherwise open one SSH connection each.
const reopenPause = time.Second

func (s *sshTunnel) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	t, err := s.open()
	if err != nil {
		return nil, err
	}
	return t.Dial(ctx, network, addr)
}

func (s *sshTunnel) open() (*sshtunnel.Tunnel, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	var died error
	if s.t != nil {
		// ErrClosed: the command is over, its dials fail with it.
		if died = s.t.Err(); died == nil || died == sshtunnel.ErrClosed {
			return s.t, nil
		}
		if time.Now().Before(s.retryAt) {
			return nil, s.reopenErr
		}
	}
	t, err := sshtunnel.Open(s.ctx, s.plan, s.opts)
	switch {
	case err == nil:
		s.t, s.reopenErr = t, nil // the dead one closed itself
		return t, nil
	case errors.Is(err, context.Canceled):
	case died == nil:
		s.err = err
	default:
		// The death is what the command ran into; the reopen says whether
		// the server is back.
		s.retryAt = time.Now().Add(reopenPause)
		s.reopenErr = &sshtunnel.Error{Msg: died.Error() + "; reconnecting", Err: err}
		return nil, s.reopenErr
	}
	return nil, err
}

// failure is the tunnel's own error behind a command's failure, if there is
// one: an open that failed, or a connection that died (asked of the server
// when err is a connection error and the tunnel does not know yet). The
// backends' errors say less: some client libraries flatten the chain.
func (s *sshTunnel) failure(err error) error {
	s.mu.Lock()
	t, openErr := s.t, s.err
	s.mu.Unlock()
	if openErr != nil {
		return openErr
	}
	if t == nil {
		return nil
	}
	if terr := t.Err(); terr != nil && terr != sshtunnel.ErrClosed {
		return terr
	}
	var ce *backends.ConnError
	if errors.As(err, &ce) {
		return t.Check()
	}
	return nil
}

func (s *sshTunnel) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.t != nil {
		s.t.Close()
	}
}

// dialer is the dial function of the resolved cache: nil without a tunnel,
// else the tunnel's, set up (not yet opened) on first use.
func (f *Factory) dialer(r *config.Resolved, warn func(string)) (backends.DialFunc, error) {
	if r.SSH == nil {
		return nil, nil
	}
	if f.ssh == nil {
		s := r.SSH
		plan, err := sshtunnel.Resolve(sshtunnel.Settings{
			Host: s.Host, User: s.User, Port: s.Port, IdentityFiles: s.IdentityFiles, KnownHosts: s.KnownHosts,
			ProxyJump: s.ProxyJump, InsecureIgnoreHostKey: f.Global.SSHInsecure,
		}, sshtunnel.Env{Getenv: f.Getenv})
		if err != nil {
			var se *sshtunnel.SettingsError
			if errors.As(err, &se) {
				return nil, &UsageError{Msg: r.SSHSource + ": " + se.Msg}
			}
			return nil, err
		}
		ctx := f.ctx
		if ctx == nil {
			ctx = context.Background() // tests that build a Factory without Run
		}
		f.ssh = &sshTunnel{plan: plan, ctx: ctx, opts: sshtunnel.Options{Timeout: f.timeout(), Warn: warn}}
		if f.Global.Verbose {
			fmt.Fprintf(f.IO.ErrOut, "via SSH %s (from %s)\n", plan, r.SSHSource)
		}
	}
	return f.ssh.dial, nil
}

// endTunnel closes the tunnel when the command is done, and returns the
// error to report: the tunnel's own when it is what failed.
func (f *Factory) endTunnel(err error) error {
	s := f.ssh
	if s == nil {
		return err
	}
	f.ssh = nil
	defer s.close()
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	s.mu.Lock()
	openErr := s.err
	s.mu.Unlock()
	if openErr != nil {
		// Nothing was reached: what the command was doing adds nothing.
		return openErr
	}
	if backends.TunnelError(err) != nil && !errors.As(err, new(*backends.ConnError)) {
		return err
	}
	if terr := s.failure(err); terr != nil && !strings.Contains(err.Error(), terr.Error()) {
		// The command's error says less (a library's flattened chain,
		// "connection closed"): the tunnel's is the cause worth a line.
		return terr
	}
	return err
}
