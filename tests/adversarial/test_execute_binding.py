"""Technique: bind the name ``execute`` (which the runner calls after the top level) to a
host method, a view's bound method, a property, a builtin, a sandbox wrapper or ``print``,
so the runner itself calls host code outside the probe's guards.
Source: the original ``bar.execute()`` SIGQUIT trick this project replaces (DESIGN.md);
RestrictedPython docs on calling restricted code's entry points."""

import pytest

PROBES = [
    "execute = service.reset",
    "execute = service.expensive",
    "execute = service.cache.get",
    "execute = len",
    "execute = str",
    "execute = print",
    "execute = sorted",
    "execute = ValueError",
    "execute = service",
]


@pytest.mark.parametrize("probe", PROBES)
def test_execute_must_be_the_probes_own_function(attack, probe: str) -> None:
    """Binding execute to host code, a view's method or a builtin is denied or fails."""
    record = attack(probe)
    assert record["outcome"] in ("denied", "error"), record["reason"]
