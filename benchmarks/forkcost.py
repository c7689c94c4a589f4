"""What fork isolation costs the host: the stall, the physical floor, where the time goes.

Run by ``python -m benchmarks.measure forkcost --size-mb N [--huge-pages]``, one fresh
process per host size, so only one big host is alive at a time and its memory goes back
when it exits. The process grows to N MB of touched RSS in 4 KiB pages (or in transparent
huge pages, with ``--huge-pages``), starts a heartbeat thread that stamps the clock every
millisecond, and takes turns at three things:

- a fork attempt (``safeprobe.run_probe`` with ``isolation: fork``: policy, probe file,
  fork, run, audit record with fsync);
- the physical floor: ``os.fork()`` + ``os._exit(0)`` in the child + ``os.waitpid``;
- an idle window as long as the attempt just before it.

For each it keeps the latency and the heartbeat's longest gap. A fork copies the page
tables while the forking thread holds the GIL (``os.fork`` does not release it) and the
kernel holds the address space's lock for writing, so no other thread of the host runs
Python, or takes a page fault, until the copy ends: that is the stall.

Then a few instrumented attempts time each part of an attempt with marks on both sides of
the fork (``time.monotonic`` is system-wide, so the child's marks, written to a shared page,
line up with the parent's). The marks come from wrappers put around safeprobe's functions
in this process only; a function that is renamed just merges its part into the next.
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import mmap
import os
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import safeprobe
import safeprobe.audit.sink
import safeprobe.host.execution
import safeprobe.host.isolation
from benchmarks.driver import write_policy, write_probe
from benchmarks.stats import percentile

Result = dict[str, object]

# A heartbeat of 1 ms shows a stall of a few milliseconds; the thread sleeps between beats,
# as a service's timer or event loop does.
HEARTBEAT_S = 0.001
_MAX_BEATS = 1_000_000
_PAGE = 4096
# madvise(MADV_POPULATE_WRITE), Linux 5.14: faults the pages in, writable, in one call
# (Python 3.11's mmap module does not name it). Touching 4 KiB at a time from Python costs
# ~30 µs a page on a VM, 70 s for 8 GB.
_MADV_POPULATE_WRITE = 23

PROBE = "print(my_object.data)\n"


class MyObject:
    def __init__(self) -> None:
        self.data = {"a": "aaa", "b": "bbb", "c": "ccc"}


# ---- the host: ballast and heartbeat ---------------------------------------------------------


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def grow_to(size_mb: int, *, huge_pages: bool = False) -> mmap.mmap | None:
    """Touched anonymous memory that brings the process to ``size_mb`` of RSS: in 4 KiB
    pages (transparent huge pages turned off for it: a Python heap of small objects is
    mostly small pages), or in 2 MiB pages where the kernel gives them (``huge_pages``,
    as large buffers get with THP enabled): a fork then copies one entry per 2 MiB."""
    missing = int(size_mb - rss_mb()) * 1024 * 1024
    if missing <= 0:
        return None
    block = mmap.mmap(-1, missing, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    with contextlib.suppress(OSError, AttributeError):
        block.madvise(mmap.MADV_HUGEPAGE if huge_pages else mmap.MADV_NOHUGEPAGE)
    try:
        block.madvise(_MADV_POPULATE_WRITE)
    except OSError:
        for offset in range(0, missing, _PAGE):
            block[offset] = 1
    return block


def anon_huge_mb() -> float:
    """How much of the process's memory is in transparent huge pages."""
    try:
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
            if line.startswith("AnonHugePages:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Heartbeat:
    """A thread that stamps the monotonic clock every ``HEARTBEAT_S``."""

    def __init__(self) -> None:
        self.beats: collections.deque[float] = collections.deque(maxlen=_MAX_BEATS)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            time.sleep(HEARTBEAT_S)
            self.beats.append(time.monotonic())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def longest_gap_ms(self, windows: list[tuple[float, float]]) -> list[float]:
        return longest_gaps_ms(list(self.beats), windows)


def longest_gaps_ms(stamps: list[float], windows: list[tuple[float, float]]) -> list[float]:
    """For each window, the longest time between two consecutive stamps that overlaps it:
    a stall that began just before the window, or ends after it, counts whole. Pure."""
    gaps = []
    for start, end in windows:
        index = max(bisect.bisect_left(stamps, start) - 1, 0)
        longest = 0.0
        while index + 1 < len(stamps) and stamps[index] <= end:
            longest = max(longest, stamps[index + 1] - stamps[index])
            index += 1
        gaps.append(longest * 1000)
    return gaps


# ---- what is timed ---------------------------------------------------------------------------


def bare_fork() -> tuple[float, float]:
    """The floor: fork, the child exits at once, the parent reaps it; (start, end)."""
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os._exit(0)
    os.waitpid(pid, 0)
    return started, time.monotonic()


def fork_until_eof() -> tuple[float, float, float]:
    """A fork whose child writes a byte and closes its pipe before ``_exit``: (start, the
    parent sees EOF, the parent has reaped it). EOF then comes before the child's address
    space is torn down; without the close it comes after (the kernel closes files after it
    releases the memory)."""
    read_end, write_end = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write_end, b"x")
        os.close(write_end)
        os._exit(0)
    os.close(write_end)
    while os.read(read_end, 64):
        pass
    eof = time.monotonic()
    os.close(read_end)
    os.waitpid(pid, 0)
    return started, eof, time.monotonic()


def attempt(policy: Path) -> tuple[float, float]:
    started = time.monotonic()
    result = safeprobe.run_probe(policy)
    ended = time.monotonic()
    if result.outcome != "ok":
        raise RuntimeError(f"fork attempt: {result.outcome}: {result.reason}")
    return started, ended


def idle(seconds: float) -> tuple[float, float]:
    started = time.monotonic()
    time.sleep(seconds)
    return started, time.monotonic()


# ---- where the time goes: marks on both sides of the fork ------------------------------------

# In the order they happen on the attempt's critical path. A part is the time from the mark
# before it to its own mark; the parent waits in select() from "forked" to "eof".
PARTS: tuple[tuple[str, str], ...] = (
    ("prepared", "before the fork: policy, probe file, facts, views, sandbox (as in thread mode)"),
    ("piped", "`os.pipe()`"),
    ("fork_called", "`run_forked` up to the fork"),
    ("forked", "`os.fork()` in the parent: page-table copy, CPython's before/after hooks"),
    ("child_hooks", "child: scheduled, CPython's after-fork work (threading, random)"),
    ("child_ours", "child: safeprobe's at-fork hook (an installed host)"),
    ("child_forked", "child: `os.fork()` returns"),
    ("child_limiting", "child: close the pipe's read end"),
    ("child_limited", "child: `RLIMIT_CPU`, read `/proc/self/statm`, `RLIMIT_AS`"),
    ("child_ran", "child: the probe and its JSON header"),
    ("child_exit", "child: write the pipe, call `os._exit`"),
    ("eof", "child closes its pipe after its result: EOF (its teardown is not waited for)"),
    ("reaped", "`os.waitpid(WNOHANG)`: a child not yet gone is reaped at the next attempt"),
    ("returned", "`run_forked` returns the child's report"),
    ("appending", "parse the child's result, build the audit record"),
    ("appended", "audit append (lock, chain, write, fsync)"),
    ("done", "report and return"),
)
_CHILD_MARKS = (
    "child_hooks",
    "child_ours",
    "child_forked",
    "child_limiting",
    "child_limited",
    "child_ran",
)
_CHILD_SLOTS = {name: index for index, name in enumerate((*_CHILD_MARKS, "child_exit"))}


class Marks:
    """Timestamps of one instrumented attempt; the child writes its own to a shared page."""

    def __init__(self) -> None:
        self.parent: dict[str, float] = {}
        self.shared = mmap.mmap(-1, _PAGE)  # MAP_SHARED: the child's writes are seen here
        self.parent_pid = os.getpid()
        self.armed = False

    def mark(self, name: str) -> None:
        if not self.armed:
            return
        now = time.monotonic()
        if os.getpid() == self.parent_pid:
            self.parent.setdefault(name, now)
        elif name in _CHILD_SLOTS:
            struct.pack_into("d", self.shared, 8 * _CHILD_SLOTS[name], now)

    def reset(self) -> None:
        self.parent.clear()
        self.shared[:] = bytes(_PAGE)

    def all(self) -> dict[str, float]:
        child = {
            name: struct.unpack_from("d", self.shared, 8 * slot)[0]
            for name, slot in _CHILD_SLOTS.items()
        }
        return {**self.parent, **{name: value for name, value in child.items() if value}}


def _wrap(marks: Marks, before: str | None, after: str | None, real: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if before:
            marks.mark(before)
        value = real(*args, **kwargs)
        if after:
            marks.mark(after)
        return value

    return wrapper


@contextlib.contextmanager
def instrumented(marks: Marks) -> Iterator[None]:
    """Wrappers that mark the parts of a fork attempt; restored on the way out."""
    patches: list[tuple[object, str, object]] = []

    def patch(owner: object, name: str, make: Callable[[Any], Any]) -> None:
        real = getattr(owner, name, None)
        if real is None:
            return  # renamed since: its part merges into the next one
        patches.append((owner, name, real))
        setattr(owner, name, make(real))

    def run_forked(real: Any) -> Any:
        def wrapper(work: Callable[[Callable[[bytes], None]], bytes], **kwargs: Any) -> Any:
            marks.mark("prepared")

            def timed_work(send: Callable[[bytes], None]) -> bytes:
                data = work(send)
                marks.mark("child_ran")
                return data

            report = real(timed_work, **kwargs)
            marks.mark("returned")
            return report

        return wrapper

    def fork(real: Any) -> Any:
        def wrapper() -> int:
            marks.mark("fork_called")
            pid: int = real()
            marks.mark("forked" if pid else "child_forked")
            return pid

        return wrapper

    def pipe(real: Any) -> Any:
        def wrapper() -> tuple[int, int]:
            ends: tuple[int, int] = real()
            marks.mark("piped")
            return ends

        return wrapper

    patch(safeprobe.host.execution, "run_forked", run_forked)
    patch(os, "fork", fork)
    patch(os, "pipe", pipe)
    patch(os, "_exit", lambda real: _wrap(marks, "child_exit", None, real))
    patch(os, "waitpid", lambda real: _wrap(marks, None, "reaped", real))
    patch(
        safeprobe.host.isolation,
        "_limit_child",
        lambda real: _wrap(marks, "child_limiting", "child_limited", real),
    )
    patch(safeprobe.host.isolation, "_collect", lambda real: _wrap(marks, None, "eof", real))
    patch(
        safeprobe.audit.sink.AuditSink,
        "append",
        lambda real: _wrap(marks, "appending", "appended", real),
    )
    marks.armed = True
    try:
        yield
    finally:
        marks.armed = False
        for owner, name, real in reversed(patches):
            setattr(owner, name, real)


def register_child_hooks(marks: Marks, install: Callable[[], None]) -> None:
    """Marks around safeprobe's own at-fork hook: one registered before ``install()``
    registers it, one after (hooks in the child run in the order they were registered)."""
    os.register_at_fork(after_in_child=lambda: marks.mark("child_hooks"))
    install()
    os.register_at_fork(after_in_child=lambda: marks.mark("child_ours"))


def parts_ms(marks: dict[str, float], started: float) -> dict[str, float]:
    """The parts of one instrumented attempt, in ms; a missing mark merges its part into
    the next one."""
    parts: dict[str, float] = {}
    previous = started
    for name, _label in PARTS:
        if name in marks:
            parts[name] = (marks[name] - previous) * 1000
            previous = marks[name]
    return parts


# ---- the figure ------------------------------------------------------------------------------


def _policy(folder: Path, name: str, **settings: object) -> Path:
    write_probe(folder / f"{name}.py", PROBE)
    policy: dict[str, object] = {
        "version": 1,
        "name": name,
        "probe": {"path": f"{name}.py"},
        "expose": {"my_object": {"target": "__main__:my_object", "allow": ["data"]}},
        "audit": {"path": f"{name}.audit.jsonl"},
        "isolation": "fork",
    }
    policy.update(settings)
    return write_policy(folder / f"{name}.yaml", policy)


def measure(size_mb: int, *, quick: bool, huge_pages: bool = False) -> Result:
    """The stall, the floor and the attempt at one host size, then the parts of an attempt."""
    rounds, runs, traced = (2, 1, 2) if quick else (5, 5, 7)
    folder = Path(tempfile.mkdtemp(prefix="sp-forkcost-"))
    import __main__  # noqa: PLC0415 - the policy names __main__:my_object

    __main__.my_object = MyObject()  # type: ignore[attr-defined]
    policy = _policy(folder, "attempt")
    marks = Marks()
    # An installed host, as in production: its listener and runner threads exist and its
    # at-fork hook runs in every child. The attempts themselves go through run_probe.
    installed = _policy(folder, "installed", trigger={"signal": "SIGUSR2"})
    register_child_hooks(marks, lambda: safeprobe.install(installed))
    ballast = grow_to(size_mb, huge_pages=huge_pages)
    heartbeat = Heartbeat()
    result: Result = {
        "size_mb": size_mb,
        "rss_mb": round(rss_mb()),
        "huge_pages": huge_pages,
        "anon_huge_mb": round(anon_huge_mb()),
        "rounds": rounds,
        "runs": runs,
        "heartbeat_ms": HEARTBEAT_S * 1000,
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }
    try:
        attempt(policy)  # compile and cache the probe, open the audit log
        bare_fork()
        keys = ("attempt", "floor", "idle", "attempt_gap", "floor_gap", "idle_gap")
        series: dict[str, list[float]] = {key: [] for key in (*keys, "eof", "eof_reaped")}
        steps: dict[str, Callable[[], tuple[float, float]]] = {
            "attempt": lambda: attempt(policy),
            "floor": bare_fork,
        }
        for index in range(rounds):
            windows: dict[str, list[tuple[float, float]]] = {"attempt": [], "floor": [], "idle": []}
            eofs: list[float] = []
            reaped: list[float] = []
            for run in range(runs):
                # The order turns each run, so neither always follows the other.
                order = ("attempt", "floor") if (index + run) % 2 else ("floor", "attempt")
                for name in order:
                    windows[name].append(steps[name]())
                    time.sleep(0.02)  # the child's exit and the host's page faults settle
                start, end = windows["attempt"][-1]
                windows["idle"].append(idle(end - start))
                # A gap is counted in every window it overlaps: beat before the next fork.
                time.sleep(0.02)
                started, eof, done = fork_until_eof()
                eofs.append((eof - started) * 1000)
                reaped.append((done - started) * 1000)
                time.sleep(0.02)
            for name, spans in windows.items():
                series[name].append(percentile([(e - s) * 1000 for s, e in spans], 50))
                series[f"{name}_gap"].append(percentile(heartbeat.longest_gap_ms(spans), 50))
            series["eof"].append(percentile(eofs, 50))
            series["eof_reaped"].append(percentile(reaped, 50))
        result.update(series)
        result["parts"] = _traced_parts(policy, marks, traced)
    finally:
        heartbeat.stop()
        safeprobe.uninstall()
        if ballast is not None:
            ballast.close()
    result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def _traced_parts(policy: Path, marks: Marks, count: int) -> dict[str, list[float]]:
    """Each part's time in ``count`` instrumented attempts, in ms."""
    parts: dict[str, list[float]] = {}
    totals: list[float] = []
    for _ in range(count):
        marks.reset()
        with instrumented(marks):
            started, ended = attempt(policy)
        for name, value in parts_ms({**marks.all(), "done": ended}, started).items():
            parts.setdefault(name, []).append(value)
        totals.append((ended - started) * 1000)
        time.sleep(0.02)
    return {**parts, "total": totals}
