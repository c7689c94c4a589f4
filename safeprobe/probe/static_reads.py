"""Static reads of host objects and classes: no host code runs.

Promise: attributes are read the way Python reads plain data, from the instance
``__dict__``, slots and plain class attributes found along the MRO without descriptors,
never through the host's ``__getattribute__``, properties, ``__getattr__`` or a host key's
``__eq__``; a read that would run host code is refused (ProbeDenied, rule "host-code").
Type tests are by the object's exact type (``is_instance``), never its ``__class__``.
Threat model: SECURITY.md, "No host code runs".
"""

from __future__ import annotations

import collections
import types
import weakref
from collections.abc import Callable, Iterator
from typing import Final, cast

from safeprobe.errors import ProbeDenied
from safeprobe.probe.host_keys import (
    NOT_FOUND,
    KeyMemo,
    builtin_keys_only,
    find_key,
    find_name,
    scan_pairs,
)
from safeprobe.probe.slots import TYPE_DICT, TYPE_MRO, class_namespace, mro_of

# The class of the named-tuple field descriptor, which reads a tuple slot in C.
TUPLEGETTER: Final = type(collections.namedtuple("_P", "x").x)  # type: ignore[attr-defined]  # the field


def is_instance(obj: object, kinds: type | tuple[type, ...]) -> bool:
    """isinstance() without its fallback to ``obj.__class__``, which runs host code."""
    return issubclass(type(obj), kinds)


def static_lookup(cls: type, name: str, memo: KeyMemo | None = None) -> object:
    """The class attribute ``name`` as stored, found along the MRO without descriptors, and
    without comparing ``name`` with a host key: a class namespace can hold a host str
    subclass key (``type(name, bases, {key: ...})``), so namespaces are searched with
    ``get`` only when all keys along the MRO are exact str (see ``_known_plain_mro``)."""
    # mro_of() and class_namespace() inlined: this runs twice for every attribute read.
    mro = TYPE_MRO.__get__(cls)
    if _known_plain_mro(mro):
        for klass in mro:
            value = TYPE_DICT.__get__(klass).get(name, NOT_FOUND)
            if value is not NOT_FOUND:
                return value
        return NOT_FOUND
    for klass in mro:
        namespace = TYPE_DICT.__get__(klass)
        value = scan_pairs(namespace.items(), namespace.keys(), name)
        if value is not NOT_FOUND:
            return value
    return NOT_FOUND


def class_attribute(cls: type, name: str, memo: KeyMemo | None = None) -> object:
    """``name`` as stored in ``cls`` or a base along its MRO (no descriptor, no host
    ``__eq__`` runs), or NOT_FOUND: what evaluation.py inspects before it runs anything."""
    return static_lookup(cls, name, memo)


def _plain_mro(mro: tuple[type, ...]) -> bool:
    """Whether every namespace along ``mro`` has only exact builtin scalar keys."""
    return all(builtin_keys_only(TYPE_DICT.__get__(klass)) for klass in mro)


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
        if owner is not None and TYPE_MRO.__get__(owner) is mro:
            return True
    if not _plain_mro(mro):
        return False
    if len(_PLAIN_MROS) >= _MAX_PLAIN_MROS:
        _PLAIN_MROS.clear()
    _PLAIN_MROS[id(mro)] = weakref.ref(mro[0])
    return True


def enum_name_and_value(member: object) -> list[object]:
    """An Enum member's ``_name_`` and ``_value_`` as stored in its instance dict (the
    ``name``/``value`` descriptors and the host's ``__getattribute__`` do not run)."""
    instance = instance_dict(member)
    if instance is None:
        return []
    found = [find_name(instance, "_name_"), find_name(instance, "_value_")]
    return [v for v in found if v is not NOT_FOUND]


def object_field_values(obj: object) -> Iterator[object]:
    """The values an object holds in its instance dict and slots, read statically: the
    dict's own C ``values``, each slot through its C member descriptor; no host
    ``__getattribute__``, property or ``__eq__`` runs. For redacting object keys."""
    instance = instance_dict(obj)
    if instance is not None:
        yield from list(dict.values(instance))
    for klass in mro_of(type(obj)):
        # A class namespace is always an exact dict behind its proxy: values() runs in C.
        for value in list(class_namespace(klass).values()):
            if type(value) is types.MemberDescriptorType:
                try:
                    yield value.__get__(obj, type(obj))
                except AttributeError:  # an empty slot
                    continue


def _is_data_descriptor(value: object, memo: KeyMemo | None = None) -> bool:
    kind = type(value)
    return (
        static_lookup(kind, "__set__", memo) is not NOT_FOUND
        or static_lookup(kind, "__delete__", memo) is not NOT_FOUND
    )


def instance_dict(obj: object, memo: KeyMemo | None = None) -> dict[str, object] | None:
    """The object's ``__dict__`` when it is the ordinary C slot, else None."""
    descriptor = static_lookup(type(obj), "__dict__", memo)
    kind = type(descriptor)
    if kind is types.GetSetDescriptorType or kind is types.MemberDescriptorType:
        value = descriptor.__get__(obj, type(obj))  # type: ignore[attr-defined]  # checked C descriptor
        if type(value) is dict:
            return value
    return None


def read_attribute(obj: object, name: str, memo: KeyMemo | None = None) -> object:
    """Read ``obj.name`` the way Python would for plain data, but refuse anything that would
    run host code (properties, custom descriptors, ``__getattr__``, methods, a host key's
    ``__eq__``); ``memo`` remembers for one attempt which instance dicts are plain, and what
    the class side of each (exact type, name) holds (``_ClassRead``)."""
    kind = type(obj)
    if memo is None or type(name) is not str or issubclass(kind, type):
        return _read_attribute(obj, name, memo)
    return _class_read(kind, name, memo).read(obj, name, memo)


# C getters of an instance's __dict__ and of a slot: called as getter(obj, type(obj)).
DictGetter = Callable[[object, type], object]
SlotGetter = Callable[[object, type], object]


def _class_read(kind: type, name: str, memo: KeyMemo) -> _ClassRead:
    entry = memo.class_reads.get(id(kind))
    if entry is None or entry[0] is not kind:
        entry = (kind, {})
        memo.class_reads[id(kind)] = entry
    reader = entry[1].get(name)
    if reader is None:
        reader = entry[1][name] = _ClassRead(kind, name, memo)
    return cast(_ClassRead, reader)


def first_reader(
    kind: type, name: str, memo: KeyMemo
) -> tuple[DictGetter | None, SlotGetter | None]:
    """Where ``read_attribute`` looks first for ``name`` on instances of exactly ``kind``,
    as C getters: the instance ``__dict__``'s (the caller looks the name up in it as
    ``find_name`` would, and reads through ``read_attribute`` when it is not there), or a
    slot's (its value is the answer). (None, None) when neither decides: classes, and names a
    class-side descriptor answers. For a caller's fast path (views.py); same per-attempt
    cache, and the same answer, as ``read_attribute``."""
    if issubclass(kind, type):
        return None, None
    reader = _class_read(kind, name, memo)
    if reader.slot is not None:
        return None, reader.slot.__get__  # type: ignore[attr-defined]  # a C member descriptor
    if reader.dict_slot is not None:
        # A plain class value or a method under the name: the instance dict still comes first.
        return reader.dict_slot.__get__, None  # type: ignore[attr-defined]  # the C __dict__ getter
    return None, None


class _ClassRead:
    """What ``_read_attribute`` finds on the class side of one (exact type, name), found
    once per attempt: the instance ``__dict__`` descriptor, a slot's C descriptor, or the
    refusal or value a class attribute gives. The instance side (its ``__dict__``, a slot)
    is read live at every read. A class a host thread changes during an attempt (isolation:
    thread) is read as it was at the attempt's first read of that name: still statically,
    so no host code runs either way (SECURITY.md, "No host code runs")."""

    __slots__ = ("class_value", "dict_slot", "refusal", "slot")

    def __init__(self, kind: type, name: str, memo: KeyMemo) -> None:
        self.slot: object = None
        self.refusal: str | None = None
        self.class_value = static_lookup(kind, name, memo)
        self.dict_slot: object = None
        if self.class_value is not NOT_FOUND and _is_data_descriptor(self.class_value, memo):
            descriptor_kind = type(self.class_value)
            if descriptor_kind is types.MemberDescriptorType or descriptor_kind is TUPLEGETTER:
                self.slot = self.class_value
            else:
                self.refusal = f"attribute {name!r} is a property; host code is not evaluated"
            return
        descriptor = static_lookup(kind, "__dict__", memo)
        descriptor_kind = type(descriptor)
        if (
            descriptor_kind is types.GetSetDescriptorType
            or descriptor_kind is types.MemberDescriptorType
        ):
            self.dict_slot = descriptor
        if self.class_value is not NOT_FOUND and (
            static_lookup(type(self.class_value), "__get__", memo) is not NOT_FOUND
        ):
            self.refusal = f"attribute {name!r} is a method; host code is not called"

    def read(self, obj: object, name: str, memo: KeyMemo) -> object:
        if self.slot is not None:
            return self.slot.__get__(obj, type(obj))  # type: ignore[attr-defined]  # C slot read
        if self.dict_slot is not None:
            instance = self.dict_slot.__get__(obj, type(obj))  # type: ignore[attr-defined]  # C
            if type(instance) is dict:
                value = find_key(instance, name, memo)
                if value is not NOT_FOUND:
                    return value
        if self.refusal is not None:
            raise ProbeDenied("host-code", self.refusal)
        if self.class_value is NOT_FOUND:
            raise AttributeError(name)
        return self.class_value


def _read_attribute(obj: object, name: str, memo: KeyMemo | None) -> object:
    if issubclass(type(obj), type):
        found = static_lookup(cast(type, obj), name, memo)
        if found is NOT_FOUND:
            raise AttributeError(name)
        if static_lookup(type(found), "__get__", memo) is not NOT_FOUND:
            raise ProbeDenied("host-code", f"attribute {name!r} is a descriptor or method")
        return found
    class_value = static_lookup(type(obj), name, memo)
    if class_value is not NOT_FOUND and _is_data_descriptor(class_value, memo):
        kind = type(class_value)
        if kind is types.MemberDescriptorType or kind is TUPLEGETTER:
            return class_value.__get__(obj, type(obj))  # type: ignore[attr-defined]  # C slot read
        raise ProbeDenied(
            "host-code", f"attribute {name!r} is a property; host code is not evaluated"
        )
    instance = instance_dict(obj, memo)
    if instance is not None:
        value = find_name(instance, name, memo)
        if value is not NOT_FOUND:
            return value
    if class_value is NOT_FOUND:
        raise AttributeError(name)
    if static_lookup(type(class_value), "__get__", memo) is not NOT_FOUND:
        raise ProbeDenied("host-code", f"attribute {name!r} is a method; host code is not called")
    return class_value


def instance_attribute_names(obj: object) -> list[str]:
    """Names of the object's own data (instance dict and slots), for rendering."""
    names: list[str] = []
    instance = instance_dict(obj)
    if instance is not None:
        names.extend(k for k in list(instance) if type(k) is str)
    for klass in mro_of(type(obj)):
        for key, value in list(class_namespace(klass).items()):
            # An exact str first: "in" compares with ==, and a class namespace can hold a
            # host str subclass as a key.
            if type(key) is str and type(value) is types.MemberDescriptorType and key not in names:
                names.append(key)
    return [n for n in names if not n.startswith("_")]


def static_owner(cls: type, name: str, memo: KeyMemo | None = None) -> type | None:
    """The class along ``cls``'s MRO whose namespace holds ``name`` (the one whose code
    Python would run), found as ``static_lookup`` finds the value; None if none does."""
    mro = TYPE_MRO.__get__(cls)
    plain = _known_plain_mro(mro)
    for klass in mro:
        namespace = TYPE_DICT.__get__(klass)
        if plain:
            found = namespace.get(name, NOT_FOUND)
        else:
            found = scan_pairs(namespace.items(), namespace.keys(), name)
        if found is not NOT_FOUND:
            return cast(type, klass)
    return None


def own_attribute(cls: type, name: str) -> object:
    """``cls.__dict__[name]`` as stored (no descriptor runs, no base looked at), or
    NOT_FOUND."""
    namespace = TYPE_DICT.__get__(cls)
    if builtin_keys_only(namespace.keys()):
        return namespace.get(name, NOT_FOUND)
    return scan_pairs(namespace.items(), namespace.keys(), name)
