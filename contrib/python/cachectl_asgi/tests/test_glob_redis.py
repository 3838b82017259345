"""glob_match against a real redis-server's SCAN MATCH on random keys and patterns.

Uses the server that scripts/test-servers.sh starts (CACHECTL_TEST_REDIS_URL);
skips without one unless CACHECTL_REQUIRE_SERVERS is set. Speaks RESP over a
socket itself, so it needs no client library.
"""

import os
import random
import socket
import time
import unittest
from urllib.parse import urlparse

from cachectl_asgi import _Matcher, glob_match

SEED = int(os.environ.get("CACHECTL_GLOB_SEED", "0x5ca96c0b"), 0)
# Few enough bytes that patterns hit keys; every byte with a meaning in a
# pattern; NUL, control and bytes >= 0x80 (signed in Redis' ranges).
ALPHABET = b"aab:*?[]^-\\\x00\x01\x7f\x80\xe9\xff"
DATABASES = 1024  # as internal/testenv allocates them


class _Redis:
    def __init__(self, host: str, port: int):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def call(self, *args: bytes):
        out = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
        self.sock.sendall(out)
        return self._read()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode("latin-1"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2 :]
            return data
        if kind == b"*":
            return [self._read() for _ in range(int(rest))]
        raise RuntimeError("unexpected RESP %r" % line[:20])


def _rand_bytes(r: random.Random, n: int) -> bytes:
    return bytes(r.choice(ALPHABET) for _ in range(n))


def _rand_pattern(r: random.Random, keys) -> bytes:
    kind = r.randrange(4)
    if kind == 0:
        return _rand_bytes(r, r.randrange(9))
    if kind == 1:
        out = b""
        for _ in range(r.randrange(6) + 1):
            out += r.choice([b"*", b"*", b"**", b"?", b"[a-b]", b"[^a]", b"[\xff-a]", b"\\*", b"[", b"a", b"b:", b"\x80"])
        return out
    # a key with a few bytes replaced by metacharacters, so that some patterns match
    k = bytearray(r.choice(keys))
    for _ in range(r.randrange(3)):
        if k:
            k[r.randrange(len(k))] = r.choice(b"*?[]\\")
    if r.randrange(2):
        k[r.randrange(len(k) + 1) : 0] = b"*"
    return bytes(k)


class GlobAgainstRedisTest(unittest.TestCase):
    def setUp(self):
        url = os.environ.get("CACHECTL_TEST_REDIS_URL")
        if not url:
            if os.environ.get("CACHECTL_REQUIRE_SERVERS"):
                self.fail("CACHECTL_TEST_REDIS_URL is not set (run scripts/test-servers.sh start)")
            self.skipTest("no test redis (CACHECTL_TEST_REDIS_URL)")
        u = urlparse(url)
        self.redis = _Redis(u.hostname or "127.0.0.1", u.port or 6379)
        self.addCleanup(self.redis.close)
        # A database of its own, allocated like internal/testenv does.
        n = self.redis.call(b"INCR", b"cachectl:test:dbseq")
        self.redis.call(b"SELECT", b"%d" % (1 + (n - 1) % (DATABASES - 1)))
        self.redis.call(b"FLUSHDB")
        self.addCleanup(self.redis.call, b"FLUSHDB")

    def scan_match(self, pattern: bytes):
        got, cursor = set(), b"0"
        while True:
            cursor, keys = self.redis.call(b"SCAN", cursor, b"MATCH", pattern, b"COUNT", b"1000")
            got.update(keys)
            if cursor == b"0":
                return got

    def test_matches_scan_match(self):
        r = random.Random(SEED)
        keys = {b""}
        while len(keys) < 300:
            keys.add(_rand_bytes(r, r.randrange(9)))
        keys = sorted(keys)
        for k in keys:
            self.redis.call(b"SET", k, b"1")
        patterns = [b"", b"*", b"**", b"?", b"[", b"[^", b"\\"]
        while len(patterns) < 400:
            patterns.append(_rand_pattern(r, keys))
        mismatches, nonempty = [], 0
        for p in patterns:
            got = self.scan_match(p)
            nonempty += bool(got)
            self.assertLessEqual(got, set(keys))
            m = _Matcher(p)
            for k in keys:
                mine = glob_match(p, k)
                self.assertEqual(mine, m(k), (p, k))  # the compiled form agrees
                if mine != (k in got):
                    mismatches.append((p, k, k in got))
        self.assertEqual(mismatches[:20], [], "seed %#x: (pattern, key, SCAN MATCH)" % SEED)
        self.assertGreater(nonempty, 100, "the generator makes patterns that match too little")

    def test_star_run_cap_like_redis(self):
        key = b"a" * 1100
        self.redis.call(b"SET", key, b"1")
        for p in (b"*a" * 1000, b"*a" * 1001, b"*a" * 1000 + b"*", b"*a" * 1001 + b"*", b"a*" * 1001):
            with self.subTest(pattern=p[:12] + b"...(%d)" % len(p)):
                self.assertEqual(glob_match(p, key), key in self.scan_match(p))


class GlobSpeedTest(unittest.TestCase):
    def test_linear_on_hostile_input(self):
        # The input that took 7.8 s: a 64 KiB key and '*aaaa...b'.
        key = b"a" * 65536
        for pattern in (b"*" + b"a" * 1000 + b"b", b"*" + b"a" * 65000 + b"b*", b"*a" * 100 + b"b", b"*" + b"a?" * 200 + b"b*"):
            m = _Matcher(pattern)
            start = time.perf_counter()
            self.assertFalse(m(key))
            took = time.perf_counter() - start
            self.assertLess(took, 0.05, "%r...: %.3f s" % (pattern[:12], took))


if __name__ == "__main__":
    unittest.main()
