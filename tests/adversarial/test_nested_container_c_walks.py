"""Technique: make one C call walk far more elements than the probe ever built. ``[row] *
40_000`` is 40,000 references to one 100,000-item list: both sizes pass the item cap, but
``==``, ``count``, ``index`` and ``in`` compare it element by element, 4e9 comparisons in
one call that ticks nothing (one more level of nesting is 4e14: days). The sandbox bounds
what is built, not what C code walks.
Source: RestrictedPython 9.0 changelog (sorted, zip, tuple, bytes, reversed removed from
safe_builtins because they iterate in C unguarded); Ned Batchelder, "Eval really is
dangerous" (2012: CPU exhaustion in one expression)."""

from pathlib import Path

import pytest

from tests.harness import base_policy

DEFAULT_POLICY = base_policy(Path(), limits={"timeout": "200ms", "max_output": "64KiB"})
# The known gap is thread isolation's, so the xfail below names it explicitly.
POLICY = {**DEFAULT_POLICY, "isolation": "thread"}
GRID = (
    "row = [0] * 100000\nother = [0] * 100000\nneedle = [0] * 99999 + [1]\ngrid = [row] * 40000\n"
)
ALLOWED = frozenset({"ok", "denied", "error", "limit", "timeout"})

PROBES = [
    GRID + "print(grid == [other] * 40000)",
    GRID + "print(grid.count(needle))",
    GRID + "print(needle in grid)",
    GRID + "try:\n    grid.index(needle)\nexcept ValueError:\n    print('no')",
    GRID + "print(max([grid, [other] * 40000]) is grid)",
]


# Once a known gap (a strict xfail): in thread isolation one C comparison over an aliased
# structure ran ~3 s and no tick could interrupt it. The comparison guards
# (safeprobe/probe/comparison.py) now refuse it before it starts; test_one_c_comparison.py has
# the whole class, in both isolation modes.
@pytest.mark.parametrize("probe", PROBES)
def test_c_walk_of_a_shared_container_stops_near_the_deadline(attack, probe: str) -> None:
    """One comparison over an aliased structure is refused, not run for seconds."""
    record = attack(probe, ALLOWED, policy=POLICY)
    assert record["duration_ms"] < 1500, f"ran {record['duration_ms']} ms past a 200 ms timeout"
    assert record["outcome"] != "ok"


@pytest.mark.parametrize("probe", PROBES)
def test_c_walk_of_a_shared_container_is_killed_in_the_default_policy(attack, probe: str) -> None:
    """In the default isolation (fork) the child is killed at the deadline, mid-C-call."""
    record = attack(probe, ALLOWED, policy=DEFAULT_POLICY)
    assert record["duration_ms"] < 1500, f"ran {record['duration_ms']} ms past a 200 ms timeout"
    assert record["outcome"] != "ok"
