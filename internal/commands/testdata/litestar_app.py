"""A real Litestar 2 app whose response cache is its default store, a
MemoryStore, with cachectl's adapter mounted at /_cache over that same store.
Litestar's MemoryStore keeps keys bare ("GET/itemspage=2"): only RedisStore
and ValkeyStore add a namespace."""
import os
import sys

sys.path.insert(0, os.environ["CACHECTL_ASGI_DIR"])

from litestar import Litestar, get  # noqa: E402
from litestar.stores.memory import MemoryStore  # noqa: E402

from cachectl_asgi import CachectlApp, LitestarMemoryStoreAdapter  # noqa: E402

store = MemoryStore()


@get("/items", cache=300)
async def items(page: int = 1) -> dict:
    return {"page": page, "items": [page * 10 + i for i in range(3)]}


@get("/items/{n:int}", cache=300)
async def item(n: int) -> dict:
    return {"n": n}


@get("/items2", cache=300)
async def items2() -> dict:
    return {"other": True}


litestar_app = Litestar([items, item, items2], stores={"response_cache": store})
cache_app = CachectlApp(LitestarMemoryStoreAdapter(store), token=os.environ["CACHECTL_TOKEN"])


async def app(scope, receive, send):
    if scope["type"] == "http" and scope["path"].startswith("/_cache/"):
        scope = dict(scope, path=scope["path"][len("/_cache"):], root_path=scope.get("root_path", "") + "/_cache")
        return await cache_app(scope, receive, send)
    return await litestar_app(scope, receive, send)
