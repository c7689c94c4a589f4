"""The stuck-host dump in this process: the files, faulthandler's registration, the notes
for the audit record, and the sender's watch (host/stack_dump.py, tools/busy_host.py).
The dump signal is sent to this very process: no process is started."""

from __future__ import annotations

import faulthandler
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import safeprobe
from safeprobe.audit.record import StackDumpRecord
from safeprobe.host.registry import Announcement, lookup, own_runtime_dir, process_start_time
from safeprobe.host.stack_dump import (
    DUMP_SIGNAL,
    StackDump,
    forget_stack_dump,
    mark_noted,
    note_fields,
    note_request_taken,
    parse_taken,
    pending_note,
    register_stack_dump,
    request_line,
)
from safeprobe.tools.busy_host import BUSY_BANNER, busy_watch, printable
from safeprobe.tools.cli import build_parser
from safeprobe.tools.review import format_row
from safeprobe.tools.sender import send

pytestmark = pytest.mark.skipif(DUMP_SIGNAL is None, reason="no real-time signals here")


def _catches(signum: int) -> bool:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signum - 1)))
    return False


@pytest.fixture
def dump(tmp_path: Path) -> Iterator[StackDump]:
    registered = register_stack_dump(tmp_path)
    assert registered is not None
    yield registered
    forget_stack_dump(registered, remove=True)


def _dump_now(dump: StackDump) -> None:
    """Send the dump signal to this thread and wait until faulthandler has written."""
    before = os.fstat(dump.stacks_fd).st_size
    assert DUMP_SIGNAL is not None
    signal.pthread_kill(threading.get_ident(), DUMP_SIGNAL)
    deadline = time.monotonic() + 10
    while os.fstat(dump.stacks_fd).st_size == before:
        assert time.monotonic() < deadline, "faulthandler wrote nothing"
        time.sleep(0.01)


def test_the_stacks_file_is_private_and_faulthandler_writes_every_thread_to_it(
    dump: StackDump,
) -> None:
    """The file is new and 0600, and the signal dumps this thread's frames into it."""
    assert oct(dump.stacks_path.stat().st_mode & 0o777) == "0o600"
    assert oct(dump.taken_path.stat().st_mode & 0o777) == "0o600"
    assert _catches(dump.signum)
    _dump_now(dump)
    text = dump.stacks_path.read_text()
    assert "Current thread 0x" in text
    assert "test_the_stacks_file_is_private_and_faulthandler_writes" in text


def test_forgetting_unregisters_before_closing_and_removes_the_files(tmp_path: Path) -> None:
    """After uninstall the signal is no longer caught, and the files are gone."""
    dump = register_stack_dump(tmp_path)
    assert dump is not None
    forget_stack_dump(dump, remove=True)
    assert not _catches(dump.signum)
    assert not dump.stacks_path.exists()
    assert not dump.taken_path.exists()


def test_a_signal_someone_else_registered_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """faulthandler already registered on the dump signal: no dump, a warning, theirs kept."""
    assert DUMP_SIGNAL is not None
    folder = tmp_path / "runtime"
    folder.mkdir()
    with (tmp_path / "theirs.txt").open("w") as theirs:
        faulthandler.register(DUMP_SIGNAL, file=theirs, all_threads=False)
        try:
            assert register_stack_dump(folder) is None
            assert "SIGRTMIN+6" in capsys.readouterr().err
            assert _catches(DUMP_SIGNAL)
            assert list(folder.iterdir()) == []
        finally:
            faulthandler.unregister(DUMP_SIGNAL)


def test_a_python_handler_on_the_dump_signal_is_left_alone(tmp_path: Path) -> None:
    """A Python handler is the host's too: not replaced."""
    assert DUMP_SIGNAL is not None
    previous = signal.signal(DUMP_SIGNAL, lambda *_: None)
    try:
        assert register_stack_dump(tmp_path) is None
    finally:
        signal.signal(DUMP_SIGNAL, previous)


def test_what_was_added_is_noted_once_the_record_is_written(dump: StackDump) -> None:
    """A dump is noted in the next record, and in no record after it."""
    assert pending_note(dump) is None
    os.write(dump.stacks_fd, request_line(42, 1000, "2026-12-03T10:00:00.000001Z"))
    _dump_now(dump)
    note = pending_note(dump)
    assert note is not None
    assert note.fields["requests"] == 1
    assert note.fields["sender_pid"] == 42
    assert note.fields["requested_at"] == "2026-12-03T10:00:00.000001Z"
    assert note.fields["bytes"] == dump.stacks_path.stat().st_size
    assert pending_note(dump) is not None  # not written yet: still due
    mark_noted(dump, note)
    assert pending_note(dump) is None


def test_notes_count_request_lines_and_ignore_anything_else() -> None:
    """Only whole request lines count; a dump sent by hand is bytes with no sender."""
    line = request_line(7, 0, "2026-12-03T10:00:00.000001Z")
    added = b"Thread 0x1 (most recent call first):\n" + line + line.replace(b"7", b"x", 1)
    fields = note_fields(added + line)
    assert fields["requests"] == 2
    assert fields["sender_pid"] == 7
    assert fields["sender_uid"] == 0
    by_hand = note_fields(b"Current thread 0x1 (most recent call first):\n")
    assert by_hand["requests"] == 0
    assert by_hand["sender_pid"] is None
    assert by_hand["requested_at"] is None
    StackDumpRecord(**by_hand)  # type: ignore[arg-type]


def test_the_taken_counter_is_read_only_when_whole() -> None:
    """A counter read half-written is not a number."""
    assert parse_taken(b"00000000000000000003\n") == 3
    assert parse_taken(b"0000000003\n") is None
    assert parse_taken(b"") is None


def _announced(dump: StackDump) -> Announcement:
    pid = os.getpid()
    return Announcement(pid, process_start_time(pid), "p.yaml", "SIGQUIT", None, None, dump.signum)


@pytest.fixture
def own_dump() -> Iterator[StackDump]:
    """A dump registered where the sender looks for this process's (the runtime dir)."""
    registered = register_stack_dump(own_runtime_dir())
    assert registered is not None
    yield registered
    forget_stack_dump(registered, remove=True)


def test_a_late_request_gets_the_stacks_as_of_now(own_dump: StackDump) -> None:
    """When the host took no request within the bound, the watch asks for a dump once and
    hands it over marked as such; the host's next record names the sender."""
    shown: list[str] = []
    watch = busy_watch(
        os.getpid(), _announced(own_dump), busy_after_s=0.05, on_dump=shown.append, send=send
    )
    assert watch is not None
    watch.sent(time.monotonic() - 1)
    watch.poll(time.monotonic())
    watch.poll(time.monotonic())
    [text] = shown
    assert BUSY_BANNER in text
    assert "test_a_late_request_gets_the_stacks_as_of_now" in text
    assert watch.dump is not None
    assert "safeprobe: stack dump requested" not in watch.dump
    note = pending_note(own_dump)
    assert note is not None
    assert note.fields["requests"] == 1
    assert note.fields["sender_pid"] == os.getpid()


def test_a_request_the_host_took_is_never_dumped(own_dump: StackDump) -> None:
    """The host took a request in Python after the send: no dump, however late."""
    shown: list[str] = []
    watch = busy_watch(
        os.getpid(), _announced(own_dump), busy_after_s=0.05, on_dump=shown.append, send=send
    )
    assert watch is not None
    watch.sent(time.monotonic() - 1)
    note_request_taken(own_dump)
    watch.poll(time.monotonic())
    watch.poll(time.monotonic() + 10)
    assert shown == []
    assert own_dump.stacks_path.stat().st_size == 0


def test_no_watch_without_an_announced_dump_signal_or_with_the_bound_off(
    own_dump: StackDump,
) -> None:
    """A host without the dump, or --busy-after 0, is never sent the dump signal."""
    announced = _announced(own_dump)
    without = Announcement(announced.pid, announced.start_time, "p.yaml", "SIGQUIT", None)
    assert busy_watch(os.getpid(), without, busy_after_s=1, on_dump=print, send=send) is None
    assert busy_watch(os.getpid(), announced, busy_after_s=0, on_dump=print, send=send) is None


def test_audit_show_marks_a_record_that_noted_a_dump() -> None:
    """The review table says a dump was taken before the attempt."""
    record: dict[str, object] = {
        "ts": "2026-12-03T10:00:00.000001Z",
        "outcome": "ok",
        "reason": "ok",
        "stack_dump": {"requests": 1},
    }
    assert "[stack dump x1] ok" in format_row(record)
    assert "stack dump" not in format_row({**record, "stack_dump": None})


# Link following: a hard link planted under the expected name makes a privileged writer
# write to another file of the link's owner (CWE-59, "Improper Link Resolution Before File
# Access"); O_NOFOLLOW stops a symlink, the link count a hard link.
def test_a_second_link_to_the_stacks_file_is_refused(own_dump: StackDump, tmp_path: Path) -> None:
    """A stacks file with another name elsewhere is not written to nor signalled for."""
    os.link(own_dump.stacks_path, tmp_path / "elsewhere")
    shown: list[str] = []
    watch = busy_watch(
        os.getpid(), _announced(own_dump), busy_after_s=0.05, on_dump=shown.append, send=send
    )
    assert watch is not None
    watch.sent(time.monotonic() - 1)
    watch.poll(time.monotonic())
    [text] = shown
    assert "no stack dump: not the host's private stacks file" in text
    assert own_dump.stacks_path.stat().st_size == 0


# Terminal escape injection: bytes written into a file that an operator's tool prints drive
# the terminal (CWE-150; H D Moore, "Terminal Emulator Security Issues", 2003).
def test_the_dump_reaches_the_terminal_as_printable_ascii_only() -> None:
    """An escape sequence someone wrote into the stacks file is not sent to the terminal."""
    shown = printable(b'  File "a.py", line 1 in f\n\x1b[2J\x07\xff\tend\n')
    assert shown == '  File "a.py", line 1 in f\n?[2J??\tend\n'


# Use after release: a descriptor number closed by one thread and reused by the next open is
# written by another thread that still holds the old number (CWE-672, "Operation on a
# Resource after Expiration or Release").
def test_a_forgotten_dump_never_touches_a_descriptor_the_host_reused(tmp_path: Path) -> None:
    """After uninstall, a safeprobe thread still running neither writes the request counter
    into nor notes the content of whatever file now has the old descriptor numbers."""
    dump = register_stack_dump(tmp_path)
    assert dump is not None
    forget_stack_dump(dump, remove=True)
    reused = [os.open(tmp_path / f"host-{n}", os.O_RDWR | os.O_CREAT, 0o600) for n in range(2)]
    try:
        assert sorted(reused) == sorted([dump.stacks_fd, dump.taken_fd])
        os.write(reused[0], b"the host's own data\n")
        note_request_taken(dump)
        assert pending_note(dump) is None
        assert (tmp_path / "host-1").read_bytes() == b""
        assert (tmp_path / "host-0").read_bytes() == b"the host's own data\n"
    finally:
        for fd in reused:
            os.close(fd)


def test_busy_after_takes_durations_and_refuses_anything_else(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`trigger --busy-after` reads 250ms, 2s, 1.5 and 0 (off); nonsense is usage (exit 2)."""
    parser = build_parser()
    for text, seconds in (("250ms", 0.25), ("2s", 2.0), ("1.5", 1.5), ("0", 0.0)):
        assert parser.parse_args(["trigger", "1", "--busy-after", text]).busy_after == seconds
    assert parser.parse_args(["trigger", "1"]).busy_after == 1.0
    with pytest.raises(SystemExit) as stopped:
        parser.parse_args(["trigger", "1", "--busy-after", "soon"])
    assert stopped.value.code == 2
    assert "--busy-after" in capsys.readouterr().err


def test_install_registers_the_dump_and_uninstall_takes_it_away(tmp_path: Path) -> None:
    """install() leaves the two private files and the registration, announced; uninstall()
    removes all three and the signal is no longer caught."""
    (tmp_path / "probe.py").write_text("print(1)\n")
    (tmp_path / "probe.py").chmod(0o644)
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\ntrigger: {signal: SIGUSR2}\nprobe: {path: probe.py}\n"
        "isolation: thread\naudit: {path: audit.jsonl}\n"
    )
    assert DUMP_SIGNAL is not None
    folder = own_runtime_dir()
    stacks, taken = folder / f"{os.getpid()}.stacks", folder / f"{os.getpid()}.taken"
    safeprobe.install(policy)
    try:
        assert oct(stacks.stat().st_mode & 0o777) == "0o600"
        assert parse_taken(taken.read_bytes()) == 0
        assert _catches(DUMP_SIGNAL)
        assert lookup(os.getpid()).dump_signal == DUMP_SIGNAL
    finally:
        safeprobe.uninstall()
    assert not _catches(DUMP_SIGNAL)
    assert not stacks.exists()
    assert not taken.exists()
