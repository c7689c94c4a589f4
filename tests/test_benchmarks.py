"""The limits benchmark runs in quick mode and produces every figure (no timing asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.harness import REPO


def test_limits_benchmark_quick_mode_produces_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "limits_bench.py"),
            "--quick",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())
    assert {"overshoot_ms_thread", "overshoot_ms_fork"} <= set(figures)
    assert sum(name.startswith("attempt_ms_fork_rss") for name in figures) == 2
    for value in figures.values():
        assert {"p50", "p99", "min", "max", "n"} <= set(value)
