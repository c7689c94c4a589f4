"""Technique: str.format's field mini-language walks attributes and items without the
attribute guard: "{0.__class__.__init__.__globals__}".format(obj).
Source: Armin Ronacher, "Be careful with Python's new-style string format" (2016);
RestrictedPython CVE-2023-41039 (format, format_map) and CVE-2026-76825 (string.Formatter)."""

import pytest

PROBES = [
    "print('{0.__class__}'.format(my_object))",
    "print('{0.data}'.format(my_object))",
    "print('{0[password]}'.format(service.cache['user:1']))",
    "print('{0.settings.password}'.format(service))",
    "print('{x.__init__.__globals__}'.format(x=my_object))",
    "print('{:{}}'.format(1, '>99999999'))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_format_field_paths_are_refused(attack, probe: str) -> None:
    """A str.format field with an attribute or index path is denied, naming format."""
    record = attack(probe)
    assert record["outcome"] == "denied"
    assert "format" in record["reason"]


def test_plain_format_still_works(attack) -> None:
    """str.format with plain positional and keyword fields still works."""
    record = attack(
        "print('{} has {n} keys'.format('data', n=len(my_object.data)))", frozenset({"ok"})
    )
    assert "data has 3 keys" in record["_report"]
