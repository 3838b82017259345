"""GET /v1/events: key events as server-sent events."""

import asyncio
import importlib.util
import json
import os
import unittest
from typing import Any, Dict, List, Optional, Tuple

from cachectl_asgi import AiocacheMemoryAdapter, CachectlApp, MappingAdapter
from standins import SimpleMemoryCacheStandIn
from tests.helpers import TOKEN, call_raw

AUTH_HEADER = (b"authorization", b"Bearer " + TOKEN.encode())


class Stream:
    """An open GET /v1/events, driven by hand: events as parsed JSON."""

    def __init__(self, app: CachectlApp, query: bytes = b"", headers: Optional[List[Tuple[bytes, bytes]]] = None):
        self.app = app
        self.messages: asyncio.Queue = asyncio.Queue()
        self.leave = asyncio.Event()
        self.buf = b""
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/v1/events",
            "raw_path": b"/v1/events",
            "root_path": "",
            "query_string": query,
            "headers": [(b"host", b"127.0.0.1")] + (headers if headers is not None else [AUTH_HEADER]),
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }

    async def open(self) -> Dict[bytes, bytes]:
        async def receive() -> dict:
            await self.leave.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            await self.messages.put(message)

        self.task = asyncio.ensure_future(self.app(self.scope, receive, send))
        start = await asyncio.wait_for(self.messages.get(), 5)
        self.status = start["status"]
        return dict(start["headers"])

    async def line_block(self, timeout: float = 5.0) -> bytes:
        """The next event or comment block (up to a blank line)."""
        while b"\n\n" not in self.buf:
            m = await asyncio.wait_for(self.messages.get(), timeout)
            self.buf += m.get("body", b"")
        block, _, self.buf = self.buf.partition(b"\n\n")
        return block

    async def event(self, timeout: float = 5.0) -> Dict[str, Any]:
        while True:
            block = await self.line_block(timeout)
            if block.startswith(b"data: "):
                return json.loads(block[len(b"data: "):])

    async def close(self) -> None:
        self.leave.set()
        await asyncio.wait_for(self.task, 5)


def _real(module: str) -> bool:
    if importlib.util.find_spec(module) is not None:
        return True
    if os.environ.get("CACHECTL_REQUIRE_SERVERS"):
        raise AssertionError("%s is required: eval \"$(../shared/thirdparty/python/setup.sh)\"" % module)
    return False


async def put(app: CachectlApp, key: bytes, body: bytes = b"1", ttl: str = "") -> int:
    status, _, _ = await call_raw(
        app, "PUT", "/v1/entry", b"key=" + key + (b"&ttl=" + ttl.encode() if ttl else b""),
        [AUTH_HEADER, (b"cache-format", b"json")], [body],
    )
    return status


class MappingEventsTest(unittest.IsolatedAsyncioTestCase):
    """A dict cannot be observed: the app reports the writes made through it."""

    async def asyncSetUp(self) -> None:
        self.app = CachectlApp(MappingAdapter({}), token=TOKEN)

    async def test_capability(self):
        _, _, body = await call_raw(self.app)
        self.assertIn("events", json.loads(body)["capabilities"])

    async def test_writes_through_the_app(self):
        s = Stream(self.app, b"match=w%3A*")
        headers = await s.open()
        self.assertEqual(s.status, 200)
        self.assertEqual(headers[b"content-type"], b"text/event-stream")
        self.assertEqual(headers[b"cache-heartbeat"], b"15")
        self.assertEqual(await s.line_block(), b": subscribed")
        self.assertEqual(await put(self.app, b"other"), 204)
        self.assertEqual(await put(self.app, b"w%3Aa"), 204)
        await call_raw(self.app, "DELETE", "/v1/entry", b"key=w%3Aa")
        await call_raw(self.app, "DELETE", "/v1/entry", b"key=w%3Aa")  # gone: no event
        e = await s.event()
        self.assertEqual((e["event"], e["key"]), ("set", "w:a"))
        self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
        e = await s.event()
        self.assertEqual(e["event"], "del")
        await s.close()
        self.assertFalse(self.app._events.subscribers)

    async def test_overflow_is_a_gap(self):
        self.app._events._limit = 2
        s = Stream(self.app)
        await s.open()
        # The stream's task runs only when this one waits: every write lands first.
        for i in range(5):
            self.assertEqual(await put(self.app, b"k%d" % i), 204)
        got = [await s.event() for _ in range(3)]
        self.assertEqual([(e["event"], e.get("key")) for e in got], [("set", "k0"), ("set", "k1"), ("gap", None)])
        self.assertEqual(got[2]["dropped"], 3)
        self.assertLessEqual(got[2]["since"], got[2]["time"])
        await s.close()

    async def test_heartbeat(self):
        s = Stream(self.app, b"heartbeat=1")
        await s.open()
        self.assertEqual(await s.line_block(), b": subscribed")
        self.assertEqual(await s.line_block(timeout=3), b": heartbeat")
        await s.close()

    async def test_refusals(self):
        for query, status in ((b"heartbeat=0.5", 400), (b"heartbeat=x", 400)):
            st, _, _ = await call_raw(self.app, "GET", "/v1/events", query)
            self.assertEqual(st, status, query)
        st, _, _ = await call_raw(self.app, "GET", "/v1/events", b"", [])
        self.assertEqual(st, 401)
        st, _, _ = await call_raw(self.app, "GET", "/v1/events", b"", [AUTH_HEADER, (b"origin", b"http://evil.example")])
        self.assertEqual(st, 403)
        st, _, _ = await call_raw(self.app, "POST", "/v1/events")
        self.assertEqual(st, 405)
        # Without a token, a page on another name (DNS rebinding) is refused.
        open_app = CachectlApp(MappingAdapter({}), allow_no_token=True)
        st, _, _ = await call_raw(open_app, "GET", "/v1/events", b"", [(b"host", b"evil.example")])
        self.assertEqual(st, 421)

    async def test_close_streams(self):
        s = Stream(self.app)
        await s.open()
        self.app.close_streams()
        await asyncio.wait_for(s.task, 5)  # the response ends without the client leaving
        self.assertFalse(self.app._events.subscribers)

    async def test_bounded_subscribers(self):
        self.app._events._max = 1
        s = Stream(self.app)
        await s.open()
        st, headers, _ = await call_raw(self.app, "GET", "/v1/events")
        self.assertEqual(st, 503)
        self.assertEqual(headers[b"retry-after"], b"5")
        await s.close()


class AiocacheEventsTest(unittest.IsolatedAsyncioTestCase):
    """aiocache's cache is observed: the app's own writes and its timers' expiries."""

    def make_cache(self) -> Any:
        return SimpleMemoryCacheStandIn(namespace="app:")

    async def asyncSetUp(self) -> None:
        self.cache = self.make_cache()
        self.app = CachectlApp(AiocacheMemoryAdapter(self.cache), token=TOKEN)

    async def test_cache_changes(self):
        await self.cache.set("early", 1, ttl=0.2)  # its timer predates the stream
        s = Stream(self.app)
        await s.open()
        self.assertTrue(self.app._observed)
        await self.cache.set("a", {"x": 1})  # the app's own write
        await self.cache.expire("a", 60)
        self.assertEqual(await put(self.app, b"app%3Ab"), 204)  # through the adapter: once
        await self.cache.delete("a")
        await self.cache.set("short", 1, ttl=0.05)
        got = []
        while len(got) < 7:
            e = await s.event()
            got.append((e["event"], e["key"]))
        self.assertEqual(
            got[:4], [("set", "app:a"), ("expire", "app:a"), ("set", "app:b"), ("del", "app:a")]
        )
        self.assertEqual(sorted(got[4:]), [("expired", "app:early"), ("expired", "app:short"), ("set", "app:short")])
        self.assertLess(got.index(("set", "app:short")), got.index(("expired", "app:short")))
        await s.close()


class RealAiocacheEventsTest(AiocacheEventsTest):
    """The same against the real aiocache (../shared/thirdparty/python)."""

    def make_cache(self) -> Any:
        if not _real("aiocache"):
            self.skipTest("no aiocache")
        from aiocache import SimpleMemoryCache

        return SimpleMemoryCache(namespace="app:")


if __name__ == "__main__":
    unittest.main()
