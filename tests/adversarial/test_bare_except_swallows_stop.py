"""Technique: catch the budget's stop (a BaseException) with a bare ``except:`` or
``finally:`` and keep running: loop again, recurse in the handler, or start a new loop in
``finally``. The stop is sticky (every later tick raises it again) and decides the outcome
even when caught.
Source: RestrictedPython docs (no timeout of its own: hosts must interrupt); pyjail CTF
writeups (swallowing KeyboardInterrupt/SystemExit-style stops with bare except)."""

import pytest

PROBES = [
    "try:\n    while True:\n        pass\nexcept:\n    pass\nprint('after')",
    "while True:\n    try:\n        while True:\n            pass\n    except:\n        pass",
    "def f():\n    try:\n        f()\n    except:\n        f()\nf()",
    "try:\n    while True:\n        pass\nfinally:\n    while True:\n        pass",
    "x = 0\nfor i in range(10**9):\n    try:\n        x = x + 1\n    except:\n        continue",
]


@pytest.mark.parametrize("probe", PROBES)
def test_a_caught_stop_still_stops(attack, probe: str) -> None:
    """A probe that catches the stop still ends as a limit or timeout within five seconds."""
    record = attack(probe)
    assert record["outcome"] in ("limit", "timeout"), record["reason"]
    assert record["duration_ms"] < 5000
