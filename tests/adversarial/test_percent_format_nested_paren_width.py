"""Technique: hide a %-format width from the sandbox's width check. CPython's %-format
parser matches nested parentheses in a mapping key (``%(a(b))5000000s`` is key ``a(b)``,
width 5,000,000), while the sandbox's ``_PERCENT_FIELD`` regex stops the key at the first
``)`` and so never sees the width: one C call then pads to any size (2_000_000_000 is 2 GB).
Source: RestrictedPython CVE-2023-41039 (format strings as an escape and resource vector);
Python docs, "printf-style String Formatting" (mapping keys, nested parentheses); pyjail CTF
writeups using parser differentials between a filter and the real parser."""

import pytest

PROBES = [
    # str: the width after a nested-paren key is never checked.
    "s = '%(a(b))5000000s' % dict([('a(b)', 'x')])\nprint(len(s))",
    # bytes: same parser, same differential.
    "s = b'%(a(b))5000000s' % dict([(b'a(b)', b'x')])\nprint(len(s))",
    # precision instead of width.
    "s = '%(a(b)).5000000f' % dict([('a(b)', 1.0)])\nprint(len(s))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_width_behind_nested_paren_key_is_refused(attack, probe: str) -> None:
    """A %-format width hidden behind a key with nested parentheses is refused or stopped."""
    record = attack(probe)
    assert record["outcome"] in ("denied", "limit"), record["reason"]
