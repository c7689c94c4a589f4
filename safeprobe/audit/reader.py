"""The one way to read audit records: open a log as ``verify`` does, and parse its lines.

Promise: a file is opened read-only, never through a symlink at the path's last component
(O_NOFOLLOW), never blocking on a FIFO (O_NONBLOCK, then fstat), and is read only when it
is a regular file (``NotARegularFile`` otherwise). A line is a record only when it parses
as strict JSON (``chain.parse_line``: UTF-8, no NaN or infinities); reading never trusts
the log and never changes it, and whether its chain is intact is ``trail.verify_chain``'s
job. Threat model: SECURITY.md, "Audit integrity".
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Mapping
from types import MappingProxyType
from typing import BinaryIO, Final

from safeprobe import files
from safeprobe.audit.chain import parse_line
from safeprobe.errors import NotRegularFile


class NotARegularFile(PermissionError):
    """The path names a FIFO, a directory, a device or a socket: refused before reading."""

    def __init__(self, path: str, mode: int) -> None:
        self.problem = f"is {file_kind(mode)}, not a regular file"
        super().__init__(errno.EACCES, self.problem, path)


def open_regular(path: str) -> int:
    """A read-only descriptor on the regular file at ``path``; the caller closes it.
    files.open_regular opens it (the one way safeprobe opens a file it did not make);
    anything but a regular file is reported as an audit reader reports it.

    Raises OSError: ELOOP for a symlink, NotARegularFile for anything but a regular file,
    and whatever else opening says (FileNotFoundError, PermissionError ...).
    """
    try:
        fd, _ = files.open_regular(path)
    except NotRegularFile as exc:
        raise NotARegularFile(path, exc.mode) from None
    return fd


def open_log(path: str) -> BinaryIO:
    """``open_regular`` as a binary file object, for reading lines."""
    return os.fdopen(open_regular(path), "rb")


def parse_record(line: bytes) -> dict[str, object] | None:
    """The record on one line (its newline may be there), or None when it holds none."""
    return parse_line(line.removesuffix(b"\n"))


def read_records(path: str) -> tuple[list[dict[str, object]], int]:
    """Every record in the log at ``path`` that parses, and how many non-blank lines did
    not. Raises OSError as ``open_regular`` does."""
    records: list[dict[str, object]] = []
    skipped = 0
    with open_log(path) as log:
        for line in log:
            record = parse_record(line)
            if record is None:
                skipped += bool(line.strip())
            else:
                records.append(record)
    return records, skipped


def close_quietly(fd: int) -> None:
    """Close a descriptor; a failed close after a good write loses nothing fsync has not
    already reported."""
    with contextlib.suppress(OSError):
        os.close(fd)


_ERRNO_PROBLEMS: Final[Mapping[int, str]] = MappingProxyType(
    {
        errno.ELOOP: "is a symlink; safeprobe never opens an audit or key file through one",
        errno.EISDIR: "is a directory, not a regular file",
        errno.ENOTDIR: "a component of the path is not a directory",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.ENOSPC: "no space left on device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EROFS: "read-only file system",
        errno.EFBIG: "file too large",
        errno.EIO: "input/output error",
    }
)


def describe_os_error(exc: OSError, action: str, *, creating: bool = False) -> str:
    """What went wrong with a file, in words an operator acts on, and while doing what."""
    if exc.errno == errno.ENOENT:
        problem = "a directory in the path does not exist" if creating else "no such file"
    else:
        known = _ERRNO_PROBLEMS.get(exc.errno or 0)
        problem = known or (os.strerror(exc.errno).lower() if exc.errno else "unexpected error")
    return f"{problem} ({action})"


def file_kind(mode: int) -> str:
    """What a file that is not a regular one is ("a FIFO", "a directory"...)."""
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symlink"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")
