"""How a view prints: the text plain Python shows for the host value, without its code.

Promise: which code would print a host value is found statically (the class along the
MRO whose namespace holds ``__repr__``), and a view prints as that code would when it is
known: builtin containers; the stdlib's deque, Counter, OrderedDict, defaultdict,
ChainMap and SimpleNamespace; named tuples (namedtuple's generated ``__repr__``);
dataclasses (their generated ``__repr__``); bytearray and array.array. A view of a stdlib
value type (a subclass, or one holding a host object: values.py) prints as ``<Class
object>``, since its state is where no structural rendering looks. Every field and
item is rendered by ``render`` within the policy's bounds and allowlist, secrets as the
marker. A value whose ``__repr__`` is the host's own, or that has none (object's), prints
structurally as ``Class(field=value, …)``, or ``Class([...])`` for a container, never as if
it were a builtin: its own repr would be host code. No host code runs and no address
is shown (a memoryview is ``<memory>``). Threat model: SECURITY.md, "Internals".
"""

from __future__ import annotations

import array
import collections
import dataclasses
import itertools
import operator
import sys
import types
from collections.abc import Iterator
from typing import Final, cast

import pydantic
from pydantic.fields import FieldInfo

from safeprobe.errors import ProbeDenied
from safeprobe.probe.allowlist import Access
from safeprobe.probe.containers import (
    KIND_BUFFER,
    KIND_MAPPING,
    KIND_OBJECT,
    KIND_SET,
    container_length,
    hide_slots,
    secret_field_slots,
    snapshot_pairs,
)
from safeprobe.probe.host_keys import NOT_FOUND, find_name
from safeprobe.probe.redaction import REDACTED
from safeprobe.probe.render import (
    RenderLimits,
    opaque,
    register_hook,
    register_text_hook,
    render,
    render_pairs,
    render_sequence,
    type_label,
)
from safeprobe.probe.slots import TYPE_MRO, type_name
from safeprobe.probe.static_reads import (
    class_attribute,
    instance_attribute_names,
    instance_dict,
    is_instance,
    own_attribute,
    read_attribute,
    static_owner,
)
from safeprobe.probe.values import is_value_class
from safeprobe.probe.view_context import ViewContext
from safeprobe.probe.views import View, wrap

_FUNCTION_CODE: Final = types.FunctionType.__dict__["__code__"]
_FUNCTION_DICT: Final = types.FunctionType.__dict__["__dict__"]
# The code every namedtuple class's __repr__ shares (it is one nested def in
# collections.namedtuple), and the wrapper every dataclass __repr__ is (reprlib's or
# dataclasses' recursive-repr guard): found from classes made here, on this Python.
_NAMEDTUPLE_REPR: Final = _FUNCTION_CODE.__get__(collections.namedtuple("_N", "a").__repr__)


@dataclasses.dataclass
class _Probe:
    a: int


_DATACLASS_REPR: Final = _FUNCTION_CODE.__get__(_Probe.__dict__["__repr__"])
_FIELD_SLOTS: Final = {
    name: dataclasses.Field.__dict__[name] for name in ("name", "repr", "_field_type")
}
_PLAIN_FIELD: Final = dataclasses.Field.__dict__["_field_type"].__get__(
    _Probe.__dataclass_fields__["a"]
)
# OrderedDict's repr changed in 3.12: a dict display instead of a list of pairs.
_ORDERED_AS_DICT: Final = sys.version_info >= (3, 12)
_COUNT_IDS: Final = frozenset(map(id, (int, float, bool)))


def _render_view(value: object, depth: int) -> str:
    view = cast(View, value)
    ctx = view.sp_ctx
    obj, kind, path = view.sp_obj, view.sp_kind, view.sp_path
    access = ctx.allowlist.access(path)
    if access == Access.NONE:
        return "<not allowed>"
    if kind != KIND_OBJECT and access != Access.FULL:
        return "<not allowed>"
    if kind == KIND_BUFFER:
        return _render_buffer(obj, ctx.render_limits)
    if kind == KIND_OBJECT and is_value_class(type(obj)):
        # A datetime with a host tzinfo, a Decimal subclass, an enum member holding a host
        # object: not closed (values.py), and its state is in C members or private fields,
        # so the structural form would print an empty ``datetime()``, a value that is not
        # there. Said to be not shown instead.
        return opaque(obj)
    owner = static_owner(type(obj), "__repr__", ctx.keys)
    if kind == KIND_MAPPING:
        return _render_mapping(obj, owner, path, ctx, depth)
    if kind != KIND_OBJECT:
        return _render_collection(obj, kind, owner, path, ctx, depth)
    if owner is collections.ChainMap:
        return _render_chain(obj, path, ctx, depth)
    if owner is types.SimpleNamespace:
        label = "namespace" if type(obj) is types.SimpleNamespace else type_name(type(obj))
        return _render_fields(obj, label, _namespace_names(obj), path, ctx, depth)
    names = _dataclass_fields(owner) if owner is not None else None
    if names is not None:
        return _render_fields(obj, type_label(type(obj)), names, path, ctx, depth)
    names = _pydantic_fields(obj, ctx)
    if names is not None:
        return _render_fields(obj, type_name(type(obj)), names, path, ctx, depth)
    return _render_object(obj, path, ctx, depth)


def _view_text(value: object) -> str | None:
    """str() of a view where it differs from its repr: a pydantic model's fields,
    space-separated (BaseModel.__str__); None elsewhere."""
    view = cast(View, value)
    ctx = view.sp_ctx
    if view.sp_kind != KIND_OBJECT or ctx.allowlist.access(view.sp_path) == Access.NONE:
        return None
    names = _pydantic_fields(view.sp_obj, ctx)
    if names is None:
        return None
    parts = _field_parts(view.sp_obj, names, view.sp_path, ctx, 0)
    return " ".join(parts)


# ---- mappings ----------------------------------------------------------------------------


def _render_mapping(
    obj: object, owner: type | None, path: tuple[str, ...], ctx: ViewContext, depth: int
) -> str:
    limits = ctx.render_limits
    total = container_length(obj, KIND_MAPPING)
    name = type_name(type(obj))
    if owner is dict:
        # islice in C holds the GIL throughout: an atomic prefix, not a whole copy.
        pairs = list(
            itertools.islice(dict.items(cast("dict[object, object]", obj)), limits.max_items + 1)
        )
        return _pairs_text(pairs, total, path, ctx, depth)
    if owner is collections.Counter or owner is collections.OrderedDict:
        if not total:
            return f"{name}()"
        if total > ctx.max_items:
            return f"{name}({{…(+{total} more)}})"
        pairs = snapshot_pairs(obj)  # an OrderedDict's pairs in its own order
        if owner is collections.Counter:
            if not all(id(type(v)) in _COUNT_IDS for _, v in pairs):
                return f"{name}({_pairs_text(pairs, total, path, ctx, depth)})"
            # As most_common(), except that a secret key's count takes no part in the order
            # (its rank among the others would tell the count): those pairs go last, in
            # insertion order.
            hidden = [pair for pair in pairs if ctx.redactor.hides(pair[0])]
            if hidden:
                pairs = [pair for pair in pairs if not ctx.redactor.hides(pair[0])]
            pairs.sort(key=operator.itemgetter(1), reverse=True)
            pairs.extend(hidden)
        elif not _ORDERED_AS_DICT:
            # 3.11: OrderedDict([('a', 1), ...]), a list of pair tuples.
            shown: list[object] = [
                (wrap(k, path, ctx), _value_of(k, v, path, ctx))
                for k, v in pairs[: limits.max_items + 1]
            ]
            return f"{name}({render_sequence(shown, total, list, depth, limits)})"
        return f"{name}({_pairs_text(pairs, total, path, ctx, depth)})"
    if owner is collections.defaultdict:
        factory = collections.defaultdict.__dict__["default_factory"].__get__(obj)
        pairs = list(
            itertools.islice(dict.items(cast("dict[object, object]", obj)), limits.max_items + 1)
        )
        body = _pairs_text(pairs, total, path, ctx, depth)
        return f"{name}({_factory_text(factory)}, {body})"
    pairs = list(
        itertools.islice(dict.items(cast("dict[object, object]", obj)), limits.max_items + 1)
    )
    return f"{type_label(type(obj))}({_pairs_text(pairs, total, path, ctx, depth)})"


def _pairs_text(
    pairs: list[tuple[object, object]],
    total: int,
    path: tuple[str, ...],
    ctx: ViewContext,
    depth: int,
) -> str:
    return render_pairs(
        pairs,
        total,
        depth,
        ctx.render_limits,
        lambda k, v: _value_of(k, v, path, ctx),
    )


def _value_of(key: object, value: object, path: tuple[str, ...], ctx: ViewContext) -> object:
    return REDACTED if ctx.redactor.hides(key) else wrap(value, path, ctx)


def _factory_text(factory: object) -> str:
    """A defaultdict's default_factory as its repr shows it, without an address."""
    if factory is None:
        return "None"
    if issubclass(type(factory), type):  # a class (tested on its type: no __class__ runs)
        kind = cast(type, factory)
        module = own_attribute(kind, "__module__")
        qualified = type_label(kind)
        if type(module) is str and module != "builtins":
            qualified = f"{module}.{qualified}"
        return f"<class '{qualified}'>"
    return opaque(factory)


# ---- sequences and sets ------------------------------------------------------------------


def _render_collection(
    obj: object,
    kind: str,
    owner: type | None,
    path: tuple[str, ...],
    ctx: ViewContext,
    depth: int,
) -> str:
    limits = ctx.render_limits
    total = container_length(obj, kind)
    items = _prefix(obj, limits.max_items + 1)
    slots = secret_field_slots(obj, ctx.redactor)
    if slots:
        hide_slots(items, range(len(items)), slots)
    wrapped = [wrap(v, path, ctx) for v in items]
    name = type_name(type(obj))
    if owner is not None and _is_namedtuple_repr(owner):
        fields = own_attribute(owner, "_fields")
        if type(fields) is tuple and all(type(f) is str for f in fields):
            return _render_named(name, cast("tuple[str, ...]", fields), wrapped, depth, limits)
    shape: type = list
    if is_instance(obj, tuple):
        shape = tuple
    elif kind == KIND_SET:
        shape = set if is_instance(obj, set) else frozenset
    text = render_sequence(wrapped, total, shape, depth, limits)
    if owner is collections.deque:
        maxlen = collections.deque.__dict__["maxlen"].__get__(obj)
        suffix = "" if maxlen is None else f", maxlen={maxlen}"
        return f"{name}({text}{suffix})"
    if owner is list or owner is tuple:
        return text
    if owner is set or owner is frozenset:
        if type(obj) is set or type(obj) is frozenset:
            return text
        # A set subclass shows its class's name around a set display (setobject.c).
        if not total:
            return f"{name}()"
        inner = render_sequence(wrapped, total, set, depth, limits)
        return f"{name}({inner})"
    return f"{type_label(type(obj))}({text})"


def _is_namedtuple_repr(owner: type) -> bool:
    function = own_attribute(owner, "__repr__")
    return (
        type(function) is types.FunctionType
        and _FUNCTION_CODE.__get__(function) is _NAMEDTUPLE_REPR
    )


def _render_named(
    name: str,
    fields: tuple[str, ...],
    items: list[object],
    depth: int,
    limits: RenderLimits,
) -> str:
    if depth >= limits.max_depth:
        return f"{name}(…)"
    parts = [
        f"{field}={render(item, depth=depth + 1, limits=limits)}"
        for field, item in zip(fields, items, strict=False)
    ]
    return f"{name}({', '.join(parts)})"


def _prefix(obj: object, count: int) -> list[object]:
    """The first ``count`` elements of a host sequence or set, by the builtin's own iterator."""
    for base in (list, tuple, collections.deque, set, frozenset):
        if is_instance(obj, base):
            iterator: Iterator[object] = base.__iter__(obj)  # type: ignore[arg-type]  # obj's base
            return list(itertools.islice(iterator, count))
    return []


# ---- buffers -----------------------------------------------------------------------------


def _render_buffer(obj: object, limits: RenderLimits) -> str:
    if type(obj) is memoryview:
        return "<memory>"  # its repr is an address
    if type(obj) is bytearray:
        head = bytearray.__getitem__(obj, slice(0, limits.max_str_chars + 1))
        return f"bytearray({render(bytes(head), depth=1, limits=limits)})"
    typed = cast("array.array[int]", obj)
    code = typed.typecode
    if not array.array.__len__(typed):
        return f"array({code!r})"
    if code in ("u", "w"):
        text = array.array.tounicode(cast("array.array[str]", obj))
        return f"array({code!r}, {render(text, depth=1, limits=limits)})"
    items = list(itertools.islice(array.array.__iter__(typed), limits.max_items + 1))
    body = render_sequence(cast("list[object]", items), array.array.__len__(typed), list, 0, limits)
    return f"array({code!r}, {body})"


# ---- objects -----------------------------------------------------------------------------


def _dataclass_fields(owner: type) -> list[str] | None:
    """The fields a dataclass's generated __repr__ shows, in order, or None when
    ``owner``'s __repr__ is not one (the host wrote its own)."""
    function = own_attribute(owner, "__repr__")
    if type(function) is not types.FunctionType:
        return None
    if _FUNCTION_CODE.__get__(function) is not _DATACLASS_REPR:
        return None
    wrapped = _FUNCTION_DICT.__get__(function).get("__wrapped__")
    if type(wrapped) is not types.FunctionType or not wrapped.__qualname__.endswith(
        "__create_fn__.<locals>.__repr__"
    ):
        return None
    fields = own_attribute(owner, "__dataclass_fields__")
    if type(fields) is not dict:
        return None
    names: list[str] = []
    for field in list(dict.values(fields)):
        if type(field) is not dataclasses.Field:
            return None
        name = _FIELD_SLOTS["name"].__get__(field)
        shown = _FIELD_SLOTS["repr"].__get__(field)
        if type(name) is not str or type(shown) is not bool:
            return None
        if shown and _FIELD_SLOTS["_field_type"].__get__(field) is _PLAIN_FIELD:
            names.append(name)
    return names


# pydantic's BaseModel prints through five methods; a model whose class overrides none of
# them prints as they do: its fields with repr=True, in instance-dict order (pydantic 2).
_PYDANTIC_PRINTERS: Final = (
    "__repr__",
    "__str__",
    "__repr_args__",
    "__repr_str__",
    "__repr_name__",
)
_PYDANTIC_OWNERS: Final = {
    name: static_owner(pydantic.BaseModel, name) for name in _PYDANTIC_PRINTERS
}
_FIELD_INFO_REPR: Final = FieldInfo.__dict__["repr"]
_MODEL_EXTRA: Final = pydantic.BaseModel.__dict__["__pydantic_extra__"]


def _pydantic_fields(obj: object, ctx: ViewContext) -> list[str] | None:
    """The fields a pydantic model's own repr/str would show, or None if ``obj`` is not
    a model that prints as BaseModel does (overridden printers, computed fields, extras)."""
    kind = type(obj)
    mro = TYPE_MRO.__get__(kind)
    if not any(klass is pydantic.BaseModel for klass in mro):
        return None
    for name, owner in _PYDANTIC_OWNERS.items():
        if owner is None or static_owner(kind, name, ctx.keys) is not owner:
            return None
    fields = class_attribute(kind, "__pydantic_fields__", ctx.keys)
    computed = class_attribute(kind, "__pydantic_computed_fields__", ctx.keys)
    if type(fields) is not dict or type(computed) is not dict or computed:
        return None
    if _MODEL_EXTRA.__get__(obj, kind):
        return None  # extras print too, from a slot a static read does not reach
    instance = instance_dict(obj, ctx.keys)
    if instance is None or not all(type(k) is str for k in fields):
        return None
    names: list[str] = []
    for key in list(instance):
        info = dict.get(fields, key) if type(key) is str else None
        if type(info) is FieldInfo and _FIELD_INFO_REPR.__get__(info) is True:
            names.append(key)
    return names


def record_fields(view: View) -> list[str] | None:
    """The field names of a named tuple, dataclass, pydantic model or SimpleNamespace,
    in their own order (asdict), found statically; None for any other value."""
    obj, ctx = view.sp_obj, view.sp_ctx
    owner = static_owner(type(obj), "__repr__", ctx.keys)
    if owner is None:
        return None
    if is_instance(obj, tuple) and _is_namedtuple_repr(owner):
        fields = own_attribute(owner, "_fields")
        if type(fields) is tuple and all(type(f) is str for f in fields):
            return list(cast("tuple[str, ...]", fields))
        return None
    if owner is types.SimpleNamespace:
        return _namespace_names(obj)
    dataclass_fields = class_attribute(type(obj), "__dataclass_fields__", ctx.keys)
    if type(dataclass_fields) is dict:
        names = []
        for field in list(dict.values(dataclass_fields)):
            if type(field) is not dataclasses.Field:
                return None
            if _FIELD_SLOTS["_field_type"].__get__(field) is _PLAIN_FIELD:
                names.append(_FIELD_SLOTS["name"].__get__(field))
        return names if all(type(n) is str for n in names) else None
    return _pydantic_fields(obj, ctx)


def _namespace_names(obj: object) -> list[str]:
    instance = instance_dict(obj)
    if instance is None:
        return []
    return [k for k in list(instance) if type(k) is str]


def _render_fields(
    obj: object,
    label: str,
    names: list[str],
    path: tuple[str, ...],
    ctx: ViewContext,
    depth: int,
) -> str:
    """``Label(a=…, b=…)`` over the named fields: not-allowed ones left out, secrets shown
    as the marker, each read statically."""
    if depth >= ctx.render_limits.max_depth:
        return f"{label}(…)"
    return f"{label}({', '.join(_field_parts(obj, names, path, ctx, depth))})"


def _field_parts(
    obj: object, names: list[str], path: tuple[str, ...], ctx: ViewContext, depth: int
) -> list[str]:
    limits = ctx.render_limits
    shown: list[str] = []
    for name in names:
        child = (*path, name)
        if name.startswith("_") or ctx.allowlist.access(child) == Access.NONE:
            continue
        if ctx.redactor.hides(name):
            shown.append(f"{name}={REDACTED!r}")
            continue
        try:
            value = read_attribute(obj, name, ctx.keys)
        except (AttributeError, ProbeDenied):
            continue
        shown.append(f"{name}={render(wrap(value, child, ctx), depth=depth + 1, limits=limits)}")
        if len(shown) >= limits.max_items:
            shown.append("…")
            break
    return shown


def _render_chain(obj: object, path: tuple[str, ...], ctx: ViewContext, depth: int) -> str:
    name = type_name(type(obj))
    instance = instance_dict(obj, ctx.keys)
    maps = find_name(instance, "maps", ctx.keys) if instance is not None else NOT_FOUND
    if type(maps) is not list:
        return _render_object(obj, path, ctx, depth)
    if depth >= ctx.render_limits.max_depth:
        return f"{name}(…)"
    # One level deeper for its maps: a ChainMap among its own maps (or chains of chains
    # thousands deep) recursed at one depth until RecursionError.
    parts = [
        render(wrap(m, path, ctx), depth=depth + 1, limits=ctx.render_limits)
        for m in list.copy(cast("list[object]", maps))[: ctx.render_limits.max_items]
    ]
    return f"{name}({', '.join(parts)})"


def _render_object(obj: object, path: tuple[str, ...], ctx: ViewContext, depth: int) -> str:
    label = opaque(obj)[1:-1].removesuffix(" object")
    return _render_fields(obj, label, instance_attribute_names(obj), path, ctx, depth)


register_hook(View, _render_view)
register_text_hook(View, _view_text)
