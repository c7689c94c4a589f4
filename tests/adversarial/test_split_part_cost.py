"""Technique: split a large string into the most parts allowed, again and again: each call
copies the whole text into parts with a header of ~50 bytes each, while the attempt's
memory budget was charged 8 bytes a part.
Source: issue 11 (str.split of a large string, +300 MB per attempt in thread isolation)."""

import pytest

PROBES = [
    "s = ('a' * 150 + ' ') * 99000\nkeep = []\nfor _ in range(100):\n    keep.append(s.split())",
    "s = ('a' * 150 + ',') * 99000\nkeep = []\nfor _ in range(100):\n"
    "    keep.append(s.rsplit(','))",
    "s = ('a' * 150 + '\\n') * 99000\nkeep = []\nfor _ in range(100):\n"
    "    keep.append(s.splitlines())",
    "s = (b'a' * 150 + b' ') * 99000\nkeep = []\nfor _ in range(100):\n    keep.append(s.split())",
]


@pytest.mark.parametrize("probe", PROBES)
def test_splits_are_charged_per_part_before_the_call(held, probe: str) -> None:
    """A split is charged its text plus a string header per part before it runs."""
    record = held(probe)
    assert record["outcome"] == "limit", record["reason"]
