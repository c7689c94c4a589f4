"""The text a probe's values become: str() and repr() of probe values, exception messages,
and the parsing of %-format templates.

Promise: no function here calls a host object's ``__str__``, ``__repr__`` or
``__format__``, shows a memory address, or names the sandbox's internals; each runs in
time linear in its input (or bounded by the render budget). Threat model: SECURITY.md,
"Internals" and "Memory".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, NoReturn

from safeprobe.probe.render import RenderLimits, hooked_text, int_text, render
from safeprobe.probe.scalars import is_scalar
from safeprobe.probe.values import is_closed, value_text

# Widths and precisions in a format spec or %-format above this are refused: a field of
# 10**9 spaces is one C call that allocates a gigabyte.
MAX_FORMAT_WIDTH: Final = 10_000
_FORMAT_NUMBER: Final = re.compile(r"\d+")


def format_spec_numbers(spec: str) -> list[str]:
    """The digit runs (widths, precisions) in a format spec."""
    return _FORMAT_NUMBER.findall(spec)


# bytes longer than this show as their first max_str_chars with a "…(+N chars)" marker
# instead of their whole repr: 1 MiB is up to 4 MiB of text, a few ms in one C call, and
# far beyond any output cap.
MAX_BYTES_TEXT: Final = 1024 * 1024

_PERCENT_SPEC: Final = re.compile(r"([-+ #0]*)(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([diouxXeEfFgGcrsa%])")


def to_text(value: object, limits: RenderLimits) -> str:
    """``str()`` as a probe sees it: the value's own text for scalars, a structural
    rendering for everything else (no host ``__str__``, no addresses)."""
    if type(value) is str:
        return value
    if type(value) is int:
        return int_text(value)
    if type(value) is bytes and len(value) > MAX_BYTES_TEXT:
        # str(bytes) is its repr, up to 4 characters a byte, built in one C call.
        return render(value, depth=0, limits=limits)
    if is_scalar(value):
        return str(value)
    if is_closed(value):
        return value_text(value, as_str=True)
    if issubclass(type(value), BaseException):
        # As Python's str(exception), but rendering the arguments ourselves, and never
        # recursing into an exception held as an argument (a chain can be 10,000 long).
        args = BaseException.__dict__["args"].__get__(value)
        if len(args) == 1 and not issubclass(type(value), KeyError):
            arg = args[0]
            if type(arg) is str:
                return _plain_message(arg)
            return str(arg) if is_scalar(arg) else render(arg, depth=1, limits=limits)
        if len(args) == 1:
            return render(args[0], depth=1, limits=limits)
        return render(tuple(args), depth=0, limits=limits) if args else ""
    hooked = hooked_text(value)
    return hooked if hooked is not None else render(value, depth=0, limits=limits)


# CPython words a TypeError from the callable's qualified name and the operand's class, so
# calling a wrapper wrongly would name our internals ("ContainerReads.sp_m_get()", "Builtins._make_
# builtins.<locals>.<lambda>()"; the Sandbox's collaborators in sandbox.py, safe_builtins.py,
# own_methods.py, formatting.py and printing.py); messages are reworded to the names a probe
# knows.
_INTERNAL_NAMES: Final = (
    (re.compile(r"(?:Sandbox|Builtins)\._make_builtins\.<locals>\.<lambda>"), "builtin"),
    (re.compile(r"Printer\._call_print"), "print"),
    (re.compile(r"(?:Sandbox|Builtins|OwnMethods|Formatting)\._?(\w+)"), r"\1"),
    (re.compile(r"(?:View|ContainerReads)\._?sp_m_(\w+)"), r"\1"),
    (re.compile(r"(?:View|ContainerReads)\._?sp_(\w+)"), r"\1"),
    (re.compile(r"'View'"), "'host view'"),
    (re.compile(r"[\w.]*<locals>\."), ""),
    # CPython also names a type bare ("expected str instance, View found", "not View"),
    # and the redaction marker's class shows in operator errors ("'Redacted' and 'int'").
    (re.compile(r"\b(?:View|ContainerReads)\b"), "host view"),
    (re.compile(r"'Redacted'"), "'redacted value'"),
    (re.compile(r"\bRedacted\b"), "redacted value"),
)
# Words any internal name above contains: a message with none of them is left as it is.
_INTERNAL_WORDS: Final = (
    "View",
    "ContainerReads",
    "Sandbox",
    "Builtins",
    "OwnMethods",
    "Formatting",
    "Printer",
    "<locals>",
    "Redacted",
)


# CPython 3.11 words some messages with the value's own repr ("<function f at 0x7f…> is
# not in list"); the address goes. A linear pattern, safe on any length.
_ADDRESS: Final = re.compile(r" at 0x[0-9a-fA-F]+")
# The internal-name patterns backtrack on long runs of letters, so they only see messages
# short enough to be CPython's own wording (a probe's long text names no internals).
_MAX_SCRUBBED_CHARS: Final = 2000


def _plain_message(text: str) -> str:
    if "0x" in text:
        text = _ADDRESS.sub("", text)
    if len(text) > _MAX_SCRUBBED_CHARS:
        return text
    if not any(word in text for word in _INTERNAL_WORDS):
        return text
    for pattern, replacement in _INTERNAL_NAMES:
        text = pattern.sub(replacement, text)
    return text


def to_repr(value: object, limits: RenderLimits) -> str:
    if issubclass(type(value), BaseException):
        return f"{type(value).__name__}({to_text(value, limits)!r})"
    return render(value, depth=0, limits=limits)


@dataclass(frozen=True, slots=True)
class PercentField:
    """One piece of a %-format: a literal (conversion ""), "%%", or a field."""

    literal: str
    key: str | None = None
    spec: str = "%"  # "%" plus flags, width and precision, without the conversion
    conversion: str = ""


def _percent_key(text: str, cursor: int) -> tuple[str | None, int]:
    """A "(key)" at ``cursor``, parentheses nested as CPython counts them, or no key."""
    if cursor >= len(text) or text[cursor] != "(":
        return None, cursor
    depth, cursor = 1, cursor + 1
    start = cursor
    while cursor < len(text) and depth:
        depth += {"(": 1, ")": -1}.get(text[cursor], 0)
        cursor += 1
    if depth:
        raise ValueError("incomplete format key")
    return text[start : cursor - 1], cursor


def parse_percent(
    text: str, deny: Callable[[str, str], NoReturn], tick: Callable[[], None]
) -> list[PercentField]:
    """Split a %-format the way CPython reads it, keys with nested parentheses included;
    one step per field, so a 16 MB template of fields stops at the budget."""
    fields: list[PercentField] = []
    index, start = 0, 0
    while True:
        tick()
        index = text.find("%", start)
        if index < 0:
            if start < len(text):
                fields.append(PercentField(text[start:]))
            return fields
        if index > start:
            fields.append(PercentField(text[start:index]))
        key, cursor = _percent_key(text, index + 1)
        match = _PERCENT_SPEC.match(text, cursor)
        if match is None:
            raise ValueError("unsupported format character")
        flags, width, precision, conversion = match.groups()
        for number in (width, precision):
            if number == "*":
                deny("format", "'*' widths are not available in probes")
            if number is not None and (len(number) > 6 or int(number) > MAX_FORMAT_WIDTH):
                deny("format", f"format width over {MAX_FORMAT_WIDTH}")
        if conversion == "%":
            fields.append(PercentField("%", conversion="%"))
        else:
            spec = "%" + flags + (width or "") + (f".{precision}" if precision else "")
            fields.append(PercentField("", key, spec, conversion))
        start = match.end()
