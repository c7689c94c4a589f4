"""The sender's side of the stuck-host dump: while ``safeprobe trigger`` waits for its
attempt, tell a host that runs Python from one that does not, and show the second's stacks.

A host whose main thread holds the GIL in a long C call (a catastrophic regex, a huge
``sum``) takes no request until the call returns: its listener thread cannot run. The
host counts every request it takes in Python in ``<runtime dir>/<pid>.taken``
(host/stack_dump.py), so when that counter has not moved ``busy_after_s`` after the
request was sent, the attempt has not started, and the host is busy in C. Then this
module appends a request line (who, when) to the host's ``<pid>.stacks``, sends the dump
signal the host announced, and reads what faulthandler's C-level handler wrote there: every
thread's stack as of now, most recent call first. The trigger still waits for the attempt.

Promise: the dump signal is sent only to the process the announcement names (pinned by
pidfd and start time, as the request itself), only when the announcement names a dump
signal and the process catches it (/proc/PID/status SigCgt: the default action of a
real-time signal ends a process), and at most once per trigger. The files are read and
written only when they are regular, not symlinks, owned by the host's user and private to
it (mode 0600). Nothing here is fatal to the trigger: a dump that cannot be had is one line.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from safeprobe.audit.record import utc_timestamp
from safeprobe.errors import NotAnnounced
from safeprobe.files import NO_FOLLOW_FLAGS, open_regular
from safeprobe.host.registry import Announcement, runtime_dir
from safeprobe.host.stack_dump import parse_taken, request_line, stacks_path, taken_path

DEFAULT_BUSY_AFTER_S: Final = 1.0
# faulthandler writes a dump in one go from its handler; it is whole once the file has
# stopped growing for this long (or after _DUMP_WAIT_S, whatever came).
_SETTLED_S: Final = 0.2
_DUMP_WAIT_S: Final = 3.0
_POLL_S: Final = 0.01
# At most 100 threads of 100 frames, each line a path and a name: this holds them.
_MAX_DUMP_BYTES: Final = 2 * 1024 * 1024
# Dumps are appended until the host uninstalls; past this, no more are asked for.
MAX_STACKS_FILE_BYTES: Final = 64 * 1024 * 1024
_MAX_TAKEN_BYTES: Final = 64
BUSY_BANNER: Final = "host busy in C, stacks as of now"
_UNPRINTABLE: Final = re.compile(r"[^\n\t\x20-\x7e]")


@dataclass(slots=True)
class BusyWatch:
    """Watches one request: started (the host took it), or dumped once it is late."""

    pid: int
    signum: int
    start_time: int
    owner: int
    folder: Path
    busy_after_s: float
    on_dump: Callable[[str], None]
    send: Callable[..., str]  # sender.send: pinned by pidfd and start time
    taken_before: int | None
    sent_at: float = 0.0
    done: bool = False
    dump: str | None = None

    def sent(self, now: float) -> None:
        """The request was sent at ``now`` (time.monotonic)."""
        self.sent_at = now

    def poll(self, now: float) -> None:
        """Called while waiting for the record: request the dump once the request is late."""
        if self.done:
            return
        if _read_taken(taken_path(self.folder, self.pid), self.owner) != self.taken_before:
            self.done = True  # the host runs Python: the attempt has started (or was refused)
            return
        if now - self.sent_at < self.busy_after_s:
            return
        self.done = True
        try:
            text = request_dump(self)
        except (OSError, NotAnnounced) as exc:
            text = f"(no stack dump: {getattr(exc, 'strerror', None) or exc})\n"
        self.dump = text
        self.on_dump(
            f"safeprobe: process {self.pid} has not started the attempt after "
            f"{self.busy_after_s:g} s: {BUSY_BANNER} (most recent call first):\n{text}"
        )


def busy_watch(
    pid: int,
    announced: Announcement | None,
    *,
    busy_after_s: float,
    on_dump: Callable[[str], None] | None,
    send: Callable[..., str],
) -> BusyWatch | None:
    """A watch for a request about to be sent; None when there is nothing to watch: no
    dump announced, the bound is 0 (off), or nobody to show a dump to."""
    if announced is None or announced.dump_signal is None or busy_after_s <= 0:
        return None
    if on_dump is None:
        return None
    owner = Path(f"/proc/{pid}").stat().st_uid
    folder = runtime_dir(owner)
    return BusyWatch(
        pid=pid,
        signum=announced.dump_signal,
        start_time=announced.start_time,
        owner=owner,
        folder=folder,
        busy_after_s=busy_after_s,
        on_dump=on_dump,
        send=send,
        taken_before=_read_taken(taken_path(folder, pid), owner),
    )


def request_dump(watch: BusyWatch) -> str:
    """Append our request line to the host's stacks file, send the dump signal, and return
    what faulthandler wrote after the line. OSError, NotAnnounced (the process is not the
    one announced, or does not catch the signal)."""
    _check_catches(watch.pid, watch.signum)
    path = stacks_path(watch.folder, watch.pid)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | NO_FOLLOW_FLAGS)
    try:
        st = os.fstat(fd)
        _check_private(st, watch.owner, path)
        if st.st_size > MAX_STACKS_FILE_BYTES:
            raise OSError(errno.EFBIG, "the stacks file is full (64 MiB); restart the host")
        line = request_line(os.getpid(), os.getuid(), utc_timestamp(time.time()))
        os.write(fd, line)
        start = os.fstat(fd).st_size  # our line is the last thing in the file, for now
    finally:
        os.close(fd)
    watch.send(watch.pid, watch.signum, 0, thread=None, start_time=watch.start_time)
    return _read_dump(path, watch.owner, start)


def _read_dump(path: Path, owner: int, start: int) -> str:
    """What was added after ``start``, once it has stopped growing (bounded waits)."""
    deadline = time.monotonic() + _DUMP_WAIT_S
    size, since = start, time.monotonic()
    while True:
        now = time.monotonic()
        current = _size(path)
        if current != size:
            size, since = current, now
        elif size > start and now - since >= _SETTLED_S:
            break
        if now > deadline:
            break
        time.sleep(_POLL_S)
    fd, st = open_regular(path)
    try:
        _check_private(st, owner, path)
        data = os.pread(fd, min(max(size - start, 0), _MAX_DUMP_BYTES), start)
    finally:
        os.close(fd)
    if not data:
        return "(the host wrote no stacks within 3 s)\n"
    return printable(data)


def printable(data: bytes) -> str:
    """The dump as the operator's terminal may show it. Pure. faulthandler writes printable
    ASCII only (it escapes the rest); anything else was put there by someone else (an
    escape sequence for the terminal), and becomes "?"."""
    return _UNPRINTABLE.sub("?", data.decode("ascii", "replace"))


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0


def _check_private(st: os.stat_result, owner: int, path: Path) -> None:
    # One link: a second name for another of the owner's files is not ours to write to.
    private = not st.st_mode & 0o077 and st.st_nlink == 1
    if not stat.S_ISREG(st.st_mode) or st.st_uid != owner or not private:
        raise PermissionError(1, "not the host's private stacks file", str(path))


def _read_taken(path: Path, owner: int) -> int | None:
    """The host's count of requests taken; None when it cannot be read (then no change is
    ever seen, and a late request is dumped)."""
    for _ in range(3):  # a read that met the host's pwrite half-way is read again
        try:
            fd, st = open_regular(path)
        except OSError:
            return None
        try:
            if st.st_uid != owner or st.st_mode & 0o077:
                return None
            value = parse_taken(os.read(fd, _MAX_TAKEN_BYTES))
        finally:
            os.close(fd)
        if value is not None:
            return value
    return None


def _check_catches(pid: int, signum: int) -> None:
    """NotAnnounced unless the process catches ``signum``: its default action would end it."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        raise NotAnnounced(f"no process {pid}") from None
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key == "SigCgt" and int(value.strip(), 16) & (1 << (signum - 1)):
            return
    raise NotAnnounced(f"process {pid} does not catch the dump signal {signum}")
