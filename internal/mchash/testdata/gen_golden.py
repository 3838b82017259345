#!/usr/bin/python3
"""Asks the real Python memcached clients which server each key goes to.

Writes JSON to stdout for internal/mchash's tests:

  {"versions": {...},
   "keysets": {NAME: [hex of the wire key, ...]},
   "configs": [{"scheme": S, "servers": [...], "keyset": NAME,
                "expect": "0210..."}]}   # one digit per key: server index

pymemcache: builds pymemcache.client.hash.HashClient the way Django's
PyMemcacheCache does (allow_unicode_keys=True, default RendezvousHash) and asks
_get_client(key) for the client; nothing connects (checked at the end).

pylibmc: needs real memcached servers, since libmemcached only tells where a
key went by sending it there. Give their ports with --ports (the Go test starts
them), or let this script start memcached on free loopback ports itself. Each
key is set through pylibmc.Client(servers) with default behaviors (Django's
PyLibMCCache), then every server is asked with a raw `get` which holds it.

Regenerate the committed file (from internal/mchash):
  /usr/bin/python3 testdata/gen_golden.py --keys 400 > testdata/golden.json
"""

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time

# Two servers whose rendezvous scores tie for TIE_KEY (murmur3 269156917 for
# both): pymemcache keeps the larger name, whichever order they come in.
TIE_NODES = ["mc11354.test:11211", "mc15180.test:11211"]
TIE_KEY = "django:1:tie"

PYMEMCACHE_POOLS = [
    ["127.0.0.1:11211", "127.0.0.1:11212"],
    ["cache-a.example:11211", "cache-b.example:11211", "cache-c.example:11211"],
    # Naming: default port, IPv6 brackets, unix socket, port given as "011211".
    ["mc1:11211", "[::1]:11212", "mc3", "unix:/run/memcached/mc.sock", "mc5:011211"],
    # "mc1:011211" names the same node as "mc1:11211": HashClient keeps one.
    ["mc1:11211", "mc1:011211", "mc2:11211"],
    # A non-ASCII host name is hashed by code point too.
    ["café.example:11211", "mc2.example:11211", "mc3.example:11211"],
]

WIRE_WS = b" \t\n\r\x0b\x0c"  # bytes.split() separators: pymemcache rejects them
ASCII_OK = "".join(chr(c) for c in range(1, 128) if c not in WIRE_WS)
PRINTABLE = "".join(chr(c) for c in range(33, 127))
UNICODE_POOLS = [
    "".join(chr(c) for c in range(0x80, 0x100)),           # Latin-1, incl. U+0085, U+00A0
    "".join(chr(c) for c in (0x100, 0x109, 0x10A, 0x120, 0x200, 0x2020, 0x3000, 0xFEFF)),
    "ключзначение",                                        # Cyrillic
    "日本語キャッシュ鍵",                                     # CJK
    "\U0001F600\U0001F4BE\U00010000\U0010FFFD",           # astral
]


def rand_str_key(rng):
    kind = rng.randrange(6)
    if kind == 0:   # Django-style: KEY_PREFIX:VERSION:key
        return "%s:%d:%s" % (rng.choice(["", "app", "site1"]), rng.randrange(1, 4),
                             "".join(rng.choice(PRINTABLE) for _ in range(rng.randrange(1, 40))))
    if kind == 1:   # any ASCII pymemcache accepts, control bytes too
        return "".join(rng.choice(ASCII_OK) for _ in range(rng.randrange(1, 60)))
    if kind == 5:   # long, near the 250-byte limit
        n = rng.randrange(200, 251)
        s = "".join(rng.choice(PRINTABLE + UNICODE_POOLS[0]) for _ in range(n))
        while len(s.encode()) > 250:
            s = s[:-1]
        return s
    out = []
    for _ in range(rng.randrange(1, 40)):
        if rng.random() < 0.4:
            out.append(rng.choice(PRINTABLE))
        else:
            out.append(rng.choice(rng.choice(UNICODE_POOLS)))
    return "".join(out)


def rand_bytes_key(rng, need_bad_utf8):
    ok = [b for b in range(1, 256) if b not in WIRE_WS]
    ascii_ok = [b for b in ok if b < 0x80]
    while True:
        n = rng.randrange(1, 80) if rng.random() < 0.95 else rng.randrange(200, 251)
        if rng.random() < 0.3:
            b = bytes(rng.choice(ascii_ok) for _ in range(n))   # ASCII only
        else:
            b = bytes(rng.choice(ok) for _ in range(n))
        if rng.random() < 0.2:
            b = b"'" + b + b'"\\'                                # both quotes
        b = b[:250]
        try:
            b.decode("utf-8")
            bad = False
        except UnicodeDecodeError:
            bad = True
        if bad or not need_bad_utf8:
            return b


def make_keysets(n, seed):
    rng = random.Random(seed)
    fixed = ["a", "b", "key", "django:1:views.decorators.cache.cache_page",
             ":1:ключ", "日本", "é", "\x01", "\x7f", "'\"\\", "\u0100\u0120",
             "\U0001F600", "x" * 250]
    strs, seen = [], set()
    for k in fixed + [rand_str_key(rng) for _ in range(4 * n)]:
        if len(strs) == n:
            break
        if k and k not in seen and len(k.encode()) <= 250:
            seen.add(k)
            strs.append(k)
    byts, bad, seen = [], [], set()
    while len(byts) < n:
        k = rand_bytes_key(rng, False)
        if k not in seen:
            seen.add(k)
            byts.append(k)
    seen = set()
    while len(bad) < n // 4:
        k = rand_bytes_key(rng, True)
        if k not in seen:
            seen.add(k)
            bad.append(k)
    return {"str": strs, "bytes": byts, "badutf8": bad, "tie": [TIE_KEY]}


def wire(k):
    return k.encode("utf-8") if isinstance(k, str) else k


def pymemcache_configs(keysets):
    from pymemcache.client.base import normalize_server_spec
    from pymemcache.client.hash import HashClient
    configs = []

    def run(scheme, servers, keyset):
        hc = HashClient(servers, allow_unicode_keys=True, default_noreply=False)
        names = [hc._make_client_key(normalize_server_spec(s)) for s in servers]
        by_client = {id(c): names.index(name) for name, c in hc.clients.items()}
        digits = []
        for k in keysets[keyset]:
            c = hc._get_client(k)
            digits.append(str(by_client[id(c)]))
        if any(c.sock is not None for c in hc.clients.values()):
            sys.exit("gen_golden: HashClient connected to a server")
        configs.append({"scheme": scheme, "servers": servers, "keyset": keyset,
                        "expect": "".join(digits)})

    for servers in PYMEMCACHE_POOLS:
        run("pymemcache", servers, "str")
        run("pymemcache", servers, "badutf8")
        run("pymemcache-bytes", servers, "bytes")
    run("pymemcache", TIE_NODES, "tie")
    run("pymemcache", TIE_NODES[::-1], "tie")
    return configs


class Raw:
    """A plain text-protocol connection, to see what one server holds."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.sock.makefile("rb")

    def cmd(self, line):
        self.sock.sendall(line + b"\r\n")
        return self.f.readline()

    def has(self, key):
        line = self.cmd(b"get " + key)
        if line == b"END\r\n":
            return False
        if not line.startswith(b"VALUE "):
            sys.exit("gen_golden: get %r: %r" % (key, line))
        size = int(line.split()[-1])
        self.f.read(size + 2)
        if self.f.readline() != b"END\r\n":
            sys.exit("gen_golden: get %r: no END" % key)
        return True

    def flush(self):
        if self.cmd(b"flush_all") != b"OK\r\n":
            sys.exit("gen_golden: flush_all failed")


def pylibmc_configs(keysets, ports):
    import pylibmc
    raws = [Raw(p) for p in ports]
    configs = []
    for n in (2, 3, 5):
        if n > len(ports):
            break
        servers = ["127.0.0.1:%d" % p for p in ports[:n]]
        for keyset in ("str", "bytes"):
            for r in raws:
                r.flush()
            mc = pylibmc.Client(servers)  # default behaviors, as Django's PyLibMCCache
            for k in keysets[keyset]:
                if not mc.set(k, b"1"):
                    sys.exit("gen_golden: pylibmc set %r failed" % k)
            digits = []
            for k in keysets[keyset]:
                where = [i for i, r in enumerate(raws[:n]) if r.has(wire(k))]
                if len(where) != 1:
                    sys.exit("gen_golden: key %r is on servers %r" % (k, where))
                digits.append(str(where[0]))
            mc.disconnect_all()
            configs.append({"scheme": "pylibmc", "servers": servers, "keyset": keyset,
                            "expect": "".join(digits)})
    return configs


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_memcached(count):
    exe = shutil.which("memcached")
    if not exe:
        sys.exit("gen_golden: memcached is not on PATH (needed for pylibmc)")
    procs, ports = [], []
    for _ in range(count):
        port = free_port()
        args = [exe, "-l", "127.0.0.1", "-p", str(port), "-U", "0"]
        if os.geteuid() == 0:
            args += ["-u", "root"]
        procs.append(subprocess.Popen(args))
        ports.append(port)
    for port in ports:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            sys.exit("gen_golden: memcached on port %d did not start" % port)
    return procs, ports


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keys", type=int, default=2000, help="keys per keyset")
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--ports", help="comma-separated memcached ports for pylibmc (at least 5)")
    ap.add_argument("--only", choices=["pymemcache", "pylibmc"], help="run one library only")
    a = ap.parse_args()

    sets = make_keysets(a.keys, a.seed)
    out = {"versions": {}, "keysets": {k: [wire(x).hex() for x in v] for k, v in sets.items()},
           "configs": []}
    if a.only in (None, "pymemcache"):
        import pymemcache
        out["versions"]["pymemcache"] = pymemcache.__version__
        out["configs"] += pymemcache_configs(sets)
    if a.only in (None, "pylibmc"):
        import pylibmc
        out["versions"]["pylibmc"] = pylibmc.__version__
        out["versions"]["libmemcached"] = pylibmc.libmemcached_version
        procs = []
        if a.ports:
            ports = [int(p) for p in a.ports.split(",")]
        else:
            procs, ports = start_memcached(5)
        try:
            out["configs"] += pylibmc_configs(sets, ports)
        finally:
            for p in procs:
                p.terminate()
                p.wait()
    json.dump(out, sys.stdout, ensure_ascii=True, indent=0)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
