"""Technique: recurse at run time through paths the call-depth counter may not see: lambdas
(which tick but do not count depth), callbacks from C (``sorted(key=…)``, ``map``), mutual
recursion between a def and a lambda, and catching the RecursionError to keep going.
Source: RestrictedPython docs (no recursion limit of its own); pyjail CTF writeups
(RecursionError inside interpreter internals leaving guards half-done)."""

import pytest

PROBES = [
    "def f():\n    return f()\nf()",
    "f = lambda: f()\nf()",
    "def f(x):\n    return sorted([1], key=f)\nf(1)",
    "def f(x):\n    return list(map(f, [1]))\nf(1)",
    "def f():\n    return g()\ng = lambda: f()\nf()",
    "def f(n):\n    try:\n        return f(n + 1)\n    except RuntimeError:\n        return f(n + 1)\nf(0)",
    "def f():\n    try:\n        f()\n    except RuntimeError:\n        pass\n    service.requests = 1\nf()",
]


@pytest.mark.parametrize("probe", PROBES)
def test_runaway_recursion_is_stopped(attack, probe: str) -> None:
    """Runaway recursion is stopped as an outcome, and the host survives."""
    record = attack(probe)
    assert record["outcome"] in ("limit", "error", "timeout", "denied"), record["reason"]
