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
from itertools import repeat
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
    buffer_bytes,
    buffer_nbytes,
    container_length,
    hide_slots,
    kind_of_type,
    secret_field_slots,
    snapshot_items,
    snapshot_pairs,
)
from safeprobe.probe.host_keys import (
    NOT_FOUND,
    KeyMemo,
    builtin_keys_only,
    find_key,
    find_name,
    is_plain_key,
)
from safeprobe.probe.redaction import REDACTED, Redactor
from safeprobe.probe.render import RenderLimits, render, type_label
from safeprobe.probe.scalars import is_scalar
from safeprobe.probe.sizes import PAIR_BYTES, POINTER_BYTES
from safeprobe.probe.static_reads import (
    DictGetter,
    SlotGetter,
    first_reader,
    instance_dict,
    is_instance,
    read_attribute,
    static_lookup,
    static_owner,
)
from safeprobe.probe.values import is_closed, may_be_closed
from safeprobe.probe.view_methods import ContainerReads, plain_equal

if TYPE_CHECKING:
    from safeprobe.probe.evaluation import Evaluator


class ReadPlan:
    """What reading ``name`` at one access path needs, found at its first read in an
    attempt: the child path, whether the redactor hides the name, and, for instances of
    exactly ``kind`` (a plain object, not a container), the C getter ``read_attribute``
    would look in first (static_reads.first_reader). Held by ViewContext.reads."""

    __slots__ = ("child", "dict_get", "hidden", "kind", "path", "slot_get")

    def __init__(self, path: tuple[str, ...], child: tuple[str, ...], hidden: bool) -> None:
        self.path = path  # held: the key is its id
        self.child = child
        self.hidden = hidden
        self.kind: type | None = None
        self.dict_get: DictGetter | None = None
        self.slot_get: SlotGetter | None = None


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
    # What a read of (path, name) needs (View.sp_getattr): by the path tuple's id.
    reads: dict[tuple[int, str], ReadPlan] = field(default_factory=dict)
    # The plan of each name's latest read (planned_getattr looks here first).
    latest: dict[str, ReadPlan] = field(default_factory=dict)
    # type_facts' and access' answers, by the type's or path's id, the key object held.
    kinds: dict[int, tuple[type, str, bool]] = field(default_factory=dict)
    accesses: dict[int, tuple[tuple[str, ...], str]] = field(default_factory=dict)

    def type_facts(self, kind: type) -> tuple[type, str, bool]:
        """``kind`` (held), its container kind (containers.kind_of) and whether its values
        may be closed ones (values.may_be_closed): functions of the exact type, found once
        per type per attempt (a walk makes a view per host object it meets)."""
        known = self.kinds.get(id(kind))
        if known is None or known[0] is not kind:
            known = self.kinds[id(kind)] = (kind, kind_of_type(kind), may_be_closed(kind))
        return known

    def access(self, path: tuple[str, ...]) -> str:
        """The allowlist's answer for ``path``, found once per path tuple per attempt."""
        known = self.accesses.get(id(path))
        if known is None or known[0] is not path:
            known = self.accesses[id(path)] = (path, self.allowlist.access(path))
        return known[1]

    def deny(self, rule: str, problem: str) -> NoReturn:
        error = ProbeDenied(rule, problem)
        self.on_denied(error)
        raise error

    def dotted(self, path: tuple[str, ...]) -> str:
        return ".".join((self.exposure, *path))


class View(ContainerReads):
    """A read-only window on one host value at one access path.

    The view protocol is its ``sp_*`` members (here and in ContainerReads, view_methods.py):
    the sandbox, the builtins, the formatting and comparison guards and the renderer
    (view_render.py) call them. ``sp_obj``, ``sp_path``, ``sp_ctx`` and ``sp_kind`` are the
    host value, its access path, the attempt's ViewContext and its container kind;
    ``sp_getattr``, ``sp_getitem``, ``sp_has``, ``sp_iter_values``, ``sp_pairs``, ``sp_bytes``
    and ``sp_m_<method>`` are the guarded reads; ``sp_refuse_write`` denies a write. A probe
    never reaches them: every attribute read of a view, ``view.x`` and ``getattr(view, "x")``
    alike, goes through the sandbox's ``_getattr_`` to ``sp_getattr``, which reads the
    *host* value's attribute ``x`` under the allowlist, never the view's own; no probe path
    applies Python's getattr to a view (tests/adversarial/test_view_protocol_names.py).
    ``_sp_*`` members are private to this module.
    """

    __slots__ = ("sp_ctx", "sp_kind", "sp_obj", "sp_path")

    sp_obj: object
    sp_path: tuple[str, ...]
    sp_ctx: ViewContext
    sp_kind: str

    def __init__(self, obj: object, path: tuple[str, ...], ctx: ViewContext) -> None:
        # Through the slots' own C setters (this class's __setattr__ refuses every write).
        _SET_OBJ(self, obj)
        _SET_PATH(self, path)
        _SET_CTX(self, ctx)
        _SET_KIND(self, ctx.type_facts(type(obj))[1])

    # -- reads -------------------------------------------------------------------------

    def _sp_access(self) -> str:
        return self.sp_ctx.access(self.sp_path)

    def sp_require_full(self, what: str) -> None:
        if self._sp_access() != Access.FULL:
            self.sp_ctx.deny(
                "allowlist", f"{what} of {self.sp_ctx.dotted(self.sp_path)} is not allowed"
            )

    def sp_wrap(self, value: object, path: tuple[str, ...]) -> object:
        return wrap(value, path, self.sp_ctx)

    def sp_wrap_each(self, values: Iterable[object]) -> list[object]:
        return _wrap_each(values, self.sp_path, self.sp_ctx)

    def sp_getattr(self, name: str) -> object:
        """Attribute read by the probe (through the sandbox's ``_getattr_``): container
        methods, the allowlist, the class side, the evaluator. It makes the (path, name)
        plan that ``planned_getattr``'s fast path reads by."""
        ctx, path, obj = self.sp_ctx, self.sp_path, self.sp_obj
        if self.sp_kind != KIND_OBJECT or type(obj) is collections.ChainMap:
            found = self._sp_container_attribute(name)
            if found is not NOT_FOUND:
                return found
        # The allowlist's and the redactor's answers for (path, name) are pure: taken once
        # per attempt. Keyed by the path tuple's id, held and compared by identity (views
        # of one path share the tuple this makes), so no tuple is hashed per read.
        plan = ctx.reads.get((id(path), name))
        if plan is None or plan.path is not path:
            child = (*path, name)
            if ctx.allowlist.access(child) == Access.NONE:
                ctx.deny("allowlist", f"{ctx.dotted(child)} is not in the allowlist")
            plan = ctx.reads[(id(path), name)] = ReadPlan(path, child, ctx.redactor.hides(name))
        if (
            self.sp_kind == KIND_OBJECT
            and type(obj) is not collections.ChainMap
            and type(name) is str
            and not name.startswith("_")
        ):
            plan.kind = type(obj)
            plan.dict_get, plan.slot_get = first_reader(plan.kind, name, ctx.keys)
            ctx.latest[name] = plan
        try:
            value = read_attribute(obj, name, ctx.keys)
        except ProbeDenied as error:
            # Host code: run only if the policy names this very path under evaluate.
            if ctx.evaluator is None or not ctx.evaluator.names(plan.child):
                ctx.on_denied(error)
                raise
            return ctx.evaluator.evaluate(obj, plan.child, ctx)
        if plan.hidden:
            return REDACTED
        return wrap(value, plan.child, ctx)

    def _sp_container_attribute(self, name: str) -> object:
        """A container's read methods and C getters (deque.maxlen, a buffer's), or NOT_FOUND."""
        if self.sp_kind == KIND_BUFFER:
            return self._sp_buffer_attribute(name)
        if name in self.sp_methods():
            self.sp_require_full(f"method {name}()")
            bound: object = getattr(self, f"sp_m_{name}")
            return bound
        if name == "maxlen" and is_instance(self.sp_obj, collections.deque):
            self.sp_require_full("maxlen")
            # deque's own C getter: an int or None.
            maxlen: object = collections.deque.__dict__["maxlen"].__get__(self.sp_obj)
            return maxlen
        return NOT_FOUND

    def _sp_buffer_attribute(self, name: str) -> object:
        """A bytearray's, memoryview's or array's C getters, and copies charged first."""
        self.sp_require_full(f"attribute {name}")
        obj = self.sp_obj
        if name not in BUFFER_ATTRIBUTES[id(type(obj))]:
            self.sp_ctx.deny(
                "attribute", f"'{name}' of {type_label(type(obj))} values is not available"
            )
        if name == "tolist":
            return lambda: self.sp_snapshot(wrapped=False)
        if name == "tobytes":
            return self.sp_bytes
        value: object = type(obj).__dict__[name].__get__(obj)
        return value

    def sp_bytes(self) -> bytes | None:
        """The bytes of a buffer view, copied and charged; None for any other view."""
        if self.sp_kind != KIND_BUFFER:
            return None
        self.sp_require_full("bytes()")
        size = buffer_nbytes(self.sp_obj)
        if self.sp_ctx.budget is not None:
            self.sp_ctx.budget.check_bytes(size + 33, "bytes()")
        return buffer_bytes(self.sp_obj)

    def sp_has(self, name: str) -> bool:
        """Whether a read of ``name`` would be allowed and find something (hasattr)."""
        kind, obj = self.sp_kind, self.sp_obj
        if kind == KIND_BUFFER:
            return name in BUFFER_ATTRIBUTES[id(type(obj))] or name in BUFFER_BYTES_METHODS
        if name in self.sp_methods():
            return self._sp_access() == Access.FULL
        if self.sp_ctx.allowlist.access((*self.sp_path, name)) == Access.NONE:
            return False
        if static_lookup(type(obj), name, self.sp_ctx.keys) is not NOT_FOUND:
            return True
        instance = instance_dict(obj, self.sp_ctx.keys)
        return instance is not None and find_name(instance, name) is not NOT_FOUND

    def sp_getitem(self, key: object) -> object:
        self.sp_require_full("item access")
        obj, kind = self.sp_obj, self.sp_kind
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
                return self.sp_wrap(
                    list.__getitem__(cast("list[object]", obj), index), self.sp_path
                )
            if is_instance(obj, tuple):
                item = tuple.__getitem__(cast("tuple[object, ...]", obj), index)
                slots = secret_field_slots(obj, self.sp_ctx.redactor)
                if slots and range(container_length(obj, kind))[index] in slots:
                    return REDACTED
                return self.sp_wrap(item, self.sp_path)
            return self.sp_wrap(snapshot_items(obj, kind)[index], self.sp_path)
        if type(obj) is collections.ChainMap:
            return self.sp_chain_item(key)
        raise TypeError(f"'{type_label(type(obj))}' object is not subscriptable")

    def _sp_mapping_item(self, key: object) -> object:
        obj = self.sp_obj
        if not is_plain_key(key):
            self.sp_ctx.deny("key-type", "mapping keys must be str, int, float, bytes …")
        value = find_key(cast("dict[object, object]", obj), key, self.sp_ctx.keys)
        if value is NOT_FOUND:
            if static_owner(type(obj), "__missing__") is collections.Counter:
                return 0  # Counter's own __missing__: a count of nothing, nothing stored
            raise KeyError(key)
        if self.sp_ctx.redactor.hides(key):
            return REDACTED
        return self.sp_wrap(value, self.sp_path)

    def _sp_buffer_item(self, key: object) -> object:
        """``buf[i]`` (an int, float or character, by the buffer's own C method) or
        ``buf[a:b]`` (a copy, charged first; a memoryview's slice shares the buffer)."""
        obj = self.sp_obj
        if type(key) is slice:
            count = len(range(container_length(obj, KIND_BUFFER))[key])
            self.sp_check_count(count, "a slice", wrapped=False)
            part = type(obj).__getitem__(obj, key)  # type: ignore[index]
            return self.sp_wrap(part, self.sp_path)
        if type(key) is not int and type(key) is not bool:
            raise TypeError(f"{type_label(type(obj))} indices must be integers or slices")
        item: object = type(obj).__getitem__(obj, key)  # type: ignore[index]
        return item

    def _sp_slice(self, key: slice) -> object:
        """A copy of the slice, each item wrapped: its length is known before anything is
        copied (range() does the slice arithmetic in O(1)), so a slice over max_items is
        refused and one within it is charged first; only the slice is copied, in one C
        call, and the wrapping ticks per item."""
        obj, ctx = self.sp_obj, self.sp_ctx
        count = len(range(container_length(obj, self.sp_kind))[key])
        self.sp_check_count(count, "a slice")
        if is_instance(obj, list):
            part: list[object] | tuple[object, ...] = list.__getitem__(
                cast("list[object]", obj), key
            )
        elif is_instance(obj, tuple):
            part = tuple.__getitem__(cast("tuple[object, ...]", obj), key)
        else:  # a deque has no slices: it is copied whole, under the same cap
            self._sp_check_size("a slice")
            part = snapshot_items(obj, self.sp_kind)[key]
        slots = secret_field_slots(obj, ctx.redactor)
        if slots:
            part = list(part)
            hide_slots(part, range(container_length(obj, self.sp_kind))[key], slots)
        items: Iterable[object] = part
        if ctx.budget is not None:
            items = TickingIterator(iter(part), ctx.budget)
        picked = _wrap_each(items, self.sp_path, ctx)
        return tuple(picked) if is_instance(obj, tuple) else picked

    def _sp_check_size(self, what: str, *, wrapped: bool = True) -> None:
        self.sp_require_full(what)
        if self.sp_kind == KIND_OBJECT:
            raise TypeError(f"'{type_label(type(self.sp_obj))}' object is not iterable")
        self.sp_check_count(container_length(self.sp_obj, self.sp_kind), what, wrapped=wrapped)

    def sp_check_count(self, size: int, what: str, *, wrapped: bool = True) -> None:
        """Refuse a walk or copy of ``size`` items over max_items. One whose items are
        wrapped (iteration, copies, slices) is charged before it is made: the snapshot's
        slot, the wrapped list's slot and a view per item (a pair more for a mapping), made
        in one Python loop without a tick. A snapshot only compared against (``in``,
        count, index) is dropped at once: checked against the one-call cap, not charged."""
        ctx = self.sp_ctx
        if size > ctx.max_items:
            ctx.deny(
                "limits.max_items", f"container of {size} items is over the {ctx.max_items} cap"
            )
        if ctx.budget is None:
            return
        pair = PAIR_BYTES if self.sp_kind == KIND_MAPPING else 0
        if wrapped:
            ctx.budget.check_items(size, what, item_bytes=POINTER_BYTES + VIEW_BYTES + pair)
        else:
            ctx.budget.check_total_bytes(size * (POINTER_BYTES + pair), what)

    def sp_snapshot(self, *, wrapped: bool = True) -> list[object]:
        """The elements (keys, for a mapping), under the item cap; ``wrapped`` when the
        caller makes a view of each."""
        self._sp_check_size("iteration", wrapped=wrapped)
        if self.sp_kind == KIND_MAPPING:
            return [k for k, _ in snapshot_pairs(self.sp_obj)]
        items = snapshot_items(self.sp_obj, self.sp_kind)
        slots = secret_field_slots(self.sp_obj, self.sp_ctx.redactor)
        if slots:
            hide_slots(items, range(len(items)), slots)
        return items

    def sp_pairs(self) -> list[tuple[object, object]]:
        if type(self.sp_obj) is collections.ChainMap:
            self.sp_require_full("iteration")
            return self.sp_chain_pairs()
        self._sp_check_size("iteration")
        if self.sp_kind != KIND_MAPPING:
            raise TypeError(f"'{type_label(type(self.sp_obj))}' object is not a mapping")
        return snapshot_pairs(self.sp_obj)

    def sp_iter_values(self) -> Iterator[object]:
        """What ``for x in view`` yields: keys for mappings, wrapped elements otherwise."""
        obj = self.sp_obj
        if type(obj) is list:
            # sp_snapshot's steps for the most walked container, in their order: an exact
            # list has no named fields to hide and copies in one C call.
            self.sp_require_full("iteration")
            self.sp_check_count(list.__len__(obj), "iteration")
            return iter(_wrap_each(list.copy(obj), self.sp_path, self.sp_ctx))
        if type(obj) is collections.ChainMap:
            return iter(self.sp_m_keys())
        return iter(_wrap_each(self.sp_snapshot(), self.sp_path, self.sp_ctx))

    # -- what C code and the interpreter call directly -------------------------------------
    # These run when the probe uses an operator or a C-level path (``len``, ``in``,
    # ``{**view}``, ``*view``, f-strings), so each one is as guarded as the methods above.

    def __len__(self) -> int:
        self.sp_require_full("len()")
        if type(self.sp_obj) is collections.ChainMap:
            return len(self.sp_chain_pairs())
        if self.sp_kind == KIND_OBJECT:
            raise TypeError(f"object of type '{type_label(type(self.sp_obj))}' has no len()")
        return container_length(self.sp_obj, self.sp_kind)

    def __bool__(self) -> bool:
        if self.sp_kind == KIND_OBJECT:
            return True
        return self.__len__() > 0

    def __iter__(self) -> Iterator[object]:
        return self.sp_iter_values()

    def __contains__(self, item: object) -> bool:
        self.sp_require_full("'in'")
        if self.sp_kind == KIND_MAPPING:
            mapping = cast("dict[object, object]", self.sp_obj)
            return is_plain_key(item) and find_key(mapping, item, self.sp_ctx.keys) is not NOT_FOUND
        if type(self.sp_obj) is collections.ChainMap:
            return is_plain_key(item) and any(
                find_key(m, item, self.sp_ctx.keys) is not NOT_FOUND for m in self.sp_chain_maps()
            )
        if self.sp_kind == KIND_OBJECT:
            raise TypeError(f"argument of type '{type_label(type(self.sp_obj))}' is not iterable")
        if type(self.sp_obj) is bytearray and (type(item) is int or type(item) is bytes):
            # bytearray's own C search (a byte or a substring), as Python's ``in`` does.
            return bytearray.__contains__(self.sp_obj, item)
        return any(plain_equal(v, item) for v in self.sp_snapshot(wrapped=False))

    def __getitem__(self, key: object) -> object:
        return self.sp_getitem(key)

    def keys(self) -> list[object]:
        # ``{**view}`` and ``dict.update(view)`` call this from C.
        if self.sp_kind != KIND_MAPPING and type(self.sp_obj) is not collections.ChainMap:
            raise TypeError(f"'{type_label(type(self.sp_obj))}' object is not a mapping")
        return self.sp_m_keys()

    def __repr__(self) -> str:
        return render(self, depth=0, limits=self.sp_ctx.render_limits)

    def __str__(self) -> str:
        return render(self, depth=0, limits=self.sp_ctx.render_limits)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def _sp_plain(self) -> object:
        """A builtin copy (tuple, list or dict) of a host sequence or mapping that holds only
        scalars and closed values, for comparisons as plain Python makes them; None when it
        holds anything else, hides a secret, is not fully allowed, or is over the cap."""
        obj, kind, ctx = self.sp_obj, self.sp_kind, self.sp_ctx
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

    def sp_refuse_write(self, *_args: object) -> NoReturn:
        self.sp_ctx.deny(
            "read-only", f"{self.sp_ctx.dotted(self.sp_path)} is a read-only view of the host"
        )

    def __setattr__(self, name: str, value: object) -> None:
        self.sp_refuse_write()

    def __delattr__(self, name: str) -> None:
        self.sp_refuse_write()

    def __setitem__(self, key: object, value: object) -> None:
        self.sp_refuse_write()

    def __delitem__(self, key: object) -> None:
        self.sp_refuse_write()

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("views cannot be pickled")


# How views are made without View's refusing __setattr__: the slots' own C setters.
_NEW: Final = object.__new__
_SET_OBJ, _SET_PATH, _SET_CTX, _SET_KIND = (
    cast("Callable[[View, object], None]", View.__dict__[name].__set__)
    for name in ("sp_obj", "sp_path", "sp_ctx", "sp_kind")
)

# What each view a walk makes costs (slots, GC header), from an empty one.
VIEW_BYTES: Final = sys.getsizeof(object.__new__(View))


def planned_getattr(guard: Callable[[object, str], object]) -> Callable[[object, str], object]:
    """The probe's ``_getattr_``: ``guard`` (the sandbox's attribute guard, which reads a
    view's attribute through ``View.sp_getattr``), with one fast path in front of it, in
    the same Python frame: a plain object's attribute whose (path, name, exact type) a read
    in this attempt has planned already (ReadPlan: allowed, its redaction known, the class
    side found to leave the answer to the instance). What is left is the value itself:
    read live through the planned C getter, in an instance dict only when no host key can
    compare with the name (KeyMemo.name_get). Anything else goes to ``guard``."""

    def _getattr_(obj: object, name: str) -> object:
        if type(obj) is View and type(name) is str:
            ctx, path, host = obj.sp_ctx, obj.sp_path, obj.sp_obj
            # The name's latest plan first (a name is mostly read at one path), then the
            # plan of this very path.
            plan = ctx.latest.get(name)
            if plan is None or plan.path is not path:
                plan = ctx.reads.get((id(path), name))
            if plan is not None and plan.path is path and plan.kind is type(host):
                found: object = NOT_FOUND
                if plan.dict_get is not None:
                    instance = plan.dict_get(host, plan.kind)
                    if type(instance) is dict:
                        last = ctx.keys.last_plain
                        if last[0] is instance and last[1] == len(instance):
                            found = instance.get(name, NOT_FOUND)
                        else:
                            found = ctx.keys.name_get(instance, name)
                elif plan.slot_get is not None:
                    found = plan.slot_get(host, plan.kind)
                if found is not NOT_FOUND:
                    if plan.hidden:
                        return REDACTED
                    kind = type(found)
                    if kind is int or kind is str or kind is float or kind is bool:
                        return found
                    return wrap(found, plan.child, ctx)
        return guard(obj, name)

    return _getattr_


def wrap(value: object, path: tuple[str, ...], ctx: ViewContext) -> object:
    """Return scalars and closed stdlib values (values.py) as they are, everything else
    as a view."""
    kind = type(value)
    if kind is int or kind is str or kind is float or kind is bool or value is None:
        return value
    facts = ctx.type_facts(kind)
    if is_scalar(value) or value is REDACTED or (facts[2] and is_closed(value)):
        return value
    return _view(value, path, ctx, facts[1])


def _view(obj: object, path: tuple[str, ...], ctx: ViewContext, container_kind: str) -> View:
    """``View(obj, path, ctx)``, its container kind known: a walk makes one per host object."""
    view = _NEW(View)
    _SET_OBJ(view, obj)
    _SET_PATH(view, path)
    _SET_CTX(view, ctx)
    _SET_KIND(view, container_kind)
    return view


def _wrap_each(values: Iterable[object], path: tuple[str, ...], ctx: ViewContext) -> list[object]:
    """``wrap`` of every value. A list whose items are all exact builtin scalars (one C pass
    over their types: a host str or int subclass is not one) is what the wrap would give,
    so it is handed back as it is: every caller passes a list of its own making."""
    if type(values) is list and _all_scalars(values):
        return values
    return [wrap(v, path, ctx) for v in values]


def _all_scalars(values: list[object]) -> bool:
    """Whether every item is an exact builtin scalar, in C: first whether all are of the
    first item's type (two C calls an item, the common case: a list of ints, of strs),
    then the general test."""
    if not values:
        return True
    if not is_scalar(values[0]):
        return False  # a list of objects: the common answer for a walk of a host tree
    first = type(values[0])
    if (first is int or first is str or first is float) and all(
        map(operator.is_, map(type, values), repeat(first))
    ):
        return True
    return builtin_keys_only(values)


def _is_leaf(value: object) -> bool:
    """A scalar or a closed stdlib value: its comparisons are builtin or stdlib code."""
    return is_scalar(value) or is_closed(value)


# Views render as plain Python would print the host value (view_render.py registers it).
from safeprobe.probe import view_render as _view_render  # noqa: E402, F401
