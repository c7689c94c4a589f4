"""Lookups in host dicts that never compare the probe's key with a host key.

Promise: ``find_key`` and ``find_name`` answer ``mapping[key]`` as ``dict.get`` finds it,
or NOT_FOUND, without calling any host key's ``__eq__`` or ``__hash__``: a dict is searched
with its own ``get`` only when every key is of an exact builtin type whose equality is the
builtin's; otherwise only keys of exactly the probe key's type are compared, and type tests
are by id. ``is_plain_key`` says which keys a probe may look up at all. Threat model:
SECURITY.md, "No host code runs".
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final, cast

from safeprobe.probe.scalars import is_scalar

# What find_key and find_name answer for a key that is not there.
NOT_FOUND: Final = object()
# A dict compares the key looked up with each stored key of equal hash, by ``==``: a host
# str subclass stored as a key, hashing like its text, runs its ``__eq__`` on a lookup of
# that text. A dict is searched with its own ``get`` only when every key is of an exact
# builtin type whose equality is the builtin's; otherwise only keys of exactly the probe
# key's type are compared. Type tests are by id (a frozenset of ints), never by ``==``.

_BUILTIN_KEY_TYPE_IDS: Final = frozenset(
    map(id, (str, int, float, bool, bytes, type(None), complex))
)
_TUPLE_ID: Final = id(tuple)
_KEYS_VIEW: Final[type] = type({}.keys())
_ALWAYS_STR: Final = itertools.repeat(str)  # endless, never used up


def builtin_keys_only(keys: Iterable[object]) -> bool:
    """Whether every key is of an exact builtin scalar type: one pass in C (a dict's keys
    view: a first pass for exact str keys, then the general one if that fails)."""
    # Names (sys.modules, a module's or an instance's __dict__) are exact str keys: the
    # type compared by identity with str takes two C calls a key where the id-set test
    # takes three (sys.modules, ~1,000 keys: ~50 against ~170 us on the benchmark VM).
    # Only a keys view or a list is walked twice: any other iterable may be an iterator,
    # which the first pass would use up.
    if (type(keys) is _KEYS_VIEW or type(keys) is list) and all(
        map(operator.is_, map(type, keys), _ALWAYS_STR)
    ):
        return True
    return all(map(_BUILTIN_KEY_TYPE_IDS.__contains__, map(id, map(type, keys))))


def plain_keys_only(mapping: dict[object, object]) -> bool:
    """Whether every key is an exact builtin scalar, or an exact tuple of them (the usual
    compound key): passes in C, no key's code runs. Nested tuples answer False."""
    keys = dict.keys(mapping)  # a view: each pass below walks the dict in C, copying nothing
    if builtin_keys_only(keys):
        return True
    kinds = map(id, map(type, keys))
    others = list(
        itertools.compress(keys, map(operator.not_, map(_BUILTIN_KEY_TYPE_IDS.__contains__, kinds)))
    )
    if not all(map(operator.eq, map(id, map(type, others)), itertools.repeat(_TUPLE_ID))):
        return False
    return builtin_keys_only(
        itertools.chain.from_iterable(cast("list[tuple[object, ...]]", others))
    )


def scan_pairs(
    pairs: Iterable[tuple[object, object]], keys: Iterable[object], key: object
) -> object:
    """The value of ``key`` among ``pairs`` (``keys`` are the same mapping's keys, in the
    same order; both are views, re-iterable), comparing it only with keys of exactly its
    type, or NOT_FOUND. Never copies the pairs: those of a million keys are 64 MB."""
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
            return NOT_FOUND
        pair = next(itertools.islice(itertools.compress(pairs, of_kind()), position, None), None)
        return pair[1] if pair is not None and pair[0] is same[position] else NOT_FOUND
    for stored, value in itertools.compress(pairs, of_kind()):
        # A tuple may hold host objects, whose == is host code: plain ones only.
        if is_plain_key(stored) and stored == key:
            return value
    return NOT_FOUND


# Dicts up to this size are checked on every lookup (a C pass over a few keys costs less
# than remembering them: a walk over many small objects would hold every instance dict).
_MEMO_MIN_KEYS: Final = 64


def find_key(mapping: dict[object, object], key: object, memo: KeyMemo | None = None) -> object:
    """``mapping[key]`` (a plain key) as ``dict.get`` finds it, or NOT_FOUND, without calling
    any host key's ``__eq__`` or ``__hash__``. ``memo`` remembers, for one attempt, which
    host dicts hold only plain keys."""
    if memo is not None and dict.__len__(mapping) > _MEMO_MIN_KEYS:
        plain = memo.plain(mapping)
    elif memo is None or not memo.host_frozen:
        # A host thread may swap a key between a check and a lookup: both are made on
        # one snapshot of the pairs.
        return snapshot_get(mapping, key)
    else:
        plain = builtin_keys_only(dict.keys(mapping))
    if plain:
        return dict.get(mapping, key, NOT_FOUND)
    return scan_pairs(dict.items(mapping), dict.keys(mapping), key)


def snapshot_get(mapping: dict[object, object], key: object) -> object:
    """``mapping.get(key)`` (a plain key) on one snapshot of its pairs, taken in one C call
    by dict's own items (no key is hashed or compared, no key's code runs: ``dict.copy`` of
    a subclass may call its ``keys()``, and of a sparse dict compares colliding keys), so a
    host thread that changes the dict after it cannot make a host key's ``__eq__`` run."""
    pairs = list(dict.items(mapping))
    keys = list(map(_FIRST, pairs))
    if builtin_keys_only(keys):
        # Exact builtin scalar keys only, compared by the builtins themselves: list.index
        # finds the one the dict would (== after identity, as the dict compares a key of
        # equal hash; keys equal to each other share a hash, so a dict holds one of them),
        # without hashing every key again into a new dict.
        try:
            return pairs[keys.index(key)][1]
        except ValueError:
            return NOT_FOUND
    return scan_pairs(pairs, keys, key)


_FIRST: Final = operator.itemgetter(0)


def find_name(instance: dict[str, object], name: str, memo: KeyMemo | None = None) -> object:
    """``find_key`` for an attribute name in an instance ``__dict__``: usually a few keys,
    but a module's namespace has thousands, so views pass their attempt's ``memo``."""
    return find_key(cast("dict[object, object]", instance), name, memo)


# What static_reads found for one (exact type, name) (its _ClassRead), opaque here.
ClassReader = object


@dataclass(frozen=True, slots=True)
class KeyMemo:
    """Which host dicts hold only plain keys, for one attempt: checked once per dict (and
    again when its size changes), so repeated lookups in a large dict stay O(1). The dict is
    held, so its id is not reused while the attempt lasts."""

    _seen: dict[int, tuple[object, int, bool]] = field(default_factory=dict)
    # What static_reads.read_attribute found on the class side for (exact type, name): by
    # the type's id, with the type held (its id is not reused while the attempt lasts) and
    # compared by identity, so no host metaclass's __hash__ or __eq__ runs and a subclass
    # never gets its base's answer. Names are exact str. Owned by static_reads.py.
    class_reads: dict[int, tuple[type, dict[str, ClassReader]]] = field(default_factory=dict)
    # The instance dict names_plain found plain last, and its size then (held); a caller
    # may test it first, inline, as names_plain does.
    last_plain: list[object] = field(default_factory=lambda: [None, -1])
    # Whether no host thread runs while the attempt lasts (isolation: fork, the probe in a
    # single-threaded child): only then may a live small dict be checked and then searched
    # (``names_plain``, ``find_key``). Under isolation: thread a host thread can swap a key
    # for a hostile one of the same text between the two, or between two reads (same dict,
    # same size), and ``dict.get`` would compare with it: both are made on one snapshot.
    host_frozen: bool = False

    def name_get(self, instance: dict[str, object], name: str) -> object:
        """``instance.get(name)`` of an exact str where no host key can compare with it,
        else NOT_FOUND (the caller then takes ``find_name``'s path, which scans). In a host
        that may change (not ``host_frozen``) the check and the lookup are made on one
        snapshot of a small dict's pairs (``snapshot_get``); a larger one is left to the
        caller."""
        if self.host_frozen:
            return dict.get(instance, name, NOT_FOUND) if self.names_plain(instance) else NOT_FOUND
        if dict.__len__(instance) > _MEMO_MIN_KEYS:
            return NOT_FOUND
        # snapshot_get for an exact str name: found among the snapshot's keys by the
        # builtins' own == (every key checked an exact builtin scalar first).
        pairs = list(dict.items(instance))
        keys = list(map(_FIRST, pairs))
        if not builtin_keys_only(keys) or name not in keys:
            return NOT_FOUND
        return pairs[keys.index(name)][1]

    def names_plain(self, instance: dict[str, object]) -> bool:
        """Whether ``instance.get(name)`` of an exact str compares with no host key: what
        ``find_name`` checks, with the last dict found plain remembered (at its size, as
        ``plain`` remembers larger ones): an object's attributes are read one after another.
        False in a host that may change (not ``host_frozen``): the check and the lookup
        must then see one snapshot (``snapshot_get``)."""
        if not self.host_frozen:
            return False
        last = self.last_plain
        size = dict.__len__(instance)
        if last[0] is instance and last[1] == size:
            return True
        mapping = cast("dict[object, object]", instance)
        if size > _MEMO_MIN_KEYS:
            verdict = self.plain(mapping)
        else:
            verdict = builtin_keys_only(dict.keys(mapping))
        if verdict:
            last[0], last[1] = instance, size
        return verdict

    def plain(self, mapping: dict[object, object]) -> bool:
        size = dict.__len__(mapping)
        entry = self._seen.get(id(mapping))
        if entry is not None and entry[0] is mapping and entry[1] == size:
            return entry[2]
        verdict = plain_keys_only(mapping)
        self._seen[id(mapping)] = (mapping, size, verdict)
        return verdict


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
