"""Opening a file someone else may have placed at a path: never through a symlink, never
hanging on a FIFO, never taking a terminal, never leaked to a child, only a regular file.

Promise: ``open_regular`` returns a descriptor of a regular file that was not reached
through a symlink at the path's last component, with the stat of that very descriptor, so
every check the caller makes runs on what it will read, and the file cannot be swapped
between the check and the read. Anything else raises: ``OSError`` from the open (ELOOP for
a symlink), or ``NotRegularFile`` (the descriptor is closed). ``NO_FOLLOW_FLAGS`` are the
same flags for an open that must also write or create (the audit sink). Used for probe
files (host/source.py), audit and key files (audit/log.py), result files (host/results.py)
and announcements (host/registry.py). Imports nothing of safeprobe but errors.py.
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
