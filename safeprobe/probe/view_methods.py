"""The builtin containers' read methods a probe may call on a view: keys, values, items,
get and copy of a mapping, count and index of a sequence, a Counter's most_common and
total, and the reads of a ChainMap (its maps, an item, its merged pairs).

Promise: every method here reads, none writes or runs host code: items come from the view's
charged snapshots (views.py), keys are compared only when they are plain (host_keys.py),
values compared only when their equality is a builtin's, and each value a method hands out
is wrapped or redacted as an item read would be. ``ContainerReads`` is a base class of
``View`` and uses only the view protocol (the ``sp_*`` members, see views.py). Threat
model: SECURITY.md, "Host state" and "Redaction".
"""

from __future__ import annotations

import collections
import operator
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final, cast

from safeprobe.probe.containers import KIND_MAPPING, KIND_SEQUENCE, KIND_SET
from safeprobe.probe.host_keys import NOT_FOUND, find_key, find_name, is_plain_key, plain_keys_only
from safeprobe.probe.redaction import REDACTED
from safeprobe.probe.scalars import is_scalar
from safeprobe.probe.static_reads import instance_dict, is_instance
from safeprobe.probe.values import is_closed

# A snapshot pair's key and value, taken in C.
_KEY: Final = operator.itemgetter(0)
_VALUE: Final = operator.itemgetter(1)

if TYPE_CHECKING:
    from safeprobe.probe.view_context import ViewContext

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


def plain_equal(host_value: object, probe_value: object) -> bool:
    """Whether a host value equals a probe's, compared only when both are scalars (whose
    equality is a builtin's), else by identity: no host ``__eq__`` runs."""
    if is_scalar(host_value) and is_scalar(probe_value):
        return bool(host_value == probe_value)
    return host_value is probe_value


class ContainerReads:
    """The read methods of the builtin containers, as a base class of ``View``."""

    __slots__ = ()

    if TYPE_CHECKING:
        # The view protocol these methods use; View (views.py) defines each of them.
        sp_obj: object
        sp_path: tuple[str, ...]
        sp_ctx: ViewContext
        sp_kind: str

        def __init__(self, obj: object, path: tuple[str, ...], ctx: ViewContext) -> None: ...
        def sp_require_full(self, what: str) -> None: ...
        def sp_getitem(self, key: object) -> object: ...
        def sp_wrap(self, value: object, path: tuple[str, ...]) -> object: ...
        def sp_wrap_each(self, values: Iterable[object]) -> list[object]: ...
        def sp_pairs(self) -> list[tuple[object, object]]: ...
        def sp_snapshot(self, *, wrapped: bool = True) -> list[object]: ...
        def sp_check_count(self, size: int, what: str, *, wrapped: bool = True) -> None: ...

    def sp_methods(self) -> frozenset[str]:
        """The container methods this view answers (none for a plain object)."""
        kind = self.sp_kind
        if kind == KIND_MAPPING:
            if is_instance(self.sp_obj, collections.Counter):
                return COUNTER_METHODS
            return MAPPING_METHODS
        if kind == KIND_SEQUENCE:
            return SEQUENCE_METHODS
        if kind == KIND_SET:
            return SET_METHODS
        if type(self.sp_obj) is collections.ChainMap:
            return CHAIN_METHODS
        return frozenset()

    def sp_chain_maps(self) -> list[dict[object, object]]:
        """A ChainMap's maps (a list of dicts, read from its instance dict)."""
        instance = instance_dict(self.sp_obj, self.sp_ctx.keys)
        maps = find_name(instance, "maps") if instance is not None else NOT_FOUND
        if type(maps) is not list:
            raise TypeError("ChainMap without a list of maps")
        found = list.copy(cast("list[object]", maps))
        if not all(is_instance(m, dict) for m in found):
            raise TypeError("ChainMap of a map that is not a dict")
        return cast("list[dict[object, object]]", found)

    def sp_chain_item(self, key: object) -> object:
        """``chain[key]``: the first of its maps that holds the key."""
        if not is_plain_key(key):
            self.sp_ctx.deny("key-type", "mapping keys must be str, int, float, bytes …")
        for mapping in self.sp_chain_maps():
            value = find_key(mapping, key, self.sp_ctx.keys)
            if value is not NOT_FOUND:
                if self.sp_ctx.redactor.hides(key):
                    return REDACTED
                return self.sp_wrap(value, self.sp_path)
        raise KeyError(key)

    def sp_chain_pairs(self) -> list[tuple[object, object]]:
        """A ChainMap's pairs in its own order (the last map's keys first, as
        ChainMap.__iter__ builds it), each key's value from the first map holding it.
        Plain keys only: they are hashed to merge the maps."""
        maps = self.sp_chain_maps()
        self.sp_check_count(sum(dict.__len__(m) for m in maps), "iteration")
        if not all(plain_keys_only(m) for m in maps):
            self.sp_ctx.deny("key-type", "a ChainMap's keys must be str, int, float, bytes …")
        order: dict[object, None] = {}
        for mapping in reversed(maps):
            order.update(dict.fromkeys(dict.keys(mapping)))
        pairs: list[tuple[object, object]] = []
        for key in order:
            for mapping in maps:
                value = dict.get(mapping, key, NOT_FOUND)
                if value is not NOT_FOUND:
                    pairs.append((key, value))
                    break
        return pairs

    def sp_m_keys(self) -> list[object]:
        return self.sp_wrap_each(list(map(_KEY, self.sp_pairs())))

    def sp_m_values(self) -> list[object]:
        pairs = self.sp_pairs()
        return self._values_of(list(map(_KEY, pairs)), list(map(_VALUE, pairs)))

    def sp_m_items(self) -> list[tuple[object, object]]:
        pairs = self.sp_pairs()
        keys, values = list(map(_KEY, pairs)), list(map(_VALUE, pairs))
        if self.sp_ctx.redactor.none_hidden(keys):
            # Every key an exact str (none_hidden checks it) and none secret: each key and
            # each value's marker is as it stands; only the values may need views.
            wrapped, shown = keys, self.sp_wrap_each(values)
        else:
            wrapped, shown = self.sp_wrap_each(keys), self._values_of(keys, values)
        if wrapped is keys and shown is values:
            # Every key and value is handed over as it stands (exact scalars, nothing
            # hidden): the snapshot's own pairs, exact tuples, are the answer.
            return pairs
        return list(zip(wrapped, shown, strict=True))

    def _values_of(self, keys: list[object], values: list[object]) -> list[object]:
        """Each value as the probe sees it (``values`` itself when every one is handed over
        as it stands): the marker if its key is secret."""
        path, ctx = self.sp_path, self.sp_ctx
        if ctx.redactor.none_hidden(keys):
            return self.sp_wrap_each(values)
        hides, view = ctx.redactor.hides, type(self)
        # The redaction test and wrap() inlined: this runs for every pair of every walk.
        return [
            REDACTED
            if hides(k)
            else (v if is_scalar(v) or v is REDACTED or is_closed(v) else view(v, path, ctx))
            for k, v in zip(keys, values, strict=True)
        ]

    def sp_m_get(self, key: object, default: object = None) -> object:
        try:
            return self.sp_getitem(key)
        except KeyError:
            return default

    def sp_m_copy(self) -> object:
        if self.sp_kind == KIND_MAPPING:
            return dict(self.sp_m_items())
        values = [self.sp_wrap(v, self.sp_path) for v in self.sp_snapshot()]
        if self.sp_kind == KIND_SET:
            return {v for v in values if (is_scalar(v) or type(v) is type(self))}
        return values

    def sp_m_most_common(self, n: object = None) -> list[tuple[object, object]]:
        """Counter.most_common: pairs by count, highest first, ties in insertion order
        (what sorted(..., reverse=True) and heapq.nlargest both give). Counts must be
        numbers: comparing any other value would run its code."""
        if n is not None and type(n) is not int:
            raise TypeError("most_common() takes an int")
        pairs = list(zip(self.sp_m_keys(), self.sp_m_values(), strict=True))
        if not all(id(type(count)) in _COUNT_TYPE_IDS for _, count in pairs):
            raise TypeError("most_common() of counts that are not numbers")
        ranked = sorted(pairs, key=operator.itemgetter(1), reverse=True)
        return ranked if n is None else ranked[: max(n, 0)]

    def sp_m_total(self) -> object:
        """Counter.total: the sum of the counts, numbers only."""
        counts = self.sp_m_values()
        if not all(id(type(count)) in _COUNT_TYPE_IDS for count in counts):
            raise TypeError("total() of counts that are not numbers")
        return sum(cast("list[int]", counts))

    def sp_m_count(self, value: object) -> int:
        return sum(1 for v in self.sp_snapshot(wrapped=False) if plain_equal(v, value))

    def sp_m_index(self, value: object) -> int:
        for index, v in enumerate(self.sp_snapshot(wrapped=False)):
            if plain_equal(v, value):
                return index
        raise ValueError("value is not in the sequence")
