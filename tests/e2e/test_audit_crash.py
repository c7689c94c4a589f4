"""A writer killed with SIGKILL while appending, again and again: the log never fails to
verify (at worst it holds torn lines, which the verifier names), and the next writer
continues the chain. Each record is one write() call, so in practice a kill here leaves no
torn line at all; torn writes forced by a file-size limit are tested in test_audit.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from safeprobe.audit.trail import verify_chain
from tests.harness import REPO, wait_until

WRITER = """
import sys
from safeprobe.audit.sink import AuditSink
sink = AuditSink(sys.argv[1], fsync=False)
pad = "x" * 200_000  # a big record widens the window in which a kill lands mid-write
while True:
    sink.append({"outcome": "ok", "reason": "crash test", "pad": pad})
"""
ROUNDS = 8


def test_sigkill_mid_append_leaves_only_torn_tails(tmp_path: Path) -> None:
    """A writer killed mid-append leaves a chain that verifies, whose only damage is torn lines."""
    log = tmp_path / "audit.jsonl"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for _ in range(ROUNDS):
        size = log.stat().st_size if log.exists() else 0
        with subprocess.Popen([sys.executable, "-c", WRITER, str(log)], env=env) as writer:
            wait_until(
                lambda start=size: log.exists() and log.stat().st_size > start + 1_000_000,
                "appends",
            )
            os.kill(writer.pid, signal.SIGKILL)
            writer.wait()
        report = verify_chain(str(log))  # raises AuditChainError on anything but torn lines
        assert report.records > 0
    final = verify_chain(str(log))
    lines = log.read_bytes().split(b"\n")
    assert (
        final.records + len(final.torn_lines) + (1 if final.torn_tail else 0)
        >= len([line for line in lines if line]) - 1
    )
