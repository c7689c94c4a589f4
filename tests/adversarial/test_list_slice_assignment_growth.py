"""Technique: growing a list by slice assignment. ``xs[:0] = xs`` doubles a list in one C
call (list_ass_slice copies the right-hand side's items in), and nothing charged it or
checked the item cap: six of them in straight-line code took a list of 100,000 items to
6,400,000 (+73 MiB in the host of isolation: thread, no tick to sample the RSS backstop),
and ten would be 800 MB. The same store is reached through unpacking and for-loop targets.
Source: Python reference, "Assignment statements" (slice targets may change the list's
length)."""

import pytest

OK_OR_REFUSED = frozenset({"ok", "limit"})
DOUBLE = "xs[:0] = xs\n"

PROBES = [
    "xs = [0] * 100000\n" + DOUBLE * 10 + "print(len(xs))",
    "xs = [0] * 100000\n" + "a, xs[:0] = 1, xs\n" * 10 + "print(len(xs))",
    "xs = [0] * 100000\n" + "for xs[len(xs):] in [xs]:\n    pass\n" * 10 + "print(len(xs))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_slice_assignment_growth_is_charged(held, probe: str) -> None:
    """A list grown by slice assignment is charged and capped like any other list."""
    record = held(probe, OK_OR_REFUSED)
    assert record["outcome"] == "limit", record["reason"]


def test_slice_assignment_still_works(held) -> None:
    """Replacing, inserting and deleting slices of the probe's own list still work."""
    record = held(
        "xs = [1, 2, 3, 4]\nxs[1:3] = ['a']\nxs[:0] = (0,)\ndel xs[-1:]\nxs[0] = 9\nprint(xs)",
        frozenset({"ok"}),
    )
    assert "[9, 1, 'a']" in record["_report"]
