"""Technique: allocate gigabytes in one C call, which no step budget can interrupt:
repetition, padding, replace with an empty pattern, expandtabs, shifts, powers, format
widths, joins, and builtins that build a container from a range.
Source: simpleeval (MAX_STRING_LENGTH, MAX_POWER and the issues that motivated them);
Ned Batchelder, "Eval really is dangerous" (memory exhaustion); RestrictedPython 9.0
changelog (sorted, zip, tuple, bytes, reversed removed because they iterate in C)."""

import pytest

PROBES = [
    "x = 'x' * 10**10",
    "x = [0] * 10**9",
    "x = (0,) * 10**9",
    "x = b'x' * 10**10",
    "x = 'x'.center(10**10)",
    "x = 'x'.ljust(10**9, 'y')",
    "x = '1'.zfill(10**9)",
    "x = ('ab' * 1000).replace('', 'x' * 100000)",
    "x = ('\\t' * 1000).expandtabs(10**7)",
    "x = 1 << 10**9",
    "x = 2 ** 10**9",
    "x = pow(2, 10**9)",
    "x = '%10000000s' % ''",
    "x = f'{1:10000000}'",
    "x = '-'.join(['x' * 10**6] * 100)",
    "s = 'x' * 10**7\nx = s + s",
    "x = 'x' * 10**7\nx *= 10",
    "x = list(range(10**9))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_one_call_allocations_are_refused(attack, probe: str) -> None:
    """A single call that would allocate past the limits is stopped or denied."""
    record = attack(probe)
    assert record["outcome"] in ("limit", "denied"), record["reason"]
