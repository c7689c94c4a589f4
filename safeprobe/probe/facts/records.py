"""The records a built-in fact is made of, and how they render.

Promise: a record holds only plain data (str, int, float, bool, None, tuples of records) and
renders once, keeping the text; a probe may read the fields ``FACT_FIELDS`` lists and nothing
else. The helpers here read names, files and lines from frames and threads without running
host code. Threat model: SECURITY.md, "Facts".
"""

from __future__ import annotations

import os
import threading
import types
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Final, cast, overload

from safeprobe.errors import ProbeDenied
from safeprobe.probe.render import register_hook, render
from safeprobe.probe.static_reads import read_attribute

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


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

# The package's directory as the import system named it, which is how frames name its files:
# safeprobe/, two folders up from safeprobe/probe/facts/ (the runner's frames are in host/).
SAFEPROBE_DIR: Final = str(Path(__file__).absolute().parents[2]) + os.sep
MISSING: Final = object()
STATE_RANK: Final = {"running": 0, "pending": 1, "done": 2, "cancelled": 3, "unknown": 4}


# ---- the records a probe sees --------------------------------------------------------------


class _Record:
    """Base of the fact records: each renders itself once and keeps the text, so printing a
    fact a million times builds one string, not a million."""

    __slots__ = ("_text",)

    # Records compare and hash by identity (eq=False), in C: a dataclass __eq__/__hash__
    # would walk every thread and frame in Python, unticked, whenever a probe used one as a
    # key. repr() is the cached text (repr=False): CPython quotes a value's repr in its own
    # messages ("... is not in list"), and a dataclass __repr__ would rebuild the dump.
    def __repr__(self) -> str:
        return _render_text(self)

    __str__ = __repr__

    def _render(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FrameInfo(_Record):
    """One frame of a stack: where, not what (no locals, no globals, no frame object)."""

    file: str
    line: int | None
    function: str

    def _render(self) -> str:
        line = "?" if self.line is None else str(self.line)
        return f"File {quoted(self.file)}, line {line} in {_escaped(self.function)}"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
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
            f"Thread {quoted(self.name)} ident={self.ident} native_id={self.native_id} "
            f"daemon={self.daemon}"
        )
        if self.current:
            head += " (running this probe)"
        return "\n".join([head, *_stack_lines(self.stack, self.frames_omitted)])


@dataclass(frozen=True, slots=True, eq=False, repr=False)
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


@dataclass(frozen=True, slots=True, eq=False, repr=False)
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


@dataclass(frozen=True, slots=True, eq=False, repr=False)
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


@dataclass(frozen=True, slots=True, eq=False, repr=False)
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


@dataclass(frozen=True, slots=True, eq=False, repr=False)
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
            name = "?" if self.thread_name is None else quoted(self.thread_name)
            where = f"running in thread {name} ident={self.thread_ident}"
        closed = ", closed" if self.closed else ""
        return f"Loop {self.index} ({_plural(self.tasks, 'task')}), {where}{closed}"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
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
        head = f"Task {quoted(self.name)} {self.state}"
        if self.exception is not None:
            head += f" (raised {_escaped(self.exception)})"
        head += f", coroutine {_escaped(self.coroutine)}"
        if self.awaiting is not None:
            head += f", awaiting {self.awaiting}"
        return "\n".join([head, *_stack_lines(self.stack, self.frames_omitted)])


@dataclass(frozen=True, slots=True, eq=False, repr=False)
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


def quoted(text: str) -> str:
    inner = "".join(_QUOTE_ESCAPES.get(ch, ch) for ch in text)
    return f'"{_escaped(inner)}"'


def plain_text(value: object, *, keep_end: bool = False) -> str | None:
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


def int_or_none(value: object) -> int | None:
    return value if type(value) is int else None


# ---- reading frames and threads, for every fact that shows a stack --------------------------


def frame_info(frame: types.FrameType) -> FrameInfo:
    code = frame.f_code
    return FrameInfo(
        file=plain_text(code.co_filename, keep_end=True) or "?",
        line=int_or_none(frame.f_lineno),
        function=plain_text(code.co_qualname) or "?",
    )


def names_of_threads() -> dict[int, str]:
    return {ident: d.name for ident, d in thread_details(threading.enumerate()).items()}


def static_attribute(obj: object, name: str) -> object:
    """``obj.name`` from its instance dict, slots or plain class attributes (proxy.py's
    static reader: no property, descriptor or ``__getattr__`` of the host runs)."""
    try:
        return read_attribute(obj, name)
    except (AttributeError, ProbeDenied):
        return None


@dataclass(frozen=True, slots=True)
class ThreadDetails:
    name: str
    native_id: int | None
    daemon: bool | None
    dummy: bool


def thread_details(threads: Iterable[threading.Thread]) -> dict[int, ThreadDetails]:
    """Name, native id and daemon flag of each Thread, read from its instance dict: a host
    subclass may override ``name`` or ``daemon`` as properties, which are never called."""
    details: dict[int, ThreadDetails] = {}
    for thread in threads:
        ident = int_or_none(static_attribute(thread, "_ident"))
        if ident is None:
            continue
        daemon = static_attribute(thread, "_daemonic")
        details[ident] = ThreadDetails(
            name=plain_text(static_attribute(thread, "_name")) or "?",
            native_id=int_or_none(static_attribute(thread, "_native_id")),
            daemon=daemon if type(daemon) is bool else None,
            dummy=issubclass(type(thread), threading._DummyThread),
        )
    return details
