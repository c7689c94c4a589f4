"""Technique: a tuple key that is shallow but exponentially large as a tree. ``x = (x, x)``
thirty times is a 31-level DAG of 31 tuples, well under the 1,000-level key-depth limit,
yet both the sandbox's key check (``Sandbox._check_tuple_depth``, a Python loop with no
ticks) and CPython's tuple hash (in C, holding the GIL) visit it as a tree of 2**30 nodes.
Twenty-two levels take seconds; forty take days, past any deadline.
Source: CPython issue gh-154318 (tuple hash recursion) and the classic "billion laughs"
shared-reference expansion; pyjail CTF writeups on CPU exhaustion through hashing."""

from pathlib import Path

import pytest

from tests.harness import base_policy

POLICY = base_policy(Path(), limits={"timeout": "200ms", "max_output": "64KiB"})
BUILD = "x = ()\nfor i in range(22):\n    x = (x, x)\n"

PROBES = [
    BUILD + "s = {x}\nprint(len(s))",
    BUILD + "d = {}\nd[x] = 1\nprint(len(d))",
    BUILD + "print(x in {1: 2})",
    BUILD + "print(set([x]))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_shared_subtuple_key_stops_near_the_deadline(attack, probe: str) -> None:
    """Using a key of shared subtuples stops near the 200 ms timeout."""
    record = attack(probe, policy=POLICY)
    assert record["duration_ms"] < 1500, f"ran {record['duration_ms']} ms past a 200 ms timeout"
