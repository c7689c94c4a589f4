"""Built-in facts: read-only snapshots of the host's threads, process, gc and asyncio tasks.

Promise: a fact is taken in the host, once per attempt and before the probe runs, and is made
only of plain data (str, int, float, bool, None, tuples) and the frozen record types below, so
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
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, cast, get_args, overload

from safeprobe.errors import SafeprobeError
from safeprobe.proxy import ProbeDenied, read_attribute
from safeprobe.render import register_hook, render, type_label

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

FactName = Literal["threads", "process", "gc", "asyncio"]
FACT_NAMES: Final[frozenset[str]] = frozenset(get_args(FactName))

# A thread dump is read in a terminal and held in the output cap (64 KiB by default): 500
# threads is past any service we know of, and 64 frames per stack (faulthandler stops at 100)
# shows where a thread is and how it got there. Frames beyond are counted, up to 100,000.
MAX_THREADS: Final = 500
MAX_FRAMES: Final = 64
MAX_COUNTED_FRAMES: Final = 100_000
# asyncio services run thousands of tasks; the first thousand (pending ones first) show the
# shape, and the rest are counted. An await chain deeper than 32 coroutines is cut.
MAX_TASKS: Final = 1000
MAX_AWAIT_DEPTH: Final = 32
# Names, file paths and function names come from the host and may be of any length; 200
# characters holds any real one. Paths keep their end (the file name), names their start.
MAX_TEXT_CHARS: Final = 200

# The package's directory as the import system named it, which is how frames name its files.
_SAFEPROBE_DIR: Final = str(Path(__file__).absolute().parent) + os.sep
_MISSING: Final = object()
_STATE_RANK: Final = {"running": 0, "pending": 1, "done": 2, "cancelled": 3, "unknown": 4}


# ---- the records a probe sees --------------------------------------------------------------


class _Record:
    """Base of the fact records: each renders itself once and keeps the text, so printing a
    fact a million times builds one string, not a million."""

    __slots__ = ("_text",)

    def _render(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class FrameInfo(_Record):
    """One frame of a stack: where, not what (no locals, no globals, no frame object)."""

    file: str
    line: int | None
    function: str

    def _render(self) -> str:
        line = "?" if self.line is None else str(self.line)
        return f"File {_quoted(self.file)}, line {line} in {_escaped(self.function)}"


@dataclass(frozen=True, slots=True)
class ThreadInfo(_Record):
    """One thread: its identity and its stack, most recent call first."""

    name: str
    ident: int
    native_id: int | None
    daemon: bool | None
    current: bool  # the thread that took the snapshot (the one running this probe)
    stack: tuple[FrameInfo, ...]
    frames_omitted: int

    def _render(self) -> str:
        head = (
            f"Thread {_quoted(self.name)} ident={self.ident} native_id={self.native_id} "
            f"daemon={self.daemon}"
        )
        if self.current:
            head += " (running this probe)"
        return "\n".join([head, *_stack_lines(self.stack, self.frames_omitted)])


@dataclass(frozen=True, slots=True)
class ThreadDump(_Record):
    """Every thread of the host at the moment the attempt started."""

    entries: tuple[ThreadInfo, ...]
    omitted: int

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[ThreadInfo]:
        return iter(self.entries)

    @overload
    def __getitem__(self, index: int) -> ThreadInfo: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[ThreadInfo, ...]: ...
    def __getitem__(self, index: int | slice) -> ThreadInfo | tuple[ThreadInfo, ...]:
        return self.entries[index]

    def _render(self) -> str:
        count = _plural(len(self.entries), "thread")
        parts = [f"Thread dump ({count}, most recent call first)"]
        parts.extend(_render_text(entry) for entry in self.entries)
        if self.omitted:
            parts.append(f"… {self.omitted} more threads not shown")
        return "\n\n".join(parts)


@dataclass(frozen=True, slots=True)
class ProcessInfo(_Record):
    """The host process: identity, age and resources. None where the platform cannot tell."""

    pid: int
    ppid: int
    uptime_s: float | None
    rss_bytes: int | None
    open_fds: int | None
    threads: int
    python: str
    implementation: str
    argv: tuple[str, ...]  # with secret-looking options redacted, as in the audit record

    def _render(self) -> str:
        uptime = "?" if self.uptime_s is None else f"{self.uptime_s:.3f} s"
        rss = "?" if self.rss_bytes is None else f"{self.rss_bytes / 1024 / 1024:.1f} MiB"
        fds = "?" if self.open_fds is None else str(self.open_fds)
        return "\n".join(
            [
                f"Process {self.pid} (parent {self.ppid}), up {uptime}, "
                f"{self.implementation} {self.python}",
                f"  rss {rss}, {fds} open fds, {_plural(self.threads, 'thread')}",
                f"  argv {render(list(self.argv), depth=0)}",
            ]
        )


@dataclass(frozen=True, slots=True)
class GcGeneration(_Record):
    """One generation of the cyclic garbage collector."""

    generation: int
    count: int
    threshold: int
    collections: int
    collected: int
    uncollectable: int

    def _render(self) -> str:
        return (
            f"{self.generation:>12}{self.count:>8}{self.threshold:>11}"
            f"{self.collections:>13}{self.collected:>11}{self.uncollectable:>15}"
        )


@dataclass(frozen=True, slots=True)
class GcInfo(_Record):
    """The garbage collector's counters, as gc.get_count/get_threshold/get_stats report them."""

    enabled: bool
    frozen: int
    garbage: int | None
    generations: tuple[GcGeneration, ...]

    def _render(self) -> str:
        garbage = "?" if self.garbage is None else str(self.garbage)
        return "\n".join(
            [
                f"GC {'enabled' if self.enabled else 'disabled'}, {self.frozen} objects frozen, "
                f"{garbage} in gc.garbage",
                "  generation   count  threshold  collections  collected  uncollectable",
                *(_render_text(generation) for generation in self.generations),
            ]
        )


@dataclass(frozen=True, slots=True)
class LoopInfo(_Record):
    """An event loop that owns some of the tasks, and the thread running it (if any)."""

    index: int
    thread_ident: int | None
    thread_name: str | None
    running: bool | None  # None: a loop class that does not record its thread
    closed: bool | None
    tasks: int

    def _render(self) -> str:
        where = "not running" if self.running is False else "its thread is unknown"
        if self.thread_ident is not None:
            name = "?" if self.thread_name is None else _quoted(self.thread_name)
            where = f"running in thread {name} ident={self.thread_ident}"
        closed = ", closed" if self.closed else ""
        return f"Loop {self.index} ({_plural(self.tasks, 'task')}), {where}{closed}"


@dataclass(frozen=True, slots=True)
class TaskInfo(_Record):
    """One asyncio task: its name, state, and the await chain it is suspended in."""

    name: str
    state: str  # running, pending, done, cancelled or unknown
    coroutine: str
    awaiting: str | None  # what the task waits on: "Future pending", 'Task "x"', …
    exception: str | None  # the class of the exception a done task ended with
    loop: int  # LoopInfo.index; 0 when the loop is unknown
    stack: tuple[FrameInfo, ...]  # the await chain, most recent call first
    frames_omitted: int

    def _render(self) -> str:
        head = f"Task {_quoted(self.name)} {self.state}"
        if self.exception is not None:
            head += f" (raised {_escaped(self.exception)})"
        head += f", coroutine {_escaped(self.coroutine)}"
        if self.awaiting is not None:
            head += f", awaiting {self.awaiting}"
        return "\n".join([head, *_stack_lines(self.stack, self.frames_omitted)])


@dataclass(frozen=True, slots=True)
class TaskDump(_Record):
    """The asyncio tasks of every event loop in the host, grouped by loop."""

    entries: tuple[TaskInfo, ...]
    loops: tuple[LoopInfo, ...]
    omitted: int
    note: str | None  # why there are no tasks to show, when that is not simply "none"

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[TaskInfo]:
        return iter(self.entries)

    @overload
    def __getitem__(self, index: int) -> TaskInfo: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[TaskInfo, ...]: ...
    def __getitem__(self, index: int | slice) -> TaskInfo | tuple[TaskInfo, ...]:
        return self.entries[index]

    def _render(self) -> str:
        if self.note is not None:
            return f"asyncio tasks: none ({self.note})"
        tasks, loops = _plural(len(self.entries), "task"), _plural(len(self.loops), "loop")
        parts = [f"asyncio tasks ({tasks} in {loops}, most recent call first)"]
        for loop in self.loops:
            parts.append(_render_text(loop))
            parts.extend(_render_text(t) for t in self.entries if t.loop == loop.index)
        orphans = [t for t in self.entries if t.loop == 0]
        if orphans:
            parts.append("Tasks whose loop is unknown")
            parts.extend(_render_text(t) for t in orphans)
        if self.omitted:
            parts.append(f"… {self.omitted} more tasks not shown")
        return "\n\n".join(parts)


_RECORD_TYPES: Final[tuple[type[_Record], ...]] = (
    FrameInfo,
    ThreadInfo,
    ThreadDump,
    ProcessInfo,
    GcGeneration,
    GcInfo,
    LoopInfo,
    TaskInfo,
    TaskDump,
)
# What a probe may read of each record: its fields, all plain data. Left out on purpose:
# everything else, including the dataclass machinery and the cached text.
FACT_FIELDS: Final[dict[type, frozenset[str]]] = {
    kind: frozenset(f.name for f in fields(cast("type[DataclassInstance]", kind)))
    for kind in _RECORD_TYPES
}


def _render_text(value: object, _depth: int = 0) -> str:
    record = cast(_Record, value)
    text = getattr(record, "_text", None)
    if type(text) is not str:
        text = record._render()
        object.__setattr__(record, "_text", text)
    return text


for _kind in _RECORD_TYPES:
    register_hook(_kind, _render_text)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _stack_lines(stack: tuple[FrameInfo, ...], omitted: int) -> list[str]:
    lines = [f"  {_render_text(frame)}" for frame in stack]
    if not stack:
        lines.append("  (no Python frames)")
    if omitted:
        lines.append(f"  … {omitted} more frames")
    return lines


_QUOTE_ESCAPES: Final = {'"': '\\"', "\\": "\\\\"}


def _escaped(text: str) -> str:
    """``text`` with every unprintable character escaped, so a host-chosen name can never
    start a new line or send a terminal control sequence."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def _quoted(text: str) -> str:
    inner = "".join(_QUOTE_ESCAPES.get(ch, ch) for ch in text)
    return f'"{_escaped(inner)}"'


def _plain_text(value: object, *, keep_end: bool = False) -> str | None:
    """A host string as an exact, bounded str; None if ``value`` is not a string.

    ``str.__str__`` is the base type's slot: for a str subclass it copies the characters
    without calling the subclass's own ``__str__``.
    """
    if type(value) is str:
        text = value
    elif issubclass(type(value), str):
        text = str.__str__(cast(str, value))
    else:
        return None
    if len(text) <= MAX_TEXT_CHARS:
        return text
    if keep_end:
        return "…" + text[-(MAX_TEXT_CHARS - 1) :]
    return text[: MAX_TEXT_CHARS - 1] + "…"


def _int_or_none(value: object) -> int | None:
    return value if type(value) is int else None


# ---- taking the facts ------------------------------------------------------------------------


class FactError(SafeprobeError):
    """A fact could not be taken; the attempt fails as an internal error, audited."""


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
    known = _thread_details(threading.enumerate() if threads is None else threads)
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


@dataclass(frozen=True, slots=True)
class _ThreadDetails:
    name: str
    native_id: int | None
    daemon: bool | None
    dummy: bool


def _thread_details(threads: Iterable[threading.Thread]) -> dict[int, _ThreadDetails]:
    """Name, native id and daemon flag of each Thread, read from its instance dict: a host
    subclass may override ``name`` or ``daemon`` as properties, which are never called."""
    details: dict[int, _ThreadDetails] = {}
    for thread in threads:
        ident = _int_or_none(_static(thread, "_ident"))
        if ident is None:
            continue
        daemon = _static(thread, "_daemonic")
        details[ident] = _ThreadDetails(
            name=_plain_text(_static(thread, "_name")) or "?",
            native_id=_int_or_none(_static(thread, "_native_id")),
            daemon=daemon if type(daemon) is bool else None,
            dummy=issubclass(type(thread), threading._DummyThread),
        )
    return details


def _outside_safeprobe(frame: types.FrameType | None) -> types.FrameType | None:
    """The innermost frame of this thread that is not safeprobe's own machinery."""
    while frame is not None and frame.f_code.co_filename.startswith(_SAFEPROBE_DIR):
        frame = frame.f_back
    return frame


def _frame_info(frame: types.FrameType) -> FrameInfo:
    code = frame.f_code
    return FrameInfo(
        file=_plain_text(code.co_filename, keep_end=True) or "?",
        line=_int_or_none(frame.f_lineno),
        function=_plain_text(code.co_qualname) or "?",
    )


def _walk_frames(frame: types.FrameType | None) -> tuple[tuple[FrameInfo, ...], int]:
    """Up to MAX_FRAMES frames from ``frame`` outwards, and how many more there were."""
    stack: list[FrameInfo] = []
    while frame is not None and len(stack) < MAX_FRAMES:
        stack.append(_frame_info(frame))
        frame = frame.f_back
    omitted = 0
    while frame is not None and omitted < MAX_COUNTED_FRAMES:
        omitted += 1
        frame = frame.f_back
    return tuple(stack), omitted


def _thread_names() -> dict[int, str]:
    return {ident: d.name for ident, d in _thread_details(threading.enumerate()).items()}


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


# -- asyncio
#
# The host's event loop runs in another thread, and asyncio.all_tasks(loop) is documented as
# not thread-safe; it also calls each task's get_loop() and done(), which a Task subclass may
# override (host code), and it needs the loop, which the runner thread does not have. So the
# snapshot reads what all_tasks reads: asyncio's own registry of tasks (a WeakSet on 3.11,
# plus the set of eager tasks on 3.12 and 3.13), copying the set inside it with set.copy, one
# C call that holds the GIL throughout, so no other thread can change it mid-copy and no
# retry is needed. Each task is then read through the C Task type's own slots (_state, _loop,
# _coro, _fut_waiter, _exception) and get_name, called on the base type so a subclass's
# overrides never run; exception() is not called, because it marks the exception as
# retrieved, which would change what the host logs. Python 3.14 keeps native tasks in
# per-thread lists instead, which this does not read yet: the fact says so.


@dataclass(frozen=True, slots=True)
class _TaskTypes:
    c_task: type | None
    c_future: type | None
    py_task: type | None
    py_future: type | None


@dataclass(frozen=True, slots=True)
class _TaskFields:
    name: str
    state: str
    loop: object
    coro: object
    waiter: object
    exception: object


def snapshot_tasks(
    *,
    max_tasks: int = MAX_TASKS,
    modules: Mapping[str, object] | None = None,
    thread_names: Mapping[int, str] | None = None,
) -> TaskDump:
    """The tasks of every asyncio event loop in the host, read from another thread safely.

    ``modules`` is ``sys.modules`` (asyncio is looked up, never imported); the arguments are
    for tests.
    """
    modules = sys.modules if modules is None else modules
    tasks_ns = _module_namespace(modules.get("asyncio.tasks"))
    futures_ns = _module_namespace(modules.get("asyncio.futures"))
    if tasks_ns is None or futures_ns is None:
        return TaskDump((), (), 0, "asyncio is not loaded in this process")
    if sys.version_info >= (3, 14):
        return TaskDump((), (), 0, "reading tasks is not supported on Python 3.14+ yet")
    found = _copy_task_registry(tasks_ns)
    if found is None:
        return TaskDump((), (), 0, "this Python's asyncio keeps its tasks out of reach")
    kinds = _TaskTypes(
        c_task=_a_type(tasks_ns.get("_CTask")),
        c_future=_a_type(futures_ns.get("_CFuture")),
        py_task=_a_type(tasks_ns.get("_PyTask")),
        py_future=_a_type(futures_ns.get("_PyFuture")),
    )
    running = _running_tasks(tasks_ns.get("_current_tasks"))
    read = [(task, _task_fields(task, kinds)) for task in found]
    read.sort(key=lambda pair: (_state_of(pair, running), pair[1].name if pair[1] else ""))
    shown = read[:max_tasks]
    loops: dict[int, tuple[int, object]] = {}  # id(loop) -> (index, loop)
    infos: list[TaskInfo] = []
    for task, task_fields in shown:
        infos.append(_task_info(task, task_fields, kinds, running, loops))
    infos.sort(key=lambda info: info.loop or len(loops) + 1)
    names = _thread_names() if thread_names is None else thread_names
    loop_infos = tuple(
        _loop_info(index, loop, sum(1 for i in infos if i.loop == index), names)
        for index, loop in sorted(loops.values(), key=lambda pair: pair[0])
    )
    return TaskDump(tuple(infos), loop_infos, max(len(read) - max_tasks, 0), None)


def _module_namespace(module: object) -> dict[str, object] | None:
    if type(module) is not types.ModuleType:
        return None
    namespace: dict[str, object] = module.__dict__
    return namespace


def _a_type(value: object) -> type | None:
    return value if isinstance(value, type) else None


def _copy_task_registry(namespace: Mapping[str, object]) -> list[object] | None:
    """Every task asyncio knows of: 3.11's _all_tasks, or 3.12/3.13's _scheduled_tasks and
    _eager_tasks. Each set is copied in one C call; dead weak references are dropped."""
    found: list[object] = []
    seen = False
    for name in ("_all_tasks", "_scheduled_tasks", "_eager_tasks"):
        registry = namespace.get(name)
        if type(registry) is weakref.WeakSet:
            data = registry.__dict__.get("data")
            if type(data) is set:
                seen = True
                for ref in set.copy(data):
                    task = ref() if type(ref) is weakref.ref else None
                    if task is not None:
                        found.append(task)
        elif type(registry) is set:
            seen = True
            found.extend(set.copy(registry))
    return found if seen else None


def _running_tasks(current: object) -> dict[int, object]:
    """id(loop) -> the task that loop is running right now, from asyncio's _current_tasks.
    Keyed by id: looking a loop up in a dict would call a host loop class's __hash__."""
    if type(current) is not dict:
        return {}
    return {id(loop): task for loop, task in dict.copy(current).items()}


def _getset(owner: type | None, name: str, obj: object) -> object:
    """``obj.name`` read through the C slot ``owner`` defines, whatever ``obj``'s class adds."""
    if owner is None or not issubclass(type(obj), owner):
        return None
    descriptor = owner.__dict__.get(name)
    if type(descriptor) is not types.GetSetDescriptorType:
        return None
    return descriptor.__get__(obj, type(obj))


def _static(obj: object, name: str) -> object:
    """``obj.name`` from its instance dict, slots or plain class attributes (proxy.py's
    static reader: no property, descriptor or ``__getattr__`` of the host runs)."""
    try:
        return read_attribute(obj, name)
    except (AttributeError, ProbeDenied):
        return None


def _task_fields(task: object, kinds: _TaskTypes) -> _TaskFields | None:
    """A task's parts, read without running any of its methods; None for a task type we do
    not know how to read."""
    if kinds.c_task is not None and issubclass(type(task), kinds.c_task):
        get_name = kinds.c_task.__dict__.get("get_name")
        name = get_name(task) if type(get_name) is types.MethodDescriptorType else None
        return _TaskFields(
            name=_plain_text(name) or "?",
            state=_state_name(_getset(kinds.c_future, "_state", task)),
            loop=_getset(kinds.c_future, "_loop", task),
            coro=_getset(kinds.c_task, "_coro", task),
            waiter=_getset(kinds.c_task, "_fut_waiter", task),
            exception=_getset(kinds.c_future, "_exception", task),
        )
    if kinds.py_task is not None and type(task) is kinds.py_task:
        return _TaskFields(
            name=_plain_text(_static(task, "_name")) or "?",
            state=_state_name(_static(task, "_state")),
            loop=_static(task, "_loop"),
            coro=_static(task, "_coro"),
            waiter=_static(task, "_fut_waiter"),
            exception=_static(task, "_exception"),
        )
    return None


def _state_name(raw: object) -> str:
    return {"PENDING": "pending", "FINISHED": "done", "CANCELLED": "cancelled"}.get(
        raw if type(raw) is str else "", "unknown"
    )


def _state_of(pair: tuple[object, _TaskFields | None], running: Mapping[int, object]) -> int:
    task, task_fields = pair
    if task_fields is None:
        return _STATE_RANK["unknown"]
    if running.get(id(task_fields.loop)) is task:
        return _STATE_RANK["running"]
    return _STATE_RANK[task_fields.state]


def _task_info(
    task: object,
    task_fields: _TaskFields | None,
    kinds: _TaskTypes,
    running: Mapping[int, object],
    loops: dict[int, tuple[int, object]],
) -> TaskInfo:
    if task_fields is None:
        label = type_label(type(task))
        return TaskInfo("?", "unknown", f"({label} not inspected)", None, None, 0, (), 0)
    loop = task_fields.loop
    index = 0
    if loop is not None:
        index = loops.setdefault(id(loop), (len(loops) + 1, loop))[0]
    state = task_fields.state
    if state == "pending" and running.get(id(loop)) is task:
        state = "running"
    exception = task_fields.exception
    stack, omitted = _await_chain(task_fields.coro)
    return TaskInfo(
        name=task_fields.name,
        state=state,
        coroutine=_coroutine_name(task_fields.coro),
        awaiting=_describe_awaited(task_fields.waiter, kinds),
        exception=None if exception is None else type_label(type(exception)),
        loop=index,
        stack=stack,
        frames_omitted=omitted,
    )


def _coroutine_parts(obj: object) -> tuple[types.FrameType | None, types.CodeType, object] | None:
    """(frame, code, what it awaits) of a native coroutine, generator or async generator,
    read from the builtin types' own slots; None for anything else."""
    if type(obj) is types.CoroutineType:
        return obj.cr_frame, obj.cr_code, obj.cr_await
    if type(obj) is types.GeneratorType:
        return obj.gi_frame, obj.gi_code, obj.gi_yieldfrom
    if type(obj) is types.AsyncGeneratorType:
        return obj.ag_frame, obj.ag_code, obj.ag_await
    return None


def _coroutine_name(coro: object) -> str:
    if coro is None:
        return "?"
    parts = _coroutine_parts(coro)
    if parts is None:
        return f"({type_label(type(coro))})"
    return _plain_text(parts[1].co_qualname) or "?"


def _await_chain(coro: object) -> tuple[tuple[FrameInfo, ...], int]:
    """Where a task is suspended: each coroutine it awaits, innermost first."""
    chain: list[FrameInfo] = []
    current: object = coro
    depth = 0
    while depth < MAX_AWAIT_DEPTH + MAX_COUNTED_FRAMES:
        parts = _coroutine_parts(current)
        if parts is None:
            break
        frame, code, awaited = parts
        if depth < MAX_AWAIT_DEPTH:
            if frame is not None:
                chain.append(_frame_info(frame))
            else:  # finished, or not started: where it is defined
                chain.append(
                    FrameInfo(
                        file=_plain_text(code.co_filename, keep_end=True) or "?",
                        line=_int_or_none(code.co_firstlineno),
                        function=_plain_text(code.co_qualname) or "?",
                    )
                )
        depth += 1
        current = awaited
    chain.reverse()
    return tuple(chain), max(depth - MAX_AWAIT_DEPTH, 0)


def _describe_awaited(waiter: object, kinds: _TaskTypes) -> str | None:
    """What a suspended task waits on, by kind and state; never the waiter's own repr."""
    if waiter is None:
        return None
    task = _task_fields(waiter, kinds)
    if task is not None:
        return f"Task {_quoted(task.name)}"
    state = "unknown"
    if kinds.c_future is not None and issubclass(type(waiter), kinds.c_future):
        state = _state_name(_getset(kinds.c_future, "_state", waiter))
    elif kinds.py_future is not None and type(waiter) is kinds.py_future:
        state = _state_name(_static(waiter, "_state"))
    else:
        return f"<{type_label(type(waiter))} object>"
    return f"{type_label(type(waiter))} {state}"


def _loop_info(index: int, loop: object, tasks: int, names: Mapping[int, str]) -> LoopInfo:
    """A loop's thread from BaseEventLoop's own _thread_id, set while run_forever runs and
    None otherwise; a loop class without it (uvloop) leaves ``running`` unknown."""
    try:
        raw_ident = read_attribute(loop, "_thread_id")
    except (AttributeError, ProbeDenied):
        raw_ident = _MISSING
    thread_ident = _int_or_none(raw_ident)
    closed = _static(loop, "_closed")
    return LoopInfo(
        index=index,
        thread_ident=thread_ident,
        thread_name=names.get(thread_ident) if thread_ident is not None else None,
        running=None if raw_ident is _MISSING else thread_ident is not None,
        closed=closed if type(closed) is bool else None,
        tasks=tasks,
    )
