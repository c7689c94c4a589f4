"""Technique: read redacted values through ``%`` with a mapping. ``'%(key)s' % mapping``
calls ``mapping[key]`` from C, and ``%s``/``%r`` call the view's own ``__str__``/``__repr__``:
both must give the redaction marker, never the secret.
Source: RestrictedPython CVE-2023-41039 (format and format_map bypass guarded item access);
Python docs, "printf-style String Formatting" (mapping keys)."""

import pytest

PROBES = [
    "print('%(session_token)s' % service.cache['user:1'])",
    "print('%(name)s %(session_token)r' % service.cache['user:1'])",
    "print('%s' % (service.settings,))",
    "print('%r' % (service.cache,))",
    "print('%s|%a' % (service.api_key, service.settings.password))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_percent_mapping_reads_are_redacted(attack, probe: str) -> None:
    """A %-format reading a secret from a mapping shows only the redaction marker."""
    record = attack(probe, frozenset({"ok"}))
    assert "<redacted>" in record["_report"]
