"""Technique: make a closed ``range`` search linearly in one C call. ``range.count`` and
``range.index`` answer in O(1) for an exact int only; any other value (``1.5``, a string)
is compared with every number of the range in turn (Objects/rangeobject.c). A range is a
closed value with ``count`` and ``index`` on its read list, and those calls skipped the
comparison cap that ``x in r`` already had: ``r.count(1.5)`` over range(10**8) held the
GIL 11.8 s on a 500 ms timeout in isolation: thread.
Source: CPython Objects/rangeobject.c (range_count, range_index fall back to
_PySequence_IterSearch for non-int values)."""

import pytest

STDVALS = {"stdvals": {"target": "__main__:stdvals", "allow": ["**"]}}
HELD = frozenset({"limit", "timeout"})

PROBES = [
    "print(stdvals.span.count(1.5))",
    "print(stdvals.span.count('x'))",
    "print(stdvals.span.index(-1.0))",
    "r = stdvals.span\nprint([r.count(0.5) for i in range(3)])",
]


@pytest.mark.parametrize("probe", PROBES)
def test_linear_range_search_is_held(held, probe: str) -> None:
    """A non-int search of a huge range is costed like ``in`` and refused before it runs."""
    held(probe, HELD, expose=STDVALS)


def test_int_range_search_still_runs(held) -> None:
    """An exact int (and a short range's float) is searched as plain Python does."""
    record = held(
        "r = stdvals.span\nprint(r.count(7), r.index(29_999_999), range(10).count(2.0))",
        frozenset({"ok"}),
        expose=STDVALS,
    )
    assert "1 29999999 1" in record["_report"], record["_report"]
