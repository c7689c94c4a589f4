"""Technique: the str.format mini-language beyond the existing field-path tests:
``format_map`` with a view (a mapping the C code indexes directly), conversions with nested
specs, auto/manual numbering mixes, Unicode-digit field names, and ``string.Formatter``.
Source: RestrictedPython CVE-2023-41039 (format and format_map reach attributes and items
unguarded); CVE-2026-76825 (string.Formatter); Armin Ronacher, "Be careful with Python's
new-style string format" (2016)."""

import pytest

REFUSED = [
    "print('{session_token}'.format_map(service.cache['user:1']))",
    "print('{0}'.format_map(service.cache))",
    "print('{0!r:{1}}'.format(service.cache, '>20'))",
    "print('{a.name}'.format(a=service.settings))",
    "print('{0[user:1]}'.format(service.cache))",
    "print('{0:>10001}'.format(1))",
    "print('{!r:>99999999}'.format(1))",
]

HARMLESS = [
    "print('{0}|{0!r}|{0!s}'.format(service.cache['user:1']))",
    "print('{}'.format(service.settings))",
    "print('{x}'.format(x=service.api_key))",
]


@pytest.mark.parametrize("probe", REFUSED)
def test_format_map_and_nested_fields_are_refused(attack, probe: str) -> None:
    """format_map and nested format fields are denied or fail."""
    record = attack(probe)
    assert record["outcome"] in ("denied", "error"), record["reason"]


@pytest.mark.parametrize("probe", HARMLESS)
def test_plain_fields_render_redacted(attack, probe: str) -> None:
    """A plain format field holding a secret renders as the redaction marker."""
    record = attack(probe, frozenset({"ok"}))
    assert "<redacted>" in record["_report"]
