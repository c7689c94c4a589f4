"""The stuck-host dump: every thread's stack, written by faulthandler's C-level handler on a
second, dedicated signal, for when the host's main thread holds the GIL in a long C call
and no Python code, safeprobe's included, can run until it returns.

Promise: ``register_stack_dump`` (at install) creates ``<runtime dir>/<pid>.stacks`` new
(O_EXCL, O_NOFOLLOW), mode 0600, so only the host's user and root can read a dump or add to
it, and registers ``faulthandler.register(DUMP_SIGNAL, file=fd, all_threads=True,
chain=False)`` on it; never over a handler someone else set for that signal (a warning on
stderr, and no dump). Each request the host takes in Python bumps a counter in
``<pid>.taken``: that is how ``safeprobe trigger`` tells a host that runs Python from one
that does not. What was added to the stacks file since this process's last audit record
(the sender's request lines and faulthandler's dumps) is noted in the next record it writes
(``stack_dump``, host/recording.py), so a dump is audited once the host can write again.
Forked children start without the registration; ``forget_stack_dump`` (uninstall, exit)
unregisters before it closes the descriptors, and under the dump's lock, which every use of
them takes, so neither faulthandler nor a safeprobe thread still running ever writes to or
reads from a descriptor number the host has reused.
Threat model: SECURITY.md, "Stuck host".
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import re
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from safeprobe.files import NO_FOLLOW_FLAGS
from safeprobe.host.foreign_handlers import outside_handler

# A real-time signal, not SIGUSR2: no policy can take it as its trigger (policy/units.py,
# SIGNALS_ALLOWED), servers use SIGUSR1/SIGUSR2 for their own ends (gunicorn's USR2 is a
# binary upgrade), and real-time signals queue instead of merging, so two requests give two
# dumps. +6 keeps clear of the low ones that threading libraries and timers pick first, and
# of SIGRTMAX, which valgrind takes for itself.
_CAN_DUMP: Final = hasattr(signal, "SIGRTMIN") and hasattr(faulthandler, "register")
DUMP_SIGNAL: Final[int | None] = signal.SIGRTMIN + 6 if _CAN_DUMP else None
DUMP_SIGNAL_NAME: Final = "SIGRTMIN+6"
STACKS_SUFFIX: Final = ".stacks"
TAKEN_SUFFIX: Final = ".taken"
# The counter in the taken file: fixed width, written in place by one pwrite.
TAKEN_WIDTH: Final = 20
# A record reads at most this much of what was added to the stacks file (the rest is read
# for the next record): faulthandler writes at most 100 threads of 100 frames.
_MAX_NOTE_BYTES: Final = 4 * 1024 * 1024
_REQUEST: Final = re.compile(
    rb"safeprobe: stack dump requested by pid (\d{1,10}) uid (\d{1,10}) at "
    rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)"
)


@dataclass(slots=True)
class StackDump:
    """A registered dump: its signal, its two files, and how far the audit has noted."""

    signum: int
    stacks_path: Path
    stacks_fd: int  # O_RDWR | O_APPEND: faulthandler appends, the host preads
    taken_path: Path
    taken_fd: int
    taken: int = 0
    noted: int = 0  # stacks file offset up to which records have noted what was added
    closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def stacks_path(folder: Path, pid: int) -> Path:
    """Where the stacks of process pid are written."""
    return folder / f"{pid}{STACKS_SUFFIX}"


def taken_path(folder: Path, pid: int) -> Path:
    """Where process pid counts the requests it took."""
    return folder / f"{pid}{TAKEN_SUFFIX}"


def request_line(pid: int, uid: int, at: str) -> bytes:
    """The line a sender appends to the stacks file before it sends DUMP_SIGNAL. Pure."""
    return f"safeprobe: stack dump requested by pid {pid} uid {uid} at {at}\n".encode()


def register_stack_dump(folder: Path) -> StackDump | None:
    """Create the two files in ``folder`` (the announcement's, trusted by registry.py) and
    register the dump; None, after a warning on stderr, when the signal is someone else's,
    the files cannot be made, or there is no such signal here."""
    signum = DUMP_SIGNAL
    if signum is None:
        return None
    taken_by = outside_handler(signum, signal.getsignal(signum))
    if taken_by is not None:
        sys.stderr.write(
            f"safeprobe: warning: {DUMP_SIGNAL_NAME} (signal {signum}) already has {taken_by}; "
            "left alone, so 'safeprobe trigger' cannot show this host's stacks when it is "
            "busy in C\n"
        )
        return None
    pid = os.getpid()
    try:
        stacks = _create(stacks_path(folder, pid), os.O_RDWR | os.O_APPEND)
    except OSError as exc:
        sys.stderr.write(f"safeprobe: warning: no stuck-host dump ({exc.strerror})\n")
        return None
    try:
        taken = _create(taken_path(folder, pid), os.O_RDWR)
    except OSError as exc:
        os.close(stacks)
        sys.stderr.write(f"safeprobe: warning: no stuck-host dump ({exc.strerror})\n")
        return None
    dump = StackDump(signum, stacks_path(folder, pid), stacks, taken_path(folder, pid), taken)
    _write_taken(dump)
    faulthandler.register(signum, file=stacks, all_threads=True, chain=False)
    return dump


def _create(path: Path, flags: int) -> int:
    # A file of a process that had our pid and was killed: ours to replace (the folder is
    # trusted: ours, and only we can write it).
    path.unlink(missing_ok=True)
    return os.open(path, flags | os.O_CREAT | os.O_EXCL | NO_FOLLOW_FLAGS, 0o600)


def note_request_taken(dump: StackDump) -> None:
    """The host took a request in Python: bump the counter the sender watches."""
    with dump.lock:
        if not dump.closed:
            dump.taken += 1
            _write_taken(dump)


def _write_taken(dump: StackDump) -> None:
    with contextlib.suppress(OSError):  # a full disk must not break the signal path
        os.pwrite(dump.taken_fd, f"{dump.taken:0{TAKEN_WIDTH}d}\n".encode(), 0)


def parse_taken(data: bytes) -> int | None:
    """The counter in a taken file's bytes; None while it is not a whole one. Pure."""
    text = data.strip()
    return int(text) if len(text) == TAKEN_WIDTH and text.isdigit() else None


@dataclass(frozen=True, slots=True)
class DumpNote:
    """What was added to the stacks file since the last record, for the audit record."""

    end: int  # the offset noted up to, once the record is written
    fields: dict[str, object]


def pending_note(dump: StackDump) -> DumpNote | None:
    """What a record should note now; None when nothing was added (one fstat)."""
    with dump.lock:
        if dump.closed:
            return None
        try:
            size = os.fstat(dump.stacks_fd).st_size
            if size <= dump.noted:
                return None
            data = os.pread(dump.stacks_fd, min(size - dump.noted, _MAX_NOTE_BYTES), dump.noted)
        except OSError:
            return None
    return DumpNote(dump.noted + len(data), note_fields(data))


def note_fields(added: bytes) -> dict[str, object]:
    """The record's ``stack_dump`` for bytes added to the stacks file: how many request
    lines, how many bytes, and the first request's time and sender as written. Pure."""
    requests = [m for m in (_REQUEST.fullmatch(line) for line in added.split(b"\n")) if m]
    first = requests[0] if requests else None
    return {
        "requests": len(requests),
        "bytes": len(added),
        "requested_at": first.group(3).decode() if first else None,
        "sender_pid": int(first.group(1)) if first else None,
        "sender_uid": int(first.group(2)) if first else None,
    }


def mark_noted(dump: StackDump, note: DumpNote) -> None:
    """The record that carried ``note`` was written."""
    dump.noted = max(dump.noted, note.end)


def forget_stack_dump(dump: StackDump, *, remove: bool, in_child: bool = False) -> None:
    """Unregister, then close (in that order: faulthandler keeps the bare descriptor), and
    with ``remove`` delete the files (not in a forked child: they are its parent's). Once.
    ``in_child``: right after fork, where another thread may have left the lock held."""
    if in_child:
        dump.lock = threading.Lock()
    with dump.lock:
        if dump.closed:
            return
        dump.closed = True
        with contextlib.suppress(RuntimeError, ValueError):
            faulthandler.unregister(dump.signum)
        for fd in (dump.stacks_fd, dump.taken_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
    if remove:
        for path in (dump.stacks_path, dump.taken_path):
            with contextlib.suppress(OSError):
                path.unlink()
