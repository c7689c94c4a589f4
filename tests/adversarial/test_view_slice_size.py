"""Technique: slice or walk a large exposed host sequence: the slice had no item cap and
wrapped every element in a view in one Python loop without a tick (2-3.6 s, +84 MB for a
million items), and walks were not charged the views they make.
Source: issue 11; RestrictedPython docs, "Guards" (``_getitem_`` receives slice objects)."""

import pytest

BULK = {"bulk": {"target": "__main__:bulk", "allow": ["*"]}}

PROBES = [
    "x = bulk[:]",
    "x = bulk[::-1]",
    "x = bulk[0:10**18]",
    "x = bulk[::3]",
]


@pytest.mark.parametrize("probe", PROBES)
def test_view_slices_obey_the_item_cap_and_the_budget(held, probe: str) -> None:
    """A slice of a view is refused over max_items and charged its views."""
    record = held(probe, expose=BULK)
    assert record["outcome"] in ("limit", "denied"), record["reason"]
    assert "limits.max_items" in record["reason"] or "size" in record["reason"]


def test_kept_view_slices_are_charged(held) -> None:
    """Slices within the cap are charged their views, so keeping many stops the probe."""
    probe = "keep = []\nfor _ in range(100):\n    keep.append(bulk[:90000])"
    held(probe, frozenset({"limit", "timeout"}), expose=BULK)


def test_walking_a_large_view_is_charged(held) -> None:
    """Iterating a view is charged the snapshot and a view per item before it is made."""
    record = held("x = list(bulk)", expose=BULK, limits={"max_items": 2_000_000})
    assert record["outcome"] == "limit", record["reason"]


def test_small_view_slices_still_work(held) -> None:
    """A slice within the caps is a copy of views, as before."""
    record = held("print(bulk[1:3], len(bulk[:1000]))", frozenset({"ok"}), expose=BULK)
    assert "[('GET', 200), ('GET', 200)] 1000" in record["_report"]
