"""Technique: send output past ``limits.max_output`` through an exception message. A probe
that raises ends as ``error`` and the runner writes ``to_text(exception)`` to the host's
stderr report as the detail line; for one ``str`` argument that is the string itself, with
no cap, so ``raise ValueError('B' * 200000)`` prints 200 KB where ``print`` stops at 64 KiB
(16 MB strings are allowed, so 16 MB per attempt). Other shapes go through the bounded
renderer and are cut.
Source: RestrictedPython CVE-2024-47532 and CVE-2023-37271 (exceptions as a side channel
out of the sandbox)."""

import pytest

CAP = 64 * 1024

PROBES = [
    "raise ValueError('B' * 200000)",
    "raise RuntimeError('B' * 200000)",
    "raise KeyError('B' * 200000)",
    "raise ValueError('x', 'B' * 200000)",
    "raise ValueError(['B' * 1000] * 1000)",
]


@pytest.mark.parametrize("probe", PROBES)
def test_exception_detail_obeys_the_output_cap(attack, probe: str) -> None:
    """The text of a probe's exception is held to the output cap."""
    record = attack(probe)
    assert record["outcome"] == "error"
    # The framing lines are a few hundred bytes; the probe's text may not exceed the cap.
    assert len(record["_report"].encode()) < CAP + 4096, len(record["_report"])
