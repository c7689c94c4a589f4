"""Technique: read the object an AttributeError carries (``e.obj``, ``e.name``, ``e.args``)
after a failed attribute read on a host object, and reach the ``string`` module
(``string.Formatter``) that the advisory used to walk attributes.
Source: RestrictedPython CVE-2024-47532 (AttributeError.obj and the string module give
access to objects outside the sandbox, fixed in 7.3); CVE-2026-76825 (string.Formatter)."""

import pytest

PROBES = [
    "try:\n    service.nope\nexcept AttributeError as e:\n    print(e.obj)",
    "try:\n    service.nope\nexcept Exception as e:\n    print(e.name)",
    "try:\n    service.nope\nexcept Exception as e:\n    print(e.args)",
    "try:\n    'x'.nope\nexcept AttributeError as e:\n    print(e.obj)",
    "import string\nprint(string.Formatter().get_field('0.__class__', [1], {}))",
    "from string import Formatter",
    "print(string.Formatter)",
]


@pytest.mark.parametrize("probe", PROBES)
def test_exception_objects_and_string_module_are_unreachable(attack, probe: str) -> None:
    """An exception's obj attribute and the string module stay out of a probe's reach."""
    record = attack(probe)
    assert record["outcome"] in ("denied", "compile_error"), record["reason"]
