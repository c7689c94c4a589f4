"""The sender's side of ``safeprobe trigger PID``: find the host's policy, send its signal
(asking for a named probe with sigqueue's value), wait for that attempt's audit record, and
fetch the probe's output from the result file or the record.

The request carries only a number, the probe name's ``request_code``; the host looks the
number up in its own policy, so a sender can choose among the probes the policy names
and never supply a path. The attempt is matched by host pid, a sequence number past the
audit file's end when the signal was sent, and this process's pid as the sender.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from safeprobe.errors import SafeprobeError
from safeprobe.policy import DEFAULT_PROBE, Policy, load_policy, request_code
from safeprobe.registry import lookup
from safeprobe.results import read_result, result_path

RESULT_FILE_WAIT_S: Final = 2.0
_POLL_S: Final = 0.01


class UnknownProbe(SafeprobeError):
    """--probe names no probe in the host's policy."""


class NoRecord(SafeprobeError):
    """No audit record of the attempt appeared in time."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What came of one triggered attempt."""

    pid: int
    policy_path: str
    record: Mapping[str, object]
    output: str | None  # None: the output went to the host's stderr only
    output_from: str  # "file", "audit" or "stderr"

    @property
    def ok(self) -> bool:
        return self.record.get("outcome") == "ok"


def trigger(
    pid: int, *, probe: str = DEFAULT_PROBE, wait_s: float = 10.0, policy_path: str | None = None
) -> Outcome:
    """Run one attempt in process pid and return its outcome.

    Raises NotAnnounced (not a safeprobe host), PolicyError, UnknownProbe, PermissionError
    (may not signal it or read its audit file), NoRecord (nothing within wait_s)."""
    if policy_path is None:
        policy_path = lookup(pid).policy_path
    if not os.access(policy_path, os.R_OK) and Path(policy_path).exists():
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), policy_path)
    policy = load_policy(policy_path)
    if policy.probe_for(probe) is None:
        known = ", ".join([DEFAULT_PROBE, *sorted(policy.probes)])
        raise UnknownProbe(f"{policy_path}: probes: no probe named {probe!r} (known: {known})")
    audit = Path(policy.audit.path)
    start = _end_of(audit)  # PermissionError here, before any signal is sent
    send(pid, int(getattr(signal, policy.trigger.signal)), request_code(probe))
    record = _wait_for_record(audit, start, pid, wait_s)
    output, source = _output_of(policy, pid, record)
    return Outcome(pid, policy_path, record, output, source)


def send(pid: int, signum: int, code: int) -> None:
    """kill(2) for the default probe; sigqueue(3) with code otherwise. OSError as raised."""
    if code == 0:
        os.kill(pid, signum)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    queue = libc.sigqueue
    queue.argtypes = [ctypes.c_int, ctypes.c_int, _Sigval]
    queue.restype = ctypes.c_int
    if queue(pid, signum, _Sigval(sival_int=code)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


class _Sigval(ctypes.Union):
    _fields_ = (("sival_int", ctypes.c_int), ("sival_ptr", ctypes.c_void_p))


def _end_of(audit: Path) -> int:
    try:
        fd = os.open(audit, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return 0
    try:
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def _wait_for_record(audit: Path, start: int, pid: int, wait_s: float) -> Mapping[str, object]:
    deadline = time.monotonic() + wait_s
    offset, pending = start, b""
    while True:
        chunk = _read_from(audit, offset)
        offset += len(chunk)
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()  # an unfinished line waits for its end
        for line in lines:
            record = _parse(line)
            if record is not None and _is_ours(record, pid):
                return record
        if time.monotonic() > deadline:
            raise NoRecord(
                f"{audit}: no record of the attempt in process {pid} within {wait_s:g}s "
                "(is it busy, or was the signal coalesced? see 'safeprobe audit show')"
            )
        time.sleep(_POLL_S)


def _read_from(audit: Path, offset: int) -> bytes:
    try:
        fd = os.open(audit, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return b""
    try:
        if os.fstat(fd).st_size < offset:
            return b""  # rotated or truncated: the record goes to a new file we do not follow
        return os.pread(fd, 1 << 20, offset)
    finally:
        os.close(fd)


def _parse(line: bytes) -> dict[str, object] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _is_ours(record: Mapping[str, object], pid: int) -> bool:
    host, sent = record.get("host"), record.get("trigger")
    if not isinstance(host, Mapping) or host.get("pid") != pid or not isinstance(sent, Mapping):
        return False
    # A handler-mode host does not learn the sender; then the next record is ours.
    return sent.get("sender_pid") in (os.getpid(), None)


def _output_of(policy: Policy, pid: int, record: Mapping[str, object]) -> tuple[str | None, str]:
    seq = record.get("seq")
    if policy.output == "file" and isinstance(seq, int):
        path = result_path(policy.output_dir, pid, seq)
        deadline = time.monotonic() + RESULT_FILE_WAIT_S
        while True:  # the host writes the file just after the record
            try:
                return read_result(path), "file"
            except FileNotFoundError:
                if time.monotonic() > deadline:
                    return None, "stderr"
                time.sleep(_POLL_S)
    output = record.get("output")
    if isinstance(output, Mapping) and isinstance(output.get("text"), str):
        return str(output["text"]), "audit"
    return None, "stderr"
