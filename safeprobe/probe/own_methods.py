"""Methods of the probe's own values: which it may call, and bounded wrappers for those
that can build something large or compare in one C call.

Promise: a probe calls only the methods ``SAFE_METHODS`` lists for its builtin values (and
reads only a fact record's fields); each method whose one C call copies, joins, pads,
splits, encodes, hashes keys in bulk or compares is wrapped so that its result's size (or
its comparison cost, comparison.py) is checked and charged before the call; codecs are
limited to utf-8, ascii and latin-1 so none is imported into the host. Threat model:
SECURITY.md, "Code", "Memory" and "Time".
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sized
from typing import TYPE_CHECKING, Final, TypeVar, cast

from safeprobe.probe.facts.records import FACT_FIELDS
from safeprobe.probe.sizes import (
    DICT_ITEM_BYTES,
    PAIR_BYTES,
    POINTER_BYTES,
    SET_ITEM_BYTES,
    part_bytes,
    sized_bytes,
    str_width,
    text_bytes,
)

if TYPE_CHECKING:
    from safeprobe.probe.sandbox import Sandbox


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Methods of the probe's own builtin values that it may call. They read, or write only to
# the probe's own value; the ones that can build something large or reach further are
# wrapped in OwnMethods.sized. Left out on purpose: str.format_map and
# str.translate/maketrans (unbounded expansion via a mapping), int.to_bytes (allocation
# by argument), and every dunder (RestrictedPython refuses "_" names at compile time).


_SET_READS: Final = (
    "copy union intersection difference symmetric_difference issubset issuperset isdisjoint"
)
SAFE_METHODS: Final[dict[type, frozenset[str]]] = {
    str: _names(
        "capitalize casefold count encode endswith find index isalnum isalpha isascii "
        "isdecimal isdigit isidentifier islower isnumeric isprintable isspace istitle "
        "isupper lower lstrip partition removeprefix removesuffix rfind rindex rpartition "
        "rsplit rstrip split splitlines startswith strip swapcase title upper "
        "join center ljust rjust zfill replace expandtabs format"
    ),
    bytes: _names(
        "count decode endswith find hex index isalnum isalpha isascii isdigit islower "
        "isspace isupper lower lstrip rfind rindex rsplit rstrip split splitlines "
        "startswith strip upper join"
    ),
    list: _names("append extend insert pop remove clear copy count index reverse sort"),
    dict: _names("keys values items get pop popitem setdefault update clear copy"),
    set: _names(f"{_SET_READS} add discard remove pop clear update"),
    frozenset: _names(_SET_READS),
    tuple: _names("count index"),
    int: _names("bit_length bit_count conjugate real imag numerator denominator"),
    float: _names("is_integer conjugate real imag hex"),
    complex: _names("conjugate real imag"),
}


_T = TypeVar("_T")


def without_repr(call: Callable[..., _T], message: str, *args: object) -> _T:
    """``call(*args)``, but a ValueError worded anew: CPython 3.11 quotes the argument's
    whole repr in some (``float(s)``, ``list.index(s)``), a copy as large as the value,
    made in C where no budget sees it, and kept by a probe that keeps the exception. It is
    raised outside the handler so the original is not kept as its __context__ either."""
    try:
        return call(*args)
    except ValueError:
        pass
    raise ValueError(message)


def type_ids(*kinds: type) -> frozenset[int]:
    """The ids of ``kinds``: a type test is ``id(type(v)) in IDS``, by identity, never by
    ``==`` or hashing (a host metaclass's ``__eq__``/``__hash__`` is host code)."""
    return frozenset(map(id, kinds))


TEXT_IDS: Final = type_ids(str, bytes)
_BULK_IDS: Final = type_ids(list, dict, set, frozenset)
_KEYED_IDS: Final = type_ids(dict, set)
_SAFE_METHODS_BY_ID: Final = {id(kind): names for kind, names in SAFE_METHODS.items()}
_FACT_FIELDS_BY_ID: Final = {id(kind): names for kind, names in FACT_FIELDS.items()}


def allowed_names(kind: type) -> frozenset[str] | None:
    """The attributes a probe may read of a value of exactly ``kind``: a builtin type's safe
    methods or a fact record's fields; None for any other type. The one answer both the
    attribute guard and ``hasattr`` give."""
    return _SAFE_METHODS_BY_ID.get(id(kind)) or _FACT_FIELDS_BY_ID.get(id(kind))


class OwnMethods:
    """The bounded methods of the probe's own values in one attempt. A collaborator of the
    attempt's Sandbox: it charges the Sandbox's budget, refuses through its state, and
    materialises and checks keys through the Sandbox's guards."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self.state = sandbox.state
        self.budget = sandbox.budget
        self.comparisons = sandbox.comparisons

    def comparing(self, obj: object, name: str) -> object | None:
        """count, index, remove, sort, startswith, endswith: their one C call compares, so
        its cost is checked first (comparison.py)."""
        base = self._copying_method(obj, name) if name == "index" else None
        method = cast("Callable[..., object]", base or getattr(obj, name))
        checked = self.comparisons.method(obj, name, method)
        if checked is not None:
            checked.__name__ = name
            checked.__qualname__ = f"{type(obj).__name__}.{name}"
        return checked

    def _check_copy(self, value: object, what: str) -> None:
        """Charge, before it is made, a copy of one of the probe's own builtin values: it
        takes what the source takes (a dict's table, not 8 bytes an entry). Only builtin
        types reach here, so sys.getsizeof runs no host code."""
        kind = type(value)
        if (
            kind is str
            or kind is bytes
            or kind is list
            or kind is tuple
            or kind is dict
            or kind is set
            or kind is frozenset
        ):
            self.budget.check_bytes(sys.getsizeof(value), what)

    def _copying_method(self, obj: object, name: str) -> object | None:
        """Methods whose result is a copy of their source, charged to the budget."""
        if name in _COPYING_METHODS and _is_any(obj, _COPYING_METHODS[name]):
            method = getattr(obj, name)
            what = f"{type(obj).__name__}.{name}()"

            def copying(*args: object) -> object:
                if type(obj) is str and name in _CASE_METHODS and not obj.isascii():
                    # Case mapping can triple a character ('ΐ'.upper() is 3) and widen it
                    # ('ÿ'.upper() is 'Ÿ', 2 bytes): that bound is checked against the
                    # one-call cap before the call, and the result's real size charged.
                    self.budget.check_total_bytes(text_bytes(3 * len(obj), 4), what)
                    changed: object = method(*args)
                    self._check_copy(changed, what)
                    return changed
                self._check_copy(obj, what)
                result: object = method(*args)
                return result

            return copying
        if name == "index" and type(obj) is list:
            find = obj.index

            def index(value: object, start: int = 0, stop: int = sys.maxsize) -> int:
                return without_repr(find, "list.index(x): x not in list", value, start, stop)

            return index
        return None

    def _text_method(self, obj: object, name: str) -> object | None:
        """join, padding, expandtabs and replace of str (join of bytes too), each checked
        and charged at its result's bytes, its widest character's width included."""
        budget = self.budget
        if name == "join" and id(type(obj)) in TEXT_IDS:
            sep = obj

            def join(iterable: Iterable[object]) -> object:
                items = self._sandbox.materialize(iterable, "join()")
                total = 0
                width = 1
                for item in items:
                    if type(item) is str:
                        total += len(item)
                        if not item.isascii():
                            width = max(width, str_width(item))
                    elif type(item) is bytes:
                        total += len(item)
                total += _len(sep) * max(len(items) - 1, 0)
                budget.check_bytes(sized_bytes(cast("str", sep), total, width), "join()")
                joined: object = getattr(sep, "join")(items)  # noqa: B009 - str or bytes join
                return joined

            return join
        if name in ("center", "ljust", "rjust", "zfill") and type(obj) is str:
            method = getattr(obj, name)
            text = obj

            def pad(width: int, *args: object) -> object:
                fill = args[0] if args and type(args[0]) is str else " "
                wide = str_width(fill)
                budget.check_bytes(sized_bytes(text, int(width), wide), f"str.{name}()")
                return method(width, *args)

            return pad
        if name == "expandtabs" and type(obj) is str:
            text = obj

            def expandtabs(tabsize: int = 8) -> str:
                size = sized_bytes(text, len(text) * max(int(tabsize), 1))
                budget.check_bytes(size, "str.expandtabs()")
                return text.expandtabs(tabsize)

            return expandtabs
        if name == "replace" and type(obj) is str:
            text = obj

            def replace(old: str, new: str, count: int = -1) -> str:
                hits = text.count(old) if count < 0 else min(count, text.count(old))
                if old == "":
                    hits = len(text) + 1
                wide = str_width(new) if type(new) is str else 1
                size = sized_bytes(text, len(text) + hits * _len(new), wide)
                budget.check_bytes(size, "str.replace()")
                return text.replace(old, new, count)

            return replace
        return None

    def sized(self, obj: object, name: str) -> object | None:
        budget = self.budget
        copying = self._copying_method(obj, name)
        if copying is not None:
            return copying
        text_method = self._text_method(obj, name)
        if text_method is not None:
            return text_method
        if name in ("encode", "decode") and id(type(obj)) in TEXT_IDS:
            return self._codec_method(obj, name)
        if name == "hex" and type(obj) is bytes:
            data = obj

            def hexed(*args: object) -> str:
                # Charged per call, not when read: a method read once may be called many
                # times. With a separator, bytes.hex writes one after every byte group
                # (3 characters a byte at most, for a 1-character separator and groups of 1).
                each = 3 if args else 2
                budget.check_bytes(text_bytes(each * len(data), 1), "bytes.hex()")
                return data.hex(*args)  # type: ignore[arg-type]

            return hexed
        if name in ("split", "rsplit", "splitlines") and id(type(obj)) in TEXT_IDS:
            return self._split_method(obj, name)
        if name == "format" and type(obj) is str:
            return self._sandbox.formatting.str_format(obj)
        if name in _BULK_METHODS and id(type(obj)) in _BULK_IDS:
            method = getattr(obj, name)

            def bulk(*others: object, **kwargs: object) -> object:
                if type(obj) is dict:
                    pairs = [self._sandbox.as_pairs(o) for o in others]
                    self._check_merged_keys(pairs)
                    for source in pairs:
                        # As for sets below: each key is compared with its group here.
                        incoming = (
                            list(source)
                            if type(source) is dict
                            else [key for key, _ in cast("list[tuple[object, object]]", source)]
                        )
                        self.comparisons.check_lookups(obj, incoming, f"{name}()")
                    added = sum(_len(p) for p in pairs) + len(kwargs)
                    budget.check_items(added, f"{name}()", item_bytes=DICT_ITEM_BYTES)
                    return method(*pairs, **kwargs)
                if type(obj) is list:
                    return method(*(self._sandbox.materialize(o, f"{name}()") for o in others))
                keys = [self._sandbox.keys(o) for o in others]
                for items in keys:
                    # Keys sharing a hash among themselves may share it with a group of
                    # this set too (grown an add at a time): each is compared with that
                    # group (check_lookups).
                    self.comparisons.check_lookups(obj, items, f"{name}()")
                if name in _SET_RESULTS or name in _SET_GROWS:
                    # A new or grown set: a table slot for each item it may hold, first.
                    held = _len(obj) if name in _SET_RESULTS else 0
                    if name in _SET_GROWS:
                        held += sum(len(k) for k in keys)
                    budget.check_items(held, f"{name}()", item_bytes=SET_ITEM_BYTES)
                return method(*keys)

            return bulk
        if name in _KEYED_METHODS and id(type(obj)) in _KEYED_IDS:
            method = getattr(obj, name)

            def keyed(key: object, *rest: object) -> object:
                return method(self._sandbox.key(key), *rest)

            return keyed
        if name in ("keys", "values", "items") and type(obj) is dict:
            # Lists, not live views: a view's set operators (keys() & x) hash x in C.
            method = getattr(obj, name)
            made = PAIR_BYTES if name == "items" else 0

            def listed() -> list[object]:
                budget.check_items(_len(obj), f"dict.{name}()", item_bytes=made)
                return list(method())

            return listed
        return None

    def _check_merged_keys(self, sources: list[object]) -> None:
        """dict.update(other): each key of another dict is compared with an equal, distinct
        key of this one in the same C call (pairs were checked by Sandbox.as_pairs)."""
        for source in sources:
            if type(source) is dict:
                self.comparisons.check_keys(list(source), "dict.update()")

    def _codec_method(self, obj: object, name: str) -> Callable[..., object]:
        method = getattr(obj, name)
        size = _len(obj)

        def convert(encoding: str = "utf-8", errors: str = "strict") -> object:
            self.check_codec(encoding, errors)
            # backslashreplace writes up to 10 characters for one; UTF-8 up to 4 bytes; a
            # decoded character takes up to 4 bytes (PEP 393).
            self.budget.check_bytes(
                text_bytes(size * (10 if errors == "backslashreplace" else 4), 1), name
            )
            result: object = method(encoding, errors)
            return result

        return convert

    def _split_method(self, obj: object, name: str) -> Callable[..., object]:
        """split/rsplit/splitlines, refused when they would make more than max_items parts."""
        method = getattr(obj, name)
        text = cast("str | bytes", obj)
        cap = self.budget.max_items

        # Each part is a new string: its header and slot, plus all the text copied once.
        each = part_bytes(text)
        whole = sys.getsizeof(text)

        def splitlines(*args: object, **kwargs: object) -> object:
            lines = _line_bound(text)
            self.budget.check_total_bytes(whole + lines * each, "splitlines()")
            self.budget.check_items(lines, "splitlines()", item_bytes=each - POINTER_BYTES)
            self.budget.check_bytes(whole, "splitlines()")
            result: object = method(*args, **kwargs)
            return result

        # A whitespace split is bounded before the call only loosely (a part per two
        # characters), so that bound is checked against the one-call cap, and what the
        # split really made is charged once it returns: charging the loose bound would make
        # an honest loop over many short lines run out of budget.

        def split(sep: object = None, maxsplit: object = -1) -> object:
            # Split at most cap times: if that leaves the remainder unsplit, the whole split
            # would have been over the cap, and only cap + 1 parts were ever built.
            wanted = maxsplit if type(maxsplit) is int and maxsplit >= 0 else None
            limit = cap if wanted is None else min(wanted, cap)
            # Parts, bounded before the call: a C count of the separator, or for whitespace
            # one part per two characters at most.
            if type(sep) is type(text) and _len(sep):
                bound = text.count(sep) + 1  # type: ignore[arg-type]
            else:
                bound = len(text) // 2 + 1
            self.budget.check_total_bytes(whole + min(bound, limit + 1) * each, f"{name}()")
            parts: list[object] = method(sep, limit)
            if len(parts) > cap and (wanted is None or wanted > cap):
                self.budget.check_items(cap + 1, f"{name}()")
            self.budget.check_items(len(parts), f"{name}()", item_bytes=each - POINTER_BYTES)
            self.budget.check_bytes(whole, f"{name}()")
            return parts

        return splitlines if name == "splitlines" else split

    def check_codec(self, encoding: object, errors: object) -> None:
        # Any other codec name makes CPython import an encodings module into the host.
        if type(encoding) is not str or type(errors) is not str:
            self.state.deny("codec", "codec and errors must be names")
        if encoding not in _CODECS or errors not in _CODEC_ERRORS:
            self.state.deny("codec", "only utf-8, ascii and latin-1 codecs are available")


def _is_any(value: object, kinds: tuple[type, ...]) -> bool:
    """``type(value)`` is one of ``kinds``, by identity (no metaclass __eq__ runs)."""
    kind = type(value)
    return any(kind is k for k in kinds)


_BULK_METHODS: Final = _names(
    "extend update union intersection difference symmetric_difference issubset issuperset "
    "isdisjoint"
)
_KEYED_METHODS: Final = frozenset({"get", "pop", "setdefault", "add", "discard", "remove"})
# Every name OwnMethods.sized may wrap, for some type; other safe methods are returned as they
# are without asking it (a test checks it returns None for all of them).
# Methods that return a copy up to a few times their source's size: charged to the budget.
_CASE_METHODS: Final = _names("upper lower casefold swapcase title capitalize")
# Methods whose result is at most their source again (a trim, a prefix cut, the two sides of
# a partition): charged the source's size. Without it, a loop keeping s.strip() of a 15 MB
# string built gigabytes uncharged.
_TRIM_METHODS: Final = _names("strip lstrip rstrip removeprefix removesuffix partition rpartition")
_COPYING_METHODS: Final[dict[str, tuple[type, ...]]] = {
    "copy": (list, dict, set, frozenset),
    **dict.fromkeys(_CASE_METHODS, (str, bytes)),
    **dict.fromkeys(_TRIM_METHODS, (str, bytes)),
}
# Set methods that return a new set, and those whose result can hold the others' items.
_SET_RESULTS: Final = _names("union intersection difference symmetric_difference")
_SET_GROWS: Final = _names("union symmetric_difference update")
SIZED_METHOD_NAMES: Final = (
    _names(
        "join center ljust rjust zfill expandtabs replace encode decode hex split rsplit "
        "splitlines format keys values items index"
    )
    | _BULK_METHODS
    | _KEYED_METHODS
    | frozenset(_COPYING_METHODS)
)


def sized_names(kind: type) -> frozenset[str]:
    """The names ``OwnMethods.sized`` may wrap for a value of exactly ``kind``: the keyed
    ones (``pop``, ``get`` …) only for the types whose methods hash a key."""
    if id(kind) in _KEYED_IDS:
        return SIZED_METHOD_NAMES
    return SIZED_METHOD_NAMES - _KEYED_METHODS


_CODECS: Final = frozenset({"utf-8", "utf8", "UTF-8", "ascii", "latin-1", "latin1"})
_CODEC_ERRORS: Final = frozenset({"strict", "replace", "ignore", "backslashreplace"})


# Every character str.splitlines() breaks on (bytes break on the first two only).
_LINE_BREAKS: Final = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _line_bound(text: str | bytes) -> int:
    """At most one more line than there are line-break characters, by C counts."""
    if isinstance(text, bytes):
        return text.count(b"\n") + text.count(b"\r") + 1
    return sum(text.count(mark) for mark in _LINE_BREAKS) + 1


def _len(value: object) -> int:
    return len(cast("Sized", value))
