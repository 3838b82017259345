#!/usr/bin/python3
"""Golden vectors for cachectl's pickle decoder (internal/serial/pickle).

Pickles a corpus of Python values with every protocol (0-5) that can pickle
them, and writes one JSON line per pickle:

    {"name": "...", "protocol": N, "hex": "<pickle bytes>", "json": <expected>}

The expected JSON is computed here from the Python objects, independently of
the Go decoder: natural types by their own methods (isoformat(), str()), other
objects from what __reduce_ex__(protocol) returns, which is what the pickle
holds. Run it with Debian's Python (the stdlib zoneinfo reads the system
tz database, as the Go side does):

    /usr/bin/python3 scripts/gen_vectors_pickle.py            # rewrite the vectors
    /usr/bin/python3 scripts/gen_vectors_pickle.py -o FILE    # write elsewhere
    /usr/bin/python3 scripts/gen_vectors_pickle.py --bench FILE   # a ~10 MB protocol 4 pickle

The output is deterministic: string hashing is fixed (set order depends on it)
and every value is a constant.
"""

import os
import sys

if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import argparse
import base64
import collections
import copyreg
import dataclasses
import datetime
import decimal
import enum
import json
import math
import pickle
import types
import uuid
import zoneinfo
import _compat_pickle

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "internal", "serial", "testdata", "vectors", "pickle.jsonl")

# ---- classes of an application module, "app.models" ----

app = types.ModuleType("app")
models = types.ModuleType("app.models")
app.models = models
sys.modules["app"] = app
sys.modules["app.models"] = models

exec(
    '''
import collections, dataclasses, datetime, enum

@dataclasses.dataclass
class User:
    id: int
    name: str
    tags: list

@dataclasses.dataclass(slots=True)
class Point:
    x: int
    y: int

@dataclasses.dataclass(frozen=True, slots=True)
class FrozenPoint:
    x: int
    y: int

Pair = collections.namedtuple("Pair", "left right")

class Color(enum.Enum):
    RED = 1
    GREEN = "green"

class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2

class Plain:
    def __init__(self):
        self.a = 1
        self.b = [1, 2]

class Stateful:
    def __init__(self, v):
        self.v = v
    def __getstate__(self):
        return ("v", self.v)
    def __setstate__(self, state):
        self.v = state[1]

class Slotted:
    __slots__ = ("a", "b")
    def __init__(self):
        self.a = 1
        self.b = "two"

class KwOnly:
    def __new__(cls, *, size):
        self = object.__new__(cls)
        self.size = size
        return self
    def __getnewargs_ex__(self):
        return ((), {"size": self.size})

class Outer:
    class Inner:
        def __init__(self):
            self.n = 1

class AttrDict(dict):
    pass

class Stack(list):
    pass

class Node:
    def __init__(self, name):
        self.name = name
        self.parent = None
        self.children = []

class Fixed(datetime.tzinfo):
    def __init__(self, minutes=0):
        self.minutes = minutes
    def utcoffset(self, dt):
        return datetime.timedelta(minutes=self.minutes)
    def dst(self, dt):
        return datetime.timedelta(0)
    def tzname(self, dt):
        return "FIXED"

def make_response():
    return "response"
''',
    models.__dict__,
)
models.__name__ = "app.models"

# ---- a stand-in for pytz: the same reduce shapes as pytz's tzinfo classes ----

pytz = types.ModuleType("pytz")
sys.modules["pytz"] = pytz
exec(
    '''
import datetime

def _p(*args):
    raise RuntimeError("not loaded in this script")

def _UTC():
    return utc

class UTC(datetime.tzinfo):
    zone = "UTC"
    def utcoffset(self, dt): return datetime.timedelta(0)
    def dst(self, dt): return datetime.timedelta(0)
    def tzname(self, dt): return "UTC"
    def __reduce__(self): return _UTC, ()

utc = UTC()

class DstTzInfo(datetime.tzinfo):
    """A localized pytz zone: __reduce__ as pytz.tzinfo.DstTzInfo's."""
    def __init__(self, zone, utcoffset, dst, tzname):
        self.zone, self._utcoffset, self._dst, self._tzname = zone, utcoffset, dst, tzname
    def utcoffset(self, dt): return datetime.timedelta(seconds=self._utcoffset)
    def dst(self, dt): return datetime.timedelta(seconds=self._dst)
    def tzname(self, dt): return self._tzname
    def __reduce__(self): return _p, (self.zone, self._utcoffset, self._dst, self._tzname)
''',
    pytz.__dict__,
)
pytz.__name__ = "pytz"

M = models
UTC = datetime.timezone.utc
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
NY = zoneinfo.ZoneInfo("America/New_York")
DT = datetime.datetime
TD = datetime.timedelta


def corpus():
    """(name, value, min protocol) for every vector."""
    v = []

    def add(name, value, min_proto=0):
        v.append((name, value, min_proto))

    # scalars
    add("none", None)
    add("true", True)
    add("false", False)
    for n in (0, 1, 255, 256, 65535, 65536, -1, -256, 2**31 - 1, -(2**31), 2**31, -(2**31) - 1,
              2**63 - 1, -(2**63), 2**63, 2**64, -(2**64), 10**40, -(10**40), 2**127, 3**1000):
        add("int %d" % n if abs(n) < 10**20 else "int big %s" % str(n)[:12], n)
    for f in (0.0, -0.0, 1.5, -2.25, 0.1, 1e16, 1e-7, 1.7976931348623157e308, 5e-324,
              float("inf"), float("-inf"), float("nan")):
        add("float %r" % f, f)
    add("str empty", "")
    add("str ascii", "hello")
    add("str one char", "a")
    add("str latin1", "héllo wörld")
    add("str cjk", "日本語テキスト")
    add("str astral", "smile \U0001F600 and \U00010348")
    add("str controls", "\x00\x01\n\r\t\\\"'\x1a\x7f\u0085\u2028")
    add("str backslash u", "\\u0041 \\U00000041 \\x41 \\\\u")
    add("str long", "x" * 300)
    add("str lone surrogate", "a\ud800b")
    add("str surrogate pair", "\ud83d\ude00")
    add("bytes empty", b"")
    add("bytes", b"\x00\x01\xff hello")
    add("bytes one", b"a")
    add("bytes long", bytes(range(256)) * 2)
    add("bytearray empty", bytearray())
    add("bytearray", bytearray(b"xyz\x00\xff"))

    # containers
    add("list empty", [])
    add("list mixed", [1, "a", None, True, 2.5, b"b"])
    add("list nested", [[1, [2, [3, []]]], {"k": [4]}])
    add("list 1001", list(range(1001)))
    strs = ["s%d" % i for i in range(300)]
    add("list 300 str twice", strs + strs)  # memo indexes past 255: LONG_BINPUT/LONG_BINGET
    add("tuple empty", ())
    for n in range(1, 6):
        add("tuple %d" % n, tuple(range(n)))
    add("tuple nested", ((1, 2), (), ("a",), [3]))
    add("dict empty", {})
    add("dict str keys", {"b": 1, "a": 2, "c": {"d": None}})
    add("dict int keys", {1: "one", 2: "two", -5: [1]})
    add("dict mixed keys", {1: "int", "s": "str", None: 0, True: "bool", 2.5: "float", (1, 2): "tuple", b"k": "bytes"})
    add("dict nested int keys", {1: {2: {3: "deep"}}, "x": {10: [1, {20: 2}]}})
    add("dict reserved key", {"$bytes": "not bytes", "a": 1})
    add("dict 1000", {i: i % 2 == 0 for i in range(1000)})  # SETITEMS batches
    add("dict repeated keys", [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}])
    add("set empty", set())
    add("set ints", {3, 1, 2, 100, -7})
    add("set strs", {"apple", "banana", "cherry", "date"})
    add("set mixed", {1, "a", (1, 2), None, 2.5, b"x", frozenset({9})})
    add("set 1000", set(range(1000)))
    add("frozenset empty", frozenset())
    add("frozenset", frozenset({"x", "y", 3}))
    add("set of tuples", {(1, "a"), (2, "b")})

    # datetimes
    add("datetime naive", DT(2024, 1, 2, 3, 4, 5))
    add("datetime naive micro", DT(2024, 1, 2, 3, 4, 5, 123456))
    add("datetime min", DT(1, 1, 1))
    add("datetime max", DT(9999, 12, 31, 23, 59, 59, 999999))
    add("datetime utc", DT(2024, 6, 1, 12, 0, tzinfo=UTC))
    add("datetime offset +05:30", DT(2024, 6, 1, 12, 0, tzinfo=datetime.timezone(TD(hours=5, minutes=30))))
    add("datetime named offset -03:00", DT(2024, 6, 1, 12, 0, tzinfo=datetime.timezone(TD(hours=-3), "BRT")))
    add("datetime offset with seconds", DT(2024, 6, 1, 12, 0, tzinfo=datetime.timezone(TD(seconds=3723))))
    add("datetime zoneinfo paris summer", DT(2024, 7, 14, 10, 30, tzinfo=PARIS))
    add("datetime zoneinfo paris winter", DT(2024, 1, 14, 10, 30, 15, 500, tzinfo=PARIS))
    add("datetime zoneinfo paris 1900 lmt", DT(1900, 1, 1, 0, 0, tzinfo=PARIS))
    add("datetime zoneinfo new york ambiguous fold 0", DT(2024, 11, 3, 1, 30, tzinfo=NY))
    add("datetime zoneinfo new york ambiguous fold 1", DT(2024, 11, 3, 1, 30, fold=1, tzinfo=NY))
    add("datetime zoneinfo new york gap fold 0", DT(2024, 3, 10, 2, 30, tzinfo=NY))
    add("datetime zoneinfo new york gap fold 1", DT(2024, 3, 10, 2, 30, fold=1, tzinfo=NY))
    add("datetime zoneinfo new york 2100", DT(2100, 7, 1, 12, 0, tzinfo=NY))
    add("datetime zoneinfo utc", DT(2024, 6, 1, 12, 0, tzinfo=zoneinfo.ZoneInfo("UTC")))
    add("datetime zoneinfo kolkata", DT(2024, 6, 1, 12, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Kolkata")))
    add("datetime naive fold", DT(2024, 11, 3, 1, 30, fold=1))
    add("datetime pytz localized", DT(2024, 7, 14, 10, 30, tzinfo=pytz.DstTzInfo("Europe/Paris", 7200, 3600, "CEST")))
    add("datetime pytz lmt", DT(2024, 7, 14, 10, 30, tzinfo=pytz.DstTzInfo("Europe/Paris", 540, 0, "LMT")))
    add("datetime pytz utc", DT(2024, 7, 14, 10, 30, tzinfo=pytz.utc))
    add("datetime custom tzinfo", DT(2024, 7, 14, 10, 30, tzinfo=M.Fixed(90)))
    add("date", datetime.date(2024, 2, 29))
    add("date min", datetime.date(1, 1, 1))
    add("time", datetime.time(13, 14, 15))
    add("time micro", datetime.time(0, 0, 0, 1))
    add("time offset", datetime.time(13, 14, tzinfo=datetime.timezone(TD(hours=2))))
    add("time utc", datetime.time(13, 14, tzinfo=UTC))
    add("time zoneinfo utc", datetime.time(13, 14, tzinfo=zoneinfo.ZoneInfo("UTC")))
    add("time zoneinfo paris", datetime.time(13, 14, tzinfo=PARIS))
    add("time fold", datetime.time(1, 30, fold=1))
    add("timedelta zero", TD(0))
    add("timedelta", TD(days=1, hours=2, minutes=3, seconds=4, microseconds=500000))
    add("timedelta negative second", TD(seconds=-1))
    add("timedelta negative", TD(days=-3, hours=5))
    add("timedelta micro", TD(microseconds=-1))
    add("timedelta max", TD.max)
    add("timedelta min", TD.min)
    add("timezone utc", UTC)
    add("timezone named", datetime.timezone(TD(hours=1), "CET"))
    add("zoneinfo", PARIS)

    # other known values
    for text in ("1.10", "NaN", "-Infinity", "-0", "1E+3", "sNaN", "123456789012345678901234567890.000001"):
        add("decimal " + text, decimal.Decimal(text))
    add("uuid top bit", uuid.UUID("f47ac10b-58cc-4372-a567-0e02b2c3d479"))
    add("uuid small", uuid.UUID(int=1))
    add("uuid zero", uuid.UUID(int=0))
    add("uuid typical", uuid.UUID("12345678-1234-5678-1234-567812345678"))
    add("uuid max", uuid.UUID(int=2**128 - 1))
    add("ordereddict", collections.OrderedDict([("z", 1), ("a", [2]), ("m", None)]))
    add("ordereddict empty", collections.OrderedDict())
    add("defaultdict list", collections.defaultdict(list, {"a": [1, 2], "b": []}))
    add("defaultdict int empty", collections.defaultdict(int))
    add("counter", collections.Counter("abracadabra"))
    add("deque", collections.deque([1, 2, 3], maxlen=5))
    add("complex", complex(1.5, -2))
    add("range", range(1, 10, 2))
    add("slice", slice(1, None, 2))

    # application objects
    add("dataclass", M.User(7, "ada", ["admin", "ops"]))
    add("slots dataclass", M.Point(1, 2), 2)
    add("frozen slots dataclass", M.FrozenPoint(3, 4))
    add("namedtuple", M.Pair(1, "two"))
    add("enum", M.Color.RED)
    add("enum str value", M.Color.GREEN)
    add("int enum", M.Level.HIGH)
    add("plain object", M.Plain())
    add("getstate tuple", M.Stateful([1, 2]))
    add("slotted class", M.Slotted(), 2)
    add("kw-only new", M.KwOnly(size=3), 4)
    add("nested class", M.Outer.Inner())
    add("dict subclass", M.AttrDict(a=1, b=2))
    add("list subclass", M.Stack([1, 2, 3]))
    add("class reference", M.User)
    add("function reference", M.make_response)
    add("builtin class reference", int)
    add("objects in a list", [M.Color.RED, M.Color.RED, M.Pair(1, 2), M.Level.LOW])

    # shared and recursive references
    shared = [1, 2]
    add("shared list", [shared, shared, {"again": shared}])
    sd = {"k": "v"}
    add("shared dict", {"a": sd, "b": sd})
    selfref = [1]
    selfref.append(selfref)
    add("self-referencing list", selfref)
    d = {"name": "root"}
    d["self"] = d
    add("self-referencing dict", d)
    t = ([],)
    t[0].append(t)
    add("tuple through list cycle", t)
    root = M.Node("root")
    child = M.Node("child")
    child.parent = root
    root.children.append(child)
    add("object tree with parent links", root)
    a, b = [], []
    a.append(b)
    b.append(a)
    add("mutual recursion", [a, b])
    x = [0]
    for _ in range(6):
        x = [x, x]
    add("doubling dag", x)
    return v


# ---- the expected JSON (README "JSON output"), computed from the Python objects ----

RESERVED = {"$bytes", "$dict", "$class", "$args", "$state", "$ext", "$ref", "$truncated"}
CYCLE = {"$ref": "cycle"}


def qualified(obj, proto):
    """The name the pickle holds for a class or function, as loads maps it back."""
    module, name = obj.__module__, obj.__qualname__
    if proto < 3:
        key = (module, name)
        if key in _compat_pickle.REVERSE_NAME_MAPPING:
            module, name = _compat_pickle.REVERSE_NAME_MAPPING[key]
        elif module in _compat_pickle.REVERSE_IMPORT_MAPPING:
            module = _compat_pickle.REVERSE_IMPORT_MAPPING[module]
        key = (module, name)
        if key in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[key]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
    return module + "." + name


def iso_duration(td):
    total = (td.days * 86400 + td.seconds) * 10**6 + td.microseconds
    sign = "-" if total < 0 else ""
    days, rest = divmod(abs(total), 86400 * 10**6)
    secs, us = divmod(rest, 10**6)
    h, m, s = secs // 3600, secs // 60 % 60, secs % 60
    out = sign + "P" + ("%dD" % days if days else "")
    if not (h or m or s or us):
        return out + ("" if days else "T0S")
    out += "T" + ("%dH" % h if h else "") + ("%dM" % m if m else "")
    if s or us:
        out += "%d" % s + (("." + ("%06d" % us).rstrip("0")) if us else "") + "S"
    return out


def zone_suffix(tz):
    if isinstance(tz, zoneinfo.ZoneInfo):
        return "[%s]" % tz.key
    if isinstance(tz, pytz.DstTzInfo):
        return "[%s]" % tz.zone
    return ""


def known_tz(tz):
    return tz is None or type(tz) in (datetime.timezone, zoneinfo.ZoneInfo, pytz.UTC, pytz.DstTzInfo)


def temporal(obj, proto):
    # Rebuild the value from its reduce, as loads does: protocols < 4 drop fold.
    func, args = obj.__reduce_ex__(proto)[:2]
    value = func(*args)
    tz = getattr(value, "tzinfo", None)
    if not known_tz(tz):
        naive = value.replace(tzinfo=None)
        return {"$class": qualified(type(obj), proto), "$args": [naive.isoformat(), to_json(tz, proto, ())]}
    return value.isoformat() + zone_suffix(tz)


def merge_slots(state):
    if isinstance(state, tuple) and len(state) == 2 and (state[0] is None or type(state[0]) is dict) \
            and type(state[1]) is dict:
        return {**(state[0] or {}), **state[1]}
    return state


def reduced(obj, proto, path):
    # Looked up as the pickler does: copyreg's dispatch table first.
    reducer = copyreg.dispatch_table.get(type(obj))
    rv = reducer(obj) if reducer else obj.__reduce_ex__(proto)
    func, args, state, listitems, dictitems = (tuple(rv) + (None,) * 5)[:5]
    if func is copyreg.__newobj__:
        cls, args = args[0], list(args[1:])
    elif func is copyreg.__newobj_ex__:
        cls, a, kw = args
        args = list(a) + ([kw] if kw else [])
    elif func is copyreg._reconstructor:
        cls, base, st = args
        args = [] if base is object or st is None else [st]
    elif func is getattr and isinstance(args[0], type) and type(args[1]) is str:
        # An attribute of a class (an Enum member since Python 3.11) names a global.
        return {"$class": qualified(args[0], proto) + "." + args[1], "$args": []}
    else:
        cls, args = func, list(args)
    if type(obj) is zoneinfo.ZoneInfo:
        return {"$class": "zoneinfo.ZoneInfo", "$args": [obj.key]}
    path = path + (id(obj),)
    out = {"$class": qualified(cls, proto), "$args": [to_json(a, proto, path) for a in args]}
    if dictitems is not None:
        items = dict(dictitems)
        if items:
            out["$args"].append(to_json(items, proto, path))
    if listitems is not None:
        items = list(listitems)
        if items:
            out["$args"].append(to_json(items, proto, path))
    if state is not None:
        out["$state"] = to_json(merge_slots(state), proto, path)
    return out


def to_json(obj, proto, path=()):
    t = type(obj)
    if obj is None or t in (bool, int, str):
        return obj
    if t is float:
        if math.isnan(obj):
            return "NaN"
        if math.isinf(obj):
            return "Infinity" if obj > 0 else "-Infinity"
        return obj
    if t in (bytes, bytearray):
        return {"$bytes": base64.b64encode(obj).decode()}
    if t in (datetime.datetime, datetime.date, datetime.time):
        return temporal(obj, proto)
    if t is datetime.timedelta:
        return iso_duration(obj)
    if t is decimal.Decimal:
        return str(obj)
    if t is uuid.UUID:
        return str(obj)
    if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
        return {"$class": qualified(obj, proto), "$args": []}
    if id(obj) in path:
        return CYCLE
    inner = path + (id(obj),)
    if t in (list, tuple, set, frozenset):
        return [to_json(x, proto, inner) for x in obj]
    if t in (dict, collections.OrderedDict, collections.defaultdict, collections.Counter):
        if all(type(k) is str and k not in RESERVED for k in obj):
            return {k: to_json(x, proto, inner) for k, x in obj.items()}
        return {"$dict": [[to_json(k, proto, inner), to_json(x, proto, inner)] for k, x in obj.items()]}
    return reduced(obj, proto, path)


# ---- output ----


def vectors():
    rows = []
    for name, value, min_proto in corpus():
        for proto in range(min_proto, pickle.HIGHEST_PROTOCOL + 1):
            try:
                data = pickle.dumps(value, protocol=proto)
            except (pickle.PicklingError, TypeError):
                continue
            rows.append({"name": name, "protocol": proto, "hex": data.hex(), "json": to_json(value, proto)})
    rows.sort(key=lambda r: (r["name"], r["protocol"]))
    return rows


def bench_value():
    """A realistic cached payload: 100k records of str, int, float, datetime, list."""
    base = DT(2024, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(100_000):
        rows.append({
            "id": i,
            "name": "user-%06d" % i,
            "email": "user%d@example.com" % i,
            "score": i * 1.25,
            "active": i % 3 == 0,
            "created": base + TD(seconds=i * 37),
            "tags": ["t%d" % (i % 7), "group-%d" % (i % 100)],
            "note": None if i % 5 else "needs review",
        })
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--out", default=DEFAULT_OUT, help="where to write the vectors")
    ap.add_argument("--bench", metavar="FILE", help="write the benchmark pickle to FILE instead")
    opts = ap.parse_args()
    if opts.bench:
        with open(opts.bench, "wb") as f:
            f.write(pickle.dumps(bench_value(), protocol=4))
        return
    lines = [json.dumps(r, allow_nan=False) + "\n" for r in vectors()]
    os.makedirs(os.path.dirname(os.path.abspath(opts.out)), exist_ok=True)
    with open(opts.out, "w", encoding="ascii", newline="\n") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
