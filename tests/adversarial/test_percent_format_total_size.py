"""Technique: build a huge string in one ``%`` call from fields that each pass the width
check. The sandbox checks each field's width against 10,000 but never the sum, nor the size
of the values substituted: a mapping lets one key be reused by a million fields
(``'%(a)10000s' * 1_500_000 % {'a': ''}`` is 15 GB in one C call), and ``%s`` of a long
string copies it once per field.
Source: RestrictedPython CVE-2023-41039 (format strings); Python docs, "printf-style String
Formatting" (mapping keys); the classic "billion laughs" expansion bomb."""

import pytest

PROBES = [
    # 3,000 fields x 10,000 columns = 30 MB, every field under the per-field cap.
    "s = ('%(a)10000s' * 3000) % dict(a='')\nprint(len(s))",
    # 40 copies of a 1 MB string through %s = 40 MB.
    "big = 'x' * 1000000\ns = ('%s' * 40) % ((big,) * 40)\nprint(len(s))",
    # bytes, same thing.
    "s = (b'%(a)10000s' * 3000) % dict([(b'a', b'')])\nprint(len(s))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_total_percent_format_output_is_bounded(attack, probe: str) -> None:
    """A %-format whose result grows past the size limit is stopped as a limit."""
    record = attack(probe)
    assert record["outcome"] == "limit", record["reason"]
