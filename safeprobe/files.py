"""Opening a file someone else may have placed at a path: never through a symlink, never
hanging on a FIFO, never taking a terminal, never leaked to a child, only a regular file.

Promise: ``open_regular`` returns a descriptor of a regular file that was not reached
through a symlink at the path's last component, with the stat of that very descriptor, so
every check the caller makes runs on what it will read, and the file cannot be swapped
between the check and the read. Anything else raises: ``OSError`` from the open (ELOOP for
a symlink), or ``NotRegularFile`` (the descriptor is closed). ``NO_FOLLOW_FLAGS`` are the
same flags for an open that must also write or create (the audit sink). Used for probe
files (host/source.py), audit and key files (audit/log.py), result files (host/results.py)
and announcements (host/registry.py). ``settled_stat`` says when a file's stat stands for
its bytes (the runner's policy file). Imports nothing of safeprobe but errors.py.
"""

from __future__ import annotations

import os
import stat
from typing import Final

from safeprobe.errors import NotRegularFile

# O_NOFOLLOW refuses a symlink at the last component (ELOOP). O_NONBLOCK keeps a FIFO at
# the path from hanging the open, and O_NOCTTY keeps a terminal there from becoming ours,
# before fstat refuses both. O_CLOEXEC keeps the descriptor out of programs the host runs.
NO_FOLLOW_FLAGS: Final = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
READ_NO_FOLLOW: Final = os.O_RDONLY | NO_FOLLOW_FLAGS
# A file changed this recently has no settled stat (settled_stat): longer than any file
# system's timestamp tick (FAT's is 2 s) and than a clock step NTP slews.
RACY_S: Final = 3.0


def open_regular(path: str | os.PathLike[str]) -> tuple[int, os.stat_result]:
    """Open ``path`` read-only with ``NO_FOLLOW_FLAGS``; its descriptor and fstat, or
    OSError from the open, or NotRegularFile for anything but a regular file."""
    fd = os.open(path, READ_NO_FOLLOW)
    try:
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotRegularFile(os.fspath(path), st.st_mode)
    return fd, st


def settled_stat(path: str, now_s: float) -> tuple[int, ...] | None:
    """The file's device, inode, size, mtime and ctime, or None when it cannot be stated
    or changed within ``RACY_S`` of ``now_s`` (the wall clock).

    The runner reads and hashes the policy only when this changed (reading it cost
    ~0.1-0.2 ms of every attempt: BENCHMARKS.md, "Profiles"). A file whose stat is
    unchanged since it was read has the same bytes, with one exception git calls "racy
    clean": file times come from a clock that ticks every few milliseconds, so a second
    write of the same size within the tick of the first leaves the stat as it was. So a
    stat counts only when both times are older than ``RACY_S``, as git trusts its index
    only for files older than the index; any later write sets the ctime (which no caller
    can set back) to a later tick. Renaming another file over the path changes the inode."""
    try:
        st = os.stat(path)  # noqa: PTH116 - a str path, once an attempt: no Path object
    except OSError:
        return None
    newest_ns = max(st.st_mtime_ns, st.st_ctime_ns)
    if newest_ns > (now_s - RACY_S) * 1e9:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
