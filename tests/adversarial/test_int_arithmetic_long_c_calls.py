"""Technique: one integer operation that runs for seconds to hours in C while holding the
GIL. The sandbox bounds the *size* of ``* ** <<`` results but not the *time* of the
quadratic ones: three-argument ``pow`` (modular exponentiation of 12,000-bit numbers),
``//``, ``%`` and ``divmod`` on multi-megabit integers (hex strings convert to ints with no
digit limit), and ``round(1, -n)``, which computes ``10**n`` inside the call. The deadline
is only checked at ticks, so none of these is stopped.
Source: CPython gh-95778 / CVE-2020-10735 (quadratic int algorithms as a DoS vector);
simpleeval's MAX_POWER guard and its issues on pow; Ned Batchelder, "Eval really is
dangerous" (CPU exhaustion)."""

from pathlib import Path

import pytest

from tests.harness import base_policy

POLICY = base_policy(Path(), limits={"timeout": "200ms", "max_output": "64KiB"})
REFUSED_OR_OK = frozenset({"ok", "denied", "error", "limit", "timeout"})
BIG = "a = int('f' * 800000, 16)\nb = int('e' * 400000, 16)\n"

PROBES = [
    "x = pow(3, (1 << 12000) - 1, (1 << 12000) - 3)\nprint(x & 1)",
    BIG + "q = a // b\nprint(q & 1)",
    BIG + "q = a % b\nprint(q & 1)",
    BIG + "q = divmod(a, b)\nprint(len(q))",
    "x = round(1, -6000000)\nprint(x)",
]


@pytest.mark.parametrize("probe", PROBES)
def test_long_integer_call_stops_near_the_deadline(attack, probe: str) -> None:
    """A long integer operation stops near the 200 ms timeout and never ends as ok."""
    record = attack(probe, REFUSED_OR_OK, policy=POLICY)
    assert record["duration_ms"] < 1500, f"ran {record['duration_ms']} ms past a 200 ms timeout"
    assert record["outcome"] != "ok"
