"""Technique: build memory step by step with operations no size check charges: each step
adds a 40,000-bit int (5 KiB), so a comprehension of a million steps fills gigabytes well
inside the deadline although every single operation is small.
Source: issue 11 (things built step by step that the one-call estimates miss)."""

import pytest

PROBES = [
    "x = 1 << 39990\nkeep = [x + i for i in range(10**6)]",
    "x = 1 << 39990\nkeep = []\nfor i in range(10**6):\n    keep.append(-x - i)",
    "x = 1 << 20000\nkeep = {i: x * 3 + i for i in range(10**6)}",
]


@pytest.mark.parametrize("probe", PROBES)
def test_stepwise_growth_stops_before_the_host_grows_64_mib(held, probe: str) -> None:
    """In thread isolation the attempt stops once the process grew past its memory backstop."""
    # In isolation: fork the child may instead die of RLIMIT_AS: an error, host untouched.
    held(probe, frozenset({"limit", "timeout", "error"}))
