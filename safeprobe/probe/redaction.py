"""Redaction by name: which keys and attributes are secret, and the marker they read as.

Promise: a key or attribute whose name matches the redaction patterns (the defaults plus the
policy's ``redact``), after normalization (lowered, a non-ASCII name folded with NFKC and
casefold, the separators ``_ - . : /`` and space dropped), is secret; compound keys (tuples,
frozensets, Enum members, bytes-like and hashable object keys) are secret when a name in
them is, and a key too large to judge is secret (redaction fails closed). Reading a name
runs no host code. A secret reads as the fixed REDACTED marker, the same text, type and
length for every secret. Threat model: SECURITY.md, "Redaction".
"""

from __future__ import annotations

import enum
import fnmatch
import functools
import itertools
import operator
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, cast

from safeprobe.probe.host_keys import MAX_PLAIN_KEY_PARTS, builtin_keys_only
from safeprobe.probe.render import register_hook
from safeprobe.probe.scalars import is_scalar
from safeprobe.probe.static_reads import enum_name_and_value, object_field_values

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


class Redacted:
    """The fixed marker a redacted value reads as: same text, type and length for every secret."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "<redacted>"


REDACTED: Final = Redacted()


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
        if kind is tuple and len(parts) <= MAX_REDACTION_KEY_PARTS and builtin_keys_only(parts):
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
        if not all(map(operator.is_, map(type, names), itertools.repeat(str))):
            return False
        return self._matcher.none_in(cast("list[str]", names))


_GLOB_CHARS: Final = frozenset("*?[")
# Field values of an object key that redaction looks at: what can name a secret, and the
# compound keys it already opens.
_NAMING_TYPES: Final = (str, bytes, memoryview, tuple, frozenset, enum.Enum)
# A bytes-like key longer than this is not a name: judged secret without decoding it.
_MAX_NAME_BYTES: Final = 4096
_MAX_SEEN_NAMES: Final = 4096
# Parts of one compound key that redaction looks at: the same bound MAX_PLAIN_KEY_PARTS sets
# on the keys a probe may look up (one fact, one place): real keys have a handful; past
# this the key is treated as secret.
MAX_REDACTION_KEY_PARTS: Final = MAX_PLAIN_KEY_PARTS


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
        joined = "\n".join(names)
        if not joined.isascii():  # a name that NFKC may fold: judged name by name
            return False
        # ASCII only: lowering the whole is lowering each name, in one C call.
        return self.search(joined.lower().translate(_SEPARATORS)) is None


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


register_hook(Redacted, lambda value, _depth: repr(value))
