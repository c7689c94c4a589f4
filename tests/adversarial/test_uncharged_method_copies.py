"""Technique: call, in a loop that keeps the results, the methods of the probe's own values
that copy their source in one C call but were charged nothing or the wrong size: strip,
partition, removeprefix, dict.items, set.union, and padding or concatenation whose result
is wider per character than the length counted.
Source: issue 11 (the per-attempt memory cap charged 8 bytes per item, not what was
allocated); PEP 393 (a string's width per character is that of its widest character)."""

import pytest

S16 = "s = ' ' + 'x' * 15000000\nkeep = []\nfor _ in range(100):\n"

PROBES = [
    S16 + "    keep.append(s.strip())",
    S16 + "    keep.append(s.lstrip())",
    S16 + "    keep.append(s.partition('x'))",
    S16 + "    keep.append(s.removeprefix(' '))",
    "d = {i: i for i in range(100000)}\nkeep = []\nfor _ in range(200):\n"
    "    keep.append(d.items())",
    "a = set(range(100000))\nkeep = []\nfor _ in range(300):\n    keep.append(a.union(()))",
    # 4 bytes a character: a fill of one astral character makes padding 4 times its width.
    "keep = []\nfor _ in range(100):\n    keep.append('x'.center(4000000, '\\U0001f600'))",
    "s = 'x' * 4000000\nkeep = []\nfor _ in range(100):\n    keep.append(s + '\\U0001f600')",
    # Decoding through str(bytes, codec) was checked for its codec but not its size.
    "b = b'x' * 15000000\nkeep = []\nfor _ in range(100):\n    keep.append(str(b, 'utf-8'))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_copying_methods_are_charged_their_real_size(held, probe: str) -> None:
    """Every method that copies its source is charged the copy's bytes before it runs."""
    record = held(probe)
    assert record["outcome"] == "limit", record["reason"]
