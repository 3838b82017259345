#!/usr/bin/python3
"""Cached HTTP responses, as Python web frameworks store them, for the tests of
internal/httpresp. Run with Debian's Python (python3-django 3.2,
python3-msgpack, python3-brotli):

    /usr/bin/python3 scripts/gen-http-vectors.py [OUTDIR]

OUTDIR defaults to internal/httpresp/testdata. Output is deterministic, and
TestVectorsUpToDate regenerates it and compares with the committed files.
Section numbers refer to reference/python-cache-formats.md.

Django responses are the real classes (Django 3.2, pickled as its cache
backends do, section 4.4). Litestar >= 2.2 values are the ASGI messages its
response cache stores (section 2.2), packed with msgpack-python, which writes
the same bytes as msgspec for these types. Litestar 2.0-2.1 and Starlite 1.x
values are pickles of stand-in classes that carry the real module, class name
and __slots__ (sections 2.2 and 2.3), so the pickle bytes have the real shape
without installing those frameworks. asgi-caches entries are json.dumps of
the dict asgi-caches 0.3.1 builds (section 3.2).
"""
import base64
import dataclasses
import functools
import gzip
import json
import os
import pickle
import sys
import types

import brotli
import msgpack

here = os.path.dirname(os.path.abspath(__file__))
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "internal", "httpresp", "testdata")
os.makedirs(out, exist_ok=True)


def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


# ---- Django (section 4.4) ----

import django
from django.conf import settings

settings.configure(
    DEFAULT_CHARSET="utf-8",
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
)
django.setup()

from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.gzip import GZipMiddleware
from django.template import engines
from django.template.response import SimpleTemplateResponse
from django.utils.cache import patch_vary_headers

EXPIRES = "Sun, 22 Nov 2026 18:47:07 GMT"  # fixed: patch_response_headers would use the clock


def cache_headers(resp, max_age=120):
    # What UpdateCacheMiddleware adds (patch_response_headers), with a fixed Expires.
    resp["Expires"] = EXPIRES
    resp["Cache-Control"] = "max-age=%d" % max_age
    return resp


def django_pickle(resp):
    # django.core.cache.backends.redis / memcached: pickle.dumps(value, HIGHEST_PROTOCOL)
    return pickle.dumps(resp, pickle.HIGHEST_PROTOCOL)


r = HttpResponse("<!doctype html>\n<p>Hello, café</p>\n", content_type="text/html; charset=utf-8")
patch_vary_headers(r, ["Accept-Encoding", "Cookie"])
cache_headers(r)
r.set_cookie("theme", "dark mode", path="/", samesite="Lax", httponly=True)
write("django-html.pickle", django_pickle(r))

r = JsonResponse({"ok": True, "items": [1, 2, 3], "name": "widget"})
patch_vary_headers(r, ["Accept-Encoding"])
cache_headers(r, 60)
write("django-json.pickle", django_pickle(r))


class _Req:
    META = {"HTTP_ACCEPT_ENCODING": "gzip, deflate"}


r = HttpResponse(("line of text %d\n" % i for i in range(40)), content_type="text/plain; charset=utf-8")
r = GZipMiddleware(lambda req: r).process_response(_Req(), r)
assert r["Content-Encoding"] == "gzip", r.items()
cache_headers(r)
write("django-gzip.pickle", django_pickle(r))

# status_code is a class attribute here: the pickle has no status_code.
r = HttpResponseRedirect("/login/?next=/items")
write("django-redirect.pickle", django_pickle(r))

r = SimpleTemplateResponse(engines["django"].from_string("<ul>{% for i in items %}<li>{{ i }}</li>{% endfor %}</ul>"), {"items": ["a", "b"]})
r.render()
cache_headers(r)
write("django-template.pickle", django_pickle(r))


# ---- Litestar >= 2.2 (section 2.2): msgpack of the ASGI messages ----

def litestar(status, headers, bodies):
    msgs = [{"type": "http.response.start", "status": status, "headers": [list(h) for h in headers]}]
    for i, b in enumerate(bodies):
        msgs.append({"type": "http.response.body", "body": b, "more_body": i < len(bodies) - 1})
    return msgpack.packb(msgs, use_bin_type=True)


# The 13-byte JSON response of section 2.2, byte for byte.
ref = bytes.fromhex(
    "92 83 a4 74 79 70 65 b3 68 74 74 70 2e 72 65 73 70 6f 6e 73 65 2e 73 74 61 72 74 a6 73 74 61 74 75 73 cc c8 a7 68 65 61 64 65 72 73 92 92 c4 0c "
    "63 6f 6e 74 65 6e 74 2d 74 79 70 65 c4 10 61 70 70 6c 69 63 61 74 69 6f 6e 2f 6a 73 6f 6e 92 c4 0e 63 6f 6e 74 65 6e 74 2d 6c 65 6e 67 74 68 c4 "
    "02 31 33 83 a4 74 79 70 65 b2 68 74 74 70 2e 72 65 73 70 6f 6e 73 65 2e 62 6f 64 79 a4 62 6f 64 79 c4 0d 7b 22 68 65 6c 6c 6f 22 3a 22 77 22 7d "
    "a9 6d 6f 72 65 5f 62 6f 64 79 c2 "
)
doc = litestar(200, [(b"content-type", b"application/json"), (b"content-length", b"13")], [b'{"hello":"w"}'])
assert doc == ref, doc.hex()
write("litestar-json.msgpack", doc)

items = json.dumps([{"id": i, "name": "item %d" % i} for i in range(20)], separators=(",", ":")).encode()
gz = gzip.compress(items, mtime=0)
write("litestar-gzip.msgpack", litestar(200, [
    (b"content-type", b"application/json"), (b"content-encoding", b"gzip"), (b"vary", b"accept-encoding"),
    (b"content-length", str(len(gz)).encode())], [gz]))

page = ("<html><body>" + "<p>brotli compressed page</p>" * 30 + "</body></html>").encode()
br = brotli.compress(page)
write("litestar-br.msgpack", litestar(200, [
    (b"content-type", b"text/html; charset=utf-8"), (b"content-encoding", b"br"), (b"vary", b"accept-encoding"),
    (b"content-length", str(len(br)).encode())], [br]))

# A Stream response: one message per chunk, then an empty last one.
write("litestar-stream.msgpack", litestar(200, [(b"content-type", b"text/plain; charset=utf-8")],
                                          [b"chunk one\n", b"chunk two\n", b""]))


# ---- stand-in classes with the real module and class names ----

def module(name):
    """Registers an empty module (and its parents) so pickle finds classes there."""
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        n = ".".join(parts[:i])
        if n not in sys.modules:
            sys.modules[n] = types.ModuleType(n)
            if i > 1:
                setattr(sys.modules[".".join(parts[:i - 1])], parts[i - 1], sys.modules[n])
    return sys.modules[name]


def place(cls, modname):
    m = module(modname)
    cls.__module__ = modname
    cls.__qualname__ = cls.__name__
    setattr(m, cls.__name__, cls)
    return cls


# Litestar 2.0.0-2.1.x (section 2.2): litestar.response.base.ASGIResponse, slotted;
# pickled with HIGHEST_PROTOCOL by litestar/routes/http.py.
class ASGIResponse:
    __slots__ = ("background", "body", "content_length", "encoded_headers", "encoding", "is_head_response", "status_code")


place(ASGIResponse, "litestar.response.base")
a = ASGIResponse()
a.background = None
a.body = b'{"hello":"w"}'
a.content_length = 13
a.encoded_headers = [(b"content-type", b"application/json"), (b"content-length", b"13")]
a.encoding = "utf-8"
a.is_head_response = False
a.status_code = 200
write("litestar20.pickle", pickle.dumps(a, pickle.HIGHEST_PROTOCOL))


# Starlite 1.51 (section 2.3): starlite.response.base.Response, slotted; the
# headers, cookies and media type become wire headers only when it is sent.
class Response:
    __slots__ = ("background", "body", "cookies", "encoding", "headers", "is_head_response", "is_text_response",
                 "media_type", "status_allows_body", "status_code", "raw_headers", "_enc_hook")


@dataclasses.dataclass
class Cookie:
    key: str
    value: str = None
    max_age: int = None
    expires: int = None
    path: str = "/"
    domain: str = None
    secure: bool = False
    httponly: bool = False
    samesite: str = "lax"
    description: str = None
    documentation_only: bool = False


def default_serializer(value, type_encoders=None):
    raise TypeError


place(Response, "starlite.response.base")
place(Cookie, "starlite.datastructures.cookie")
place(default_serializer, "starlite.utils.serialization")


def starlite(status, media_type, body, headers=None, cookies=None):
    s = Response()
    s.background = None
    s.body = body
    s.cookies = cookies or []
    s.encoding = "utf-8"
    s.headers = headers or {}
    s.is_head_response = False
    s.is_text_response = media_type.startswith("text/")
    s.media_type = media_type
    s.status_allows_body = True
    s.status_code = status
    s.raw_headers = []
    s._enc_hook = functools.partial(default_serializer, type_encoders=None)
    return s


s = starlite(200, "application/json", b'{"id":1,"tags":["a","b"]}', headers={"ETag": '"v1"', "Cache-Control": "max-age=60"},
             cookies=[Cookie(key="seen", value="1", httponly=True)])
inner = pickle.dumps(s, pickle.HIGHEST_PROTOCOL)
write("starlite.pickle", inner)  # RedisCacheBackend: the pickle as is
# MemcachedCacheBackend: config.serialize (pickle.dumps, default protocol) of the pickle bytes.
write("starlite-memcached.pickle", pickle.dumps(inner))
write("starlite-text.pickle", pickle.dumps(starlite(201, "text/plain", b"created\n"), pickle.HIGHEST_PROTOCOL))


# ---- asgi-caches 0.3.1 (section 3.2) ----

def asgi_caches(body, status, headers):
    return json.dumps({"content": base64.encodebytes(body).decode("ascii"), "status_code": status, "headers": headers}).encode()


write("asgi-caches.json", asgi_caches(b'{"hello":"world"}', 200, {
    "content-length": "17", "content-type": "application/json", "vary": "Accept-Encoding",
    "cache-control": "max-age=60", "expires": "Sun, 22 Nov 2026 18:48:55 GMT"}))
long_body = ("<p>" + "asgi-caches splits base64 every 76 characters. " * 4 + "</p>").encode()
write("asgi-caches-html.json", asgi_caches(long_body, 200, {
    "content-type": "text/html; charset=utf-8", "content-length": str(len(long_body))}))
