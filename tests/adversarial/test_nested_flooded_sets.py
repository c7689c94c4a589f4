"""Technique: hash flooding one level down. Two sets of 3,000 ints of one hash (equal
modulo 2**61 - 1), grown an add at a time inside the deadline, then compared as items
of something else: ``[s] == [t]``, ``sorted([s, t])`` (``<`` of sets is a subset test),
``[s].count(t)``, ``t in [s]``, ``max([s, t])``. Each looks every key of one set up in
the other, g²/2 comparisons in one C call, while the cost model walked a set as g leaf
items. isolation: thread; fork kills it at the deadline.
Source: Crosby and Wallach, "Denial of Service via Algorithmic Complexity Attacks" (USENIX
Security 2003)."""

import pytest

OK_OR_REFUSED = frozenset({"ok", "limit", "timeout"})
GROWN = (
    "xs = [1 + i * (2 ** 61 - 1) for i in range(3000)]\n"
    "s = set()\n"
    "t = set()\n"
    "for x in xs:\n"
    "    s.add(x)\n"
    "for x in xs:\n"
    "    t.add(x)\n"
)
PROBES = [
    GROWN + "print([s] == [t], [s] == [t], [s] == [t], [s] == [t], [s] == [t])",
    # A proper subset test runs only when the left set is the smaller one. These two were
    # already refused by the sort and min/max cost (a walk per comparison) before the fix.
    GROWN + "t.discard(xs[0])\nprint(len(sorted([s, t, s, t, s, t])))",
    GROWN + "print([s, s, s, s, s].count(t))",
    GROWN + "print(t in [s], t in [s], t in [s], t in [s], t in [s])",
    GROWN + "t.discard(xs[0])\nprint(len(max([t, s, t, s, t, s])))",
    GROWN + "d = {0: s}\ne = {0: t}\nprint(d == e, d == e, d == e, d == e, d == e)",
]


@pytest.mark.parametrize("probe", PROBES)
def test_flooded_sets_inside_containers_are_held(held, probe: str) -> None:
    """Comparing containers that hold sets whose keys share one hash stops in time."""
    held(probe, OK_OR_REFUSED)
