"""Which values are builtin scalars: the immutable builtins a probe holds as they are.

Promise: ``is_scalar`` answers by the exact type's identity, so no host code runs (no
``__class__``, no metaclass ``__eq__`` or ``__hash__``). It sits at the bottom of the probe
layer because host-key lookups (host_keys.py) and rendering (render.py) both need it, and
render.py sits above the stdlib values (values.py) that the static readers serve.
"""

from __future__ import annotations

from typing import Final

_NONE_TYPE: Final = type(None)


def is_scalar(value: object) -> bool:
    """Whether ``value`` is an immutable builtin a probe may hold as it is. Runs no host code."""
    # Identity tests, spelled out: ``type(x) in {...}`` would hash ``type(x)``, and a host
    # class's metaclass may define ``__hash__``/``__eq__``; ``is`` runs no code. Not a
    # loop over a tuple of types: this runs for every value a view hands out, and the
    # generator cost more than the rest of the check.
    kind = type(value)
    return (
        kind is str
        or kind is int
        or kind is float
        or kind is bool
        or kind is bytes
        or kind is _NONE_TYPE
        or kind is complex
    )
