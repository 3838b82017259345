// Package mchash picks, for a memcached pool written as an ordered list of
// host:port strings, the server that an application's own client library
// would send a key to. cachectl needs this when it writes a key that no server
// holds yet: it must land where the application will look for it.
//
// Each scheme reproduces one client library's default key distribution, as
// verified against the real library (see the tests and testdata/):
//
//   - "pymemcache" (the default): pymemcache 3.5.2's HashClient with its
//     default RendezvousHash, as Django's PyMemcacheCache uses it (str keys).
//   - "pymemcache-bytes": the same client when the application passes bytes
//     keys, which pymemcache hashes through their repr (b'...').
//   - "pylibmc": pylibmc over libmemcached with default behaviors, as Django's
//     PyLibMCCache uses it: one-at-a-time hash, modula distribution.
//   - "gomemcache": github.com/bradfitz/gomemcache's ServerList: CRC-32
//     (IEEE) of the key, modulo the number of servers.
//
// The key is always the key as it travels on the wire (the bytes memcached
// stores), held in a Go string.
package mchash

import (
	"errors"
	"fmt"
	"strings"
)

// Selector returns the index, into the server list it was built from, of
// the server a key goes to. It is safe for concurrent use.
type Selector func(key string) int

// Scheme names accepted by New.
const (
	PyMemcache      = "pymemcache"
	PyMemcacheBytes = "pymemcache-bytes"
	PyLibMC         = "pylibmc"
	GoMemcache      = "gomemcache"
)

// Default is the scheme New uses for an empty name: Django's PyMemcacheCache
// is the backend Django recommends for memcached, so most pools cachectl
// writes to are read through pymemcache.
const Default = PyMemcache

var builders = map[string]func(servers []string) (Selector, error){
	PyMemcache:      func(s []string) (Selector, error) { return newPyMemcache(s, false) },
	PyMemcacheBytes: func(s []string) (Selector, error) { return newPyMemcache(s, true) },
	PyLibMC:         newPyLibMC,
	GoMemcache:      newGoMemcache,
}

// Schemes returns the scheme names New accepts, the default first.
func Schemes() []string {
	return []string{PyMemcache, PyMemcacheBytes, PyLibMC, GoMemcache}
}

// ErrNoServers is returned by New for an empty server list: no client
// library can place a key then.
var ErrNoServers = errors.New("mchash: no servers")

// New returns the Selector of the named scheme ("" means Default) for
// servers, given in the order the pool URL lists them. servers is copied.
func New(scheme string, servers []string) (Selector, error) {
	if scheme == "" {
		scheme = Default
	}
	build, ok := builders[scheme]
	if !ok {
		return nil, fmt.Errorf("mchash: unknown scheme %q (known: %s)", scheme, strings.Join(Schemes(), ", "))
	}
	if len(servers) == 0 {
		return nil, ErrNoServers
	}
	return build(append([]string(nil), servers...))
}
