"""Technique: give the sandbox's ``str.format`` replacement millions of fields. The
replacement (``Formatting.str_format``) walks the fields in a Python loop that never
ticks, and parses the whole template into a list of field tuples as soon as ``.format`` is
*read* (``string.Formatter().parse``), before any check: two million ``{0}`` fields run for
seconds past the deadline, and merely reading ``.format`` of a 15 MB template of five
million fields holds ~450 MB of tuples.
Source: RestrictedPython CVE-2023-41039 and CVE-2026-76825 (str.format / string.Formatter
as an escape: the reason the sandbox re-implements format); the "billion laughs" expansion."""

from pathlib import Path

import pytest

from tests.adversarial.conftest import CANARY
from tests.harness import base_policy, probe_peak_growth_mib

POLICY = base_policy(Path(), limits={"timeout": "200ms", "max_output": "64KiB"})
ALLOWED = frozenset({"ok", "denied", "error", "limit", "timeout"})


def test_many_format_fields_stop_near_the_deadline(attack) -> None:
    record = attack("s = ('{0}' * 2000000).format(1)\nprint(len(s))", ALLOWED, policy=POLICY)
    assert record["duration_ms"] < 1500, f"ran {record['duration_ms']} ms past a 200 ms timeout"
    assert record["outcome"] != "ok"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_parsing_a_huge_template_is_bounded(make_host) -> None:
    host = make_host("f = ('{0}' * 5000000).format\nprint('got it')", POLICY)
    digest = host.ask("digest")
    record, grew_mib = probe_peak_growth_mib(host)
    assert record["outcome"] in ("ok", "limit", "denied"), record["reason"]
    assert host.alive()
    assert host.ask("digest") == digest
    assert CANARY not in host.report(record["seq"])
    # 64 MiB is what a whole attempt may build (limits.MAX_ATTEMPT_BUILT_BYTES).
    assert grew_mib < 96, f"host peak memory grew {grew_mib:.0f} MiB reading one method"
