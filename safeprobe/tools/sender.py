"""The sender's side of ``safeprobe trigger PID``: find the host's policy, send its signal,
wait for that attempt's audit record, and fetch the probe's output from the result file
or the record.

The request carries only a number, the probe name's ``request_code``; the host looks the
number up in its own policy, so a sender can choose among the probes the policy names
and never supply a path. The default probe is asked for with tgkill(2) to the host's
listener thread (to the process when none is announced), whose sender the kernel
vouches for; a named one is queued (rt_tgsigqueueinfo) to the same thread. Either way no
thread the host started before ``install()`` can take it: a signal sent to a thread waits
for that thread. Where pidfds exist (Linux 5.1+) the process is pinned by one and checked
against the announcement's start time before anything is sent, and a signal to the
process goes through it (pidfd_send_signal), so a recycled pid receives nothing; ``send``
says which way it went. The signal is the one the host announced, never the policy file's
current one, and is sent only if the process blocks or catches it (/proc/PID/status): a
signal's default action must never end a process that does not run safeprobe.

The attempt is the first record past the audit file's end when the signal was sent that
names this host, this request code, and this process as the sender (or no sender, for a
default request that reached a plain handler). Its output comes from the result file whose
name carries the record's mac, owned by the host's user, a regular file, size-capped.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import signal
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from safeprobe.audit.reader import NotARegularFile, close_quietly, open_regular, parse_record
from safeprobe.errors import NoRecord, NotAnnounced, PolicyMismatch, UnknownProbe
from safeprobe.host.reception import SI_QUEUE
from safeprobe.host.registry import Announcement, lookup, process_start_time
from safeprobe.host.results import read_result, result_path
from safeprobe.policy.builtins import PolicyRef, resolve_policy
from safeprobe.policy.loading import load_policy
from safeprobe.policy.models import Policy
from safeprobe.policy.named_probes import DEFAULT_PROBE, request_code
from safeprobe.tools.busy_host import DEFAULT_BUSY_AFTER_S, BusyWatch, busy_watch

RESULT_FILE_WAIT_S: Final = 5.0
RESULT_SLACK_BYTES: Final = 64 * 1024  # the reason and detail lines after the output
_POLL_S: Final = 0.01
_RT_TGSIGQUEUEINFO: Final = {"x86_64": 297, "aarch64": 240}  # syscall numbers
_TGKILL: Final = {"x86_64": 234, "aarch64": 131}
_PIDFD_SEND_SIGNAL: Final = 424  # one number on every architecture (Linux 5.1+)


@dataclass(frozen=True, slots=True)
class TriggerResult:
    """What came of one triggered attempt."""

    pid: int
    policy_path: str
    record: Mapping[str, object]
    output: str | None  # None: not here (see output_from)
    output_from: str  # "file", "audit", "stderr" (the policy sends it there) or "missing"
    sent_with: str = ""  # how the signal went: "pidfd_send_signal", "tgkill (pid pinned…)" …
    stack_dump: str | None = None  # the stacks shown while the host was busy in C (busy_host.py)

    @property
    def ok(self) -> bool:
        return self.record.get("outcome") == "ok"


def trigger(
    pid: int,
    *,
    probe: str = DEFAULT_PROBE,
    wait_s: float = 10.0,
    policy_path: str | None = None,
    busy_after_s: float = DEFAULT_BUSY_AFTER_S,
    on_dump: Callable[[str], None] | None = None,
) -> TriggerResult:
    """Run one attempt in process pid and return its outcome. When the host has not taken
    the request within ``busy_after_s`` (0: never), its stacks are dumped and handed to
    ``on_dump`` (busy_host.py) while the wait goes on.

    Raises NotAnnounced (no such process, or not a safeprobe host), PolicyError,
    UnknownProbe, PermissionError (may not signal it or read its files), NoRecord
    (nothing within wait_s), PolicyMismatch (policy_path is not the policy the host
    announced: nothing is sent)."""
    given = resolve_policy(policy_path) if policy_path is not None else None
    announced = _announced(pid, given.path if given is not None else None)
    if announced is not None:
        ref = PolicyRef(announced.policy_path, announced.data_dir)
    elif given is not None:
        ref = given  # a built-in name: data in this directory
    else:
        raise NotAnnounced(f"no policy for process {pid}")
    path = ref.path
    _check_regular(path)
    policy = load_policy(path, data_dir=ref.data_dir)
    if policy.probe_for(probe) is None:
        known = ", ".join([DEFAULT_PROBE, *sorted(policy.probes)])
        raise UnknownProbe(f"{path}: probes: no probe named {probe!r} (known: {known})")
    signame = announced.signal if announced is not None else policy.trigger.signal
    signum = int(getattr(signal, signame))
    _check_listening(pid, signum, signame)
    audit = Path(policy.audit.path)
    start = _end_of(audit)  # PermissionError here, before any signal is sent
    code = request_code(probe)
    watch = busy_watch(pid, announced, busy_after_s=busy_after_s, on_dump=on_dump, send=send)
    sent_with = send(
        pid,
        signum,
        code,
        thread=announced.listener_tid if announced is not None else None,
        start_time=announced.start_time if announced is not None else None,
    )
    if watch is not None:
        watch.sent(time.monotonic())
    record = _wait_for_record(audit, start, pid, code, wait_s, watch)
    output, source = _output_of(policy, pid, record)
    dump = watch.dump if watch is not None else None
    return TriggerResult(pid, path, record, output, source, sent_with, dump)


def _announced(pid: int, policy_path: str | None) -> Announcement | None:
    """The host's announcement; with policy_path, only if it names that very file (else
    PolicyMismatch), and None when the host announced nothing (policy_path is then all we
    have, as for a host whose runtime dir was not writable)."""
    if policy_path is None:
        return lookup(pid)
    try:
        announced = lookup(pid)
    except (NotAnnounced, PermissionError):
        return None  # as before --policy was checked: the file given is all there is
    if not _same_file(announced.policy_path, policy_path):
        raise PolicyMismatch(pid, announced.policy_path, policy_path)
    return announced


def _same_file(announced: str, given: str) -> bool:
    try:
        return Path(announced).samefile(given)
    except OSError:
        return Path(announced).resolve() == Path(given).resolve()


def send(
    pid: int, signum: int, code: int, *, thread: int | None = None, start_time: int | None = None
) -> str:
    """Send the request and say how it went (``sent_with``, for --json and debugging).

    Where the platform has pidfds (Linux 5.1+), the process is pinned first with
    pidfd_open(2) and, when ``start_time`` is given (the announcement's), checked to be
    that very process, so a pid recycled since the announcement is refused (NotAnnounced)
    and receives nothing. To the process (no thread): pidfd_send_signal(2), which reaches
    the pinned process or fails, never a successor with its pid; with a code, the value
    rides in its siginfo as sigqueue(3) would put it. To a thread: tgkill(2) for the
    default probe (code 0), rt_tgsigqueueinfo(2) with the code, after the pidfd check: a
    process-directed signal could be taken by a thread the host started before
    ``install()``, and the kernel checks that the thread belongs to pid. Without pidfds:
    kill(2) and sigqueue(3), as before. OSError as raised."""
    pidfd = _pin(pid)
    try:
        if start_time is not None and process_start_time(pid) != start_time:
            raise NotAnnounced(
                f"process {pid} is not the host that announced itself (its pid was reused)"
            )
        how = _send(pid, signum, code, thread=thread, pidfd=pidfd)
    finally:
        if pidfd is not None:
            os.close(pidfd)
    return how if pidfd is None or how.startswith("pidfd") else f"{how} (pid pinned by pidfd)"


def _pin(pid: int) -> int | None:
    """A pidfd for pid, or None where the platform has none (ProcessLookupError if gone)."""
    if not hasattr(os, "pidfd_open"):
        return None
    try:
        return os.pidfd_open(pid)
    except OSError as exc:
        if exc.errno in (errno.ENOSYS, errno.EPERM):  # an old kernel, or a seccomp filter
            return None
        raise


def _send(pid: int, signum: int, code: int, *, thread: int | None, pidfd: int | None) -> str:
    libc = ctypes.CDLL(None, use_errno=True)
    if thread is None and pidfd is not None:
        if code == 0:
            signal.pidfd_send_signal(pidfd, signum)
            return "pidfd_send_signal"
        # Python's pidfd_send_signal takes no siginfo, so the syscall is made directly
        # (424 on every architecture since Linux 5.1).
        info = _SigInfo(si_signo=signum, si_code=SI_QUEUE, si_pid=os.getpid(), si_uid=os.getuid())
        info.si_value = code
        result = libc.syscall(
            ctypes.c_long(_PIDFD_SEND_SIGNAL),
            ctypes.c_int(pidfd),
            ctypes.c_int(signum),
            ctypes.byref(info),
            ctypes.c_uint(0),
        )
        _check(result)
        return "pidfd_send_signal (queued)"
    if code == 0:
        tgkill = _TGKILL.get(platform.machine())
        if thread is None or tgkill is None:
            os.kill(pid, signum)
            return "kill"
        # The kernel checks that the thread belongs to pid, so a stale id fails (ESRCH)
        # instead of reaching another process.
        result = libc.syscall(
            ctypes.c_long(tgkill), ctypes.c_int(pid), ctypes.c_int(thread), ctypes.c_int(signum)
        )
        _check(result)
        return "tgkill"
    number = _RT_TGSIGQUEUEINFO.get(platform.machine())
    if thread is not None and number is not None:
        info = _SigInfo(si_signo=signum, si_code=SI_QUEUE, si_pid=os.getpid(), si_uid=os.getuid())
        info.si_value = code
        result = libc.syscall(
            ctypes.c_long(number),
            ctypes.c_int(pid),
            ctypes.c_int(thread),
            ctypes.c_int(signum),
            ctypes.byref(info),
        )
        how = "rt_tgsigqueueinfo"
    else:
        queue = libc.sigqueue
        queue.argtypes = [ctypes.c_int, ctypes.c_int, _Sigval]
        queue.restype = ctypes.c_int
        result = queue(pid, signum, _Sigval(sival_int=code))
        how = "sigqueue"
    _check(result)
    return how


def _check(result: int) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


class _Sigval(ctypes.Union):
    _fields_ = (("sival_int", ctypes.c_int), ("sival_ptr", ctypes.c_void_p))


class _SigInfo(ctypes.Structure):
    """struct siginfo of a queued signal on 64-bit Linux: 128 bytes, _rt fields from 16."""

    _fields_ = (
        ("si_signo", ctypes.c_int),
        ("si_errno", ctypes.c_int),
        ("si_code", ctypes.c_int),
        ("_pad", ctypes.c_int),
        ("si_pid", ctypes.c_int),
        ("si_uid", ctypes.c_uint),
        ("si_value", ctypes.c_long),
        ("_rest", ctypes.c_byte * 96),
    )


def _check_listening(pid: int, signum: int, name: str) -> None:
    """NotAnnounced unless the process blocks or catches the signal: its default action
    would end the process."""
    masks = 0
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        raise NotAnnounced(f"no process {pid}") from None
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key in ("SigBlk", "SigCgt"):
            masks |= int(value.strip(), 16)
    if not masks & (1 << (signum - 1)):
        raise NotAnnounced(
            f"process {pid} neither blocks nor handles {name}: it does not run safeprobe "
            "with this policy, and the signal would end it"
        )


def _check_regular(path: str) -> None:
    """A file to read must be a regular file: a FIFO planted by its owner would hang us."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PermissionError(errno.EACCES, "not a regular file", path)
    finally:
        os.close(fd)


def _end_of(audit: Path) -> int:
    try:
        fd = open_regular(str(audit))  # NotARegularFile is a PermissionError
    except FileNotFoundError:
        return 0
    try:
        return os.fstat(fd).st_size
    finally:
        close_quietly(fd)


def _wait_for_record(
    audit: Path, start: int, pid: int, code: int, wait_s: float, watch: BusyWatch | None = None
) -> Mapping[str, object]:
    deadline = time.monotonic() + wait_s
    offset, pending = start, b""
    while True:
        if watch is not None:
            watch.poll(time.monotonic())
        chunk = _read_from(audit, offset)
        offset += len(chunk)
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()  # an unfinished line waits for its end
        for line in lines:
            record = parse_record(line)
            if record is not None and _is_ours(record, pid, code):
                return record
        if time.monotonic() > deadline:
            raise NoRecord(
                f"{audit}: no record of the attempt in process {pid} within {wait_s:g}s "
                "(is it busy, or was the signal coalesced? see 'safeprobe audit show')"
            )
        time.sleep(_POLL_S)


def _read_from(audit: Path, offset: int) -> bytes:
    try:
        fd = open_regular(str(audit))
    except (FileNotFoundError, NotARegularFile):
        return b""  # rotated away, or replaced by something we do not read
    try:
        if os.fstat(fd).st_size < offset:
            return b""  # rotated or truncated: the record goes to a new file we do not follow
        return os.pread(fd, 1 << 20, offset)
    finally:
        close_quietly(fd)


def _is_ours(record: Mapping[str, object], pid: int, code: int) -> bool:
    host, sent = record.get("host"), record.get("trigger")
    if not isinstance(host, Mapping) or host.get("pid") != pid or not isinstance(sent, Mapping):
        return False
    if sent.get("request") != code:
        return False
    # A signal that reached a plain handler carries no sender; only a default request
    # (a plain kill) can arrive that way.
    sender = sent.get("sender_pid")
    return sender == os.getpid() or (sender is None and code == 0)


def _output_of(policy: Policy, pid: int, record: Mapping[str, object]) -> tuple[str | None, str]:
    seq, mac = record.get("seq"), record.get("mac")
    if policy.output == "file" and isinstance(seq, int) and isinstance(mac, str):
        path = result_path(policy.output_dir, pid, seq, mac)
        owner = Path(f"/proc/{pid}").stat().st_uid
        cap = policy.limits.max_output_bytes + RESULT_SLACK_BYTES
        deadline = time.monotonic() + RESULT_FILE_WAIT_S
        while True:  # the host writes the file just after the record
            try:
                return read_result(path, owner=owner, max_bytes=cap), "file"
            except FileNotFoundError:
                if time.monotonic() > deadline:
                    return None, "missing"
            except PermissionError:
                # The host links the finished file into place, then drops its temporary
                # name: two links for a moment. Anything else stays refused.
                if time.monotonic() > deadline:
                    raise
            time.sleep(_POLL_S)
    output = record.get("output")
    if isinstance(output, Mapping) and isinstance(output.get("text"), str):
        return str(output["text"]), "audit"
    return None, "stderr"


# ---- trigger --children: a prefork master's workers --------------------------------------


def announced_family(pid: int, *, proc: Path = Path("/proc")) -> list[int]:
    """The processes ``trigger --children PID`` addresses: pid itself when it announces
    safeprobe, then each child of pid that announces it, in pid order. A child that does
    not announce (or whose announcement is not trusted) is left out: it is not signalled.
    NotAnnounced when pid is no process."""
    if not (proc / str(pid)).is_dir():
        raise NotAnnounced(f"no process {pid}")
    return [p for p in [pid, *sorted(children_of(pid, proc=proc))] if _announces(p)]


def children_of(pid: int, *, proc: Path = Path("/proc")) -> set[int]:
    """pid's children: from /proc/PID/task/*/children where the kernel has it
    (CONFIG_PROC_CHILDREN), else by the parent pid in every /proc/*/stat."""
    tasks = proc / str(pid) / "task"
    found: set[int] = set()
    try:
        listed = [task / "children" for task in tasks.iterdir()]
        if listed and all(path.exists() for path in listed):
            for path in listed:
                with contextlib.suppress(OSError):  # a thread that ended meanwhile
                    found.update(int(word) for word in path.read_text().split())
            return found
    except OSError:
        pass
    for entry in proc.iterdir():
        if entry.name.isdigit() and _parent_of(entry) == pid:
            found.add(int(entry.name))
    return found


def _parent_of(entry: Path) -> int | None:
    try:
        data = (entry / "stat").read_bytes()
    except OSError:
        return None  # gone meanwhile
    # The command name (field 2) is in parentheses and may hold spaces or ')'.
    return int(data[data.rindex(b")") + 2 :].split()[1])


def _announces(pid: int) -> bool:
    try:
        lookup(pid)
    except (NotAnnounced, PermissionError):
        return False
    return True
