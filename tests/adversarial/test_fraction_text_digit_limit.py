"""Technique: print a huge closed Fraction in a host that turned CPython's int digit limit
off. A Fraction's text is its integers' decimal digits; int-to-str is quadratic in them
(CVE-2020-10735), and the limit that makes CPython refuse long ones up front was off, so
``print(f)``, ``str(f)`` and ``f'{f}'`` of a 1,500,000-bit Fraction converted for seconds in
one C call (isolation: thread). An int alone was already marked by its size there
(render.int_text); a Fraction was bounded only by its text's length (~900,000 chars, under
the 1 MiB cap).
Source: CVE-2020-10735 / gh-95778; Python docs, sys.set_int_max_str_digits."""

import pytest

EXPOSE = {"stdvals": {"target": "__main__:stdvals", "allow": ["**"]}}

PROBES = [
    "print(stdvals.frac)",
    "print(len(str(stdvals.frac)))",
    "print(f'{stdvals.frac}')",
    "print([stdvals.frac2])",
]


@pytest.mark.parametrize("probe", PROBES)
def test_huge_fraction_text_is_marked_or_refused(held, probe: str) -> None:
    """The text of a Fraction past the default digit limit is never converted."""
    # held bounds the attempt at its 500 ms timeout + OVERSHOOT_MS: a conversion would not be.
    held(probe, frozenset({"ok", "limit"}), expose=EXPOSE, script="unlimited_digits_host.py")
