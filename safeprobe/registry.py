"""The announcement an installed host leaves for ``safeprobe trigger PID``: which policy it
runs, so the command can send the right signal and find the right audit file.

One small JSON file per host process, ``<runtime dir>/<pid>.json``, written at install and
removed at uninstall. It is a signpost, not an authority: the host never reads it, and the
command believes it only when the file's owner is the process's user (or root), nobody
else can write it, and the process start time in it matches the process that has that pid
now, so a pid reused by another program is not mistaken for the host.

Runtime dir: ``$SAFEPROBE_RUNTIME_DIR`` if set, else ``/run/safeprobe`` for root and
``/tmp/safeprobe-<uid>`` for other users.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from safeprobe.errors import SafeprobeError

ENV_DIR: Final = "SAFEPROBE_RUNTIME_DIR"
_MAX_BYTES: Final = 64 * 1024
_MAX_SWEEP: Final = 1000  # announcements looked at per install


class NotAnnounced(SafeprobeError):
    """The process does not exist, or no trustworthy announcement says it runs safeprobe."""


@dataclass(frozen=True, slots=True)
class Announcement:
    pid: int
    start_time: int
    policy_path: str


def runtime_dir(uid: int) -> Path:
    """Where announcements of processes of that uid live."""
    configured = os.environ.get(ENV_DIR)
    if configured:
        return Path(configured)
    return Path("/run/safeprobe") if uid == 0 else Path(f"/tmp/safeprobe-{uid}")  # noqa: S108


def process_start_time(pid: int) -> int:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22);
    OSError when there is no such process."""
    data = Path(f"/proc/{pid}/stat").read_bytes()
    # The command name (field 2) is in parentheses and may hold spaces or ')'.
    fields = data[data.rindex(b")") + 2 :].split()
    return int(fields[19])


def announce(policy_path: str) -> Path | None:
    """Write this process's announcement; None (and nothing written) when the runtime dir
    cannot be made safely, which only costs `safeprobe trigger` its discovery."""
    pid = os.getpid()
    folder = runtime_dir(os.geteuid())
    try:
        folder.mkdir(mode=0o755, parents=True, exist_ok=True)
        st = folder.lstat()
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
            return None
        body = {"pid": pid, "start_time": process_start_time(pid), "policy": policy_path}
        target = folder / f"{pid}.json"
        partial = folder / f".{pid}.json.partial"
        partial.unlink(missing_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(body, stream)
        partial.replace(target)
        _sweep(folder)
    except OSError:
        return None
    return target


def _sweep(folder: Path) -> None:
    """Remove announcements of processes that are gone (killed hosts cannot withdraw)."""
    for entry in list(folder.glob("*.json"))[:_MAX_SWEEP]:
        if not entry.stem.isdigit():
            continue
        try:
            Path(f"/proc/{entry.stem}").stat()
        except FileNotFoundError:
            with contextlib.suppress(OSError):
                entry.unlink()
        except OSError:
            continue


def withdraw(path: Path | None) -> None:
    """Remove this process's announcement (never another process's)."""
    if path is not None and path.name == f"{os.getpid()}.json":
        with contextlib.suppress(OSError):
            path.unlink()


def lookup(pid: int) -> Announcement:
    """The announcement for pid, checked; NotAnnounced (with the reason) otherwise.
    PermissionError when the process exists but cannot be inspected."""
    try:
        owner = Path(f"/proc/{pid}").stat().st_uid
        started = process_start_time(pid)
    except FileNotFoundError:
        raise NotAnnounced(f"no process {pid}") from None
    path = runtime_dir(owner) / f"{pid}.json"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise NotAnnounced(
            f"process {pid} does not run safeprobe (no {path}); if it does, pass --policy"
        ) from None
    with os.fdopen(fd, "rb") as stream:
        st = os.fstat(stream.fileno())
        if st.st_uid not in (owner, 0) or st.st_mode & 0o022 or not stat.S_ISREG(st.st_mode):
            raise NotAnnounced(f"{path}: not trusted (owner or mode); pass --policy")
        data = stream.read(_MAX_BYTES)
    try:
        body = json.loads(data)
        found = Announcement(int(body["pid"]), int(body["start_time"]), str(body["policy"]))
    except (ValueError, KeyError, TypeError):
        raise NotAnnounced(f"{path}: not a safeprobe announcement") from None
    if found.pid != pid or found.start_time != started:
        raise NotAnnounced(f"process {pid} does not run safeprobe ({path} is stale)")
    return found
