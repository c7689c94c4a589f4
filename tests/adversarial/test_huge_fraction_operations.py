"""Technique: make the stdlib run a quadratic algorithm on a huge Fraction the host holds.
A Fraction of the exact type is a closed value, handed to the probe as it is, and its
integers are as long as the host made them (here 1,500,000 dense bits). ``+ - * / // % **``
were charged by those sizes, but ``divmod`` (a builtin, not an operator), ``<``/``max``/
``sorted`` (Fraction compares by cross-multiplying, even against an int) and
``limit_denominator`` (a continued-fraction loop in fractions.py) were not: on 2,400,000-bit
Fractions ``divmod(f, 3)`` ran 8.7 s, ``f < g`` 1 s and ``limit_denominator`` 1.6 s on a
500 ms timeout in isolation: thread, each holding the GIL in one call.
Source: CPython Lib/fractions.py (_richcmp, _divmod, limit_denominator); gh-95778
(quadratic int algorithms as a DoS vector)."""

import pytest

STDVALS = {"stdvals": {"target": "__main__:stdvals", "allow": ["**"]}}
HELD = frozenset({"limit", "timeout"})

PROBES = [
    "print(divmod(stdvals.frac, 3)[0])",
    "print(divmod(stdvals.frac, stdvals.frac2)[1] > 0)",
    "print(stdvals.frac < stdvals.frac2)",
    "print(stdvals.frac >= stdvals.frac2)",
    "print(max(stdvals.frac, stdvals.frac2) > 0)",
    "print(sorted([stdvals.frac2, stdvals.frac])[0] > 0)",
    "print(stdvals.frac.limit_denominator(10**6))",
    "print(1 < stdvals.frac, stdvals.frac == stdvals.frac2)",
]


@pytest.mark.parametrize("probe", PROBES)
def test_operations_on_a_huge_fraction_are_held(held, probe: str) -> None:
    """Every operation on a host's huge Fraction is charged by its integers' size first."""
    held(probe, HELD, expose=STDVALS)


def test_operations_on_small_fractions_still_run(held) -> None:
    """Fractions of everyday size divmod, compare and limit as plain Python does."""
    record = held(
        "t = stdvals.third\n"
        "print(divmod(t * 7, 1), t < t * 2, t.limit_denominator(2), max(t, t / 2))",
        frozenset({"ok"}),
        expose=STDVALS,
    )
    assert "(2, Fraction(1, 3)) True 1/2 1/3" in record["_report"], record["_report"]
