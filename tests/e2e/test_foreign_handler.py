"""A handler for the trigger signal that safeprobe did not install: install() sees it (from
signal.getsignal and from the kernel's SigCgt), refuses it or chains to it as the policy
says, and uninstall() puts back exactly what was there."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

from tests.harness import REPO, base_policy, read_records, wait_until


def _start(folder: Path, script: str, **trigger: object) -> subprocess.Popen[str]:
    policy = base_policy(folder, trigger={"signal": "SIGQUIT", "cooldown": "0s", **trigger})
    (folder / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    (folder / "probe.py").write_text("print('probe ran')\n", encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), str(folder / "policy.yaml")],
        cwd=folder,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1"),
    )


def _stop(host: subprocess.Popen[str]) -> None:
    host.kill()
    host.communicate()  # and close the pipes


FAULTHANDLER_HOST = """
    import faulthandler, os, signal, sys
    import safeprobe
    faulthandler.register(signal.SIGQUIT, file=open(os.devnull, "w"))
    try:
        safeprobe.install(sys.argv[1])
    except safeprobe.InstallError as exc:
        print("refused:", exc, flush=True)
    else:
        print("installed", flush=True)
        safeprobe.uninstall()
    print("ready", flush=True)
    sys.stdin.readline()
"""


def test_a_faulthandler_registration_is_refused_and_left_in_place(tmp_path: Path) -> None:
    """install() refuses a handler set outside the signal module instead of replacing it,
    so the faulthandler dump still answers kill -3 and the process survives."""
    host = _start(tmp_path, FAULTHANDLER_HOST)
    try:
        assert host.stdout is not None
        first = host.stdout.readline()
        assert first.startswith("refused:"), first
        assert "faulthandler" in first
        assert host.stdout.readline() == "ready\n"
        host.send_signal(3)
        assert host.stdin is not None
        host.stdin.write("go\n")
        host.stdin.flush()
        assert host.wait(timeout=20) == 0  # SIGQUIT's default action would end it with -3
    finally:
        _stop(host)


PYTHON_HANDLER_HOST = """
    import signal, sys
    import safeprobe
    def host_handler(signum, frame):
        print("host handler ran", flush=True)
    signal.signal(signal.SIGQUIT, host_handler)
    try:
        safeprobe.install(sys.argv[1])
    except safeprobe.InstallError as exc:
        print("refused:", exc, flush=True)
        sys.exit(0)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "uninstall":
            safeprobe.uninstall()
            print("restored" if signal.getsignal(signal.SIGQUIT) is host_handler else "lost",
                  flush=True)
"""


def test_a_python_handler_is_refused_by_default(tmp_path: Path) -> None:
    """The default policy refuses to replace the host's own handler, and names it."""
    host = _start(tmp_path, PYTHON_HANDLER_HOST)
    out, _err = host.communicate(timeout=20)
    assert out.startswith("refused:")
    assert "host_handler" in out
    assert "foreign_handler: chain" in out


def test_a_chained_python_handler_still_runs_and_is_restored(tmp_path: Path) -> None:
    """foreign_handler: chain: each signal is audited and the host's handler still runs;
    uninstall() puts the host's handler back, which then alone answers the signal."""
    host = _start(tmp_path, PYTHON_HANDLER_HOST, foreign_handler="chain")
    assert host.stdout is not None
    assert host.stdin is not None
    try:
        assert host.stdout.readline() == "ready\n"
        host.send_signal(3)
        wait_until(lambda: len(read_records(tmp_path / "audit.jsonl")) == 1, "one record")
        # The chained handler runs in the main thread when it next runs Python code (here,
        # after the line it is reading), as CPython runs every signal handler there.
        host.stdin.write("ping\n")
        host.stdin.flush()
        assert host.stdout.readline() == "host handler ran\n"
        host.stdin.write("uninstall\n")
        host.stdin.flush()
        assert host.stdout.readline() == "restored\n"
        host.send_signal(3)
        assert host.stdout.readline() == "host handler ran\n"
        assert len(read_records(tmp_path / "audit.jsonl")) == 1
    finally:
        _stop(host)
