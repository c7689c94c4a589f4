"""Isolation: a probe's attempt in a forked child of the host.

Promise: in ``isolation: fork`` the probe runs in a forked child that is killed with
SIGKILL at the deadline and runs under RLIMIT_AS and RLIMIT_CPU set in the child only, so
even C work is bounded and nothing the child does can change the host's memory; the
parent reads what the child sent (a trailer marks a complete result) and reaps it later.
Threat model: SECURITY.md, "Isolation".
"""

from __future__ import annotations

import _thread
import contextlib
import faulthandler
import gc
import math
import os
import resource
import select
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, NoReturn

# The parent kills the child this long after the probe's own deadline. The child's budget
# stops pure Python on time by itself; the kill is for C work that no tick can interrupt.
FORK_KILL_GRACE_S: Final = 0.05
# CPU seconds the child may burn beyond its timeout before the kernel stops it (SIGXCPU).
_CPU_GRACE_S: Final = 1
_EXIT_CRASHED: Final = 70
# Linux: the kernel's OOM killer picks the process with the highest score; 1000 makes the
# child the first choice, so a probe that exhausts the machine's memory dies before the host.
_OOM_SCORE_ADJ_PATH: Final = "/proc/self/oom_score_adj"
_OOM_SCORE_ADJ_CHILD: Final = b"1000"

# Python 3.12+ warns in the PARENT, right after fork(), when other threads exist
# ("This process (pid=N) is multi-threaded, use of fork() may lead to deadlocks in the
# child."; gh-100228), with stacklevel at the caller of os.fork, which is run_forked. The
# hazard it names is a child that takes a lock another thread held at the fork. This child
# is safe from it by construction: only the forking thread exists in it; it runs only our
# compiler, sandbox and the probe over views, and takes no lock another thread may hold
# (no logging, no imports, no I/O but its pipe and two /proc files through raw fds, no
# sys.stdout or sys.stderr); its
# garbage collector is off; it leaves with os._exit. A child that still blocked would be
# killed at the deadline. So the warning is silenced for exactly this call: the exact
# message, the category, and the module of this file; never a blanket filter.
_FORK_WARNING: Final = (
    r"This process \(pid=\d+\) is multi-threaded, use of fork\(\) may lead to deadlocks "
    r"in the child\.\Z"
)
_FORK_WARNING_MODULE: Final = r"safeprobe\.host\.isolation\Z"


@dataclass(frozen=True, slots=True)
class ChildReport:
    """How a forked child ended and what it sent back."""

    pid: int
    payload: bytes  # everything the child wrote before it exited or was killed
    exit_code: int | None  # None when a signal ended it
    signal: int | None
    killed_at_deadline: bool
    payload_cut: bool  # it tried to send more than the cap allows
    # The child sent its whole result and closed the pipe, but had not exited yet: it is
    # reaped at the next attempt (see _DONE); exit_code is then the 0 it was about to give.
    reaped_later: bool = False

    def status(self) -> str:
        if self.signal is not None:
            return f"signal {signal.Signals(self.signal).name}"
        if self.reaped_later:
            return "exit 0 (reaped later)"
        return f"exit {self.exit_code}"


# The child ends its result with this trailer and the length of what it sent before it,
# then closes its end of the pipe and exits. The parent takes a result with a valid
# trailer as complete at once: it need not wait for the exit, and the kernel closes a
# dying process's files only after freeing its memory, which for a child of a 1 GB host
# took as long as the fork itself (BENCHMARKS.md, "Fork isolation: what the host pays").
# Such children are reaped without waiting at the next attempt and at uninstall().
_DONE: Final = b"\x00safeprobe-done\x00"
_DONE_LENGTH_BYTES: Final = 8
_unreaped: set[int] = set()


def reap_finished_children() -> None:
    """Reap, without waiting, children whose results arrived before they exited."""
    for pid in list(_unreaped):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # reaped by the host (waitpid(-1)), or never ours
            done = pid
        if done:
            _unreaped.discard(pid)


def _split_done(payload: bytes) -> bytes | None:
    """The result before a valid trailer, or None when the child did not finish sending."""
    end = len(payload) - _DONE_LENGTH_BYTES
    body_end = end - len(_DONE)
    if body_end < 0 or payload[body_end:end] != _DONE:
        return None
    if int.from_bytes(payload[end:], "big") != body_end:
        return None
    return payload[:body_end]


def run_forked(
    work: Callable[[Callable[[bytes], None]], bytes],
    *,
    deadline_s: float,
    max_payload_bytes: int,
    memory_bytes: int,
    clock: Callable[[], float] = time.monotonic,
    after_fork: Callable[[], None] = lambda: None,
) -> ChildReport:
    """Run ``work`` in a forked child and return what it sent and returned, in that order,
    within a hard deadline. ``work`` gets a ``send`` that writes to the pipe at once.
    ``after_fork`` runs in the host once the child exists, while it runs (to let go of
    what only the child needs).

    The child cannot change the host's memory (it has its own copy), runs under
    RLIMIT_AS (the host's current mappings plus ``memory_bytes``) and RLIMIT_CPU, set in
    the child only, and is killed with SIGKILL ``FORK_KILL_GRACE_S`` after ``deadline_s``.
    It writes its result to a pipe and leaves with ``os._exit``, so no atexit handler,
    buffered stream or lock of the host runs in it. Only the calling thread exists in the
    child; ``work`` must not touch locks other host threads may have held at the fork.

    Called in the main thread (``run_probe``), the fork and the wait run in a thread of
    their own: a signal handler's exception (KeyboardInterrupt, a SIGTERM handler's
    SystemExit) is raised only in the main thread, at any bytecode, and one raised between
    ``os.fork()`` returning and its pid being stored would leave the child unknown, running
    and unreaped. The main thread only waits, and on such an exception kills the child
    whose pid the other thread has kept.
    """
    arguments = (work, deadline_s, max_payload_bytes, memory_bytes, clock, after_fork)
    if threading.current_thread() is not threading.main_thread():
        return _fork_and_collect(*arguments, on_pid=lambda _pid: None)
    pids: list[int] = []
    box: list[ChildReport | BaseException] = []
    # A bare thread and a lock it releases when done, not a threading.Thread: a Thread's
    # start() and join() run threading.py's bookkeeping (its registry, a started Event, a
    # state lock), Python code whose every first write to a page after the fork faults
    # (~0.3 ms of a ~100 MB host's attempt: BENCHMARKS.md, "Profiles"). The lock's acquire
    # in the main thread is interrupted by a signal handler's exception as join() was.
    finished = _thread.allocate_lock()
    finished.acquire()

    def fork_and_collect() -> None:
        try:
            box.append(_fork_and_collect(*arguments, on_pid=pids.append))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting main thread
            box.append(exc)
        finally:
            finished.release()

    _thread.start_new_thread(fork_and_collect, ())
    try:
        finished.acquire()
    except BaseException:
        for pid in pids:  # the collecting thread then sees EOF, and reaps it
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        finished.acquire()
        raise
    outcome = box[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _fork_and_collect(
    work: Callable[[Callable[[bytes], None]], bytes],
    deadline_s: float,
    max_payload_bytes: int,
    memory_bytes: int,
    clock: Callable[[], float],
    after_fork: Callable[[], None],
    *,
    on_pid: Callable[[int], None],
) -> ChildReport:
    reap_finished_children()
    read_end, write_end = os.pipe()
    _ignore_fork_warning()
    # The collector is off across the fork, so the child starts with it off: CPython's own
    # after-fork work (threading, the host's at-fork hooks) runs before _child_main and
    # allocates, and a collection there could run a host finalizer in the child. The
    # parent turns it back on at once; host threads wait for the GIL across the fork anyway.
    collecting = gc.isenabled()
    gc.disable()
    try:
        pid = os.fork()
    except BaseException:
        if collecting:
            gc.enable()
        raise
    if pid == 0:  # pragma: no cover - the child; its result is checked by the parent
        os.close(read_end)
        _child_main(work, write_end, deadline_s=deadline_s, memory_bytes=memory_bytes)
    if collecting:
        gc.enable()
    on_pid(pid)
    os.close(write_end)
    try:
        after_fork()
        payload, killed, cut = _collect(
            pid, read_end, deadline_s + FORK_KILL_GRACE_S, max_payload_bytes, clock
        )
    except BaseException:
        # KeyboardInterrupt (run_probe in the main thread) or anything else: the child must
        # not outlive the attempt, nor stay a zombie.
        with contextlib.suppress(OSError):  # gone already: the original exception matters
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        raise
    finally:
        os.close(read_end)
    result = None if killed or cut else _split_done(payload)
    if result is not None:
        try:
            reaped, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # the host reaped it (waitpid(-1)): it had finished
            reaped, status = pid, 0
        if not reaped:
            _unreaped.add(pid)
            return ChildReport(pid, result, 0, None, False, False, reaped_later=True)
        payload = result
    else:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:  # the host reaped it: how it ended is not ours to know
            return ChildReport(pid, payload, None, None, killed, cut)
    return ChildReport(
        pid=pid,
        payload=payload,
        exit_code=os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else None,
        signal=os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        killed_at_deadline=killed,
        payload_cut=cut,
    )


def _child_main(
    work: Callable[[Callable[[bytes], None]], bytes],
    write_end: int,
    *,
    deadline_s: float,
    memory_bytes: int,
) -> NoReturn:  # pragma: no cover - runs in the child
    # First thing: no cycle collection, so no host object's __del__ or weakref callback
    # runs here (a collection would find host garbage the fork copied). Finalizers that
    # reference counting triggers cannot run either: every host object the child can
    # reach is still referenced by the host's own structures, copied with it, so the
    # child never drops the last reference; the probe cannot define a class or __del__,
    # and at os._exit nothing is finalized. (A value that host code named under the
    # policy's ``evaluate`` creates may be freed here: that host code was vouched for.)
    gc.disable()
    # The host's streams are not the child's to write: their buffers' locks may have been
    # held by another thread at the fork, and the operator reads output from the pipe. With
    # no sys.stderr, a warning the compiler raises (SyntaxWarning for ``x is 1``) is
    # dropped by the warnings module instead of printed. (None is how Python itself says
    # "no stream", as under pythonw.)
    sys.stdout = sys.stderr = None
    # Nor the host's descriptors: a crash in C would have faulthandler (pytest and many
    # services enable it) print a dump that reads as the host's own crash; the parent
    # reports the child's signal instead.
    faulthandler.disable()
    _silence_std_fds()
    code = _EXIT_CRASHED

    sent_before = [0]  # bytes work() sent itself, before its result

    def write_all(data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(write_end, view) :]

    def send(data: bytes) -> None:
        write_all(data)
        sent_before[0] += len(data)

    try:
        _prefer_for_oom_kill()
        _limit_child(deadline_s, memory_bytes)
        data = work(send)
        write_all(data)
        sent = sent_before[0] + len(data)
        write_all(_DONE + sent.to_bytes(_DONE_LENGTH_BYTES, "big"))
        # EOF now, not when the kernel has torn down this copy of the host (see _DONE).
        os.close(write_end)
        code = 0
    except BaseException:  # noqa: BLE001 - the child reports by exit code, never raises
        code = _EXIT_CRASHED
    finally:
        os._exit(code)


def _silence_std_fds() -> None:  # pragma: no cover - runs in the child
    """Point the child's fds 0-2 at /dev/null (best effort: without it they stay)."""
    try:
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            os.dup2(null, fd)
    os.close(null)


def _ignore_fork_warning() -> None:
    """Install, once, the narrow filter for CPython's multi-threaded fork warning."""
    for action, message, category, module, _line in warnings.filters:
        if (
            action == "ignore"
            and category is DeprecationWarning
            and message is not None
            and message.pattern == _FORK_WARNING
            and module is not None
            and module.pattern == _FORK_WARNING_MODULE
        ):
            return
    warnings.filterwarnings(
        "ignore", message=_FORK_WARNING, category=DeprecationWarning, module=_FORK_WARNING_MODULE
    )


def _prefer_for_oom_kill() -> None:  # pragma: no cover - runs in the child
    """Ask the kernel to kill this child before the host when memory runs out. Best effort:
    not Linux, or a sandbox without /proc, leaves the score as it is."""
    try:
        fd = os.open(_OOM_SCORE_ADJ_PATH, os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.write(fd, _OOM_SCORE_ADJ_CHILD)
    except OSError:
        pass
    finally:
        os.close(fd)


def _limit_child(deadline_s: float, memory_bytes: int) -> None:  # pragma: no cover - child
    cpu_s = math.ceil(deadline_s) + _CPU_GRACE_S
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    mapped = _mapped_bytes()
    if mapped is not None:
        limit = mapped + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _mapped_bytes() -> int | None:
    """The process's current virtual size (VmSize), which RLIMIT_AS is measured against."""
    # A raw fd, not open(): the child does no buffered I/O (see _FORK_WARNING).
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        pages = int(os.read(fd, 4096).split()[0])
    except (OSError, ValueError, IndexError):
        return None
    finally:
        os.close(fd)
    return pages * os.sysconf("SC_PAGE_SIZE")


def _collect(
    pid: int,
    read_end: int,
    kill_after_s: float,
    max_bytes: int,
    clock: Callable[[], float],
) -> tuple[bytes, bool, bool]:
    """Read the child's pipe until EOF, the kill deadline, or the size cap."""
    deadline = clock() + kill_after_s
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - clock()
        ready, _, _ = select.select([read_end], [], [], max(left, 0.0))
        if not ready:
            if left > 0:
                continue
            # Past the deadline with nothing left to read: kill. Whatever the child had
            # written is read first (above), so a parent that itself ran late, held off
            # by a host thread in a long C call, does not call a finished child killed.
            os.kill(pid, signal.SIGKILL)
            return b"".join(chunks), True, False
        chunk = os.read(read_end, 65536)
        if not chunk:
            return b"".join(chunks), False, False
        size += len(chunk)
        if size > max_bytes:
            os.kill(pid, signal.SIGKILL)
            return b"".join(chunks), False, True
        chunks.append(chunk)
