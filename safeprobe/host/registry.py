"""The announcement an installed host leaves for ``safeprobe trigger PID``: which policy it
runs, so the command can send the right signal and find the right audit file.

One small JSON file per host process, ``<runtime dir>/<pid>.json``, written at install and
removed at uninstall. It is a signpost, not an authority: the host never reads it, and the
command believes it only when the file's owner is the process's user (or root), nobody
else can write it, and the process start time in it matches the process that has that pid
now, so a pid reused by another program is not mistaken for the host.

It also carries what the command must not take from the policy file, which may have
changed since the host read it: the signal the host listens for, the thread id of its
listener (a named probe is queued to that thread, so a thread the host started before
``install()`` cannot swallow the request), and the signal of its stuck-host dump, whose
files (``<pid>.stacks``, ``<pid>.taken``: stack_dump.py) live beside the announcement and
are swept with it when their process is gone.

Runtime dir: ``$SAFEPROBE_RUNTIME_DIR`` if set, else ``/run/safeprobe`` for root,
``/run/user/<uid>/safeprobe`` where the system keeps a runtime dir per user, and
``/tmp/safeprobe-<uid>`` otherwise. The command believes a dir only when it is owned by
the process's user (or root) and nobody else can write it, so a dir squatted in /tmp by
another user is refused.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from safeprobe.errors import NotAnnounced, NotRegularFile
from safeprobe.files import open_regular
from safeprobe.host.stack_dump import STACKS_SUFFIX, TAKEN_SUFFIX

ENV_DIR: Final = "SAFEPROBE_RUNTIME_DIR"
_MAX_BYTES: Final = 64 * 1024
_MAX_SWEEP: Final = 1000  # announcements looked at per install
# What a host leaves in its runtime dir: its announcement, and its stuck-host dump's
# stacks and request counter (stack_dump.py).
_SWEPT: Final = frozenset({"json", STACKS_SUFFIX[1:], TAKEN_SUFFIX[1:]})


@dataclass(frozen=True, slots=True)
class Announcement:
    pid: int
    start_time: int
    policy_path: str
    signal: str  # the signal the host installed, e.g. "SIGQUIT"
    listener_tid: int | None  # the listener thread's native id; None in handler mode
    # A built-in policy's data directory (its audit log is there, not beside the policy).
    data_dir: str | None = None
    # The signal of the stuck-host dump (stack_dump.py); None when the host has none.
    dump_signal: int | None = None


def runtime_dir(uid: int) -> Path:
    """Where announcements of processes of that uid live."""
    configured = os.environ.get(ENV_DIR)
    if configured:
        return Path(configured)
    if uid == 0:
        return Path("/run/safeprobe")
    per_user = Path(f"/run/user/{uid}")
    if per_user.is_dir():
        return per_user / "safeprobe"
    return Path(f"/tmp/safeprobe-{uid}")  # noqa: S108 - checked for owner and mode on use


def process_start_time(pid: int) -> int:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22);
    OSError when there is no such process."""
    data = Path(f"/proc/{pid}/stat").read_bytes()
    # The command name (field 2) is in parentheses and may hold spaces or ')'.
    fields = data[data.rindex(b")") + 2 :].split()
    return int(fields[19])


def own_runtime_dir() -> Path:
    """This process's runtime dir, made if need be; OSError when it cannot be made or is
    not safe (not ours, or others may write it)."""
    folder = runtime_dir(os.geteuid())
    folder.mkdir(mode=0o755, parents=True, exist_ok=True)
    if not _trusted_dir(folder, os.geteuid()):
        raise PermissionError(errno.EPERM, "not a directory of ours that only we can write")
    return folder


def announce(
    policy_path: str,
    *,
    signal: str,
    listener_tid: int | None,
    data_dir: str | None = None,
    dump_signal: int | None = None,
) -> Path:
    """Write this process's announcement; OSError when the runtime dir cannot be made or
    is not safe (which costs `safeprobe trigger` only its discovery)."""
    pid = os.getpid()
    folder = own_runtime_dir()
    body = {
        "pid": pid,
        "start_time": process_start_time(pid),
        "policy": policy_path,
        "signal": signal,
        "listener_tid": listener_tid,
        "data_dir": data_dir,
        "dump_signal": dump_signal,
    }
    target = folder / f"{pid}.json"
    partial = folder / f".{pid}.json.partial"
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        json.dump(body, stream)
    partial.replace(target)
    _sweep(folder)
    return target


def _trusted_dir(folder: Path, owner: int) -> bool:
    st = folder.lstat()
    return stat.S_ISDIR(st.st_mode) and st.st_uid in (owner, 0) and not st.st_mode & 0o022


def _sweep(folder: Path) -> None:
    """Remove announcements (and stuck-host dump files) of processes that are gone
    (killed hosts cannot withdraw)."""
    for entry in list(folder.glob("[0-9]*.*"))[:_MAX_SWEEP]:
        pid, _, suffix = entry.name.partition(".")
        if not pid.isdigit() or suffix not in _SWEPT:
            continue
        try:
            Path(f"/proc/{pid}").stat()
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
    folder = runtime_dir(owner)
    path = folder / f"{pid}.json"
    try:
        if not _trusted_dir(folder, owner):
            raise NotAnnounced(f"{folder}: not trusted (owner or mode); pass --policy")
        fd, st = open_regular(path)
    except FileNotFoundError:
        raise NotAnnounced(
            f"process {pid} does not run safeprobe (no {path}); if it does, pass --policy"
        ) from None
    except NotRegularFile:
        raise NotAnnounced(f"{path}: not trusted (owner or mode); pass --policy") from None
    with os.fdopen(fd, "rb") as stream:
        if st.st_uid not in (owner, 0) or st.st_mode & 0o022:
            raise NotAnnounced(f"{path}: not trusted (owner or mode); pass --policy")
        data = stream.read(_MAX_BYTES)
    try:
        body = json.loads(data)
        tid, data_dir, dump = body["listener_tid"], body.get("data_dir"), body.get("dump_signal")
        found = Announcement(
            int(body["pid"]),
            int(body["start_time"]),
            str(body["policy"]),
            str(body["signal"]),
            None if tid is None else int(tid),
            None if data_dir is None else str(data_dir),
            None if dump is None else int(dump),
        )
    except (ValueError, KeyError, TypeError):
        raise NotAnnounced(f"{path}: not a safeprobe announcement") from None
    if found.pid != pid or found.start_time != started:
        raise NotAnnounced(f"process {pid} does not run safeprobe ({path} is stale)")
    return found
