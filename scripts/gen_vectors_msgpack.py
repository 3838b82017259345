#!/usr/bin/python3
"""Golden vectors for internal/serial's msgpack codec and decompression.

Run with Debian's Python (python3-msgpack 1.0.3; python3-lz4, python3-snappy,
python3-zstandard for the compression vectors):

    /usr/bin/python3 scripts/gen_vectors_msgpack.py [OUTDIR]

OUTDIR defaults to internal/serial/testdata/vectors. Output is deterministic.

msgpack.jsonl, one object per line:
  {"name", "hex", "json"}           hex is one msgpack object; json is the
                                    Value->JSON mapping of README "JSON output"
                                    (internal/serial/value/jsonmap.go), computed here
                                    from what msgpack.unpackb returns, as
                                    compact JSON exactly as ToJSON writes it
  "encode": true                    also msgpack.packb(json.loads(json),
                                    use_bin_type=True) == bytes.fromhex(hex):
                                    EncodeMsgpack must write hex from that JSON
  {"name", "hex", "error": true}    msgpack.unpackb refuses hex (truncated,
                                    trailing data, reserved byte 0xc1, ...)

Where cachectl deliberately differs from unpackb's defaults the mapping
follows cachectl (documented in msgpack.go): ext type -1 (msgpack.Timestamp)
stays an ext {"$ext": -1, "data": ...} with its wire bytes; a str whose bytes
are not UTF-8 (unpackb raises) is bytes, computed here with raw=True.

compress.jsonl: {"name", "codec", "hex", "inner_hex", "auto"}: hex inflates
to inner_hex with codec; auto false marks raw snappy blocks, which
Decompress must not recognise (only DecompressAs(..., "snappy")).
"""

import base64
import gzip
import json
import math
import os
import pickle
import struct
import sys
import zlib

import msgpack

RESERVED = {"$bytes", "$dict", "$class", "$args", "$state", "$ext", "$ref", "$truncated"}


# ---- the Value -> JSON mapping, written independently of the Go code ----

def js_str(s):
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif o < 0x20 or o == 0x7F or 0x80 <= o <= 0x9F or 0x200B <= o <= 0x200F \
                or 0x202A <= o <= 0x202E or 0x2066 <= o <= 0x2069 or o in (0x2028, 0x2029, 0xFEFF):
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def js(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return '"NaN"'
        if math.isinf(v):
            return '"Infinity"' if v > 0 else '"-Infinity"'
        return repr(v)
    if isinstance(v, str):
        return js_str(v)
    if isinstance(v, (bytes, bytearray)):
        return '{"$bytes":' + js_str(base64.b64encode(v).decode()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(js(x) for x in v) + "]"
    if isinstance(v, dict):
        if all(isinstance(k, str) and k not in RESERVED for k in v):
            return "{" + ",".join(js_str(k) + ":" + js(x) for k, x in v.items()) + "}"
        return '{"$dict":[' + ",".join("[" + js(k) + "," + js(x) + "]" for k, x in v.items()) + "]}"
    if isinstance(v, (msgpack.ExtType, Ext)):
        return '{"$ext":%d,"data":%s}' % (v.code, js_str(base64.b64encode(v.data).decode()))
    if isinstance(v, msgpack.Timestamp):
        return '{"$ext":-1,"data":%s}' % js_str(base64.b64encode(v.to_bytes()).decode())
    raise TypeError(type(v))


def undecodable_str_as_bytes(v):
    """After unpackb(raw=True): str-family bytes that are UTF-8 become str."""
    if isinstance(v, bytes):
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            return v
    if isinstance(v, list):
        return [undecodable_str_as_bytes(x) for x in v]
    if isinstance(v, dict):
        return {undecodable_str_as_bytes(k): undecodable_str_as_bytes(x) for k, x in v.items()}
    return v


# ---- msgpack vectors ----

class Ext:
    """What ext_hook returns: msgpack.ExtType refuses the negative codes."""

    def __init__(self, code, data):
        self.code, self.data = code, data


def unpack(b, raw=False):
    return msgpack.unpackb(b, raw=raw, strict_map_key=False, ext_hook=Ext)


def H(s):
    return bytes.fromhex(s.replace(" ", ""))


def pk(o):
    return msgpack.packb(o, use_bin_type=True)


def msgpack_cases():
    c = []
    add = lambda name, b, raw=False: c.append((name, b, raw))
    # nil, bool
    add("nil", pk(None))
    add("true", pk(True))
    add("false", pk(False))
    # ints, every width, at their edges (packb picks the smallest form)
    for n in [0, 1, 31, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1,
              -1, -32, -33, -128, -129, -32768, -32769, -2**31, -2**31 - 1, -2**63]:
        add("int/%d" % n, pk(n))
    # wider forms than needed (other encoders write them)
    add("int/uint8 5", H("cc 05"))
    add("int/uint16 5", H("cd 0005"))
    add("int/uint32 5", H("ce 00000005"))
    add("int/uint64 5", H("cf 0000000000000005"))
    add("int/int8 5", H("d0 05"))
    add("int/int16 -1", H("d1 ffff"))
    add("int/int32 -1", H("d2 ffffffff"))
    add("int/int64 1", H("d3 0000000000000001"))
    add("int/int64 -1", H("d3 ffffffffffffffff"))
    # floats: packb always writes float 64; float 32 by struct
    for f in [0.0, -0.0, 1.0, 1.5, 0.1, -2.5, 1e16, 1e-7, 123456789.125, 1.7976931348623157e308, 5e-324,
              float("nan"), float("inf"), float("-inf")]:
        add("float64/%r" % f, pk(f))
    for f in [0.0, -0.0, 1.5, 0.1, 3.4028234663852886e38, float("inf"), float("nan"), 1e-45]:
        add("float32/%r" % f, b"\xca" + struct.pack(">f", f))
    # str: fixstr, str 8/16/32, and wider forms than needed
    for n in [0, 1, 31, 32, 255, 256, 65536]:
        add("str/len %d" % n, pk(("abcdefghij" * 6554)[:n]))
    add("str/utf8", pk("h\u00e9llo \u4e16\u754c \U0001f600"))
    add("str/controls", pk("a\x00b\x1b[31m\x7f\u0085\u202e\u2028\ufeff\"\\\n\t"))
    add("str/str8 'ab'", H("d9 02 6162"))
    add("str/str16 'ab'", H("da 0002 6162"))
    add("str/str32 'ab'", H("db 00000002 6162"))
    add("str/cyrillic", pk("\u0414"))
    # str bytes that are not UTF-8: msgpack < 1.0 (use_bin_type=False) wrote bytes so
    add("str/not utf-8 (old msgpack bytes)", msgpack.packb(b"\x00\xff\xfe", use_bin_type=False), True)
    add("str/not utf-8 in list", msgpack.packb([b"ok", b"\xc3\x28"], use_bin_type=False), True)
    # bin 8/16/32
    for n in [0, 1, 3, 255, 256, 65536]:
        add("bin/len %d" % n, pk(bytes(i % 256 for i in range(n))))
    add("bin/bin32 short", H("c6 00000003 00ff10"))
    add("bin/bin16 short", H("c5 0002 0102"))
    # arrays
    for n in [0, 1, 15, 16, 65536]:
        add("array/len %d" % n, pk([i % 128 for i in range(n)]))
    add("array/array16 of 2", H("dc 0002 01 02"))
    add("array/array32 of 2", H("dd 00000002 c0 c3"))
    add("array/tuple", pk((1, "a", b"b", None)))
    nested = 1
    for _ in range(100):
        nested = [nested]
    add("array/nested 100", pk(nested))
    # maps
    add("map/empty", pk({}))
    add("map/fixmap 15", pk({"k%02d" % i: i for i in range(15)}))
    add("map/map16 16", pk({"k%02d" % i: i for i in range(16)}))
    add("map/map16 100", pk({"k%03d" % i: [i, str(i)] for i in range(100)}))
    add("map/map16 of 1", H("de 0001 a161 01"))
    add("map/map32 of 1", H("df 00000001 a161 01"))
    add("map/int keys", pk({1: "a", 2: "b", -5: "c", 2**40: "d"}))
    add("map/mixed keys", pk({"s": 1, b"b": 2, 3: 3, None: 4, True: 5, 1.5: 6}))
    add("map/bytes keys", pk({b"content-type": b"text/html"}))
    add("map/reserved key", pk({"$bytes": "AA=="}))
    add("map/duplicate key", H("83 a161 01 a162 02 a161 03"))
    add("map/nested", pk({"a": {"b": {"c": [1, {"d": None}]}}, "e": []}))
    add("map/aiocache mp:m", H("84 a161 01 a162 92 01 02 a163 a3 737472 a164 c4 02 0102"))
    # ext, every width, and the timestamp type -1
    for n, t in [(1, 1), (2, 127), (4, 0), (8, 5), (16, 42), (0, 3), (3, 4), (255, 5), (256, 6)]:
        add("ext/type %d len %d" % (t, n), pk(msgpack.ExtType(t, bytes(i % 251 for i in range(n)))))
    # negative types are reserved for the spec (ExtType refuses them); -1 is the timestamp
    add("ext/type -128", H("d6 80 01020304"))
    add("ext/type -2", H("d4 fe 00"))
    add("ext/ext8 of fixext size", H("c7 01 05 aa"))
    add("ext/ext32 short", H("c9 00000002 7f 0102"))
    add("timestamp/32", pk(msgpack.Timestamp(1700000000, 0)))
    add("timestamp/64", pk(msgpack.Timestamp(1700000000, 123456789)))
    add("timestamp/96", pk(msgpack.Timestamp(-62135596800, 1)))
    add("timestamp/96 far", pk(msgpack.Timestamp(2**40, 999999999)))
    # Litestar (msgspec-written) values, from reference/python-cache-formats.md
    add("litestar/storage object", H("82 aa 657870697265735f6174 d7ff a1dcd420 67760225 a4 64617461 c4 05 68656c6c6f"))
    add("litestar/response 13 bytes", H(
        "92 83 a4 74797065 b3 687474702e726573706f6e73652e7374617274 a6 737461747573 cc c8"
        " a7 68656164657273 92 92 c40c 636f6e74656e742d74797065 c410 6170706c69636174696f6e2f6a736f6e"
        " 92 c40e 636f6e74656e742d6c656e677468 c402 3133"
        " 83 a4 74797065 b2 687474702e726573706f6e73652e626f6479 a4 626f6479 c40d 7b2268656c6c6f223a2277227d"
        " a9 6d6f72655f626f6479 c2"))
    add("litestar/response (packb)", pk([
        {"type": "http.response.start", "status": 200, "headers": [[b"content-type", b"application/json"]]},
        {"type": "http.response.body", "body": b"{}"}]))
    # JSON-like documents (encode vectors)
    doc = {"id": 12345, "name": "Ada Lovelace", "email": "ada@example.com", "active": True, "score": 98.5,
           "tags": ["math", "poetry"], "address": {"city": "London", "zip": None}, "big": 2**64 - 1,
           "neg": -2**63, "ratio": 0.1, "unicode": "\u00e9\u4e16\U0001f600", "empty": {}, "list": []}
    add("doc/user", pk(doc))
    add("doc/list of records", pk([{"id": i, "name": "user%d" % i, "ok": i % 2 == 0, "v": i * 0.5} for i in range(20)]))
    return c


def msgpack_errors():
    return [
        ("truncated/empty", b""),
        ("truncated/uint16", H("cd 00")),
        ("truncated/str", H("a5 6162")),
        ("truncated/array", H("93 01 02")),
        ("truncated/map value", H("81 a161")),
        ("truncated/ext header", H("c7 05")),
        ("truncated/fixext", H("d6 01 0102")),
        ("reserved byte c1", H("c1")),
        ("trailing data", H("01 02")),
        ("trailing data after map", H("80 80")),
        ("array32 claims 4e9 elements", H("dd ee6b2800")),
        ("map32 claims 2^32-1 pairs", H("df ffffffff 01")),
        ("str32 claims 4 GiB", H("db ffffffff 61")),
        ("bin32 claims 4 GiB", H("c6 ffffffff 00")),
        ("ext32 claims 4 GiB", H("c9 ffffffff 01 00")),
    ]


def msgpack_lines():
    lines = []
    for name, b, raw in msgpack_cases():
        if raw:
            try:
                unpack(b)
                raise SystemExit("%s: expected unpackb to refuse a str that is not UTF-8" % name)
            except UnicodeDecodeError:
                pass
            obj = undecodable_str_as_bytes(unpack(b, raw=True))
        else:
            obj = unpack(b)
        text = js(obj)
        line = {"name": name, "hex": b.hex(), "json": text}
        try:
            if pk(json.loads(text)) == b:
                line["encode"] = True
        except (OverflowError, ValueError, TypeError):
            pass
        lines.append(line)
    for name, b in msgpack_errors():
        try:
            unpack(b)
        except Exception:
            lines.append({"name": "error/" + name, "hex": b.hex(), "error": True})
        else:
            raise SystemExit("%s: unpackb accepted it" % name)
    return lines


# ---- compression vectors ----

def crc32c(data):
    """CRC-32C (Castagnoli), for python-snappy's framing: Debian's
    python3-snappy 0.5.3 on Python 3.11 fails in its C crc32c (PY_SSIZE_T_CLEAN)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def compress_lines():
    import lz4.frame
    import snappy
    import snappy.snappy as snappy_impl
    import zstandard

    snappy_impl._crc32c = crc32c

    record = {"id": 7, "user": "ada", "roles": ["admin", "dev"], "active": True, "score": 1.5,
              "bio": "x" * 40 + " lorem ipsum dolor sit amet " * 6}
    inners = [
        ("json", json.dumps(record).encode()),
        ("msgpack", pk(record)),
        ("pickle", pickle.dumps(record, protocol=4)),
        ("empty", b""),
    ]
    lines = []

    def add(name, codec, blob, inner, auto=True):
        line = {"name": name, "codec": codec, "hex": blob.hex(), "inner_hex": inner.hex()}
        if not auto:
            line["auto"] = False
        lines.append(line)

    for iname, inner in inners:
        for lvl in (1, 6, 9):
            add("gzip/level %d/%s" % (lvl, iname), "gzip", gzip.compress(inner, compresslevel=lvl, mtime=0), inner)
        for lvl in (1, 2, 6, 9):
            add("zlib/level %d/%s" % (lvl, iname), "zlib", zlib.compress(inner, lvl), inner)
        add("zstd/level 3/%s" % iname, "zstd", zstandard.ZstdCompressor(level=3).compress(inner), inner)
        add("zstd/level 19 checksum/%s" % iname, "zstd",
            zstandard.ZstdCompressor(level=19, write_checksum=True).compress(inner), inner)
        add("zstd/no content size/%s" % iname, "zstd",
            zstandard.ZstdCompressor(level=3, write_content_size=False).compress(inner), inner)
        add("lz4/default/%s" % iname, "lz4", lz4.frame.compress(inner), inner)
        add("lz4/checksums independent/%s" % iname, "lz4",
            lz4.frame.compress(inner, content_checksum=True, block_checksum=True, block_linked=False,
                               store_size=False), inner)
        add("snappy/framed/%s" % iname, "snappy", snappy.StreamCompressor().compress(inner), inner)
        add("snappy/raw/%s" % iname, "snappy", snappy.compress(inner), inner, auto=False)
    big = json.dumps([record] * 400).encode()  # ~100 KB: more than one 64 KiB block or chunk
    add("gzip/level 6/big json", "gzip", gzip.compress(big, mtime=0), big)
    add("zlib/level 6/big json", "zlib", zlib.compress(big), big)
    add("zstd/level 3/big json", "zstd", zstandard.ZstdCompressor(level=3).compress(big), big)
    add("lz4/default/big json", "lz4", lz4.frame.compress(big), big)
    add("snappy/framed/big json", "snappy", snappy.StreamCompressor().compress(big), big)
    add("snappy/raw/big json", "snappy", snappy.compress(big), big, auto=False)
    for name, codec, blob, inner in [(l["name"], l["codec"], bytes.fromhex(l["hex"]), bytes.fromhex(l["inner_hex"]))
                                     for l in lines]:
        got = {"gzip": gzip.decompress, "zlib": zlib.decompress, "zstd": zstandard.ZstdDecompressor().decompressobj().decompress,
               "lz4": lz4.frame.decompress}.get(codec)
        if got is not None and got(blob) != inner:
            raise SystemExit("%s does not round-trip" % name)
    return lines


def write(path, lines):
    with open(path, "w") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=True, separators=(", ", ": ")) + "\n")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "internal", "serial",
                                                             "testdata", "vectors")
    os.makedirs(out, exist_ok=True)
    write(os.path.join(out, "msgpack.jsonl"), msgpack_lines())
    write(os.path.join(out, "compress.jsonl"), compress_lines())


if __name__ == "__main__":
    main()
