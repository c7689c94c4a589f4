"""Technique: slice host sequences with extreme or odd bounds, slice non-sequences, and
mutate what a slice returns, hoping for a live alias of the host list or an unbounded copy.
Source: pyjail CTF writeups (slices as an alias into the original object); RestrictedPython
docs, "Guards" (``_getitem_`` receives slice objects)."""

import pytest

HARMLESS = [
    "print(service.history[::-1], service.queue[0:10**18])",
    "print(service.history[-(10**18):10**18:10**17])",
    "x = service.settings.tags[:]\nx.append('z')\nx[0] = 'q'\nprint(x, service.settings.tags)",
    "x = service.history[0:1]\nx.clear()\nprint(service.history)",
]

REFUSED = [
    "print(service.cache[0:1])",
    "print(service.flags[0])",
    "print(service.settings[0:1])",
    "x = service.history[:]\nx[0][0] = 'PUT'",
    "service.history[0:1] = []",
    "del service.queue[0:2]",
]


@pytest.mark.parametrize("probe", HARMLESS)
def test_slices_are_copies(attack, probe: str) -> None:
    """A slice of a view is a copy the probe may change, and the host is unchanged."""
    record = attack(probe, frozenset({"ok"}))
    assert "'GET'" in record["_report"] or "'x'" in record["_report"]


@pytest.mark.parametrize("probe", REFUSED)
def test_odd_slices_and_slice_writes_are_refused(attack, probe: str) -> None:
    """An odd slice or a write through a slice is denied or fails, and the host is unchanged."""
    record = attack(probe)
    assert record["outcome"] in ("denied", "error"), record["reason"]
