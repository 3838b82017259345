"""Protocol v1 as docs/http-protocol.md states it, on a plain dict cache."""

import base64
import json
import pickle
import unittest

import httpx

from cachectl_asgi import CacheAdapter, CachectlApp, Entry, MappingAdapter
from tests.helpers import AUTH, TOKEN, AppTestCase, call_raw, error_of

JSON_AUTH = [(b"authorization", b"Bearer " + TOKEN.encode()), (b"content-type", b"application/json")]


def filled_dict():
    return {
        "user:1": b'{"id": 1, "name": "Ada"}',
        "user:2": "Grace",
        "user:3": {"id": 3, "tags": ["x"]},
        "session:a": b"s-a",
        "session:b": b"s-b",
        b"raw\xffkey": b"binary key",
        "a b/%ff": b"percent",
    }


class ProtocolTest(AppTestCase):
    def make_app(self):
        self.data = filled_dict()
        return CachectlApp(MappingAdapter(self.data), token=TOKEN, max_body=1024, max_key=64, max_count=50)

    # -- capabilities --------------------------------------------------------

    async def test_capabilities(self):
        r = await self.client.get("/v1/capabilities")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.headers["content-type"], "application/json")
        doc = r.json()
        self.assertEqual(doc["protocol"], 1)
        self.assertTrue(doc["server"].startswith("cachectl-asgi/"))
        self.assertEqual(doc["capabilities"], ["keys", "get", "set", "delete", "invalidate", "stats", "invalidate-chunked", "events"])
        self.assertEqual(doc["formats"], ["json", "string", "bytes"])
        self.assertEqual(doc["limits"], {"max_body": 1024, "max_key": 64, "max_count": 50})

    # -- auth ------------------------------------------------------------------

    async def test_auth(self):
        for headers, message in [
            ({}, "missing bearer token"),
            ({"Authorization": "Bearer wrong"}, "wrong token"),
            ({"Authorization": "Basic " + TOKEN}, "missing bearer token"),
            ({"Authorization": "Bearer"}, "missing bearer token"),
            ({"Authorization": "Bearer " + TOKEN + "x"}, "wrong token"),
        ]:
            with self.subTest(headers=headers):
                async with httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=self.app), base_url="http://t", headers=headers
                ) as anon:
                    for method, url in [
                        ("GET", "/v1/capabilities"),
                        ("GET", "/v1/entry?key=user%3A1"),
                        ("DELETE", "/v1/entry?key=user%3A1"),
                        ("GET", "/v1/nope"),  # auth comes before routing
                    ]:
                        r = await anon.request(method, url)
                        self.assertError(r, 401, message)
                        self.assertEqual(r.headers["www-authenticate"], "Bearer")
        self.assertIn("user:1", self.data)  # nothing was deleted
        r = await self.client.get("/v1/capabilities", headers={"Authorization": "bearer " + TOKEN})
        self.assertEqual(r.status_code, 200)  # the scheme is case-insensitive

    def test_token_required(self):
        with self.assertRaisesRegex(ValueError, "needs a token"):
            CachectlApp(MappingAdapter({}))
        with self.assertRaisesRegex(ValueError, "needs a token"):
            CachectlApp(MappingAdapter({}), token="")
        with self.assertRaisesRegex(ValueError, "spaces"):
            CachectlApp(MappingAdapter({}), token="a b")
        CachectlApp(MappingAdapter({}), allow_no_token=True)

    async def test_no_token_when_allowed(self):
        app = CachectlApp(MappingAdapter({"k": b"v"}), allow_no_token=True)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as anon:
            r = await anon.get("/v1/entry?key=k")
            self.assertEqual((r.status_code, r.content), (200, b"v"))

    # -- entry -----------------------------------------------------------------

    async def test_get_entry_formats(self):
        r = await self.client.get("/v1/entry?key=user%3A1")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, b'{"id": 1, "name": "Ada"}')
        self.assertEqual(r.headers["content-type"], "application/octet-stream")
        self.assertEqual(r.headers["content-length"], "24")
        self.assertEqual(r.headers["cache-ttl"], "-1")
        self.assertNotIn("cache-format", r.headers)  # bytes: served raw, format unknown

        r = await self.client.get("/v1/entry?key=user%3A2")
        self.assertEqual((r.content, r.headers["cache-format"]), (b"Grace", "string"))

        r = await self.client.get("/v1/entry?key=user%3A3")
        self.assertEqual(r.headers["cache-format"], "pickle")
        self.assertEqual(r.content[:2], b"\x80\x04")  # protocol 4 by default
        self.assertEqual(pickle.loads(r.content), {"id": 3, "tags": ["x"]})

    async def test_head_entry(self):
        r = await self.client.head("/v1/entry?key=user%3A1")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, b"")
        self.assertEqual(r.headers["content-length"], "24")
        self.assertEqual(r.headers["cache-ttl"], "-1")
        r = await self.client.head("/v1/entry?key=nope")
        self.assertEqual(r.status_code, 404)
        self.assertEqual(r.headers["cache-error"], "not_found")  # HEAD has no body: the code is in the header
        r = await self.client.head("/v1/nope")
        self.assertEqual((r.status_code, r.headers["cache-error"]), (404, "unknown_endpoint"))

    async def test_get_missing(self):
        r = await self.client.get("/v1/entry?key=nope")
        self.assertError(r, 404, "key not found", "not_found")

    async def test_percent_encoded_keys(self):
        r = await self.client.get("/v1/entry?key=a%20b%2F%25ff")
        self.assertEqual(r.content, b"percent")
        r = await self.client.get("/v1/entry?key=raw%FFkey")  # bytes 72 61 77 ff 6b 65 79
        self.assertEqual(r.content, b"binary key")
        r = await self.client.get("/v1/entry?key=%75%73%65%72%3a1")  # any byte may be escaped
        self.assertEqual(r.status_code, 200)
        r = await self.client.get("/v1/entry?key=user+1")  # '+' is not a space
        self.assertEqual(r.status_code, 404)

    async def test_put_entry(self):
        r = await self.put("/v1/entry?key=new%3Ajson", b'{"a": [1, 2]}', "json")
        self.assertEqual(r.status_code, 204)
        self.assertEqual(r.content, b"")
        self.assertEqual(self.data["new:json"], {"a": [1, 2]})
        r = await self.put("/v1/entry?key=new%3Astr", "héllo".encode(), "string")
        self.assertEqual(self.data["new:str"], "héllo")
        r = await self.put("/v1/entry?key=new%3Araw", b"\x00\xff", "BYTES")  # case-insensitive
        self.assertEqual(r.status_code, 204)
        self.assertEqual(self.data["new:raw"], b"\x00\xff")
        r = await self.put("/v1/entry?key=user%3A2&ttl=0", b"replaced", "string")
        self.assertEqual(r.status_code, 204)
        self.assertEqual(self.data["user:2"], "replaced")
        r = await self.client.get("/v1/entry?key=new%3Astr")
        self.assertEqual((r.content, r.headers["cache-format"]), ("héllo".encode(), "string"))

    async def test_put_refusals(self):
        r = await self.put("/v1/entry?key=k", b"x")
        self.assertError(r, 415, "Cache-Format is required")
        r = await self.put("/v1/entry?key=k", b"x", "msgpack")
        self.assertError(r, 415, "json, string, bytes")
        r = await self.put("/v1/entry?key=k", pickle.dumps(1), "pickle")
        self.assertError(r, 415, "allow_pickle_writes")
        r = await self.put("/v1/entry?key=k", b"{nope", "json")
        self.assertError(r, 400, "not valid JSON")
        r = await self.put("/v1/entry?key=k", b"\xff", "string")
        self.assertError(r, 400, "UTF-8")
        r = await self.put("/v1/entry?key=k&ttl=5", b"x", "string")
        self.assertError(r, 403, "no expiry")
        r = await self.put("/v1/entry?key=bad%FF", b"x", "string")  # this dict keys by str
        self.assertError(r, 400, "not valid UTF-8")
        self.assertNotIn("k", self.data)

    async def test_delete_entry(self):
        r = await self.client.delete("/v1/entry?key=user%3A1")
        self.assertEqual((r.status_code, r.json()), (200, {"deleted": 1}))
        self.assertEqual(r.headers["content-type"], "application/json")
        r = await self.client.delete("/v1/entry?key=user%3A1")
        self.assertEqual(r.json(), {"deleted": 0})
        r = await self.client.delete("/v1/entry?key=raw%FFkey")
        self.assertEqual(r.json(), {"deleted": 1})
        self.assertNotIn(b"raw\xffkey", self.data)

    # -- bad requests ------------------------------------------------------------

    async def test_bad_requests(self):
        for method, url, message in [
            ("GET", "/v1/entry", "missing key"),
            ("GET", "/v1/entry?key=", "empty key"),
            ("PUT", "/v1/entry?key=k&ttl=-1", "bad ttl"),
            ("PUT", "/v1/entry?key=k&ttl=abc", "bad ttl"),
            ("PUT", "/v1/entry?key=k&ttl=1e3", "bad ttl"),
            ("PUT", "/v1/entry?key=k&ttl=nan", "bad ttl"),
            ("PUT", "/v1/entry?key=k&ttl=99999999999", "bad ttl"),
            ("GET", "/v1/keys?count=0", "bad count"),
            ("GET", "/v1/keys?count=51", "bad count"),
            ("GET", "/v1/keys?count=x", "bad count"),
            ("GET", "/v1/keys?cursor=zzz", "bad cursor"),
            ("GET", "/v1/keys?cursor=k%21%21", "bad cursor"),
            ("GET", "/v1/keys?match=" + "*" * 65, "longer than 64 bytes"),
        ]:
            with self.subTest(url=url):
                r = await self.client.request(method, url, content=b"x", headers={"Cache-Format": "string"})
                self.assertError(r, 400, message)

    async def test_unknown_endpoint_and_method(self):
        self.assertError(await self.client.get("/v1/nope"), 404, "unknown endpoint", "unknown_endpoint")
        self.assertError(await self.client.get("/v2/keys"), 404, code="unknown_endpoint")
        self.assertError(await self.client.get("/"), 404, code="unknown_endpoint")
        r = await self.client.post("/v1/entry?key=k")
        self.assertError(r, 405)
        self.assertEqual(r.headers["allow"], "GET, HEAD, PUT, DELETE")
        r = await self.client.get("/v1/invalidate")
        self.assertError(r, 405)
        self.assertEqual(r.headers["allow"], "POST")
        r = await self.client.post("/v1/expire?key=user%3A1&ttl=5")  # a dict has no TTLs
        self.assertError(r, 405)
        self.assertEqual(r.headers["allow"], "")
        r = await self.client.delete("/v1/capabilities")
        self.assertEqual(r.headers["allow"], "GET, HEAD")

    async def test_limits(self):
        r = await self.put("/v1/entry?key=k", b"x" * 1025, "bytes")
        self.assertError(r, 413, "larger than 1024")
        r = await self.put("/v1/entry?key=k", b"x" * 1024, "bytes")
        self.assertEqual(r.status_code, 204)
        r = await self.client.get("/v1/entry?key=" + "k" * 65)
        self.assertError(r, 413, "key is longer than 64")
        r = await self.client.post("/v1/invalidate", content=b" " * 2000, headers={"Content-Type": "application/json"})
        self.assertError(r, 413)
        # a streamed body (no Content-Length) is cut off as it arrives
        status, _, body = await call_raw(
            self.app, "PUT", "/v1/entry", b"key=k2",
            headers=[(b"authorization", b"Bearer " + TOKEN.encode()), (b"cache-format", b"bytes")],
            body_chunks=[b"x" * 600, b"x" * 600, b"never read"],
        )
        self.assertEqual((status, error_of(body)), (413, "the body is larger than 1024 bytes"))
        self.assertNotIn("k2", self.data)
        status, _, body = await call_raw(
            self.app, "PUT", "/v1/entry", b"key=k3",
            headers=[(b"authorization", b"Bearer " + TOKEN.encode()), (b"cache-format", b"bytes"),
                     (b"content-length", b"99999999")],
        )
        self.assertEqual(status, 413)
        status, _, body = await call_raw(
            self.app, "PUT", "/v1/entry", b"key=k4",
            headers=[(b"authorization", b"Bearer " + TOKEN.encode()), (b"cache-format", b"bytes"),
                     (b"content-length", b"-5")],
        )
        self.assertEqual(status, 400)

    # -- keys ------------------------------------------------------------------

    async def test_keys_page_shape(self):
        r = await self.client.get("/v1/keys?match=user%3A*&count=50")
        self.assertEqual(r.status_code, 200)
        doc = r.json()
        self.assertEqual(doc["cursor"], "")
        by_key = {k["key"]: k for k in doc["keys"]}
        self.assertEqual(sorted(by_key), ["user:1", "user:2", "user:3"])
        self.assertEqual(by_key["user:1"], {"key": "user:1", "ttl": None, "size": 24})
        self.assertEqual(by_key["user:2"], {"key": "user:2", "ttl": None, "size": 5, "format": "string"})
        self.assertEqual(by_key["user:3"]["format"], "pickle")
        self.assertEqual(by_key["user:3"]["size"], len(pickle.dumps({"id": 3, "tags": ["x"]}, protocol=4)))

    async def test_keys_by_cursor(self):
        for i in range(23):
            self.data["item:%02d" % i] = b"v"
        items = await self.list_all(count=2)
        keys = [k["key"] if isinstance(k["key"], str) else base64.b64decode(k["key"]["$bytes"]) for k in items]
        self.assertEqual(len(keys), len(self.data))
        expected = {k if isinstance(k, str) else k for k in self.data}
        self.assertEqual(set(keys), expected)
        # with a match: only matching keys, every one of them, across pages
        items = await self.list_all(match="item%3A1*", count=3)
        self.assertEqual(sorted(k["key"] for k in items), ["item:%02d" % i for i in range(10, 20)])
        items = await self.list_all(match="item%3A%5B0-1%5D%5B05%5D", count=1)  # item:[0-1][05]
        self.assertEqual(sorted(k["key"] for k in items), ["item:00", "item:05", "item:10", "item:15"])
        self.assertEqual(await self.list_all(match="nothing*"), [])

    async def test_keys_binary_in_json(self):
        items = await self.list_all(match="raw*", count=5)
        self.assertEqual(items, [{"key": {"$bytes": base64.b64encode(b"raw\xffkey").decode()}, "ttl": None, "size": 10}])
        items = await self.list_all(match="raw%FF*", count=5)  # the match glob is bytes too
        self.assertEqual(len(items), 1)

    async def test_keys_survive_changes_between_pages(self):
        for i in range(40):
            self.data["p:%02d" % i] = b"v"
        seen = []
        r = await self.client.get("/v1/keys?match=p%3A*&count=5")
        doc = r.json()
        seen += [k["key"] for k in doc["keys"]]
        # delete keys already returned and add new ones: every key present for
        # the whole listing must still come back
        for k in seen:
            del self.data[k]
        self.data["p:00a"] = b"new"
        cursor = doc["cursor"]
        while cursor:
            doc = (await self.client.get("/v1/keys?match=p%3A*&count=5&cursor=" + cursor)).json()
            seen += [k["key"] for k in doc["keys"]]
            cursor = doc["cursor"]
        self.assertTrue({"p:%02d" % i for i in range(40)} <= set(seen))

    async def test_sparse_match_gives_short_pages(self):
        for i in range(300):
            self.data["bulk:%03d" % i] = b"v"
        self.data["zzz:needle"] = b"n"
        r = await self.client.get("/v1/keys?match=*needle&count=2")
        doc = r.json()
        self.assertEqual(doc["keys"], [])  # looked at 20 keys, none matched
        self.assertNotEqual(doc["cursor"], "")
        items = await self.list_all(match="*needle", count=2)
        self.assertEqual([k["key"] for k in items], ["zzz:needle"])

    # -- invalidate ------------------------------------------------------------

    async def test_invalidate(self):
        body = {"match": ["session:*", {"$bytes": base64.b64encode(b"raw\xff*").decode()}], "dry_run": True}
        r = await self.client.post("/v1/invalidate", json=body)
        self.assertEqual((r.status_code, r.json()), (200, {"matched": 3, "deleted": 0, "cursor": ""}))
        self.assertIn("session:a", self.data)
        body["dry_run"] = False
        r = await self.client.post("/v1/invalidate", json=body)
        self.assertEqual(r.json(), {"matched": 3, "deleted": 3, "cursor": ""})
        self.assertEqual(sorted(k for k in self.data if isinstance(k, str) and k.startswith("session")), [])
        self.assertNotIn(b"raw\xffkey", self.data)
        r = await self.client.post("/v1/invalidate", json={"match": ["user:[12]"]})  # dry_run defaults to false
        self.assertEqual(r.json(), {"matched": 2, "deleted": 2, "cursor": ""})
        self.assertEqual(sorted(k for k in self.data if isinstance(k, str)), ["a b/%ff", "user:3"])

    async def test_invalidate_bad_bodies(self):
        for body, message in [
            (b"{", "malformed JSON"),
            (b"\xff", "malformed JSON"),
            (b"[]", "JSON object"),
            (b"{}", "at least one glob"),
            (b'{"match": []}', "at least one glob"),
            (b'{"match": "user:*"}', "at least one glob"),
            (b'{"match": [1]}', "string or"),
            (b'{"match": [{"$bytes": "!!"}]}', "base64"),
            (b'{"match": ["x"], "dry_run": "yes"}', "dry_run"),
            (b"[" * 100000, "malformed JSON"),
            (json.dumps({"match": ["*"] * 1001}).encode(), "more than 1000 globs"),
            (json.dumps({"match": ["*" * 65537]}).encode(), "longer than 65536 bytes"),
        ]:
            with self.subTest(body=body[:30]):
                app = CachectlApp(MappingAdapter(self.data), token=TOKEN)
                status, headers, out = await call_raw(app, "POST", "/v1/invalidate", body_chunks=[body], headers=JSON_AUTH)
                self.assertEqual(status, 400, out)
                self.assertIn(message, error_of(out))
        self.assertEqual(len(self.data), len(filled_dict()))

    # -- stats -------------------------------------------------------------------

    async def test_stats(self):
        r = await self.client.get("/v1/stats")
        doc = r.json()
        self.assertEqual(doc["keys"], 7)
        self.assertNotIn("bytes", doc)  # one value is an object: size unknown
        self.assertIsInstance(doc["uptime_s"], int)
        self.assertTrue(doc["version"].startswith("cachectl-asgi/"))
        del self.data["user:3"]
        doc = (await self.client.get("/v1/stats")).json()
        self.assertEqual(doc["bytes"], 24 + 5 + 3 + 3 + 10 + 7)


class ReadOnlyTest(AppTestCase):
    def make_app(self):
        self.data = filled_dict()
        return CachectlApp(MappingAdapter(self.data), token=TOKEN, read_only=True)

    async def test_writes_refused(self):
        doc = (await self.client.get("/v1/capabilities")).json()
        self.assertEqual(doc["capabilities"], ["keys", "get", "stats", "events"])
        self.assertEqual(doc["formats"], [])
        self.assertError(await self.put("/v1/entry?key=k", b"x", "string"), 403, "read-only")
        self.assertError(await self.client.delete("/v1/entry?key=user%3A1"), 403, "read-only")
        self.assertError(await self.client.post("/v1/invalidate", json={"match": ["*"]}), 403, "read-only")
        self.assertEqual(len(self.data), 7)
        self.assertEqual((await self.client.get("/v1/entry?key=user%3A1")).status_code, 200)


class BrokenAdapter(CacheAdapter):
    """Every operation raises: the app must answer 500s, never crash."""

    async def keys(self):
        raise RuntimeError("boom\nsecond line")

    async def get(self, key):
        if key == b"unpicklable":
            return Entry(lambda: None)
        raise KeyError(key)

    async def stats(self):
        raise ZeroDivisionError("division by zero")

    def encode(self, value):
        import pickle as p
        return p.dumps(value), "pickle"


class RobustnessTest(AppTestCase):
    def make_app(self):
        return CachectlApp(BrokenAdapter(), token=TOKEN)

    async def test_adapter_exceptions_become_500(self):
        with self.assertLogs("cachectl_asgi", "ERROR"):
            r = await self.client.get("/v1/keys")
        self.assertError(r, 500, "RuntimeError: boom second line")
        with self.assertLogs("cachectl_asgi", "ERROR"):
            self.assertError(await self.client.get("/v1/entry?key=x"), 500, "KeyError")
        with self.assertLogs("cachectl_asgi", "ERROR"):
            self.assertError(await self.client.get("/v1/stats"), 500, "ZeroDivisionError")
        with self.assertLogs("cachectl_asgi", "WARNING"):
            self.assertError(await self.client.get("/v1/entry?key=unpicklable"), 500, "cannot serialise the value (function)")
        # the app keeps serving
        self.assertEqual((await self.client.get("/v1/capabilities")).status_code, 200)

    async def test_raw_asgi_corners(self):
        # a malformed percent escape is a 400, as in docs/http-protocol.md
        status, _, body = await call_raw(self.app, "GET", "/v1/entry", b"key=%zz%4")
        self.assertEqual(status, 400)
        self.assertIn("malformed query", error_of(body))
        # an adapter's exception is a 500 that names it, never a crash
        with self.assertLogs("cachectl_asgi", "ERROR"):
            status, _, body = await call_raw(self.app, "GET", "/v1/entry", b"key=%25zz%254")
        self.assertEqual(status, 500)  # BrokenAdapter.get raises KeyError(b"%zz%4")
        self.assertIn("%zz%4", error_of(body))
        # a client that goes away mid-body gets no answer and no error
        status, _, _ = await call_raw(
            CachectlApp(MappingAdapter({}), token=TOKEN), "PUT", "/v1/entry", b"key=k", disconnect=True,
            headers=[(b"authorization", b"Bearer " + TOKEN.encode()), (b"cache-format", b"bytes")],
        )
        self.assertIsNone(status)

    async def test_lifespan_and_websocket(self):
        messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        sent = []

        async def receive():
            return messages.pop(0)

        async def send(m):
            sent.append(m)

        await self.app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
        self.assertEqual([m["type"] for m in sent], ["lifespan.startup.complete", "lifespan.shutdown.complete"])
        sent.clear()
        messages[:] = [{"type": "websocket.connect"}]
        await self.app({"type": "websocket", "path": "/v1/keys"}, receive, send)
        self.assertEqual(sent, [{"type": "websocket.close", "code": 1008}])


class MountPathTest(unittest.IsolatedAsyncioTestCase):
    """The mount prefix, however the framework passes it."""

    async def test_prefix_forms(self):
        app = CachectlApp(MappingAdapter({"k": b"v"}), token=TOKEN)
        for path, root in [
            ("/v1/entry", "/_cache"),          # Starlette < 0.33, uvicorn --root-path: prefix only in root_path
            ("/_cache/v1/entry", "/_cache"),   # newer Starlette / ASGI spec: path includes root_path
            ("/v1/entry/", ""),                # Litestar mounts append a slash
            ("/v1/entry", "/v1"),              # mounted at /v1: the path as given wins
            ("/v1/v1/entry", "/v1"),
        ]:
            with self.subTest(path=path, root=root):
                status, _, body = await call_raw(app, "GET", path, b"key=k", root_path=root)
                self.assertEqual((status, body), (200, b"v"))
        status, _, _ = await call_raw(app, "GET", "/_cache/v1/entry", b"key=k", root_path="")
        self.assertEqual(status, 404)

    async def test_json_is_one_line_and_ascii(self):
        app = CachectlApp(MappingAdapter({"caf\u00e9\n": b"v"}), token=TOKEN)
        status, headers, body = await call_raw(app, "GET", "/v1/keys")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["keys"][0]["key"], "caf\u00e9\n")
        self.assertNotIn(b"\n", body)
        self.assertEqual(headers[b"cache-control"], b"no-store")


if __name__ == "__main__":
    unittest.main()
