"""Reading a probe file safely.

Promise: the bytes handed to the compiler are exactly the bytes of a regular file at the
policy's probe path, not reached through a symlink at its last component, owned by an
allowed user, no larger than the cap and, when the policy pins digests, one of the pinned
contents; and not writable by group or others unless the policy pins its content (then a
writer cannot change what runs, only stop it: the pin is checked on the very bytes read.
A wheel installed under umask 002 leaves the built-in probes group-writable, and they are
pinned for that reason). Every check runs on the open file descriptor
(files.open_regular), so the file cannot be swapped between the check and the read.
Threat model: SECURITY.md, "Probe file".
"""

from __future__ import annotations

import errno
import hashlib
import os
import pwd
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from safeprobe.errors import NotRegularFile, ProbeRejected
from safeprobe.files import open_regular
from safeprobe.policy.defaults import DEFAULT_PROBE_MAX_BYTES

_WRITABLE_BY_OTHERS: Final = stat.S_IWGRP | stat.S_IWOTH


@dataclass(frozen=True, slots=True)
class ProbeSource:
    """The probe's bytes and what was checked about the file they came from."""

    path: str
    text: str
    sha256: str
    size_bytes: int
    owner_uid: int
    mode: int


def allowed_owner_uids(owners: Iterable[str], *, current_uid: int) -> frozenset[int]:
    """Map the policy's owner names ("root", "current", user names) to uids."""
    uids: set[int] = set()
    for name in owners:
        if name == "current":
            uids.add(current_uid)
        elif name.isdigit():
            uids.add(int(name))
        else:
            try:
                uids.add(pwd.getpwnam(name).pw_uid)
            except KeyError:
                # An unknown user owns nothing, so it allows nothing: deny, don't fail.
                continue
    return frozenset(uids)


def check_file_stat(
    st: os.stat_result,
    *,
    path: str,
    allowed_uids: frozenset[int],
    max_bytes: int,
    pinned: bool = False,
) -> None:
    """Refuse a file that is not a small regular file owned by an allowed user, or that
    group or others may write when its content is not pinned. Pure."""
    if not stat.S_ISREG(st.st_mode):
        raise ProbeRejected(path, "file-type", _file_type_problem(st.st_mode))
    if st.st_uid not in allowed_uids:
        raise ProbeRejected(path, "owner", f"owned by uid {st.st_uid}, not an allowed owner")
    if st.st_mode & _WRITABLE_BY_OTHERS and not pinned:
        raise ProbeRejected(
            path, "mode", f"mode {stat.S_IMODE(st.st_mode):04o} is writable by group or others"
        )
    if st.st_size > max_bytes:
        raise ProbeRejected(path, "size", f"{st.st_size} bytes is over the {max_bytes}-byte cap")


def check_pins(digest: str, pins: Iterable[str], *, path: str) -> None:
    """Refuse content whose sha256 is not pinned, when the policy pins any. Pure."""
    pinned = frozenset(pins)
    if pinned and digest not in pinned:
        raise ProbeRejected(path, "sha256", f"content sha256 {digest[:12]}… is not pinned")


def decode_probe(data: bytes, *, path: str) -> str:
    """Probes are UTF-8 text; anything else is refused rather than guessed. Pure."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProbeRejected(path, "encoding", f"not UTF-8 (byte {exc.start})") from None


def read_probe(
    path: str,
    *,
    owners: Iterable[str] = ("root", "current"),
    max_bytes: int = DEFAULT_PROBE_MAX_BYTES,
    sha256_pins: Iterable[str] = (),
) -> ProbeSource:
    """Open, check and read the probe file; raise ProbeRejected naming the rule it broke."""
    allowed = allowed_owner_uids(owners, current_uid=os.geteuid())
    pins = frozenset(sha256_pins)
    try:
        fd, st = open_regular(path)
    except NotRegularFile as exc:
        raise ProbeRejected(path, "file-type", _file_type_problem(exc.mode)) from None
    except OSError as exc:
        raise _open_error(path, exc) from None
    try:
        check_file_stat(st, path=path, allowed_uids=allowed, max_bytes=max_bytes, pinned=bool(pins))
        data = _read_capped(fd, max_bytes, path=path)
    finally:
        os.close(fd)
    digest = hashlib.sha256(data).hexdigest()
    check_pins(digest, pins, path=path)
    return ProbeSource(
        path=path,
        text=decode_probe(data, path=path),
        sha256=digest,
        size_bytes=len(data),
        owner_uid=st.st_uid,
        mode=stat.S_IMODE(st.st_mode),
    )


def _file_type_problem(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a directory, not a regular file"
    return "is not a regular file"


def _read_capped(fd: int, max_bytes: int, *, path: str) -> bytes:
    # The file may grow after fstat; read one byte past the cap to notice that.
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = os.read(fd, min(65536, max_bytes + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            raise ProbeRejected(path, "size", f"grew past the {max_bytes}-byte cap while read")
    return b"".join(chunks)


def _open_error(path: str, exc: OSError) -> ProbeRejected:
    if exc.errno == errno.ELOOP:
        return ProbeRejected(path, "symlink", "is a symlink; probes are opened without following")
    if exc.errno == errno.ENOENT:
        return ProbeRejected(path, "missing", "no such file")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ProbeRejected(path, "permission", "permission denied")
    return ProbeRejected(path, "open", os.strerror(exc.errno or 0) or type(exc).__name__)
