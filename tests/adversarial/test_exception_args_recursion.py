"""Technique: raise an exception whose single argument is an exception whose argument is an
exception ... 3,000 deep. After the probe ends, the runner renders the exception for the
operator with ``to_text``, which recurses once per level with no depth limit: the
RecursionError escapes ``_classify`` and ``_execute``, ``Runner.attempt`` reports an
"internal error" and the attempt gets no audit record at all (and leaves no output).
Source: RestrictedPython CVE-2024-47532 and CVE-2025-22153 (exception objects as the
vector); "exceptions whose args carry objects" in pyjail CTF writeups."""

import pytest

NEST = "e = ValueError('x')\nfor i in range(3000):\n    e = ValueError(e)\n"

PROBES = [
    NEST + "raise e",
    NEST.replace("ValueError", "RuntimeError") + "raise e",
    # The same value printed inside the probe: the RecursionError is the probe's own.
    NEST + "print(e)",
]


@pytest.mark.parametrize("probe", PROBES)
def test_deeply_nested_exception_is_audited(attack, probe: str) -> None:
    """Audited either way: raised (error) or printed without recursing (ok)."""
    record = attack(probe, frozenset({"error", "ok"}))
    assert record["outcome"] in ("error", "ok"), record["reason"]
