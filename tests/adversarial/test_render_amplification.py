"""Technique: make the sandbox's own renderer do the work. ``str()``, ``repr()``, ``print``
and f-strings render a non-scalar with ``proxy.render``, which walks up to ``max_repr_items``
(100) items on each of ``max_depth`` (3) levels and up to ``max_str_chars`` (256) of each
string, in Python code that never ticks and builds the whole text before anything checks
its size. A probe-built ``[[['x' * 256] * 100] * 100] * 100`` (300 list slots, one string)
renders to 260 MB, ~800 MB peak, a second or more past a 200 ms deadline.
Source: Python docs, ``reprlib`` (why bounded reprs bound the *total*, not just each level);
the "billion laughs" shared-reference expansion."""

from pathlib import Path

import pytest

from tests.harness import base_policy

POLICY = base_policy(Path(), limits={"timeout": "200ms", "max_output": "64KiB"})
ALLOWED = frozenset({"ok", "denied", "error", "limit", "timeout"})
NEST = "x = [[['x' * 256] * 100] * 100] * 100\n"

# Three renders in a row, with nothing between them that ticks; the f-string and format
# checks refuse each result only after building it (print after filling the output cap),
# so the probe swallows the stop twice.
SWALLOW = "try:\n    {0}\nexcept:\n    pass\n"
PROBES = [
    NEST + "a = str(x)\nb = str(x)\nc = str(x)\nprint(len(a) + len(b) + len(c))",
    NEST + "a = repr(x)\nb = repr(x)\nc = repr(x)\nprint(len(a) + len(b) + len(c))",
    NEST + SWALLOW.format("print(x)") * 3,
    NEST + SWALLOW.format("y = f'{x}'") * 3,
    NEST + SWALLOW.format("y = '{}'.format(x)") * 3,
]


@pytest.mark.parametrize("probe", PROBES)
def test_rendering_is_bounded_in_time_and_size(attack, probe: str) -> None:
    """Amplified rendering ends near the 200 ms timeout with at most 64 KiB of output."""
    record = attack(probe, ALLOWED, policy=POLICY)
    assert record["duration_ms"] < 1500, f"ran {record['duration_ms']} ms past a 200 ms timeout"
    # Either stopped, or (since renders share a 5,000-value budget) finished quickly with a
    # bounded text: the claim is time and size, not a particular outcome.
    assert record["outcome"] in ("ok", "limit", "timeout"), record["reason"]
    assert record["output"]["bytes"] <= 64 * 1024
