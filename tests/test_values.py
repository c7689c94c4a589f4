"""Unit tests of values.py's closedness and text bounds, and of the costs comparison.py
gives closed numbers (no subprocess)."""

from __future__ import annotations

import abc
import datetime
import decimal
import enum
import fractions
import gc
import pathlib
import sys
from typing import NoReturn

import pytest

from safeprobe.probe.budget import Budget
from safeprobe.probe.comparison_cost import leaf_cost
from safeprobe.probe.numeric_hooks import numeric_abcs_plain
from safeprobe.probe.values import (
    MAX_VALUE_TEXT,
    is_closed,
    is_value_class,
    text_bound,
    value_text,
)


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = (value,)
    return value


class _Deep(enum.Enum):
    NESTED = _nested(3000)


class _Shallow(enum.Enum):
    PAIR = ((1, 2), (3, 4))


def test_deeply_nested_enum_value_is_not_closed_and_raises_nothing() -> None:
    """A member whose value nests past the depth bound is a view, judged without recursion
    errors; a shallow tuple value stays closed."""
    assert is_closed(_Deep.NESTED) is False
    assert is_closed(_Shallow.PAIR) is True


def test_text_bound_of_a_path_covers_its_length() -> None:
    """A long path's text bound is at least its repr's length, so it is charged."""
    path = pathlib.PurePosixPath("/srv/" + "d" * 100_000)
    assert is_closed(path)
    assert text_bound(path) >= len(repr(path))
    assert text_bound(pathlib.PurePosixPath("/a")) >= len(repr(pathlib.PurePosixPath("/a")))


def test_fraction_text_past_the_default_digit_limit_is_marked_when_the_limit_is_off() -> None:
    """With the host's digit limit off, a Fraction of 20,000-digit integers is marked, not
    converted (quadratic); a small one is shown as Python shows it."""
    huge = fractions.Fraction(10**20_000 + 1, 3)
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        assert text_bound(huge) > MAX_VALUE_TEXT
        assert value_text(huge, as_str=True) == "Fraction(…)"
        assert value_text(fractions.Fraction(1, 3), as_str=False) == "Fraction(1, 3)"
    finally:
        sys.set_int_max_str_digits(before)


class _CountingMeta(type):
    calls = 0

    def __eq__(cls, other: object) -> bool:
        _CountingMeta.calls += 1
        return False

    def __hash__(cls) -> int:
        _CountingMeta.calls += 1
        return 1


class _HostDate(datetime.date, metaclass=_CountingMeta):
    pass


def test_value_classes_are_found_by_identity() -> None:
    """Subclasses of stdlib value types are value classes, others are not, and no metaclass
    code runs to tell."""
    assert is_value_class(_HostDate)
    assert is_value_class(decimal.Decimal)
    assert is_value_class(_Deep)
    assert not is_value_class(int)
    assert not is_value_class(_CountingMeta)
    assert _CountingMeta.calls == 0


def test_numeric_abcs_are_plain_in_a_process_without_hooks() -> None:
    """Without host hooks on the numeric ABCs, Fractions and Decimals are closed."""
    assert numeric_abcs_plain()
    assert is_closed(fractions.Fraction(1, 3))
    assert is_closed(decimal.Decimal("9.99"))


@pytest.mark.parametrize("bits", [4_000, 40_000, 400_000])
def test_fraction_compare_cost_grows_faster_than_its_length(bits: int) -> None:
    """Comparing Fractions multiplies their integers: the cost grows superlinearly (twice
    the bits, about three times the cost)."""
    small = fractions.Fraction((1 << bits) + 1, 3)
    double = fractions.Fraction((1 << (2 * bits)) + 1, 3)
    assert leaf_cost(double) > 2.5 * leaf_cost(small)


def test_fraction_past_a_million_bits_is_over_the_comparison_cap_alone() -> None:
    """A 1,500,000-bit Fraction (~1 s a comparison) costs more than the cap (4,000,000)."""
    assert leaf_cost(fractions.Fraction((1 << 1_500_000) + 1, 3)) > 4_000_000


def test_decimal_compare_cost_follows_its_digits() -> None:
    """A Decimal's comparison cost follows its coefficient's length."""
    assert leaf_cost(decimal.Decimal("9" * 100_000)) > 100 * leaf_cost(decimal.Decimal("9.99"))


def test_a_hooked_numeric_class_made_after_an_attempt_is_seen_by_the_next() -> None:
    """The numeric-ABC walk is redone by every attempt: a host class made since, which
    changes no ABC cache token (no register()), still turns Fractions into views."""
    from safeprobe.probe.value_access import ValueAccess  # noqa: PLC0415 - one test's use

    def deny(rule: str, problem: str) -> NoReturn:
        raise AssertionError(rule, problem)

    budget = Budget(timeout_s=5.0, max_steps=10**6, max_items=1000)
    ValueAccess(budget, deny)  # an attempt starts
    assert is_closed(fractions.Fraction(1, 3))
    token = abc.get_cache_token()

    class HookedMeta(abc.ABCMeta):
        def __instancecheck__(cls, instance: object) -> bool:
            return False

    class HostRational(fractions.Fraction, metaclass=HookedMeta):
        pass

    try:
        assert abc.get_cache_token() == token  # nothing a token-keyed cache would notice
        ValueAccess(budget, deny)  # the next attempt
        assert not numeric_abcs_plain()
        assert not is_closed(fractions.Fraction(1, 3))
    finally:
        del HostRational, HookedMeta
        gc.collect()
    ValueAccess(budget, deny)
    assert is_closed(fractions.Fraction(1, 3))
