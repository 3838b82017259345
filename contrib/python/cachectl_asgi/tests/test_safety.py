"""Browser safety, query corners, whitespace tokens, chunked invalidate and
the capabilities' store, as docs/http-protocol.md states them."""

import base64
import importlib.util
import json
import os
import unittest

from cachectl_asgi import CachectlApp, LitestarMemoryStoreAdapter, MappingAdapter
from standins import MemoryStoreStandIn
from tests.helpers import TOKEN, call_raw, error_of

AUTH = (b"authorization", b"Bearer " + TOKEN.encode())
JSON = (b"content-type", b"application/json")
INVALIDATE_ALL = json.dumps({"match": ["*"]}).encode()
REBINDING = "DNS rebinding protection"
CROSS = "cross-origin requests are refused"


def data():
    return {"a": b"1", "b": b"2", "c": b"3"}


class BrowserSafetyTest(unittest.IsolatedAsyncioTestCase):
    async def test_tokenless_host_check(self):
        d = data()
        app = CachectlApp(MappingAdapter(d), allow_no_token=True, allowed_hosts=["myapp.internal"])
        for host in [b"evil.example", b"evil.example:8000", b"127.0.0.1.evil.example", b"localhost.evil.example", b"10.1.2.3", b""]:
            with self.subTest(host=host):
                status, _, body = await call_raw(app, "GET", "/v1/keys", headers=[(b"host", host)])
                self.assertEqual((status, REBINDING in error_of(body)), (421, True))
                status, _, body = await call_raw(app, "POST", "/v1/invalidate", headers=[(b"host", host), JSON], body_chunks=[INVALIDATE_ALL])
                self.assertEqual(status, 421)
        status, _, _ = await call_raw(app, "GET", "/v1/keys", headers=[])  # no Host at all
        self.assertEqual(status, 421)
        for host in [b"localhost", b"LOCALHOST:9", b"127.0.0.1", b"127.0.0.1:8000", b"[::1]", b"[::1]:80", b"myapp.internal", b"MyApp.Internal:443"]:
            with self.subTest(host=host):
                status, _, body = await call_raw(app, "GET", "/v1/stats", headers=[(b"host", host)])
                self.assertEqual(status, 200, body)
        self.assertEqual(len(d), 3)

    async def test_cross_origin_refused_with_and_without_token(self):
        for token in (None, TOKEN):
            d = data()
            app = CachectlApp(MappingAdapter(d), token=token, allow_no_token=token is None)
            base = [(b"host", b"127.0.0.1:8000")] + ([AUTH] if token else [])
            for extra in [
                [(b"origin", b"https://evil.example")],
                [(b"origin", b"null")],
                [(b"origin", b"http://localhost:8000")],  # another origin, though local
                [(b"sec-fetch-site", b"cross-site")],
                [(b"sec-fetch-site", b"same-site")],
            ]:
                with self.subTest(token=token, extra=extra):
                    status, _, body = await call_raw(app, "POST", "/v1/invalidate", headers=base + [JSON] + extra, body_chunks=[INVALIDATE_ALL])
                    self.assertEqual((status, CROSS in error_of(body)), (403, True))
                    status, _, _ = await call_raw(app, "POST", "/v1/expire", b"key=a&ttl=1", headers=base + extra)
                    self.assertEqual(status, 403)
                    status, _, _ = await call_raw(app, "GET", "/v1/entry", b"key=a", headers=base + extra)
                    self.assertEqual(status, 403)
            for ctype in [None, b"text/plain", b"application/x-www-form-urlencoded", b"multipart/form-data; boundary=x"]:
                with self.subTest(token=token, ctype=ctype):
                    headers = base + ([(b"content-type", ctype)] if ctype else [])
                    status, _, body = await call_raw(app, "POST", "/v1/invalidate", headers=headers, body_chunks=[INVALIDATE_ALL])
                    self.assertEqual((status, error_of(body)), (415, "the body must be sent as Content-Type: application/json"))
            self.assertEqual(len(d), 3)  # nothing refused was done
            # the same origin, and what cachectl sends, work
            status, _, _ = await call_raw(app, "GET", "/v1/entry", b"key=a", headers=base + [(b"origin", b"http://127.0.0.1:8000"), (b"sec-fetch-site", b"same-origin")])
            self.assertEqual(status, 200)
            status, _, body = await call_raw(app, "POST", "/v1/invalidate", headers=base + [(b"content-type", b"application/json; charset=utf-8")], body_chunks=[INVALIDATE_ALL])
            self.assertEqual((status, json.loads(body)), (200, {"matched": 3, "deleted": 3, "cursor": ""}))

    async def test_token_relaxes_host(self):
        app = CachectlApp(MappingAdapter(data()), token=TOKEN)
        status, _, _ = await call_raw(app, "GET", "/v1/stats", headers=[(b"host", b"cache.example.com"), AUTH])
        self.assertEqual(status, 200)

    def test_whitespace_token_refused(self):
        for token in (" ", "   ", "\t", " \n "):
            with self.subTest(token=token):
                with self.assertRaisesRegex(ValueError, "only whitespace"):
                    CachectlApp(MappingAdapter({}), token=token)
                with self.assertRaisesRegex(ValueError, "only whitespace"):
                    CachectlApp(MappingAdapter({}), token=token, allow_no_token=True)


class QueryTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.app = CachectlApp(MappingAdapter({"a": b"first", "b": b"second", "%zz": b"pct"}), token=TOKEN)

    async def test_first_parameter_counts(self):
        status, _, body = await call_raw(self.app, "GET", "/v1/entry", b"key=a&key=b", headers=[AUTH])
        self.assertEqual((status, body), (200, b"first"))
        status, _, body = await call_raw(self.app, "GET", "/v1/keys", b"match=b&match=a&count=1&count=x", headers=[AUTH])
        self.assertEqual((status, [k["key"] for k in json.loads(body)["keys"]]), (200, ["b"]))

    async def test_malformed_escapes(self):
        for query in (b"key=%", b"key=a%zz", b"key=%4", b"key=%%41"):
            with self.subTest(query=query):
                status, _, body = await call_raw(self.app, "GET", "/v1/entry", query, headers=[AUTH])
                self.assertEqual(status, 400)
                self.assertIn("malformed query", error_of(body))
        status, _, body = await call_raw(self.app, "GET", "/v1/keys", b"match=%", headers=[AUTH])
        self.assertEqual(status, 400)
        # parameters the server does not read are ignored, even malformed ones
        status, _, body = await call_raw(self.app, "GET", "/v1/entry", b"x=%&%z=1&key=%25zz", headers=[AUTH])
        self.assertEqual((status, body), (200, b"pct"))


class InvalidateTest(unittest.IsolatedAsyncioTestCase):
    async def test_bytes_patterns_match_utf8_keys(self):
        # str keys are compared as their UTF-8 bytes; a pattern with \xff
        # matches only the bytes key, not the keys holding U+FFFD.
        d = {b"bin\xff1": b"x", "bin\ufffd2": b"x", "bin\ufffd3": b"x", "caf\u00e9": b"x"}
        app = CachectlApp(MappingAdapter(d), token=TOKEN)
        for dry, chunked in ((True, False), (True, True), (False, True)):
            doc = {"match": [{"$bytes": base64.b64encode(b"bin\xff*").decode()}, {"$bytes": base64.b64encode(b"caf\xc3[\xa9]").decode()}], "dry_run": dry}
            if chunked:
                doc["limit"] = 10
            status, _, body = await call_raw(app, "POST", "/v1/invalidate", headers=[AUTH, JSON], body_chunks=[json.dumps(doc).encode()])
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body), {"matched": 2, "deleted": 0 if dry else 2, "cursor": ""})
        self.assertEqual(sorted(d), ["bin\ufffd2", "bin\ufffd3"])

    async def test_chunks(self):
        d = {"del:%05d" % i: b"x" for i in range(2500)}
        d.update({"keep:%d" % i: b"x" for i in range(100)})
        app = CachectlApp(MappingAdapter(d), token=TOKEN)
        for dry in (True, False):
            cursor, matched, deleted, steps = "", 0, 0, 0
            while True:
                doc = {"match": ["del:*"], "dry_run": dry, "limit": 300, "cursor": cursor}
                status, _, body = await call_raw(app, "POST", "/v1/invalidate", headers=[AUTH, JSON], body_chunks=[json.dumps(doc).encode()])
                self.assertEqual(status, 200, body)
                out = json.loads(body)
                self.assertLessEqual(out["matched" if dry else "deleted"], 300)
                matched, deleted, steps = matched + out["matched"], deleted + out["deleted"], steps + 1
                cursor = out["cursor"]
                if not cursor:
                    break
                self.assertLess(steps, 100)
            self.assertEqual((matched, deleted), (2500, 0 if dry else 2500))
            self.assertGreaterEqual(steps, 9)
        self.assertEqual(sorted(d), sorted("keep:%d" % i for i in range(100)))
        for doc, message in [
            ({"match": ["*"], "limit": 0}, "limit"),
            ({"match": ["*"], "limit": True}, "limit"),
            ({"match": ["*"], "limit": "5"}, "limit"),
            ({"match": ["*"], "cursor": "kYQ"}, "limit"),
            ({"match": ["*"], "limit": 1, "cursor": "zzz"}, "bad cursor"),
            ({"match": ["*"], "limit": 1, "cursor": 5}, "bad cursor"),
        ]:
            with self.subTest(doc=doc):
                status, _, body = await call_raw(app, "POST", "/v1/invalidate", headers=[AUTH, JSON], body_chunks=[json.dumps(doc).encode()])
                self.assertEqual(status, 400)
                self.assertIn(message, error_of(body))
        self.assertEqual(len(d), 100)


def _real(module: str) -> bool:
    if importlib.util.find_spec(module.split(".")[0]) is not None:
        return True
    if os.environ.get("CACHECTL_REQUIRE_SERVERS"):
        raise AssertionError("%s is required: eval \"$(../shared/thirdparty/python/setup.sh)\"" % module)
    return False


class StoreInfoTest(unittest.IsolatedAsyncioTestCase):
    async def caps(self, adapter):
        status, _, body = await call_raw(CachectlApp(adapter, token=TOKEN), headers=[AUTH])
        self.assertEqual(status, 200)
        return json.loads(body)

    async def test_stand_ins(self):
        self.assertEqual((await self.caps(MappingAdapter({})))["store"], {"library": "builtins", "class": "dict", "namespace": None})
        self.assertEqual((await self.caps(LitestarMemoryStoreAdapter(MemoryStoreStandIn())))["store"]["namespace"], None)

    async def test_real_litestar(self):
        if not _real("litestar"):
            self.skipTest("no litestar")
        from litestar.stores.memory import MemoryStore

        self.assertEqual((await self.caps(LitestarMemoryStoreAdapter(MemoryStore())))["store"], {"library": "litestar", "class": "MemoryStore", "namespace": None})

    async def test_real_aiocache(self):
        if not _real("aiocache"):
            self.skipTest("no aiocache")
        from aiocache import SimpleMemoryCache

        from cachectl_asgi import AiocacheMemoryAdapter

        doc = await self.caps(AiocacheMemoryAdapter(SimpleMemoryCache(namespace="app:")))
        self.assertEqual(doc["store"], {"library": "aiocache", "class": "SimpleMemoryCache", "namespace": "app:"})
        doc = await self.caps(AiocacheMemoryAdapter(SimpleMemoryCache()))
        self.assertIsNone(doc["store"]["namespace"])


if __name__ == "__main__":
    unittest.main()
