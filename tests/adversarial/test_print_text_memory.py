"""Technique: make ``print`` build its whole text before the output cap applies.
``_Printer._call_print`` joins every argument, then ``OutputBuffer.write`` encodes the whole
text, and only then cuts it to ``limits.max_output`` (64 KiB): eight references to one
16 MB string are a 128 MB join plus a 128 MB encode, for 64 KiB of output (a hundred
references would be 3 GB). The cap bounds what is kept, not what is built.
Source: RestrictedPython docs, "print" (the PrintCollector and ``_print_`` hook the sandbox
replaces); simpleeval's output/size-limit issues."""

from pathlib import Path

import pytest

from tests.adversarial.conftest import CANARY
from tests.harness import base_policy, probe_peak_growth_mib

POLICY = base_policy(Path(), limits={"timeout": "2s", "max_output": "64KiB"})

PROBES = [
    "s = 'x' * 16000000\nprint(s, s, s, s, s, s, s, s)",
    "s = 'x' * 16000000\nprint('', sep=s, end=s)\nprint(s, s, s, s, s, s, s)",
    "s = 'x' * 16000000\nprint(*[s] * 8)",
]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("probe", PROBES)
def test_print_does_not_build_past_the_output_cap(make_host, probe: str) -> None:
    host = make_host(probe, POLICY)
    digest = host.ask("digest")
    record, grew_mib = probe_peak_growth_mib(host)
    assert record["outcome"] in ("limit", "denied"), record["reason"]
    assert host.alive()
    assert host.ask("digest") == digest
    assert CANARY not in host.report(record["seq"])
    assert len(host.records()) == 1
    # The 16 MB string itself is allowed; eight copies of it on the way to 64 KiB are not.
    assert grew_mib < 96, f"host peak memory grew {grew_mib:.0f} MiB for 64 KiB of output"
