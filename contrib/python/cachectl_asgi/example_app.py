r"""Example: a Starlette app whose in-process cache cachectl can see at /_cache.

Run it (the token is required; the app refuses to start without it):

    CACHECTL_TOKEN=secret /usr/bin/python3 -m uvicorn example_app:app \
        --app-dir contrib/python/cachectl_asgi --port 8000
    curl -H 'Authorization: Bearer secret' http://127.0.0.1:8000/_cache/v1/capabilities

With several workers each has its own cache; give each its own socket and
cachectl reaches all of them:

    CACHECTL_TOKEN=secret CACHECTL_WORKER_SOCKET_DIR=/tmp/example-workers \
        /usr/bin/python3 -m uvicorn example_app:app --app-dir contrib/python/cachectl_asgi \
        --port 8000 --workers 3
    cachectl -u http+unix:///tmp/example-workers --token secret keys -l

The cache is ``SimpleMemoryCacheStandIn`` from standins.py, which behaves like
aiocache 0.12's ``SimpleMemoryCache`` (with aiocache installed, ``from aiocache
import SimpleMemoryCache`` is the swap). No namespace, default NullSerializer
(objects), and aiocache's HitMissRatioPlugin (stand-in) for hits/misses.

At startup, inside the server's event loop (TTL timers belong to a loop), it
holds exactly these 7 entries. Values are served by the adapter with pickle
protocol 4; the bytes (so the sizes) are identical on CPython 3.8 to 3.13.

    key           value                                                      TTL     Cache-Format  size
    user:1        {"id": 1, "name": "Ada Lovelace", "langs": ["en", "fr"]}   none    pickle          67
    user:2        {"id": 2, "name": "Grace Hopper", "langs": ["en"]}         3600 s  pickle          61
    event:launch  datetime.datetime(2024, 1, 2, 3, 4, 5)                     none    pickle          53
    price:book    decimal.Decimal("19.99")                                   none    pickle          46
    greeting      "hello, world"                                             none    string          12
    café:menu     ["croissant", "espresso"]                                  none    pickle          39
    blob:1        b"\x00\x01\xfe\xff"                                        none    (none)           4

``café:menu`` is the key bytes 63 61 66 c3 a9 3a 6d 65 6e 75 (``caf%C3%A9%3Amenu``
in a URL). ``blob:1`` is a bytes object, served raw without Cache-Format.

The cache endpoint takes writes with ``Cache-Format`` json, string or bytes
(pickle is refused with 415). Other routes:

    GET /              {"service": "cachectl-asgi example", "cache": "/_cache"}
    GET /users/{id}    the cached ``user:{id}`` through the app's own cache.get
                       (so stats hits/misses move), 404 when absent
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import os
from typing import Any, AsyncIterator, List, Tuple

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from cachectl_asgi import AiocacheMemoryAdapter, CachectlApp, worker_socket
from standins import HitMissRatioPlugin, SimpleMemoryCacheStandIn

# (key, value, ttl seconds or None), in the order they are stored.
ENTRIES: List[Tuple[str, Any, Any]] = [
    ("user:1", {"id": 1, "name": "Ada Lovelace", "langs": ["en", "fr"]}, None),
    ("user:2", {"id": 2, "name": "Grace Hopper", "langs": ["en"]}, 3600),
    ("event:launch", datetime.datetime(2024, 1, 2, 3, 4, 5), None),
    ("price:book", decimal.Decimal("19.99"), None),
    ("greeting", "hello, world", None),
    ("caf\u00e9:menu", ["croissant", "espresso"], None),
    ("blob:1", b"\x00\x01\xfe\xff", None),
]


def create_app(token: str) -> Starlette:
    cache = SimpleMemoryCacheStandIn(plugins=[HitMissRatioPlugin()])

    async def index(request: Request) -> JSONResponse:
        return JSONResponse({"service": "cachectl-asgi example", "cache": "/_cache"})

    async def user(request: Request) -> JSONResponse:
        value = await cache.get("user:" + request.path_params["id"])
        if value is None:
            return JSONResponse({"error": "no such user in the cache"}, status_code=404)
        return JSONResponse(value)

    cache_app = CachectlApp(AiocacheMemoryAdapter(cache), token=token)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for key, value, ttl in ENTRIES:
            await cache.set(key, value, ttl=ttl)
        # Each worker on its own socket when CACHECTL_WORKER_SOCKET_DIR is set.
        async with worker_socket(cache_app):
            yield

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/users/{id}", user),
            Mount("/_cache", app=cache_app),
        ],
        lifespan=lifespan,
    )
    app.state.cache = cache
    return app


_token = os.environ.get("CACHECTL_TOKEN", "")
if not _token.strip():
    raise SystemExit("example_app: set CACHECTL_TOKEN to the bearer token cachectl must send")
app = create_app(_token)
