"""Expose an application's in-process cache over cachectl's HTTP cache protocol v1.

One dependency-free module (Python 3.9+, standard library only). It gives a
pure ASGI 3 application that an app mounts at ``/_cache`` so that ``cachectl``
(CLI and dashboard) can list, read, write, expire and invalidate the entries
of a cache that otherwise lives and dies unseen inside the process.

    from cachectl_asgi import CachectlApp, AiocacheMemoryAdapter

    cache_app = CachectlApp(AiocacheMemoryAdapter(cache), token=os.environ["CACHECTL_TOKEN"])
    app = Starlette(routes=[..., Mount("/_cache", app=cache_app)])

The protocol is docs/http-protocol.md in the cachectl repository. Adapters:

- ``AiocacheMemoryAdapter``: aiocache's ``SimpleMemoryCache`` (0.11-0.12; 1.0 too);
- ``LitestarMemoryStoreAdapter``: Litestar 2's ``MemoryStore``;
- ``MappingAdapter``: any dict-like object (no TTLs);
- or your own subclass of ``CacheAdapter``.

Security: a bearer token is required (``allow_no_token=True`` exists for tests
and loopback-only setups). Values the app keeps as Python objects are served
pickled; pickles sent by clients are refused unless ``allow_pickle_writes=True``
because unpickling runs code chosen by whoever wrote the bytes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import hmac
import heapq
import ipaddress
import itertools
import json
import logging
import os
import pickle
import re
import secrets
import socket
import stat
import time
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Tuple
from urllib.parse import unquote_to_bytes

__all__ = [
    "AiocacheMemoryAdapter",
    "CacheAdapter",
    "CachectlApp",
    "Entry",
    "LitestarMemoryStoreAdapter",
    "MappingAdapter",
    "ProtocolError",
    "WorkerSocket",
    "glob_match",
    "worker_socket",
]

__version__ = "0.1.0"

PROTOCOL_VERSION = 1
SERVER_NAME = "cachectl-asgi/" + __version__

#: Every operation of protocol v1, in the order capabilities lists them.
ALL_CAPABILITIES = ("keys", "get", "set", "delete", "expire", "invalidate", "stats")
#: POST /v1/invalidate with "limit" and "cursor": bounded steps, exact counts.
CAP_INVALIDATE_CHUNKED = "invalidate-chunked"
#: GET /v1/events: key events as server-sent events.
CAP_EVENTS = "events"
WRITE_CAPABILITIES = frozenset({"set", "delete", "expire", "invalidate"})

DEFAULT_MAX_BODY = 16 * 1024 * 1024
DEFAULT_MAX_KEY = 64 * 1024
DEFAULT_MAX_COUNT = 10_000
DEFAULT_COUNT = 1000

# Longest TTL a request may ask for (about 31 years): far beyond any cache's
# use, and small enough for timedelta and the event loop's clock.
MAX_TTL = 1e9

# At most this many globs in one invalidate; each glob is at most max_key
# bytes. Matching costs len(glob) * len(key) per key at worst.
MAX_GLOBS = 1000

# One chunked invalidate request spends at most this long deleting, so its
# answer comes well within a client's timeout and the event loop is not held.
CHUNK_BUDGET_S = 0.05

# A keys page looks at up to count * SCAN_FACTOR keys, like SCAN's COUNT: a
# sparse match returns a short (even empty) page instead of walking everything.
SCAN_FACTOR = 10

# A run over the keys (a listing, a chunked invalidate) walks a sorted snapshot
# of them taken at its first request, so that its later requests neither list
# nor sort every key again (which made a run quadratic). Snapshots are kept per
# run, at most MAX_SNAPSHOTS of them, each until SNAPSHOT_TTL_S after its last
# use; a run whose snapshot is gone continues in a new one after its cursor.
MAX_SNAPSHOTS = 4
SNAPSHOT_TTL_S = 60.0
# A snapshot is built in steps of this many keys (each filtered and sorted,
# the event loop served in between), spread over requests of CHUNK_BUDGET_S.
SNAPSHOT_RUN = 16384

# Event streams (GET /v1/events): each subscriber keeps at most EVENT_BUFFER
# events waiting (beyond, the newest are dropped and a gap says how many); at
# most MAX_SUBSCRIBERS streams at once; a quiet stream sends a comment every
# heartbeat (DEFAULT_HEARTBEAT_S, a client may ask for 1 to 300 s).
EVENT_BUFFER = 4096
MAX_SUBSCRIBERS = 64
DEFAULT_HEARTBEAT_S = 15.0

log = logging.getLogger("cachectl_asgi")


# --------------------------------------------------------------------------
# Errors and the adapter interface
# --------------------------------------------------------------------------


class ProtocolError(Exception):
    """An HTTP error answer: ``status`` and a one-line ``message``.

    Adapters raise it to refuse a request (400 a bad value for the format,
    403 a write refused by policy, 415 a format not stored); anything else
    an adapter raises becomes a 500. ``code``, when given, is the protocol's
    error code (the body's "code" and the Cache-Error header).
    """

    def __init__(self, status: int, message: str, headers: Iterable[Tuple[str, str]] = (), code: str = ""):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)
        self.code = code


class Entry(NamedTuple):
    """One live entry as an adapter finds it.

    ``value`` is what the cache holds (bytes, str or any object; the adapter's
    ``encode`` turns it into wire bytes); ``ttl`` is the seconds remaining, or
    None when the entry does not expire.
    """

    value: Any
    ttl: Optional[float] = None


class CacheAdapter:
    """What CachectlApp needs from a cache. Subclass it for your own cache.

    Keys cross this interface as ``bytes`` (the protocol's keys are bytes); a
    cache whose keys are ``str`` decodes them as UTF-8 and treats a key that is
    not UTF-8 as absent. Every method may be called concurrently with the
    application's own use of the cache, on the same event loop.

    ``capabilities`` lists the protocol operations the adapter supports: "get"
    is required; "keys" needs ``keys``; "set"/"delete"/"expire" need the methods
    of the same name; "invalidate" needs "keys" and "delete"; "stats" needs
    ``stats``. An adapter without "expire" has no TTLs at all: a PUT with a TTL
    is refused with 403.

    ``formats`` restricts the ``Cache-Format`` a PUT may carry (empty: any,
    the body is stored as the bytes it is); ``decode`` turns a body of one of
    those formats into what ``set`` stores, ``encode`` turns a stored value
    into (bytes, Cache-Format or None).
    """

    capabilities: frozenset = frozenset(ALL_CAPABILITIES)
    formats: Tuple[str, ...] = ()

    async def keys(self) -> List[bytes]:
        """A snapshot of every live key."""
        raise NotImplementedError

    async def _key_objects(self) -> Tuple[List[Any], Optional[Callable[[List[Any]], List[bytes]]]]:
        """What a run's snapshot is built from: a quick copy of the cache's own
        key objects and the function that turns a slice of them into live wire
        keys, so that this costly part is done in steps; by default ``keys()``."""
        return await self.keys(), None

    async def get(self, key: bytes) -> Optional[Entry]:
        """The live entry under ``key``, or None."""
        raise NotImplementedError

    async def set(self, key: bytes, value: Any, ttl: Optional[float]) -> None:
        """Store ``value`` (from ``decode``) with ``ttl`` seconds to live (None: no expiry)."""
        raise NotImplementedError

    async def delete(self, key: bytes) -> bool:
        """Remove ``key``; True when a live entry was there."""
        raise NotImplementedError

    async def expire(self, key: bytes, ttl: Optional[float]) -> bool:
        """Set the remaining lifetime of a live key (None: no expiry); False when absent."""
        raise NotImplementedError

    async def stats(self) -> Dict[str, Any]:
        """Protocol stats fields; "keys" at least."""
        return {"keys": len(await self.keys())}

    def encode(self, value: Any) -> Tuple[bytes, Optional[str]]:
        """Wire bytes and Cache-Format (None: unknown) of a stored value."""
        return bytes(value), None

    def decode(self, body: bytes, fmt: Optional[str]) -> Any:
        """What ``set`` stores for a PUT body of format ``fmt`` (already checked against ``formats``)."""
        return body

    def store_info(self) -> Optional[Dict[str, Any]]:
        """The capabilities' ``store``: ``{"library", "class", "namespace"}`` of the
        cache served, so that clients know its key layout; None to say nothing."""
        return None

    def observe(self, publish: Callable[[str, bytes], None]) -> bool:
        """Start reporting the cache's own changes (the app's writes, expiries)
        as ``publish(kind, wire_key)``, kind one of "set", "del", "expired",
        "evicted", "expire"; called on the event loop when the first event
        stream opens. True when the adapter now reports every change, its own
        writes included; False (the default) when it cannot see the cache
        change, and CachectlApp reports only the writes made through it."""
        return False


# --------------------------------------------------------------------------
# Helpers shared by the adapters
# --------------------------------------------------------------------------


def _wire_key(key: Any) -> Optional[bytes]:
    """The protocol bytes of a stored key; None for keys the protocol cannot name."""
    if isinstance(key, str):
        try:
            return key.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates
            return None
    if isinstance(key, bytes):
        return key
    return None  # ints, tuples, enums...: stored by an app without a namespace


def _stored_key(container: Any, key: bytes) -> Any:
    """The key object under which ``container`` holds the protocol key, or None.

    Text keys first (every cache here keys by str), then the raw bytes for
    dicts that key by bytes.
    """
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and text in container:
        return text
    if key in container:
        return key
    return None


def _text_key(key: bytes) -> str:
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(400, "this cache's keys are text and the key is not valid UTF-8") from None


def _wire_keys(stored: List[Any]) -> List[bytes]:
    """The protocol bytes of stored keys, leaving out those the protocol cannot name."""
    try:
        return [k.encode("utf-8") for k in stored]  # all str: the common case, at C speed
    except (AttributeError, TypeError, UnicodeEncodeError):
        return [w for w in map(_wire_key, stored) if w is not None]


def _snapshot(container: Any) -> list:
    """list(container), retried when another thread resizes it meanwhile."""
    for _ in range(5):
        try:
            return list(container)
        except RuntimeError:  # "dictionary changed size during iteration"
            continue
    return list(container)


class _ObjectCodec:
    """The wire form of caches that keep Python objects.

    Reading: bytes are served as they are (no Cache-Format), str as UTF-8
    (``string``), anything else pickled (``pickle``, protocol 4 unless told).
    Writing: ``json`` (json.loads), ``string`` (a str), ``bytes`` (a bytes
    object), and ``pickle`` only when ``allow_pickle_writes`` is set.
    """

    def __init__(self, pickle_protocol: int = 4, allow_pickle_writes: bool = False):
        if not isinstance(pickle_protocol, int) or not 2 <= pickle_protocol <= pickle.HIGHEST_PROTOCOL:
            raise ValueError("pickle_protocol must be between 2 and %d" % pickle.HIGHEST_PROTOCOL)
        self.pickle_protocol = pickle_protocol
        self.allow_pickle_writes = bool(allow_pickle_writes)

    @property
    def formats(self) -> Tuple[str, ...]:
        return ("json", "string", "bytes") + (("pickle",) if self.allow_pickle_writes else ())

    def encode(self, value: Any) -> Tuple[bytes, Optional[str]]:
        if isinstance(value, bytes):
            return bytes(value), None
        if isinstance(value, str):
            try:
                return value.encode("utf-8"), "string"
            except UnicodeEncodeError:
                pass  # lone surrogates: only a pickle keeps them
        return pickle.dumps(value, protocol=self.pickle_protocol), "pickle"

    def decode(self, body: bytes, fmt: Optional[str]) -> Any:
        if fmt == "json":
            try:
                return json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError) as e:
                raise ProtocolError(400, "the body is not valid JSON: %s" % _one_line(e)) from None
        if fmt == "string":
            return _utf8_body(body)
        if fmt == "bytes":
            return bytes(body)
        if fmt == "pickle" and self.allow_pickle_writes:
            try:
                return pickle.loads(body)
            except Exception as e:
                raise ProtocolError(400, "the body is not a pickle this process can load: %s" % _one_line(e)) from None
        raise ProtocolError(415, "Cache-Format %r is not stored here" % fmt)


def _utf8_body(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(400, "the body is not valid UTF-8 text") from None


def _one_line(e: BaseException, limit: int = 200) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------
# aiocache SimpleMemoryCache
# --------------------------------------------------------------------------

# aiocache serializer class names -> the format of what they store. Null keeps
# objects as they are; the others store str (string, json) or bytes.
_AIOCACHE_SERIALIZERS = {
    "NullSerializer": None,
    "StringSerializer": "string",
    "JsonSerializer": "json",
    "PickleSerializer": "pickle",
    "MsgPackSerializer": "msgpack",
}
_TEXT_FORMATS = frozenset({"string", "json"})


def _aiocache_serializer_format(serializer: Any) -> Tuple[bool, Optional[str]]:
    """(known, format) of an aiocache serializer, found by class name along its MRO."""
    if serializer is None:
        return True, None
    for cls in type(serializer).__mro__:
        if cls.__name__ in _AIOCACHE_SERIALIZERS:
            return True, _AIOCACHE_SERIALIZERS[cls.__name__]
    return False, None


class AiocacheMemoryAdapter(CacheAdapter):
    """aiocache's ``SimpleMemoryCache`` (0.12.x; 0.11.x and 1.0's layout too).

    Reads the cache's own structures: ``cache._cache`` (stored key -> value;
    per instance since 0.12.0, per class before) and ``cache._handlers``
    (stored key -> the ``asyncio.TimerHandle`` that deletes it; remaining TTL
    is ``handle.when() - loop.time()``). Keys are the stored ones, namespace
    included (``namespace + key``). Writes go through the backend's own
    ``_set``/``_expire``/``_delete`` so expiry is scheduled exactly as aiocache
    schedules it (``loop.call_later`` calling its delete) and the app sees
    consistent state. The cache must be used from the event loop serving this
    app: TTL timers belong to a loop.

    Values depend on the cache's serializer:

    - ``NullSerializer`` (SimpleMemoryCache's default) keeps objects: str is
      served as ``string``, bytes raw, anything else pickled (``pickle``,
      ``pickle_protocol`` 4 by default, 5 if asked). PUT takes ``json``,
      ``string`` or ``bytes``, and ``pickle`` only with ``allow_pickle_writes``.
    - String/Json/Pickle/MsgPack serializers keep serialized str/bytes: they
      are served as stored with that format, and PUT takes that format only
      (a pickle one only with ``allow_pickle_writes``; else 403).
    - Any other serializer: values are served, writes are not offered.
    """

    def __init__(self, cache: Any, *, pickle_protocol: int = 4, allow_pickle_writes: bool = False):
        missing = [a for a in ("_cache", "_handlers", "_set", "_delete", "_expire") if not hasattr(cache, a)]
        if missing:
            raise TypeError("not an aiocache SimpleMemoryCache: it has no %s" % ", ".join(missing))
        self.cache = cache
        self._codec = _ObjectCodec(pickle_protocol, allow_pickle_writes)
        known, fmt = _aiocache_serializer_format(getattr(cache, "serializer", None))
        self._objects = known and fmt is None
        self._format = fmt
        caps = set(ALL_CAPABILITIES)
        if not known:
            caps.discard("set")
        self.capabilities = frozenset(caps)
        if self._objects:
            self.formats = self._codec.formats
        elif fmt is not None:
            self.formats = (fmt,)

    # aiocache's _clear() rebinds _cache and _handlers to new dicts, so they
    # are looked up on the cache every time, never kept.

    def store_info(self) -> Optional[Dict[str, Any]]:
        ns = getattr(self.cache, "namespace", None)
        return {"library": "aiocache", "class": type(self.cache).__name__, "namespace": ns if isinstance(ns, str) else None}

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _ttl(self, skey: Any, now: float) -> Optional[float]:
        handle = self.cache._handlers.get(skey)
        if handle is None or handle.cancelled():
            return None  # _set without a ttl cancels the old timer but leaves it there
        return handle.when() - now

    def _lookup(self, key: bytes) -> Tuple[Any, Optional[float]]:
        """(stored key, ttl) of a live key; (None, None) when absent."""
        skey = _stored_key(self.cache._cache, key)
        if skey is None:
            return None, None
        ttl = self._ttl(skey, self._now())
        if ttl is not None and ttl <= 0:
            return None, None  # due; the loop has not run its timer yet
        return skey, ttl

    def _live_stored_keys(self, stored: Optional[List[Any]] = None) -> List[Any]:
        now = self._now()
        out = []
        for skey in _snapshot(self.cache._cache) if stored is None else stored:
            ttl = self._ttl(skey, now)
            if ttl is None or ttl > 0:
                out.append(skey)
        return out

    async def keys(self) -> List[bytes]:
        return _wire_keys(self._live_stored_keys())

    def _live_wire_keys(self, stored: List[Any]) -> List[bytes]:
        return _wire_keys(self._live_stored_keys(stored))

    async def _key_objects(self) -> Tuple[List[Any], Optional[Callable[[List[Any]], List[bytes]]]]:
        return _snapshot(self.cache._cache), self._live_wire_keys

    async def get(self, key: bytes) -> Optional[Entry]:
        skey, ttl = self._lookup(key)
        if skey is None:
            return None
        try:
            return Entry(self.cache._cache[skey], ttl)
        except KeyError:
            return None

    async def set(self, key: bytes, value: Any, ttl: Optional[float]) -> None:
        skey = _stored_key(self.cache._cache, key)
        if skey is None:
            skey = _text_key(key)
        await self.cache._set(skey, value, ttl=ttl)

    async def delete(self, key: bytes) -> bool:
        skey = _stored_key(self.cache._cache, key)
        if skey is None:
            return False
        live = self._lookup(key)[0] is not None
        await self.cache._delete(skey)  # a due entry goes too
        return live

    async def expire(self, key: bytes, ttl: Optional[float]) -> bool:
        skey, _ = self._lookup(key)
        if skey is None:
            return False
        return bool(await self.cache._expire(skey, ttl))

    async def stats(self) -> Dict[str, Any]:
        store = self.cache._cache
        live = self._live_stored_keys()
        out: Dict[str, Any] = {"keys": len(live)}
        if not self._objects:
            total = 0
            for k in live:
                v = store.get(k)
                if isinstance(v, str):
                    total += len(v.encode("utf-8", "surrogatepass"))
                elif isinstance(v, bytes):
                    total += len(v)
            out["bytes"] = total
        # aiocache's HitMissRatioPlugin keeps cache.hit_miss_ratio, created on the first get.
        ratio = getattr(self.cache, "hit_miss_ratio", None)
        if isinstance(ratio, dict) and "hits" in ratio and "total" in ratio:
            out["hits"] = int(ratio["hits"])
            out["misses"] = int(ratio["total"]) - int(ratio["hits"])
        elif any(
            c.__name__ == "HitMissRatioPlugin"
            for plugin in getattr(self.cache, "plugins", None) or ()
            for c in type(plugin).__mro__
        ):
            out["hits"] = out["misses"] = 0
        return out

    def observe(self, publish: Callable[[str, bytes], None]) -> bool:
        """Wrap this cache instance's own operations (``_set``, ``_delete``,
        ``_expire``, ``_increment``, ``_clear``, ``_redlock_release`` and the
        private remover its TTL timers call) so that every change is published:
        expiries when aiocache's timer removes the key. Timers already set are
        re-armed on the wrapped remover. False (nothing wrapped) on an aiocache
        whose layout differs."""
        cache = self.cache
        # The remover is private: SimpleMemoryBackend.__delete, name-mangled
        # after the class that defines it.
        remover_name = next(
            (n for n in ("_%s__delete" % c.__name__.lstrip("_") for c in type(cache).__mro__) if hasattr(cache, n)), ""
        )
        remover = getattr(cache, remover_name, None) if remover_name else None
        if not callable(remover) or not all(callable(getattr(cache, n, None)) for n in ("_set", "_delete", "_expire")):
            return False
        names = [n for n in ("_set", "_delete", "_expire", "_increment", "_clear", "_redlock_release") if callable(getattr(cache, n, None))]
        orig = {n: getattr(cache, n) for n in names}
        explicit = [0]  # > 0 while a delete asked for runs: its removals are "del", not "expired"

        def emit(kind: str, skey: Any) -> None:
            wire = _wire_key(skey)
            if wire is not None:
                publish(kind, wire)

        def remove(key: Any) -> Any:
            n = remover(key)
            if n:
                emit("del" if explicit[0] else "expired", key)
            return n

        async def _set(key: Any, *args: Any, **kwargs: Any) -> Any:
            r = await orig["_set"](key, *args, **kwargs)
            if r:
                emit("set", key)
            return r

        async def _increment(key: Any, *args: Any, **kwargs: Any) -> Any:
            r = await orig["_increment"](key, *args, **kwargs)
            emit("set", key)
            return r

        async def _expire(key: Any, *args: Any, **kwargs: Any) -> Any:
            r = await orig["_expire"](key, *args, **kwargs)
            if r:
                emit("expire", key)
            return r

        def deleting(name: str) -> Callable[..., Any]:
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                explicit[0] += 1
                try:
                    return await orig[name](*args, **kwargs)
                finally:
                    explicit[0] -= 1

            return wrapper

        setattr(cache, remover_name, remove)
        wrappers = {"_set": _set, "_increment": _increment, "_expire": _expire}
        for name in names:
            setattr(cache, name, wrappers.get(name) or deleting(name))
        loop = asyncio.get_running_loop()
        for skey, handle in list(cache._handlers.items()):
            if not handle.cancelled():
                cache._handlers[skey] = loop.call_at(handle.when(), remove, skey)
                handle.cancel()
        return True

    def encode(self, value: Any) -> Tuple[bytes, Optional[str]]:
        if not self._objects:
            if isinstance(value, str):
                return value.encode("utf-8", "surrogatepass"), self._format
            if isinstance(value, bytes):
                return bytes(value), self._format
        return self._codec.encode(value)

    def decode(self, body: bytes, fmt: Optional[str]) -> Any:
        if self._objects:
            return self._codec.decode(body, fmt)
        if fmt == "pickle" and not self._codec.allow_pickle_writes:
            raise ProtocolError(
                403,
                "this cache's PickleSerializer would unpickle what is stored; "
                "writes need allow_pickle_writes=True",
            )
        if fmt == "json":
            text = _utf8_body(body)
            try:
                json.loads(text)
            except (ValueError, RecursionError) as e:
                raise ProtocolError(400, "the body is not valid JSON: %s" % _one_line(e)) from None
            return text
        if fmt in _TEXT_FORMATS:
            return _utf8_body(body)
        return bytes(body)


# --------------------------------------------------------------------------
# Litestar MemoryStore
# --------------------------------------------------------------------------


class LitestarMemoryStoreAdapter(CacheAdapter):
    """Litestar 2's ``litestar.stores.memory.MemoryStore``.

    Reads ``store._store`` (str key -> ``StorageObject`` with ``expires_at``,
    an aware UTC datetime or None, and ``data``, bytes). Expired objects stay
    in the dict until the store's ``get`` or ``delete_expired`` drops them;
    they are treated as absent here. Values are bytes and served as stored
    (no Cache-Format: what they are depends on the store's user, e.g. msgpack
    for the response cache, JSON for sessions). PUT stores the body as given,
    through the store's own ``set`` (its lock, its expiry); expire rebuilds
    the StorageObject under the store's lock, as ``get(renew_for=...)`` does.
    """

    def __init__(self, store: Any):
        if not hasattr(store, "_store") or not hasattr(store, "set") or not hasattr(store, "delete"):
            raise TypeError("not a Litestar MemoryStore: it has no _store/set/delete")
        self.store = store

    # delete_expired() rebinds _store to a new dict: look it up every time.

    def store_info(self) -> Optional[Dict[str, Any]]:
        # MemoryStore keys bare; a namespaced store (RedisStore) has .namespace.
        ns = getattr(self.store, "namespace", None)
        return {"library": "litestar", "class": type(self.store).__name__, "namespace": ns if isinstance(ns, str) else None}

    @staticmethod
    def _alive(obj: Any, now: datetime) -> bool:
        expires_at = getattr(obj, "expires_at", None)
        return expires_at is None or now < expires_at

    def _live(self, key: bytes) -> Tuple[Any, Any]:
        store = self.store._store
        skey = _stored_key(store, key)
        if skey is None:
            return None, None
        obj = store.get(skey)
        if obj is None or not self._alive(obj, datetime.now(timezone.utc)):
            return None, None
        return skey, obj

    def _live_items(self) -> List[Tuple[Any, Any]]:
        now = datetime.now(timezone.utc)
        store = self.store._store
        out = []
        for skey in _snapshot(store):
            obj = store.get(skey)
            if obj is not None and self._alive(obj, now):
                out.append((skey, obj))
        return out

    async def keys(self) -> List[bytes]:
        return _wire_keys([k for k, _ in self._live_items()])

    def _live_wire_keys(self, stored: List[Any]) -> List[bytes]:
        now = datetime.now(timezone.utc)
        store = self.store._store
        live = []
        for skey in stored:
            obj = store.get(skey)
            if obj is not None and self._alive(obj, now):
                live.append(skey)
        return _wire_keys(live)

    async def _key_objects(self) -> Tuple[List[Any], Optional[Callable[[List[Any]], List[bytes]]]]:
        return _snapshot(self.store._store), self._live_wire_keys

    async def get(self, key: bytes) -> Optional[Entry]:
        _, obj = self._live(key)
        if obj is None:
            return None
        if obj.expires_at is None:
            return Entry(obj.data, None)
        return Entry(obj.data, (obj.expires_at - datetime.now(timezone.utc)).total_seconds())

    async def set(self, key: bytes, value: Any, ttl: Optional[float]) -> None:
        await self.store.set(_text_key(key), value, expires_in=timedelta(seconds=ttl) if ttl else None)

    async def delete(self, key: bytes) -> bool:
        skey = _stored_key(self.store._store, key)
        if skey is None:
            return False
        live = self._live(key)[1] is not None
        await self.store.delete(skey)
        return live

    async def expire(self, key: bytes, ttl: Optional[float]) -> bool:
        lock = getattr(self.store, "_lock", None)
        if lock is None:
            return self._renew(key, ttl)
        async with lock:
            return self._renew(key, ttl)

    def _renew(self, key: bytes, ttl: Optional[float]) -> bool:
        skey, obj = self._live(key)
        if obj is None:
            return False
        expires_in = timedelta(seconds=ttl) if ttl else None
        self.store._store[skey] = type(obj).new(data=obj.data, expires_in=expires_in)
        return True

    async def stats(self) -> Dict[str, Any]:
        items = self._live_items()
        return {"keys": len(items), "bytes": sum(len(obj.data) for _, obj in items)}

    def encode(self, value: Any) -> Tuple[bytes, Optional[str]]:
        return bytes(value), None

    def decode(self, body: bytes, fmt: Optional[str]) -> Any:
        return bytes(body)


# --------------------------------------------------------------------------
# Any mapping
# --------------------------------------------------------------------------


class MappingAdapter(CacheAdapter):
    """Any dict-like object (``__getitem__``, ``__setitem__``, ``__delitem__``,
    ``__contains__``, ``__len__``, iteration): the simplest in-process cache.

    No TTLs: every key reports ``ttl`` null (Cache-TTL -1), ``expire`` is not
    offered, a PUT with a TTL is refused (403). Values as ``_ObjectCodec``:
    bytes raw, str as ``string``, other objects pickled; PUT takes ``json``,
    ``string``, ``bytes`` (and ``pickle`` only with ``allow_pickle_writes``).
    New keys are stored as str (``text_keys=True``) or bytes; existing keys
    keep their type.
    """

    capabilities = frozenset({"keys", "get", "set", "delete", "invalidate", "stats"})

    def __init__(
        self,
        mapping: Any,
        *,
        text_keys: bool = True,
        pickle_protocol: int = 4,
        allow_pickle_writes: bool = False,
    ):
        self.mapping = mapping
        self.text_keys = text_keys
        self._codec = _ObjectCodec(pickle_protocol, allow_pickle_writes)
        self.formats = self._codec.formats

    def store_info(self) -> Optional[Dict[str, Any]]:
        cls = type(self.mapping)
        return {"library": cls.__module__.split(".")[0], "class": cls.__name__, "namespace": None}

    async def keys(self) -> List[bytes]:
        return _wire_keys(_snapshot(self.mapping))

    async def _key_objects(self) -> Tuple[List[Any], Optional[Callable[[List[Any]], List[bytes]]]]:
        return _snapshot(self.mapping), _wire_keys

    async def get(self, key: bytes) -> Optional[Entry]:
        skey = _stored_key(self.mapping, key)
        if skey is None:
            return None
        try:
            return Entry(self.mapping[skey], None)
        except KeyError:
            return None

    async def set(self, key: bytes, value: Any, ttl: Optional[float]) -> None:
        skey = _stored_key(self.mapping, key)
        if skey is None:
            skey = _text_key(key) if self.text_keys else key
        self.mapping[skey] = value

    async def delete(self, key: bytes) -> bool:
        skey = _stored_key(self.mapping, key)
        if skey is None:
            return False
        try:
            del self.mapping[skey]
        except KeyError:
            return False
        return True

    async def stats(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"keys": len(self.mapping)}
        total = 0
        for skey in _snapshot(self.mapping):
            try:
                v = self.mapping[skey]
            except KeyError:
                continue  # deleted meanwhile
            if isinstance(v, bytes):
                total += len(v)
            elif isinstance(v, str):
                total += len(v.encode("utf-8", "surrogatepass"))
            else:
                return out  # objects: their size is not known without pickling them all
        out["bytes"] = total
        return out

    def encode(self, value: Any) -> Tuple[bytes, Optional[str]]:
        return self._codec.encode(value)

    def decode(self, body: bytes, fmt: Optional[str]) -> Any:
        return self._codec.decode(body, fmt)


# --------------------------------------------------------------------------
# Glob matching with Redis' semantics (byte-wise)
# --------------------------------------------------------------------------

_STAR, _QUESTION, _LBRACKET, _RBRACKET, _BACKSLASH, _CARET, _DASH = b"*?[]\\^-"

# Redis' matcher gives up beyond 1000 nested '*' (its fix for CVE-2024-31228):
# the pattern after a 1001st run of '*' matches nothing, unless that run ends it.
_MAX_STAR_RUNS = 1000


def glob_match(pattern: bytes, key: bytes) -> bool:
    """Whether ``key`` matches ``pattern`` as Redis' KEYS / SCAN MATCH decide it.

    Byte-wise and case-sensitive: ``*`` any run of bytes, ``?`` one byte,
    ``[abc]`` ``[^abc]`` ``[a-z]`` classes, ``\\`` escapes the next byte (in a
    class too). Redis' corners are kept: a class without ``]`` runs to the end
    of the pattern, ``]`` right after ``[`` or ``[^`` closes the class, a
    reversed range is swapped, range bounds compare as signed chars (bytes
    >= 0x80 sort before 0x00), a lone trailing backslash is literal, and
    ``*`` alone matches every key (SCAN never filters on it).
    """
    if pattern == b"*":
        return True
    return _Glob(pattern).match(key)


def _match(p: bytes, k: bytes, max_star_runs: int = _MAX_STAR_RUNS) -> bool:
    """glob_match without the ``*`` shortcut, compiling ``p`` each time (tests)."""
    return _Glob(p, max_star_runs).match(k)


# Linear time, not backtracking: the pattern is split on its runs of '*'
# into segments of one-byte tokens. The first segment must match at the
# start of the key and the last at its end; each middle one is found
# leftmost-first after the previous one (the classic argument: a later
# position can only leave less room for the rest). Literal segments are
# found with bytes.find, segments with '?' or classes with a bit-parallel
# Shift-And (a Python int as the state, len(segment) bits wide), so a key
# costs O(len(key) * ceil(len(segment) / 30)) digit operations at worst, never
# the len(key) * len(pattern) steps of backtracking.

_ANY = b"\x01" * 256


def _signed(b: int) -> int:
    return b - 256 if b >= 128 else b  # C's char on x86-64


def _class_table(p: bytes, i: int) -> Tuple[bytes, int]:
    """The 256-byte membership table of the class whose body starts at ``p[i]``, and the index after it."""
    # In the order Redis tests them: escape, ']', end of pattern, range, byte.
    n = len(p)
    negate = i < n and p[i] == _CARET
    if negate:
        i += 1
    table = bytearray(256)
    while True:
        if i + 1 < n and p[i] == _BACKSLASH:
            i += 1
            table[p[i]] = 1
        elif i < n and p[i] == _RBRACKET:
            i += 1
            break
        elif i >= n:
            break  # unterminated: the class is the rest of the pattern
        elif i + 2 < n and p[i + 1] == _DASH:
            lo, hi = _signed(p[i]), _signed(p[i + 2])
            if lo > hi:
                lo, hi = hi, lo
            # Signed bounds: bytes >= 0x80 are -128..-1, before 0x00.
            for a, b in ((max(lo, 0), hi), (max(lo, -128) + 256, min(hi, -1) + 256)):
                if a <= b:
                    table[a : b + 1] = b"\x01" * (b - a + 1)
            i += 2
        else:
            table[p[i]] = 1
        i += 1
    if negate:
        table = table.translate(bytes([1, 0]) + bytes(254))
    return bytes(table), i


class _Segment:
    """A run of one-byte tokens between two runs of '*'."""

    __slots__ = ("size", "literal", "tables", "masks", "high", "any_only")

    def __init__(self, tokens: List[Any]):
        self.size = len(tokens)
        self.literal: Optional[bytes] = None
        self.tables: List[Any] = tokens
        self.any_only = all(t is _ANY for t in tokens) and bool(tokens)
        self.masks: List[int] = []
        self.high = 1 << (self.size - 1) if tokens else 0
        if all(isinstance(t, int) for t in tokens):
            self.literal = bytes(tokens)
            return
        # Shift-And masks: bit j of masks[c] is set when token j takes byte c.
        # Tokens are grouped so that each distinct one costs 256 ORs, not each position.
        groups: Dict[Any, List[int]] = {}
        for j, t in enumerate(tokens):
            groups.setdefault(t, []).append(j)
        masks = [0] * 256
        for t, positions in groups.items():
            bits = bytearray((self.size + 7) // 8)
            for j in positions:
                bits[j >> 3] |= 1 << (j & 7)
            mask = int.from_bytes(bits, "little")
            if isinstance(t, int):
                masks[t] |= mask
            else:
                for c in range(256):
                    if t[c]:
                        masks[c] |= mask
        self.masks = masks

    def at(self, key: bytes, pos: int) -> bool:
        """Whether the segment matches ``key`` at ``pos`` (room already checked)."""
        if self.literal is not None:
            return key.startswith(self.literal, pos)
        for j, t in enumerate(self.tables):
            c = key[pos + j]
            if t.__class__ is int:
                if t != c:
                    return False
            elif not t[c]:
                return False
        return True

    def find(self, key: bytes, start: int, end: int) -> int:
        """The leftmost position >= start where the segment matches within key[:end], or -1."""
        if self.literal is not None:
            return key.find(self.literal, start, end)
        if self.any_only:
            return start if start + self.size <= end else -1
        masks, high, state = self.masks, self.high, 0
        for i in range(start, end):
            state = ((state << 1) | 1) & masks[key[i]]
            if state & high:
                return i - self.size + 1
        return -1


class _Glob:
    """A compiled glob: segments, and whether '*' runs separate them."""

    __slots__ = ("pattern", "segments", "stars", "never")

    def __init__(self, pattern: bytes, max_star_runs: int = _MAX_STAR_RUNS):
        self.pattern = pattern
        segments: List[_Segment] = []
        tokens: List[Any] = []
        runs = 0
        never = False
        i, n = 0, len(pattern)
        while i < n:
            b = pattern[i]
            if b == _STAR:
                while i < n and pattern[i] == _STAR:
                    i += 1
                if i < n:
                    runs += 1
                    # Redis gives up past max_star_runs nested '*' (CVE-2024-31228):
                    # a pattern that goes on after one more run matches nothing.
                    never = never or runs > max_star_runs
                segments.append(_Segment(tokens))
                tokens = []
                continue
            if b == _QUESTION:
                tokens.append(_ANY)
                i += 1
            elif b == _LBRACKET:
                table, i = _class_table(pattern, i + 1)
                tokens.append(table)
            elif b == _BACKSLASH and i + 1 < n:
                tokens.append(pattern[i + 1])
                i += 2
            else:
                tokens.append(b)  # a lone trailing backslash is itself
                i += 1
        segments.append(_Segment(tokens))
        self.segments = segments
        self.stars = len(segments) > 1
        self.never = never

    def match(self, key: bytes) -> bool:
        if not key:
            return not self.pattern  # Redis' loop needs a non-empty key; only "" matches ""
        if self.never:
            return False
        segs, n = self.segments, len(key)
        head = segs[0]
        if not self.stars:
            return n == head.size and head.at(key, 0)
        tail = segs[-1]
        end = n - tail.size
        if head.size > end or not head.at(key, 0) or not tail.at(key, end):
            return False
        pos = head.size
        for seg in segs[1:-1]:
            i = seg.find(key, pos, end)
            if i < 0:
                return False
            pos = i + seg.size
        return True


def _literal_prefix(pattern: bytes) -> bytes:
    """The bytes every key matching ``pattern`` starts with (escapes resolved)."""
    out = bytearray()
    i, n = 0, len(pattern)
    while i < n:
        b = pattern[i]
        if b in (_STAR, _QUESTION, _LBRACKET):
            break
        if b == _BACKSLASH and i + 1 < n:
            i += 1
        out.append(pattern[i])
        i += 1
    return bytes(out)


class _Matcher:
    """One glob, compiled once, with a cheap prefix test in front of the full match."""

    __slots__ = ("pattern", "prefix", "everything", "glob")

    def __init__(self, pattern: bytes):
        self.pattern = pattern
        self.everything = pattern == b"*"
        self.prefix = _literal_prefix(pattern)
        self.glob = _Glob(pattern)

    def __call__(self, key: bytes) -> bool:
        if self.everything:
            return True
        return key.startswith(self.prefix) and self.glob.match(key)


# --------------------------------------------------------------------------
# Wire helpers
# --------------------------------------------------------------------------

_TTL_RE = re.compile(rb"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")
_COUNT_RE = re.compile(rb"[0-9]{1,9}\Z")
_CURSOR_PREFIX = "k"
# s<snapshot id>.<serial>.<last key visited, base64url, empty for none>. The
# serial only makes each cursor issued differ (clients take a repeated cursor
# with an empty page for a listing that does not advance).
_SNAPSHOT_CURSOR = re.compile(rb"s([0-9a-f]{16})\.([0-9]{1,12})\.([A-Za-z0-9_-]*)\Z")

_ROUTES = {
    "/v1/capabilities": "capabilities",
    "/v1/keys": "keys",
    "/v1/entry": "entry",
    "/v1/expire": "expire",
    "/v1/invalidate": "invalidate",
    "/v1/stats": "stats",
    "/v1/events": "events",
}
_KNOWN_PARAMS = frozenset({"key", "ttl", "match", "cursor", "count", "heartbeat"})


def _key_json(key: bytes) -> Any:
    """A key in JSON: a string when UTF-8, else {"$bytes": base64}."""
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return {"$bytes": base64.b64encode(key).decode("ascii")}


def _key_from_json(value: Any, what: str) -> bytes:
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:
            raise ProtocolError(400, "%s is not valid Unicode" % what) from None
    if isinstance(value, dict) and set(value) == {"$bytes"} and isinstance(value["$bytes"], str):
        try:
            return base64.b64decode(value["$bytes"], validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError(400, "%s has bad base64 in $bytes" % what) from None
    raise ProtocolError(400, '%s must be a string or {"$bytes": base64}' % what)


def _ttl_text(ttl: Optional[float]) -> str:
    """Cache-TTL: -1 for no expiry, else decimal seconds (a live key never shows 0)."""
    if ttl is None:
        return "-1"
    return ("%.3f" % max(ttl, 0.001)).rstrip("0").rstrip(".")


def _ttl_json(ttl: Optional[float]) -> Optional[float]:
    return None if ttl is None else max(round(ttl, 3), 0.001)


_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def _parse_query(qs: bytes) -> Dict[str, bytes]:
    """The protocol's parameters: RFC 3986 decoding ('+' stays '+'), the first of
    a repeated parameter counts, a malformed percent-escape in one is a 400."""
    params: Dict[str, bytes] = {}
    for part in qs.split(b"&"):
        if not part:
            continue
        raw_name, _, raw_value = part.partition(b"=")
        if _BAD_ESCAPE.search(raw_name):
            continue  # not a name of ours; unknown parameters are ignored
        name = unquote_to_bytes(raw_name).decode("latin-1")
        if name not in _KNOWN_PARAMS or name in params:
            continue
        if _BAD_ESCAPE.search(raw_value):
            raise ProtocolError(400, "malformed query: a %% in %s is not followed by two hex digits" % name)
        params[name] = unquote_to_bytes(raw_value)
    return params


def _host_only(host: bytes) -> bytes:
    """A Host value lower-cased, without its port, brackets or a final dot."""
    h = host.strip().lower()
    if h.startswith(b"["):
        h = h[1:].partition(b"]")[0]
    elif h.count(b":") == 1:
        h = h.partition(b":")[0]
    return h.rstrip(b".")


def _header(scope: dict, name: bytes) -> Optional[bytes]:
    for k, v in scope.get("headers") or ():
        if k.lower() == name:
            return v
    return None


class _Disconnected(Exception):
    pass


class _Response(NamedTuple):
    status: int
    headers: List[Tuple[bytes, bytes]]
    body: bytes = b""


class _EventStream(NamedTuple):
    """GET /v1/events, accepted: streamed by CachectlApp._stream."""

    subscriber: Any
    heartbeat: float


def _json_response(status: int, doc: Any, headers: Iterable[Tuple[str, str]] = ()) -> _Response:
    body = json.dumps(doc, separators=(",", ":")).encode("utf-8")
    hs = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    hs.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers)
    return _Response(status, hs, body)


# Error codes of the protocol (docs/http-protocol.md, Errors): a 404 alone
# cannot tell a missing key from a base URL that points elsewhere.
_NOT_FOUND = "not_found"
_UNKNOWN_ENDPOINT = "unknown_endpoint"


def _error(status: int, message: str, headers: Iterable[Tuple[str, str]] = (), code: str = "") -> _Response:
    doc = {"error": " ".join(message.split())}
    if code:
        # Also a header: a HEAD answer keeps it when its body is dropped.
        doc["code"] = code
        headers = [*headers, ("Cache-Error", code)]
    return _json_response(status, doc, headers)


def _no_content() -> _Response:
    return _Response(204, [(b"cache-control", b"no-store")])


# --------------------------------------------------------------------------
# Snapshots of the keys for runs of requests
# --------------------------------------------------------------------------


class _Snapshot:
    """The keys of one run (a listing, a chunked invalidate) in byte order.

    Holds the keys the adapter listed at the run's first request that are
    after ``after`` (None: all) and start with one of ``prefixes`` (empty:
    any). Built in steps (``build_step``: SNAPSHOT_RUN keys filtered and
    sorted each), then the sorted runs are merged lazily into ``keys`` as far
    as the requests go (``extend_to``), so no request pays for all of it.
    """

    __slots__ = ("id", "prefixes", "after", "keys", "serial", "_raw", "_convert", "_next", "_runs", "_merge")

    def __init__(
        self,
        prefixes: Tuple[bytes, ...],
        after: Optional[bytes],
        raw: List[Any],
        convert: Optional[Callable[[List[Any]], List[bytes]]] = None,
    ):
        self.id = secrets.token_hex(8)
        self.prefixes = prefixes
        self.after = after
        self.keys: Optional[List[bytes]] = None  # None until built
        self.serial = 0
        self._raw: Optional[List[Any]] = raw
        self._convert = convert  # the adapter's stored keys -> live wire keys
        self._next = 0
        self._runs: List[List[bytes]] = []
        self._merge: Optional[Iterable[bytes]] = None

    def covers(self, prefixes: Tuple[bytes, ...], after: Optional[bytes]) -> bool:
        """Whether a request for keys after ``after`` with this filter may continue here."""
        if prefixes != self.prefixes:
            return False
        return self.after is None or (after is not None and after >= self.after)

    def build_step(self) -> bool:
        """Filter and sort one more slice of the keys; True once the snapshot is built."""
        if self.keys is not None:
            return True
        raw = self._raw
        assert raw is not None
        if self._next < len(raw):
            part = raw[self._next : self._next + SNAPSHOT_RUN]
            self._next += SNAPSHOT_RUN
            if self._convert is not None:
                part = self._convert(part)
            if self.prefixes:
                part = [k for k in part if k.startswith(self.prefixes)]
            if self.after is not None:
                part = [k for k in part if k > self.after]
            part.sort()
            self._runs.append(part)
        if self._next < len(raw):
            return False
        runs, self._raw, self._runs, self._convert = self._runs, None, [], None
        if len(runs) <= 1:
            self.keys = runs[0] if runs else []
        else:
            self.keys = []
            self._merge = heapq.merge(*runs)
        return True

    def extend_to(self, n: int) -> int:
        """Merge until ``n`` keys are in ``keys`` or all are; how many are."""
        keys = self.keys
        assert keys is not None
        if len(keys) < n and self._merge is not None:
            keys.extend(itertools.islice(self._merge, n - len(keys)))
            if len(keys) < n:
                self._merge = None
        return len(keys)

    def start(self, after: Optional[bytes]) -> int:
        """Where the keys after ``after`` begin (among those merged so far)."""
        assert self.keys is not None
        return 0 if after is None else bisect.bisect_right(self.keys, after)


class _Snapshots:
    """The snapshots of runs in progress, least recently used first."""

    def __init__(self, limit: int = MAX_SNAPSHOTS, ttl: float = SNAPSHOT_TTL_S, clock: Any = time.monotonic):
        self.limit = limit
        self.ttl = ttl
        self.clock = clock
        self._items: "OrderedDict[str, Tuple[_Snapshot, float]]" = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, sid: str) -> Optional[_Snapshot]:
        self._expire()
        item = self._items.get(sid)
        if item is None:
            return None
        self._items[sid] = (item[0], self.clock())
        self._items.move_to_end(sid)
        return item[0]

    def keep(self, snap: _Snapshot) -> None:
        self._items[snap.id] = (snap, self.clock())
        self._items.move_to_end(snap.id)
        while len(self._items) > self.limit:
            self._items.popitem(last=False)
        self._expire()

    def clear(self) -> None:
        self._items.clear()

    def _expire(self) -> None:
        oldest = self.clock() - self.ttl
        while self._items:
            _, (_, used) = next(iter(self._items.items()))
            if used > oldest:
                return
            self._items.popitem(last=False)


def _prefix_filter(matchers: Iterable[_Matcher]) -> Tuple[bytes, ...]:
    """The literal prefixes some key must start with to match any of ``matchers``
    (empty: any key may), without those another one already covers."""
    prefixes = sorted({m.prefix for m in matchers})
    if not prefixes or not prefixes[0]:
        return ()
    out: List[bytes] = []
    for p in prefixes:  # sorted: the keys starting with a prefix follow it
        if not out or not p.startswith(out[-1]):
            out.append(p)
    return tuple(out)


# --------------------------------------------------------------------------
# The ASGI app
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# Key events for GET /v1/events
# --------------------------------------------------------------------------


def _event_time(t: float) -> str:
    """RFC 3339 UTC with microseconds, as the protocol's event times."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Subscriber:
    """One event stream's backlog: at most ``limit`` events; beyond, newer
    events are counted as dropped (a gap) instead of kept."""

    def __init__(self, hub: "_EventHub", matcher: Optional["_Matcher"], limit: int):
        self._hub = hub
        self._matcher = matcher
        self._limit = limit
        self._events: List[Tuple[float, str, bytes]] = []
        self.dropped = 0
        self.dropped_since = 0.0
        self.ready = asyncio.Event()
        self.closing = False  # close_streams: end the stream

    def push(self, event: Tuple[float, str, bytes]) -> None:
        if self._matcher is not None and not self._matcher(event[2]):
            return
        if len(self._events) < self._limit:
            self._events.append(event)
        else:
            if not self.dropped:
                self.dropped_since = event[0]
            self.dropped += 1
        self.ready.set()

    def take(self) -> bytes:
        """The waiting events as stream bytes, then the gap of those dropped."""
        self.ready.clear()
        events, self._events = self._events, []
        parts = [
            b'data: {"time":"%s","event":"%s","key":%s}\n\n'
            % (_event_time(t).encode(), kind.encode(), json.dumps(_key_json(key)).encode())
            for t, kind, key in events
        ]
        if self.dropped:
            parts.append(
                b'data: {"time":"%s","event":"gap","since":"%s","dropped":%d,'
                b'"detail":"the stream fell behind: %d events dropped"}\n\n'
                % (_event_time(time.time()).encode(), _event_time(self.dropped_since).encode(), self.dropped, self.dropped)
            )
            self.dropped = 0
        return b"".join(parts)

    def close(self) -> None:
        self._hub.subscribers.discard(self)


class _EventHub:
    """Hands each key event to every open stream; never waits for one."""

    def __init__(self, limit: int = EVENT_BUFFER, max_subscribers: int = MAX_SUBSCRIBERS):
        self.subscribers: set = set()
        self._limit = limit
        self._max = max_subscribers

    def subscribe(self, matcher: Optional["_Matcher"]) -> Optional[_Subscriber]:
        if len(self.subscribers) >= self._max:
            return None
        sub = _Subscriber(self, matcher, self._limit)
        self.subscribers.add(sub)
        return sub

    def close_all(self) -> None:
        for sub in list(self.subscribers):
            sub.closing = True
            sub.ready.set()

    def publish(self, kind: str, key: bytes) -> None:
        if not self.subscribers:
            return
        event = (time.time(), kind, key)
        for sub in list(self.subscribers):
            sub.push(event)


class CachectlApp:
    """The ASGI 3 app speaking cachectl's HTTP cache protocol v1 for one adapter.

    Mount it where the app wants the cache's base URL (``/_cache``); it honours
    the mount prefix whether the framework passes it in ``root_path`` with the
    rest of ``path`` (Starlette < 0.33, uvicorn) or leaves it in ``path``
    (newer Starlette, httpx), and Litestar's trailing slash on mounted paths.

    ``token`` is required: every request must carry ``Authorization: Bearer
    TOKEN`` (compared in constant time). Only ``allow_no_token=True`` lets it
    run without one, which is for tests and loopback-only servers.
    ``read_only`` refuses every write with 403. ``max_body``, ``max_key`` and
    ``max_count`` bound request bodies, keys and keys per page.

    Browser safety (docs/http-protocol.md): requests a browser sends for
    another site's page (``Origin`` not this origin, ``Sec-Fetch-Site:
    cross-site`` or ``same-site``) get 403, and invalidate takes only an
    ``application/json`` body (415). Without a token, the ``Host`` must also
    be a loopback name or address, the address served, or one of
    ``allowed_hosts`` (the app's own names, e.g. ``["myapp.internal"]``),
    else 421: a DNS-rebinding page sends its own name.
    """

    def __init__(
        self,
        adapter: CacheAdapter,
        *,
        token: Optional[str] = None,
        allow_no_token: bool = False,
        read_only: bool = False,
        max_body: int = DEFAULT_MAX_BODY,
        max_key: int = DEFAULT_MAX_KEY,
        max_count: int = DEFAULT_MAX_COUNT,
        server: str = SERVER_NAME,
        allowed_hosts: Iterable[str] = (),
    ):
        if isinstance(token, str):
            token_bytes: Optional[bytes] = token.encode("utf-8")
        elif isinstance(token, bytes):
            token_bytes = token
        elif token is None:
            token_bytes = None
        else:
            raise TypeError("token must be a str")
        if token_bytes is not None and token_bytes and not token_bytes.strip():
            raise ValueError("the token is only whitespace: give a real token (or allow_no_token=True and no token)")
        if not token_bytes:
            if not allow_no_token:
                raise ValueError(
                    "CachectlApp needs a token (token=...); allow_no_token=True is only for tests and loopback"
                )
            token_bytes = None
        elif any(b <= 0x20 or b == 0x7F for b in token_bytes):
            raise ValueError("the token must not contain spaces or control characters")
        if "get" not in adapter.capabilities:
            raise ValueError("the adapter must support get")
        for name, value in (("max_body", max_body), ("max_key", max_key), ("max_count", max_count)):
            if not isinstance(value, int) or value < 1:
                raise ValueError("%s must be a positive int" % name)
        self.adapter = adapter
        self._token = token_bytes
        self.read_only = bool(read_only)
        self.max_body = max_body
        self.max_key = max_key
        self.max_count = max_count
        self.server = server
        if isinstance(allowed_hosts, (str, bytes)):
            raise TypeError("allowed_hosts must be a list of host names")
        self.allowed_hosts = frozenset(_host_only(h.encode("idna") if isinstance(h, str) else h) for h in allowed_hosts)
        self._started = time.monotonic()
        self._snapshots = _Snapshots()
        self._events = _EventHub()
        # None until the first event stream asks the adapter to observe its
        # cache; then whether it does (and reports this app's writes too).
        self._observed: Optional[bool] = None

    def close_streams(self) -> None:
        """Ends every open event stream (GET /v1/events). Call it when the app
        shuts down (its lifespan): a server waits for open responses before it
        exits, and a stream lasts until its client leaves. ``worker_socket``
        calls it on exit."""
        self._events.close_all()

    def _publish(self, kind: str, key: bytes) -> None:
        """Reports a write made through this app, unless the adapter sees it anyway."""
        if self._events.subscribers and not self._observed:
            self._events.publish(kind, key)

    # -- ASGI entry point --------------------------------------------------

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        kind = scope.get("type")
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind == "websocket":
            message = await receive()
            if message.get("type") == "websocket.connect":
                await send({"type": "websocket.close", "code": 1008})
            return
        if kind != "http":
            return
        try:
            response = await self._handle(scope, receive)
            if isinstance(response, _EventStream):
                await self._stream(response, receive, send)
                return
        except _Disconnected:
            return
        except ProtocolError as e:
            response = _error(e.status, e.message, e.headers, e.code)
        except Exception as e:  # never crash the host app: report a 500
            log.exception("cachectl_asgi: %s %s failed", scope.get("method"), scope.get("path"))
            response = _error(500, "internal error: %s: %s" % (type(e).__name__, _one_line(e)))
        head = scope.get("method") == "HEAD"
        await send({"type": "http.response.start", "status": response.status, "headers": response.headers})
        await send({"type": "http.response.body", "body": b"" if head else response.body})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        # Only reached when run on its own; a framework that mounts the app
        # keeps the lifespan to itself.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- request plumbing ----------------------------------------------------

    def _check_auth(self, scope: dict) -> None:
        if self._token is None:
            return
        challenge = [("WWW-Authenticate", "Bearer")]
        value = _header(scope, b"authorization")
        if value is None:
            raise ProtocolError(401, "missing bearer token", challenge)
        scheme, _, given = value.strip().partition(b" ")
        if scheme.lower() != b"bearer" or not given.strip():
            raise ProtocolError(401, "missing bearer token", challenge)
        if not hmac.compare_digest(given.strip(), self._token):
            raise ProtocolError(401, "wrong token", challenge)

    @staticmethod
    def _route(scope: dict) -> str:
        path = scope.get("path") or "/"
        root = scope.get("root_path") or ""
        candidates = [path]
        if root and path.startswith(root):
            candidates.append(path[len(root):])
        for candidate in candidates:
            name = _ROUTES.get(candidate.rstrip("/"))
            if name is not None:
                return name
        raise ProtocolError(404, "unknown endpoint", code=_UNKNOWN_ENDPOINT)

    def _supports(self, capability: str) -> bool:
        caps = self.adapter.capabilities
        if capability == "invalidate":
            return {"invalidate", "keys", "delete"} <= caps
        return capability in caps

    def _effective_capabilities(self) -> List[str]:
        return [
            c for c in ALL_CAPABILITIES if self._supports(c) and not (self.read_only and c in WRITE_CAPABILITIES)
        ]

    def _methods(self, route: str) -> List[str]:
        # What the endpoint answers to; read-only is a policy (403), not a 405.
        if route == "capabilities":
            return ["GET", "HEAD"]
        if route == "events":
            return ["GET"]
        if route in ("keys", "stats"):
            return ["GET", "HEAD"] if self._supports(route) else []
        if route == "entry":
            return (
                ["GET", "HEAD"]
                + (["PUT"] if self._supports("set") else [])
                + (["DELETE"] if self._supports("delete") else [])
            )
        return ["POST"] if self._supports(route) else []

    async def _read_body(self, scope: dict, receive: Any) -> bytes:
        length = _header(scope, b"content-length")
        if length is not None:
            if not length.strip().isdigit():
                raise ProtocolError(400, "bad Content-Length")
            if int(length) > self.max_body:
                raise ProtocolError(413, "the body is larger than %d bytes" % self.max_body)
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise ProtocolError(413, "the body is larger than %d bytes" % self.max_body)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _key(self, params: Dict[str, bytes]) -> bytes:
        key = params.get("key")
        if key is None:
            raise ProtocolError(400, "missing key")
        if not key:
            raise ProtocolError(400, "empty key")
        if len(key) > self.max_key:
            raise ProtocolError(413, "the key is longer than %d bytes" % self.max_key)
        return key

    @staticmethod
    def _ttl(params: Dict[str, bytes]) -> Optional[float]:
        raw = params.get("ttl")
        if raw is None or raw == b"":
            return None
        if not _TTL_RE.match(raw):
            raise ProtocolError(400, "bad ttl: want a non-negative decimal number of seconds")
        ttl = float(raw)
        if ttl > MAX_TTL:
            raise ProtocolError(400, "bad ttl: at most %d seconds" % MAX_TTL)
        return ttl or None  # 0 means no expiry

    def _ensure_writable(self) -> None:
        if self.read_only:
            raise ProtocolError(403, "this cache is read-only")

    # -- endpoints ---------------------------------------------------------

    def _check_browser(self, scope: dict) -> None:
        """DNS rebinding (Host) and cross-origin (Origin, Sec-Fetch-Site) refusals."""
        host = _header(scope, b"host")
        if self._token is None and not self._allowed_host(scope, host):
            raise ProtocolError(
                421,
                "this cache answers only to a loopback host name without a token "
                "(DNS rebinding protection); use 127.0.0.1 or localhost, or list the name in allowed_hosts",
            )
        site = (_header(scope, b"sec-fetch-site") or b"").strip().lower()
        origins = [v for k, v in scope.get("headers") or () if k.lower() == b"origin"]
        cross = site in (b"cross-site", b"same-site") or len(origins) > 1
        if origins and not cross:
            origin = origins[0].strip().lower()
            h = (host or b"").strip().lower()
            cross = not h or origin not in (b"http://" + h, b"https://" + h)
        if cross:
            raise ProtocolError(403, "cross-origin requests are refused (a web page may not drive this cache)")

    def _allowed_host(self, scope: dict, host: Optional[bytes]) -> bool:
        if not host:
            return False
        name = _host_only(host)
        if name == b"localhost" or name in self.allowed_hosts:
            return True
        try:
            ip = ipaddress.ip_address(name.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            return False
        if ip.is_loopback:
            return True
        server = scope.get("server")  # (host, port) served, when the server knows
        return bool(server) and isinstance(server[0], str) and server[0].lower() == str(ip)

    async def _handle(self, scope: dict, receive: Any) -> _Response:
        self._check_browser(scope)
        self._check_auth(scope)
        route = self._route(scope)
        method = scope.get("method", "GET")
        allowed = self._methods(route)
        if method not in allowed:
            raise ProtocolError(405, "%s is not allowed on /v1/%s" % (method, route), [("Allow", ", ".join(allowed))])
        params = _parse_query(scope.get("query_string") or b"")
        if route == "capabilities":
            return self._capabilities()
        if route == "keys":
            return await self._list_keys(params)
        if route == "stats":
            return await self._stats()
        if route == "events":
            return self._open_events(params)
        if route == "entry":
            if method in ("GET", "HEAD"):
                return await self._get_entry(params)
            self._ensure_writable()
            if method == "PUT":
                return await self._put_entry(scope, receive, params)
            return await self._delete_entry(params)
        self._ensure_writable()
        if route == "expire":
            return await self._expire(params)
        return await self._invalidate(scope, receive)

    def _capabilities(self) -> _Response:
        caps = self._effective_capabilities()
        if "invalidate" in caps:
            caps.append(CAP_INVALIDATE_CHUNKED)
        caps.append(CAP_EVENTS)
        doc: Dict[str, Any] = {
            "protocol": PROTOCOL_VERSION,
            "server": self.server,
            "capabilities": caps,
            "formats": [] if self.read_only else list(self.adapter.formats),
            "limits": {"max_body": self.max_body, "max_key": self.max_key, "max_count": self.max_count},
        }
        try:
            store = self.adapter.store_info()
        except Exception as e:  # a custom adapter's bug must not hide the rest
            log.warning("cachectl_asgi: store_info failed: %s", _one_line(e))
            store = None
        if store is not None:
            doc["store"] = store
        return _json_response(200, doc)

    def _open_events(self, params: Dict[str, bytes]) -> "_EventStream":
        match = params.get("match") or b"*"
        matcher = None if match == b"*" else self._glob(match)
        heartbeat = DEFAULT_HEARTBEAT_S
        raw = params.get("heartbeat")
        if raw:
            if not _TTL_RE.match(raw) or not 1 <= float(raw) <= 300:
                raise ProtocolError(400, "bad heartbeat: want 1 to 300 seconds")
            heartbeat = float(raw)
        if self._observed is None:
            try:
                self._observed = bool(self.adapter.observe(self._events.publish))
            except Exception as e:  # a custom adapter's bug: report this app's own writes only
                log.warning("cachectl_asgi: observe failed: %s", _one_line(e))
                self._observed = False
        sub = self._events.subscribe(matcher)
        if sub is None:
            raise ProtocolError(503, "too many event streams open (at most %d)" % MAX_SUBSCRIBERS, [("Retry-After", "5")])
        return _EventStream(sub, heartbeat)

    async def _stream(self, stream: "_EventStream", receive: Any, send: Any) -> None:
        """Sends events as they come, a comment when quiet, until the client leaves."""
        sub = stream.subscriber

        async def disconnected() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        gone = asyncio.ensure_future(disconnected())
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream"),
                        (b"cache-control", b"no-store"),
                        (b"x-content-type-options", b"nosniff"),
                        (b"cache-heartbeat", ("%g" % stream.heartbeat).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b": subscribed\n\n", "more_body": True})
            while not gone.done():
                waiter = asyncio.ensure_future(sub.ready.wait())
                done, _ = await asyncio.wait({waiter, gone}, timeout=stream.heartbeat, return_when=asyncio.FIRST_COMPLETED)
                if gone in done:
                    waiter.cancel()
                    break
                if sub.closing:
                    break
                if waiter in done:
                    body = sub.take()
                else:
                    waiter.cancel()
                    body = b": heartbeat\n\n"
                if body:
                    await send({"type": "http.response.body", "body": body, "more_body": True})
        except OSError:
            pass  # the client went away mid-write
        finally:
            sub.close()
            gone.cancel()

    def _glob(self, pattern: bytes) -> _Matcher:
        if len(pattern) > self.max_key:
            raise ProtocolError(400, "a match glob is longer than %d bytes" % self.max_key)
        return _Matcher(pattern)

    async def _list_keys(self, params: Dict[str, bytes]) -> _Response:
        pattern = params.get("match")
        matcher = self._glob(b"*" if pattern is None else pattern)
        raw_count = params.get("count")
        if raw_count is None or raw_count == b"":
            count = min(DEFAULT_COUNT, self.max_count)
        elif not _COUNT_RE.match(raw_count) or not 1 <= int(raw_count) <= self.max_count:
            raise ProtocolError(400, "bad count: want 1 to %d" % self.max_count)
        else:
            count = int(raw_count)
        sid, after = self._decode_cursor(params.get("cursor"))

        # Keys go out in byte order from the run's snapshot and the cursor
        # names the last key looked at, so a key present for the whole listing
        # is returned exactly once however the cache changes between pages,
        # and a run whose snapshot is gone goes on after that key.
        deadline = time.monotonic() + CHUNK_BUDGET_S
        prefixes = (matcher.prefix,) if matcher.prefix else ()
        snap = await self._run_snapshot(sid, prefixes, after, deadline)
        if snap.keys is None:  # still sorting: an empty page, the next goes on
            return _json_response(200, {"keys": [], "cursor": self._issue_cursor(snap, after)})
        keys = snap.keys
        i = snap.start(after)
        budget = count * SCAN_FACTOR
        page: List[bytes] = []
        last, looked = after, 0
        while i < len(keys) or snap.extend_to(i + 1024) > i:
            key = keys[i]
            i += 1
            looked += 1
            if after is None or key > after:  # a forged cursor may point past the keys merged so far
                last = key
                if matcher(key):
                    page.append(key)
            if len(page) == count or looked >= budget:
                break
        cursor = self._issue_cursor(snap, last) if snap.extend_to(i + 1) > i else ""

        items = []
        for k in page:
            entry = await self.adapter.get(k)
            if entry is None:
                continue  # gone since the snapshot
            item: Dict[str, Any] = {"key": _key_json(k), "ttl": _ttl_json(entry.ttl), "size": None}
            try:
                data, fmt = self.adapter.encode(entry.value)
            except Exception as e:  # one unserialisable value must not sink the page
                log.warning("cachectl_asgi: cannot serialise the value of %r: %s", k, _one_line(e))
            else:
                item["size"] = len(data)
                if fmt:
                    item["format"] = fmt
            items.append(item)
        return _json_response(200, {"keys": items, "cursor": cursor})

    async def _run_snapshot(
        self, sid: Optional[str], prefixes: Tuple[bytes, ...], after: Optional[bytes], deadline: float
    ) -> _Snapshot:
        """The snapshot a request continues in, built as far as ``deadline`` allows.

        A first request, or one whose snapshot is gone (expired, evicted, from
        another process or forged), gets a new snapshot of the keys after its
        cursor's key: no key is skipped, and keys added since are seen too."""
        snap = self._snapshots.get(sid) if sid else None
        if snap is None or not snap.covers(prefixes, after):
            keys, convert = await self.adapter._key_objects()
            snap = _Snapshot(prefixes, after, keys if isinstance(keys, list) else list(keys), convert)
        while not snap.build_step():
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(0)  # let the app's own requests in between steps
        return snap

    def _issue_cursor(self, snap: _Snapshot, last: Optional[bytes]) -> str:
        """The cursor to continue ``snap`` after ``last`` (None: from its start); keeps ``snap``."""
        self._snapshots.keep(snap)
        snap.serial += 1
        tail = base64.urlsafe_b64encode(last).decode("ascii").rstrip("=") if last else ""
        return "s%s.%d.%s" % (snap.id, snap.serial, tail)

    def _decode_cursor(self, raw: Optional[bytes]) -> Tuple[Optional[str], Optional[bytes]]:
        """(snapshot id or None, the last key visited or None) of a cursor; 400 for one not issued here."""
        if not raw:
            return None, None
        bad = ProtocolError(400, "bad cursor")
        if len(raw) > 2 * self.max_key + 40:
            raise bad
        if raw.startswith(_CURSOR_PREFIX.encode()):  # an earlier version's: the last key only
            sid, body = None, raw[1:]
            if not body:
                raise bad
        else:
            m = _SNAPSHOT_CURSOR.match(raw)
            if m is None:
                raise bad
            sid, body = m.group(1).decode("ascii"), m.group(3)
            if not body:
                return sid, None
        try:
            key = base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise bad from None
        if not key or base64.urlsafe_b64encode(key).rstrip(b"=") != body:
            raise bad
        return sid, key

    async def _stats(self) -> _Response:
        doc = dict(await self.adapter.stats())
        doc.setdefault("keys", 0)
        doc.setdefault("uptime_s", int(time.monotonic() - self._started))
        doc["version"] = self.server
        return _json_response(200, doc)

    async def _get_entry(self, params: Dict[str, bytes]) -> _Response:
        key = self._key(params)
        entry = await self.adapter.get(key)
        if entry is None:
            raise ProtocolError(404, "key not found", code=_NOT_FOUND)
        try:
            data, fmt = self.adapter.encode(entry.value)
        except Exception as e:
            log.warning("cachectl_asgi: cannot serialise the value of %r: %s", key, _one_line(e))
            raise ProtocolError(
                500, "cannot serialise the value (%s): %s" % (type(entry.value).__name__, _one_line(e))
            ) from None
        headers = [
            (b"content-type", b"application/octet-stream"),
            (b"content-length", str(len(data)).encode()),
            (b"cache-ttl", _ttl_text(entry.ttl).encode()),
            (b"cache-control", b"no-store"),
        ]
        if fmt:
            headers.append((b"cache-format", fmt.encode("ascii")))
        return _Response(200, headers, data)

    async def _put_entry(self, scope: dict, receive: Any, params: Dict[str, bytes]) -> _Response:
        key = self._key(params)
        ttl = self._ttl(params)
        if ttl is not None and "expire" not in self.adapter.capabilities:
            raise ProtocolError(403, "this cache has no expiry: store without a ttl")
        raw_format = _header(scope, b"cache-format")
        fmt = raw_format.decode("latin-1").strip().lower() if raw_format is not None else None
        fmt = fmt or None
        formats = self.adapter.formats
        if formats and fmt not in formats:
            hint = "one of " + ", ".join(formats)
            if fmt is None:
                raise ProtocolError(415, "Cache-Format is required: " + hint)
            extra = " (pickle writes are disabled: allow_pickle_writes=True enables them)" if fmt == "pickle" else ""
            raise ProtocolError(415, "Cache-Format %s is not stored here; use %s%s" % (fmt, hint, extra))
        body = await self._read_body(scope, receive)
        value = self.adapter.decode(body, fmt)
        await self.adapter.set(key, value, ttl)
        self._publish("set", key)
        return _no_content()

    async def _delete_entry(self, params: Dict[str, bytes]) -> _Response:
        key = self._key(params)
        deleted = await self.adapter.delete(key)
        if deleted:
            self._publish("del", key)
        return _json_response(200, {"deleted": 1 if deleted else 0})

    async def _expire(self, params: Dict[str, bytes]) -> _Response:
        key = self._key(params)
        ttl = self._ttl(params)
        if not await self.adapter.expire(key, ttl):
            raise ProtocolError(404, "key not found", code=_NOT_FOUND)
        self._publish("expire", key)
        return _no_content()

    async def _invalidate(self, scope: dict, receive: Any) -> _Response:
        # No HTML form can send a JSON body, and a cross-site script cannot without a preflight.
        ctype = (_header(scope, b"content-type") or b"").split(b";")[0].strip().lower()
        if ctype != b"application/json":
            raise ProtocolError(415, "the body must be sent as Content-Type: application/json")
        body = await self._read_body(scope, receive)
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise ProtocolError(400, "malformed JSON") from None
        if not isinstance(doc, dict):
            raise ProtocolError(400, 'want a JSON object {"match": [globs], "dry_run": bool}')
        globs = doc.get("match")
        if not isinstance(globs, list) or not globs:
            raise ProtocolError(400, "match must hold at least one glob")
        if len(globs) > MAX_GLOBS:
            raise ProtocolError(400, "match holds more than %d globs" % MAX_GLOBS)
        matchers = [self._glob(_key_from_json(g, "a match glob")) for g in globs]
        dry_run = doc.get("dry_run", False)
        if not isinstance(dry_run, bool):
            raise ProtocolError(400, "dry_run must be true or false")
        limit, cursor = doc.get("limit"), doc.get("cursor")
        if limit is None and not cursor:
            matched = deleted = 0
            for key in await self.adapter.keys():
                if any(m(key) for m in matchers):
                    matched += 1
                    if not dry_run and await self.adapter.delete(key):
                        deleted += 1
                        self._publish("del", key)
            return _json_response(200, {"matched": matched, "deleted": deleted, "cursor": ""})
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ProtocolError(400, "limit must be a positive number of keys")
        if cursor is not None and not isinstance(cursor, str):
            raise ProtocolError(400, "bad cursor")
        sid, after = self._decode_cursor(cursor.encode("utf-8") if cursor else None)
        return _json_response(200, await self._invalidate_chunk(matchers, dry_run, sid, after, limit))

    async def _invalidate_chunk(
        self, matchers: List[_Matcher], dry_run: bool, sid: Optional[str], after: Optional[bytes], limit: int
    ) -> Dict[str, Any]:
        """One bounded step: keys in byte order after ``after`` from the run's
        snapshot, at most ``limit`` deleted (matched, for a dry run) within
        CHUNK_BUDGET_S; the cursor names the last key visited, so a key present
        for the whole run is visited once. ``matched`` counts the keys that
        were there when visited (the snapshot may be older)."""
        deadline = time.monotonic() + CHUNK_BUDGET_S
        snap = await self._run_snapshot(sid, _prefix_filter(matchers), after, deadline)
        if snap.keys is None:  # still sorting: nothing done yet, the next step goes on
            return {"matched": 0, "deleted": 0, "cursor": self._issue_cursor(snap, after)}
        keys = snap.keys
        i = snap.start(after)
        budget = limit * SCAN_FACTOR
        matched = deleted = 0
        last, visited = after, 0
        while i < len(keys) or snap.extend_to(i + 1024) > i:
            key = keys[i]
            i += 1
            visited += 1
            if after is None or key > after:  # a forged cursor may point past the keys merged so far
                last = key
                if any(m(key) for m in matchers):
                    if dry_run:
                        if await self.adapter.get(key) is not None:
                            matched += 1
                    elif await self.adapter.delete(key):
                        matched += 1
                        deleted += 1
                        self._publish("del", key)
            done = (deleted if not dry_run else matched) >= limit
            if done or visited >= budget or (visited % 64 == 0 and time.monotonic() >= deadline):
                break
        cursor = self._issue_cursor(snap, last) if snap.extend_to(i + 1) > i else ""
        return {"matched": matched, "deleted": deleted, "cursor": cursor}


# --------------------------------------------------------------------------
# One socket per worker process
# --------------------------------------------------------------------------

#: The directory ``worker_socket`` serves in when it is given none.
WORKER_SOCKET_DIR_ENV = "CACHECTL_WORKER_SOCKET_DIR"

# Bounds of the worker socket's HTTP/1.1 server: a request head, its header
# lines, and how long a kept-alive connection may sit idle.
_MAX_HEAD = 64 * 1024
_MAX_HEADERS = 100
_IDLE_S = 60.0
_READ_S = 30.0
_BODY_CHUNK = 64 * 1024
_MAX_SUN_PATH = 107  # sockaddr_un.sun_path holds 108 bytes with the NUL

_REASONS = {
    200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 411: "Length Required", 413: "Payload Too Large",
    415: "Unsupported Media Type", 421: "Misdirected Request", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
}


def _socket_name() -> str:
    """``<hostname>-<pid>.sock``, the hostname reduced to safe characters."""
    host = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()) or "host"
    return "%s-%d.sock" % (host[:64], os.getpid())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def _refuses(path: str) -> bool:
    """Whether nobody listens on the socket at path (a dead worker's)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(path)
    except ConnectionRefusedError:
        return True
    except OSError:  # busy, gone, not ours to reach: not known to be dead
        return False
    finally:
        s.close()
    return False


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


class _BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class WorkerSocket:
    """Serves an ASGI app (a ``CachectlApp``) on a unix socket of this worker
    process, ``DIRECTORY/<hostname>-<pid>.sock``, while it is entered.

    An in-process cache exists once per worker: under ``uvicorn --workers 3``
    a request to the app's port reaches one worker, whichever the kernel picks.
    Each worker entering ``worker_socket`` in its lifespan is reachable on its
    own, and ``cachectl -u http+unix://DIRECTORY`` fans every command out to
    all of them (``?path=`` is not needed: the app is served at ``/``).

    The directory is created 0700 when missing; the socket is made ``mode``
    (0600; 0660 to let the group in) before it appears under its name, and
    removed on exit. Sockets left in the directory by dead processes of this
    host (same hostname; pid gone, or nobody listening: a restarted container
    reuses pids) are removed at start; cachectl reports any other socket that
    refuses as a dead worker. Nothing but sockets is ever removed.

    The server is a small HTTP/1.1 one on asyncio streams, for this app:
    ``Content-Length`` bodies only (chunked ones get 501), bounded heads,
    keep-alive with an idle timeout, one request at a time per connection.
    """

    def __init__(self, app: Any, directory: str, *, mode: int = 0o600, name: Optional[str] = None):
        if mode & 0o007:
            raise ValueError("the worker socket must not be open to every user (mode %o)" % mode)
        self.app = app
        self.directory = os.path.abspath(directory)
        self.mode = mode
        self.path = os.path.join(self.directory, name or _socket_name())
        if len(os.fsencode(self.path)) > _MAX_SUN_PATH:
            raise ValueError("the socket path %r is longer than a unix socket allows (%d bytes): use a shorter directory" % (self.path, _MAX_SUN_PATH))
        self._server: Optional[asyncio.AbstractServer] = None
        self._ident: Optional[Tuple[int, int]] = None
        self._conns: "set[asyncio.Task]" = set()

    async def __aenter__(self) -> "WorkerSocket":
        self._prepare_directory()
        self._clean_stale()
        sock = self._listen()
        try:
            self._server = await asyncio.start_unix_server(self._serve, sock=sock)
        except BaseException:
            sock.close()
            self._remove_own()
            raise
        log.info("cachectl_asgi: serving the cache on %s", self.path)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        close_streams = getattr(self.app, "close_streams", None)
        if callable(close_streams):
            close_streams()  # the TCP server's streams, which would hold its shutdown
        server, self._server = self._server, None
        if server is not None:
            server.close()
            for task in list(self._conns):
                task.cancel()
            await asyncio.gather(*self._conns, return_exceptions=True)
            await server.wait_closed()
        self._remove_own()

    def _prepare_directory(self) -> None:
        try:
            os.mkdir(self.directory, 0o700)
            os.chmod(self.directory, 0o700)  # whatever the umask
        except FileExistsError:
            st = os.stat(self.directory)
            if not stat.S_ISDIR(st.st_mode):
                raise NotADirectoryError("%s is not a directory" % self.directory)
            if st.st_mode & 0o002 and not st.st_mode & stat.S_ISVTX:
                log.warning("cachectl_asgi: %s is writable by every user; give the workers a directory of their own", self.directory)

    def _listen(self) -> socket.socket:
        """A listening socket at self.path, never seen there before it listens
        with its mode: bound under a temporary name (not ``*.sock``), then
        renamed into place, so a ``*.sock`` that refuses is a dead worker's."""
        tmp = os.path.join(self.directory, ".%s.%s.tmp" % (os.path.basename(self.path), secrets.token_hex(4)))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            try:
                # Linux gives the bound file this mode (less the umask): no
                # moment with a looser one, whatever the directory.
                os.fchmod(sock.fileno(), self.mode)
            except OSError:
                pass
            sock.bind(tmp)
            try:
                os.chmod(tmp, self.mode)
                sock.listen(100)
                st = os.lstat(tmp)
                os.rename(tmp, self.path)
            except BaseException:
                os.unlink(tmp)
                raise
        except BaseException:
            sock.close()
            raise
        self._ident = (st.st_dev, st.st_ino)
        return sock

    def _clean_stale(self) -> None:
        """Removes this host's sockets whose process is gone, or that refuse
        connections (their pid taken by another process since); refuses to
        take the place of a live one or of anything that is not a socket."""
        own_host = _socket_name().rsplit("-", 1)[0]
        for entry in os.listdir(self.directory):
            m = re.fullmatch(r"(.+)-(\d+)\.sock", entry)
            path = os.path.join(self.directory, entry)
            if m is None or m.group(1) != own_host or not _is_socket(path):
                continue
            if path == self.path or not _pid_alive(int(m.group(2))) or _refuses(path):
                try:
                    os.unlink(path)
                except (FileNotFoundError, PermissionError) as e:  # gone, or another user's
                    log.warning("cachectl_asgi: could not remove the stale socket %s: %s", path, e)
        if os.path.lexists(self.path):
            raise FileExistsError("%s exists and is not a stale socket; not replacing it" % self.path)

    def _remove_own(self) -> None:
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return
        if (st.st_dev, st.st_ino) == self._ident:  # still ours, not a newcomer's
            os.unlink(self.path)

    # -- HTTP/1.1 ------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._conns.add(task)
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _IDLE_S)
                except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
                    return
                except asyncio.LimitOverrunError:
                    await self._plain(writer, 431, "request head too large")
                    return
                try:
                    scope, length = self._scope(head)
                except _BadRequest as e:
                    await self._plain(writer, e.status, e.message)
                    return
                keep = await self._one(scope, length, reader, writer)
                if not keep:
                    return
        finally:
            writer.close()
            if task is not None:
                self._conns.discard(task)

    def _scope(self, head: bytes) -> Tuple[dict, int]:
        if len(head) > _MAX_HEAD:
            raise _BadRequest(431, "request head too large")
        lines = head[:-4].split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3 or parts[2] not in (b"HTTP/1.1", b"HTTP/1.0") or not parts[0].isalpha():
            raise _BadRequest(400, "malformed request line")
        method, target, version = parts
        if len(lines) - 1 > _MAX_HEADERS:
            raise _BadRequest(431, "too many header lines")
        headers: List[Tuple[bytes, bytes]] = []
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip() or any(c <= 0x20 or c == 0x7F for c in name):
                raise _BadRequest(400, "malformed header line")
            headers.append((name.lower(), value.strip()))
        names = [n for n, _ in headers]
        if b"transfer-encoding" in names:
            raise _BadRequest(501, "chunked request bodies are not supported; send Content-Length")
        if names.count(b"content-length") > 1:
            raise _BadRequest(400, "Content-Length given twice")
        length = 0
        for n, v in headers:
            if n == b"content-length":
                if not v.isdigit():
                    raise _BadRequest(400, "bad Content-Length")
                length = int(v)
        if not target.startswith(b"/"):
            raise _BadRequest(400, "the request target must be a path")
        raw_path, _, query = target.partition(b"?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": version[5:].decode(),
            "method": method.decode("ascii"),
            "scheme": "http",
            "path": unquote_to_bytes(raw_path).decode("utf-8", "replace"),
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": headers,
            "client": None,
            "server": None,
        }
        return scope, length

    async def _one(self, scope: dict, length: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Runs one request through the app; says whether to keep the connection."""
        left = length
        sent = False  # the body (perhaps empty) has been handed over
        closed = asyncio.Event()

        async def receive() -> dict:
            nonlocal left, sent
            if left > 0:
                try:
                    chunk = await asyncio.wait_for(reader.readexactly(min(left, _BODY_CHUNK)), _READ_S)
                except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
                    closed.set()
                    return {"type": "http.disconnect"}
                left -= len(chunk)
                sent = left == 0
                return {"type": "http.request", "body": chunk, "more_body": left > 0}
            if not sent:
                sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await closed.wait()  # ASGI: a receive after the body waits for the disconnect
            return {"type": "http.disconnect"}

        start: Dict[str, Any] = {}
        body: List[bytes] = []
        streaming: List[Any] = []  # the task noticing the client leave, once a body streams

        async def until_eof() -> None:
            try:
                while await reader.read(4096):
                    pass
            except ConnectionError:
                pass
            closed.set()

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if not streaming and not message.get("more_body", False):
                    body.append(chunk)
                    return
                # A streamed body (an event stream): the head goes now, without
                # a length; the body ends when the connection closes.
                out = []
                if not streaming:
                    streaming.append(asyncio.ensure_future(until_eof()))
                    status = int(start.get("status", 500))
                    out.append(b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, "Status").encode()))
                    out.extend(bytes(n).lower() + b": " + bytes(v) + b"\r\n" for n, v in start.get("headers", []))
                    out.append(b"connection: close\r\n\r\n")
                out.append(chunk)
                try:
                    writer.write(b"".join(out))
                    await writer.drain()
                except ConnectionError:
                    closed.set()
                    raise

        try:
            await self.app(scope, receive, send)
        except Exception:
            if not (streaming and closed.is_set()):
                log.exception("cachectl_asgi: the worker socket's app failed")
            if not start:
                await self._plain(writer, 500, "internal error")
            return False
        finally:
            for task in streaming:
                task.cancel()
        if streaming:
            return False
        if left > 0:  # the app did not read the whole body: it cannot be skipped safely
            keep = False
        else:
            keep = not any(n == b"connection" and v.lower() == b"close" for n, v in scope["headers"]) and scope["http_version"] == "1.1"
        status = int(start.get("status", 500))
        headers = [(bytes(n).lower(), bytes(v)) for n, v in start.get("headers", [])]
        data = b"".join(body)
        if status not in (204, 304) and not any(n == b"content-length" for n, _ in headers):
            headers.append((b"content-length", str(len(data)).encode()))
        if not keep:
            headers.append((b"connection", b"close"))
        out = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, "Status").encode())]
        out.extend(n + b": " + v + b"\r\n" for n, v in headers)
        out.append(b"\r\n")
        if scope["method"] != "HEAD":
            out.append(data)
        try:
            writer.write(b"".join(out))
            await writer.drain()
        except ConnectionError:
            return False
        return keep

    @staticmethod
    async def _plain(writer: asyncio.StreamWriter, status: int, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        try:
            writer.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
                % (status, _REASONS.get(status, "Status").encode(), len(body), body)
            )
            await writer.drain()
        except ConnectionError:
            pass


class _NoSocket:
    """What ``worker_socket`` gives when no directory is set: nothing served."""

    path = None

    async def __aenter__(self) -> "_NoSocket":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        return None


def worker_socket(app: Any, directory: Optional[str] = None, *, mode: int = 0o600) -> Any:
    """An async context manager serving ``app`` on this worker's own socket
    in ``directory`` (see ``WorkerSocket``), for the app's lifespan:

        async with worker_socket(cache_app):   # CACHECTL_WORKER_SOCKET_DIR
            yield

    Without ``directory`` it takes ``$CACHECTL_WORKER_SOCKET_DIR``; when that
    is unset or empty it serves nothing, so the same code runs everywhere.
    """
    if directory is None:
        directory = os.environ.get(WORKER_SOCKET_DIR_ENV, "")
    if not directory:
        return _NoSocket()
    return WorkerSocket(app, directory, mode=mode)
