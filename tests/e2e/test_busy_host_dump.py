"""A host whose main thread holds the GIL in a long C call cannot run a probe until the call
returns; `safeprobe trigger` shows its stacks as of now (faulthandler, on the dump signal)
and still reports the attempt when it comes, and the audit notes the dump."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from safeprobe.host.registry import ENV_DIR
from tests.harness import HOSTS, REPO, Host, base_policy, run_cli, wait_until

# The signal safeprobe dumps on (host/stack_dump.py), as an operator would name it.
DUMP_SIGNAL = signal.SIGRTMIN + 6
# One regex call of about 6 s (the host picks its length): well past the trigger's start-up
# and its 1 s bound, short enough for a test. The probe's timeout is longer than the stall,
# so it runs after it.
STALL_S = 6
STUCK_LINE = next(
    number
    for number, line in enumerate((HOSTS / "busy_host.py").read_text().splitlines(), 1)
    if "# STUCK HERE" in line
)


def _policy(folder: Path) -> dict[str, object]:
    return base_policy(folder, output="file", limits={"timeout": "60s"})


def _runtime_file(pid: int, suffix: str) -> Path:
    return Path(os.environ[ENV_DIR]) / f"{pid}{suffix}"


def _trigger_lines(pid: int, *extra: str) -> tuple[list[tuple[float, str]], int, str, int]:
    """Run `safeprobe trigger PID` and collect its stdout lines with the time each came;
    returns them, the exit code, stderr, and the trigger's pid."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "safeprobe", "trigger", str(pid), "--wait", "60", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    started = time.monotonic()
    lines: list[tuple[float, str]] = []
    assert proc.stdout is not None
    errors: list[str] = []
    drain = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    drain.start()
    for line in proc.stdout:
        lines.append((time.monotonic() - started, line.rstrip("\n")))
    code = proc.wait(timeout=90)
    drain.join(timeout=5)
    proc.stdout.close()
    assert proc.stderr is not None
    proc.stderr.close()
    return lines, code, "".join(errors), proc.pid


def test_a_host_busy_in_c_shows_its_stacks_then_the_result(make_host, tmp_path: Path) -> None:
    """While the main thread is in the regex, trigger prints every thread's stack naming the
    regex line, then the probe's result once the call returns; the record notes the dump."""
    host: Host = make_host("print('after the stall')\n", _policy(tmp_path), script="busy_host.py")
    stacks = _runtime_file(host.pid, ".stacks")
    assert oct(stacks.stat().st_mode & 0o777) == "0o600"
    announced = json.loads(_runtime_file(host.pid, ".json").read_text())
    assert announced["dump_signal"] == DUMP_SIGNAL
    assert host.ask(f"stall {STALL_S}") == "stalling"
    lines, code, errors, sender = _trigger_lines(host.pid)
    text = [line for _, line in lines]
    assert code == 0, (text, errors)
    banner = next(i for i, line in enumerate(text) if "host busy in C, stacks as of now" in line)
    result = next(i for i, line in enumerate(text) if line.startswith("#1 default in process"))
    assert banner < result, text
    # The banner came at the 1 s bound, long before the 60 s wait (a generous bound).
    assert lines[banner][0] < 30, lines
    dump = "\n".join(text[banner:result])
    assert "(most recent call first)" in dump
    assert f'busy_host.py", line {STUCK_LINE} in main' in dump, dump
    assert "Thread 0x" in dump  # every thread, ids as faulthandler prints them
    assert text[result].endswith(f"{host.pid}: ok in {text[result].split(' in ')[-1]}")
    assert text[result + 1 :] == ["after the stall"]
    [record] = host.records()
    note = record["stack_dump"]
    assert note["requests"] == 1
    assert note["sender_pid"] == sender
    assert note["sender_uid"] == os.getuid()
    assert note["bytes"] > len(dump) // 2
    assert isinstance(note["requested_at"], str)
    assert record["trigger"]["sender_pid"] == sender
    verified = run_cli("audit", "verify", str(host.audit_path))
    assert verified.returncode == 0, verified.stderr
    shown = run_cli("audit", "show", str(host.audit_path), "--json")
    assert json.loads(shown.stdout.splitlines()[0])["stack_dump"] == note


def test_a_host_that_is_not_busy_never_gets_a_dump(make_host, tmp_path: Path) -> None:
    """A host that takes the request at once is never sent the dump signal."""
    host: Host = make_host("print('quick')\n", _policy(tmp_path), script="busy_host.py")
    lines, code, errors, _sender = _trigger_lines(host.pid, "--busy-after", "100ms")
    text = [line for _, line in lines]
    assert code == 0, (text, errors)
    assert not any("host busy" in line for line in text)
    assert text[1:] == ["quick"]
    assert _runtime_file(host.pid, ".stacks").stat().st_size == 0
    [record] = host.records()
    assert "stack_dump" not in record


def test_a_forked_child_does_not_keep_the_dump_registration(make_host, tmp_path: Path) -> None:
    """A child the host forks starts without safeprobe, the dump signal's handler included."""
    host: Host = make_host("print(1)\n", _policy(tmp_path), script="busy_host.py")
    assert host.ask("child") == "does not catch"


def test_the_dump_files_of_a_host_that_is_gone_are_swept(make_host, tmp_path: Path) -> None:
    """The stacks and counter files of a killed host go at the next install."""
    host: Host = make_host("print(1)\n", _policy(tmp_path), script="busy_host.py")
    stacks, taken = _runtime_file(host.pid, ".stacks"), _runtime_file(host.pid, ".taken")
    assert stacks.exists()
    assert taken.exists()
    host.proc.send_signal(signal.SIGTERM)
    host.proc.wait(timeout=20)
    # SIGTERM ends it without atexit: the next host's install sweeps what it left.
    make_host("print(1)\n", _policy(tmp_path / "next"), script="busy_host.py")
    wait_until(lambda: not stacks.exists() and not taken.exists(), "the stale files swept")


def test_a_host_whose_dump_signal_is_taken_keeps_it_and_still_works(
    make_host, tmp_path: Path
) -> None:
    """faulthandler registered by the host on that signal is left alone, with a warning; the
    trigger works, without a dump."""
    host: Host = make_host(
        "print('works')\n",
        _policy(tmp_path),
        script="busy_host.py",
        prefix=["env", "BUSY_HOST_TAKES_DUMP_SIGNAL=1"],
    )
    wait_until(lambda: "SIGRTMIN+6" in host.stderr(), "the install warning")
    assert "left alone" in host.stderr()
    assert not _runtime_file(host.pid, ".stacks").exists()
    announced = json.loads(_runtime_file(host.pid, ".json").read_text())
    assert announced["dump_signal"] is None
    lines, code, errors, _sender = _trigger_lines(host.pid)
    assert code == 0, (lines, errors)
    assert [line for _, line in lines][1:] == ["works"]
