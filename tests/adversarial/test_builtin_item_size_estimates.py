"""Technique: have one builtin build many big objects in one C call (a range of huge ints
into list/set/sorted/tuple/*-unpacking/sum/max, a non-ASCII string into 1-character
strings), where a memory check that counts 8 bytes per item lets through gigabytes.
Source: issue 11 (measured +300 MB to +1 GB per attempt in thread isolation); CPython docs,
"Integer string conversion length limitation" (ints are variable-size objects)."""

import pytest

# A range of 100,000 ints of 39,990 bits each: 5 KiB per item, 530 MB for the whole list.
BIG = "b = 1 << 39990\nr = range(b, b + 100000)\n"

PROBES = [
    BIG + "x = list(r)",
    BIG + "x = set(r)",
    BIG + "x = frozenset(r)",
    BIG + "x = sorted(r, reverse=True)",
    BIG + "x = tuple(r)",
    BIG + "x = [*r]",
    BIG + "x = sum(r)",
    BIG + "x = max(r)",
    BIG + "x = reversed(r)",
    # A UCS-2 string of 190,000 chars (max_items raised to 200,000 below): each item is a
    # new 76-byte string, not a shared Latin-1 one: 14 MB a call, charged 1.5 MB.
    "s = '\\u20ac' * 190000\nkeep = [list(s) for _ in range(30)]",
]


@pytest.mark.parametrize("probe", PROBES)
def test_builtins_charge_what_each_item_really_costs(held, probe: str) -> None:
    """A builtin's result is estimated from its inputs, item size included, before the call."""
    record = held(probe, limits={"max_items": 200_000})
    assert record["outcome"] == "limit", record["reason"]
