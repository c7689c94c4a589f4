"""Technique: read a redacted value through every path a view offers: attribute, item,
``get``, ``values``, ``items``, ``copy``, iteration, comprehension, ``sorted``/``max`` with a
key, repr/str/f-string/format, conversions, comparisons and containment tests that could
act as an oracle for the secret.
Source: RestrictedPython docs, "Guards"; the redaction promise in DESIGN.md ("applies
everywhere a value can come out"); pyjail CTF writeups (side channels through comparison)."""

import pytest

PROBES = [
    "print(service.api_key, service.settings.password)",
    "print(service.settings, service.cache)",
    "print(service.cache['user:1']['session_token'])",
    "print(service.cache['user:1'].get('session_token', 'none'))",
    "print(service.cache['user:1'].values(), service.cache['user:1'].items())",
    "print(sorted(service.cache['user:1'].items(), key=str))",
    "print([v for k, v in service.cache['user:1'].items()])",
    "print(service.cache.copy()['user:1'].copy())",
    "print(max(service.cache['user:1'].values(), key=str))",
    "print(f\"{service.cache['user:1']['session_token']!r:>40}\")",
    "print('{}'.format(service.settings.password), str(service.api_key))",
    "print(service.api_key == 'CANARY-7f3a9c-secret', 'CANARY' in str(service.cache))",
    "print('CANARY-7f3a9c-secret' in service.cache['user:1'].values())",
    "print(service.settings.password < 'D', len(str(service.settings.password)))",
    "print(f'{service.api_key=} {service.settings.password=!s}')",
]


@pytest.mark.parametrize("probe", PROBES)
def test_redacted_values_never_come_out(attack, probe: str) -> None:
    """No path reveals a redacted value, not even a comparison answering True."""
    record = attack(probe, frozenset({"ok", "error"}))
    assert "True" not in record["_report"], "a comparison answered for the secret"
