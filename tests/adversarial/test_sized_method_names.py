"""Technique: print a method of the probe's own value. ``guarded_getattr`` returns the
sandbox's size-checking closures for ``join``, ``split``, ``replace``, ``center``,
``encode``, ``format``, ``keys``/``items``, ``extend``, ``get`` …, and the structural
renderer names a function by its ``__qualname__``, so the probe reads
``<function Sandbox._sized_method.<locals>.join>``: the sandbox's class, method and closure
names. ``_named`` dresses the builtins only, not these.
Source: Ned Batchelder, "Eval really is dangerous" (2012: internals from reprs); pyjail CTF
writeups (mapping a sandbox through the names its objects print)."""

import pytest

from tests.adversarial.conftest import internal_names_in

PROBES = [
    "print(''.join)",
    "print('a'.split, 'a'.replace, 'a'.center)",
    "print({}.keys, {}.get, [].extend)",
    "print('%s' % ('a'.encode,))",
    "print(f'{\"a\".format!r}')",
    "print(repr([''.join]))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_method_of_a_probe_value_shows_no_internals(attack, probe: str) -> None:
    report = attack(probe, frozenset({"ok", "denied", "error"}))["_report"]
    assert not internal_names_in(report.split("\n", 1)[1]), report
