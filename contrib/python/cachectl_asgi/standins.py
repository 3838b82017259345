"""STAND-INS for aiocache's SimpleMemoryCache and Litestar's MemoryStore.

Neither library can be installed where these tests run, so this module
re-implements, in its own code, the parts of them that cachectl_asgi's
adapters touch, with the same attribute names and the same behaviour. It is
test and demo scaffolding: a real application passes its real
``aiocache.SimpleMemoryCache`` or ``litestar.stores.memory.MemoryStore``.

Sources mirrored (line numbers of the files as read):

- aio-libs/aiocache v0.12.3, ``aiocache/backends/memory.py``:
  ``SimpleMemoryBackend.__init__`` makes per-instance ``_cache`` and
  ``_handlers`` dicts (L16-17; CHANGES.rst 0.12.0: "SimpleMemoryBackend now
  has a cache per instance, rather than a global cache"); ``_set`` cancels a
  previous timer without removing it, stores, and with a ttl schedules
  ``loop.call_later(ttl, self.__delete, key)`` (L28-39); ``_expire`` pops and
  cancels the timer, then reschedules when ttl is truthy (L66-76);
  ``_delete`` -> ``__delete`` pops the value and, when it was not None,
  cancels and drops the timer, returning 1 or 0 (L78-79, L99-106);
  ``_clear`` without a namespace rebinds both dicts (L82-89);
  ``SimpleMemoryCache`` defaults to ``NullSerializer`` (L109 on).
- aio-libs/aiocache v0.12.x, ``aiocache/base.py``: ``BaseCache.__init__``
  sets ``namespace`` and ``build_key = key_builder or self._build_key``;
  ``_build_key`` is ``namespace + key`` when a namespace is set (an Enum key
  becomes its value); public ``get``/``set``/``delete``/``expire`` build the
  key and call the backend's private method.
- aio-libs/aiocache ``aiocache/plugins.py``: ``HitMissRatioPlugin.post_get``
  keeps ``client.hit_miss_ratio = {"total", "hits", "hit_ratio"}``.
- aio-libs/aiocache ``aiocache/serializers/serializers.py``: NullSerializer
  returns values unchanged; String ``str(value)``; Json ``json.dumps``;
  Pickle ``pickle.dumps(value, protocol=self.protocol)`` with
  ``DEFAULT_ENCODING = None``.
- litestar-org/litestar v2.x, ``litestar/stores/memory.py``: ``__slots__ =
  ("_lock", "_store")`` (L20); ``_store: dict[str, StorageObject]`` and an
  ``anyio.Lock`` (L24-25); ``set`` encodes str to UTF-8 and stores
  ``StorageObject.new(data, expires_in)`` under the lock (L27-41); ``get``
  drops an expired object, renews with ``renew_for`` (L43-71); ``delete``
  pops (L73-82); ``delete_expired`` rebinds ``_store`` to a new dict
  (L89-103).
- litestar-org/litestar v2.x, ``litestar/stores/base.py``: ``StorageObject``
  with ``expires_at: Optional[datetime]`` and ``data: bytes`` (L108-112);
  ``new`` turns an int into a timedelta and sets ``expires_at`` to
  ``datetime.now(tz=timezone.utc) + expires_in`` when truthy (L114-122);
  ``expired`` is ``now >= expires_at`` (L124-127).
"""

from __future__ import annotations

import asyncio
import json
import pickle
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, Dict, Optional

__all__ = [
    "HitMissRatioPlugin",
    "JsonSerializer",
    "MemoryStoreStandIn",
    "NullSerializer",
    "PickleSerializer",
    "SimpleMemoryCacheStandIn",
    "StorageObjectStandIn",
    "StringSerializer",
]


# -- aiocache serializers ----------------------------------------------------
# They keep aiocache's class names on purpose: the adapter recognises a
# serializer by its class name, exactly as it will recognise the real ones.


class NullSerializer:
    encoding = "utf-8"

    def dumps(self, value: Any) -> Any:
        return value

    def loads(self, value: Any) -> Any:
        return value


class StringSerializer(NullSerializer):
    def dumps(self, value: Any) -> str:
        return str(value)


class JsonSerializer(NullSerializer):
    def dumps(self, value: Any) -> str:
        return json.dumps(value)

    def loads(self, value: Any) -> Any:
        return None if value is None else json.loads(value)


class PickleSerializer(NullSerializer):
    encoding = None

    def __init__(self, protocol: int = pickle.DEFAULT_PROTOCOL):
        self.protocol = protocol

    def dumps(self, value: Any) -> bytes:
        return pickle.dumps(value, protocol=self.protocol)

    def loads(self, value: Any) -> Any:
        return None if value is None else pickle.loads(value)


class HitMissRatioPlugin:
    """Stand-in for aiocache.plugins.HitMissRatioPlugin (post_get only)."""

    async def post_get(self, client: Any, key: Any, ret: Any = None, **_: Any) -> None:
        if not hasattr(client, "hit_miss_ratio"):
            client.hit_miss_ratio = {"total": 0, "hits": 0}
        client.hit_miss_ratio["total"] += 1
        if ret is not None:
            client.hit_miss_ratio["hits"] += 1
        client.hit_miss_ratio["hit_ratio"] = client.hit_miss_ratio["hits"] / client.hit_miss_ratio["total"]


_SENTINEL = object()


class SimpleMemoryCacheStandIn:
    """STAND-IN for ``aiocache.SimpleMemoryCache`` 0.12.x (see the module docstring)."""

    def __init__(
        self,
        serializer: Any = None,
        plugins: Optional[list] = None,
        namespace: Optional[str] = None,
        key_builder: Any = None,
        ttl: Optional[float] = None,
    ):
        self.serializer = serializer or NullSerializer()
        self.plugins = plugins or []
        self.namespace = namespace
        self.ttl = float(ttl) if ttl is not None else None
        self.build_key = key_builder or self._build_key
        self._cache: Dict[Any, Any] = {}
        self._handlers: Dict[Any, asyncio.TimerHandle] = {}

    def _build_key(self, key: Any, namespace: Optional[str] = None) -> Any:
        if isinstance(key, Enum):
            key = key.value
        if namespace is not None:
            return "%s%s" % (namespace, key)
        if self.namespace is not None:
            return "%s%s" % (self.namespace, key)
        return key

    def _ns_key(self, key: Any, namespace: Optional[str]) -> Any:
        return self.build_key(key, namespace=namespace if namespace is not None else self.namespace)

    # Public API (BaseCache): build the stored key, (de)serialize, delegate.

    async def get(self, key: Any, default: Any = None, namespace: Optional[str] = None) -> Any:
        value = self.serializer.loads(await self._get(self._ns_key(key, namespace)))
        for plugin in self.plugins:
            await plugin.post_get(self, key, ret=value)
        return value if value is not None else default

    async def set(self, key: Any, value: Any, ttl: Any = _SENTINEL, namespace: Optional[str] = None) -> bool:
        ttl = self.ttl if ttl is _SENTINEL else ttl
        return await self._set(self._ns_key(key, namespace), self.serializer.dumps(value), ttl=ttl)

    async def delete(self, key: Any, namespace: Optional[str] = None) -> int:
        return await self._delete(self._ns_key(key, namespace))

    async def exists(self, key: Any, namespace: Optional[str] = None) -> bool:
        return self._ns_key(key, namespace) in self._cache

    async def expire(self, key: Any, ttl: Optional[float], namespace: Optional[str] = None) -> bool:
        return await self._expire(self._ns_key(key, namespace), ttl)

    async def clear(self, namespace: Optional[str] = None) -> bool:
        return await self._clear(namespace)

    # Backend (SimpleMemoryBackend): stored keys, no serialization.

    async def _get(self, key: Any, encoding: str = "utf-8", _conn: Any = None) -> Any:
        return self._cache.get(key)

    async def _set(self, key: Any, value: Any, ttl: Any = None, _cas_token: Any = None, _conn: Any = None) -> Any:
        if _cas_token is not None and _cas_token != self._cache.get(key):
            return 0
        old = self._handlers.get(key)
        if old is not None:
            old.cancel()  # cancelled but left in _handlers, as upstream does
        self._cache[key] = value
        if ttl:
            self._handlers[key] = asyncio.get_running_loop().call_later(ttl, self.__delete, key)
        return True

    async def _expire(self, key: Any, ttl: Any, _conn: Any = None) -> bool:
        if key not in self._cache:
            return False
        old = self._handlers.pop(key, None)
        if old is not None:
            old.cancel()
        if ttl:
            self._handlers[key] = asyncio.get_running_loop().call_later(ttl, self.__delete, key)
        return True

    async def _delete(self, key: Any, _conn: Any = None) -> int:
        return self.__delete(key)

    async def _clear(self, namespace: Optional[str] = None, _conn: Any = None) -> bool:
        if namespace:
            for key in list(self._cache):
                if key.startswith(namespace):
                    self.__delete(key)
        else:
            self._cache = {}
            self._handlers = {}
        return True

    def __delete(self, key: Any) -> int:
        if self._cache.pop(key, None) is None:
            return 0
        handle = self._handlers.pop(key, None)
        if handle is not None:
            handle.cancel()
        return 1


# -- Litestar ----------------------------------------------------------------


class StorageObjectStandIn:
    """STAND-IN for ``litestar.stores.base.StorageObject`` (a msgspec Struct upstream)."""

    __slots__ = ("expires_at", "data")

    def __init__(self, expires_at: Optional[datetime], data: bytes):
        self.expires_at = expires_at
        self.data = data

    @classmethod
    def new(cls, data: bytes, expires_in: Any) -> "StorageObjectStandIn":
        if expires_in is not None and not isinstance(expires_in, timedelta):
            expires_in = timedelta(seconds=expires_in)
        return cls(expires_at=(datetime.now(tz=timezone.utc) + expires_in) if expires_in else None, data=data)

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and datetime.now(tz=timezone.utc) >= self.expires_at

    @property
    def expires_in(self) -> int:
        if self.expires_at:
            return int(self.expires_at.timestamp() - datetime.now(tz=timezone.utc).timestamp())
        return -1


class MemoryStoreStandIn:
    """STAND-IN for ``litestar.stores.memory.MemoryStore`` (Litestar 2.x).

    Upstream's lock is ``anyio.Lock``; asyncio's has the same ``async with``
    use on an asyncio loop.
    """

    __slots__ = ("_lock", "_store")

    def __init__(self) -> None:
        self._store: Dict[str, StorageObjectStandIn] = {}
        self._lock = asyncio.Lock()

    async def set(self, key: str, value: Any, expires_in: Any = None) -> None:
        if isinstance(value, str):
            value = value.encode("utf-8")
        async with self._lock:
            self._store[key] = StorageObjectStandIn.new(data=value, expires_in=expires_in)

    async def get(self, key: str, renew_for: Any = None) -> Optional[bytes]:
        async with self._lock:
            obj = self._store.get(key)
            if not obj:
                return None
            if obj.expired:
                self._store.pop(key)
                return None
            if renew_for and obj.expires_at:
                obj = StorageObjectStandIn.new(data=obj.data, expires_in=renew_for)
                self._store[key] = obj
            return obj.data

    async def delete(self, key: str) -> None:
        async with self._lock:
            self._store.pop(key, None)

    async def delete_all(self) -> None:
        async with self._lock:
            self._store.clear()

    async def delete_expired(self) -> None:
        async with self._lock:
            self._store = {k: v for k, v in self._store.items() if not v.expired}

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> Optional[int]:
        obj = self._store.get(key)
        return obj.expires_in if obj else None
