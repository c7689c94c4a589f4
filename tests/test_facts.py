"""Built-in facts: snapshots of threads, process, gc and asyncio tasks, as plain data."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gc
import os
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import safeprobe
from safeprobe import Outcome, run_probe
from safeprobe.attempt import FACT_NAMES
from safeprobe.errors import PolicyError
from safeprobe.policy.loading import parse_policy
from safeprobe.probe.facts.records import (
    FACT_FIELDS,
    MAX_FRAMES,
    FrameInfo,
    GcInfo,
    TaskDump,
    ThreadDump,
    ThreadInfo,
)
from safeprobe.probe.facts.take import (
    parse_status,
    process_uptime_s,
    snapshot_gc,
    snapshot_process,
    snapshot_threads,
    take_facts,
)
from safeprobe.probe.facts.tasks import _loop_info, snapshot_tasks
from safeprobe.probe.render import render

PLAIN_TYPES = (str, int, float, bool, type(None))
RECORD_TYPES = tuple(FACT_FIELDS)


def reachable(value: object) -> Iterator[object]:
    """Every value reachable from a fact through its fields, items and elements."""
    stack = [value]
    while stack:
        current = stack.pop()
        yield current
        if type(current) is tuple:
            stack.extend(current)
        elif type(current) in RECORD_TYPES:
            stack.extend(getattr(current, f.name) for f in dataclasses.fields(current))


def park(event: threading.Event) -> None:
    """A function a helper thread waits in, to be found in the thread dump."""
    event.wait(30)


def recurse(depth: int, event: threading.Event) -> None:
    if depth:
        recurse(depth - 1, event)
    else:
        event.wait(30)


@pytest.fixture
def parked_thread() -> Iterator[threading.Thread]:
    release = threading.Event()
    thread = threading.Thread(target=park, args=(release,), name="parked", daemon=True)
    thread.start()
    yield thread
    release.set()
    thread.join(5)


# -- policy -------------------------------------------------------------------------------------

POLICY = "version: 1\nprobe:\n  path: probe.py\n"


def test_policy_enables_facts_by_name() -> None:
    """facts: lists the facts the probe sees, in the order written."""
    policy = parse_policy(POLICY + "facts: [threads, process, gc, asyncio]\n", path="p.yaml")
    assert policy.facts == ("threads", "process", "gc", "asyncio")
    assert parse_policy(POLICY, path="p.yaml").facts == ()
    assert set(FACT_NAMES) == {"threads", "process", "gc", "asyncio"}


def test_unknown_fact_is_an_error_at_its_line() -> None:
    """A misspelt fact fails at its line and lists the ones that exist."""
    with pytest.raises(PolicyError) as caught:
        parse_policy(POLICY + "facts:\n  - threads\n  - thread\n", path="p.yaml")
    assert (caught.value.line, caught.value.field) == (6, "facts[1]")
    assert "'threads', 'process', 'gc' or 'asyncio'" in caught.value.problem


def test_fact_listed_twice_is_an_error() -> None:
    """A repeated fact is a mistake to report, not to fold away."""
    with pytest.raises(PolicyError, match="listed twice") as caught:
        parse_policy(POLICY + "facts: [gc, gc]\n", path="p.yaml")
    assert caught.value.line == 4


@pytest.mark.parametrize("name", sorted(FACT_NAMES))
def test_exposure_may_not_take_a_fact_name(name: str) -> None:
    """A fact's name is reserved, enabled or not, so it always means the same thing."""
    text = POLICY + f"expose:\n  {name}:\n    target: '__main__:x'\n"
    with pytest.raises(PolicyError, match="built-in fact") as caught:
        parse_policy(text, path="p.yaml")
    assert (caught.value.line, caught.value.field) == (5, f"expose.{name}")


# -- threads ------------------------------------------------------------------------------------


def test_thread_dump_names_each_thread_and_where_it_waits(parked_thread: threading.Thread) -> None:
    """Each thread appears with its name, ident, daemon flag, and a stack through park()."""
    dump = snapshot_threads()
    parked = next(t for t in dump if t.name == "parked")
    assert parked.ident == parked_thread.ident
    assert parked.native_id == parked_thread.native_id
    assert parked.daemon is True
    assert not parked.current
    functions = [frame.function for frame in parked.stack]
    assert "park" in functions
    assert functions.index("park") < functions.index("Thread.run")  # most recent call first
    frame = parked.stack[functions.index("park")]
    assert frame.file == __file__
    assert frame.line == park.__code__.co_firstlineno + 2


def test_the_probe_thread_is_marked_and_shows_no_safeprobe_frames() -> None:
    """The thread taking the snapshot is marked current; safeprobe's own frames are cut."""
    dump = take_facts(["threads"], argv=(), max_items=100)["threads"]
    assert isinstance(dump, ThreadDump)
    me = next(t for t in dump if t.current)
    assert me.ident == threading.get_ident()
    assert me.stack[0].function == ("test_the_probe_thread_is_marked_and_shows_no_safeprobe_frames")
    # The package's own folder, not any folder named safeprobe: a checkout cloned into
    # ~/safeprobe holds these tests there too.
    package = str(Path(safeprobe.__file__).resolve().parent) + os.sep
    assert all(not str(Path(frame.file).resolve()).startswith(package) for frame in me.stack)


def test_safeprobe_frames_are_cut_from_every_subpackage_not_only_facts() -> None:
    """Frames of safeprobe/host (the runner, the execution) are cut too, not just facts'."""
    package = Path(safeprobe.__file__).resolve().parent
    # A frame whose file is safeprobe/host/…, as the runner's are, between this test and
    # take_facts (a partial adds no frame of its own). The file does not exist: coverage
    # omits this name (pyproject.toml) rather than report a source it cannot find.
    namespace: dict[str, object] = {}
    code = compile(
        "def run_code(take):\n    return take()\n",
        str(package / "host" / "_stand_in_frame.py"),
        "exec",
    )
    exec(code, namespace)  # a stand-in frame for the runner's own
    take = functools.partial(take_facts, ["threads"], argv=(), max_items=100)
    dump = namespace["run_code"](take)["threads"]  # type: ignore[operator]
    me = next(t for t in dump if t.current)
    assert (
        me.stack[0].function == "test_safeprobe_frames_are_cut_from_every_subpackage_not_only_facts"
    )


def test_thread_dump_prints_like_faulthandler(parked_thread: threading.Thread) -> None:
    """print(threads) is a readable dump: a header, then one block per thread."""
    text = render(snapshot_threads(), depth=0)
    assert text.startswith("Thread dump (")
    assert "most recent call first" in text.splitlines()[0]
    block = next(b for b in text.split("\n\n") if b.startswith('Thread "parked"'))
    lines = block.splitlines()
    assert lines[0] == (
        f'Thread "parked" ident={parked_thread.ident} '
        f"native_id={parked_thread.native_id} daemon=True"
    )
    assert f'  File "{__file__}", line {park.__code__.co_firstlineno + 2} in park' in lines


def test_a_hand_made_dump_renders_exactly() -> None:
    """The dump's format, pinned: blocks separated by blank lines, cuts counted."""
    frame = FrameInfo("/srv/app.py", 12, "serve")
    dump = ThreadDump(
        entries=(
            ThreadInfo("MainThread", 1, 10, False, False, (frame,), 3),
            ThreadInfo("idle", 2, None, True, True, (), 0),
        ),
        omitted=4,
    )
    assert render(dump, depth=0) == (
        "Thread dump (2 threads, most recent call first)\n"
        "\n"
        'Thread "MainThread" ident=1 native_id=10 daemon=False\n'
        '  File "/srv/app.py", line 12 in serve\n'
        "  … 3 more frames\n"
        "\n"
        'Thread "idle" ident=2 native_id=None daemon=True (running this probe)\n'
        "  (no Python frames)\n"
        "\n"
        "… 4 more threads not shown"
    )


def test_deep_stacks_are_cut_and_the_rest_counted() -> None:
    """A stack deeper than MAX_FRAMES keeps its innermost frames and counts the others."""
    release = threading.Event()
    thread = threading.Thread(target=recurse, args=(200, release), name="deep", daemon=True)
    thread.start()
    try:
        deep = next(
            t
            for t in snapshot_threads()
            if t.name == "deep" and any(f.function == "recurse" for f in t.stack)
        )
        assert len(deep.stack) == MAX_FRAMES
        assert deep.stack[0].function == "Event.wait" or "wait" in deep.stack[0].function
        assert deep.frames_omitted >= 200 - MAX_FRAMES
    finally:
        release.set()
        thread.join(5)


def test_thread_count_is_capped_by_max_items(parked_thread: threading.Thread) -> None:
    """The policy's max_items bounds how many threads a dump holds; the rest are counted."""
    dump = take_facts(["threads"], argv=(), max_items=1)["threads"]
    assert isinstance(dump, ThreadDump)
    assert len(dump) == 1
    assert dump.omitted >= 1
    assert "more threads not shown" in render(dump, depth=0)


class _SneakyThread(threading.Thread):
    """A Thread subclass whose public attributes are host code."""

    calls = 0

    @property  # type: ignore[override]
    def name(self) -> str:
        _SneakyThread.calls += 1
        return "from-property"

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    def __repr__(self) -> str:
        _SneakyThread.calls += 1
        return "sneaky"


def test_thread_subclass_properties_are_never_called() -> None:
    """Names and flags are read from the Thread's own fields, not its (host) properties."""
    release = threading.Event()
    thread = _SneakyThread(target=park, args=(release,), name="sneaky", daemon=True)
    thread.start()
    try:
        _SneakyThread.calls = 0
        dump = snapshot_threads()
        assert _SneakyThread.calls == 0
        assert "sneaky" in [t.name for t in dump]
    finally:
        release.set()
        thread.join(5)


@given(
    name=st.text(max_size=300),
    file=st.text(max_size=300),
    function=st.text(max_size=50),
    frames=st.integers(0, 5),
)
def test_any_names_render_one_line_per_frame(
    name: str, file: str, function: str, frames: int
) -> None:
    """Host-chosen names cannot add lines or control characters to a dump."""
    info = ThreadInfo(name, 1, None, None, False, (FrameInfo(file, 1, function),) * frames, 0)
    lines = render(info, depth=0).split("\n")
    assert len(lines) == 1 + max(frames, 1)
    assert all(line.isprintable() for line in lines)


def test_snapshot_bounds_host_strings() -> None:
    """Thread names and file paths longer than the cap are cut; paths keep their end."""
    release = threading.Event()
    code = compile("def f(e):\n    e.wait(30)\n", "/" + "d" * 500 + "/end.py", "exec")
    namespace: dict[str, object] = {}
    exec(code, namespace)
    target = namespace["f"]
    assert callable(target)
    thread = threading.Thread(target=target, args=(release,), name="n" * 1000, daemon=True)
    thread.start()
    try:
        long = next(t for t in snapshot_threads() if t.name.startswith("nnn"))
        assert len(long.name) == 200
        assert long.name.endswith("…")
        frame = next(f for f in long.stack if f.function == "f")
        assert len(frame.file) == 200
        assert frame.file.startswith("…")
        assert frame.file.endswith("/end.py")
    finally:
        release.set()
        thread.join(5)


# -- every fact -----------------------------------------------------------------------------------


def test_facts_hold_only_plain_data(parked_thread: threading.Thread) -> None:
    """Nothing reachable from any fact is a frame, thread, task, code or host object."""
    facts = take_facts(sorted(FACT_NAMES), argv=("app.py",), max_items=1000)
    for fact in facts.values():
        for value in reachable(fact):
            assert type(value) in PLAIN_TYPES + RECORD_TYPES + (tuple,), type(value)


def test_fact_records_are_frozen() -> None:
    """A fact cannot be changed, even by code outside the sandbox's guards."""
    dump = snapshot_threads()
    with pytest.raises(dataclasses.FrozenInstanceError):
        dump.entries[0].name = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        dump.entries[0] = dump.entries[0]  # type: ignore[index]


def test_rendering_is_done_once_per_record() -> None:
    """Printing a fact again returns the same text object: repeats build nothing new."""
    dump = snapshot_threads()
    assert render(dump, depth=0) is render(dump, depth=0)


def test_every_record_field_is_readable_and_nothing_else() -> None:
    """The probe may read exactly the dataclass fields; no name starts with '_'."""
    for kind, names in FACT_FIELDS.items():
        assert names == {f.name for f in dataclasses.fields(kind)}
        assert not any(name.startswith("_") for name in names)


def test_unknown_fact_name_is_refused() -> None:
    """take_facts refuses a name the policy would have refused too."""
    with pytest.raises(Exception, match="unknown fact"):
        take_facts(["threadz"], argv=(), max_items=10)


# -- process ------------------------------------------------------------------------------------


def test_process_fact_describes_this_process() -> None:
    """pid, parent, memory, descriptors, threads, Python and the argv given."""
    info = snapshot_process(argv=("app.py", "--token=<redacted>"))
    assert (info.pid, info.ppid) == (os.getpid(), os.getppid())
    assert info.rss_bytes is not None
    assert info.rss_bytes > 1024 * 1024
    assert info.open_fds is not None
    assert abs(info.open_fds - (len(os.listdir("/proc/self/fd")) - 1)) <= 2
    assert info.threads >= threading.active_count()
    assert info.uptime_s is not None
    assert info.uptime_s >= 0
    assert info.python == "{}.{}.{}".format(*sys.version_info[:3])
    assert info.implementation == sys.implementation.name
    assert info.argv == ("app.py", "--token=<redacted>")
    text = render(info, depth=0)
    assert text.startswith(f"Process {os.getpid()} (parent {os.getppid()}), up ")
    assert "argv ['app.py', '--token=<redacted>']" in text


def test_process_without_proc_reports_unknowns(tmp_path: Path) -> None:
    """Where /proc is missing the values it would give are None, not guesses."""
    info = snapshot_process(argv=(), proc=tmp_path / "self")
    assert (info.rss_bytes, info.open_fds, info.uptime_s) == (None, None, None)
    assert info.threads >= 1
    assert "rss ?, ? open fds" in render(info, depth=0)


def test_status_and_stat_parsing() -> None:
    """RSS and threads from status; start time counted from the last ')' of stat."""
    assert parse_status("Name:\tx\nVmRSS:\t  2048 kB\nThreads:\t7\n") == (2048 * 1024, 7)
    assert parse_status("garbage") == (None, None)
    fields = " ".join(["S"] + ["0"] * 18 + ["500"] + ["0"] * 10)
    stat = f"42 (a) (b c)) {fields}"
    assert process_uptime_s(stat, "12.5 3.0\n", clock_ticks=100) == 7.5
    assert process_uptime_s("42 (x) S", "12.5 3.0\n", clock_ticks=100) is None
    assert process_uptime_s(stat, "", clock_ticks=100) is None


# -- gc -----------------------------------------------------------------------------------------


def test_gc_fact_matches_the_collector() -> None:
    """Thresholds and generations are the gc module's; gc.garbage is counted only."""
    info = snapshot_gc()
    assert isinstance(info, GcInfo)
    assert info.enabled == gc.isenabled()
    assert tuple(g.threshold for g in info.generations) == gc.get_threshold()
    assert [g.generation for g in info.generations] == [0, 1, 2]
    assert info.garbage == len(gc.garbage)
    text = render(info, depth=0)
    assert text.splitlines()[1].split() == [
        "generation",
        "count",
        "threshold",
        "collections",
        "collected",
        "uncollectable",
    ]


# -- asyncio ------------------------------------------------------------------------------------


class LoopThread:
    """An event loop running in a thread of its own, as a host's would be."""

    def __init__(self, name: str = "loop-thread") -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[object, object, object]) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def close(self) -> None:
        async def cancel_all() -> None:
            me = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not me]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    runner = LoopThread()
    yield runner
    runner.close()


async def ticker() -> None:
    while True:
        await asyncio.sleep(0.01)


async def consume(queue: asyncio.Queue[int]) -> None:
    await queue.get()


def _start(
    runner: LoopThread, factory: Callable[[], Coroutine[object, object, None]], name: str
) -> asyncio.Task[None]:
    async def create() -> asyncio.Task[None]:
        task = asyncio.create_task(factory(), name=name)
        await asyncio.sleep(0)
        return task

    task = runner.run(create())
    assert task is not None
    return task  # type: ignore[return-value]


def test_asyncio_not_loaded_says_so() -> None:
    """Without asyncio in sys.modules there is nothing to read, and nothing is imported."""
    dump = snapshot_tasks(modules={})
    assert (dump.entries, dump.note) == ((), "asyncio is not loaded in this process")
    assert render(dump, depth=0) == "asyncio tasks: none (asyncio is not loaded in this process)"


def test_tasks_of_a_loop_in_another_thread(loop_thread: LoopThread) -> None:
    """Names, states, coroutines and where each task awaits, read from outside the loop."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    _start(loop_thread, ticker, "ticker")
    _start(loop_thread, lambda: consume(queue), "consumer")
    dump = snapshot_tasks()
    mine = {t.name: t for t in dump if t.name in ("ticker", "consumer")}
    assert set(mine) == {"ticker", "consumer"}
    tick = mine["ticker"]
    assert (tick.state, tick.coroutine, tick.awaiting) == ("pending", "ticker", "Future pending")
    assert [f.function for f in tick.stack] == ["sleep", "ticker"]
    assert tick.stack[1].file == __file__
    assert [f.function for f in mine["consumer"].stack] == ["Queue.get", "consume"]
    loop = next(loop for loop in dump.loops if loop.index == tick.loop)
    assert (loop.thread_ident, loop.thread_name, loop.running) == (
        loop_thread.thread.ident,
        "loop-thread",
        True,
    )
    text = render(dump, depth=0)
    assert 'running in thread "loop-thread"' in text
    assert 'Task "ticker" pending, coroutine ticker, awaiting Future pending\n' in text
    assert f'  File "{__file__}", line ' in text


def test_done_cancelled_and_failed_tasks_say_so(loop_thread: LoopThread) -> None:
    """A finished task's state, and the class (never the text) of what it raised."""

    async def fail() -> None:
        raise ValueError("secret detail")

    async def make() -> list[asyncio.Task[None]]:
        done = asyncio.create_task(asyncio.sleep(0), name="finished")
        failed = asyncio.create_task(fail(), name="failed")
        cancelled = asyncio.create_task(asyncio.sleep(10), name="cancelled")
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.gather(done, failed, cancelled, return_exceptions=True)
        return [done, failed, cancelled]

    tasks = loop_thread.run(make())
    dump = snapshot_tasks()
    states = {t.name: (t.state, t.exception) for t in dump}
    assert states["finished"] == ("done", None)
    assert states["failed"] == ("done", "ValueError")
    assert states["cancelled"] == ("cancelled", None)
    assert "secret detail" not in render(dump, depth=0)
    assert isinstance(tasks, list)


def test_the_task_taking_the_snapshot_is_running(loop_thread: LoopThread) -> None:
    """The loop's current task (from asyncio's own record of it) is shown as running."""

    async def look() -> TaskDump:
        return snapshot_tasks()

    dump = loop_thread.run(look())
    assert isinstance(dump, TaskDump)
    assert [t.coroutine for t in dump if t.state == "running"] == [
        "test_the_task_taking_the_snapshot_is_running.<locals>.look"
    ]


class _CountingTask(asyncio.Task):  # type: ignore[type-arg]
    """A Task subclass whose methods are host code; records which threads call them (the
    loop's own thread calls them as asyncio runs the task)."""

    callers: ClassVar[set[int]] = set()

    def get_name(self) -> str:
        _CountingTask.callers.add(threading.get_ident())
        return super().get_name()

    def done(self) -> bool:
        _CountingTask.callers.add(threading.get_ident())
        return super().done()

    def get_loop(self) -> asyncio.AbstractEventLoop:
        _CountingTask.callers.add(threading.get_ident())
        return super().get_loop()

    def __repr__(self) -> str:
        _CountingTask.callers.add(threading.get_ident())
        return "counting"


def test_task_subclass_methods_are_never_called(loop_thread: LoopThread) -> None:
    """Tasks are read through the C Task's own slots, so a subclass's overrides never run."""
    loop_thread.loop.set_task_factory(lambda loop, coro, **kw: _CountingTask(coro, loop=loop, **kw))
    _start(loop_thread, ticker, "counted")
    _CountingTask.callers.clear()
    dump = snapshot_tasks()
    assert threading.get_ident() not in _CountingTask.callers
    counted = next(t for t in dump if t.name == "counted")
    assert counted.state == "pending"


def test_pure_python_tasks_are_read_too(loop_thread: LoopThread) -> None:
    """A loop using asyncio's pure-Python Task is read from the task's instance dict."""
    py_task = sys.modules["asyncio.tasks"]._PyTask  # type: ignore[attr-defined]
    loop_thread.loop.set_task_factory(lambda loop, coro, **kw: py_task(coro, loop=loop, **kw))
    _start(loop_thread, ticker, "python-task")
    dump = snapshot_tasks()
    task = next(t for t in dump if t.name == "python-task")
    assert (task.state, task.coroutine) == ("pending", "ticker")
    assert task.stack[-1].function == "ticker"


def test_task_count_is_capped_pending_first(loop_thread: LoopThread) -> None:
    """Past the cap, tasks are counted; pending ones are kept before finished ones."""

    async def make() -> list[asyncio.Task[None]]:
        finished = [asyncio.create_task(asyncio.sleep(0), name=f"f{i}") for i in range(5)]
        await asyncio.gather(*finished)
        return finished

    kept = loop_thread.run(make())
    _start(loop_thread, ticker, "pending-one")
    dump = snapshot_tasks(max_tasks=1)
    assert [t.name for t in dump] == ["pending-one"]
    assert dump.omitted >= 5
    assert isinstance(kept, list)


def test_snapshots_race_a_busy_loop_safely(loop_thread: LoopThread) -> None:
    """Tasks created and finished while another thread snapshots never break the snapshot."""
    stop = threading.Event()

    async def churn() -> None:
        while not stop.is_set():
            await asyncio.gather(*(asyncio.sleep(0) for _ in range(50)))

    future = asyncio.run_coroutine_threadsafe(churn(), loop_thread.loop)
    # Up to 200 snapshots, but no more than 20 s of them once 20 are taken: under coverage's
    # tracer both threads run ~15x slower, and 200 took ~130 s, past the tier's timeout.
    started = time.monotonic()
    try:
        for taken in range(200):
            dump = snapshot_tasks()
            assert dump.note is None
            if taken >= 20 and time.monotonic() - started > 20:
                break
    finally:
        stop.set()
        future.result(10)


def test_loop_thread_is_known_only_when_the_loop_records_it() -> None:
    """BaseEventLoop records its thread while it runs; a loop class that does not is shown
    as unknown, not as stopped."""

    class ForeignLoop:
        __slots__ = ()

    idle = asyncio.new_event_loop()
    try:
        assert render(_loop_info(1, idle, 0, {}), depth=0) == "Loop 1 (0 tasks), not running"
    finally:
        idle.close()
    foreign = _loop_info(2, ForeignLoop(), 1, {})
    assert foreign.running is None
    assert render(foreign, depth=0) == "Loop 2 (1 task), its thread is unknown"


def test_task_names_are_escaped_in_the_dump(loop_thread: LoopThread) -> None:
    """A task name with a newline cannot forge a line of the dump."""
    _start(loop_thread, ticker, 'evil\n  File "forged.py", line 1 in x')
    text = render(snapshot_tasks(), depth=0)
    assert '\n  File "forged.py"' not in text
    assert '"evil\\n  File \\"forged.py\\", line 1 in x"' in text


# -- through the sandbox ------------------------------------------------------------------------


def _policy(tmp_path: Path, probe: str, facts: list[str], isolation: str = "thread") -> Path:
    (tmp_path / "probe.py").write_text(probe)
    (tmp_path / "probe.py").chmod(0o644)
    path = tmp_path / "policy.yaml"
    data = {
        "version": 1,
        "probe": {"path": "probe.py"},
        "facts": facts,
        "isolation": isolation,
        "audit": {"path": "audit.jsonl"},
    }
    path.write_text(yaml.safe_dump(data))
    return path


def test_probe_reads_facts_by_index_field_and_iteration(
    tmp_path: Path, parked_thread: threading.Thread
) -> None:
    """A probe walks facts like its own data: for, len, [], fields, f-strings, sorted."""
    probe = (
        "names = sorted(t.name for t in threads)\n"
        "print('parked' in names, len(threads) == len(names))\n"
        "top = [t for t in threads if t.name == 'parked'][0].stack\n"
        "print(f'{top[0].function} {len(top) > 1}')\n"
        "print(process.pid, gc.generations[0].generation, asyncio.note is None or 'x')\n"
    )
    attempt = run_probe(_policy(tmp_path, probe, ["threads", "process", "gc", "asyncio"]))
    assert attempt.outcome is Outcome.OK, attempt.reason
    lines = attempt.output.splitlines()
    assert lines[0] == "True True"
    assert lines[1].split()[1] == "True"
    assert lines[2].split()[:2] == [str(os.getpid()), "0"]


def test_print_threads_is_a_thread_dump(tmp_path: Path, parked_thread: threading.Thread) -> None:
    """The one-line probe of the issue: print(threads)."""
    attempt = run_probe(_policy(tmp_path, "print(threads)\n", ["threads"]))
    assert attempt.outcome is Outcome.OK, attempt.reason
    assert attempt.output.startswith("Thread dump (")
    assert 'Thread "parked" ident=' in attempt.output
    assert "in park\n" in attempt.output


@pytest.mark.parametrize(
    "probe",
    [
        "threads[0].name = 'x'\n",
        "process.pid = 1\n",
        "del threads[0]\n",
        "threads[0] = 1\n",
        "del process.pid\n",
    ],
)
def test_facts_cannot_be_written(tmp_path: Path, probe: str) -> None:
    """Every write to a fact is refused like a write to a host view."""
    attempt = run_probe(_policy(tmp_path, probe, ["threads", "process", "gc"]))
    assert attempt.outcome is Outcome.DENIED, attempt.reason
    assert "read-only" in attempt.reason


def test_a_fact_not_enabled_is_not_there(tmp_path: Path) -> None:
    """Without facts: in the policy, the name is simply unknown to the probe."""
    attempt = run_probe(_policy(tmp_path, "print(threads)\n", []))
    assert attempt.outcome is Outcome.DENIED
    assert "'threads' is not exposed" in attempt.reason


def test_facts_are_fresh_on_every_attempt(tmp_path: Path) -> None:
    """Each attempt takes its own snapshot: a thread started between attempts appears."""
    policy = _policy(tmp_path, "print(sorted(t.name for t in threads))\n", ["threads"])
    assert "later" not in run_probe(policy).output
    release = threading.Event()
    thread = threading.Thread(target=park, args=(release,), name="later", daemon=True)
    thread.start()
    try:
        assert "'later'" in run_probe(policy).output
    finally:
        release.set()
        thread.join(5)


@pytest.mark.slow
def test_facts_are_taken_in_the_host_under_fork_isolation(
    tmp_path: Path, parked_thread: threading.Thread
) -> None:
    """isolation: fork runs the probe in a child, but the facts describe the host: its pid,
    and all its threads (a forked child has only one)."""
    probe = "print(process.pid)\nprint(sorted(t.name for t in threads))\n"
    attempt = run_probe(_policy(tmp_path, probe, ["process", "threads"], isolation="fork"))
    assert attempt.outcome is Outcome.OK, attempt.reason
    pid, names = attempt.output.splitlines()
    assert int(pid) == os.getpid()
    assert "'parked'" in names
