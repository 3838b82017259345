"""The app mounted under Starlette at /_cache, and the example app."""

import importlib
import os
import pickle
import sys
import unittest
import datetime
import decimal

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from cachectl_asgi import CachectlApp, MappingAdapter
from tests.helpers import AUTH, TOKEN


def starlette_app(data):
    async def home(request):
        return PlainTextResponse("home")

    return Starlette(
        routes=[
            Route("/", home),
            Mount("/_cache", app=CachectlApp(MappingAdapter(data), token=TOKEN)),
        ]
    )


class StarletteMountTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.data = {"user:1": b"ada", "user:2": "grace"}
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=starlette_app(self.data)), base_url="http://testserver"
        )

    async def asyncTearDown(self):
        await self.client.aclose()

    async def test_endpoints_under_the_prefix(self):
        r = await self.client.get("/_cache/v1/stats", headers=AUTH)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json()["keys"], 2)
        r = await self.client.get("/_cache/v1/capabilities", headers=AUTH)
        self.assertEqual(r.json()["protocol"], 1)
        r = await self.client.get("/_cache/v1/entry?key=user%3A2", headers=AUTH)
        self.assertEqual((r.content, r.headers["cache-format"]), (b"grace", "string"))
        r = await self.client.put(
            "/_cache/v1/entry?key=user%3A3", content=b'{"n": 3}', headers={**AUTH, "Cache-Format": "json"}
        )
        self.assertEqual(r.status_code, 204)
        self.assertEqual(self.data["user:3"], {"n": 3})
        r = await self.client.get("/_cache/v1/keys?match=user%3A*&count=2", headers=AUTH)
        self.assertEqual(len(r.json()["keys"]), 2)
        self.assertNotEqual(r.json()["cursor"], "")
        r = await self.client.post("/_cache/v1/invalidate", json={"match": ["user:*"], "dry_run": True}, headers=AUTH)
        self.assertEqual(r.json(), {"matched": 3, "deleted": 0, "cursor": ""})

    async def test_auth_and_404_under_the_prefix(self):
        r = await self.client.get("/_cache/v1/capabilities")
        self.assertEqual(r.status_code, 401)
        self.assertEqual(r.json(), {"error": "missing bearer token"})
        r = await self.client.get("/_cache/v1/nope", headers=AUTH)
        self.assertEqual((r.status_code, r.json()), (404, {"error": "unknown endpoint", "code": "unknown_endpoint"}))
        r = await self.client.get("/v1/stats", headers=AUTH)  # not mounted there
        self.assertEqual(r.status_code, 404)
        r = await self.client.get("/")
        self.assertEqual(r.text, "home")  # the host app is untouched

    async def test_nested_mounts(self):
        inner = Starlette(routes=[Mount("/_cache", app=CachectlApp(MappingAdapter({"k": b"v"}), token=TOKEN))])
        outer = Starlette(routes=[Mount("/admin", app=inner)])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=outer), base_url="http://t") as c:
            r = await c.get("/admin/_cache/v1/entry?key=k", headers=AUTH)
            self.assertEqual((r.status_code, r.content), (200, b"v"))


class ExampleAppTest(unittest.TestCase):
    """example_app as uvicorn would load it: token from CACHECTL_TOKEN, filled at startup."""

    def setUp(self):
        self._env = os.environ.get("CACHECTL_TOKEN")
        os.environ["CACHECTL_TOKEN"] = "example-token"
        sys.modules.pop("example_app", None)
        self.module = importlib.import_module("example_app")

    def tearDown(self):
        sys.modules.pop("example_app", None)
        if self._env is None:
            os.environ.pop("CACHECTL_TOKEN", None)
        else:
            os.environ["CACHECTL_TOKEN"] = self._env

    def test_refuses_to_start_without_a_token(self):
        os.environ["CACHECTL_TOKEN"] = ""
        sys.modules.pop("example_app", None)
        with self.assertRaises(SystemExit):
            importlib.import_module("example_app")

    def test_documented_entries(self):
        auth = {"Authorization": "Bearer example-token"}
        with TestClient(self.module.app) as client:  # runs the lifespan: the cache is filled
            self.assertEqual(client.get("/_cache/v1/capabilities").status_code, 401)
            caps = client.get("/_cache/v1/capabilities", headers=auth).json()
            self.assertEqual(caps["formats"], ["json", "string", "bytes"])

            items = client.get("/_cache/v1/keys?count=100", headers=auth).json()
            self.assertEqual(items["cursor"], "")
            by_key = {k["key"]: k for k in items["keys"]}
            expected = {  # the table in example_app's docstring
                "user:1": ("pickle", 67),
                "user:2": ("pickle", 61),
                "event:launch": ("pickle", 53),
                "price:book": ("pickle", 46),
                "greeting": ("string", 12),
                "caf\u00e9:menu": ("pickle", 39),
                "blob:1": (None, 4),
            }
            self.assertEqual(set(by_key), set(expected))
            for key, (fmt, size) in expected.items():
                self.assertEqual((by_key[key].get("format"), by_key[key]["size"]), (fmt, size), key)
                self.assertEqual(by_key[key]["ttl"] is None, key != "user:2", key)
            self.assertTrue(3000 < by_key["user:2"]["ttl"] <= 3600)

            r = client.get("/_cache/v1/entry?key=event%3Alaunch", headers=auth)
            self.assertEqual(pickle.loads(r.content), datetime.datetime(2024, 1, 2, 3, 4, 5))
            r = client.get("/_cache/v1/entry?key=price%3Abook", headers=auth)
            self.assertEqual(pickle.loads(r.content), decimal.Decimal("19.99"))
            r = client.get("/_cache/v1/entry?key=caf%C3%A9%3Amenu", headers=auth)
            self.assertEqual(pickle.loads(r.content), ["croissant", "espresso"])

            # the app reads what cachectl writes, and its hits/misses show up
            r = client.put(
                "/_cache/v1/entry?key=user%3A9",
                content=b'{"id": 9, "name": "Edsger"}',
                headers={**auth, "Cache-Format": "json"},
            )
            self.assertEqual(r.status_code, 204)
            self.assertEqual(client.get("/users/9").json(), {"id": 9, "name": "Edsger"})
            self.assertEqual(client.get("/users/404").status_code, 404)
            stats = client.get("/_cache/v1/stats", headers=auth).json()
            self.assertEqual((stats["keys"], stats["hits"], stats["misses"]), (8, 1, 1))
