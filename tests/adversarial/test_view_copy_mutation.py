"""Technique: ``.copy()`` a view and write through the copy, hoping it is shallow enough to
alias host containers (``copy['user:2']['name'] = …``), or that the copy leaks a redacted
value.
Source: RestrictedPython docs, "Guards" (``_write_`` lets plain dicts and lists through);
classic shallow-copy aliasing bugs in Python sandboxes (pyjail CTF writeups)."""

import pytest

HARMLESS = [
    "c = service.cache.copy()\nc['user:3'] = 'x'\nprint(sorted(c), len(service.cache))",
    "c = service.cache['user:1'].copy()\nprint(c)",
    "c = service.settings.tags.copy()\nc.append('z')\nprint(c, service.settings.tags)",
    "c = service.flags.copy()\nc.add('z')\nprint(sorted(c), service.flags)",
    "c = service.queue.copy()\nc.pop()\nprint(c, service.queue)",
]

REFUSED = [
    "c = service.cache.copy()\nc['user:2']['name'] = 'mallory'",
    "c = service.cache.copy()\nc['user:2'].clear()",
    "c = service.history.copy()\nc[0].append(1)",
]


@pytest.mark.parametrize("probe", HARMLESS)
def test_copies_are_the_probes_own(attack, probe: str) -> None:
    """A probe may change a copy of a view, and neither the host nor a secret is touched."""
    record = attack(probe, frozenset({"ok"}))
    assert "CANARY" not in record["_report"]


@pytest.mark.parametrize("probe", REFUSED)
def test_nested_values_in_a_copy_stay_read_only(attack, probe: str) -> None:
    """Nested values inside a copy of a view stay read-only."""
    record = attack(probe)
    assert record["outcome"] in ("denied", "error"), record["reason"]
