"""Read-only views of host objects.

Promise: a probe can read only the attribute paths the policy allows (allowlist.py), and no
view method writes to the object it wraps or runs host code, except the properties and
zero-argument methods the policy names under ``evaluate`` (evaluation.py). Attributes are
read statically (static_reads.py), host dicts are searched without comparing with a host key
(host_keys.py), containers are read through the builtin types' own C methods and copied
atomically before iteration (containers.py); names matching the redaction patterns come out
as the fixed REDACTED marker on every path (item, attribute, iteration, repr, str, format;
redaction.py). Threat model: SECURITY.md, "Host state", "Allowlist" and "Redaction".

Access paths are tuples of attribute names from the exposure's target. Item access is
transparent to the path: ``data["k"].x`` is the path ``data.x``. The target itself and
every path the allowlist matches are *full* (items, iteration and rendering allowed); a
strict prefix of an allowed path is *traverse* (only attribute reads that lead towards an
allowed path).
"""

from __future__ import annotations

import collections
import operator
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, NoReturn, cast

from safeprobe.errors import ProbeDenied
from safeprobe.probe.allowlist import Access, Allowlist
from safeprobe.probe.budget import Budget, TickingIterator
from safeprobe.probe.containers import (
    BUFFER_ATTRIBUTES,
    BUFFER_BYTES_METHODS,
    KIND_BUFFER,
    KIND_MAPPING,
    KIND_OBJECT,
    KIND_SEQUENCE,
    KIND_SET,
    buffer_bytes,
    buffer_nbytes,
    container_length,
    hide_slots,
    kind_of,
    secret_field_slots,
    snapshot_items,
    snapshot_pairs,
)
from safeprobe.probe.host_keys import (
    NOT_FOUND,
    KeyMemo,
    find_key,
    find_name,
    is_plain_key,
    plain_keys_only,
)
from safeprobe.probe.redaction import REDACTED, Redactor
from safeprobe.probe.render import RenderLimits, render, type_label
from safeprobe.probe.scalars import is_scalar
from safeprobe.probe.sizes import PAIR_BYTES, POINTER_BYTES
from safeprobe.probe.static_reads import (
    instance_dict,
    is_instance,
    read_attribute,
    static_lookup,
    static_owner,
)
from safeprobe.probe.values import is_closed

if TYPE_CHECKING:
    from safeprobe.probe.evaluation import Evaluator

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
    # The properties and zero-argument methods the policy names under ``evaluate``;
    # None when it names none, so no host code can run (evaluation.py).
    evaluator: Evaluator | None = None

    def deny(self, rule: str, problem: str) -> NoReturn:
        error = ProbeDenied(rule, problem)
        self.on_denied(error)
        raise error

    def dotted(self, path: tuple[str, ...]) -> str:
        return ".".join((self.exposure, *path))


class View:
    """A read-only window on one host value at one access path.

    Its ``_sp_*`` members are its internal protocol: the sandbox, the comparison guards and
    the renderer (view_render.py) call them, which is why other probe modules reach them. A
    probe cannot: its attribute reads go through the sandbox's ``_getattr_`` to
    ``_sp_getattr``, never through Python's getattr on a view, and names starting with an
    underscore are refused at compile time.
    """

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
            if found is not NOT_FOUND:
                return found
        child = (*self._sp_path, name)
        if ctx.allowlist.access(child) == Access.NONE:
            ctx.deny("allowlist", f"{ctx.dotted(child)} is not in the allowlist")
        try:
            value = read_attribute(self._sp_obj, name, ctx.keys)
        except ProbeDenied as error:
            # Host code: run only if the policy names this very path under evaluate.
            if ctx.evaluator is None or not ctx.evaluator.names(child):
                ctx.on_denied(error)
                raise
            return ctx.evaluator.evaluate(self._sp_obj, child, ctx)
        if ctx.redactor.hides(name):
            return REDACTED
        return wrap(value, child, ctx)

    def _sp_container_attribute(self, name: str) -> object:
        """A container's read methods and C getters (deque.maxlen, a buffer's), or NOT_FOUND."""
        if self._sp_kind == KIND_BUFFER:
            return self._sp_buffer_attribute(name)
        if name in self._sp_methods():
            self._sp_require_full(f"method {name}()")
            bound: object = getattr(self, f"_sp_m_{name}")
            return bound
        if name == "maxlen" and is_instance(self._sp_obj, collections.deque):
            self._sp_require_full("maxlen")
            # deque's own C getter: an int or None.
            maxlen: object = collections.deque.__dict__["maxlen"].__get__(self._sp_obj)
            return maxlen
        return NOT_FOUND

    def _sp_methods(self) -> frozenset[str]:
        """The container methods this view answers (none for a plain object)."""
        kind = self._sp_kind
        if kind == KIND_MAPPING:
            if is_instance(self._sp_obj, collections.Counter):
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
        if name not in BUFFER_ATTRIBUTES[id(type(obj))]:
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
            return name in BUFFER_ATTRIBUTES[id(type(obj))] or name in BUFFER_BYTES_METHODS
        if name in self._sp_methods():
            return self._sp_access() == Access.FULL
        if self._sp_ctx.allowlist.access((*self._sp_path, name)) == Access.NONE:
            return False
        if static_lookup(type(obj), name, self._sp_ctx.keys) is not NOT_FOUND:
            return True
        instance = instance_dict(obj, self._sp_ctx.keys)
        return instance is not None and find_name(instance, name) is not NOT_FOUND

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
            if is_instance(obj, list):
                return self._sp_wrap(
                    list.__getitem__(cast("list[object]", obj), index), self._sp_path
                )
            if is_instance(obj, tuple):
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
        if value is NOT_FOUND:
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
        instance = instance_dict(self._sp_obj, self._sp_ctx.keys)
        maps = find_name(instance, "maps") if instance is not None else NOT_FOUND
        if type(maps) is not list:
            raise TypeError("ChainMap without a list of maps")
        found = list.copy(cast("list[object]", maps))
        if not all(is_instance(m, dict) for m in found):
            raise TypeError("ChainMap of a map that is not a dict")
        return cast("list[dict[object, object]]", found)

    def _sp_chain_item(self, key: object) -> object:
        """``chain[key]``: the first of its maps that holds the key."""
        if not is_plain_key(key):
            self._sp_ctx.deny("key-type", "mapping keys must be str, int, float, bytes …")
        for mapping in self._sp_chain_maps():
            value = find_key(mapping, key, self._sp_ctx.keys)
            if value is not NOT_FOUND:
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
        if not all(plain_keys_only(m) for m in maps):
            self._sp_ctx.deny("key-type", "a ChainMap's keys must be str, int, float, bytes …")
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

    def _sp_slice(self, key: slice) -> object:
        """A copy of the slice, each item wrapped: its length is known before anything is
        copied (range() does the slice arithmetic in O(1)), so a slice over max_items is
        refused and one within it is charged first; only the slice is copied, in one C
        call, and the wrapping ticks per item."""
        obj, ctx = self._sp_obj, self._sp_ctx
        count = len(range(container_length(obj, self._sp_kind))[key])
        self._sp_check_count(count, "a slice")
        if is_instance(obj, list):
            part: list[object] | tuple[object, ...] = list.__getitem__(
                cast("list[object]", obj), key
            )
        elif is_instance(obj, tuple):
            part = tuple.__getitem__(cast("tuple[object, ...]", obj), key)
        else:  # a deque has no slices: it is copied whole, under the same cap
            self._sp_check_size("a slice")
            part = snapshot_items(obj, self._sp_kind)[key]
        slots = secret_field_slots(obj, ctx.redactor)
        if slots:
            part = list(part)
            hide_slots(part, range(container_length(obj, self._sp_kind))[key], slots)
        items: Iterable[object] = part
        if ctx.budget is not None:
            items = TickingIterator(iter(part), ctx.budget)
        picked = _wrap_each(items, self._sp_path, ctx)
        return tuple(picked) if is_instance(obj, tuple) else picked

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
            hide_slots(items, range(len(items)), slots)
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
            return (
                is_plain_key(item) and find_key(mapping, item, self._sp_ctx.keys) is not NOT_FOUND
            )
        if type(self._sp_obj) is collections.ChainMap:
            return is_plain_key(item) and any(
                find_key(m, item, self._sp_ctx.keys) is not NOT_FOUND for m in self._sp_chain_maps()
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
        if kind not in (KIND_MAPPING, KIND_SEQUENCE):
            return None  # an object, a set, a buffer: compared by identity
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
        base = tuple if is_instance(obj, tuple) else list if is_instance(obj, list) else None
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


# Views render as plain Python would print the host value (view_render.py registers it).
from safeprobe.probe import view_render as _view_render  # noqa: E402, F401
