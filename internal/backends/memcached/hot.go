package memcached

import (
	"context"

	"github.com/cachectl/cachectl/internal/backends"
)

var _ backends.HotKeyer = (*Backend)(nil)

// HotKeys counts the reads of every server of the pool from its "watch
// fetchers" log for opts.Duration, through the pool's Watch.
func (b *Backend) HotKeys(ctx context.Context, opts backends.HotOptions) (*backends.HotReport, error) {
	if opts.Method != "" && opts.Method != backends.HotFetchers {
		return nil, &backends.UnsupportedError{What: "hot-key method " + opts.Method + " on memcached (it has " + backends.HotFetchers + ")"}
	}
	nodes := make([]string, 0, len(b.servers))
	for _, s := range b.servers {
		nodes = append(nodes, s.addr)
	}
	return backends.HotFromFetches(ctx, b, nodes, opts)
}
