"""The command through a subprocess, as a user calls it: exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from safeprobe.audit import AuditSink
from tests.harness import REPO


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "safeprobe", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_check_prints_the_effective_policy(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nprobe: {path: probe.py}\n")
    result = _run("check", str(policy))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["limits"]["timeout"] == 0.5
    assert data["probe"]["path"] == str(tmp_path / "probe.py")


def test_check_names_file_line_and_field_in_one_line(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nprobe: {path: probe.py}\nlimits:\n  timeot: 1s\n")
    result = _run("check", str(policy))
    assert result.returncode == 1
    assert result.stderr.startswith(f"safeprobe: {policy}:4: limits.timeot: unknown key")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_audit_verify_reports_intact_and_tampered_chains(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    sink = AuditSink(str(log))
    for n in range(3):
        sink.append({"outcome": "ok", "reason": f"r{n}"})
    good = _run("audit", "verify", str(log), "--json")
    assert good.returncode == 0
    assert json.loads(good.stdout)["records"] == 3
    lines = log.read_text().splitlines()
    lines[1] = lines[1].replace('"r1"', '"rX"')
    log.write_text("\n".join(lines) + "\n")
    bad = _run("audit", "verify", str(log))
    assert bad.returncode == 1
    assert f"{log}:2: edited" in bad.stderr


def test_usage_errors_exit_2() -> None:
    assert _run("no-such-command").returncode == 2
    assert _run().returncode == 2
