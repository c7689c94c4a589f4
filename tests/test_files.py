"""Opening a file at a path someone else may control: the one helper every such open uses."""

from __future__ import annotations

import errno
import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from safeprobe.errors import NotRegularFile, SafeprobeError
from safeprobe.files import NO_FOLLOW_FLAGS, READ_NO_FOLLOW, open_regular


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_regular_file_opens_with_the_stat_of_its_descriptor(tmp_path: Path) -> None:
    """The stat returned is the open file's, so checks on it hold for what is read."""
    path = tmp_path / "f.txt"
    path.write_bytes(b"data")
    fd, st = open_regular(path)
    try:
        assert stat.S_ISREG(st.st_mode)
        assert (st.st_dev, st.st_ino) == (os.fstat(fd).st_dev, os.fstat(fd).st_ino)
        assert os.read(fd, 10) == b"data"
        assert not os.get_inheritable(fd)
        assert os.get_blocking(fd) is False
    finally:
        os.close(fd)


def test_symlink_at_the_last_component_is_refused_with_eloop(tmp_path: Path) -> None:
    """A symlink is never followed, even to a regular file."""
    target = tmp_path / "target"
    target.write_text("x")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(OSError, match="Too many levels of symbolic links") as caught:
        open_regular(str(link))
    assert caught.value.errno == errno.ELOOP


def _directory(path: Path) -> None:
    path.mkdir()


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))


@pytest.mark.parametrize("make", [_directory, _fifo])
def test_anything_but_a_regular_file_is_refused_and_closed(
    tmp_path: Path, make: Callable[[Path], None]
) -> None:
    """A directory or a FIFO (opened without blocking) raises NotRegularFile, and the
    descriptor opened to find out is closed again."""
    path = tmp_path / "thing"
    make(path)
    before = _open_fds()
    with pytest.raises(NotRegularFile) as caught:
        open_regular(str(path))
    assert _open_fds() == before
    assert caught.value.path == str(path)
    assert not stat.S_ISREG(caught.value.mode)
    assert isinstance(caught.value, SafeprobeError)


def test_a_socket_cannot_even_be_opened(tmp_path: Path) -> None:
    """A socket at the path fails at the open (ENXIO), never reaching a read."""
    path = tmp_path / "sock"
    _socket(path)
    with pytest.raises(OSError, match="No such device"):
        open_regular(str(path))


def test_missing_file_raises_the_open_error(tmp_path: Path) -> None:
    """Errors of the open itself reach the caller as OSError, for it to name the rule."""
    with pytest.raises(FileNotFoundError):
        open_regular(str(tmp_path / "absent"))


@pytest.mark.parametrize("flag", [os.O_NOFOLLOW, os.O_NONBLOCK, os.O_NOCTTY, os.O_CLOEXEC])
def test_shared_flags_hold_every_protection(flag: int) -> None:
    """Writers (the audit sink) and readers share the same protections."""
    assert NO_FOLLOW_FLAGS & flag
    assert READ_NO_FOLLOW & flag
    assert READ_NO_FOLLOW & (os.O_WRONLY | os.O_RDWR) == 0
