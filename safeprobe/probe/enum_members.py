"""Enum classes whose code is the standard library's: what makes an enum member printable.

Promise: ``plain_enum_fields`` answers (with the fields left to check) only for a member
of a class that adds nothing but members to the stdlib's Enum, IntEnum, StrEnum, Flag or
IntFlag, under EnumType itself, so its repr, str and format are enum.py's code; namespaces,
MROs and instance dicts are read through C slots (slots.py, static_reads.py), so no host
code runs. values.py then decides whether the fields are closed. Threat model:
SECURITY.md, "Stdlib values".
"""

from __future__ import annotations

import enum
import types
import weakref
from typing import Final

from safeprobe.probe.slots import TYPE_DICT, TYPE_MRO
from safeprobe.probe.static_reads import instance_dict


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ENUM_BASES: Final = frozenset(
    map(
        id,
        (
            object,
            int,
            str,
            float,
            enum.Enum,
            enum.IntEnum,
            enum.StrEnum,
            enum.Flag,
            enum.IntFlag,
            enum.ReprEnum,
        ),
    )
)


def _bookkeeping() -> frozenset[str]:
    """The names EnumType itself puts in an enum class's namespace, on this Python: found
    from enums made here, one of each kind, so a new CPython's additions are known."""

    class _Plain(enum.Enum):
        A = 1

    class _Int(enum.IntEnum):
        A = 1

    class _Str(enum.StrEnum):
        A = "a"

    class _Flags(enum.Flag):
        A = 1

    class _IntFlags(enum.IntFlag):
        A = 1

    names: set[str] = {"__annotations__", "__orig_bases__"}
    for kind in (_Plain, _Int, _Str, _Flags, _IntFlags):
        names.update(k for k in TYPE_DICT.__get__(kind) if k != "A")
    # A host class whose namespace holds these would print as host code decides; each is
    # put there by EnumType only for the stdlib bases, whose code is known (checked below).
    return frozenset(names)


_ENUM_BOOKKEEPING: Final = _bookkeeping()
# Names EnumType copies into mixed-in enum classes from the stdlib bases (IntEnum's
# __format__, StrEnum's __str__, Flag's operators): allowed only when the value stored is
# the very one the stdlib base holds.
_INHERITED_NAMES: Final = _names(
    "__format__ __str__ __repr__ __or__ __and__ __xor__ __ror__ __rand__ __rxor__ __invert__ "
    "_new_member_ _value_repr_ __new__ _generate_next_value_"
)
_PLAIN_ENUM_CLASSES: dict[int, weakref.ref[type]] = {}
_MAX_PLAIN_ENUM_CLASSES: Final = 4096


def plain_enum_fields(value: object) -> list[object] | None:
    """The fields of an enum member whose closedness decides it (its stored value and sort
    order), when its class adds only members to the stdlib's Enum, IntEnum, StrEnum, Flag
    or IntFlag (no methods, no dunders of its own), its metaclass is EnumType itself, and
    its instance dict holds only the fields EnumType stores; None otherwise. Classes found
    plain are remembered by id with a weak reference."""
    kind = type(value)
    if not _plain_enum_class(kind):
        return None
    instance = instance_dict(value)
    if instance is None or len(instance) > 8 or not all(type(k) is str for k in instance):
        return None
    fields: list[object] = []
    for key, field in list(dict.items(instance)):
        if key == "__objclass__":
            if field is not kind:
                return None
        elif key == "_name_":
            if type(field) is not str and field is not None:
                return None
        elif key in ("_value_", "_sort_order_"):
            fields.append(field)
        else:
            return None
    return fields


def _plain_enum_class(kind: type) -> bool:
    known = _PLAIN_ENUM_CLASSES.get(id(kind))
    if known is not None and known() is kind:
        return True
    if type(kind) is not enum.EnumType:
        return False
    for klass in TYPE_MRO.__get__(kind):
        if id(klass) in _ENUM_BASES:
            continue
        if type(klass) is not enum.EnumType:
            return False
        if not _plain_enum_namespace(klass):
            return False
    if len(_PLAIN_ENUM_CLASSES) >= _MAX_PLAIN_ENUM_CLASSES:
        _PLAIN_ENUM_CLASSES.clear()
    _PLAIN_ENUM_CLASSES[id(kind)] = weakref.ref(kind)
    return True


def _plain_enum_namespace(klass: type) -> bool:
    namespace = TYPE_DICT.__get__(klass)
    stdlib = [k for k in TYPE_MRO.__get__(klass) if id(k) in _ENUM_BASES]
    members = namespace.get("_member_map_")
    # Looked up by name below: only when every key is an exact str, whose == is str's.
    if type(members) is not dict or not all(type(k) is str for k in dict.keys(members)):
        return False
    for name, item in list(namespace.items()):
        if type(name) is not str:
            return False
        if type(item) is klass:
            continue  # a member (or an alias of one)
        if type(item) is enum.property and dict.get(members, name) is not None:
            continue  # how EnumType stores a member whose name a base also uses
        if name not in _ENUM_BOOKKEEPING:
            return False
        if name in _INHERITED_NAMES and not _from_stdlib(name, item, stdlib):
            return False
    return True


def _from_stdlib(name: str, item: object, stdlib: list[type]) -> bool:
    """Whether ``item`` is what a stdlib base holds under ``name`` (what EnumType copies)."""
    if name in ("_value_repr_",) and item is None:
        return True
    for base in stdlib:
        found = TYPE_DICT.__get__(base).get(name)
        if found is item:
            return True
        # EnumType wraps __new__ and stores the member type's own as _new_member_: the
        # stdlib function objects of enum.py, or a builtin's slot wrapper.
        if found is not None and _same_function(found, item):
            return True
    if name in ("_new_member_", "__new__", "_generate_next_value_"):
        return _is_stdlib_callable(item)
    return False


def _same_function(left: object, right: object) -> bool:
    if type(left) is staticmethod:
        left = left.__func__
    if type(right) is staticmethod:
        right = right.__func__
    return left is right


_STDLIB_CODE_FILES: Final = frozenset({enum.__file__})


def _is_stdlib_callable(item: object) -> bool:
    """A builtin (``object.__new__``, ``int.__new__``) or a function of enum.py itself."""
    if type(item) is staticmethod:
        item = item.__func__
    if type(item) is types.BuiltinFunctionType or type(item) is types.WrapperDescriptorType:
        return True
    if type(item) is types.FunctionType:
        code = types.FunctionType.__dict__["__code__"].__get__(item)
        return code.co_filename in _STDLIB_CODE_FILES
    return False
