"""glob_match: Redis' KEYS / SCAN MATCH semantics, byte-wise.

Expected answers follow stringmatchlen in Redis 7.0.15 (src/util.c); the
matcher was also checked against a live redis-server 7.0.15 on 9000 random
patterns over an alphabet of metacharacters, NUL and high bytes.
"""

import time
import unittest

from cachectl_asgi import _literal_prefix, _match, glob_match

CASES = [
    # literals and '?'
    (b"user:1", b"user:1", True),
    (b"user:1", b"user:10", False),
    (b"User:1", b"user:1", False),
    (b"?", b"x", True),
    (b"?", b"\xff", True),
    (b"??", b"x", False),
    (b"u?er", b"user", True),
    (b"caf\xc3\xa9", b"caf\xc3\xa9", True),
    (b"caf?", b"caf\xc3\xa9", False),  # '?' is one byte, not one character
    (b"caf??", b"caf\xc3\xa9", True),
    # '*'
    (b"*", b"anything at all", True),
    (b"user:*", b"user:", True),
    (b"user:*", b"user:42", True),
    (b"user:*", b"users:42", False),
    (b"*:42", b"user:42", True),
    (b"*:42", b"user:421", False),
    (b"u*r*2", b"user:42", True),
    (b"***x", b"abcx", True),
    (b"x***", b"x", True),
    (b"*x*y", b"yx", False),
    (b"*ab", b"aaab", True),
    (b"?*", b"z", True),
    (b"*?*?", b"z", False),
    (b"sess:*:[0-9]", b"sess:abc:7", True),
    (b"sess:*:[0-9]", b"sess:abc:77", False),
    # classes
    (b"[xyz]", b"y", True),
    (b"[xyz]", b"w", False),
    (b"[^xyz]", b"w", True),
    (b"[^xyz]", b"x", False),
    (b"[0-9]", b"5", True),
    (b"[9-0]", b"5", True),  # reversed range: swapped
    (b"[0-9]", b"a", False),
    (b"[a-cq]", b"q", True),
    (b"[a-c-e]", b"-", True),  # after a range, '-' and 'e' are plain
    (b"[a-c-e]", b"d", False),
    (b"[-z]", b"-", True),
    (b"[z-]", b"]", True),  # "z-]" is the range ']'..'z' and the class stays open
    (b"[z-]", b"-", False),
    (b"[]", b"]", False),  # ']' right after '[' closes an empty class
    (b"[^]", b"q", True),
    (b"[^]]", b"]", False),
    (b"[^]]", b"q]", True),
    # unterminated classes run to the end of the pattern
    (b"[xy", b"y", True),
    (b"[xy", b"[", False),
    (b"[", b"[", False),
    (b"[^", b"q", True),
    (b"k[", b"k", False),
    # escapes
    (b"\\*", b"*", True),
    (b"\\*", b"x", False),
    (b"\\?", b"?", True),
    (b"\\[x]", b"[x]", True),
    (b"\\q", b"q", True),
    (b"\\\\", b"\\", True),
    (b"\\", b"\\", True),  # a lone trailing backslash is itself
    (b"q\\", b"q\\", True),
    (b"[\\]]", b"]", True),
    (b"[\\-x]", b"-", True),
    (b"[\\-x]", b"w", False),
    (b"[\\", b"\\", True),
    (b"[^\\]]", b"]", False),
    # aiocache decorator keys contain glob metacharacters
    (b"mod\\[1, 2\\]", b"mod[1, 2]", True),
    (b"mod[1, 2]", b"mod[1, 2]", False),
    # signed-char ranges: bytes >= 0x80 sort before 0x00
    (b"[a-\xff]", b"\x00", True),
    (b"[a-\xff]", b"\xff", True),
    (b"[a-\xff]", b"b", False),
    (b"[\x80-\xff]", b"\xc3", True),
    (b"[\x00-\x7f]", b"\xc3", False),
    # NUL is an ordinary byte
    (b"a\x00*", b"a\x00b", True),
    (b"[\x00]", b"\x00", True),
    # empty keys and patterns (the protocol never sends an empty key)
    (b"", b"", True),
    (b"", b"a", False),
    (b"*", b"", True),
    (b"**", b"", False),
]


class GlobMatchTest(unittest.TestCase):
    def test_cases(self):
        for pattern, key, want in CASES:
            with self.subTest(pattern=pattern, key=key):
                self.assertIs(glob_match(pattern, key), want)

    def test_star_run_cap(self):
        # Redis stops after 1000 nested '*' (CVE-2024-31228): the pattern after
        # a 1001st run fails, unless that run ends the pattern.
        key = b"a" * 1100
        self.assertTrue(glob_match(b"*a" * 1000, key))
        self.assertFalse(glob_match(b"*a" * 1001, key))
        self.assertTrue(glob_match(b"*a" * 1000 + b"*", key))
        self.assertFalse(glob_match(b"*a" * 1001 + b"*", key))
        self.assertTrue(glob_match(b"a*" * 1001, key))
        self.assertTrue(_match(b"*a*a", b"xaxa", 2))
        self.assertFalse(_match(b"*a*a*a", b"xaxaxa", 2))

    def test_no_exponential_backtracking(self):
        key = b"a" * 10000
        for pattern in (b"a*" * 100 + b"b", b"*a" * 100 + b"b", b"*" + b"a" * 100 + b"b"):
            start = time.monotonic()
            self.assertFalse(glob_match(pattern, key))
            self.assertLess(time.monotonic() - start, 5.0, pattern[:20])

    def test_literal_prefix(self):
        for pattern, prefix in [
            (b"user:*", b"user:"),
            (b"user:1", b"user:1"),
            (b"a\\*b*", b"a*b"),
            (b"x?y", b"x"),
            (b"[ab]c", b""),
            (b"q\\", b"q\\"),
            (b"*", b""),
        ]:
            with self.subTest(pattern=pattern):
                self.assertEqual(_literal_prefix(pattern), prefix)
        # the prefix never excludes a key the pattern matches
        for pattern, key, want in CASES:
            if want:
                self.assertTrue(key.startswith(_literal_prefix(pattern)) or pattern == b"*", pattern)


if __name__ == "__main__":
    unittest.main()
