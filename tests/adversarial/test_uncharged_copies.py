"""Technique: grow host memory with copies the memory budget never sees. Slices
(``s[i:]``), ``list/dict/set.copy()`` and the case methods of str (``upper`` can triple a
text's length) each allocate up to the size of their source in one step, and a loop keeps
them; in thread isolation only the 64 MiB attempt budget stands between the probe and the
host's memory, so each such copy must be charged to it. CPython's own error messages are
copies too: ``float(s)`` and ``list.index(s)`` quote the whole repr of ``s``, and the probe
can keep the exception.
Source: found by this project's escape hunt; the family of "one small step at a time"
memory growth in SECURITY.md, and of the size checks RestrictedPython leaves to the host
(RestrictedPython docs, "Guards")."""

from pathlib import Path

import pytest

from tests.adversarial.conftest import CANARY
from tests.harness import base_policy, probe_peak_growth_mib

POLICY = base_policy(Path(), limits={"timeout": "2s", "max_output": "64KiB"})

PROBES = [
    "s = 'a' * (16 * 1024 * 1024 - 1)\nkeep = []\nfor i in range(1, 100000):\n"
    "    keep.append(s[i:])",
    "L = [0] * 99999\nkeep = []\nfor i in range(100000):\n    keep.append(L[:])",
    "L = [0] * 99999\nkeep = []\nfor i in range(100000):\n    keep.append(L.copy())",
    "s = 'a' * 8000000\nkeep = []\nfor i in range(100000):\n    keep.append(s.upper())",
    "d = {i: i for i in range(99999)}\nkeep = []\nfor i in range(100000):\n"
    "    keep.append(d.copy())",
]


# Messages that would quote the value: the sandbox words them without it, so nothing is
# copied, and the loop runs until the deadline.
MESSAGE_PROBES = [
    "s = 'x' * 16000000\nkeep = []\nfor i in range(100000):\n    try:\n        float(s)\n"
    "    except ValueError as e:\n        keep.append(e)",
    "s = 'x' * 16000000\nkeep = []\nfor i in range(100000):\n    try:\n        [].index(s)\n"
    "    except ValueError as e:\n        keep.append(e)",
]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("probe", PROBES)
def test_copies_are_charged_to_the_attempts_memory_budget(make_host, probe: str) -> None:
    host = make_host(probe, POLICY)
    digest = host.ask("digest")
    record, grew_mib = probe_peak_growth_mib(host)
    assert record["outcome"] == "limit", record["reason"]
    assert "64" in record["reason"] or "size" in record["reason"], record["reason"]
    assert host.alive()
    assert host.ask("digest") == digest
    assert CANARY not in host.report(record["seq"])
    assert len(host.records()) == 1
    # The 64 MiB budget plus the source and one step's copy; never a gigabyte.
    assert grew_mib < 128, f"host peak memory grew {grew_mib:.0f} MiB"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("probe", MESSAGE_PROBES)
def test_error_messages_do_not_copy_the_value(make_host, probe: str) -> None:
    host = make_host(probe, POLICY)
    record, grew_mib = probe_peak_growth_mib(host)
    assert record["outcome"] in ("timeout", "limit"), record["reason"]
    assert host.alive()
    assert len(host.records()) == 1
    assert grew_mib < 128, f"host peak memory grew {grew_mib:.0f} MiB"
