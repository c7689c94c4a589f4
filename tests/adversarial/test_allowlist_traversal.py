"""Technique: read outside the allowlist by path confusion: item access is transparent to
the path (``cache['user:1'].x`` is ``cache.x``), so try attributes of items, of containers,
of traverse-only objects, iteration and ``len`` of traverse-only objects, attributes the
host has but the policy does not list, and rendering the exposure itself hoping it shows
everything.
Source: RestrictedPython docs, "Policy" (the guard decides per attribute name); zope
security-proxy bypasses via containers (pyjail CTF writeups)."""

import pytest

REFUSED = [
    "print(service.property_calls)",
    "print(service.method_calls)",
    "print(my_object.data.a)",
    "print(service.cache['user:1'].name)",
    "print(service.history.real)",
    "for k in service.settings:\n    pass",
    "print(len(service.settings))",
    "print(list(service.settings))",
    "print(service.settings['name'])",
]

HARMLESS = [
    "print(service, my_object)",
    "print(service.settings.name, service.settings.tags, len(service.settings.tags))",
]


@pytest.mark.parametrize("probe", REFUSED)
def test_paths_outside_the_allowlist_are_refused(attack, probe: str) -> None:
    """A read outside the allowlist is denied or fails, and the host is unchanged."""
    record = attack(probe)
    assert record["outcome"] in ("denied", "error"), record["reason"]


@pytest.mark.parametrize("probe", HARMLESS)
def test_rendering_shows_only_allowed_attributes(attack, probe: str) -> None:
    """Printing an exposure shows none of the host attributes the policy leaves out."""
    record = attack(probe, frozenset({"ok"}))
    report = record["_report"]
    assert "property_calls" not in report
    assert "method_calls" not in report
