"""A host for end-to-end tests: realistic state, a secret canary, a busy thread, and a
command loop on stdin so tests can ask for a digest of its state without a probe.

Usage: python app_host.py POLICY.yaml
Commands (one per line on stdin): digest, ticks, threads, alive, recursionlimit, quit.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import enum
import fractions
import hashlib
import json
import mmap
import os
import pathlib
import random
import signal
import sys
import threading
import time

import pydantic

import safeprobe

try:  # attrs is a test-only extra: the models below use it when it is installed
    import attrs
except ImportError:  # pragma: no cover - depends on the environment
    attrs = None  # type: ignore[assignment]

CANARY = "CANARY-7f3a9c-secret"
# Counts every call of host code that a probe must never cause.
HOST_CODE_CALLS = {"meta": 0, "key_eq": 0, "enum": 0, "descriptor": 0}
# The same count for the hostile shapes below, in shared memory: an anonymous mmap is
# MAP_SHARED, so host code a probe makes run in the fork child (invisible in
# HOST_CODE_CALLS, which the child writes in its own copy) is seen by the host's digest.
_SHARED_CALLS = mmap.mmap(-1, mmap.PAGESIZE)


def _host_code_ran() -> None:
    count = int.from_bytes(_SHARED_CALLS[:8], "little") + 1
    _SHARED_CALLS[:8] = count.to_bytes(8, "little")


class _Meta(type):
    """A metaclass whose __hash__/__eq__ are host code: type tests must not call them."""

    def __hash__(cls) -> int:
        HOST_CODE_CALLS["meta"] += 1
        return 1

    def __eq__(cls, other: object) -> bool:
        HOST_CODE_CALLS["meta"] += 1
        return False


class Weird(metaclass=_Meta):
    def __init__(self) -> None:
        self.value = 1


class HostileDescriptor(metaclass=_Meta):
    """A data descriptor whose class's metaclass is hostile: reading an attribute it guards
    must be refused without comparing its type with ``==``."""

    def __get__(self, obj: object, owner: object = None) -> object:
        HOST_CODE_CALLS["descriptor"] += 1
        return CANARY

    def __set__(self, obj: object, value: object) -> None:
        HOST_CODE_CALLS["descriptor"] += 1


class EvilKey(str):
    """A str subclass key that hashes like its text and counts every comparison: a lookup of
    the same text in a dict holding it compares the two with this ``__eq__``."""

    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        HOST_CODE_CALLS["key_eq"] += 1
        return str.__eq__(self, other)


class Guarded:
    """Attribute reads here meet a hostile descriptor type, a hostile ``__dict__`` entry in
    the class, and an instance dict keyed by a hostile str."""

    guarded = HostileDescriptor()

    def __init__(self) -> None:
        self.value = 1
        self.__dict__[EvilKey("label")] = "host label"


class MaskedDict:
    """The class stores a hostile object under ``__dict__``: the instance-dict read must
    test its type by identity."""

    __dict__ = HostileDescriptor()  # type: ignore[assignment]  # the attack


# A class whose own namespace holds a hostile key: a static class-attribute lookup of
# "shade" compares with it.
Shaded = type("Shaded", (), {EvilKey("shade"): "host shade", "plain": 2})


class _HostileEnumType(enum.EnumType):
    """An Enum metaclass whose ``__eq__``/``__hash__`` are host code."""

    def __hash__(cls) -> int:
        HOST_CODE_CALLS["meta"] += 1
        return 1

    def __eq__(cls, other: object) -> bool:
        HOST_CODE_CALLS["meta"] += 1
        return False


class Mode(enum.Enum, metaclass=_HostileEnumType):
    """Enum keys whose name or value is secret-looking; ``name``/``value`` reads run host
    ``__getattribute__`` unless read statically."""

    PRIVATE_KEY = 1
    FIRST = "session_id"
    PLAIN = 3

    def __getattribute__(self, name: str) -> object:
        if not name.startswith("_"):
            HOST_CODE_CALLS["enum"] += 1
        return super().__getattribute__(name)


class Field(enum.StrEnum):
    TOKEN = "api_token"
    NAME = "name"


class MyObject:
    def __init__(self) -> None:
        self.data = {"a": "aaa", "b": "bbb", "c": "ccc"}


@dataclasses.dataclass
class Settings:
    name: str
    retries: int
    password: str
    tags: list[str]


class Service:
    """Plain object with a property and a method: probes must not run either."""

    def __init__(self) -> None:
        self.requests = 0
        self.cache = {"user:1": {"name": "ada", "session_token": CANARY}, "user:2": {"name": "bob"}}
        self.queue = collections.deque([1, 2, 3])
        self.settings = Settings("svc", 3, CANARY, ["x", "y"])
        self.api_key = CANARY
        self.history = [("GET", 200), ("POST", 500)]
        self.flags = frozenset({"beta"})
        self.property_calls = 0
        self.weird = Weird()
        self.keyed = {b"password": CANARY, Field.TOKEN: CANARY, Field.NAME: "ada", "ok": 1}
        self.method_calls = 0
        self.guarded_obj = Guarded()
        self.masked = MaskedDict()
        self.shaded = Shaded()
        self.evil_map = {EvilKey("k"): "host value", "ok": 2}
        self.compound = {
            ("db", "password"): CANARY,
            ("db", ("nested", "api_token")): CANARY,
            frozenset({"session_key"}): CANARY,
            Mode.PRIVATE_KEY: CANARY,
            Mode.FIRST: CANARY,
            Mode.PLAIN: "plain",
            ("db", "host"): "localhost",
        }

    @property
    def expensive(self) -> int:
        self.property_calls += 1
        return 42

    def reset(self) -> None:
        self.method_calls += 1
        self.requests = 0


class _ZooMeta(type):
    """A metaclass hooking everything a class-level operation could call."""

    def __hash__(cls) -> int:
        _host_code_ran()
        return 1

    def __eq__(cls, other: object) -> bool:
        _host_code_ran()
        return False

    def __instancecheck__(cls, obj: object) -> bool:
        _host_code_ran()
        return True

    def __subclasscheck__(cls, sub: type) -> bool:
        _host_code_ran()
        return True

    def __iter__(cls) -> object:
        _host_code_ran()
        return iter([CANARY])

    def __len__(cls) -> int:
        _host_code_ran()
        return 1

    def __getitem__(cls, item: object) -> object:
        _host_code_ran()
        return CANARY

    def __contains__(cls, item: object) -> bool:
        _host_code_ran()
        return True

    def __call__(cls, *args: object, **kwargs: object) -> object:
        _host_code_ran()
        return CANARY

    def __repr__(cls) -> str:
        _host_code_ran()
        return CANARY

    def __or__(cls, other: object) -> object:
        _host_code_ran()
        return CANARY

    __ror__ = __or__


def _hooked(base: type, name: str) -> type:
    """A subclass of ``base`` whose every operator hook is host code that counts itself and
    answers the canary where it can."""

    def hook(*args: object, **kwargs: object) -> object:
        _host_code_ran()
        raise RuntimeError(CANARY)

    def text(*args: object) -> str:
        _host_code_ran()
        return CANARY

    namespace: dict[str, object] = dict.fromkeys(
        [
            "__eq__",
            "__ne__",
            "__lt__",
            "__le__",
            "__gt__",
            "__ge__",
            "__hash__",
            "__len__",
            "__iter__",
            "__getitem__",
            "__contains__",
            "__index__",
            "__int__",
            "__float__",
            "__bool__",
            "__add__",
            "__radd__",
            "__mul__",
            "__rmul__",
            "__mod__",
            "__rmod__",
            "__getattr__",
            "__reversed__",
            "__missing__",
            "keys",
            "items",
            "values",
            "get",
            "__round__",
            "__abs__",
            "__neg__",
            "__and__",
            "__or__",
            "__sub__",
            "__xor__",
            "__copy__",
            "__reduce__",
            "__reduce_ex__",
            "__sizeof__",
            "__dir__",
            "__class_getitem__",
            "__len__",
            "count",
            "index",
            "__trunc__",
            "__floor__",
            "__ceil__",
            "__complex__",
            "__bytes__",
            "__fspath__",
            "__lshift__",
            "__rshift__",
            "__divmod__",
            "__pow__",
            "__floordiv__",
            "__truediv__",
            "__invert__",
            "__pos__",
            "__matmul__",
            "__format__",
            "__getnewargs__",
            "__iadd__",
            "__imul__",
            "__setitem__",
            "__delitem__",
            "split",
            "join",
            "upper",
            "lower",
            "strip",
            "encode",
            "replace",
            "startswith",
            "endswith",
            "find",
            "casefold",
            "copy",
            "bit_length",
            "to_bytes",
            "conjugate",
            "__reduce__",
            "__next__",
        ],
        hook,
    )
    namespace["__repr__"] = text
    namespace["__str__"] = text
    namespace["__hash__"] = lambda self: (_host_code_ran(), base.__hash__(self))[1]
    return _ZooMeta(name, (base,), namespace)


def _make(cls: type, *args: object) -> object:
    # type.__call__: the metaclass's own __call__ is one of the hooks.
    return type.__call__(cls, *args)


HostileStr = _hooked(str, "HostileStr")
HostileInt = _hooked(int, "HostileInt")
HostileFloat = _hooked(float, "HostileFloat")
HostileTuple = _hooked(tuple, "HostileTuple")
HostileList = _hooked(list, "HostileList")
HostileDict = _hooked(dict, "HostileDict")
HostileSet = _hooked(set, "HostileSet")
HostileFrozenset = _hooked(frozenset, "HostileFrozenset")
HostileBytes = _hooked(bytes, "HostileBytes")
HostileObject = _hooked(object, "HostileObject")


class _HostileEnumMeta(enum.EnumMeta):
    def __iter__(cls) -> object:
        _host_code_ran()
        return iter([CANARY])

    def __len__(cls) -> int:
        _host_code_ran()
        return 1

    def __getitem__(cls, item: object) -> object:
        _host_code_ran()
        return CANARY

    def __contains__(cls, item: object) -> bool:
        _host_code_ran()
        return True

    def __hash__(cls) -> int:
        _host_code_ran()
        return 1

    def __eq__(cls, other: object) -> bool:
        _host_code_ran()
        return False

    def __repr__(cls) -> str:
        _host_code_ran()
        return CANARY


class Level(enum.IntEnum, metaclass=_HostileEnumMeta):
    """An IntEnum whose members have hooks too (int operators are the member's own)."""

    LOW = 1
    SECRET_HIGH = 2

    def __repr__(self) -> str:
        _host_code_ran()
        return CANARY

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        _host_code_ran()
        return CANARY

    def __eq__(self, other: object) -> bool:
        _host_code_ran()
        return False

    def __hash__(self) -> int:
        _host_code_ran()
        return 1


Creds = collections.namedtuple("Creds", ["user", "password"])


@dataclasses.dataclass(frozen=True)
class ConfigKey:
    """A hashable compound key that is neither a tuple nor an Enum."""

    section: str
    name: str


class Slotted:
    __slots__ = ("api_token", "name")

    def __init__(self) -> None:
        self.name = "slot"
        self.api_token = CANARY


class Zoo:
    """Hostile shapes for the host-code attacks: every hook counts in shared memory."""

    def __init__(self) -> None:
        self.s = _make(HostileStr, "abc")
        self.i = _make(HostileInt, 3)
        self.f = _make(HostileFloat, 1.5)
        self.t = _make(HostileTuple, (1, 2, 3))
        self.l = _make(HostileList, [1, 2, 3])
        self.d = _make(HostileDict, {"a": 1, "password": CANARY})
        self.st = _make(HostileSet, {1, 2})
        self.fs = _make(HostileFrozenset, {1, 2})
        self.b = _make(HostileBytes, b"abc")
        self.o = _make(HostileObject)
        self.cls = HostileObject
        self.enum_cls = Level
        self.member = Level.LOW
        self.by_level = {Level.LOW: 1, Level.SECRET_HIGH: CANARY}
        self.keyed = {
            _make(HostileStr, "k"): 1,
            _make(HostileInt, 5): 2,
            _make(HostileTuple, (1,)): 3,
            "ok": 4,
        }
        self.in_list = [_make(HostileStr, "x"), _make(HostileInt, 1), _make(HostileObject)]
        self.creds = Creds("ada", CANARY)
        self.byte_keys = {
            _make(HostileBytes, b"api_token"): CANARY,
            memoryview(b"db_password"): CANARY,
            "ok": 1,
        }
        # Associative lists: (name, value) pairs, as HTTP headers and parsed query strings
        # are kept.
        self.headers = [("Authorization", CANARY), ("Accept", "*/*")]
        # Secret names spelled with other separators than "_" and "-".
        self.spelled = {"api.key": CANARY, "Private Key": CANARY, "API:KEY": CANARY, "id": 1}
        # Fullwidth compatibility forms of API_KEY and PassWord (NFKC folds them, as it
        # folds identifiers): the same words for a human reader.
        self.folded = {
            "\uff21\uff30\uff29_\uff2b\uff25\uff39": CANARY,
            "\uff30\uff41\uff53\uff53\uff37\uff4f\uff52\uff44": CANARY,
            "id": 1,
        }
        self.pairs = (("api_token", CANARY), ("user", "ada"), (Field.TOKEN, CANARY))
        self.object_keys = {ConfigKey("db", "password"): CANARY, ConfigKey("db", "host"): "h"}
        self.slotted = Slotted()
        self.plain = {"password": CANARY, "user": "ada", "nested": {"api_key": CANARY}}


class LedgerStats:
    def __init__(self) -> None:
        self.hits = 3
        self.misses = 1

    @property
    def ratio(self) -> float:
        return self.hits / (self.hits + self.misses)

    def snapshot(self) -> dict[str, object]:
        return {"hits": self.hits, "misses": self.misses, "api_token": CANARY}


class Hostile:
    """What a vouched property may return: an object whose every hook is host code."""

    def __repr__(self) -> str:
        _host_code_ran()
        return CANARY

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        _host_code_ran()
        return True

    def __hash__(self) -> int:
        _host_code_ran()
        return 1

    def __format__(self, spec: str) -> str:
        _host_code_ran()
        return CANARY


_HOSTILE = Hostile()


class Ledger:
    """For ``evaluate``: vouched properties and methods (pure, mutating, looping, raising)
    beside near misses that must never run (each counts in shared memory if it does)."""

    def __init__(self) -> None:
        self.entries = [1, 2, 3]
        self.stats = LedgerStats()
        self.children = [LedgerStats(), LedgerStats()]

    @property
    def label(self) -> str:
        return f"ledger:{len(self.entries)}"

    @property
    def other(self) -> str:
        _host_code_ran()
        return CANARY

    def size(self) -> int:
        return len(self.entries)

    def size_with(self, extra: int) -> int:
        _host_code_ran()
        return len(self.entries) + extra

    def size_or(self, extra: int = 0) -> int:
        return len(self.entries) + extra

    def grow(self) -> int:
        self.entries.append(len(self.entries) + 1)
        return len(self.entries)

    def spin(self) -> None:
        while True:
            pass

    def boom(self) -> None:
        raise ValueError(CANARY)

    def nap(self) -> None:
        # One long C call: no line event to trace, so only the fork child's kill stops it.
        time.sleep(30)

    @property
    def hostile(self) -> object:
        return _HOSTILE

    @property
    def api_token(self) -> str:
        _host_code_ran()
        return CANARY

    @property
    def account(self) -> dict[str, object]:
        return {"user": "ada", "password": CANARY}

    @classmethod
    def build(cls) -> object:
        _host_code_ran()
        return CANARY

    @staticmethod
    def helper() -> object:
        _host_code_ran()
        return CANARY

    def pages(self) -> object:
        _host_code_ran()
        yield CANARY

    def __getattr__(self, name: str) -> object:
        _host_code_ran()
        return CANARY


class SettingsModel(pydantic.BaseModel):
    name: str = "svc"
    retries: int = 3
    password: str = CANARY


if attrs is not None:

    @attrs.define
    class AttrsSettings:
        name: str = "svc"
        retries: int = 3
        password: str = CANARY


class Models:
    """Fields of model classes, which views read statically (no evaluate needed)."""

    def __init__(self) -> None:
        self.pydantic = SettingsModel()
        if attrs is not None:
            self.attrs = AttrsSettings()


zoo = Zoo()
ledger = Ledger()
models = Models()


def _huge_fraction(numerator: int, denominator: int) -> fractions.Fraction:
    """An exact Fraction with these integers, without Fraction()'s gcd: a gcd of two
    1,500,000-bit integers would take the host seconds to start."""
    value = object.__new__(fractions.Fraction)
    value._numerator = numerator  # type: ignore[attr-defined]  # the slot Fraction reads
    value._denominator = denominator  # type: ignore[attr-defined]
    return value


def _dense(source: random.Random, bits: int) -> int:
    """An odd integer of exactly ``bits`` bits with random digits (no sparse fast paths)."""
    return source.getrandbits(bits) | (1 << (bits - 1)) | 1


class HostZone(datetime.tzinfo):
    """A host tzinfo: a datetime holding it is not closed (its methods are host code)."""

    def utcoffset(self, dt: object) -> datetime.timedelta:
        _host_code_ran()
        return datetime.timedelta(0)

    def tzname(self, dt: object) -> str:
        _host_code_ran()
        return CANARY

    def dst(self, dt: object) -> None:
        _host_code_ran()


class HostDecimal(decimal.Decimal):
    """A host subclass of a closed type: a view, never the value itself."""


class Hostile(enum.Enum):
    """A plain enum class whose member holds a host object as its value."""

    ONE = 1


Hostile.ONE._value_ = HostileObject.__new__(HostileObject)  # type: ignore[call-overload]


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = (value,)
    return value


class Deep(enum.Enum):
    """A plain enum member whose value nests tuples 3,000 deep (deeper than the recursion
    limit): an honest, if odd, host value."""

    NESTED = _nested(3000)


class StdValues:
    """Stdlib values as hosts hold them, some huge and some not closed (issue 13's types)."""

    def __init__(self) -> None:
        # Dense 1,500,000-bit integers (random, from a fixed seed): one comparison of the
        # two multiplies two pairs of them (~1 s in C), a divmod takes gcds (~8 s).
        bits = random.Random(13)
        self.frac = _huge_fraction(_dense(bits, 1_500_000), _dense(bits, 1_499_999))
        self.frac2 = _huge_fraction(_dense(bits, 1_500_001), _dense(bits, 1_499_998))
        # Longer than the comparison cap (4,000,000): a linear search of it is refused.
        self.span = range(30_000_000)
        self.path = pathlib.PurePosixPath("/srv/" + "d" * 1_000_000)
        self.zoned = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=HostZone())
        self.zoned_time = datetime.time(3, 4, tzinfo=HostZone())
        self.price = HostDecimal("9.99")
        self.third = fractions.Fraction(1, 3)
        self.ratio = fractions.Fraction(1, 3)
        object.__setattr__(self.ratio, "_numerator", _make(HostileInt, 1))
        self.member = Hostile.ONE
        self.deep = Deep.NESTED
        self.plain = datetime.datetime(2026, 1, 2, 3, 4, 5)
        # A ChainMap among its own maps, and a chain of 3,000 ChainMaps.
        self.chain_loop = collections.ChainMap({"a": 1})
        self.chain_loop.maps.append(self.chain_loop)
        self.chain_deep = collections.ChainMap({"x": 1})
        for _ in range(3000):
            self.chain_deep = collections.ChainMap(self.chain_deep)
        # Two counters that differ only in a secret key's count.
        self.counts_low = collections.Counter({"a": 10, "api_token": 5, "b": 1000})
        self.counts_high = collections.Counter({"a": 10, "api_token": 5000, "b": 1000})

    def digest(self) -> object:
        """What the host's digest covers: every field's identity-free summary, read without
        running any of the hostile hooks."""
        return {
            "frac": [self.frac.numerator.bit_length(), self.frac2.denominator.bit_length()],
            "span": [self.span.start, self.span.stop, self.span.step],
            "path": len(str(self.path)),
            "zoned": datetime.datetime.isoformat(self.zoned.replace(tzinfo=None)),
            "zoned_time": self.zoned_time.replace(tzinfo=None).isoformat(),
            "price": decimal.Decimal.__str__(self.price),
            "third": str(self.third),
            "ratio": int(fractions.Fraction.__dict__["_denominator"].__get__(self.ratio)),
            "member": type(Hostile.__dict__["_member_map_"]["ONE"]._value_).__name__,
            "deep": len(Deep.__members__),
            "plain": self.plain.isoformat(),
            "counts": [dict(self.counts_low), dict(self.counts_high)],
            "chains": [len(self.chain_loop.maps), len(self.chain_deep.maps)],
            "attrs": sorted(vars(self)),
        }


zoo = Zoo()
stdvals = StdValues()
my_object = MyObject()
service = Service()
# A large host sequence for slicing and iteration attacks: a million references to one
# tuple, so it costs the host 8 MB while each item a probe sees would be a view of its own.
bulk = [("GET", 200)] * 1_000_000
progress = {"ticks": 0}


def _twin_classes() -> tuple[object, ...]:
    """Objects of three classes all called "Twin": ``value`` is plain data in the first; a
    property (host code, counted) in the second and in the third, a subclass of the first;
    the two with the property also hold a shadowed ``value`` in their instance dict. For
    the per-attempt cache of class-side reads (issue 16)."""

    def value(self: object) -> str:
        _host_code_ran()
        return CANARY

    plain = type("Twin", (), {"__qualname__": "Twin"})
    guarded = type("Twin", (), {"__qualname__": "Twin", "value": property(value)})
    derived = type("Twin", (plain,), {"__qualname__": "Twin", "value": property(value)})
    objects = []
    for cls in (plain, guarded, derived):
        obj = cls()
        obj.__dict__["value"] = "shadowed"
        objects.append(obj)
    return tuple(objects)


twins = _twin_classes()


class _Beat:
    """An attribute a host thread changes while a probe reads it (issue 16)."""

    def __init__(self) -> None:
        self.n = 0


beat = _Beat()


class _Pair:
    """Two objects with an attribute of one name, one path allowed and one not (issue 16)."""

    def __init__(self) -> None:
        self.a = _Beat()
        self.b = _Beat()
        self.b.n = CANARY


pair = _Pair()
# Exact strs, then a host str subclass whose hooks count host code (issue 16).
mixed_scalars = ["a", "b", "c"] * 100 + [_make(HostileStr, "x")]


class _SharedEqKey(str):
    """A str subclass key that hashes like its text and counts each comparison in shared
    memory (seen from a fork child too): a dict lookup of that text compares with it."""

    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        _host_code_ran()
        return str.__eq__(self, other)


class _Planned:
    """Objects of one class read through one (path, name) read plan (issue 16): the first
    holds plain keys; the second, of the same class and dict size, holds a hostile key
    hashing like "other", so a lookup of "other" compares with it."""

    def __init__(self, hostile: bool) -> None:
        self.value = 1
        if hostile:
            self.__dict__[_SharedEqKey("other")] = CANARY
        else:
            self.other = 2


class _SlotPlain:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = "slot value"


def _slot_value(self: object) -> str:
    _host_code_ran()
    return CANARY


# A subclass that turns the slot into a property: the base's slot plan must not serve it.
_SlotGuarded = type("_SlotPlain", (_SlotPlain,), {"value": property(_slot_value)})


class _Creds:
    """An attribute whose name is secret, read again and again (issue 16)."""

    def __init__(self) -> None:
        self.user = "app"
        self.password = CANARY


planned = (_Planned(False), _Planned(True))


def _slot_guarded() -> object:
    obj = object.__new__(_SlotGuarded)
    _SlotPlain.__dict__["value"].__set__(obj, "shadowed slot")  # the base's slot, set
    return obj


slotted = (_SlotPlain(), _slot_guarded())
creds = [_Creds(), _Creds()]
small = list(range(8))
pairs = [[1, 2], [3, 4]]
# Exact str keys, secret ones spelt with separators and capitals (red16b: items() fast path).
spelt = {"name": "ada", "Session-Token": CANARY, "API.KEY": CANARY, "count": 3}


def _state() -> object:
    return {
        "my_object": my_object.data,
        "requests": service.requests,
        "cache": service.cache,
        "queue": list(service.queue),
        "settings": dataclasses.asdict(service.settings),
        "api_key": service.api_key,
        "history": service.history,
        "flags": sorted(service.flags),
        "property_calls": service.property_calls,
        "method_calls": service.method_calls,
        "host_code_calls": dict(HOST_CODE_CALLS),
        "shared_host_code_calls": int.from_bytes(_SHARED_CALLS[:8], "little"),
        "attrs": sorted(vars(service)),
        "my_object_attrs": sorted(vars(my_object)),
        "ledger": ledger.entries,
        "ledger_attrs": sorted(vars(ledger)),
        "stdvals": stdvals.digest(),
        "planned": [sorted(map(str, vars(p))) for p in planned],
        "small": small,
        "pairs": pairs,
    }


def digest() -> str:
    return hashlib.sha256(json.dumps(_state(), sort_keys=True, default=repr).encode()).hexdigest()


def _interpreter_state() -> object:
    """What a probe must leave as it found it, beyond the host's own data."""
    return {
        "recursionlimit": sys.getrecursionlimit(),
        "trace": repr(sys.gettrace()),
        "profile": repr(sys.getprofile()),
        "modules": sorted(sys.modules),
        "threads": sorted(t.name for t in threading.enumerate()),
        "handlers": {
            name: repr(signal.getsignal(getattr(signal, name)))
            for name in ("SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGINT", "SIGTERM", "SIGALRM")
        },
        "mask": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
        "switchinterval": sys.getswitchinterval(),
    }


def _count() -> None:
    while True:
        progress["ticks"] += 1
        beat.n += 1
        time.sleep(0.005)


def main() -> None:
    safeprobe.install(sys.argv[1])
    threading.Thread(target=_count, name="counter", daemon=True).start()
    print(f"ready {os.getpid()}", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "digest":
            print(digest(), flush=True)
        elif command == "ticks":
            print(progress["ticks"], flush=True)
        elif command == "threads":
            print(",".join(sorted(t.name for t in threading.enumerate())), flush=True)
        elif command == "recursionlimit":
            print(sys.getrecursionlimit(), flush=True)
        elif command == "interpreter":
            print(json.dumps(_interpreter_state(), sort_keys=True), flush=True)
        elif command == "alive":
            print("alive", flush=True)
        elif command == "quit":
            break


if __name__ == "__main__":
    main()
