"""Many host processes share one audit file: 8 processes x 200 attempts each, through the
real runner with fsync on. Records never interleave or tear, the chain is intact, and the
count is exact."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path

import yaml

from safeprobe.audit.trail import verify_chain
from tests.harness import REPO, read_records

PROCESSES = 8
ATTEMPTS = 200
WORKER = """
import sys
import safeprobe
for _ in range(int(sys.argv[2])):
    attempt = safeprobe.run_probe(sys.argv[1])
    assert attempt.audited and attempt.outcome == "ok", attempt.reason
"""


def test_eight_processes_share_one_chain(tmp_path: Path) -> None:
    """Eight processes appending to one log leave one intact chain with every record in order."""
    (tmp_path / "probe.py").write_text("print(1)\n")
    (tmp_path / "probe.py").chmod(0o644)
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        yaml.safe_dump(
            {"version": 1, "probe": {"path": "probe.py"}, "audit": {"path": "audit.jsonl"}}
        )
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(policy), str(ATTEMPTS)],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        assert worker.wait(timeout=300) == 0
    log = tmp_path / "audit.jsonl"
    report = verify_chain(str(log))
    assert report.records == PROCESSES * ATTEMPTS
    assert not report.torn_lines
    records = read_records(log)
    assert [r["seq"] for r in records] == list(range(1, PROCESSES * ATTEMPTS + 1))
    per_pid = collections.Counter(r["host"]["pid"] for r in records)
    assert sorted(per_pid.values()) == [ATTEMPTS] * PROCESSES
