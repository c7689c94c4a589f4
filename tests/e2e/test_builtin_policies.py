"""The built-in policies end to end: a real host started the way an operator would
(`safeprobe run --policy NAME -- app.py`, or `safeprobe.install(NAME)` in the host), a real
SIGQUIT, the output on the host's stderr and one record in ./safeprobe-audit.jsonl of the
host's working directory, never beside the policy."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

import safeprobe
from safeprobe.audit.trail import verify_chain
from safeprobe.policy.builtins import builtin_dir
from tests.harness import HOSTS, ExampleApp, read_records, run_cli, wait_until

AUDIT = "safeprobe-audit.jsonl"


def _start(tmp_path: Path, mode: str, policy: str, *, via_api: bool = False) -> ExampleApp:
    host = str(HOSTS / "builtin_policy_host.py")
    if via_api:
        argv = [host, mode, policy]
    else:
        argv = ["-m", "safeprobe", "run", "--policy", policy, "--", host, mode]
    return ExampleApp(argv, cwd=tmp_path)


def _probe_once(app: ExampleApp, tmp_path: Path) -> tuple[int, str, dict[str, object]]:
    """Signal the host once; its pid, the framed report, and the one audit record."""
    pid = int(app.wait_for(r"builtin host: pid (\d+)")[0][1])
    os.kill(pid, signal.SIGQUIT)
    report = app.report(1)
    [record] = read_records(tmp_path / AUDIT)
    assert verify_chain(str(tmp_path / AUDIT)).records == 1
    assert not list(builtin_dir().glob("*.jsonl")), "nothing is written beside the policies"
    return pid, report, record


def test_threads_dumps_every_thread_including_the_main_thread(tmp_path: Path) -> None:
    """`run --policy threads`: a thread dump naming MainThread and the worker, audited."""
    app = _start(tmp_path, "threads", "threads")
    try:
        _pid, report, record = _probe_once(app, tmp_path)
        assert "Thread dump (" in report
        assert '"MainThread"' in report
        assert '"parked-worker"' in report
        assert "in parked_worker" in report
        assert record["outcome"] == "ok"
        assert record["policy"]["name"] == "builtin-threads"
        assert record["policy"]["path"] == str(builtin_dir() / "threads.yaml")
    finally:
        app.stop()


def test_process_shows_the_pid_through_install_by_name(tmp_path: Path) -> None:
    """`safeprobe.install("process")` in the host: the process fact with the host's pid."""
    app = _start(tmp_path, "threads", "process", via_api=True)
    try:
        pid, report, record = _probe_once(app, tmp_path)
        assert f"Process {pid} (parent " in report
        assert "open fds" in report
        assert "rss " in report
        assert record["outcome"] == "ok"
        assert record["host"]["pid"] == pid
    finally:
        app.stop()


def test_gc_shows_the_generations(tmp_path: Path) -> None:
    """`run --policy gc`: the collector's state and one row per generation."""
    app = _start(tmp_path, "threads", "gc")
    try:
        _pid, report, record = _probe_once(app, tmp_path)
        assert "GC enabled" in report
        assert "generation   count  threshold" in report
        assert record["outcome"] == "ok"
    finally:
        app.stop()


def test_asyncio_lists_each_task_and_what_it_awaits(tmp_path: Path) -> None:
    """`run --policy asyncio`: each named task and the coroutine it is suspended in."""
    app = _start(tmp_path, "asyncio", "asyncio")
    try:
        _pid, report, record = _probe_once(app, tmp_path)
        assert 'Task "ticker" pending' in report
        assert 'Task "parked" pending' in report
        parked = next(line for line in report.splitlines() if line.startswith("parked "))
        assert parked.split()[1:3] == ["pending", "parked:30"]
        assert parked.endswith("awaiting Event.wait")
        assert record["outcome"] == "ok"
    finally:
        app.stop()


def test_trigger_finds_a_builtin_hosts_audit_log_from_another_directory(
    tmp_path: Path,
) -> None:
    """`safeprobe trigger PID` run elsewhere reads the host's audit log in the host's
    directory (the announcement carries it), not one beside the policy or in its own cwd."""
    host_dir = tmp_path / "host"
    host_dir.mkdir()
    app = _start(host_dir, "threads", "threads")
    try:
        pid = int(app.wait_for(r"builtin host: pid (\d+)")[0][1])
        elsewhere = tmp_path / "operator"
        elsewhere.mkdir()
        done = run_cli("trigger", str(pid), cwd=elsewhere)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"#1 default in process {pid}: ok in ")
        wait_until(lambda: "--- end safeprobe #1 ---" in app.stderr(), "the report")
        assert [r["outcome"] for r in read_records(host_dir / AUDIT)] == ["ok"]
        assert not (elsewhere / AUDIT).exists()
    finally:
        app.stop()


def test_policies_lists_every_builtin_with_a_line_each() -> None:
    """`safeprobe policies`: one line per built-in, name then summary, and where they are."""
    done = run_cli("policies")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    names = [line.split()[0] for line in lines[:-1]]
    assert names == ["asyncio", "gc", "process", "template", "threads"]
    assert all(len(line.split(None, 1)) == 2 for line in lines[:-1])
    assert lines[-1].startswith(f"# in {builtin_dir()}")


def test_check_and_lint_take_a_builtin_name_and_an_unknown_word_is_one_line(
    tmp_path: Path,
) -> None:
    """`check threads` and `lint --policy threads` work by name; `check nosuch` is one
    stderr line listing the names, exit 1."""
    checked = run_cli("check", "threads", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert f"path: {tmp_path / AUDIT}" in checked.stdout
    linted = run_cli("lint", "--policy", "threads", cwd=tmp_path)
    assert linted.returncode == 0, linted.stdout
    unknown = run_cli("check", "nosuch", cwd=tmp_path)
    assert unknown.returncode == 1
    assert unknown.stderr.splitlines() == [
        "safeprobe: nosuch: file: no such file, and not a built-in policy name "
        "(asyncio, gc, process, template, threads)"
    ]


def test_trigger_takes_a_builtin_name_for_policy_in_the_hosts_directory(tmp_path: Path) -> None:
    """`safeprobe trigger PID --policy threads`, run in the host's directory, reads the
    host's ./safeprobe-audit.jsonl as the host writes it."""
    app = _start(tmp_path, "threads", "threads")
    try:
        pid = int(app.wait_for(r"builtin host: pid (\d+)")[0][1])
        done = run_cli("trigger", str(pid), "--policy", "threads", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"#1 default in process {pid}: ok in ")
        assert "Thread dump (" in app.report(1)
    finally:
        app.stop()


def test_run_probe_takes_a_builtin_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`safeprobe.run_probe("process")` in this process: ok, audited in the cwd."""
    monkeypatch.chdir(tmp_path)
    attempt = safeprobe.run_probe("process")
    assert attempt.outcome == safeprobe.Outcome.OK, attempt.reason
    [record] = read_records(tmp_path / AUDIT)
    assert record["host"]["pid"] == os.getpid()
    assert record["policy"]["name"] == "builtin-process"
