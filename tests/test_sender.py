"""The sender's signal path, in process: pidfds pin the host, a recycled pid gets nothing."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from safeprobe.errors import NotAnnounced
from safeprobe.host.registry import process_start_time
from safeprobe.tools import sender
from tests.harness import wait_until

HAS_PIDFD = hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal")


@pytest.fixture
def heard() -> Iterator[list[int]]:
    """SIGUSR2 handled in this process for the test: each delivery is appended."""
    got: list[int] = []
    previous = signal.signal(signal.SIGUSR2, lambda signum, _frame: got.append(signum))
    try:
        yield got
    finally:
        signal.signal(signal.SIGUSR2, previous)


@pytest.mark.skipif(not HAS_PIDFD, reason="no pidfds on this platform")
@pytest.mark.parametrize("code", [0, 7])
def test_a_signal_to_the_process_goes_through_a_pidfd(heard: list[int], code: int) -> None:
    """With pidfds, a process-directed request (plain or queued) cannot reach a successor."""
    me = os.getpid()
    how = sender.send(me, signal.SIGUSR2, code, start_time=process_start_time(me))
    assert how.startswith("pidfd_send_signal")
    wait_until(lambda: heard, "the signal")
    assert heard == [signal.SIGUSR2]


@pytest.mark.skipif(not HAS_PIDFD, reason="no pidfds on this platform")
def test_a_signal_to_a_thread_is_pinned_by_a_pidfd_first(heard: list[int]) -> None:
    """The listener thread still gets it by tgkill, after the pidfd check: the method says so."""
    me = os.getpid()
    how = sender.send(
        me,
        signal.SIGUSR2,
        0,
        thread=threading.get_native_id(),
        start_time=process_start_time(me),
    )
    assert how == "tgkill (pid pinned by pidfd)"
    wait_until(lambda: heard, "the signal")


def test_a_pid_that_is_not_the_announced_process_receives_nothing(heard: list[int]) -> None:
    """A start time that differs from the announcement's (a recycled pid) sends nothing."""
    me = os.getpid()
    with pytest.raises(NotAnnounced, match="pid was reused"):
        sender.send(me, signal.SIGUSR2, 0, start_time=process_start_time(me) + 1)
    assert heard == []


def test_without_pidfds_the_sender_falls_back_to_kill(
    heard: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the platform has no pidfd_open, kill(2) is used, and the method says so."""
    monkeypatch.delattr(os, "pidfd_open", raising=False)
    assert sender.send(os.getpid(), signal.SIGUSR2, 0) == "kill"
    wait_until(lambda: heard, "the signal")


def _fake_proc(root: Path, pid: int, ppid: int, comm: str = "python") -> None:
    (root / str(pid) / "task" / str(pid)).mkdir(parents=True)
    (root / str(pid) / "stat").write_bytes(f"{pid} ({comm}) S {ppid} 1 1 0".encode())


def test_children_are_read_from_each_threads_children_file(tmp_path: Path) -> None:
    """Where the kernel lists children per thread, every thread's list counts."""
    _fake_proc(tmp_path, 100, 1)
    (tmp_path / "100" / "task" / "101").mkdir()
    (tmp_path / "100" / "task" / "100" / "children").write_text("200 201 ")
    (tmp_path / "100" / "task" / "101" / "children").write_text("202")
    assert sender.children_of(100, proc=tmp_path) == {200, 201, 202}


def test_children_are_found_by_parent_pid_without_children_files(tmp_path: Path) -> None:
    """Without the children files, a scan of every stat's parent pid finds them, a command
    name holding ') 100 ' included, and nothing else."""
    _fake_proc(tmp_path, 100, 1)
    _fake_proc(tmp_path, 200, 100, comm="gunicorn: worker")
    _fake_proc(tmp_path, 201, 100, comm="odd) 7 (name")
    _fake_proc(tmp_path, 300, 1, comm="x) S 100 (y")
    _fake_proc(tmp_path, 301, 200)
    (tmp_path / "self").mkdir()
    assert sender.children_of(100, proc=tmp_path) == {200, 201}


def test_a_process_with_no_announced_child_has_an_empty_family() -> None:
    """This test process announces nothing, nor do its children: nobody is addressed."""
    assert sender.announced_family(os.getpid()) == []


def test_the_family_of_a_missing_process_is_not_announced() -> None:
    """A pid with no process behind it is refused, as `trigger PID` refuses it."""
    with pytest.raises(NotAnnounced, match="no process"):
        sender.announced_family(2**22 + 1)  # above pid_max's ceiling: never a process


def test_trigger_children_with_nothing_below_says_so_and_exits_3(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Nothing announced under PID: one line on stderr, exit 3, nothing printed or sent."""
    from safeprobe.tools.cli import main  # noqa: PLC0415

    assert main(["trigger", "--children", str(os.getpid())]) == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"safeprobe: process {os.getpid()}: neither it nor any of its children runs safeprobe\n"
    )
    assert main(["trigger", "--children", str(2**22 + 1)]) == 3
    assert "no process" in capsys.readouterr().err
