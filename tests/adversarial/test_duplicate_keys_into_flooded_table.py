"""Technique: many copies of one key, each looked up in a table grown (an add or a store
at a time) with a hash group just under the cap. 2,000 ints of one hash (equal modulo
2**61 - 1) cost 4,000,000 units (g²), so the table itself passes; 100,000 copies of a
key of that hash are equal to each other, so the bulk insertion's own hash groups pass
too (equal duplicates cost one comparison each). But ``s.isdisjoint(xs)``,
``s.update(xs)`` and ``d.update(pairs)`` look every copy up in the table's group: 100,000
x 2,000 comparisons in one C call, ~4 s in isolation: thread.
Source: Crosby and Wallach, "Denial of Service via Algorithmic Complexity Attacks" (USENIX
Security 2003)."""

import pytest

OK_OR_REFUSED = frozenset({"ok", "limit", "timeout"})
P = "P = 2 ** 61 - 1\nk = 1 + 5000 * P\nxs = [k] * 100000\n"
SET = P + "s = set()\nfor i in range(2000):\n    s.add(1 + i * P)\n"
DICT = P + "d = {}\nfor i in range(2000):\n    d[1 + i * P] = i\n"

PROBES = [
    SET + "print(s.isdisjoint(xs))",
    SET + "s.update(xs)\nprint(len(s))",
    SET + "print(len(s.union(xs)))",
    DICT + "d.update([(k, 0) for k in xs])\nprint(len(d))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_duplicate_keys_into_a_flooded_table_are_held(held, probe: str) -> None:
    """Many copies of a key looked up in a table's large hash group stop in time."""
    held(probe, OK_OR_REFUSED)
