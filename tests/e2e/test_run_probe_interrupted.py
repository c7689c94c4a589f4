"""An interrupt that lands while ``safeprobe.run_probe()`` runs in the host's main thread
(SIGINT raising KeyboardInterrupt, a SIGTERM handler raising SystemExit) still leaves the
attempt's one audit record before it propagates to the host, in both isolation modes."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness import Host, base_policy, wait_until

# The probe runs until its timeout, long past the moment the test interrupts it.
LONG_PROBE = "n = 0\nwhile True:\n    n += 1\n"


@pytest.mark.parametrize(
    ("signum", "name"),
    [(signal.SIGINT, "KeyboardInterrupt"), (signal.SIGTERM, "SystemExit")],
)
def test_interrupt_during_run_probe_is_recorded(
    make_host: Callable[..., Host], tmp_path: Path, isolation: str, signum: int, name: str
) -> None:
    """The record says the attempt was interrupted, and the exception still reaches the host."""
    policy = base_policy(tmp_path, isolation=isolation)
    # Enough steps that the loop runs until the interrupt (1M steps take ~0.3 s here).
    policy["limits"] = {"timeout": "10s", "max_output": "64KiB", "max_steps": 10**9}
    policy["expose"] = {}  # this host has none of the app host's objects
    host = make_host(LONG_PROBE, policy, script="run_probe_host.py")
    assert host.proc.stdin is not None
    assert host.proc.stdout is not None
    host.proc.stdin.write("run\n")
    host.proc.stdin.flush()
    assert host.proc.stdout.readline().strip() == "inside"
    host.send(signum)
    assert host.proc.stdout.readline().strip() == f"interrupted {name}"
    records = wait_until(host.records, "the interrupted attempt's record")
    assert isinstance(records, list)
    assert len(records) == 1, [(r["outcome"], r["reason"], r["duration_ms"]) for r in records]
    assert records[0]["outcome"] == "error"
    assert records[0]["reason"] == f"interrupted ({name})"
    assert float(records[0]["duration_ms"]) < 10_000  # type: ignore[arg-type]
    children = Path(f"/proc/{host.pid}/task/{host.pid}/children")
    wait_until(lambda: children.read_text().strip() == "", "no probe child left behind")
    assert host.alive()
