"""AiocacheMemoryAdapter on the SimpleMemoryCache stand-in (standins.py)."""

import asyncio
import datetime
import decimal
import enum
import json
import pickle
import time

from cachectl_asgi import AiocacheMemoryAdapter, CachectlApp
from standins import (
    HitMissRatioPlugin,
    JsonSerializer,
    PickleSerializer,
    SimpleMemoryCacheStandIn,
    StringSerializer,
)
from tests.helpers import TOKEN, AppTestCase


async def wait_past(handle):
    """Sleep until the loop has run ``handle``'s deadline."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, handle.when() - loop.time()) + 0.05)


class Color(enum.Enum):
    RED = "red"


class AiocacheObjectsTest(AppTestCase):
    """The default NullSerializer: the cache holds Python objects."""

    def make_app(self):
        self.cache = SimpleMemoryCacheStandIn(namespace="app:", plugins=[HitMissRatioPlugin()])
        self.adapter = AiocacheMemoryAdapter(self.cache)
        return CachectlApp(self.adapter, token=TOKEN)

    async def asyncSetUp(self):
        await super().asyncSetUp()
        await self.cache.set("user:1", {"id": 1, "when": datetime.datetime(2024, 1, 2, 3, 4, 5)})
        await self.cache.set("price", decimal.Decimal("19.99"), ttl=60)
        await self.cache.set("greeting", "hello")
        await self.cache.set("blob", b"\x00\xff")
        await self.cache.set(Color.RED, [1, 2])  # Enum keys become their value
        await self.cache.set("other", 1, namespace="other:")  # per-call namespace

    async def test_capabilities(self):
        doc = (await self.client.get("/v1/capabilities")).json()
        self.assertEqual(doc["capabilities"], ["keys", "get", "set", "delete", "expire", "invalidate", "stats", "invalidate-chunked", "events"])
        self.assertEqual(doc["formats"], ["json", "string", "bytes"])

    async def test_stored_keys_include_the_namespace(self):
        items = await self.list_all(count=50)
        self.assertEqual(
            sorted(k["key"] for k in items),
            ["app:blob", "app:greeting", "app:price", "app:red", "app:user:1", "other:other"],
        )
        self.assertEqual([k["key"] for k in await self.list_all(match="app%3Au*")], ["app:user:1"])

    async def test_values(self):
        r = await self.client.get("/v1/entry?key=app%3Auser%3A1")
        self.assertEqual(r.headers["cache-format"], "pickle")
        self.assertEqual(r.headers["cache-ttl"], "-1")
        self.assertEqual(r.content[:2], b"\x80\x04")
        self.assertEqual(pickle.loads(r.content), {"id": 1, "when": datetime.datetime(2024, 1, 2, 3, 4, 5)})
        r = await self.client.get("/v1/entry?key=app%3Aprice")
        self.assertEqual(pickle.loads(r.content), decimal.Decimal("19.99"))
        r = await self.client.get("/v1/entry?key=app%3Agreeting")
        self.assertEqual((r.content, r.headers["cache-format"]), (b"hello", "string"))
        r = await self.client.get("/v1/entry?key=app%3Ablob")
        self.assertEqual(r.content, b"\x00\xff")
        self.assertNotIn("cache-format", r.headers)
        r = await self.client.get("/v1/entry?key=app%3Ared")
        self.assertEqual(pickle.loads(r.content), [1, 2])

    async def test_pickle_protocol_5(self):
        await self.switch_app(CachectlApp(AiocacheMemoryAdapter(self.cache, pickle_protocol=5), token=TOKEN))
        r = await self.client.get("/v1/entry?key=app%3Auser%3A1")
        self.assertEqual(r.content[:2], b"\x80\x05")

    async def test_ttl_reporting(self):
        r = await self.client.get("/v1/entry?key=app%3Aprice")
        ttl = float(r.headers["cache-ttl"])
        self.assertTrue(30 < ttl <= 60, ttl)  # wide: a loaded machine stalls
        items = {k["key"]: k for k in await self.list_all(count=50)}
        self.assertTrue(30 < items["app:price"]["ttl"] <= 60)
        self.assertIsNone(items["app:greeting"]["ttl"])
        # it is the cache's own timer that is read
        handle = self.cache._handlers["app:price"]
        loop = asyncio.get_running_loop()
        self.assertAlmostEqual(items["app:price"]["ttl"], handle.when() - loop.time(), delta=0.5)

    async def test_writes_are_objects_the_app_reads(self):
        r = await self.put("/v1/entry?key=app%3Auser%3A2", b'{"id": 2, "tags": ["a"]}', "json")
        self.assertEqual(r.status_code, 204)
        self.assertEqual(await self.cache.get("user:2"), {"id": 2, "tags": ["a"]})
        await self.put("/v1/entry?key=app%3Aname", "Ada".encode(), "string")
        self.assertEqual(await self.cache.get("name"), "Ada")
        await self.put("/v1/entry?key=app%3Araw", b"\x01\x02", "bytes")
        self.assertEqual(await self.cache.get("raw"), b"\x01\x02")
        r = await self.put("/v1/entry?key=app%3Ax", pickle.dumps({"x"}), "pickle")
        self.assertError(r, 415, "allow_pickle_writes")
        self.assertIsNone(await self.cache.get("x"))

    async def test_ttl_write_expires_like_aiocache(self):
        r = await self.put("/v1/entry?key=app%3Ashort&ttl=0.3", b'"soon"', "json")
        self.assertEqual(r.status_code, 204)
        handle = self.cache._handlers["app:short"]
        self.assertIsInstance(handle, asyncio.TimerHandle)  # scheduled with loop.call_later
        loop = asyncio.get_running_loop()
        self.assertTrue(0 < handle.when() - loop.time() <= 0.3)
        self.assertEqual(self.cache._cache["app:short"], "soon")
        await wait_past(handle)
        # the cache's own delete ran: gone from both dicts, for the app too
        self.assertNotIn("app:short", self.cache._cache)
        self.assertNotIn("app:short", self.cache._handlers)
        self.assertIsNone(await self.cache.get("short"))
        self.assertError(await self.client.get("/v1/entry?key=app%3Ashort"), 404, code="not_found")

    async def test_overwrite_without_ttl_cancels_the_timer(self):
        await self.put("/v1/entry?key=app%3Aprice", b"1", "json")
        r = await self.client.get("/v1/entry?key=app%3Aprice")
        self.assertEqual(r.headers["cache-ttl"], "-1")  # the old timer is cancelled (aiocache leaves it in _handlers)
        self.assertTrue(self.cache._handlers["app:price"].cancelled())

    async def test_expire(self):
        r = await self.client.post("/v1/expire?key=app%3Agreeting&ttl=0.2")
        self.assertEqual(r.status_code, 204)
        handle = self.cache._handlers["app:greeting"]
        r = await self.client.post("/v1/expire?key=app%3Aprice&ttl=0")  # 0 removes the expiry
        self.assertEqual(r.status_code, 204)
        self.assertNotIn("app:price", self.cache._handlers)
        r = await self.client.get("/v1/entry?key=app%3Aprice")
        self.assertEqual(r.headers["cache-ttl"], "-1")
        r = await self.client.post("/v1/expire?key=app%3Anope&ttl=5")
        self.assertError(r, 404, "key not found", "not_found")
        await wait_past(handle)
        self.assertIsNone(await self.cache.get("greeting"))
        self.assertEqual(await self.cache.get("price"), decimal.Decimal("19.99"))

    async def test_due_but_unfired_timer_counts_as_expired(self):
        await self.cache.set("due", 1, ttl=0.05)
        # block the loop past the deadline, then ask before the loop runs timers
        time.sleep(0.08)
        self.assertIsNone(await self.adapter.get(b"app:due"))
        self.assertNotIn(b"app:due", await self.adapter.keys())
        self.assertIn("app:due", self.cache._cache)  # the timer has not run yet

    async def test_delete_and_invalidate(self):
        r = await self.client.delete("/v1/entry?key=app%3Aprice")
        self.assertEqual(r.json(), {"deleted": 1})
        self.assertNotIn("app:price", self.cache._handlers)  # the timer went with it
        r = await self.client.post("/v1/invalidate", json={"match": ["app:*"], "dry_run": True})
        self.assertEqual(r.json(), {"matched": 4, "deleted": 0, "cursor": ""})
        r = await self.client.post("/v1/invalidate", json={"match": ["app:*"]})
        self.assertEqual(r.json(), {"matched": 4, "deleted": 4, "cursor": ""})
        self.assertEqual(list(self.cache._cache), ["other:other"])

    async def test_clear_rebinds_the_dicts(self):
        await self.cache.clear()  # aiocache's _clear() assigns new dicts
        await self.cache.set("after", 1)
        self.assertEqual([k["key"] for k in await self.list_all()], ["app:after"])

    async def test_stats(self):
        doc = (await self.client.get("/v1/stats")).json()
        self.assertEqual((doc["hits"], doc["misses"]), (0, 0))  # plugin attached, no get yet
        await self.cache.get("greeting")
        await self.cache.get("missing")
        doc = (await self.client.get("/v1/stats")).json()
        self.assertEqual(doc["keys"], 6)
        self.assertEqual((doc["hits"], doc["misses"]), (1, 1))
        self.assertNotIn("bytes", doc)

    async def test_non_text_keys_are_skipped(self):
        bare = SimpleMemoryCacheStandIn()  # no namespace: keys are stored as given
        await bare.set(42, "int key")
        await bare.set(b"bytes\xff", "bytes key")
        await bare.set("text", "str key")
        adapter = AiocacheMemoryAdapter(bare)
        self.assertEqual(sorted(await adapter.keys()), [b"bytes\xff", b"text"])
        self.assertEqual((await adapter.get(b"bytes\xff")).value, "bytes key")
        self.assertEqual(await adapter.stats(), {"keys": 3})  # no plugin: no hits/misses

    async def test_unpicklable_value(self):
        self.cache._cache["app:fn"] = lambda: None
        with self.assertLogs("cachectl_asgi", "WARNING"):
            r = await self.client.get("/v1/entry?key=app%3Afn")
        self.assertError(r, 500, "cannot serialise the value (function)")
        with self.assertLogs("cachectl_asgi", "WARNING"):
            items = {k["key"]: k for k in await self.list_all(count=50)}
        self.assertIsNone(items["app:fn"]["size"])  # listed, size unknown
        self.assertEqual(items["app:greeting"]["size"], 5)


class AiocachePickleWritesTest(AppTestCase):
    def make_app(self):
        self.cache = SimpleMemoryCacheStandIn()
        return CachectlApp(AiocacheMemoryAdapter(self.cache, allow_pickle_writes=True), token=TOKEN)

    async def test_pickle_writes_when_allowed(self):
        doc = (await self.client.get("/v1/capabilities")).json()
        self.assertEqual(doc["formats"], ["json", "string", "bytes", "pickle"])
        value = {"d": datetime.date(2024, 5, 6), "s": {1, 2}}
        r = await self.put("/v1/entry?key=k&ttl=30", pickle.dumps(value), "pickle")
        self.assertEqual(r.status_code, 204)
        self.assertEqual(await self.cache.get("k"), value)
        self.assertError(await self.put("/v1/entry?key=k", b"not a pickle", "pickle"), 400, "not a pickle")


class AiocacheSerializersTest(AppTestCase):
    """Caches built with a serializer hold serialized str/bytes."""

    def make_app(self):
        self.cache = SimpleMemoryCacheStandIn(serializer=JsonSerializer())
        return CachectlApp(AiocacheMemoryAdapter(self.cache), token=TOKEN)

    async def test_json_serializer(self):
        await self.cache.set("k", {"a": 1})
        self.assertEqual(self.cache._cache["k"], '{"a": 1}')
        r = await self.client.get("/v1/entry?key=k")
        self.assertEqual((r.content, r.headers["cache-format"]), (b'{"a": 1}', "json"))
        doc = (await self.client.get("/v1/capabilities")).json()
        self.assertEqual(doc["formats"], ["json"])
        r = await self.put("/v1/entry?key=k2", b'{"b": [2]}', "json")
        self.assertEqual(r.status_code, 204)
        self.assertEqual(await self.cache.get("k2"), {"b": [2]})  # the app's loads reads it
        self.assertError(await self.put("/v1/entry?key=k3", b"{", "json"), 400, "JSON")
        self.assertError(await self.put("/v1/entry?key=k3", b"x", "string"), 415)
        self.assertEqual((await self.client.get("/v1/stats")).json()["bytes"], len('{"a": 1}') + len('{"b": [2]}'))

    async def test_string_and_pickle_serializers(self):
        s = SimpleMemoryCacheStandIn(serializer=StringSerializer())
        await s.set("n", 12345)
        a = AiocacheMemoryAdapter(s)
        self.assertEqual(a.encode((await a.get(b"n")).value), (b"12345", "string"))
        self.assertEqual(a.formats, ("string",))

        p = SimpleMemoryCacheStandIn(serializer=PickleSerializer(protocol=5))
        await p.set("obj", [1, "a"])
        a = AiocacheMemoryAdapter(p)
        data, fmt = a.encode((await a.get(b"obj")).value)
        self.assertEqual((data[:2], fmt, pickle.loads(data)), (b"\x80\x05", "pickle", [1, "a"]))
        await self.switch_app(CachectlApp(a, token=TOKEN))
        self.assertError(await self.put("/v1/entry?key=x", pickle.dumps(1), "pickle"), 403, "allow_pickle_writes")
        a2 = AiocacheMemoryAdapter(p, allow_pickle_writes=True)
        await self.switch_app(CachectlApp(a2, token=TOKEN))
        self.assertEqual((await self.put("/v1/entry?key=x", pickle.dumps({"z": 1}), "pickle")).status_code, 204)
        self.assertEqual(await p.get("x"), {"z": 1})

    async def test_unknown_serializer_is_read_only_for_values(self):
        class Custom:
            encoding = "utf-8"

            def dumps(self, v):
                return json.dumps(v)[::-1]

            def loads(self, v):
                return json.loads(v[::-1])

        c = SimpleMemoryCacheStandIn(serializer=Custom())
        await c.set("k", [1])
        a = AiocacheMemoryAdapter(c)
        self.assertNotIn("set", a.capabilities)
        self.assertEqual(a.encode((await a.get(b"k")).value), (b"]1[", None))

    def test_rejects_other_objects(self):
        with self.assertRaisesRegex(TypeError, "SimpleMemoryCache"):
            AiocacheMemoryAdapter({})
        with self.assertRaises(ValueError):
            AiocacheMemoryAdapter(SimpleMemoryCacheStandIn(), pickle_protocol=9)
