"""What a probe may do with closed stdlib values (values.py) and how the idioms it types work.

Promise: attribute reads of a closed value go through its type's list in values.py and
their results are checked again (a scalar, a closed value or a tuple of those, else
refused); calls that can build something large (``strftime`` with a long format, a
Decimal's ``as_integer_ratio`` or fixed-point format, Fraction arithmetic) are charged to
the attempt's budget before the one call that would build it; so are a path's ``/`` and
the methods that build a longer path, and Fraction's ``limit_denominator``. ``isinstance`` takes the
builtin types and the stdlib types a probe may name (``TYPE_NAMES``); the names are
tokens, not the classes, so a probe cannot reach a class's attributes, and only the value
types in ``_CONSTRUCTORS`` can be called, with scalars and closed values only.
``typename`` and ``hasattr`` answer from the type's C slot and the allowlists, without
running host code. Threat model: SECURITY.md, "Stdlib values".
"""

from __future__ import annotations

import datetime
import decimal
import enum
import fractions
import pathlib
import types
import uuid
from collections.abc import Callable
from typing import Final, NoReturn, cast

from safeprobe.probe.budget import Budget
from safeprobe.probe.numeric_hooks import forget_numeric_check
from safeprobe.probe.scalars import is_scalar
from safeprobe.probe.slots import type_name
from safeprobe.probe.values import (
    ENUM_READS,
    FIXED_DECIMAL_CONTEXT,
    ISINSTANCE_TYPES,
    READS_BY_ID,
    decimal_digits,
    format_bound,
    is_closed,
    read,
    text_bound,
)

_BITS_PER_DIGIT: Final = 3.33


class TypeToken:
    """A stdlib type as a probe names it: isinstance() maps it back to the class; it is
    callable only for the value types in ``_CONSTRUCTORS``; it has no attributes."""

    __slots__ = ("_sp_deny", "_sp_kind", "_sp_make")

    _sp_kind: type
    _sp_make: Callable[..., object] | None
    _sp_deny: Callable[[str, str], NoReturn]

    def __init__(
        self,
        kind: type,
        make: Callable[..., object] | None,
        deny: Callable[[str, str], NoReturn],
    ) -> None:
        object.__setattr__(self, "_sp_kind", kind)
        object.__setattr__(self, "_sp_make", make)
        object.__setattr__(self, "_sp_deny", deny)

    def __call__(self, *args: object, **kwargs: object) -> object:
        make = self._sp_make
        if make is None:
            # bytearray(10**10), deque(endless), Enum('X', ...): a type name is for isinstance.
            self._sp_deny(
                "builtins", f"{type_name(self._sp_kind)}() cannot be called; it names a type"
            )
        return make(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<class '{type_name(self._sp_kind)}'>"

    __str__ = __repr__

    def __setattr__(self, name: str, value: object) -> None:
        raise TypeError("type names are read-only")


def token_kind(value: object) -> type | None:
    """The class a token stands for, or None."""
    if type(value) is TypeToken:
        kind: type = value._sp_kind
        return kind
    return None


def _only_plain(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    for value in (*args, *kwargs.values()):
        if not is_scalar(value) and not is_closed(value):
            raise TypeError("arguments must be numbers, strings or stdlib values")


def _constructor(kind: type, budget: Budget) -> Callable[..., object]:
    def make(*args: object, **kwargs: object) -> object:
        _only_plain(args, kwargs)
        # Decimal(n) converts an int in time quadratic in its length (a host's
        # 3,000,000-bit int: ~18 s in one call): the int cap bounds it.
        for value in (*args, *kwargs.values()):
            if type(value) is int:
                budget.check_int_bits(value.bit_length(), f"{type_name(kind)}()")
        with decimal.localcontext(FIXED_DECIMAL_CONTEXT):
            return kind(*args, **kwargs)

    return make


# Value types a probe may build, to compare a host value with: each builds an immutable
# value from numbers and short strings in time linear in them. Not Fraction (its str
# parser builds 10**exponent) and no container (bytearray(10**10) is one allocation).
_CONSTRUCTORS: Final = frozenset(
    map(
        id,
        (
            datetime.date,
            datetime.datetime,
            datetime.time,
            datetime.timedelta,
            decimal.Decimal,
            uuid.UUID,
        ),
    )
)


def type_tokens(budget: Budget, deny: Callable[[str, str], NoReturn]) -> dict[str, TypeToken]:
    """The names a probe may use for stdlib types, each a fresh token; calling one that
    is not a constructor is refused through ``deny``."""
    return {
        name: TypeToken(
            kind, _constructor(kind, budget) if id(kind) in _CONSTRUCTORS else None, deny
        )
        for name, kind in ISINSTANCE_TYPES.items()
    }


def integer_bits(value: object) -> int:
    """At least the bits of the integers a Decimal or Fraction becomes (``int()``,
    ``round()``, ``as_integer_ratio()``): a Decimal's exponent is a count of digits to
    write out (Decimal('1E+999999') is a million-digit integer); 0 for other values."""
    if type(value) is decimal.Decimal:
        number = value
        if not number.is_finite():
            return 0
        # |exponent| <= |adjusted| + digits, and the digits are at most decimal_digits.
        digits = 2 * decimal_digits(number) + abs(number.adjusted())
        return int(digits * _BITS_PER_DIGIT)
    if type(value) is fractions.Fraction:
        fraction = value
        return fraction.numerator.bit_length() + fraction.denominator.bit_length()
    if type(value) is int:
        return value.bit_length()
    return 0


# A glob for one path: a few parts of a few wildcards each. Longer patterns cost their
# compile (Python code, ~2.6 ms per 1,000 characters) and a slot in fnmatch's cache.
MAX_MATCH_PATTERN: Final = 256
# Path methods that build a new path from this one and their arguments.
_PATH_BUILDERS: Final = frozenset({"joinpath", "with_name", "with_suffix", "with_stem"})


def _text_size(value: object) -> int:
    """At least the characters ``value`` adds to a path built from it."""
    if type(value) is str:
        return len(value)
    return text_bound(value) if is_closed(value) else 0


# Operators whose result's integers are at most as long as both operands' together: a
# Fraction's numerator and denominator after + - * / // % are products of the operands'.
_GROWING: Final = frozenset({"+", "-", "*", "/", "//", "%"})


class ValueAccess:
    """The guards for closed values in one attempt."""

    def __init__(self, budget: Budget, deny: Callable[[str, str], NoReturn]) -> None:
        self.budget = budget
        self.deny = deny
        forget_numeric_check()  # a new attempt: the host may have made classes since

    def getattr(self, value: object, name: str) -> object:
        """``value.name`` for a closed value: listed names only, results checked."""
        try:
            found = read(value, name)
        except LookupError:
            self.deny(
                "attribute",
                f"'{name}' of {type_name(type(value))} values is not available to probes",
            )
        kind = type(found)
        if kind is types.BuiltinMethodType or kind is types.MethodType:
            return self._method(value, name, cast("Callable[..., object]", found))
        return self.result(found, name)

    def _method(self, value: object, name: str, method: Callable[..., object]) -> object:
        def call(*args: object, **kwargs: object) -> object:
            self._check_call(value, name, args, kwargs)
            return self.result(method(*args, **kwargs), name)

        call.__name__ = name
        call.__qualname__ = f"{type_name(type(value))}.{name}"
        return call

    def _check_call(
        self, value: object, name: str, args: tuple[object, ...], kwargs: dict[str, object]
    ) -> None:
        if name == "strftime" and args and type(args[0]) is str:
            self.budget.check_bytes(format_bound(value, args[0]), f"{name}()")
        elif name == "as_tuple" and type(value) is decimal.Decimal:
            self.budget.check_items(decimal_digits(value), f"{name}()")
        elif name == "as_integer_ratio" and type(value) is decimal.Decimal:
            self.budget.check_int_bits(integer_bits(value), f"{name}()")
        elif name == "limit_denominator":
            # A continued-fraction loop in fractions.py, a division of the value's integers
            # at each step: one call on a 4,000,000-bit Fraction ran ~4 s.
            self.budget.check_int_bits(integer_bits(value), f"{name}()")
        elif name == "match":
            # fnmatch compiles the pattern in Python code (no tick reaches it) and keeps it
            # in a process-wide cache of 32,768: a glob for a path is short.
            pattern = args[0] if args else kwargs.get("path_pattern")
            if type(pattern) is str and len(pattern) > MAX_MATCH_PATTERN:
                raise self.budget.stop(
                    "limit", "size", f"match() pattern over {MAX_MATCH_PATTERN} characters"
                )
        elif name in _PATH_BUILDERS:
            # A new path as long as this one and every argument together.
            self.budget.check_bytes(
                text_bound(value) + sum(map(_text_size, (*args, *kwargs.values()))),
                f"{name}()",
            )

    def readable(self, value: object, name: str) -> bool:
        """Whether ``getattr`` would give ``value.name`` (for hasattr)."""
        if issubclass(type(value), enum.Enum):
            return name in ENUM_READS
        names = READS_BY_ID.get(id(type(value)))
        return names is not None and name in names

    def check_arithmetic(self, op: str, left: object, right: object) -> None:
        """Charge ``left op right`` when a Fraction or Decimal is in it: a Fraction's result
        has integers as long as both operands' (``**``: times the exponent); a Decimal's is
        rounded to the fixed context's 28 digits, but an int operand is converted exactly
        first. Python code (fractions.py) or one C call, so checked before it runs."""
        left_kind, right_kind = type(left), type(right)
        if issubclass(left_kind, pathlib.PurePath) or issubclass(right_kind, pathlib.PurePath):
            # ``/`` joins: the result is as long as both operands (it is no division).
            self.budget.check_bytes(_text_size(left) + _text_size(right), f"'{op}'")
            return
        if left_kind is fractions.Fraction or right_kind is fractions.Fraction:
            bits = integer_bits(left) + integer_bits(right)
            if op == "**" and type(right) is int:
                bits = integer_bits(left) * max(abs(right), 1)
            elif op not in _GROWING and op != "**":
                return
            self.budget.check_int_bits(bits, f"'{op}'")
        elif left_kind is decimal.Decimal or right_kind is decimal.Decimal:
            for operand in (left, right):
                if type(operand) is int:
                    self.budget.check_int_bits(operand.bit_length(), f"'{op}'")

    def result(self, found: object, name: str) -> object:
        """A read's result, if it is a scalar, a closed value or a tuple of those."""
        plain = is_scalar(found) or is_closed(found)
        if not plain and type(found) is tuple:
            plain = all(is_scalar(v) or is_closed(v) for v in cast("tuple[object, ...]", found))
        if not plain:
            self.deny("host-code", f"'{name}' gave a value probes cannot hold")
        return found
