"""Shared test plumbing: an httpx client on the ASGI app, and a raw ASGI caller."""

from __future__ import annotations

import asyncio
import json
import unittest
from typing import Any, Dict, List, Optional, Tuple

import httpx

from cachectl_asgi import CachectlApp

TOKEN = "s3cret-token"
AUTH = {"Authorization": "Bearer " + TOKEN}


class AppTestCase(unittest.IsolatedAsyncioTestCase):
    """Each test gets ``self.app`` (built by ``make_app``) and ``self.client``."""

    def make_app(self) -> CachectlApp:
        raise NotImplementedError

    async def asyncSetUp(self) -> None:
        # unittest runs the loop in debug mode, which reports steps slower than
        # 0.1 s; on a loaded machine that is noise, not a finding.
        asyncio.get_running_loop().slow_callback_duration = 1.0
        self.app = self.make_app()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://testserver", headers=AUTH
        )

    async def asyncTearDown(self) -> None:
        await self.client.aclose()

    async def switch_app(self, app: CachectlApp) -> None:
        """Point ``self.client`` at another app."""
        await self.client.aclose()
        self.app = app
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=AUTH
        )

    # Convenience wrappers; URLs are written already percent-encoded.

    async def put(self, url: str, body: bytes, fmt: Optional[str] = None, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if fmt is not None:
            headers["Cache-Format"] = fmt
        return await self.client.put(url, content=body, headers=headers, **kw)

    async def list_all(self, match: Optional[str] = None, count: int = 2) -> List[Dict[str, Any]]:
        """Every key, page by page, following cursors."""
        items: List[Dict[str, Any]] = []
        cursor = ""
        for _ in range(10_000):
            url = "/v1/keys?count=%d&cursor=%s" % (count, cursor)
            if match is not None:
                url += "&match=" + match
            r = await self.client.get(url)
            self.assertEqual(r.status_code, 200, r.text)
            doc = r.json()
            self.assertLessEqual(len(doc["keys"]), count)
            items.extend(doc["keys"])
            cursor = doc["cursor"]
            if not cursor:
                return items
        raise AssertionError("the listing never ended")

    def assertError(self, r: httpx.Response, status: int, contains: str = "", code: str = "") -> None:
        self.assertEqual(r.status_code, status, r.text)
        self.assertEqual(r.headers["content-type"], "application/json")
        doc = r.json()
        self.assertEqual(list(doc), ["error", "code"] if code else ["error"])
        self.assertEqual(doc.get("code"), code or None)
        self.assertEqual(r.headers.get("cache-error"), code or None)
        self.assertNotIn("\n", doc["error"])
        if contains:
            self.assertIn(contains, doc["error"])


async def call_raw(
    app: Any,
    method: str = "GET",
    path: str = "/v1/capabilities",
    query: bytes = b"",
    headers: Optional[List[Tuple[bytes, bytes]]] = None,
    body_chunks: Optional[List[bytes]] = None,
    root_path: str = "",
    disconnect: bool = False,
) -> Tuple[Optional[int], Dict[bytes, bytes], bytes]:
    """Drive the app with a hand-made scope; returns (status, headers, body)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": query,
        "headers": headers if headers is not None else [(b"authorization", b"Bearer " + TOKEN.encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    chunks = list(body_chunks or [b""])
    sent: List[dict] = []

    async def receive() -> dict:
        if disconnect:
            return {"type": "http.disconnect"}
        if chunks:
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    if not sent:
        return None, {}, b""
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), body


def error_of(body: bytes) -> str:
    return json.loads(body)["error"]
