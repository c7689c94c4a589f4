"""A storm of signals: the host survives, one probe at a time, the audit stays small and whole."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from safeprobe.audit.trail import verify_chain
from tests.harness import Host, base_policy, rss_kib, wait_until

STORM_SIGNALS = 3000


def test_thousands_of_signals_cost_a_few_records(make_host, tmp_path: Path) -> None:
    """Refusals are coalesced per burst with a count; RSS stays flat; the chain verifies."""
    policy = base_policy(tmp_path, trigger={"signal": "SIGQUIT", "cooldown": "1s"})
    host: Host = make_host(
        "total = 0\nfor i in range(20000):\n    total += i\nprint(total)\n", policy
    )
    host.probe()
    rss_before = rss_kib(host.pid)
    ticks_before = int(host.ask("ticks"))
    started = time.monotonic()
    for _ in range(STORM_SIGNALS):
        os.kill(host.pid, signal.SIGQUIT)
    storm_s = time.monotonic() - started
    assert host.alive()
    # Every bound below holds at any moment, whether or not the last burst is written yet.
    wait_until(lambda: len(host.records()) >= 2, "the storm's first coalesced record")
    records = host.records()
    assert len(records) <= 2 + 2 * (int(storm_s) + 2) * 3, len(records)
    outcomes = {r["outcome"] for r in records}
    assert outcomes <= {"ok", "busy", "rate_limited"}
    refused = sum(r["trigger"]["requests"] for r in records if r["outcome"] != "ok")
    assert 1 <= refused <= STORM_SIGNALS
    assert verify_chain(str(host.audit_path)).records == len(records)
    assert rss_kib(host.pid) - rss_before < 20 * 1024, "RSS grew by more than 20 MiB"
    assert int(host.ask("ticks")) > ticks_before
    assert host.ask("threads").count("safeprobe") == 2
