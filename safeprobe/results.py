"""Result files: with ``output: file``, each attempt's output goes to its own file, which
``safeprobe trigger`` prints, instead of the host's stderr.

Promise: a result file is written only after its attempt's audit record, is created new
(never over an existing file, never through a symlink) with mode 0600 in a folder that is
not a symlink, and holds exactly what the operator would otherwise see on stderr. Each
host keeps its newest ``KEEP_PER_HOST`` files and removes older ones of its own.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Final

from safeprobe.errors import SafeprobeError

KEEP_PER_HOST: Final = 100
_SUFFIX: Final = ".txt"


class ResultFileError(SafeprobeError):
    """A result file could not be written; the message names the folder and why."""


def result_path(folder: str, host_pid: int, seq: int) -> str:
    """Where attempt ``seq`` of host ``host_pid`` writes its output. Pure."""
    return str(Path(folder) / _name(host_pid, seq))


def _name(host_pid: int, seq: int) -> str:
    return f"{host_pid}-{seq}{_SUFFIX}"


def write_result(folder: str, host_pid: int, seq: int, text: str) -> str:
    """Create the result file and return its path; ResultFileError otherwise."""
    path = result_path(folder, host_pid, seq)
    try:
        Path(folder).mkdir(mode=0o700, parents=True, exist_ok=True)
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise ResultFileError(f"{folder}: result folder: {exc.strerror}") from None
    try:
        if stat.S_IMODE(os.fstat(dir_fd).st_mode) & 0o022:
            raise ResultFileError(f"{folder}: result folder is writable by group or others")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(_name(host_pid, seq), flags, 0o600, dir_fd=dir_fd)
        except OSError as exc:
            raise ResultFileError(f"{path}: {exc.strerror}") from None
        try:
            data = text.encode("utf-8", "replace")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except OSError as exc:
            raise ResultFileError(f"{path}: {exc.strerror}") from None
        finally:
            os.close(fd)
        _prune(dir_fd, host_pid)
    finally:
        os.close(dir_fd)
    return path


def _prune(dir_fd: int, host_pid: int) -> None:
    """Remove this host's result files beyond the newest KEEP_PER_HOST (by seq)."""
    prefix = f"{host_pid}-"
    seqs: list[int] = []
    for name in os.listdir(dir_fd):
        middle = name[len(prefix) : -len(_SUFFIX)]
        if name.startswith(prefix) and name.endswith(_SUFFIX) and middle.isdigit():
            seqs.append(int(middle))
    for old in sorted(seqs)[:-KEEP_PER_HOST]:
        with contextlib.suppress(OSError):
            os.unlink(_name(host_pid, old), dir_fd=dir_fd)


def read_result(path: str) -> str:
    """A result file's text, refusing symlinks; OSError as raised."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as stream:
        return stream.read().decode("utf-8", "replace")
