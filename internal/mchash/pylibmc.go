package mchash

// pylibmc 1.6.3 over libmemcached (Debian's libmemcached11 1.1.4, the
// libmemcached-awesome fork) with the behaviors pylibmc.Client leaves at
// their defaults, as Django's PyLibMCCache does unless OPTIONS set them:
// hash "default" and distribution "modula" (Client.get_behaviors() says so).
//
//   - libmemcached/hash.cc: with one server the index is 0 without hashing;
//     otherwise it hashes the key bytes (no namespace: hash_with_namespace is
//     off) and MEMCACHED_DISTRIBUTION_MODULA returns hash % server_count.
//     Weights and names play no part, and a server listed twice counts twice.
//   - libhashkit/hashkit.cc: the default hash is hashkit_one_at_a_time
//     (libhashkit/one_at_a_time.cc), Bob Jenkins' one-at-a-time hash, which
//     reads each byte through a plain char: on x86-64, where char is signed,
//     a byte >= 0x80 enters the sum sign-extended (0xc3 as 0xffffffc3).
//   - pylibmc puts a str key on the wire as UTF-8 and a bytes key as is, and
//     libmemcached hashes exactly those bytes.
//
// On a platform whose char is unsigned (arm64 Linux) libmemcached places keys
// with non-ASCII bytes differently; this implements amd64, where the golden
// data was made. ASCII keys place the same everywhere.

func newPyLibMC(servers []string) (Selector, error) {
	n := uint32(len(servers))
	if n == 1 {
		return func(string) int { return 0 }, nil
	}
	return func(key string) int {
		return int(oneAtATime(key) % n)
	}, nil
}

// oneAtATime is libhashkit's one-at-a-time hash with x86-64's signed char.
func oneAtATime(key string) uint32 {
	var h uint32
	for i := 0; i < len(key); i++ {
		h += uint32(int32(int8(key[i])))
		h += h << 10
		h ^= h >> 6
	}
	h += h << 3
	h ^= h >> 11
	h += h << 15
	return h
}
