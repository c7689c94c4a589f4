"""Technique: hand a huge iterable to a builtin that would consume it in C without ticks:
the ones RestrictedPython 9.0 dropped from safe_builtins (sorted, zip, tuple, bytes,
reversed) and their siblings (min, max, sum, any, all, set, frozenset, dict, list, map,
filter, enumerate, str.join). The sandbox wraps them; each must hit the item cap, the step
budget or the deadline.
Source: RestrictedPython 9.0 changelog ("remove sorted, zip, tuple, bytes, reversed from
safe_builtins: they iterate in C"); Ned Batchelder, "Eval really is dangerous" (2012)."""

import pytest

PROBES = [
    "x = sorted(range(10**9))",
    "x = tuple(range(10**9))",
    "x = reversed(range(10**9))",
    "x = list(zip(range(10**18), range(10**18)))",
    "x = max(range(10**9))",
    "x = min(range(10**9), default=0)",
    "x = sum(range(10**9))",
    "x = any(i < 0 for i in range(10**18))",
    "x = all(i >= 0 for i in range(10**18))",
    "x = set(range(10**9))",
    "x = frozenset(range(10**9))",
    "x = dict(zip(range(10**18), range(10**18)))",
    "x = list(map(abs, range(10**18)))",
    "x = list(filter(None, range(10**18)))",
    "x = list(enumerate(range(10**18)))",
    "x = ''.join(map(str, range(10**18)))",
    "x = sorted(range(10**18), key=lambda i: -i)",
    "for i in zip(range(10**18)):\n    pass",
]


@pytest.mark.parametrize("probe", PROBES)
def test_c_iterating_builtins_are_bounded(attack, probe: str) -> None:
    """A builtin that iterates in C is stopped or denied within five seconds."""
    record = attack(probe)
    assert record["outcome"] in ("limit", "timeout", "denied"), record["reason"]
    assert record["duration_ms"] < 5000
