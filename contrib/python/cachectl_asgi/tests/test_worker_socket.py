"""worker_socket: each worker process serving the adapter on its own unix socket."""

import asyncio
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

import cachectl_asgi
from cachectl_asgi import CachectlApp, MappingAdapter, WorkerSocket, worker_socket
from tests.helpers import TOKEN


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


async def exchange(path: str, raw: bytes, reads: int = 1):
    """Sends raw on a new connection to path and reads `reads` responses."""
    reader, writer = await asyncio.open_unix_connection(path)
    try:
        writer.write(raw)
        await writer.drain()
        out = []
        for _ in range(reads):
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ")[1])
            headers = dict(line.split(": ", 1) for line in lines[1:] if line)
            n = int(headers.get("content-length", "0"))
            body = b"" if raw.startswith(b"HEAD") else await reader.readexactly(n)
            out.append((status, headers, body))
        return out
    finally:
        writer.close()


def request(method: str, target: str, body: bytes = b"", auth: bool = True, extra: str = "") -> bytes:
    head = "%s %s HTTP/1.1\r\nHost: localhost\r\n" % (method, target)
    if auth:
        head += "Authorization: Bearer %s\r\n" % TOKEN
    if body:
        head += "Content-Length: %d\r\nContent-Type: application/octet-stream\r\nCache-Format: bytes\r\n" % len(body)
    return (head + extra + "\r\n").encode() + body


class WorkerSocketTest(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cw")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.dir = os.path.join(self.tmp, "sockets")
        self.data = {"user:1": b"ada"}
        self.app = CachectlApp(MappingAdapter(self.data), token=TOKEN)

    async def test_serves_the_app_on_its_own_socket(self):
        async with worker_socket(self.app, self.dir) as ws:
            name = "%s-%d.sock" % (socket.gethostname(), os.getpid())
            self.assertEqual(ws.path, os.path.join(self.dir, name))
            self.assertEqual(stat.S_IMODE(os.stat(self.dir).st_mode), 0o700)
            st = os.lstat(ws.path)
            self.assertTrue(stat.S_ISSOCK(st.st_mode))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
            # Two requests on one kept-alive connection.
            (s1, h1, b1), (s2, h2, b2) = await exchange(
                ws.path, request("GET", "/v1/capabilities") + request("GET", "/v1/entry?key=user%3A1"), reads=2
            )
            self.assertEqual(s1, 200)
            self.assertIn("get", json.loads(b1)["capabilities"])
            self.assertEqual((s2, b2), (200, b"ada"))
            # HEAD: the value's length, no body.
            [(s, h, b)] = await exchange(ws.path, request("HEAD", "/v1/entry?key=user%3A1"))
            self.assertEqual((s, h["content-length"], b), (200, "3", b""))
            [(s, _, _)] = await exchange(ws.path, request("PUT", "/v1/entry?key=new", b"\x00\xff"))
            self.assertEqual(s, 204)
            self.assertEqual(self.data["new"], b"\x00\xff")
            [(s, h, _)] = await exchange(ws.path, request("GET", "/v1/stats", auth=False))
            self.assertEqual((s, h.get("www-authenticate")), (401, "Bearer"))
            path = ws.path
        self.assertFalse(os.path.lexists(path), "the socket is removed on exit")

    async def test_refuses_malformed_requests(self):
        async with worker_socket(self.app, self.dir) as ws:
            for raw, status in [
                (b"GARBAGE\r\n\r\n", 400),
                (b"GET /v1/stats HTTP/1.1\r\nbad header\r\n\r\n", 400),
                (b"GET http://x/ HTTP/1.1\r\n\r\n", 400),
                (request("PUT", "/v1/entry?key=k", extra="Transfer-Encoding: chunked\r\n"), 501),
                (b"GET /v1/stats HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
                (b"GET /v1/stats HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", 431),
            ]:
                [(s, h, b)] = await exchange(ws.path, raw)
                self.assertEqual(s, status, raw[:40])
                self.assertEqual(h.get("connection"), "close")
                self.assertIn("error", json.loads(b))
            # The server still answers afterwards.
            [(s, _, _)] = await exchange(ws.path, request("GET", "/v1/capabilities"))
            self.assertEqual(s, 200)

    async def test_stale_sockets(self):
        os.mkdir(self.dir, 0o700)
        host = cachectl_asgi._socket_name().rsplit("-", 1)[0]

        def leave_socket(name):
            s = socket.socket(socket.AF_UNIX)
            s.bind(os.path.join(self.dir, name))
            s.close()  # the file stays, nobody listens

        dead = dead_pid()
        leave_socket("%s-%d.sock" % (host, dead))  # ours, dead: removed
        # Ours, its pid taken by another process since, nobody listening:
        # removed (cachectl would report it as a dead worker for ever).
        leave_socket("%s-1.sock" % host)
        # Ours, alive and listening: kept.
        live = socket.socket(socket.AF_UNIX)
        self.addCleanup(live.close)
        live.bind(os.path.join(self.dir, "%s-%d.sock" % (host, os.getppid())))
        live.listen(1)
        leave_socket("otherhost-%d.sock" % dead)  # another host's: not ours to judge
        plain = "%s-%d.sock" % (host, dead_pid())
        with open(os.path.join(self.dir, plain), "w") as f:
            f.write("not a socket")  # never removed
        async with worker_socket(self.app, self.dir):
            left = sorted(os.listdir(self.dir))
        self.assertNotIn("%s-%d.sock" % (host, dead), left)
        self.assertNotIn("%s-1.sock" % host, left)
        self.assertIn("%s-%d.sock" % (host, os.getppid()), left)
        self.assertIn("otherhost-%d.sock" % dead, left)
        self.assertIn(plain, left)
        self.assertEqual(len(left), 4, left)  # with this worker's own, and no temporary name

        # A file of another kind under this worker's own name is not replaced.
        mine = os.path.join(self.dir, cachectl_asgi._socket_name())
        with open(mine, "w") as f:
            f.write("x")
        with self.assertRaises(FileExistsError):
            async with worker_socket(self.app, self.dir):
                pass
        self.assertTrue(os.path.isfile(mine))

    async def test_a_replaced_socket_is_left_alone(self):
        ws = worker_socket(self.app, self.dir)
        async with ws:
            os.unlink(ws.path)
            s = socket.socket(socket.AF_UNIX)
            s.bind(ws.path)  # someone else's now
            s.close()
        self.assertTrue(os.path.lexists(ws.path))

    async def test_the_environment_names_the_directory(self):
        with mock.patch.dict(os.environ, {"CACHECTL_WORKER_SOCKET_DIR": ""}):
            async with worker_socket(self.app) as ws:
                self.assertIsNone(ws.path)
        with mock.patch.dict(os.environ, {"CACHECTL_WORKER_SOCKET_DIR": self.dir}):
            async with worker_socket(self.app) as ws:
                self.assertEqual(os.path.dirname(ws.path), self.dir)
                [(s, _, _)] = await exchange(ws.path, request("GET", "/v1/capabilities"))
                self.assertEqual(s, 200)

    def test_bad_settings(self):
        with self.assertRaises(ValueError):
            WorkerSocket(self.app, self.dir, mode=0o666)
        with self.assertRaises(ValueError):
            WorkerSocket(self.app, os.path.join(self.tmp, "d" * 120))


if __name__ == "__main__":
    unittest.main()
