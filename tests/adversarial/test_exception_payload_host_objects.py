"""Technique: carry host objects out inside exceptions: the key in a KeyError, the value of
a StopIteration, views as exception arguments, then ``print(e)``/``repr(e)`` or let the
runner report them. Whatever is rendered must stay redacted and within the allowlist.
Source: RestrictedPython CVE-2024-47532 (objects carried by exceptions); "KeyError args"
and "StopIteration.value" escapes in pyjail CTF writeups."""

import pytest

ALLOWED = frozenset({"ok", "error", "denied"})

PROBES = [
    "try:\n    service.cache['user:1']['nope']\nexcept KeyError as e:\n    print(e, repr(e))",
    "raise KeyError(service.cache)",
    "raise ValueError(service.cache['user:1'])",
    "raise ValueError(service.settings, service.cache)",
    "try:\n    raise StopIteration(service.cache['user:1'])\nexcept StopIteration as e:\n    print(repr(e))",
    "try:\n    raise StopIteration(1)\nexcept StopIteration as e:\n    print(e.value)",
    "print(f'{KeyError(service.cache)!r}')",
    "print('{}'.format(ValueError(service.settings)))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_exception_payloads_stay_redacted(attack, probe: str) -> None:
    """A secret carried in an exception's payload is shown only as its redaction marker."""
    record = attack(probe, ALLOWED)
    report = record["_report"]
    if "session_token" in report or "password" in report:
        assert "<redacted>" in report
