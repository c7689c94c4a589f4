"""Technique: pass a view, a bound method, a probe function or an unhashable value as the
class argument of ``isinstance``, hoping the wrapper hands it to CPython's isinstance (which
calls ``__instancecheck__``/``__class__`` on the host object) or reveals the host class.
Source: RestrictedPython docs, "safe_builtins" (isinstance with proxies); pyjail CTF
writeups (``isinstance`` reaching ``__class__``/``__instancecheck__``)."""

import pytest

REFUSED = [
    "print(isinstance(1, service.cache))",
    "print(isinstance(service.settings, (str, service)))",
    "print(isinstance(1, print))",
    "print(isinstance(service, sorted))",
    "print(isinstance(service.cache, (dict, [list])))",
    "print(isinstance(service, service.cache.get))",
]

HARMLESS = [
    "print(isinstance(service.cache, dict), isinstance(service.settings, (str, list)))",
    "print(isinstance(service.queue, list), isinstance(service.history, (tuple, list)))",
]


@pytest.mark.parametrize("probe", REFUSED)
def test_isinstance_takes_builtin_types_only(attack, probe: str) -> None:
    """isinstance with anything but builtin types is denied or fails."""
    record = attack(probe)
    assert record["outcome"] in ("denied", "error"), record["reason"]


@pytest.mark.parametrize("probe", HARMLESS)
def test_isinstance_of_a_view_answers_without_host_code(attack, probe: str) -> None:
    """isinstance of a view against builtin types answers True, running no host code."""
    record = attack(probe, frozenset({"ok"}))
    assert "True" in record["_report"]
