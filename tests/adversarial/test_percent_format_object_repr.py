"""Technique: ``%s``/``%r``/``%a`` format a value with its own ``__str__``/``__repr__`` in C,
not with the sandbox's renderer (f-strings, str() and str.format are routed through it).
For probe functions, bound methods of the sandbox and lazy iterators that means the default
``object.__repr__``: a memory address and the sandbox's class and method names.
Source: Ned Batchelder, "Eval really is dangerous" (2012: addresses and internals from
reprs); RestrictedPython CVE-2023-41039 (format and format_map); pyjail CTF writeups
(leaking addresses through repr to defeat ASLR)."""

import pytest

from tests.adversarial.conftest import ADDRESS, internal_names_in

PROBES = [
    "print('%s' % (lambda: 0,))",
    "def f():\n    return 1\nprint('%r' % (f,))",
    "print('%r' % (str,))",
    "print('%s' % (sorted,))",
    "print('%a' % (map(abs, []),))",
    "print('%s' % (service.cache.get,))",
    "print(b'%r' % (zip(),))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_percent_format_shows_no_address_or_internals(attack, probe: str) -> None:
    record = attack(probe, frozenset({"ok", "denied", "error"}))
    report = record["_report"]
    assert not ADDRESS.search(report), report
    assert not internal_names_in(report), report
