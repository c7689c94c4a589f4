"""C-slot readers of classes: a type's namespace, MRO and name, read without running host code.

Promise: every reader here goes through ``type``'s own C descriptors (``type.__dict__``'s
``__dict__``, ``__mro__`` and ``__name__`` entries), never through ``cls.__dict__`` or
``cls.__mro__`` as attribute reads, which a host metaclass could answer with its own code
(a property, ``__getattribute__``). This is the bottom of the probe layer: it imports
nothing of safeprobe, so every module that reads a class statically (static_reads, values,
numeric_hooks, safe_builtins, view_render, evaluation) shares one source of these
descriptors. Threat model: SECURITY.md, "No host code runs".
"""

from __future__ import annotations

import types
from typing import Final

# type's own C descriptors: ``TYPE_DICT.__get__(cls)`` is ``cls.__dict__`` as type stores it
# (a mappingproxy of the class namespace), ``TYPE_MRO`` its MRO tuple, ``TYPE_NAME`` its
# ``__name__`` slot; a metaclass that defines any of these names is not consulted.
TYPE_DICT: Final = type.__dict__["__dict__"]
TYPE_MRO: Final = type.__dict__["__mro__"]
TYPE_NAME: Final = type.__dict__["__name__"]


def mro_of(cls: type) -> tuple[type, ...]:
    """``cls.__mro__``, from the C slot."""
    mro: tuple[type, ...] = TYPE_MRO.__get__(cls)
    return mro


def class_namespace(cls: type) -> types.MappingProxyType[str, object]:
    """``cls.__dict__``, from the C slot: always an exact dict behind its proxy."""
    namespace: types.MappingProxyType[str, object] = TYPE_DICT.__get__(cls)
    return namespace


def type_name(kind: type) -> str:
    """A class's ``__name__``, from the C slot (no metaclass code runs)."""
    name = TYPE_NAME.__get__(kind)
    return name if type(name) is str else "object"
