"""Size estimates: each is at least what CPython really allocates for the result."""

from __future__ import annotations

import sys

from hypothesis import given
from hypothesis import strategies as st

from safeprobe.probe.sizes import (
    PAIR_BYTES,
    SET_ITEM_BYTES,
    char_item_bytes,
    int_bytes,
    part_bytes,
    range_item_bytes,
    sized_bytes,
    str_width,
    text_bytes,
)


@given(st.text())
def test_str_width_is_at_least_the_widest_characters_bytes(text: str) -> None:
    """The width read from a string's size covers its widest character (PEP 393); it can be
    more when CPython cached the string's UTF-8 form beside it (getsizeof counts both)."""
    widest = max((ord(c) for c in text), default=0)
    expected = 1 if widest < 0x100 else 2 if widest < 0x10000 else 4
    assert str_width(text) in (1, 2, 4)
    assert str_width(text) >= expected
    fresh = text + "x"  # a new string, with no cached UTF-8 form
    assert str_width(fresh) == expected


@given(st.text(), st.text())
def test_a_new_string_is_estimated_at_least_its_size(left: str, right: str) -> None:
    """A concatenation's estimate from its parts' lengths and widths covers its real size."""
    width = max(str_width(left), str_width(right))
    assert text_bytes(len(left) + len(right), width) >= sys.getsizeof(left + right)
    assert sized_bytes(left, len(left) + len(right), str_width(right)) >= sys.getsizeof(
        left + right
    )


@given(st.binary())
def test_a_new_bytes_is_estimated_at_least_its_size(data: bytes) -> None:
    """The estimate for a new bytes object is at least its real size."""
    assert sized_bytes(data, len(data)) >= sys.getsizeof(data)


@given(st.integers(min_value=-(2**50000), max_value=2**50000))
def test_an_int_is_estimated_at_least_its_size(number: int) -> None:
    """The estimate for an int is at least its real size."""
    assert int_bytes(number.bit_length()) >= sys.getsizeof(number)


@given(st.integers(min_value=-(2**5000), max_value=2**5000), st.integers(0, 50))
def test_each_int_of_a_range_is_estimated_at_least_its_size(start: int, count: int) -> None:
    """Every int a range makes fits the per-item estimate taken from its bounds."""
    span = range(start, start + count)
    each = range_item_bytes(span)
    for number in span:
        if not -5 <= number <= 256:
            assert each >= sys.getsizeof(number)


def test_small_ints_and_latin1_characters_cost_nothing_per_item() -> None:
    """CPython shares these objects, so a walk that makes them allocates nothing per item."""
    assert range_item_bytes(range(-5, 257)) == 0
    assert char_item_bytes("abc\xe9") == 0
    assert char_item_bytes("\u20ac") >= sys.getsizeof("\u20ac")
    assert char_item_bytes("\U0001f600") >= sys.getsizeof("\U0001f600")


@given(st.text(min_size=1))
def test_a_split_part_costs_at_least_an_empty_part_and_its_slot(text: str) -> None:
    """A split part is charged at least an empty part and its list slot, for str and bytes."""
    assert part_bytes(text) >= sys.getsizeof(text[:0]) + 8
    assert part_bytes(text.encode()) >= sys.getsizeof(b"") + 8


def test_table_and_pair_costs_cover_measured_sizes() -> None:
    """The per-item costs of sets and pairs are at least what CPython takes for them."""
    for count in (1, 10, 1000, 5000, 50_000, 100_000):
        assert sys.getsizeof(set(range(count))) <= count * SET_ITEM_BYTES + 256
    assert sys.getsizeof((1, 2)) <= PAIR_BYTES
