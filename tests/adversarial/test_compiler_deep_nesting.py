"""Technique: crash or hang the compiler with deeply nested source: long unary and binary
chains, attribute and call chains, nested lambdas and parentheses, each within the probe
size cap. CPython's parser and RestrictedPython's recursive AST transformer can raise
RecursionError or MemoryError, or (in C) overflow the stack of the runner thread.
Source: RestrictedPython issue tracker on RecursionError in the transformer; CPython
issues on parser/compiler stack overflows (gh-95185 and related); pyjail CTF writeups."""

import pytest

PROBES = [
    "x = " + "-" * 50000 + "1",
    "x = " + "not " * 50000 + "1",
    "x = " + "1+" * 60000 + "1",
    "x = a" + ".b" * 60000,
    "x = f" + "()" * 50000,
    "x = a" + "[0]" * 50000,
    "x = " + "lambda: " * 20000 + "1",
    "x = " + "(" * 300 + "1" + ")" * 300,
    "x = " + "[" * 300 + "]" * 300,
    "x = " + "1 if 1 else " * 20000 + "1",
]


@pytest.mark.parametrize("probe", PROBES)
def test_deep_source_is_refused_and_host_survives(attack, probe: str) -> None:
    """Deeply nested source is refused before it runs, and the host survives."""
    record = attack(probe)
    assert record["outcome"] in ("compile_error", "rejected"), record["reason"]
