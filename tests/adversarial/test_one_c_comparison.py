"""Technique: one comparison whose C walk is the *expanded* size of its operands. A list of
40,000 references to one 100,000-item row is cheap to build (the item cap sees 40,000 and
100,000), but ``==``, ``<``, ``in``, ``count``, ``index``, ``remove``, ``sort``, ``max`` and
dict equality compare it element by element, aliases counted each time they are reached:
4e9 comparisons in one C call that no tick interrupts. Strings do the same with memcmp
(``[s] * 10**5 == [t] * 10**5``), ``startswith`` with a tuple of references to one long
prefix, and ``x in range(n)`` with a non-int ``x`` walks the whole range.
Source: RestrictedPython 9.0 changelog (sorted, zip, tuple removed from safe_builtins because
they iterate in C unguarded); Ned Batchelder, "Eval really is dangerous" (2012: CPU
exhaustion in one expression); the "billion laughs" shape (expansion by reference); CPython
Objects/rangeobject.c (range_contains falls back to a linear search for non-int values)."""

from __future__ import annotations

import pytest

# Two distinct rows of equal contents, and a grid of references to each: every element
# comparison between them walks a whole row (identity shortcuts never apply).
GRID = (
    "row = [0] * 100000\n"
    "other = [0] * 100000\n"
    "grid = [row] * 40000\n"
    "grid2 = [other] * 40000\n"
    "needle = [0] * 99999 + [1]\n"
)
# Two distinct, equal 1 MB strings, referenced 100,000 times each: 1e11 bytes of memcmp.
STRINGS = "s = 'a' * 1000000\nt = 'a' * 1000000\n"

# Each attack ends in one C call that would run for seconds (minutes for some).
ATTACKS = {
    # Rich comparison of two aliased grids: 4e9 element comparisons.
    "eq": GRID + "print(grid == grid2)",
    # An ordering walks as far as equality does before it finds the first difference.
    "le": GRID + "print(grid <= grid2)",
    # Chained: the second link is the expensive one; short-circuit must still apply.
    "chain": GRID + "print(0 < 1 < 2 and grid2 <= grid >= grid2)",
    # Membership in a list compares the needle with every (aliased) row.
    "in": GRID + "print(needle in grid)",
    "not-in": GRID + "print(needle not in grid)",
    "count": GRID + "print(grid.count(needle))",
    "index": GRID + "try:\n    grid.index(needle)\nexcept ValueError:\n    print('no')",
    "remove": GRID + "try:\n    grid.remove(needle)\nexcept ValueError:\n    print('no')",
    "tuple-count": GRID + "print(tuple(grid).count(needle))",
    # Sorting equal rows: timsort compares neighbours, each compare walks a whole row.
    "sort": GRID + "grid.sort()\nprint(len(grid))",
    "sorted": GRID + "print(len(sorted(grid2)))",
    "max": GRID + "print(max([grid, grid2]) is grid)",
    "min-args": GRID + "print(min(grid, grid2) is grid)",
    # The key function's results are what max() compares, in C.
    "max-key": GRID + "print(max(range(4), key=lambda i: grid if i % 2 else grid2))",
    # dict equality compares the values of equal keys.
    "dict-eq": GRID + "a = {i: row for i in range(40000)}\nb = {i: other for i in range(40000)}\n"
    "print(a == b)",
    # Strings: a megabyte of memcmp per element, 100,000 elements.
    "str-eq": STRINGS + "print([s] * 100000 == [t] * 100000)",
    # Same length, differing only in the middle: each memcmp runs half a megabyte.
    "str-in": STRINGS + "u = 'a' * 500000 + 'b' + 'a' * 499999\nprint(u in [t] * 100000)",
    # startswith/endswith with a tuple of 50,000 references to one long prefix that
    # matches at both ends (CPython checks those first) and differs in the middle.
    "startswith": "s = 'a' * 1000000\np = 'a' * 500000 + 'b' + 'a' * 499999\n"
    "print(s.startswith((p,) * 50000))",
    "endswith": "s = b'a' * 1000000\np = b'a' * 500000 + b'b' + b'a' * 499999\n"
    "print(s.endswith((p,) * 50000))",
    # Keys hashed in one C call: each key equal to (not identical with) one before it is
    # compared with it, 250 MB of memcmp per key.
    "set-keys": STRINGS + "ks = [((s if i % 2 else t),) * 250 for i in range(100)]\n"
    "print(len(set(ks)))",
    "dict-pairs": STRINGS + "ps = [(((s if i % 2 else t),) * 250, i) for i in range(100)]\n"
    "print(len(dict(ps)))",
    # dict.update(dict): each key of b is compared with its equal, distinct key in a.
    "dict-update": STRINGS + "a = {(s,) * (250 - i): i for i in range(240)}\n"
    "b = {(t,) * (250 - i): i for i in range(240)}\na.update(b)\nprint(len(a))",
    # Set operators look each key of one set up in the other: keys of equal length hash
    # alike and are compared, s against t, 25 GB of memcmp in all.
    "set-or": STRINGS + "a = {(s,) * (250 - i) for i in range(240)}\n"
    "b = {(t,) * (250 - i) for i in range(240)}\nprint(len(a | b))",
    "set-ior": STRINGS + "a = {(s,) * (250 - i) for i in range(240)}\n"
    "b = {(t,) * (250 - i) for i in range(240)}\na &= b\nprint(len(a))",
    # range's membership test is O(1) for ints only; anything else is a linear search.
    "range-in": "print(0.5 in range(10 ** 15))",
}


@pytest.mark.parametrize("probe", list(ATTACKS.values()), ids=list(ATTACKS))
def test_one_comparison_is_refused_before_its_c_walk(held, probe: str) -> None:
    """A comparison whose C walk would overrun the deadline is refused before it starts."""
    record = held(probe, frozenset({"limit"}))
    assert "comparison" in str(record["reason"]), record["reason"]


# A legitimate comparison of the same kinds, small enough to run: the guard must not
# refuse it, and must keep Python's results (chains, short-circuit, NotImplemented).
ORDINARY = (
    "row = [0] * 1000\nother = [0] * 1000\ngrid = [row] * 100\ngrid2 = [other] * 100\n"
    "assert grid == grid2 and not (grid != grid2) and grid <= grid2 and other in grid\n"
    "assert grid.count(row) == 100 and grid.index(other) == 0\n"
    "assert 1 < 2 < 3 and not (1 < 3 < 2) and (1 < 2) is True\n"
    "assert 'ab'.startswith(('x', 'a')) and b'ab'.endswith((b'b',))\n"
    "assert 5 in range(10) and 0.5 not in range(10) and sorted([[2], [1]]) == [[1], [2]]\n"
    "assert max([row, [1]]) == [1] and min(3, 1, 2) == 1\n"
    "assert {1: row} == {1: other} and (1, (2,)) in {(1, (2,)): 0}\n"
    "print('fine')\n"
)


def test_ordinary_comparisons_still_run(held) -> None:
    """Comparisons of modest size run as Python runs them, in both isolation modes."""
    record = held(ORDINARY, frozenset({"ok"}))
    assert "fine" in str(record["_report"])
