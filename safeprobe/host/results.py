"""Result files: with ``output: file``, each attempt's output goes to its own file, which
``safeprobe trigger`` prints, instead of the host's stderr.

Promise: a result file is written only after its attempt's audit record, is created new
(never over an existing file, never through a symlink) with mode 0600 in a folder that is
not a symlink, is owned by the host's user (or root) and that nobody else can write, and
holds exactly what the operator would otherwise see on stderr. Its name carries the host
pid, the record's seq and the first 16 hex digits of the record's mac, so a file left by
an earlier chain (a rotated log, a reused pid) or planted in advance never passes for
this attempt's. Each host keeps its newest ``KEEP_PER_HOST`` files, removing its older ones.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import Final

from safeprobe.errors import NotRegularFile, ResultFileError
from safeprobe.files import open_regular

KEEP_PER_HOST: Final = 100
_SUFFIX: Final = ".txt"
_MAC_CHARS: Final = 16


def result_path(folder: str, host_pid: int, seq: int, mac: str) -> str:
    """Where attempt ``seq`` (record ``mac``) of host ``host_pid`` writes its output. Pure."""
    return str(Path(folder) / _name(host_pid, seq, mac))


def _name(host_pid: int, seq: int, mac: str) -> str:
    return f"{host_pid}-{seq}-{mac[:_MAC_CHARS]}{_SUFFIX}"


def write_result(folder: str, host_pid: int, seq: int, mac: str, text: str) -> str:
    """Create the result file and return its path; ResultFileError otherwise."""
    path = result_path(folder, host_pid, seq, mac)
    try:
        Path(folder).mkdir(mode=0o700, parents=True, exist_ok=True)
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise ResultFileError(f"{folder}: result folder: {exc.strerror}") from None
    try:
        st = os.fstat(dir_fd)
        if st.st_mode & 0o022 or st.st_uid not in (os.geteuid(), 0):
            raise ResultFileError(
                f"{folder}: result folder is not ours alone (owner or mode); not written"
            )
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        # Written under a hidden name and linked into place: `safeprobe trigger` polls for
        # the final name, and must never read a file that is still empty or half written.
        final = _name(host_pid, seq, mac)
        partial = f".{final}.partial"
        try:
            fd = os.open(partial, flags, 0o600, dir_fd=dir_fd)
        except OSError as exc:
            raise ResultFileError(f"{path}: {exc.strerror}") from None
        try:
            data = text.encode("utf-8", "replace")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.close(fd)
            fd = -1
            # link, not rename: link never replaces what is at the final name (EEXIST), so a
            # name planted in advance is still refused. For a moment the file has two
            # links, which read_result refuses; `safeprobe trigger` polls past that.
            os.link(partial, final, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
            os.unlink(partial, dir_fd=dir_fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(partial, dir_fd=dir_fd)
            raise ResultFileError(f"{path}: {exc.strerror}") from None
        finally:
            if fd >= 0:
                os.close(fd)
        _prune(dir_fd, host_pid, keep=_name(host_pid, seq, mac))
    finally:
        os.close(dir_fd)
    return path


def _prune(dir_fd: int, host_pid: int, keep: str) -> None:
    """Remove this host's result files beyond the newest KEEP_PER_HOST, newest by time
    written (seq starts again at 1 after a rotated log), never ``keep``."""
    prefix = f"{host_pid}-"
    mine: list[tuple[int, str]] = []
    for name in os.listdir(dir_fd):
        seq, _, rest = name[len(prefix) :].partition("-")
        if name.startswith(prefix) and name.endswith(_SUFFIX) and seq.isdigit() and rest:
            with contextlib.suppress(OSError):
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                mine.append((st.st_mtime_ns, name))
    for _written, old in sorted(mine)[:-KEEP_PER_HOST]:
        if old != keep:
            with contextlib.suppress(OSError):
                os.unlink(old, dir_fd=dir_fd)


def read_result(path: str, *, owner: int, max_bytes: int) -> str:
    """A result file's text. Refuses (PermissionError) a symlink, anything but a regular
    file with one link owned by ``owner`` or root, and more than ``max_bytes``."""
    try:
        fd, st = open_regular(path)
    except NotRegularFile:
        raise PermissionError(errno.EACCES, "not a result file the host wrote", path) from None
    with os.fdopen(fd, "rb") as stream:
        if st.st_nlink != 1 or st.st_uid not in (owner, 0):
            raise PermissionError(errno.EACCES, "not a result file the host wrote", path)
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ResultFileError(f"{path}: larger than any result file the host writes")
    return data.decode("utf-8", "replace")
