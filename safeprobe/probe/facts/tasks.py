"""The asyncio fact: the tasks of every event loop in the host, read from outside the
loops' threads without running host code (the comment below says how).
Threat model: SECURITY.md, "Facts".
"""

from __future__ import annotations

import sys
import types
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from safeprobe.errors import ProbeDenied
from safeprobe.probe.facts.records import (
    MAX_AWAIT_DEPTH,
    MAX_COUNTED_FRAMES,
    MAX_TASKS,
    MISSING,
    STATE_RANK,
    FrameInfo,
    LoopInfo,
    TaskDump,
    TaskInfo,
    frame_info,
    int_or_none,
    names_of_threads,
    plain_text,
    quoted,
    static_attribute,
)
from safeprobe.probe.host_keys import NOT_FOUND, find_name
from safeprobe.probe.render import type_label
from safeprobe.probe.static_reads import read_attribute

if TYPE_CHECKING:
    pass


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
    tasks_ns = _module_namespace(_get(modules, "asyncio.tasks"))
    futures_ns = _module_namespace(_get(modules, "asyncio.futures"))
    if tasks_ns is None or futures_ns is None:
        return TaskDump((), (), 0, "asyncio is not loaded in this process")
    if sys.version_info >= (3, 14):
        return TaskDump((), (), 0, "reading tasks is not supported on Python 3.14+ yet")
    found = _copy_task_registry(tasks_ns)
    if found is None:
        return TaskDump((), (), 0, "this Python's asyncio keeps its tasks out of reach")
    kinds = _TaskTypes(
        c_task=_a_type(_get(tasks_ns, "_CTask")),
        c_future=_a_type(_get(futures_ns, "_CFuture")),
        py_task=_a_type(_get(tasks_ns, "_PyTask")),
        py_future=_a_type(_get(futures_ns, "_PyFuture")),
    )
    running = _running_tasks(_get(tasks_ns, "_current_tasks"))
    read = [(task, _task_fields(task, kinds)) for task in found]
    read.sort(key=lambda pair: (_state_of(pair, running), pair[1].name if pair[1] else ""))
    shown = read[:max_tasks]
    loops: dict[int, tuple[int, object]] = {}  # id(loop) -> (index, loop)
    infos: list[TaskInfo] = []
    for task, task_fields in shown:
        infos.append(_task_info(task, task_fields, kinds, running, loops))
    infos.sort(key=lambda info: info.loop or len(loops) + 1)
    names = names_of_threads() if thread_names is None else thread_names
    loop_infos = tuple(
        _loop_info(index, loop, sum(1 for i in infos if i.loop == index), names)
        for index, loop in sorted(loops.values(), key=lambda pair: pair[0])
    )
    return TaskDump(tuple(infos), loop_infos, max(len(read) - max_tasks, 0), None)


def _get(namespace: Mapping[str, object], name: str) -> object | None:
    """``namespace.get(name)`` that never compares ``name`` with a host key (a host dict
    such as sys.modules may hold a str subclass key with its own ``__eq__``)."""
    if type(namespace) is dict:
        found = find_name(namespace, name)
        return None if found is NOT_FOUND else found
    return namespace.get(name)  # a test's own mapping


def _module_namespace(module: object) -> dict[str, object] | None:
    if type(module) is not types.ModuleType:
        return None
    namespace: dict[str, object] = module.__dict__
    return namespace


def _a_type(value: object) -> type | None:
    # issubclass of the type, not isinstance: isinstance falls back to a host __class__.
    return cast(type, value) if issubclass(type(value), type) else None


def _copy_task_registry(namespace: Mapping[str, object]) -> list[object] | None:
    """Every task asyncio knows of: 3.11's _all_tasks, or 3.12/3.13's _scheduled_tasks and
    _eager_tasks. Each set is copied in one C call; dead weak references are dropped."""
    found: list[object] = []
    seen = False
    for name in ("_all_tasks", "_scheduled_tasks", "_eager_tasks"):
        registry = _get(namespace, name)
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


def _task_fields(task: object, kinds: _TaskTypes) -> _TaskFields | None:
    """A task's parts, read without running any of its methods; None for a task type we do
    not know how to read."""
    if kinds.c_task is not None and issubclass(type(task), kinds.c_task):
        get_name = kinds.c_task.__dict__.get("get_name")
        name = get_name(task) if type(get_name) is types.MethodDescriptorType else None
        return _TaskFields(
            name=plain_text(name) or "?",
            state=_state_name(_getset(kinds.c_future, "_state", task)),
            loop=_getset(kinds.c_future, "_loop", task),
            coro=_getset(kinds.c_task, "_coro", task),
            waiter=_getset(kinds.c_task, "_fut_waiter", task),
            exception=_getset(kinds.c_future, "_exception", task),
        )
    if kinds.py_task is not None and type(task) is kinds.py_task:
        return _TaskFields(
            name=plain_text(static_attribute(task, "_name")) or "?",
            state=_state_name(static_attribute(task, "_state")),
            loop=static_attribute(task, "_loop"),
            coro=static_attribute(task, "_coro"),
            waiter=static_attribute(task, "_fut_waiter"),
            exception=static_attribute(task, "_exception"),
        )
    return None


def _state_name(raw: object) -> str:
    return {"PENDING": "pending", "FINISHED": "done", "CANCELLED": "cancelled"}.get(
        raw if type(raw) is str else "", "unknown"
    )


def _state_of(pair: tuple[object, _TaskFields | None], running: Mapping[int, object]) -> int:
    task, task_fields = pair
    if task_fields is None:
        return STATE_RANK["unknown"]
    if running.get(id(task_fields.loop)) is task:
        return STATE_RANK["running"]
    return STATE_RANK[task_fields.state]


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
    return plain_text(parts[1].co_qualname) or "?"


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
                chain.append(frame_info(frame))
            else:  # finished, or not started: where it is defined
                chain.append(
                    FrameInfo(
                        file=plain_text(code.co_filename, keep_end=True) or "?",
                        line=int_or_none(code.co_firstlineno),
                        function=plain_text(code.co_qualname) or "?",
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
        return f"Task {quoted(task.name)}"
    state = "unknown"
    if kinds.c_future is not None and issubclass(type(waiter), kinds.c_future):
        state = _state_name(_getset(kinds.c_future, "_state", waiter))
    elif kinds.py_future is not None and type(waiter) is kinds.py_future:
        state = _state_name(static_attribute(waiter, "_state"))
    else:
        return f"<{type_label(type(waiter))} object>"
    return f"{type_label(type(waiter))} {state}"


def _loop_info(index: int, loop: object, tasks: int, names: Mapping[int, str]) -> LoopInfo:
    """A loop's thread from BaseEventLoop's own _thread_id, set while run_forever runs and
    None otherwise; a loop class without it (uvloop) leaves ``running`` unknown."""
    try:
        raw_ident = read_attribute(loop, "_thread_id")
    except (AttributeError, ProbeDenied):
        raw_ident = MISSING
    thread_ident = int_or_none(raw_ident)
    closed = static_attribute(loop, "_closed")
    return LoopInfo(
        index=index,
        thread_ident=thread_ident,
        thread_name=names.get(thread_ident) if thread_ident is not None else None,
        running=None if raw_ident is MISSING else thread_ident is not None,
        closed=closed if type(closed) is bool else None,
        tasks=tasks,
    )
