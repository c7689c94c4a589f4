"""Technique: hand ``dict()`` (or ``dict.update``, ``|=``) a pair that is a lazy iterator
rather than a tuple or list. ``Sandbox.as_pairs`` checks the first item of each pair as a
key only when the pair is a ``tuple`` or ``list``; a ``filter``, ``map``, ``zip`` or
``enumerate`` object passes unchecked, and CPython's ``dict_merge`` unpacks it in C and
hashes its first item. A tuple nested 400,000 deep overflows the C stack (SIGSEGV, the
host dies); a shared-subtuple DAG ``x = (x, x)`` 28 times is one 4 s C call, 40 times days.
Source: CPython issue gh-154318 (unguarded recursive tuple hash); "billion laughs" shared
expansion; RestrictedPython 9.0 changelog (builtins that iterate in C)."""

from pathlib import Path

import pytest

from tests.harness import base_policy

POLICY = base_policy(Path(), limits={"timeout": "200ms", "max_output": "64KiB"})
DEEP = "x = ()\nfor i in range(400000):\n    x = (x,)\n"
WIDE = "x = ()\nfor i in range(24):\n    x = (x, x)\n"

CRASHES = [
    DEEP + "print(dict([filter(None, [x, 1])]))\n",
    DEEP + "d = {}\nd.update([map(lambda v: v, [x, 1])])\n",
    DEEP + "d = {}\nd |= [filter(None, [x, 1])]\n",
    DEEP + "print(len(dict([enumerate([x, 1])])))\n",
]
HANGS = [
    WIDE + "print(len(dict([filter(None, [x, 1])])))\n",
    WIDE + "d = {}\nd.update([map(lambda v: v, [x, 1])])\nprint(len(d))\n",
]


@pytest.mark.parametrize("probe", CRASHES)
def test_lazy_pair_with_deep_key_does_not_crash_the_host(attack, probe: str) -> None:
    """A dict built from a lazy pair with a deeply nested key ends as an outcome, not a crash."""
    record = attack(probe)
    assert record["outcome"] in ("denied", "limit", "error", "timeout"), record["reason"]


@pytest.mark.parametrize("probe", HANGS)
def test_lazy_pair_with_shared_subtuple_key_stops_near_the_deadline(attack, probe: str) -> None:
    """A dict built from a lazy pair with a shared-subtuple key stops near its 200 ms timeout."""
    record = attack(probe, policy=POLICY)
    assert record["duration_ms"] < 1500, f"ran {record['duration_ms']} ms past a 200 ms timeout"
