"""LitestarMemoryStoreAdapter on the MemoryStore stand-in (standins.py)."""

import asyncio
from datetime import datetime, timedelta, timezone

from cachectl_asgi import CachectlApp, LitestarMemoryStoreAdapter
from standins import MemoryStoreStandIn, StorageObjectStandIn
from tests.helpers import TOKEN, AppTestCase

# What Litestar's response cache stores: a msgpack list of ASGI messages
# (bytes from python-cache-formats.md section 2.2, truncated to the start).
RESPONSE_CACHE_VALUE = bytes.fromhex("92 83 a4 74797065 b3 687474702e726573706f6e73652e7374617274")


class LitestarTest(AppTestCase):
    def make_app(self):
        self.store = MemoryStoreStandIn()
        return CachectlApp(LitestarMemoryStoreAdapter(self.store), token=TOKEN)

    async def asyncSetUp(self):
        await super().asyncSetUp()
        await self.store.set("GET/items", RESPONSE_CACHE_VALUE, expires_in=60)
        await self.store.set("session:abc", '{"user": 1}')  # str is stored UTF-8 encoded
        await self.store.set("forever", b"\x00\x01")

    async def test_capabilities(self):
        doc = (await self.client.get("/v1/capabilities")).json()
        self.assertEqual(doc["capabilities"], ["keys", "get", "set", "delete", "expire", "invalidate", "stats", "invalidate-chunked", "events"])
        self.assertEqual(doc["formats"], [])  # bytes in, bytes out: any Cache-Format

    async def test_values_served_as_stored(self):
        r = await self.client.get("/v1/entry?key=GET%2Fitems")
        self.assertEqual(r.content, RESPONSE_CACHE_VALUE)
        self.assertNotIn("cache-format", r.headers)  # the store does not know; cachectl detects
        self.assertTrue(30 < float(r.headers["cache-ttl"]) <= 60)  # wide: a loaded machine stalls
        r = await self.client.get("/v1/entry?key=session%3Aabc")
        self.assertEqual((r.content, r.headers["cache-ttl"]), (b'{"user": 1}', "-1"))

    async def test_listing(self):
        items = {k["key"]: k for k in await self.list_all(count=1)}
        self.assertEqual(sorted(items), ["GET/items", "forever", "session:abc"])
        self.assertEqual(items["forever"], {"key": "forever", "ttl": None, "size": 2})
        self.assertTrue(30 < items["GET/items"]["ttl"] <= 60)

    async def test_put_with_ttl_goes_through_the_store(self):
        r = await self.put("/v1/entry?key=new&ttl=30", b"\x93\x01\x02\x03", "msgpack")  # any format
        self.assertEqual(r.status_code, 204)
        obj = self.store._store["new"]
        self.assertIsInstance(obj, StorageObjectStandIn)
        self.assertEqual(obj.data, b"\x93\x01\x02\x03")
        left = (obj.expires_at - datetime.now(timezone.utc)).total_seconds()
        self.assertTrue(15 < left <= 30, left)
        self.assertEqual(await self.store.get("new"), b"\x93\x01\x02\x03")
        r = await self.put("/v1/entry?key=plain", b"abc")  # no Cache-Format needed
        self.assertEqual(r.status_code, 204)
        self.assertIsNone(self.store._store["plain"].expires_at)
        self.assertError(await self.put("/v1/entry?key=bad%FF", b"x"), 400, "UTF-8")

    async def test_expiry(self):
        await self.put("/v1/entry?key=short&ttl=0.2", b"soon")
        expires_at = self.store._store["short"].expires_at
        self.assertTrue(timedelta(0) < expires_at - datetime.now(timezone.utc) <= timedelta(seconds=0.2))
        await asyncio.sleep(0.3)
        # still in the dict (MemoryStore drops on access), absent for everyone
        self.assertIn("short", self.store._store)
        self.assertError(await self.client.get("/v1/entry?key=short"), 404, code="not_found")
        self.assertNotIn("short", [k["key"] for k in await self.list_all()])
        self.assertEqual((await self.client.delete("/v1/entry?key=short")).json(), {"deleted": 0})
        self.assertIsNone(await self.store.get("short"))

    async def test_expire(self):
        r = await self.client.post("/v1/expire?key=forever&ttl=100")
        self.assertEqual(r.status_code, 204)
        left = (self.store._store["forever"].expires_at - datetime.now(timezone.utc)).total_seconds()
        self.assertTrue(50 < left <= 100)
        self.assertIn(await self.store.expires_in("forever"), range(50, 100))
        r = await self.client.post("/v1/expire?key=GET%2Fitems&ttl=0")
        self.assertEqual(r.status_code, 204)
        self.assertIsNone(self.store._store["GET/items"].expires_at)
        self.assertEqual(self.store._store["GET/items"].data, RESPONSE_CACHE_VALUE)
        self.assertError(await self.client.post("/v1/expire?key=nope&ttl=1"), 404, code="not_found")

    async def test_expire_waits_for_the_store_lock(self):
        async with self.store._lock:
            task = asyncio.ensure_future(self.client.post("/v1/expire?key=forever&ttl=5"))
            await asyncio.sleep(0.05)
            self.assertFalse(task.done())
            self.assertIsNone(self.store._store["forever"].expires_at)
        self.assertEqual((await task).status_code, 204)
        self.assertIsNotNone(self.store._store["forever"].expires_at)

    async def test_delete_expired_rebinds_the_dict(self):
        self.store._store["old"] = StorageObjectStandIn(datetime.now(timezone.utc) - timedelta(seconds=1), b"x")
        await self.store.delete_expired()  # assigns a new dict
        await self.store.set("after", b"y")
        keys = sorted(k["key"] for k in await self.list_all())
        self.assertEqual(keys, ["GET/items", "after", "forever", "session:abc"])

    async def test_delete_invalidate_stats(self):
        self.assertEqual((await self.client.delete("/v1/entry?key=forever")).json(), {"deleted": 1})
        self.assertNotIn("forever", self.store._store)
        doc = (await self.client.get("/v1/stats")).json()
        self.assertEqual((doc["keys"], doc["bytes"]), (2, len(RESPONSE_CACHE_VALUE) + 11))
        r = await self.client.post("/v1/invalidate", json={"match": ["GET*", "session:?bc"], "dry_run": True})
        self.assertEqual(r.json(), {"matched": 2, "deleted": 0, "cursor": ""})
        r = await self.client.post("/v1/invalidate", json={"match": ["GET*", "session:?bc"]})
        self.assertEqual(r.json(), {"matched": 2, "deleted": 2, "cursor": ""})
        self.assertEqual(self.store._store, {})

    def test_rejects_other_objects(self):
        with self.assertRaisesRegex(TypeError, "MemoryStore"):
            LitestarMemoryStoreAdapter({})
