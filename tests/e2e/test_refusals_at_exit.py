"""Refused requests wait up to a second to be audited together; a host that exits normally
inside that second must still leave their record."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

from tests.harness import REPO, base_policy, read_records

# The host signals itself, waiting each time until the listener has taken the signal (it
# leaves the process's pending set), so the kernel merges none of them; then it exits at
# once, well inside the coalescing window.
SELF_SIGNALLING_HOST = """
    import os, signal, sys, time
    from pathlib import Path
    import safeprobe

    def pending() -> bool:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("ShdPnd:"):
                return bool(int(line.split()[1], 16) & (1 << (signal.SIGQUIT - 1)))
        return False

    safeprobe.install(sys.argv[1])
    for _ in range(5):
        os.kill(os.getpid(), signal.SIGQUIT)
        deadline = time.monotonic() + 10
        while pending() and time.monotonic() < deadline:
            time.sleep(0.001)
    sys.exit(0)
"""


def test_refusals_are_audited_when_the_host_exits_inside_the_window(tmp_path: Path) -> None:
    """Five unauthorized requests, then a normal exit: their coalesced record is written."""
    others = 12345 if os.getuid() != 12345 else 12346
    policy = base_policy(
        tmp_path, trigger={"signal": "SIGQUIT", "cooldown": "0s", "allowed_uids": [others]}
    )
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    (tmp_path / "probe.py").write_text("print('must not run')\n", encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(SELF_SIGNALLING_HOST),
            str(tmp_path / "policy.yaml"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    records = read_records(tmp_path / "audit.jsonl")
    assert {r["outcome"] for r in records} == {"unauthorized"}
    assert sum(int(r["trigger"]["requests"]) for r in records) == 5
