package redis

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
)

// dialer is the go-redis Dialer of every client of a deployment: it dials
// with dial (Options.Dialer, through an SSH tunnel when one is set) and
// adds TLS for rediss://, which go-redis leaves to a custom Dialer. A unix
// socket URL dials unixPath whatever address go-redis passes. timeout bounds
// the dial and the TLS handshake together, as go-redis' own dialer does.
func dialer(dial backends.DialFunc, tlsCfg *tls.Config, unixPath string, timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if unixPath != "" {
			network, addr = "unix", unixPath
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		conn, err := dial(ctx, network, addr)
		if err != nil || tlsCfg == nil {
			return conn, err
		}
		cfg := tlsCfg
		if cfg.ServerName == "" {
			// Each node of a cluster or Sentinel setup is checked against
			// its own host name, as tls.Dial would.
			cfg = cfg.Clone()
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		return tc, nil
	}
}
