"""Read-only views of host objects.

Promise: a probe can read only the attribute paths the policy allows, and no view method
writes to the object it wraps or runs host code. Attributes are read statically (instance
``__dict__``, slots, plain class attributes), never through the host's ``__getattribute__``,
properties or ``__getattr__``; containers are read through the builtin types' own C methods
and copied atomically before iteration; names matching the redaction patterns come out as
the fixed REDACTED marker on every path (item, attribute, iteration, repr, str, format).
Threat model: SECURITY.md, "Host state", "Allowlist" and "Redaction".

Access paths are tuples of attribute names from the exposure's target. Item access is
transparent to the path: ``data["k"].x`` is the path ``data.x``. The target itself and
every path the allowlist matches are *full* (items, iteration and rendering allowed); a
strict prefix of an allowed path is *traverse* (only attribute reads that lead towards an
allowed path).
"""

from __future__ import annotations

import array
import collections
import enum
import fnmatch
import functools
import itertools
import operator
import re
import sys
import types
import unicodedata
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final, NoReturn, cast

from safeprobe.errors import SafeprobeError
from safeprobe.limits import Budget, TickingIterator
from safeprobe.render import (
    RenderLimits,
    is_scalar,
    register_hook,
    render,
    type_label,
)
from safeprobe.sizes import PAIR_BYTES, POINTER_BYTES
from safeprobe.values import is_closed

# Values of these exact types are immutable and their methods run no host code, so a
# probe may hold them directly. Subclasses are excluded on purpose: a host ``str``
# subclass can override ``__repr__``/``__eq__`` and would run host code.
DEFAULT_REDACT_PATTERNS: Final = (
    "*password*",
    "*passwd*",
    "*secret*",
    "*token*",
    "*apikey*",
    "*authorization*",
    "*cookie*",
    "*session*",
    "*privatekey*",
    "*credential*",
)

# Builtin container methods a probe may call on a view; they read, never write.
# Left out on purpose: every mutator (append, pop, update, setdefault, clear …), and
# ``fromkeys``/``__reversed__``, which would walk the host container in C unguarded.
MAPPING_METHODS: Final = frozenset({"keys", "values", "items", "get", "copy"})
SEQUENCE_METHODS: Final = frozenset({"count", "index", "copy"})
SET_METHODS: Final = frozenset({"copy"})
# A Counter's reads on top of a mapping's; most_common sorts by count (numbers only).
COUNTER_METHODS: Final = MAPPING_METHODS | {"most_common", "total"}
_COUNT_TYPE_IDS: Final = frozenset(map(id, (int, float, bool)))
CHAIN_METHODS: Final = frozenset({"keys", "values", "items", "get"})

# The class of the named-tuple field descriptor, which reads a tuple slot in C.
_TUPLEGETTER: Final = type(collections.namedtuple("_P", "x").x)  # type: ignore[attr-defined]  # the field
_MISSING: Final = object()
# What find_key and find_name answer for a key that is not there.
NOT_FOUND: Final = _MISSING
_TYPE_DICT: Final = type.__dict__["__dict__"]
_TYPE_MRO: Final = type.__dict__["__mro__"]


class ProbeDenied(SafeprobeError):
    """A guard refused something the probe asked for; names the rule, never a host value."""

    def __init__(self, rule: str, problem: str) -> None:
        self.rule, self.problem = rule, problem
        super().__init__(f"{rule}: {problem}")


class Redacted:
    """The fixed marker a redacted value reads as: same text, type and length for every secret."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "<redacted>"


REDACTED: Final = Redacted()


# ---- redaction ---------------------------------------------------------------------------


# Separators a name's words may be joined by: api_key, api-key, api.key, "api key" and
# api:key all normalize to apikey and meet *apikey*. Newline is not one (see none_in).
_SEPARATORS: Final = str.maketrans("", "", "_-.: /")


def _normalize_name(name: str) -> str:
    if not name.isascii():
        # Compatibility forms (a fullwidth API_KEY) read the same; NFKC folds them, as
        # Python folds identifiers, and casefold() folds what lower() leaves (sharp s).
        name = unicodedata.normalize("NFKC", name).casefold()
    return name.lower().translate(_SEPARATORS)


@dataclass(frozen=True, slots=True)
class Redactor:
    """Decides by name whether a key or attribute is secret. Pure."""

    patterns: tuple[str, ...]
    _matcher: _Matcher = field(init=False, repr=False, compare=False)
    # Answers for names already seen (attribute names repeat for every object of a class):
    # a memo of a pure function, so the frozen object still answers the same.
    # Keys are exact str or exact tuples of exact scalars, whose hash and == are builtin.
    _seen: dict[object, bool] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_matcher", _pattern_matcher(self.patterns))

    @classmethod
    def with_defaults(cls, extra: Iterable[str] = ()) -> Redactor:
        merged = (*DEFAULT_REDACT_PATTERNS, *extra)
        return cls(tuple(dict.fromkeys(_normalize_name(p) for p in merged)))

    def hides(self, name: object) -> bool:
        """Whether a key or attribute called ``name`` is secret. str, bytes and str
        subclasses (StrEnum keys) are names; a tuple or frozenset key is secret when any
        part is, and an Enum key when its name or value is (see ``_hides_compound``).
        Reading them runs no host code."""
        kind = type(name)
        if kind is str:
            text = cast(str, name)
            known = self._seen.get(text)
            if known is not None:
                return known
            hidden = self._matcher.matches(_normalize_name(text))
            if len(self._seen) < _MAX_SEEN_NAMES:
                self._seen[text] = hidden
            return hidden
        if kind is bytes:
            return self._matcher.matches(_normalize_name(cast(bytes, name).decode("latin-1")))
        if is_scalar(name):  # numbers and None: no name in them, and the common int key
            return False
        parts = cast("tuple[object, ...]", name)
        if kind is tuple and len(parts) <= MAX_REDACTION_KEY_PARTS and _builtin_keys_only(parts):
            # The common compound key, ("db", "host", 3): its str parts, each as a name. Its
            # parts are exact scalars, so it hashes and compares in C: remembered like a name.
            known = self._seen.get(parts)
            if known is not None:
                return known
            hidden = any(map(self.hides, parts))
            if len(self._seen) < _MAX_SEEN_NAMES:
                self._seen[parts] = hidden
            return hidden
        return self._hides_compound(name)

    def _hides_compound(self, key: object) -> bool:
        """Walk a key's parts, iteratively and at most ``MAX_REDACTION_KEY_PARTS`` of them:
        str/bytes parts are names, tuples and frozensets are opened with the builtins' own
        iterators, an Enum member's ``_name_`` and ``_value_`` are read from its instance
        dict (no ``name``/``value`` descriptor, no ``__getattribute__`` of the host runs),
        a bytes subclass or memoryview is a name, and any other object's name-like field
        values are its parts. A key too large to judge is secret: redaction fails closed."""
        stack = [key]
        parts = 0
        while stack:
            current = stack.pop()
            parts += 1
            if parts > MAX_REDACTION_KEY_PARTS:
                return True
            kind = type(current)
            if kind is str or kind is bytes:
                if self.hides(current):
                    return True
                continue
            if issubclass(kind, enum.Enum):
                stack.extend(enum_name_and_value(current))
            elif issubclass(kind, bytes) or kind is memoryview:
                if self._hides_bytes_like(current):
                    return True
                continue
            elif not issubclass(kind, (str, tuple, frozenset)) and not is_scalar(current):
                # Any other hashable key (a frozen dataclass, a plain object with __hash__):
                # its fields are its parts, as a tuple's items are, read statically from
                # the instance dict and slots. ConfigKey("db", "password") is secret. Only
                # fields that can name something are kept: an object field is not opened
                # in turn, so a key that references a large graph (a thread, a function
                # and its globals) costs its own fields, not the graph.
                room = MAX_REDACTION_KEY_PARTS - parts + 1
                fields = itertools.islice(object_field_values(current), room)
                stack.extend(v for v in fields if issubclass(type(v), _NAMING_TYPES))
                continue
            if issubclass(kind, str):
                # The C slot: a plain copy, no host __str__ (StrEnum members land here too).
                if self.hides(str.__str__(cast(str, current))):
                    return True
            elif issubclass(kind, tuple):
                room = MAX_REDACTION_KEY_PARTS - parts + 1
                stack.extend(
                    itertools.islice(tuple.__iter__(cast("tuple[object, ...]", current)), room)
                )
            elif issubclass(kind, frozenset):
                room = MAX_REDACTION_KEY_PARTS - parts + 1
                stack.extend(
                    itertools.islice(frozenset.__iter__(cast("frozenset[object]", current)), room)
                )
        return False

    def _hides_bytes_like(self, key: object) -> bool:
        """A bytes subclass or a memoryview is a name as bytes is: its buffer decoded by the
        builtins' own C methods (no host ``__bytes__`` or ``__str__``). One too long to be
        a name is secret, undecoded."""
        if type(key) is memoryview:
            view = cast(memoryview, key)
            if view.nbytes > _MAX_NAME_BYTES:
                return True
            return self.hides(memoryview.tobytes(view))
        if bytes.__len__(cast(bytes, key)) > _MAX_NAME_BYTES:
            return True
        return self.hides(bytes.__getitem__(cast(bytes, key), slice(None)))  # an exact copy

    def none_hidden(self, names: list[object]) -> bool:
        """Whether certainly no name in ``names`` is secret, found in a few C calls over all
        of them; False means "ask ``hides`` name by name". Plain str names only."""
        texts = [n for n in names if type(n) is str]
        return len(texts) == len(names) and self._matcher.none_in(texts)


_GLOB_CHARS: Final = frozenset("*?[")
# Field values of an object key that redaction looks at: what can name a secret, and the
# compound keys it already opens.
_NAMING_TYPES: Final = (str, bytes, memoryview, tuple, frozenset, enum.Enum)
# A bytes-like key longer than this is not a name: judged secret without decoding it.
_MAX_NAME_BYTES: Final = 4096
_MAX_SEEN_NAMES: Final = 4096
# Parts of one compound key that redaction looks at, as MAX_PLAIN_KEY_PARTS bounds the keys
# a probe may look up: real keys have a handful; past this the key is treated as secret.
MAX_REDACTION_KEY_PARTS: Final = 1000


@dataclass(frozen=True, slots=True)
class _Matcher:
    """``any(fnmatchcase(name, p) for p in patterns)`` for normalized names, in C calls.

    Redaction runs on every key a probe reads, so it is a hot path: ten ``fnmatchcase``
    calls cost microseconds per key. Patterns of the form ``*text*`` (all the defaults)
    mean "contains text" and become one alternation of literals, searched; any other
    pattern is translated by fnmatch and matched whole, as fnmatchcase would.
    """

    search: Callable[[str], object] | None  # the "contains" literals, or None if none
    match: Callable[[str], object] | None  # the other patterns, whole name, or None

    def matches(self, normalized: str) -> bool:
        if self.search is not None and self.search(normalized) is not None:
            return True
        return self.match is not None and self.match(normalized) is not None

    def none_in(self, names: list[str]) -> bool:
        """True only if no name (plain, not yet normalized) matches; False when unsure.

        All names are normalized and searched as one text, joined by newlines. Lowering
        each name and then removing the separators from the whole is exactly the join of
        each name's normalized form; and a literal without a newline cannot match across
        two names, so no match in the whole means no match in any name.
        """
        if self.match is not None:
            return False
        if self.search is None:
            return True
        text = "\n".join(map(str.lower, names)).translate(_SEPARATORS)
        if not text.isascii():  # a name that NFKC may fold: judged name by name
            return False
        return self.search(text) is None


@functools.lru_cache(maxsize=64)
def _pattern_matcher(patterns: tuple[str, ...]) -> _Matcher:
    contains = [p[1:-1] for p in patterns if _is_contains_pattern(p)]
    # A literal holding a newline could match across two names searched together, so it
    # is matched like any other pattern (see _Matcher.none_in).
    others = [p for p in patterns if not _is_contains_pattern(p) or "\n" in p]
    contains = [c for c in contains if "\n" not in c]
    search = re.compile("|".join(re.escape(c) for c in contains)).search if contains else None
    match = re.compile("|".join(fnmatch.translate(p) for p in others)).match if others else None
    return _Matcher(search, match)


def _is_contains_pattern(pattern: str) -> bool:
    return (
        len(pattern) >= 2
        and pattern[0] == "*"
        and pattern[-1] == "*"
        and _GLOB_CHARS.isdisjoint(pattern[1:-1])
    )


# ---- allowlist ---------------------------------------------------------------------------

_SEGMENT: Final = re.compile(r"^(\*\*|\*|[A-Za-z][A-Za-z0-9_]*)$")


class Access:
    """The three answers the allowlist gives for a path."""

    FULL: Final = "full"
    TRAVERSE: Final = "traverse"
    NONE: Final = "none"


@dataclass(frozen=True, slots=True)
class Allowlist:
    """Attribute-path patterns: ``*`` is one name, ``**`` any depth (zero included). Pure."""

    patterns: tuple[tuple[str, ...], ...]

    @classmethod
    def parse(cls, allow: Iterable[str]) -> Allowlist:
        parsed: list[tuple[str, ...]] = []
        for text in allow:
            segments = tuple(text.split("."))
            if not all(_SEGMENT.match(s) for s in segments):
                raise ValueError(f"bad allow pattern {text!r}")
            parsed.append(segments)
        return cls(tuple(parsed))

    def access(self, path: tuple[str, ...]) -> str:
        # The target itself is what the policy exposes, so its items and its rendering are
        # readable; the patterns govern the attribute paths below it.
        if not path:
            return Access.FULL
        return _access(self.patterns, path)


@functools.lru_cache(maxsize=8192)
def _access(patterns: tuple[tuple[str, ...], ...], path: tuple[str, ...]) -> str:
    if any(_glob(p, 0, path, 0) for p in patterns):
        return Access.FULL
    if any(_leads_to(p, 0, path, 0) for p in patterns):
        return Access.TRAVERSE
    return Access.NONE


def _glob(pat: tuple[str, ...], i: int, path: tuple[str, ...], j: int) -> bool:
    if i == len(pat):
        return j == len(path)
    if pat[i] == "**":
        return any(_glob(pat, i + 1, path, k) for k in range(j, len(path) + 1))
    if j == len(path):
        return False
    return (pat[i] in ("*", path[j])) and _glob(pat, i + 1, path, j + 1)


def _leads_to(pat: tuple[str, ...], i: int, path: tuple[str, ...], j: int) -> bool:
    """Whether some longer path starting with ``path`` matches ``pat``."""
    if j == len(path):
        return i < len(pat)
    if i == len(pat):
        return False
    if pat[i] == "**":
        return True
    return (pat[i] in ("*", path[j])) and _leads_to(pat, i + 1, path, j + 1)


# ---- static reads: no host code runs ---------------------------------------------------


def _is(obj: object, kinds: type | tuple[type, ...]) -> bool:
    """isinstance() without its fallback to ``obj.__class__``, which runs host code."""
    return issubclass(type(obj), kinds)


def _mro(cls: type) -> tuple[type, ...]:
    mro: tuple[type, ...] = _TYPE_MRO.__get__(cls)
    return mro


def _class_namespace(cls: type) -> types.MappingProxyType[str, object]:
    ns: types.MappingProxyType[str, object] = _TYPE_DICT.__get__(cls)
    return ns


def _static_lookup(cls: type, name: str, memo: KeyMemo | None = None) -> object:
    """The class attribute ``name`` as stored, found along the MRO without descriptors, and
    without comparing ``name`` with a host key: a class namespace can hold a host str
    subclass key (``type(name, bases, {key: ...})``), so namespaces are searched with
    ``get`` only when all keys along the MRO are exact str (see ``_known_plain_mro``)."""
    # _mro() and _class_namespace() inlined: this runs twice for every attribute read.
    mro = _TYPE_MRO.__get__(cls)
    if _known_plain_mro(mro):
        for klass in mro:
            value = _TYPE_DICT.__get__(klass).get(name, _MISSING)
            if value is not _MISSING:
                return value
        return _MISSING
    for klass in mro:
        namespace = _TYPE_DICT.__get__(klass)
        value = _scan(namespace.items(), namespace.keys(), name)
        if value is not _MISSING:
            return value
    return _MISSING


def _plain_mro(mro: tuple[type, ...]) -> bool:
    """Whether every namespace along ``mro`` has only exact builtin scalar keys."""
    return all(_builtin_keys_only(_TYPE_DICT.__get__(klass)) for klass in mro)


# MRO tuples found plain, by id, with a weakref to their class. A class's namespace gets no
# new non-str key after creation (type.__setattr__ stores an exact copy of a str subclass
# name), and assigning __bases__ makes a new MRO tuple; so while the class lives and its
# MRO is this very tuple (so the id is not reused), the answer holds. Nothing is pinned.
_PLAIN_MROS: dict[int, weakref.ref[type]] = {}
_MAX_PLAIN_MROS: Final = 8192


def _known_plain_mro(mro: tuple[type, ...]) -> bool:
    known = _PLAIN_MROS.get(id(mro))
    if known is not None:
        owner = known()
        if owner is not None and _TYPE_MRO.__get__(owner) is mro:
            return True
    if not _plain_mro(mro):
        return False
    if len(_PLAIN_MROS) >= _MAX_PLAIN_MROS:
        _PLAIN_MROS.clear()
    _PLAIN_MROS[id(mro)] = weakref.ref(mro[0])
    return True


# ---- lookups that never compare with a host key ------------------------------------------
# A dict compares the key looked up with each stored key of equal hash, by ``==``: a host
# str subclass stored as a key, hashing like its text, runs its ``__eq__`` on a lookup of
# that text. A dict is searched with its own ``get`` only when every key is of an exact
# builtin type whose equality is the builtin's; otherwise only keys of exactly the probe
# key's type are compared. Type tests are by id (a frozenset of ints), never by ``==``.

_BUILTIN_KEY_TYPE_IDS: Final = frozenset(
    map(id, (str, int, float, bool, bytes, type(None), complex))
)
_TUPLE_ID: Final = id(tuple)


def _builtin_keys_only(keys: Iterable[object]) -> bool:
    """Whether every key is of an exact builtin scalar type: one pass in C."""
    return all(map(_BUILTIN_KEY_TYPE_IDS.__contains__, map(id, map(type, keys))))


def _plain_keys_only(mapping: dict[object, object]) -> bool:
    """Whether every key is an exact builtin scalar, or an exact tuple of them (the usual
    compound key): passes in C, no key's code runs. Nested tuples answer False."""
    keys = dict.keys(mapping)  # a view: each pass below walks the dict in C, copying nothing
    if _builtin_keys_only(keys):
        return True
    kinds = map(id, map(type, keys))
    others = list(
        itertools.compress(keys, map(operator.not_, map(_BUILTIN_KEY_TYPE_IDS.__contains__, kinds)))
    )
    if not all(map(operator.eq, map(id, map(type, others)), itertools.repeat(_TUPLE_ID))):
        return False
    return _builtin_keys_only(
        itertools.chain.from_iterable(cast("list[tuple[object, ...]]", others))
    )


def _scan(pairs: Iterable[tuple[object, object]], keys: Iterable[object], key: object) -> object:
    """The value of ``key`` among ``pairs`` (``keys`` are the same mapping's keys, in the
    same order; both are views, re-iterable), comparing it only with keys of exactly its
    type, or _MISSING. Never copies the pairs: those of a million keys are 64 MB."""
    kind = type(key)

    def of_kind() -> Iterator[bool]:
        return map(operator.is_, map(type, keys), itertools.repeat(kind))

    if kind is not tuple:
        # Exact scalars of the probe key's type: list.index compares them in C with the
        # builtin's ==. The pair at that position is then taken, and kept only if its key
        # is the very object found (a host thread may have changed the dict in between).
        same = list(itertools.compress(keys, of_kind()))
        try:
            position = same.index(key)
        except ValueError:
            return _MISSING
        pair = next(itertools.islice(itertools.compress(pairs, of_kind()), position, None), None)
        return pair[1] if pair is not None and pair[0] is same[position] else _MISSING
    for stored, value in itertools.compress(pairs, of_kind()):
        # A tuple may hold host objects, whose == is host code: plain ones only.
        if is_plain_key(stored) and stored == key:
            return value
    return _MISSING


# Dicts up to this size are checked on every lookup (a C pass over a few keys costs less
# than remembering them: a walk over many small objects would hold every instance dict).
_MEMO_MIN_KEYS: Final = 64


def find_key(mapping: dict[object, object], key: object, memo: KeyMemo | None = None) -> object:
    """``mapping[key]`` (a plain key) as ``dict.get`` finds it, or _MISSING, without calling
    any host key's ``__eq__`` or ``__hash__``. ``memo`` remembers, for one attempt, which
    host dicts hold only plain keys."""
    if memo is not None and dict.__len__(mapping) > _MEMO_MIN_KEYS:
        plain = memo.plain(mapping)
    else:
        plain = _builtin_keys_only(dict.keys(mapping))
    if plain:
        return dict.get(mapping, key, _MISSING)
    return _scan(dict.items(mapping), dict.keys(mapping), key)


def find_name(instance: dict[str, object], name: str, memo: KeyMemo | None = None) -> object:
    """``find_key`` for an attribute name in an instance ``__dict__``: usually a few keys,
    but a module's namespace has thousands, so views pass their attempt's ``memo``."""
    return find_key(cast("dict[object, object]", instance), name, memo)


@dataclass(frozen=True, slots=True)
class KeyMemo:
    """Which host dicts hold only plain keys, for one attempt: checked once per dict (and
    again when its size changes), so repeated lookups in a large dict stay O(1). The dict is
    held, so its id is not reused while the attempt lasts."""

    _seen: dict[int, tuple[object, int, bool]] = field(default_factory=dict)

    def plain(self, mapping: dict[object, object]) -> bool:
        size = dict.__len__(mapping)
        entry = self._seen.get(id(mapping))
        if entry is not None and entry[0] is mapping and entry[1] == size:
            return entry[2]
        verdict = _plain_keys_only(mapping)
        self._seen[id(mapping)] = (mapping, size, verdict)
        return verdict


def enum_name_and_value(member: object) -> list[object]:
    """An Enum member's ``_name_`` and ``_value_`` as stored in its instance dict (the
    ``name``/``value`` descriptors and the host's ``__getattribute__`` do not run)."""
    instance = _instance_dict(member)
    if instance is None:
        return []
    found = [find_name(instance, "_name_"), find_name(instance, "_value_")]
    return [v for v in found if v is not _MISSING]


def object_field_values(obj: object) -> Iterator[object]:
    """The values an object holds in its instance dict and slots, read statically: the
    dict's own C ``values``, each slot through its C member descriptor; no host
    ``__getattribute__``, property or ``__eq__`` runs. For redacting object keys."""
    instance = _instance_dict(obj)
    if instance is not None:
        yield from list(dict.values(instance))
    for klass in _mro(type(obj)):
        # A class namespace is always an exact dict behind its proxy: values() runs in C.
        for value in list(_class_namespace(klass).values()):
            if type(value) is types.MemberDescriptorType:
                try:
                    yield value.__get__(obj, type(obj))
                except AttributeError:  # an empty slot
                    continue


def _is_data_descriptor(value: object, memo: KeyMemo | None = None) -> bool:
    kind = type(value)
    return (
        _static_lookup(kind, "__set__", memo) is not _MISSING
        or _static_lookup(kind, "__delete__", memo) is not _MISSING
    )


def _instance_dict(obj: object, memo: KeyMemo | None = None) -> dict[str, object] | None:
    """The object's ``__dict__`` when it is the ordinary C slot, else None."""
    descriptor = _static_lookup(type(obj), "__dict__", memo)
    kind = type(descriptor)
    if kind is types.GetSetDescriptorType or kind is types.MemberDescriptorType:
        value = descriptor.__get__(obj, type(obj))  # type: ignore[attr-defined]  # checked C descriptor
        if type(value) is dict:
            return value
    return None


def read_attribute(obj: object, name: str, memo: KeyMemo | None = None) -> object:
    """Read ``obj.name`` the way Python would for plain data, but refuse anything that would
    run host code (properties, custom descriptors, ``__getattr__``, methods, a host key's
    ``__eq__``); ``memo`` remembers for one attempt which instance dicts are plain."""
    if issubclass(type(obj), type):
        found = _static_lookup(cast(type, obj), name, memo)
        if found is _MISSING:
            raise AttributeError(name)
        if _static_lookup(type(found), "__get__", memo) is not _MISSING:
            raise ProbeDenied("host-code", f"attribute {name!r} is a descriptor or method")
        return found
    class_value = _static_lookup(type(obj), name, memo)
    if class_value is not _MISSING and _is_data_descriptor(class_value, memo):
        kind = type(class_value)
        if kind is types.MemberDescriptorType or kind is _TUPLEGETTER:
            return class_value.__get__(obj, type(obj))  # type: ignore[attr-defined]  # C slot read
        raise ProbeDenied(
            "host-code", f"attribute {name!r} is a property; host code is not evaluated"
        )
    instance = _instance_dict(obj, memo)
    if instance is not None:
        value = find_name(instance, name, memo)
        if value is not _MISSING:
            return value
    if class_value is _MISSING:
        raise AttributeError(name)
    if _static_lookup(type(class_value), "__get__", memo) is not _MISSING:
        raise ProbeDenied("host-code", f"attribute {name!r} is a method; host code is not called")
    return class_value


def instance_attribute_names(obj: object) -> list[str]:
    """Names of the object's own data (instance dict and slots), for rendering."""
    names: list[str] = []
    instance = _instance_dict(obj)
    if instance is not None:
        names.extend(k for k in list(instance) if type(k) is str)
    for klass in _mro(type(obj)):
        for key, value in list(_class_namespace(klass).items()):
            # An exact str first: "in" compares with ==, and a class namespace can hold a
            # host str subclass as a key.
            if type(key) is str and type(value) is types.MemberDescriptorType and key not in names:
                names.append(key)
    return [n for n in names if not n.startswith("_")]


# ---- kinds of host values ---------------------------------------------------------------

KIND_MAPPING: Final = "mapping"
KIND_SEQUENCE: Final = "sequence"
KIND_SET: Final = "set"
KIND_OBJECT: Final = "object"
# Exact bytearray, memoryview and array.array: buffers of scalars, read through their own
# C methods. A host subclass stays an object (its methods are host code).
KIND_BUFFER: Final = "buffer"
_BUFFER_TYPES: Final = (bytearray, memoryview, array.array)
# Their read-only accessors beyond len/items/iteration, each a C getter or a copy charged
# first (tolist, tobytes); bytes' own read methods (count, decode, find …) are answered on
# a charged copy by the sandbox (BUFFER_BYTES_METHODS).
BUFFER_ATTRIBUTES: Final[dict[type, frozenset[str]]] = {
    bytearray: frozenset(),
    memoryview: frozenset(
        {"nbytes", "readonly", "format", "itemsize", "ndim", "shape", "tolist", "tobytes"}
    ),
    array.array: frozenset({"typecode", "itemsize", "tolist", "tobytes"}),
}
# Looked up by the type's id: a dict lookup by the type itself hashes it (its metaclass's
# __hash__); the package's type tests use identity (test_metaclass_eq_in_type_tests).
_BUFFER_ATTRIBUTES_BY_ID: Final = {id(kind): names for kind, names in BUFFER_ATTRIBUTES.items()}
BUFFER_BYTES_METHODS: Final = frozenset(
    {
        *("count", "decode", "endswith", "find", "hex", "index", "isalnum", "isalpha"),
        *("isascii", "isdigit", "islower", "isspace", "isupper", "rfind", "rindex"),
        "startswith",
    }
)


def kind_of(obj: object) -> str:
    kind = type(obj)  # issubclass of the type, as _is does: no host __class__ runs
    if issubclass(kind, dict):
        return KIND_MAPPING
    if issubclass(kind, (list, tuple, collections.deque)):
        return KIND_SEQUENCE
    if issubclass(kind, (set, frozenset)):
        return KIND_SET
    if kind is bytearray or kind is memoryview or kind is array.array:
        return KIND_BUFFER
    return KIND_OBJECT


def buffer_items(obj: object) -> list[object]:
    """A buffer's items (ints, floats or characters), copied by its own C method."""
    if type(obj) is bytearray:
        return list(bytes(obj))
    if type(obj) is memoryview:
        return cast("list[object]", memoryview.tolist(cast(memoryview, obj)))
    return cast("list[object]", array.array.tolist(cast("array.array[int]", obj)))


def buffer_bytes(obj: object) -> bytes:
    """A buffer's bytes, copied by its own C method."""
    if type(obj) is bytearray:
        return bytes(obj)
    if type(obj) is memoryview:
        return memoryview.tobytes(cast(memoryview, obj))
    return array.array.tobytes(cast("array.array[int]", obj))


def buffer_nbytes(obj: object) -> int:
    if type(obj) is memoryview:
        return memoryview.__dict__["nbytes"].__get__(obj)  # type: ignore[no-any-return]
    if type(obj) is bytearray:
        return bytearray.__len__(obj)
    typed = cast("array.array[int]", obj)
    return array.array.__len__(typed) * typed.itemsize


def snapshot_items(obj: object, kind: str) -> list[object]:
    """Copy a container's elements in one C call, so host threads cannot break iteration.

    Mapping snapshots are (key, value) pairs. The builtin types' own methods are used even
    for subclasses, so an overridden ``__iter__`` or ``items`` never runs.
    """
    if kind == KIND_MAPPING:
        return list(dict.items(cast("dict[object, object]", obj)))
    if _is(obj, list):
        return list.copy(cast("list[object]", obj))
    if _is(obj, tuple):
        return list(tuple.__iter__(cast("tuple[object, ...]", obj)))
    if _is(obj, collections.deque):
        return list(collections.deque.__iter__(cast("collections.deque[object]", obj)))
    if _is(obj, set):
        return list(set.__iter__(cast("set[object]", obj)))
    if _is(obj, frozenset):
        return list(frozenset.__iter__(cast("frozenset[object]", obj)))
    if kind == KIND_BUFFER:
        return buffer_items(obj)
    raise TypeError(f"'{type_label(type(obj))}' object is not iterable")


def snapshot_pairs(obj: object) -> list[tuple[object, object]]:
    """A mapping's (key, value) pairs, copied in one C call; an OrderedDict's in its own
    order (move_to_end changes it without changing the dict's), found from its keys by
    identity, so no key is hashed or compared."""
    pairs = list(dict.items(cast("dict[object, object]", obj)))
    if _is(obj, collections.OrderedDict):
        order = list(collections.OrderedDict.__iter__(cast("dict[object, object]", obj)))
        by_id = {id(k): (k, v) for k, v in pairs}
        ordered = [by_id.get(id(k)) for k in order]
        if len(ordered) == len(pairs) and None not in ordered:
            return cast("list[tuple[object, object]]", ordered)
    return pairs


def container_length(obj: object, kind: str) -> int:
    for base in (dict, list, tuple, collections.deque, set, frozenset, *_BUFFER_TYPES):
        if _is(obj, base):
            length: int = base.__len__(obj)  # type: ignore[arg-type]  # base of obj's type
            return length
    raise TypeError(f"object of type '{type_label(type(obj))}' has no len()")


def secret_field_slots(obj: object, redactor: Redactor) -> frozenset[int]:
    """The slots of a named tuple that a field with a secret name reads.

    ``creds.password`` is redacted by its name, but the same slot is ``creds[1]``, an item
    of iteration, slicing and rendering: every path that hands out a tuple's items asks
    this, so a secret field is hidden by position too. Fields are found statically: the
    ``_tuplegetter`` descriptors along the MRO (what namedtuple makes), their index read
    by the descriptor type's own C ``__reduce__``; no host code runs.

    An exact pair ``(name, value)`` whose name is a str naming a secret is a field too: an
    associative list (HTTP headers, a parsed query string) holds ``("Authorization",
    token)`` as a dict holds ``{"Authorization": token}``, and its value is redacted the
    same. Other exact tuples cost a length and a type test."""
    kind = type(obj)
    if kind is tuple:
        pair = cast("tuple[object, ...]", obj)
        # The name as a dict key would be judged: str, bytes, or a subclass (a StrEnum).
        if len(pair) == 2 and issubclass(type(pair[0]), (str, bytes)) and redactor.hides(pair[0]):
            return _SECOND_SLOT
        return frozenset()
    if not issubclass(kind, tuple):
        return frozenset()
    slots: set[int] = set()
    for klass in _mro(kind):
        if klass is tuple or klass is object:
            continue
        for name, value in list(_class_namespace(klass).items()):
            if type(value) is _TUPLEGETTER and redactor.hides(name):
                index = _TUPLEGETTER.__reduce__(value)[1][0]
                if type(index) is int:
                    slots.add(index)
    return frozenset(slots)


_SECOND_SLOT: Final = frozenset({1})


def _hide_slots(items: list[object], indexes: Iterable[int], slots: frozenset[int]) -> None:
    """Replace, in place, the items whose original index is a secret slot."""
    for position, index in enumerate(indexes):
        if index in slots:
            items[position] = REDACTED


# Parts of a tuple key counted as its hash would visit them (shared parts once per use).
MAX_PLAIN_KEY_PARTS: Final = 1000


def is_plain_key(key: object) -> bool:
    """Keys a probe may look up: scalars, or small tuples of them, whose hashing and
    equality are the builtins' own. Iterative and capped: ``x = (x, x)`` forty times is a
    tree of 2**40 parts that neither this check nor the hash may walk."""
    stack = [key]
    parts = 0
    while stack:
        current = stack.pop()
        parts += 1
        if parts > MAX_PLAIN_KEY_PARTS:
            return False
        if type(current) is tuple:
            stack.extend(cast("tuple[object, ...]", current))
        elif not is_scalar(current):
            return False
    return True


# ---- the view ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ViewContext:
    """What every view of one exposure shares during one attempt."""

    exposure: str
    allowlist: Allowlist
    redactor: Redactor
    max_items: int
    render_limits: RenderLimits
    on_denied: Callable[[ProbeDenied], None]
    keys: KeyMemo = field(default_factory=KeyMemo)
    # The attempt's budget: snapshots and slices are charged to it and slices tick it.
    # None only in unit tests of the view alone.
    budget: Budget | None = None

    def deny(self, rule: str, problem: str) -> NoReturn:
        error = ProbeDenied(rule, problem)
        self.on_denied(error)
        raise error

    def dotted(self, path: tuple[str, ...]) -> str:
        return ".".join((self.exposure, *path))


class View:
    """A read-only window on one host value at one access path."""

    __slots__ = ("_sp_ctx", "_sp_kind", "_sp_obj", "_sp_path")

    _sp_obj: object
    _sp_path: tuple[str, ...]
    _sp_ctx: ViewContext
    _sp_kind: str

    def __init__(self, obj: object, path: tuple[str, ...], ctx: ViewContext) -> None:
        object.__setattr__(self, "_sp_obj", obj)
        object.__setattr__(self, "_sp_path", path)
        object.__setattr__(self, "_sp_ctx", ctx)
        object.__setattr__(self, "_sp_kind", kind_of(obj))

    # -- reads -------------------------------------------------------------------------

    def _sp_access(self) -> str:
        return self._sp_ctx.allowlist.access(self._sp_path)

    def _sp_require_full(self, what: str) -> None:
        if self._sp_access() != Access.FULL:
            self._sp_ctx.deny(
                "allowlist", f"{what} of {self._sp_ctx.dotted(self._sp_path)} is not allowed"
            )

    def _sp_wrap(self, value: object, path: tuple[str, ...]) -> object:
        return wrap(value, path, self._sp_ctx)

    def _sp_getattr(self, name: str) -> object:
        """Attribute read by the probe (through the sandbox's ``_getattr_``)."""
        ctx = self._sp_ctx
        if self._sp_kind != KIND_OBJECT or type(self._sp_obj) is collections.ChainMap:
            found = self._sp_container_attribute(name)
            if found is not _MISSING:
                return found
        child = (*self._sp_path, name)
        if ctx.allowlist.access(child) == Access.NONE:
            ctx.deny("allowlist", f"{ctx.dotted(child)} is not in the allowlist")
        try:
            value = read_attribute(self._sp_obj, name, ctx.keys)
        except ProbeDenied as error:
            ctx.on_denied(error)
            raise
        if ctx.redactor.hides(name):
            return REDACTED
        return wrap(value, child, ctx)

    def _sp_container_attribute(self, name: str) -> object:
        """A container's read methods and C getters (deque.maxlen, a buffer's), or _MISSING."""
        if self._sp_kind == KIND_BUFFER:
            return self._sp_buffer_attribute(name)
        if name in self._sp_methods():
            self._sp_require_full(f"method {name}()")
            bound: object = getattr(self, f"_sp_m_{name}")
            return bound
        if name == "maxlen" and _is(self._sp_obj, collections.deque):
            self._sp_require_full("maxlen")
            # deque's own C getter: an int or None.
            maxlen: object = collections.deque.__dict__["maxlen"].__get__(self._sp_obj)
            return maxlen
        return _MISSING

    def _sp_methods(self) -> frozenset[str]:
        """The container methods this view answers (none for a plain object)."""
        kind = self._sp_kind
        if kind == KIND_MAPPING:
            if _is(self._sp_obj, collections.Counter):
                return COUNTER_METHODS
            return MAPPING_METHODS
        if kind == KIND_SEQUENCE:
            return SEQUENCE_METHODS
        if kind == KIND_SET:
            return SET_METHODS
        if type(self._sp_obj) is collections.ChainMap:
            return CHAIN_METHODS
        return frozenset()

    def _sp_buffer_attribute(self, name: str) -> object:
        """A bytearray's, memoryview's or array's C getters, and copies charged first."""
        self._sp_require_full(f"attribute {name}")
        obj = self._sp_obj
        if name not in _BUFFER_ATTRIBUTES_BY_ID[id(type(obj))]:
            self._sp_ctx.deny(
                "attribute", f"'{name}' of {type_label(type(obj))} values is not available"
            )
        if name == "tolist":
            return lambda: self._sp_snapshot(wrapped=False)
        if name == "tobytes":
            return self._sp_bytes
        value: object = type(obj).__dict__[name].__get__(obj)
        return value

    def _sp_bytes(self) -> bytes | None:
        """The bytes of a buffer view, copied and charged; None for any other view."""
        if self._sp_kind != KIND_BUFFER:
            return None
        self._sp_require_full("bytes()")
        size = buffer_nbytes(self._sp_obj)
        if self._sp_ctx.budget is not None:
            self._sp_ctx.budget.check_bytes(size + 33, "bytes()")
        return buffer_bytes(self._sp_obj)

    def _sp_has(self, name: str) -> bool:
        """Whether a read of ``name`` would be allowed and find something (hasattr)."""
        kind, obj = self._sp_kind, self._sp_obj
        if kind == KIND_BUFFER:
            return name in _BUFFER_ATTRIBUTES_BY_ID[id(type(obj))] or name in BUFFER_BYTES_METHODS
        if name in self._sp_methods():
            return self._sp_access() == Access.FULL
        if self._sp_ctx.allowlist.access((*self._sp_path, name)) == Access.NONE:
            return False
        if _static_lookup(type(obj), name, self._sp_ctx.keys) is not _MISSING:
            return True
        instance = _instance_dict(obj, self._sp_ctx.keys)
        return instance is not None and find_name(instance, name) is not _MISSING

    def _sp_getitem(self, key: object) -> object:
        self._sp_require_full("item access")
        obj, kind = self._sp_obj, self._sp_kind
        if kind == KIND_BUFFER:
            return self._sp_buffer_item(key)
        if kind == KIND_MAPPING:
            return self._sp_mapping_item(key)
        if kind == KIND_SEQUENCE:
            if type(key) is slice:
                return self._sp_slice(key)
            if type(key) is not int and type(key) is not bool:
                raise TypeError("sequence indices must be integers or slices")
            # One item, read by the builtin type's own C method: no copy of the whole
            # sequence per index (8 MB for a million items), and atomic under the GIL.
            index = key
            if _is(obj, list):
                return self._sp_wrap(
                    list.__getitem__(cast("list[object]", obj), index), self._sp_path
                )
            if _is(obj, tuple):
                item = tuple.__getitem__(cast("tuple[object, ...]", obj), index)
                slots = secret_field_slots(obj, self._sp_ctx.redactor)
                if slots and range(container_length(obj, kind))[index] in slots:
                    return REDACTED
                return self._sp_wrap(item, self._sp_path)
            return self._sp_wrap(snapshot_items(obj, kind)[index], self._sp_path)
        if type(obj) is collections.ChainMap:
            return self._sp_chain_item(key)
        raise TypeError(f"'{type_label(type(obj))}' object is not subscriptable")

    def _sp_mapping_item(self, key: object) -> object:
        obj = self._sp_obj
        if not is_plain_key(key):
            self._sp_ctx.deny("key-type", "mapping keys must be str, int, float, bytes …")
        value = find_key(cast("dict[object, object]", obj), key, self._sp_ctx.keys)
        if value is _MISSING:
            if static_owner(type(obj), "__missing__") is collections.Counter:
                return 0  # Counter's own __missing__: a count of nothing, nothing stored
            raise KeyError(key)
        if self._sp_ctx.redactor.hides(key):
            return REDACTED
        return self._sp_wrap(value, self._sp_path)

    def _sp_buffer_item(self, key: object) -> object:
        """``buf[i]`` (an int, float or character, by the buffer's own C method) or
        ``buf[a:b]`` (a copy, charged first; a memoryview's slice shares the buffer)."""
        obj = self._sp_obj
        if type(key) is slice:
            count = len(range(container_length(obj, KIND_BUFFER))[key])
            self._sp_check_count(count, "a slice", wrapped=False)
            part = type(obj).__getitem__(obj, key)  # type: ignore[index]
            return self._sp_wrap(part, self._sp_path)
        if type(key) is not int and type(key) is not bool:
            raise TypeError(f"{type_label(type(obj))} indices must be integers or slices")
        item: object = type(obj).__getitem__(obj, key)  # type: ignore[index]
        return item

    def _sp_chain_maps(self) -> list[dict[object, object]]:
        """A ChainMap's maps (a list of dicts, read from its instance dict)."""
        instance = _instance_dict(self._sp_obj, self._sp_ctx.keys)
        maps = find_name(instance, "maps") if instance is not None else _MISSING
        if type(maps) is not list:
            raise TypeError("ChainMap without a list of maps")
        found = list.copy(cast("list[object]", maps))
        if not all(_is(m, dict) for m in found):
            raise TypeError("ChainMap of a map that is not a dict")
        return cast("list[dict[object, object]]", found)

    def _sp_chain_item(self, key: object) -> object:
        """``chain[key]``: the first of its maps that holds the key."""
        if not is_plain_key(key):
            self._sp_ctx.deny("key-type", "mapping keys must be str, int, float, bytes …")
        for mapping in self._sp_chain_maps():
            value = find_key(mapping, key, self._sp_ctx.keys)
            if value is not _MISSING:
                if self._sp_ctx.redactor.hides(key):
                    return REDACTED
                return self._sp_wrap(value, self._sp_path)
        raise KeyError(key)

    def _sp_chain_pairs(self) -> list[tuple[object, object]]:
        """A ChainMap's pairs in its own order (the last map's keys first, as
        ChainMap.__iter__ builds it), each key's value from the first map holding it.
        Plain keys only: they are hashed to merge the maps."""
        maps = self._sp_chain_maps()
        self._sp_check_count(sum(dict.__len__(m) for m in maps), "iteration")
        if not all(_plain_keys_only(m) for m in maps):
            self._sp_ctx.deny("key-type", "a ChainMap's keys must be str, int, float, bytes …")
        order: dict[object, None] = {}
        for mapping in reversed(maps):
            order.update(dict.fromkeys(dict.keys(mapping)))
        pairs: list[tuple[object, object]] = []
        for key in order:
            for mapping in maps:
                value = dict.get(mapping, key, _MISSING)
                if value is not _MISSING:
                    pairs.append((key, value))
                    break
        return pairs

    def _sp_slice(self, key: slice) -> object:
        """A copy of the slice, each item wrapped: its length is known before anything is
        copied (range() does the slice arithmetic in O(1)), so a slice over max_items is
        refused and one within it is charged first; only the slice is copied, in one C
        call, and the wrapping ticks per item."""
        obj, ctx = self._sp_obj, self._sp_ctx
        count = len(range(container_length(obj, self._sp_kind))[key])
        self._sp_check_count(count, "a slice")
        if _is(obj, list):
            part: list[object] | tuple[object, ...] = list.__getitem__(
                cast("list[object]", obj), key
            )
        elif _is(obj, tuple):
            part = tuple.__getitem__(cast("tuple[object, ...]", obj), key)
        else:  # a deque has no slices: it is copied whole, under the same cap
            self._sp_check_size("a slice")
            part = snapshot_items(obj, self._sp_kind)[key]
        slots = secret_field_slots(obj, ctx.redactor)
        if slots:
            part = list(part)
            _hide_slots(part, range(container_length(obj, self._sp_kind))[key], slots)
        items: Iterable[object] = part
        if ctx.budget is not None:
            items = TickingIterator(iter(part), ctx.budget)
        picked = _wrap_each(items, self._sp_path, ctx)
        return tuple(picked) if _is(obj, tuple) else picked

    def _sp_check_size(self, what: str, *, wrapped: bool = True) -> None:
        self._sp_require_full(what)
        if self._sp_kind == KIND_OBJECT:
            raise TypeError(f"'{type_label(type(self._sp_obj))}' object is not iterable")
        self._sp_check_count(container_length(self._sp_obj, self._sp_kind), what, wrapped=wrapped)

    def _sp_check_count(self, size: int, what: str, *, wrapped: bool = True) -> None:
        """Refuse a walk or copy of ``size`` items over max_items. One whose items are
        wrapped (iteration, copies, slices) is charged before it is made: the snapshot's
        slot, the wrapped list's slot and a view per item (a pair more for a mapping), made
        in one Python loop without a tick. A snapshot only compared against (``in``,
        count, index) is dropped at once: checked against the one-call cap, not charged."""
        ctx = self._sp_ctx
        if size > ctx.max_items:
            ctx.deny(
                "limits.max_items", f"container of {size} items is over the {ctx.max_items} cap"
            )
        if ctx.budget is None:
            return
        pair = PAIR_BYTES if self._sp_kind == KIND_MAPPING else 0
        if wrapped:
            ctx.budget.check_items(size, what, item_bytes=POINTER_BYTES + VIEW_BYTES + pair)
        else:
            ctx.budget.check_total_bytes(size * (POINTER_BYTES + pair), what)

    def _sp_snapshot(self, *, wrapped: bool = True) -> list[object]:
        """The elements (keys, for a mapping), under the item cap; ``wrapped`` when the
        caller makes a view of each."""
        self._sp_check_size("iteration", wrapped=wrapped)
        if self._sp_kind == KIND_MAPPING:
            return [k for k, _ in snapshot_pairs(self._sp_obj)]
        items = snapshot_items(self._sp_obj, self._sp_kind)
        slots = secret_field_slots(self._sp_obj, self._sp_ctx.redactor)
        if slots:
            _hide_slots(items, range(len(items)), slots)
        return items

    def _sp_pairs(self) -> list[tuple[object, object]]:
        if type(self._sp_obj) is collections.ChainMap:
            self._sp_require_full("iteration")
            return self._sp_chain_pairs()
        self._sp_check_size("iteration")
        if self._sp_kind != KIND_MAPPING:
            raise TypeError(f"'{type_label(type(self._sp_obj))}' object is not a mapping")
        return snapshot_pairs(self._sp_obj)

    def _sp_iter_values(self) -> Iterator[object]:
        """What ``for x in view`` yields: keys for mappings, wrapped elements otherwise."""
        if type(self._sp_obj) is collections.ChainMap:
            return iter(self._sp_m_keys())
        return iter(_wrap_each(self._sp_snapshot(), self._sp_path, self._sp_ctx))

    def _sp_value_of(self, key: object, value: object) -> object:
        if self._sp_ctx.redactor.hides(key):
            return REDACTED
        return self._sp_wrap(value, self._sp_path)

    # -- container methods (read-only) ---------------------------------------------------

    def _sp_m_keys(self) -> list[object]:
        return _wrap_each([k for k, _ in self._sp_pairs()], self._sp_path, self._sp_ctx)

    def _sp_m_values(self) -> list[object]:
        pairs = self._sp_pairs()
        return self._sp_values_of(pairs, [k for k, _ in pairs])

    def _sp_m_items(self) -> list[tuple[object, object]]:
        pairs = self._sp_pairs()
        keys = [k for k, _ in pairs]
        wrapped = _wrap_each(keys, self._sp_path, self._sp_ctx)
        return list(zip(wrapped, self._sp_values_of(pairs, keys), strict=True))

    def _sp_values_of(self, pairs: list[tuple[object, object]], keys: list[object]) -> list[object]:
        """Each pair's value as the probe sees it: the marker if its key is secret."""
        path, ctx = self._sp_path, self._sp_ctx
        if ctx.redactor.none_hidden(keys):
            return _wrap_each([v for _, v in pairs], path, ctx)
        hides = ctx.redactor.hides
        # _sp_value_of() and wrap() inlined: this runs for every pair of every walk.
        return [
            REDACTED
            if hides(k)
            else (v if is_scalar(v) or v is REDACTED or is_closed(v) else View(v, path, ctx))
            for k, v in pairs
        ]

    def _sp_m_get(self, key: object, default: object = None) -> object:
        try:
            return self._sp_getitem(key)
        except KeyError:
            return default

    def _sp_m_copy(self) -> object:
        if self._sp_kind == KIND_MAPPING:
            return dict(self._sp_m_items())
        values = [self._sp_wrap(v, self._sp_path) for v in self._sp_snapshot()]
        if self._sp_kind == KIND_SET:
            return {v for v in values if _hashable(v)}
        return values

    def _sp_m_most_common(self, n: object = None) -> list[tuple[object, object]]:
        """Counter.most_common: pairs by count, highest first, ties in insertion order
        (what sorted(..., reverse=True) and heapq.nlargest both give). Counts must be
        numbers: comparing any other value would run its code."""
        if n is not None and type(n) is not int:
            raise TypeError("most_common() takes an int")
        pairs = list(zip(self._sp_m_keys(), self._sp_m_values(), strict=True))
        if not all(id(type(count)) in _COUNT_TYPE_IDS for _, count in pairs):
            raise TypeError("most_common() of counts that are not numbers")
        ranked = sorted(pairs, key=operator.itemgetter(1), reverse=True)
        return ranked if n is None else ranked[: max(n, 0)]

    def _sp_m_total(self) -> object:
        """Counter.total: the sum of the counts, numbers only."""
        counts = self._sp_m_values()
        if not all(id(type(count)) in _COUNT_TYPE_IDS for count in counts):
            raise TypeError("total() of counts that are not numbers")
        return sum(cast("list[int]", counts))

    def _sp_m_count(self, value: object) -> int:
        return sum(1 for v in self._sp_snapshot(wrapped=False) if _plain_equal(v, value))

    def _sp_m_index(self, value: object) -> int:
        for index, v in enumerate(self._sp_snapshot(wrapped=False)):
            if _plain_equal(v, value):
                return index
        raise ValueError("value is not in the sequence")

    # -- what C code and the interpreter call directly -------------------------------------
    # These run when the probe uses an operator or a C-level path (``len``, ``in``,
    # ``{**view}``, ``*view``, f-strings), so each one is as guarded as the methods above.

    def __len__(self) -> int:
        self._sp_require_full("len()")
        if type(self._sp_obj) is collections.ChainMap:
            return len(self._sp_chain_pairs())
        if self._sp_kind == KIND_OBJECT:
            raise TypeError(f"object of type '{type_label(type(self._sp_obj))}' has no len()")
        return container_length(self._sp_obj, self._sp_kind)

    def __bool__(self) -> bool:
        if self._sp_kind == KIND_OBJECT:
            return True
        return self.__len__() > 0

    def __iter__(self) -> Iterator[object]:
        return self._sp_iter_values()

    def __contains__(self, item: object) -> bool:
        self._sp_require_full("'in'")
        if self._sp_kind == KIND_MAPPING:
            mapping = cast("dict[object, object]", self._sp_obj)
            return is_plain_key(item) and find_key(mapping, item, self._sp_ctx.keys) is not _MISSING
        if type(self._sp_obj) is collections.ChainMap:
            return is_plain_key(item) and any(
                find_key(m, item, self._sp_ctx.keys) is not _MISSING for m in self._sp_chain_maps()
            )
        if self._sp_kind == KIND_OBJECT:
            raise TypeError(f"argument of type '{type_label(type(self._sp_obj))}' is not iterable")
        if type(self._sp_obj) is bytearray and (type(item) is int or type(item) is bytes):
            # bytearray's own C search (a byte or a substring), as Python's ``in`` does.
            return bytearray.__contains__(self._sp_obj, item)
        return any(_plain_equal(v, item) for v in self._sp_snapshot(wrapped=False))

    def __getitem__(self, key: object) -> object:
        return self._sp_getitem(key)

    def keys(self) -> list[object]:
        # ``{**view}`` and ``dict.update(view)`` call this from C.
        if self._sp_kind != KIND_MAPPING and type(self._sp_obj) is not collections.ChainMap:
            raise TypeError(f"'{type_label(type(self._sp_obj))}' object is not a mapping")
        return self._sp_m_keys()

    def __repr__(self) -> str:
        return render(self, depth=0, limits=self._sp_ctx.render_limits)

    def __str__(self) -> str:
        return render(self, depth=0, limits=self._sp_ctx.render_limits)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def _sp_plain(self) -> object:
        """A builtin copy (tuple, list or dict) of a host sequence or mapping that holds only
        scalars and closed values, for comparisons as plain Python makes them; None when it
        holds anything else, hides a secret, is not fully allowed, or is over the cap."""
        obj, kind, ctx = self._sp_obj, self._sp_kind, self._sp_ctx
        if self._sp_access() != Access.FULL or container_length(obj, kind) > ctx.max_items:
            return None
        if kind == KIND_MAPPING and static_owner(type(obj), "__eq__") is dict:
            pairs = snapshot_pairs(obj)
            if not all(_is_leaf(k) and _is_leaf(v) for k, v in pairs):
                return None
            if not ctx.redactor.none_hidden([k for k, _ in pairs]) and any(
                ctx.redactor.hides(k) for k, _ in pairs
            ):
                return None
            return dict(pairs)
        if kind != KIND_SEQUENCE or secret_field_slots(obj, ctx.redactor):
            return None
        base = tuple if _is(obj, tuple) else list if _is(obj, list) else None
        if base is None or static_owner(type(obj), "__eq__") is not base:
            return None
        items = snapshot_items(obj, kind)
        if not all(map(_is_leaf, items)):
            return None
        return tuple(items) if base is tuple else items

    def _sp_compare(self, other: object, compare: Callable[..., object]) -> object:
        mine = self._sp_plain()
        theirs = other._sp_plain() if type(other) is View else other
        if mine is None or theirs is None:
            return NotImplemented
        return compare(mine, theirs)

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        result = self._sp_compare(other, operator.eq)
        return False if result is NotImplemented else cast(bool, result)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __lt__(self, other: object) -> object:
        return self._sp_compare(other, operator.lt)

    def __le__(self, other: object) -> object:
        return self._sp_compare(other, operator.le)

    def __gt__(self, other: object) -> object:
        return self._sp_compare(other, operator.gt)

    def __ge__(self, other: object) -> object:
        return self._sp_compare(other, operator.ge)

    def __hash__(self) -> int:
        return object.__hash__(self)

    # -- writes: always refused ----------------------------------------------------------

    def _sp_refuse_write(self, *_args: object) -> NoReturn:
        self._sp_ctx.deny(
            "read-only", f"{self._sp_ctx.dotted(self._sp_path)} is a read-only view of the host"
        )

    def __setattr__(self, name: str, value: object) -> None:
        self._sp_refuse_write()

    def __delattr__(self, name: str) -> None:
        self._sp_refuse_write()

    def __setitem__(self, key: object, value: object) -> None:
        self._sp_refuse_write()

    def __delitem__(self, key: object) -> None:
        self._sp_refuse_write()

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("views cannot be pickled")


# What each view a walk makes costs (slots, GC header), from an empty one.
VIEW_BYTES: Final = sys.getsizeof(object.__new__(View))


def wrap(value: object, path: tuple[str, ...], ctx: ViewContext) -> object:
    """Return scalars and closed stdlib values (values.py) as they are, everything else
    as a view."""
    if is_scalar(value) or value is REDACTED or is_closed(value):
        return value
    return View(value, path, ctx)


def _wrap_each(values: Iterable[object], path: tuple[str, ...], ctx: ViewContext) -> list[object]:
    """``wrap`` of every value, inlined: this runs for every item of every walk."""
    return [
        v if is_scalar(v) or v is REDACTED or is_closed(v) else View(v, path, ctx) for v in values
    ]


def _plain_equal(host_value: object, probe_value: object) -> bool:
    # Only compare values whose equality is a builtin's, so no host ``__eq__`` runs.
    if is_scalar(host_value) and is_scalar(probe_value):
        return bool(host_value == probe_value)
    return host_value is probe_value


def _is_leaf(value: object) -> bool:
    """A scalar or a closed stdlib value: its comparisons are builtin or stdlib code."""
    return is_scalar(value) or is_closed(value)


def _hashable(value: object) -> bool:
    return is_scalar(value) or type(value) is View


def static_owner(cls: type, name: str, memo: KeyMemo | None = None) -> type | None:
    """The class along ``cls``'s MRO whose namespace holds ``name`` (the one whose code
    Python would run), found as ``_static_lookup`` finds the value; None if none does."""
    mro = _TYPE_MRO.__get__(cls)
    plain = _known_plain_mro(mro)
    for klass in mro:
        namespace = _TYPE_DICT.__get__(klass)
        if plain:
            found = namespace.get(name, _MISSING)
        else:
            found = _scan(namespace.items(), namespace.keys(), name)
        if found is not _MISSING:
            return cast(type, klass)
    return None


def static_lookup(cls: type, name: str, memo: KeyMemo | None = None) -> object:
    """``cls.name`` as stored along the MRO (no descriptor runs), or NOT_FOUND."""
    return _static_lookup(cls, name, memo)


def class_attribute(cls: type, name: str) -> object:
    """``cls.__dict__[name]`` as stored (no descriptor runs), or NOT_FOUND."""
    namespace = _TYPE_DICT.__get__(cls)
    if _builtin_keys_only(namespace.keys()):
        return namespace.get(name, _MISSING)
    return _scan(namespace.items(), namespace.keys(), name)


register_hook(Redacted, lambda value, _depth: repr(value))

# Views render as plain Python would print the host value (view_render.py registers it).
from safeprobe import view_render as _view_render  # noqa: E402, F401
