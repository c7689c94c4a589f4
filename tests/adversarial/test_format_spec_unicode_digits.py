"""Technique: write a huge format width in non-ASCII decimal digits (Arabic-Indic,
fullwidth, mathematical). CPython's format-spec parser accepts any Unicode decimal digit,
so a filter that only looks for ``[0-9]`` would miss ``f"{1:٩٩٩٩٩٩٩٩٩}"`` (a 1 GB pad).
Source: pyjail CTF writeups (Unicode normalisation and digit tricks against filters);
RestrictedPython CVE-2023-41039 (format as a vector)."""

import pytest

PROBES = [
    "print(len(f'{1:\u0669\u0669\u0669\u0669\u0669\u0669\u0669\u0669\u0669}'))",
    "print(len('{:\uff19\uff19\uff19\uff19\uff19\uff19\uff19\uff19}'.format(1)))",
    "print(len(f'{1.5:.\U0001d7ff\U0001d7ff\U0001d7ff\U0001d7ff\U0001d7ff\U0001d7ff\U0001d7ff}'))",
    "print(len('%\u0669\u0669\u0669\u0669\u0669\u0669\u0669\u0669s' % 'x'))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_unicode_digit_widths_are_refused(attack, probe: str) -> None:
    """A format width written in non-ASCII digits is refused or stopped."""
    record = attack(probe)
    assert record["outcome"] in ("denied", "error", "limit"), record["reason"]
