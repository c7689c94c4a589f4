"""Technique: hash flooding through every bulk insertion and every operation on a set or
dict that is already flooded. Ints equal modulo 2**61 - 1 share one hash, so g distinct
such keys in one table cost g²/2 comparisons: in one C call for ``s.update(xs)``,
``s.union(xs)``, ``{*xs}``, ``frozenset(xs)``, ``d.update(pairs)`` and ``{**d, **d}`` (test_hash_flooding.py
has only ``set()`` and ``dict()``), and again for ``==``, ``<=``, ``&``, ``|`` and ``-`` of
two sets a probe grew one ``add`` at a time inside the deadline (each add is one
interruptible step; the operation after them is not). All in isolation: thread; fork kills
them at the deadline.
Source: Crosby and Wallach, "Denial of Service via Algorithmic Complexity Attacks" (USENIX
Security 2003); CPython's hash docs (``sys.hash_info.modulus``)."""

import pytest

OK_OR_REFUSED = frozenset({"ok", "limit", "timeout"})
FLOOD = "xs = [1 + i * (2 ** 61 - 1) for i in range(20000)]\n"

# Bulk insertions of 20,000 colliding keys in one C call (~5 s each, measured).
BULK = [
    FLOOD + "s = {0}\ns.update(xs)\nprint(len(s))",
    FLOOD + "s = {0}\nprint(len(s.union(xs)))",
    FLOOD + "print(len({*xs}))",
    FLOOD + "print(len(frozenset(xs)))",
    FLOOD + "d = {}\nd.update([(x, 0) for x in xs])\nprint(len(d))",
]

# Two sets of 4,500 colliding ints grown an add at a time (~200 ms), then one operation
# that looks every key of one up in the other: as long again as the build, or twice (&).
GROWN = (
    "xs = [1 + i * (2 ** 61 - 1) for i in range(4500)]\n"
    "s = set()\n"
    "for x in xs:\n"
    "    s.add(x)\n"
    "t = set(s)\n"
)
OPERATIONS = [
    GROWN + "print(len(s & t), len(s & t), len(s & t))",
    GROWN + "print(s == t, s <= t, s >= t, s == t)",
    GROWN + "print(len(s - t), len(s - t), len(t - s))",
    # No identity shortcut in set or dict equality, nor in merging a dict into its copy.
    GROWN + "print(s == s, s <= s, s >= s, s == s)",
    "xs = [1 + i * (2 ** 61 - 1) for i in range(4500)]\n"
    "d = {x: 0 for x in xs}\n"
    "print(len({**d, **d}), len({**d, **d}), len({**d, **d}))",
]


@pytest.mark.parametrize("probe", BULK)
def test_bulk_insert_of_colliding_keys_is_held(held, probe: str) -> None:
    """A bulk insertion of thousands of keys sharing one hash stops within the deadline."""
    held(probe, OK_OR_REFUSED)


@pytest.mark.parametrize("probe", OPERATIONS)
def test_operations_on_flooded_sets_are_held(held, probe: str) -> None:
    """Comparing or combining sets whose keys share one hash stops within the deadline."""
    held(probe, OK_OR_REFUSED)
