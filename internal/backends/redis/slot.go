package redis

import (
	"strings"

	"github.com/cachectl/cachectl/internal/backends"
)

// crcTable is CRC16-CCITT (XMODEM, polynomial 0x1021), which Redis Cluster
// hashes keys with.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}()

func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc = crc<<8 ^ crcTable[byte(crc>>8)^s[i]]
	}
	return crc
}

// hashTag is the part of key Redis hashes: the text between the first "{"
// and the first "}" after it when that is not empty, else the whole key.
func hashTag(key string) string {
	open := strings.IndexByte(key, '{')
	if open < 0 {
		return key
	}
	end := strings.IndexByte(key[open+1:], '}')
	if end <= 0 {
		return key
	}
	return key[open+1 : open+1+end]
}

// keySlot is the hash slot of key.
func keySlot(key string) int { return int(crc16(hashTag(key))) % backends.SlotCount }

// patternSlot reports the one slot every key a glob matches hashes to, when
// the glob's literal prefix holds a complete hash tag ("{user42}:*"): then
// the first "{" and the "}" after it are the same in every matching key.
func patternSlot(pattern string) (int, bool) {
	lit := literalPrefix(pattern)
	if lit == pattern {
		return keySlot(pattern), true // no wildcard: one key
	}
	open := strings.IndexByte(lit, '{')
	if open < 0 {
		// A key's first "{" could come from what a wildcard matches.
		return 0, false
	}
	end := strings.IndexByte(lit[open+1:], '}')
	if end < 0 {
		return 0, false
	}
	if end == 0 {
		// "{}" is no tag: the whole key is hashed, and it varies.
		return 0, false
	}
	return int(crc16(lit[open+1:open+1+end])) % backends.SlotCount, true
}

// literalPrefix is the text before a glob's first special character; an
// escaped character ends it too, which only makes the answer more cautious.
func literalPrefix(pattern string) string {
	if i := strings.IndexAny(pattern, `*?[\`); i >= 0 {
		return pattern[:i]
	}
	return pattern
}
