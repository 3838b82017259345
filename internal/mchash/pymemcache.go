package mchash

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cachectl/cachectl/internal/pyrepr"
)

// pymemcache 3.5.2 (pymemcache/client/hash.py, rendezvous.py, murmur3.py,
// and normalize_server_spec in client/base.py), as read from Debian's
// python3-pymemcache:
//
//   - Each server string is normalized by normalize_server_spec and named
//     "%s:%s" % (host, port) with port an int; "unix:/p" and "/p" are named by
//     their path. A name already present is not added again.
//   - HashClient._get_client hashes the key object the caller passed, not the
//     encoded, prefixed key that goes on the wire (check_key_helper's result
//     is discarded, so pymemcache's own key_prefix option is not hashed).
//   - RendezvousHash.get_node scores every node, in insertion order, as
//     murmur3_32("%s-%s" % (node, key), seed=0) and keeps the highest; on a
//     tie with the best so far it keeps max(node, winner) as strings.
//   - The Python murmur3_32 indexes a str: it hashes ord(c) & 0xff of each
//     code point and mixes in the number of code points. So non-ASCII keys
//     hash the low byte of each character, not their UTF-8 bytes.
//   - A bytes key is formatted with %s into the str above, i.e. as its repr:
//     "host:port-b'key'".
//
// Django's PyMemcacheCache passes str keys (allow_unicode_keys=True puts
// them on the wire as UTF-8), which is the "pymemcache" scheme. A wire key
// that is not valid UTF-8 cannot come from a str key, so that scheme hashes
// such a key the way pymemcache hashes the bytes object: that is the only
// way the application can have written it.

type pyNode struct {
	name  string // the node name the hasher knows the server by
	index int    // first index in the server list with that name
}

func newPyMemcache(servers []string, bytesKeys bool) (Selector, error) {
	var nodes []pyNode
	seen := map[string]bool{}
	for i, s := range servers {
		name, err := pymemcacheNodeName(s)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			continue // RendezvousHash.add_node skips a node it already has.
		}
		seen[name] = true
		nodes = append(nodes, pyNode{name: name, index: i})
	}
	return func(key string) int {
		var k []byte
		if !bytesKeys && utf8.ValidString(key) {
			k = pyStrLowBytes(nil, key)
		} else {
			k = pyBytesRepr(nil, key)
		}
		return rendezvous(nodes, k)
	}, nil
}

// rendezvous is RendezvousHash.get_node over nodes for the key, given as the
// bytes murmur3_32 sees for the key part of "node-key".
func rendezvous(nodes []pyNode, key []byte) int {
	var buf []byte
	high := int64(-1)
	winner := -1
	for i, n := range nodes {
		buf = pyStrLowBytes(buf[:0], n.name)
		buf = append(buf, '-')
		buf = append(buf, key...)
		score := int64(murmur3x86_32(buf, 0))
		switch {
		case score > high:
			high, winner = score, i
		case score == high && n.name > nodes[winner].name:
			// max(str(node), str(winner)); Go compares UTF-8 strings in code
			// point order, as Python compares str.
			winner = i
		}
	}
	return nodes[winner].index
}

// pyStrLowBytes appends, for each code point of the valid UTF-8 string s,
// the byte pymemcache's murmur3_32 reads from it: ord(c) & 0xff.
func pyStrLowBytes(dst []byte, s string) []byte {
	for _, r := range s {
		dst = append(dst, byte(r))
	}
	return dst
}

// pyBytesRepr appends Python 3's repr of the bytes s (b'...' or b"..."), as
// "%s" % b formats it.
func pyBytesRepr(dst []byte, s string) []byte {
	return pyrepr.AppendBytes(dst, []byte(s))
}

// pymemcacheNodeName is HashClient's name for a server given as a string:
// _make_client_key(normalize_server_spec(s)).
func pymemcacheNodeName(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("mchash: server %q is not valid UTF-8", s)
	}
	if p, ok := strings.CutPrefix(s, "unix:"); ok {
		return p, nil
	}
	if strings.HasPrefix(s, "/") {
		return s, nil
	}
	host, port := s, int64(11211)
	if strings.Contains(s, ":") && !strings.HasSuffix(s, "]") {
		i := strings.LastIndexByte(s, ':')
		p, err := pyInt(s[i+1:])
		if err != nil {
			return "", fmt.Errorf("mchash: server %q: pymemcache cannot parse port %q", s, s[i+1:])
		}
		host, port = s[:i], p
	}
	if strings.HasPrefix(host, "[") {
		host = strings.Trim(host, "[]")
	}
	return host + ":" + strconv.FormatInt(port, 10), nil
}

// pyInt parses s as Python's int(s) does for ASCII input: surrounding
// whitespace, an optional sign, and single underscores between digits.
func pyInt(s string) (int64, error) {
	s = strings.Trim(s, " \t\n\r\v\f")
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || digits == "" || digits[0] == '_' || digits[len(digits)-1] == '_' || strings.Contains(digits, "__") {
		return 0, strconv.ErrSyntax
	}
	digits = strings.ReplaceAll(digits, "_", "")
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, err
	}
	if s[0] == '-' {
		v = -v
	}
	return v, nil
}
