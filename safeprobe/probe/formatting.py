"""Formatting by the probe: ``%``-formatting, f-string fields and ``str.format``.

Promise: a value is formatted with our renderer (text.py), never its own ``__str__``,
``__repr__`` or ``__format__`` (except a closed stdlib value's ``__format__``, once its
result's size is checked); ``str.format`` takes plain positional and keyword fields only, so
its mini-language cannot walk attributes or items; every piece and the total are charged
as they grow, and widths are capped. Threat model: SECURITY.md, "Internals" and "Memory".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from safeprobe.probe.scalars import is_scalar
from safeprobe.probe.sizes import sized_bytes
from safeprobe.probe.text import (
    MAX_FORMAT_WIDTH,
    PercentField,
    format_spec_numbers,
    parse_percent,
    to_repr,
    to_text,
)
from safeprobe.probe.values import MAX_VALUE_TEXT, format_bound, is_closed, text_bound
from safeprobe.probe.views import View

if TYPE_CHECKING:
    from safeprobe.probe.sandbox import Sandbox


class Formatting:
    """The formatting of one attempt. A collaborator of the attempt's Sandbox: it charges the
    Sandbox's budget, renders under its state's limits and checks keys through its guard."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self.state = sandbox.state
        self.budget = sandbox.budget

    def percent_format(self, template: str | bytes, args: object) -> object:
        """``template % args``, field by field, with our renderer for %s/%r/%a.

        C's %-formatting would call each argument's own __str__/__repr__ (addresses of
        functions, a view's machinery) and could build any size in one call, so each field
        is formatted on its own, its text rendered by us, and the total checked as it grows.
        """
        is_bytes = type(template) is bytes
        text = template.decode("latin-1") if isinstance(template, bytes) else template
        fields = parse_percent(text, self.state.deny, self.budget.tick)
        mapping = any(f.key is not None for f in fields)
        positional = list(args) if type(args) is tuple else [args]
        used = 0
        pieces: list[str | bytes] = []
        total = 0
        for part in fields:
            if part.conversion in ("%", ""):
                piece: str | bytes = part.literal.encode("latin-1") if is_bytes else part.literal
            else:
                if mapping:
                    key: object = part.key
                    if is_bytes and part.key is not None:
                        key = part.key.encode("latin-1")
                    value = self._percent_value(args, key)
                else:
                    if used >= len(positional):
                        raise TypeError("not enough arguments for format string")
                    value = positional[used]
                    used += 1
                piece = self._percent_piece(part, value, is_bytes=is_bytes)
            total += len(piece)
            self.budget.check_bytes(sized_bytes(piece, len(piece)), "%-format")
            self.budget.check_total_bytes(total, "%-format")
            pieces.append(piece)
        if not mapping and used < len(positional) and type(args) is tuple:
            raise TypeError("not all arguments converted during string formatting")
        if is_bytes:
            return b"".join(cast("list[bytes]", pieces))
        return "".join(cast("list[str]", pieces))

    def _percent_value(self, args: object, key: object) -> object:
        if type(args) is View:
            return args.sp_getitem(key)
        if type(args) is dict:
            return args[self._sandbox.key(key)]
        raise TypeError("format requires a mapping")

    def _percent_piece(self, field: PercentField, value: object, *, is_bytes: bool) -> str | bytes:
        limits = self.state.render_limits
        spec = field.spec
        if field.conversion in "sra":
            if is_bytes and field.conversion == "s":
                if type(value) is not bytes:
                    raise TypeError("%b requires a bytes-like object")
                return (spec + "s").encode() % (value,)
            if field.conversion == "s":
                shown = to_text(value, limits)
            else:
                shown = to_repr(value, limits)
                if field.conversion == "a" or is_bytes:
                    shown = shown.encode("ascii", "backslashreplace").decode("ascii")
            formatted = (spec + "s") % (shown,)
            return formatted.encode("latin-1", "backslashreplace") if is_bytes else formatted
        if not is_scalar(value):
            raise TypeError(f"%{field.conversion} format: a number is required")
        template = spec + field.conversion
        if is_bytes:
            return template.encode() % (value,)
        result: str = template % (value,)
        return result

    def _check_format_spec(self, spec: str) -> None:
        for number in format_spec_numbers(spec):
            if len(number) > 6 or int(number) > MAX_FORMAT_WIDTH:
                self.state.deny("format", f"format width over {MAX_FORMAT_WIDTH}")

    def format_field(self, value: object, conversion: int, spec: str) -> str:
        """One f-string field: render with our text functions, never the value's own."""
        limits = self.state.render_limits
        if type(spec) is not str:
            spec = to_text(spec, limits)
        self._check_format_spec(spec)
        if conversion == -1 and is_closed(value):
            # A datetime's strftime, a Decimal's fixed point: the stdlib's own __format__,
            # once its result's size is checked (values.format_bound). A value whose own
            # text is over the cap (str() shows it marked) is refused: a marker formatted
            # with the spec would be a wrong answer.
            if text_bound(value) > MAX_VALUE_TEXT:
                raise self.budget.stop(
                    "limit", "size", "f-string field: the value's text is too long"
                )
            self.budget.check_bytes(format_bound(value, spec), "f-string field")
            text = format(value, spec)
            self.budget.check_bytes(sized_bytes(text, len(text)), "f-string field")
            return text
        if conversion in (ord("r"), ord("a")):
            value = to_repr(value, limits)
        elif conversion == ord("s") or not is_scalar(value) or type(value) is bytes:
            # bytes too: their own __format__ is their whole repr, in one C call.
            value = to_text(value, limits)
        text = format(value, spec)
        # Charged, so many fields of one large string cannot make a huge f-string.
        self.budget.check_bytes(sized_bytes(text, len(text)), "f-string field")
        return text

    def str_format(self, template: str) -> Callable[..., str]:
        # str.format walks attributes and items through its mini-language ("{0.__class__}",
        # "{0[key]}") without going through our guards (Ronacher, "Be careful with Python's
        # new-style string format", 2016; RestrictedPython CVE-2023-41039). Only
        # plain positional and keyword fields are allowed, each rendered by format_field.
        import string  # noqa: PLC0415 - only needed when a probe formats

        def fmt(*args: object, **kwargs: object) -> str:
            parts: list[str] = []
            auto = 0
            total = 0
            # Parsed lazily, one step per field: a template of millions of fields stops at
            # the step budget or the deadline instead of running (or parsing) all at once.
            for literal, name, spec, conversion in string.Formatter().parse(template):
                self.budget.tick()
                total += len(literal)
                parts.append(literal)
                if name is None:
                    continue
                if name == "":
                    key: int | str = auto
                    auto += 1
                elif name.isdigit():
                    key = int(name)
                elif name.isidentifier():
                    key = name
                else:
                    self.state.deny("format", "format fields may not use '.' or '[]'")
                if spec and "{" in spec:
                    self.state.deny("format", "nested format fields are not available")
                value = args[key] if isinstance(key, int) else kwargs[key]
                conv = -1 if conversion is None else ord(conversion)
                piece = self.format_field(value, conv, spec or "")  # charges the piece
                total += len(piece)
                self.budget.check_total_bytes(total, "str.format()")
                parts.append(piece)
            return "".join(parts)

        return fmt
