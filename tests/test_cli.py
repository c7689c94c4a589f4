"""The command through a subprocess, as a user calls it: exit codes and one-line errors."""

from __future__ import annotations

import errno
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from safeprobe.audit.sink import AuditSink
from safeprobe.tools.cli import subcommands
from tests.harness import REPO, run_cli

SEED_POLICY = REPO / "examples" / "seed" / "policies" / "seed.yaml"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    return dict(env, PYTHONPATH=str(REPO), **extra)


def run_on_terminal(*args: str, **env: str) -> tuple[int, str]:
    """The command with stdout and stderr on a pseudo-terminal, as in an operator's shell."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "safeprobe", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=_env(**env),
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError as exc:
            if exc.errno != errno.EIO:  # EIO: the terminal's other end closed
                raise
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(timeout=60), b"".join(chunks).decode()


@pytest.mark.slow
def test_audit_verify_reports_intact_and_tampered_chains(tmp_path: Path) -> None:
    """audit verify exits 0 on an intact chain and 1 naming the edited line, as text and JSON."""
    log = tmp_path / "audit.jsonl"
    sink = AuditSink(str(log))
    for n in range(3):
        sink.append({"outcome": "ok", "reason": f"r{n}"})
    good = run_cli("audit", "verify", str(log), "--json")
    assert good.returncode == 0
    assert json.loads(good.stdout)["records"] == 3
    lines = log.read_text().splitlines()
    lines[1] = lines[1].replace('"r1"', '"rX"')
    log.write_text("\n".join(lines) + "\n")
    bad = run_cli("audit", "verify", str(log))
    assert bad.returncode == 1
    assert f"{log}:2: edited" in bad.stderr
    as_json = run_cli("audit", "verify", str(log), "--json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    assert (report["error"]["line"], report["error"]["kind"]) == (2, "edited")


@pytest.mark.slow
def test_usage_errors_exit_2() -> None:
    """An unknown or missing subcommand exits 2."""
    assert run_cli("no-such-command").returncode == 2
    assert run_cli().returncode == 2


@pytest.mark.slow
def test_every_command_has_help_with_an_example() -> None:
    """`safeprobe X --help` exits 0 and ends with an example an operator can copy."""
    commands = subcommands()
    expected = {"demo", "check", "schema", "lint", "audit", "audit verify", "audit show"}
    assert expected | {"trigger", "run"} <= set(commands)
    for command in ["", *commands]:
        result = run_cli(*command.split(), "--help")
        assert result.returncode == 0, command
        assert "example:" in result.stdout, command
        assert "\n  safeprobe " in result.stdout.split("example:")[1], command


@pytest.mark.slow
def test_json_is_offered_wherever_a_machine_reads_the_result() -> None:
    """check, lint and audit verify/show take --json."""
    for command in ("check", "lint", "audit verify", "audit show", "trigger"):
        assert "--json" in run_cli(*command.split(), "--help").stdout, command


@pytest.mark.slow
def test_colour_only_on_a_terminal_and_never_with_no_color(tmp_path: Path) -> None:
    """Escape codes on a terminal; none in a pipe or a file, none when NO_COLOR is set."""
    probe = tmp_path / "p.py"
    probe.write_text("print(nope)\n")
    probe.chmod(0o644)
    args = ("lint", str(probe), "--policy", str(SEED_POLICY))
    code, shown = run_on_terminal(*args)
    assert code == 1
    assert "\x1b[" in shown
    assert "\x1b[" not in run_cli(*args).stdout
    code, plain = run_on_terminal(*args, NO_COLOR="1")
    assert code == 1
    assert "\x1b[" not in plain
    assert "name 'nope' is not exposed" in plain
    _, error = run_on_terminal("check", str(tmp_path / "missing.yaml"))
    assert "\x1b[31msafeprobe:\x1b[0m" in error


@pytest.mark.slow
def test_a_closed_pipe_ends_the_command_quietly() -> None:
    """`safeprobe schema | head -1`: when the reader has gone, no BrokenPipeError traceback."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "safeprobe", "schema"],
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            check=False,
        )
    finally:
        os.close(writer)
    assert result.stderr == ""
    assert result.returncode == 1


@pytest.mark.slow
@pytest.mark.parametrize("command", ["check", "lint"])
def test_a_missing_required_argument_is_usage(command: str) -> None:
    """Exit 2 and a usage line, as argparse reports it."""
    result = run_cli(command)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: safeprobe")
