"""What a value costs in memory, estimated from the inputs of the call that would build it.

Promise: every estimate is O(1) (``sys.getsizeof``, ``len``, ``bit_length``,
``str.isascii`` on builtin values: none runs host code or walks a large input) and is an
upper bound of what CPython 3.11 allocates for the result, allocator rounding included,
so a budget check made before a C call refuses what would be over the cap instead of
finding out afterwards. Threat model: SECURITY.md, "Memory".
"""

from __future__ import annotations

import sys
from typing import Final

POINTER_BYTES: Final = 8
# pymalloc hands out 16-byte multiples and malloc adds a header: a per-object margin.
_ALLOC_SLACK: Final = 16

# PEP 393: an ASCII string is a 48-byte header and one byte a character plus the NUL; any
# other is a 72-byte header and 1, 2 or 4 bytes a character (the widest one decides).
_ASCII_BASE: Final = sys.getsizeof("") - 1
# Measured on a string made at run time: a one-character Latin-1 string is a shared
# singleton, which on 3.12+ carries its cached UTF-8 form too (61 bytes, against 59 for
# two characters), and a base read from it made every 2-byte string look 1 byte wide.
_WIDE_BASE: Final = sys.getsizeof("".join(["\xe9", "\xe9"])) - 3
_BYTES_BASE: Final = sys.getsizeof(b"") - 1
# An int is a header and one 4-byte digit per 30 bits (getsizeof(2**40000) == 5360).
_INT_BASE: Final = sys.getsizeof(1) - 4
_INT_DIGIT_BITS: Final = sys.int_info.bits_per_digit
_INT_DIGIT_BYTES: Final = sys.int_info.sizeof_digit
# CPython keeps one shared object for each small int and each Latin-1 character, so a
# builtin that makes them allocates nothing per item.
_SMALL_INT_MIN: Final = -5
_SMALL_INT_MAX: Final = 256
# Hash tables: a set grows to 4x its fill and rounds up to a power of two, 16 bytes a
# slot (measured: up to 105 bytes an item at 5,000 items); a dict's entries and indices
# measured up to 53 bytes an item, twice that right after a resize.
SET_ITEM_BYTES: Final = 128
DICT_ITEM_BYTES: Final = 104
# A 2-tuple, as dict.items() and zip() make one per item.
PAIR_BYTES: Final = sys.getsizeof((0, 0)) + _ALLOC_SLACK


def str_width(text: str) -> int:
    """Bytes per character of ``text`` (1, 2 or 4), read from its size, not its characters.
    An upper bound: a string whose UTF-8 form CPython cached counts that too."""
    if text.isascii():  # a flag on the string: O(1)
        return 1
    width = (sys.getsizeof(text) - _WIDE_BASE) // (len(text) + 1)
    return 4 if width > 2 else max(width, 1)


def text_bytes(chars: int, width: int) -> int:
    """An upper bound of a new string of ``chars`` characters at ``width`` bytes each."""
    return _WIDE_BASE + (max(chars, 0) + 1) * width + _ALLOC_SLACK


def bytes_bytes(length: int) -> int:
    """A new bytes object of ``length`` bytes."""
    return _BYTES_BASE + max(length, 0) + 1 + _ALLOC_SLACK


def sized_bytes(value: str | bytes, chars: int, width: int = 1) -> int:
    """A new str or bytes of the same type as ``value`` with ``chars`` items, at least
    ``width`` bytes a character (a str result is as wide as its widest part)."""
    if type(value) is bytes:
        return bytes_bytes(chars)
    return text_bytes(chars, max(width, str_width(value)))  # type: ignore[arg-type]


def part_bytes(value: str | bytes) -> int:
    """The fixed cost of one more part split off ``value``: its header and list slot."""
    if type(value) is bytes:
        return _BYTES_BASE + 1 + _ALLOC_SLACK + POINTER_BYTES
    return _WIDE_BASE + str_width(value) + _ALLOC_SLACK + POINTER_BYTES  # type: ignore[arg-type]


def int_bytes(bits: int) -> int:
    """A new int of ``bits`` bits."""
    digits = max(-(-bits // _INT_DIGIT_BITS), 1)
    return _INT_BASE + digits * _INT_DIGIT_BYTES + _ALLOC_SLACK


def range_item_bytes(span: range) -> int:
    """What each int a walk of ``span`` makes costs; nothing when all are shared small ints."""
    start, stop = span.start, span.stop  # stop is one past the last, either way
    if (
        _SMALL_INT_MIN <= start <= _SMALL_INT_MAX
        and _SMALL_INT_MIN - 1 <= stop <= _SMALL_INT_MAX + 1
    ):
        return 0
    return int_bytes(max(start.bit_length(), stop.bit_length()))


def char_item_bytes(text: str) -> int:
    """What each one-character string a walk of ``text`` makes costs: nothing for Latin-1,
    whose characters CPython shares, else a new small string each."""
    width = str_width(text)
    return 0 if width == 1 else text_bytes(1, width)
