"""Technique: amplify a large value the probe did not pay to build. A fact's text is
rendered by safeprobe, outside the probe's allocation budget, so str() or an f-string of a
thread dump in a loop could fill the host's memory ten kilobytes per step.
Source: CWE-400, "Uncontrolled Resource Consumption"; simpleeval's MAX_STRING_LENGTH and
the issues that motivated it."""

from pathlib import Path

import pytest

from tests.harness import base_policy, probe_peak_growth_mib

POLICY = base_policy(Path(), facts=["threads"], limits={"timeout": "2s", "max_output": "64KiB"})

PROBES = [
    "xs = [str(threads) for _ in range(100000)]",
    "xs = [repr(threads) for _ in range(100000)]",
    "xs = [f'{threads}' for _ in range(100000)]",
    "xs = ['%s' % threads for _ in range(100000)]",
    "xs = ['{}'.format(threads) for _ in range(100000)]",
    "xs = [str(threads) + '' for _ in range(100000)]",
    "x = str(threads) * 100000",
    # CPython's own message quotes the value's repr(): a record's repr must be its cached,
    # charged text, not a dataclass __repr__ rebuilding the dump each time.
    "xs = []\nfor _ in range(100000):\n    try:\n        [].index(threads)\n"
    "    except ValueError as e:\n        xs.append(str(e))",
]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("probe", PROBES)
def test_rendering_a_fact_again_and_again_is_bounded(make_host, probe: str) -> None:
    host = make_host(probe, POLICY)
    record, grew_mib = probe_peak_growth_mib(host)
    assert record["outcome"] in ("ok", "limit", "timeout"), record["reason"]
    assert host.alive()
    # The attempt-wide allocation cap is 64 MiB; text that was never charged would be
    # 100,000 copies of a dump of a few KiB, hundreds of MiB.
    assert grew_mib < 96, f"host peak memory grew {grew_mib:.0f} MiB"
