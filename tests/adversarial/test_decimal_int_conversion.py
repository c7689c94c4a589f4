"""Technique: make a Decimal convert a huge int. libmpdec converts an int operand to a
Decimal in time quadratic in its length, and is not bound by CPython's int digit limit: a
closed Fraction's numerator read by a probe is the host's 1,500,000-bit int, and
``Decimal('1.5') < n`` (comparisons were costed by each side's own length) or
``Decimal(n)`` (the constructor token took any int) converted it for seconds in one C call
(a 3,000,000-bit int: ~15-18 s measured). Arithmetic was already charged by the int's bits.
Source: CPython Modules/_decimal/_decimal.c (PyDecType_FromLongExact, convert_op_cmp);
libmpdec mpd_qimport_u32 (schoolbook base conversion)."""

import pytest

STDVALS = {"stdvals": {"target": "__main__:stdvals", "allow": ["**"]}}
HELD = frozenset({"limit", "timeout"})

PROBES = [
    "n = stdvals.frac.numerator\nprint(Decimal('1.5') < n)",
    "n = stdvals.frac.numerator\nprint(n == Decimal(1))",
    "print(Decimal(stdvals.frac.numerator))",
    "print(Decimal(-stdvals.frac.denominator) > 0)",
]


@pytest.mark.parametrize("probe", PROBES)
def test_decimal_never_converts_a_huge_int(held, probe: str) -> None:
    """A Decimal meeting an int past the int cap is refused before the conversion."""
    held(probe, HELD, expose=STDVALS)


def test_decimal_with_everyday_ints_still_works(held) -> None:
    """Decimals compare with and are built from ordinary ints as plain Python does."""
    record = held(
        "n = 10**30\nprint(Decimal(n) == n, Decimal('1.5') < n, Decimal(7))",
        frozenset({"ok"}),
        expose=STDVALS,
    )
    assert "\nTrue True 7\n" in record["_report"], record["_report"]
