// Package drivers is the table of every backend kind cachectl speaks. The
// command layer opens, validates and names URLs through it; a new backend
// (or a new kind of an old one) is one entry here plus its package.
package drivers

import (
	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/backends/httpmem"
	"github.com/cachectl/cachectl/internal/backends/memcached"
	"github.com/cachectl/cachectl/internal/backends/redis"
)

// All returns the table, in the order error messages list the schemes.
func All() backends.Drivers {
	return backends.Drivers{
		redis.Driver,
		memcached.Driver,
		httpmem.Driver,
	}
}
