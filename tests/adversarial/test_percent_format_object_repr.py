"""Technique: ``%s``/``%r``/``%a`` format a value with its own ``__str__``/``__repr__`` in C,
not with the sandbox's renderer (f-strings, str() and str.format are routed through it).
For probe functions, bound methods of the sandbox and lazy iterators that means the default
``object.__repr__``: a memory address and the sandbox's class and method names.
Source: Ned Batchelder, "Eval really is dangerous" (2012: addresses and internals from
reprs); RestrictedPython CVE-2023-41039 (format and format_map); pyjail CTF writeups
(leaking addresses through repr to defeat ASLR)."""

import re

import pytest

PROBES = [
    "print('%s' % (lambda: 0,))",
    "def f():\n    return 1\nprint('%r' % (f,))",
    "print('%r' % (str,))",
    "print('%s' % (sorted,))",
    "print('%a' % (map(abs, []),))",
    "print('%s' % (service.cache.get,))",
    "print(b'%r' % (zip(),))",
]

_ADDRESS = re.compile(r"0x[0-9a-f]{6,}")


@pytest.mark.parametrize("probe", PROBES)
def test_percent_format_shows_no_address_or_internals(attack, probe: str) -> None:
    record = attack(probe, frozenset({"ok", "denied", "error"}))
    report = record["_report"]
    assert not _ADDRESS.search(report), report
    for internal in ("Sandbox", "View", "ContainerReads", "sp_", "safeprobe.", "<locals>"):
        assert internal not in report, report
