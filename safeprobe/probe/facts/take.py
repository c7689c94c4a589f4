"""Built-in facts: read-only snapshots of the host's threads, process, gc and asyncio tasks.

Promise: a fact is taken in the host, once per attempt and before the probe runs, and is made
only of plain data (str, int, float, bool, None, tuples) and the frozen records of
fact_records.py, so
no path from a fact leads to a live frame, thread, task, loop or coroutine. Taking a fact runs
no host code: thread and task details are read from the C slots and instance dicts of the
standard library's own types (never a host ``__repr__``, property or method), and asyncio is
never imported. Every fact is bounded: threads, tasks, frames per stack and characters per
string are capped, and what was left out is counted. ``print(threads)`` is a thread dump in
faulthandler's format. Threat model: SECURITY.md, "Facts".
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import types
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from safeprobe.errors import FactError
from safeprobe.probe.facts.records import (
    MAX_COUNTED_FRAMES,
    MAX_FRAMES,
    MAX_TASKS,
    MAX_THREADS,
    SAFEPROBE_DIR,
    FrameInfo,
    GcGeneration,
    GcInfo,
    ProcessInfo,
    ThreadDump,
    ThreadInfo,
    frame_info,
    thread_details,
)
from safeprobe.probe.facts.tasks import snapshot_tasks

if TYPE_CHECKING:
    pass


# ---- taking the facts ------------------------------------------------------------------------


def take_facts(names: Iterable[str], *, argv: tuple[str, ...], max_items: int) -> dict[str, object]:
    """Snapshot the named facts now, in the calling thread; the probe's globals of those names.

    ``argv`` is the host's argv as the audit record shows it (already redacted); ``max_items``
    (the policy's) caps the number of threads and tasks below the fixed caps.
    """
    takers: dict[str, Callable[[], object]] = {
        "threads": lambda: snapshot_threads(max_threads=min(MAX_THREADS, max_items)),
        "process": lambda: snapshot_process(argv=argv),
        "gc": snapshot_gc,
        "asyncio": lambda: snapshot_tasks(max_tasks=min(MAX_TASKS, max_items)),
    }
    facts: dict[str, object] = {}
    for name in names:
        taker = takers.get(name)
        if taker is None:
            raise FactError(f"unknown fact {name!r}")
        facts[name] = taker()
    return facts


# -- threads


def snapshot_threads(
    *,
    max_threads: int = MAX_THREADS,
    frames: Mapping[int, types.FrameType] | None = None,
    threads: Iterable[threading.Thread] | None = None,
    current: int | None = None,
) -> ThreadDump:
    """Every thread's identity and stack. ``sys._current_frames()`` takes the stacks in one
    C call, so they are a consistent moment; the arguments are for tests."""
    if frames is None:
        frames = sys._current_frames()
    if current is None:
        current = threading.get_ident()
    known = thread_details(threading.enumerate() if threads is None else threads)
    order = [ident for ident in known if ident in frames or not known[ident].dummy]
    order += sorted(ident for ident in frames if ident not in known)
    entries: list[ThreadInfo] = []
    for ident in order[:max_threads]:
        details = known.get(ident)
        frame = frames.get(ident)
        if ident == current:
            frame = _outside_safeprobe(frame)
        stack, omitted = _walk_frames(frame)
        entries.append(
            ThreadInfo(
                name=details.name if details else "(not a threading.Thread)",
                ident=ident,
                native_id=details.native_id if details else None,
                daemon=details.daemon if details else None,
                current=ident == current,
                stack=stack,
                frames_omitted=omitted,
            )
        )
    return ThreadDump(entries=tuple(entries), omitted=max(len(order) - max_threads, 0))


def _outside_safeprobe(frame: types.FrameType | None) -> types.FrameType | None:
    """The innermost frame of this thread that is not safeprobe's own machinery."""
    while frame is not None and frame.f_code.co_filename.startswith(SAFEPROBE_DIR):
        frame = frame.f_back
    return frame


def _walk_frames(frame: types.FrameType | None) -> tuple[tuple[FrameInfo, ...], int]:
    """Up to MAX_FRAMES frames from ``frame`` outwards, and how many more there were."""
    stack: list[FrameInfo] = []
    while frame is not None and len(stack) < MAX_FRAMES:
        stack.append(frame_info(frame))
        frame = frame.f_back
    omitted = 0
    while frame is not None and omitted < MAX_COUNTED_FRAMES:
        omitted += 1
        frame = frame.f_back
    return tuple(stack), omitted


# -- process


def snapshot_process(*, argv: tuple[str, ...], proc: Path = Path("/proc/self")) -> ProcessInfo:
    """The host's pid, age and resources, read from /proc where the platform has it."""
    status = _read_small(proc / "status")
    rss_bytes, os_threads = parse_status(status) if status is not None else (None, None)
    stat = _read_small(proc / "stat")
    uptime = _read_small(proc.parent / "uptime")
    uptime_s: float | None = None
    if stat is not None and uptime is not None:
        uptime_s = process_uptime_s(stat, uptime, clock_ticks=os.sysconf("SC_CLK_TCK"))
    version = sys.version_info
    python = f"{version.major}.{version.minor}.{version.micro}"
    if version.releaselevel != "final":
        python += f"{version.releaselevel[0]}{version.serial}"
    return ProcessInfo(
        pid=os.getpid(),
        ppid=os.getppid(),
        uptime_s=uptime_s,
        rss_bytes=rss_bytes,
        open_fds=_count_open_fds(proc / "fd"),
        threads=os_threads if os_threads is not None else threading.active_count(),
        python=python,
        implementation=sys.implementation.name,
        argv=tuple(argv),
    )


def _read_small(path: Path) -> str | None:
    # /proc files of one process are a few KiB; 64 KiB bounds a read of anything else.
    try:
        with path.open("rb") as file:
            return file.read(64 * 1024).decode("ascii", "replace")
    except OSError:
        return None


def parse_status(text: str) -> tuple[int | None, int | None]:
    """RSS in bytes and the number of OS threads, from /proc/<pid>/status. Pure."""
    rss: int | None = None
    threads: int | None = None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        parts = value.split()
        if key == "VmRSS" and parts and parts[0].isdigit():
            rss = int(parts[0]) * 1024  # the kernel reports kB
        elif key == "Threads" and parts and parts[0].isdigit():
            threads = int(parts[0])
    return rss, threads


def process_uptime_s(stat: str, uptime: str, *, clock_ticks: int) -> float | None:
    """Seconds since the process started, from /proc/<pid>/stat and /proc/uptime. Pure.

    The command name (field 2) is in parentheses and may hold spaces and parentheses itself,
    so fields are counted from the last ')'; the start time is field 22, in clock ticks.
    """
    after = stat.rpartition(")")[2].split()
    boot = uptime.split()
    if len(after) < 20 or not after[19].isdigit() or not boot or clock_ticks <= 0:
        return None
    try:
        since_boot_s = float(boot[0])
    except ValueError:
        return None
    return round(max(since_boot_s - int(after[19]) / clock_ticks, 0.0), 3)


def _count_open_fds(fd_dir: Path) -> int | None:
    """Entries of /proc/<pid>/fd, less the one the listing itself holds open. A count, read
    lazily, so a process with many descriptors costs time (bounded by RLIMIT_NOFILE), not
    memory."""
    try:
        with os.scandir(fd_dir) as entries:
            count = sum(1 for _ in entries)
    except OSError:
        return None
    return max(count - 1, 0)


# -- gc


def snapshot_gc() -> GcInfo:
    """The collector's counters; gc.garbage is counted, never shown (it holds host objects)."""
    counts = gc.get_count()
    thresholds = gc.get_threshold()
    stats = gc.get_stats()
    generations = tuple(
        GcGeneration(
            generation=index,
            count=counts[index] if index < len(counts) else 0,
            threshold=thresholds[index] if index < len(thresholds) else 0,
            collections=int(stat.get("collections", 0)),
            collected=int(stat.get("collected", 0)),
            uncollectable=int(stat.get("uncollectable", 0)),
        )
        for index, stat in enumerate(stats)
    )
    garbage = gc.garbage
    return GcInfo(
        enabled=gc.isenabled(),
        frozen=gc.get_freeze_count(),
        garbage=len(garbage) if type(garbage) is list else None,
        generations=generations,
    )
