package mchash

import "hash/crc32"

// github.com/bradfitz/gomemcache, memcache/selector.go, ServerList.PickServer:
// with one server it is that server; otherwise it copies the key into a
// 256-byte buffer, takes crc32.ChecksumIEEE of what was copied and picks
// addrs[sum % len(addrs)]. addrs follows the order given to SetServers, with
// duplicates kept (a server listed twice gets twice the keys); names are
// resolved but play no part in the choice. Keys longer than 256 bytes are
// hashed by their first 256 bytes, as there (gomemcache refuses keys over
// 250 bytes before picking, so legal keys are hashed whole).

const gomemcacheKeyBuf = 256

func newGoMemcache(servers []string) (Selector, error) {
	n := uint32(len(servers))
	if n == 1 {
		return func(string) int { return 0 }, nil
	}
	return func(key string) int {
		if len(key) > gomemcacheKeyBuf {
			key = key[:gomemcacheKeyBuf]
		}
		return int(crc32.ChecksumIEEE([]byte(key)) % n)
	}, nil
}
