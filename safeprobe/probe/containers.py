"""Kinds of host containers, and atomic snapshots of their contents.

Promise: a host container is classified by its exact type's base (no host ``__class__``
runs) and read through the builtin types' own C methods, even for subclasses, so an
overridden ``__iter__``, ``items`` or ``__len__`` never runs; its contents are copied in
one C call before iteration, so a host thread changing it cannot break the probe. Buffers
(exact bytearray, memoryview, array.array) are read by their own C methods. A named tuple's
secret-named fields, and the value of a ``(secret name, value)`` pair, are found by
position, so every path that hands out a tuple's items can hide them. Threat model:
SECURITY.md, "Host state" and "Redaction".
"""

from __future__ import annotations

import array
import collections
from collections.abc import Iterable
from typing import Final, cast

from safeprobe.probe.redaction import REDACTED, Redactor
from safeprobe.probe.render import type_label
from safeprobe.probe.slots import class_namespace, mro_of
from safeprobe.probe.static_reads import TUPLEGETTER, is_instance

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
BUFFER_ATTRIBUTES: Final[dict[int, frozenset[str]]] = {  # by id(type): identity, never ==
    id(bytearray): frozenset(),
    id(memoryview): frozenset(
        {"nbytes", "readonly", "format", "itemsize", "ndim", "shape", "tolist", "tobytes"}
    ),
    id(array.array): frozenset({"typecode", "itemsize", "tolist", "tobytes"}),
}
BUFFER_BYTES_METHODS: Final = frozenset(
    {
        *("count", "decode", "endswith", "find", "hex", "index", "isalnum", "isalpha"),
        *("isascii", "isdigit", "islower", "isspace", "isupper", "rfind", "rindex"),
        "startswith",
    }
)


def kind_of(obj: object) -> str:
    # The exact type, as is_instance tests it: no host __class__ runs.
    return kind_of_type(type(obj))


def kind_of_type(kind: type) -> str:
    """The container kind of values of exactly ``kind``."""
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
    if is_instance(obj, list):
        return list.copy(cast("list[object]", obj))
    if is_instance(obj, tuple):
        return list(tuple.__iter__(cast("tuple[object, ...]", obj)))
    if is_instance(obj, collections.deque):
        return list(collections.deque.__iter__(cast("collections.deque[object]", obj)))
    if is_instance(obj, set):
        return list(set.__iter__(cast("set[object]", obj)))
    if is_instance(obj, frozenset):
        return list(frozenset.__iter__(cast("frozenset[object]", obj)))
    if kind == KIND_BUFFER:
        return buffer_items(obj)
    raise TypeError(f"'{type_label(type(obj))}' object is not iterable")


def snapshot_pairs(obj: object) -> list[tuple[object, object]]:
    """A mapping's (key, value) pairs, copied in one C call; an OrderedDict's in its own
    order (move_to_end changes it without changing the dict's), found from its keys by
    identity, so no key is hashed or compared."""
    pairs = list(dict.items(cast("dict[object, object]", obj)))
    if is_instance(obj, collections.OrderedDict):
        order = list(collections.OrderedDict.__iter__(cast("dict[object, object]", obj)))
        by_id = {id(k): (k, v) for k, v in pairs}
        ordered = [by_id.get(id(k)) for k in order]
        if len(ordered) == len(pairs) and None not in ordered:
            return cast("list[tuple[object, object]]", ordered)
    return pairs


def container_length(obj: object, kind: str) -> int:
    for base in (dict, list, tuple, collections.deque, set, frozenset, *_BUFFER_TYPES):
        if is_instance(obj, base):
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
    for klass in mro_of(kind):
        if klass is tuple or klass is object:
            continue
        for name, value in list(class_namespace(klass).items()):
            if type(value) is TUPLEGETTER and redactor.hides(name):
                index = TUPLEGETTER.__reduce__(value)[1][0]
                if type(index) is int:
                    slots.add(index)
    return frozenset(slots)


_SECOND_SLOT: Final = frozenset({1})


def hide_slots(items: list[object], indexes: Iterable[int], slots: frozenset[int]) -> None:
    """Replace, in place, the items whose original index is a secret slot."""
    for position, index in enumerate(indexes):
        if index in slots:
            items[position] = REDACTED
