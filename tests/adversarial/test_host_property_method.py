"""Technique: make host code run by reading a property, calling a method, or rendering /
comparing / formatting a host object (which for a plain object would call its
``__repr__``/``__str__``/``__eq__``/``__format__``/property getters). The host counts property
and method calls in its state digest, so any call shows as a state change.
Source: RestrictedPython docs, "Guards" (``_getattr_`` must not run descriptors);
Ned Batchelder, "Eval really is dangerous" (side effects through attribute access)."""

import pytest

REFUSED = [
    "print(service.expensive)",
    "service.reset()",
    "f = service.reset",
]

HARMLESS = [
    "print(service)",
    "print(f'{service!r} {service!s} {service:>5}')",
    "print('%s %r' % (service, service))",
    "print('{} {!r}'.format(service, service))",
    "print(str(service), repr(service.settings))",
    "print(service == service, service.settings != service.settings)",
    "print(service in [service], bool(service))",
]


@pytest.mark.parametrize("probe", REFUSED)
def test_properties_and_methods_are_not_run(attack, probe: str) -> None:
    """Reaching a host property or method through a view is denied."""
    record = attack(probe)
    assert record["outcome"] == "denied", record["reason"]


@pytest.mark.parametrize("probe", HARMLESS)
def test_rendering_and_comparing_run_no_host_code(attack, probe: str) -> None:
    """Rendering or comparing a view runs none of the host's own code."""
    record = attack(probe, frozenset({"ok"}))
    assert "expensive" not in record["_report"]
