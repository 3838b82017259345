"""A Starlette app whose aiocache SimpleMemoryCache exists once per worker,
each worker reachable on its own socket (TestUvicornWorkers).

At startup every worker writes worker:<pid> (its own) and the shared keys
config:site and page:/ (the same in every worker, as an app's cache fills),
then serves the adapter on $CACHECTL_WORKER_SOCKET_DIR/<hostname>-<pid>.sock.
GET / answers the pid of the worker that took the request; GET
/remember?key=K writes K as the app itself would.
"""

import contextlib
import os

from aiocache import SimpleMemoryCache
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from cachectl_asgi import AiocacheMemoryAdapter, CachectlApp, worker_socket

cache = SimpleMemoryCache()
cache_app = CachectlApp(AiocacheMemoryAdapter(cache), token=os.environ["CACHECTL_TOKEN"])


async def whoami(request):
    return JSONResponse({"pid": os.getpid()})


async def remember(request):
    """The app's own write (as an @cached function's): GET /remember?key=K."""
    await cache.set(request.query_params["key"], {"pid": os.getpid()}, ttl=3600)
    return JSONResponse({"pid": os.getpid()})


@contextlib.asynccontextmanager
async def lifespan(app):
    await cache.set("worker:%d" % os.getpid(), {"pid": os.getpid()})
    await cache.set("config:site", {"name": "shop"})
    await cache.set("page:/", "<h1>home</h1>", ttl=3600)
    async with worker_socket(cache_app):
        yield


app = Starlette(routes=[Route("/", whoami), Route("/remember", remember), Mount("/_cache", app=cache_app)], lifespan=lifespan)
