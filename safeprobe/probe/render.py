"""Structural rendering: the text a value shows as, without running its code.

Promise: ``render`` never calls a value's ``__repr__``, ``__str__``, ``__eq__`` or
``__hash__`` and never shows a memory address. Builtin values render exactly as Python's
repr would, within bounds on depth, items per container and characters per string, and one
rendering visits at most ``RENDER_MAX_NODES`` values, each a step of the attempt's budget
(``RenderLimits.meter``), so a slow structure stops at the deadline; every cut is marked
with ``…``. An int inside a structure too long to show is marked by its size; an int
shown alone is Python's text, within CPython's own digit limit (never a wrong value).
Types with their own rendering (views, the redaction marker) register a hook by exact
type. Threat model: SECURITY.md, "Internals" and "Redaction".
"""

from __future__ import annotations

import itertools
import sys
import threading
import types
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Final, cast

from safeprobe.probe.scalars import is_scalar
from safeprobe.probe.values import is_closed, value_text

# The usual names of secrets; matched case-insensitively with "_" and "-" ignored.


@dataclass(frozen=True, slots=True)
class RenderLimits:
    """Bounds on a structural repr. Defaults match what live inspectors such as
    reprlib and debuggers use: a few levels, about a hundred items, a line of text."""

    max_depth: int = 3
    max_items: int = 100
    max_str_chars: int = 256
    # A step per rendered node, from the attempt's budget: False once it is spent, and the
    # rest of the rendering is cut. None outside an attempt.
    meter: Callable[[], bool] | None = field(default=None, compare=False)


DEFAULT_RENDER_LIMITS: Final = RenderLimits()


# Exact types that render themselves (registered by proxy.py); checked by identity.
_HOOKS: list[tuple[type, Callable[[object, int], str]]] = []


def register_hook(kind: type, hook: Callable[[object, int], str]) -> None:
    """Render values of exactly ``kind`` with ``hook(value, depth)``."""
    _HOOKS.append((kind, hook))


# Exact types whose str() differs from their rendering (a pydantic model's view prints
# its fields space-separated): ``hook(value)`` gives the text, or None for the rendering.
_TEXT_HOOKS: list[tuple[type, Callable[[object], str | None]]] = []


def register_text_hook(kind: type, hook: Callable[[object], str | None]) -> None:
    """Give values of exactly ``kind`` a str() of their own."""
    _TEXT_HOOKS.append((kind, hook))


def hooked_text(value: object) -> str | None:
    """A registered str() of ``value``, or None."""
    kind = type(value)
    for hooked, hook in _TEXT_HOOKS:
        if kind is hooked:
            return hook(value)
    return None


_OPEN_CLOSE: Final[tuple[tuple[type, tuple[str, str]], ...]] = (
    (list, ("[", "]")),
    (tuple, ("(", ")")),
    (set, ("{", "}")),
    (frozenset, ("frozenset({", "})")),
)


def render(value: object, *, depth: int, limits: RenderLimits = DEFAULT_RENDER_LIMITS) -> str:
    """A structural repr that never calls host code and never shows an address.

    Builtin values render exactly as Python's repr would, within the policy's bounds on
    depth, items and string length; cuts are marked with ``…``.
    """
    outermost = getattr(_RENDERING, "nodes_left", None) is None
    if outermost:
        _RENDERING.nodes_left = RENDER_MAX_NODES
    try:
        _RENDERING.nodes_left -= 1
        if _RENDERING.nodes_left < 0:
            return "…"
        meter = limits.meter
        if meter is not None and not meter():
            return "…"
        return _render_one(value, depth, limits)
    finally:
        if outermost:
            _RENDERING.nodes_left = None


# One rendering visits at most this many values, however the nesting multiplies: a list of
# 100 lists of 100 lists of 100 long strings would otherwise render 260 MB in one go.
RENDER_MAX_NODES: Final = 5000
_RENDERING: Final = threading.local()


def _render_one(value: object, depth: int, limits: RenderLimits) -> str:
    kind = type(value)
    for hooked, hook in _HOOKS:
        if kind is hooked:
            return hook(value, depth)
    if kind is str or kind is bytes:
        return _render_text(value, limits.max_str_chars)  # type: ignore[arg-type]
    if kind is int:
        number = cast("int", value)
        if depth and _max_digits(number) > limits.max_str_chars:
            return _int_marker(number)
        return int_text(number)
    if is_scalar(value):
        return repr(value)
    if kind is dict:
        mapping = cast("dict[object, object]", value)
        pairs = list(itertools.islice(dict.items(mapping), limits.max_items + 1))
        return render_pairs(pairs, len(mapping), depth, limits, lambda _k, v: v)
    for shape in (list, tuple, set, frozenset):
        if kind is shape:
            container = cast("Collection[object]", value)
            items = list(itertools.islice(iter(container), limits.max_items + 1))
            return render_sequence(items, len(container), shape, depth, limits)
    if is_closed(value):
        # A datetime, Decimal, UUID, plain enum member …: its own repr is stdlib code.
        text = value_text(value, as_str=False)
        return cut_text(text, limits.max_str_chars) if depth else text
    return opaque(value)


def cut_text(text: str, max_chars: int) -> str:
    """A value's text inside a structure, cut as a long string is, marked with ``…``."""
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}…(+{len(text) - max_chars} chars)"


# Bits an int may have to be shown alone when the host switched CPython's digit limit off
# (sys.set_int_max_str_digits(0)): CPython's default limit, 4,300 digits. int-to-str is
# quadratic in the digits (CVE-2020-10735), so a longer one is marked instead.
_UNLIMITED_INT_DIGITS: Final = sys.int_info.default_max_str_digits
_DIGITS_PER_BIT: Final = 0.30103  # log10(2)


def _max_digits(number: int) -> int:
    """At least as many decimal digits as ``number`` has, from its bit length: O(1)."""
    return int(number.bit_length() * _DIGITS_PER_BIT) + 1


def _int_marker(number: int) -> str:
    sign = "-" if number < 0 else ""
    return f"{sign}…(int of {number.bit_length()} bits)"


def int_text(number: int) -> str:
    """An int's decimal text as plain Python shows it. Past CPython's digit limit Python
    raises ValueError, and so does this; only when the host turned that limit off is a
    number longer than the default limit marked by its size instead of converted."""
    if sys.get_int_max_str_digits() == 0 and _max_digits(number) > _UNLIMITED_INT_DIGITS:
        return _int_marker(number)
    return int.__repr__(number)


def _render_text(value: str | bytes, max_chars: int) -> str:
    if len(value) <= max_chars:
        return repr(value)
    return f"{value[:max_chars]!r}…(+{len(value) - max_chars} chars)"


_TYPE_QUALNAME: Final = type.__dict__["__qualname__"]


def type_label(kind: type) -> str:
    """A class's qualified name, read from the C slot (no metaclass code runs)."""
    name = _TYPE_QUALNAME.__get__(kind)
    return name if type(name) is str else "object"


def opaque(value: object) -> str:
    """``<function name>`` or ``<Class object>``: what a value is, never where."""
    kind = type(value)
    label = type_label(kind)
    if issubclass(kind, (types.BuiltinFunctionType, types.FunctionType)):
        label = _function_name(value)
    if issubclass(kind, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return f"<function {label}>" if kind is not types.MethodType else "<method>"
    return f"<{label} object>"


def _function_name(function: object) -> str:
    # The __qualname__ slot of the function's own C type: no descriptor of the host runs.
    for kind in (types.FunctionType, types.BuiltinFunctionType):
        if type(function) is kind:
            value = kind.__dict__["__qualname__"].__get__(function, kind)
            if type(value) is str:
                return value
    return "function"


def render_pairs(
    pairs: list[tuple[object, object]],
    total: int,
    depth: int,
    ctx: RenderLimits,
    value_of: Callable[[object, object], object],
) -> str:
    """``pairs`` holds at most max_items + 1 of the mapping's ``total`` pairs."""
    max_items, max_depth = ctx.max_items, ctx.max_depth
    if not total:
        return "{}"
    if depth >= max_depth:
        return "{…}"
    inner = depth + 1
    parts = [
        f"{render(k, depth=inner, limits=ctx)}: {render(value_of(k, v), depth=inner, limits=ctx)}"
        for k, v in pairs[:max_items]
    ]
    if total > max_items:
        parts.append(f"…(+{total - max_items} more)")
    return "{" + ", ".join(parts) + "}"


def render_sequence(
    items: list[object], total: int, kind: type, depth: int, ctx: RenderLimits
) -> str:
    """``items`` holds at most max_items + 1 of the container's ``total`` elements."""
    max_items, max_depth = ctx.max_items, ctx.max_depth
    if kind is set and not total:
        return "set()"
    if kind is frozenset and not total:
        return "frozenset()"
    opening, closing = "[", "]"
    for shape, pair in _OPEN_CLOSE:
        if kind is shape:
            opening, closing = pair
    if total and depth >= max_depth:
        return f"{opening}…{closing}"
    parts = [render(v, depth=depth + 1, limits=ctx) for v in items[:max_items]]
    if total > max_items:
        parts.append(f"…(+{total - max_items} more)")
    body = ", ".join(parts)
    if kind is tuple and total == 1:
        body += ","
    return f"{opening}{body}{closing}"
