"""Technique: star-unpack a ``range`` in a call or a display. RestrictedPython rewrites
``f(*x)`` to ``_apply_(f, *x)`` and leaves ``[*x]``, ``(*x,)`` and ``print(*x)`` alone, so
CPython builds the whole argument tuple or list in C without ``_getiter_``: no ticks, no
item cap. ``[*range(10**9)]`` is ~36 GB in one call; the probes below use 2,000,000 items,
twenty times the 100,000 item cap.
Source: RestrictedPython docs on ``_apply_`` and ``_getiter_`` (star-args are only
collapsed, not guarded); RestrictedPython 9.0 changelog (C-iterating builtins removed);
pyjail CTF writeups (unpacking as an unguarded iteration)."""

import pytest

PROBES = [
    "x = [*range(2000000)]\nprint(len(x))",
    "x = (*range(2000000),)\nprint(len(x))",
    "x = [0, *range(2000000), *range(2000000)]\nprint(len(x))",
    "def f(*a):\n    return len(a)\nprint(f(*range(2000000)))",
    "print(*range(2000000), sep='')",
]


@pytest.mark.parametrize("probe", PROBES)
def test_star_unpacking_obeys_the_item_cap(attack, probe: str) -> None:
    """Star-unpacking past the item cap is stopped as a limit that names the cap."""
    record = attack(probe)
    assert record["outcome"] == "limit", record["reason"]
    assert "max_items" in record["reason"] or "size" in record["reason"], record["reason"]
