"""Figures measured inside one fresh process, safeprobe and its baseline interleaved.

Usage: python -m benchmarks.measure {idle,guard,hotpaths,overshoot,fork} [--quick]
       python -m benchmarks.measure forkcost --size-mb N [--huge-pages] [--quick]

Prints one JSON object with the per-round values on stdout. The suite (benchmarks.suite)
runs each figure in a process of its own, so one figure's threads, caches and memory
cannot colour another's.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import json
import os
import pstats
import sys
import tempfile
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Final, cast

import safeprobe
from benchmarks import forkcost
from benchmarks.driver import write_policy, write_probe
from benchmarks.stats import percentile
from safeprobe.audit.chain import record_line
from safeprobe.audit.sink import AuditSink
from safeprobe.probe.allowlist import Allowlist
from safeprobe.probe.budget import Budget, OutputBuffer
from safeprobe.probe.compiler import compile_probe
from safeprobe.probe.redaction import Redactor
from safeprobe.probe.render import RenderLimits
from safeprobe.probe.sandbox import AttemptState, Sandbox
from safeprobe.probe.view_context import ViewContext
from safeprobe.probe.views import wrap

Result = dict[str, object]

# ---- shared set-up ---------------------------------------------------------------------------

# The probe of the original story, as a safeprobe probe and as the baseline's bar.py.
STORY_PROBE = "print(my_object.data)\n"
BASELINE_BAR = (
    "import sys\n"
    "import __main__ as foo\n\n\n"
    "def execute():\n"
    "    print(foo.my_object.data, file=sys.stderr)\n"
)


class MyObject:
    def __init__(self) -> None:
        self.data = {"a": "aaa", "b": "bbb", "c": "ccc"}


def _policy(folder: Path, name: str, probe: str, **settings: object) -> Path:
    """A policy file with its own probe and audit file in ``folder``; defaults otherwise."""
    write_probe(folder / f"{name}.py", probe)
    policy: dict[str, object] = {
        "version": 1,
        "name": name,
        "probe": {"path": f"{name}.py"},
        "audit": {"path": f"{name}.audit.jsonl"},
    }
    policy.update(settings)
    return write_policy(folder / f"{name}.yaml", policy)


def _attempt(policy: Path, expected: str = "ok") -> float:
    """One safeprobe.run_probe, end to end (policy, probe file, run, audit); its ms."""
    started = time.perf_counter()
    attempt = safeprobe.run_probe(policy)
    elapsed = (time.perf_counter() - started) * 1000
    if attempt.outcome != expected:
        raise RuntimeError(f"{policy.name}: {attempt.outcome}: {attempt.reason}")
    return elapsed


def _silence_stderr() -> None:
    # safeprobe frames each report on the host's stderr, and so does the baseline's probe;
    # both go to /dev/null alike, so neither pays for a terminal.
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115, PTH123 - lives as long as the process


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# ---- 1. idle overhead ------------------------------------------------------------------------


def _cpu_work() -> int:
    # A little of what a service does between requests: ints, strings, a dict.
    table: dict[str, int] = {}
    for i in range(20):
        table[str(i)] = i * i
    return sum(table.values())


def cpu_loop(seconds: float) -> float:
    """Calls of ``_cpu_work`` per second, for ``seconds``."""
    count = 0
    started = time.perf_counter()
    end = started + seconds
    while True:
        for _ in range(50):
            _cpu_work()
        count += 50
        now = time.perf_counter()
        if now >= end:
            return count / (now - started)


def io_loop(seconds: float) -> float:
    """Round trips of 512 bytes through a pipe per second, for ``seconds``."""
    read_end, write_end = os.pipe()
    payload = b"x" * 512
    count = 0
    try:
        started = time.perf_counter()
        end = started + seconds
        while True:
            for _ in range(50):
                os.write(write_end, payload)
                os.read(read_end, 4096)
            count += 50
            now = time.perf_counter()
            if now >= end:
                return count / (now - started)
    finally:
        os.close(read_end)
        os.close(write_end)


def idle(quick: bool) -> Result:
    """Host loop throughput with safeprobe installed vs not, alternating in one process."""
    # Many short turns rather than a few long ones: each round's pair is measured within
    # a fraction of a second, so drift in the machine's load cancels out of its ratio.
    rounds, chunk_s = (3, 0.05) if quick else (30, 0.2)
    folder = Path(tempfile.mkdtemp(prefix="sp-idle-"))
    policy = _policy(folder, "idle", "print(1)\n")
    result: Result = {"rounds": rounds, "chunk_s": chunk_s}
    loops: dict[str, Callable[[float], float]] = {"cpu": cpu_loop, "io": io_loop}
    for name, loop in loops.items():
        result[name] = _alternate(loop, policy, rounds, chunk_s)
    # Most services already run a thread of their own (a pool, a logger); then safeprobe's
    # two threads add no cost of their own to the process (see the report's closing note).
    threading.Thread(target=threading.Event().wait, name="host-thread", daemon=True).start()
    for name, loop in loops.items():
        result[f"{name}_threaded"] = _alternate(loop, policy, rounds, chunk_s)
    return result


def _alternate(
    loop: Callable[[float], float], policy: Path, rounds: int, chunk_s: float
) -> dict[str, list[float]]:
    """Throughput with and without safeprobe installed, in turns, the order swapped each
    round; install() and uninstall() happen outside the timed chunks."""
    installed: list[float] = []
    plain: list[float] = []
    loop(chunk_s / 2)  # warm up
    for index in range(rounds):
        order = (True, False) if index % 2 == 0 else (False, True)
        for with_safeprobe in order:
            if with_safeprobe:
                safeprobe.install(policy)
            time.sleep(0.01)  # let install()'s threads reach their waits
            try:
                rate = loop(chunk_s)
            finally:
                if with_safeprobe:
                    safeprobe.uninstall()
            (installed if with_safeprobe else plain).append(rate)
    return {"safeprobe": installed, "baseline": plain}


# ---- 3. guard overhead -----------------------------------------------------------------------

DICT_PROBE = """\
total = 0
for key, value in data.items():
    total += len(value)
print("entries:", len(data), "total length:", total)
"""

TREE_PROBE = """\
count = 0
total = 0
stack = [tree]
while stack:
    node = stack.pop()
    count += 1
    total += node.value
    for child in node.children:
        stack.append(child)
print("nodes:", count, "sum:", total)
"""


class Node:
    """A host object with children: what a nested-object walk reads."""

    def __init__(self, value: int, children: list[Node]) -> None:
        self.value = value
        self.children = children


def _tree(depth: int, fanout: int) -> Node:
    if depth == 0:
        return Node(1, [])
    return Node(depth, [_tree(depth - 1, fanout) for _ in range(fanout)])


def _host_module(entries: int, depth: int) -> types.ModuleType:
    """The host's state, in a module of its own that policies can name."""
    module = types.ModuleType("bench_host")
    module.data = {f"key{i:06d}": "v" * (i % 64) for i in range(entries)}  # type: ignore[attr-defined]
    module.tree = _tree(depth, 4)  # type: ignore[attr-defined]
    sys.modules["bench_host"] = module
    return module


def _plain_runner(body: str, names: dict[str, object]) -> Callable[[], tuple[float, str]]:
    """The baseline: the same body compiled normally, exec'd on the raw host objects."""
    code = compile(body, "<plain>", "exec")

    def run() -> tuple[float, str]:
        out = io.StringIO()

        def show(*args: object) -> None:
            print(*args, file=out)

        namespace = {**names, "print": show}
        started = time.perf_counter()
        exec(code, namespace)
        return (time.perf_counter() - started) * 1000, out.getvalue()

    return run


# The file name a profiled probe is compiled under, so its own code is told apart.
_PROFILED: Final = "profiled-probe.py"
Row = dict[str, object]


def _profile(body: str, expose: dict[str, dict[str, object]], top: int = 12) -> list[Row]:
    """Where a probe's own work goes, as the forked child runs it: the same compiled code,
    budget, sandbox and views, run in this process under cProfile (a profile of the
    attempt itself sees only the parent waiting for the child). The functions with most
    own time."""
    code = compile_probe(body, path=_PROFILED)
    budget = Budget(timeout_s=600, max_steps=10**9, max_items=1_000_000)
    state = AttemptState(budget, OutputBuffer(64 * 1024), RenderLimits())
    redactor = Redactor.with_defaults()
    exposures: dict[str, object] = {}
    for name, spec in expose.items():
        module_name, _, attribute_path = str(spec["target"]).partition(":")
        value: object = sys.modules[module_name]
        for attribute in attribute_path.split("."):
            value = getattr(value, attribute)
        allow = cast("list[str]", spec.get("allow", []))
        context = ViewContext(
            exposure=name,
            allowlist=Allowlist.parse(allow),
            redactor=redactor,
            max_items=budget.max_items,
            render_limits=state.render_limits,
            on_denied=state.record_denial,
            budget=budget,
        )
        exposures[name] = wrap(value, (), context)
    namespace = Sandbox(state).globals(exposures, name="probe")
    profiler = cProfile.Profile()
    profiler.enable()
    exec(code, namespace)  # a compiled probe in its sandbox, as the child runs it
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(entry[2] for entry in stats.stats.values())  # type: ignore[attr-defined]
    rows: list[Row] = []
    shares: list[float] = []
    for (filename, line, function), entry in stats.stats.items():  # type: ignore[attr-defined]
        _cc, calls, tottime, cumtime, _callers = entry
        where = f"{Path(filename).parent.name}/{Path(filename).name}:{line}" if line else ""
        if filename == _PROFILED:
            where = "the probe's own code "
        rows.append(
            {
                "function": f"{where}({function})" if where else function,
                "calls": calls,
                "own_share": tottime / total if total else 0.0,
                "cum_share": cumtime / total if total else 0.0,
            }
        )
        shares.append(tottime)
    ranked = sorted(zip(shares, rows, strict=True), key=lambda pair: -pair[0])
    return [row for _, row in ranked[:top]]


def guard(quick: bool) -> Result:
    """The same probe bodies under safeprobe (whole attempts) and under plain exec."""
    entries, depth, rounds = (1000, 3, 2) if quick else (100_000, 7, 7)
    module = _host_module(entries, depth)
    folder = Path(tempfile.mkdtemp(prefix="sp-guard-"))
    # Limits large enough that the work finishes: the figure is the cost of the guards.
    limits = {"timeout": "60s", "max_steps": 10**9}
    bodies = {
        "dict": (DICT_PROBE, {"data": {"target": "bench_host:data"}}, {"data": module.data}),
        "tree": (
            TREE_PROBE,
            {"tree": {"target": "bench_host:tree", "allow": ["**"]}},
            {"tree": module.tree},
        ),
    }
    result: Result = {"rounds": rounds, "entries": entries, "tree_depth": depth}
    for name, (body, expose, raw) in bodies.items():
        policy = _policy(folder, name, body, expose=expose, limits=limits)
        plain = _plain_runner(body, raw)
        first = safeprobe.run_probe(policy)  # compiles and caches the probe
        _, plain_out = plain()
        if first.output != plain_out:
            raise RuntimeError(f"{name}: outputs differ: {first.output!r} vs {plain_out!r}")
        ours: list[float] = []
        theirs: list[float] = []
        in_child: list[float] = []
        for index in range(rounds):
            if index % 2:
                theirs.append(plain()[0])
                ours.append(_attempt(policy))
            else:
                ours.append(_attempt(policy))
                theirs.append(plain()[0])
            in_child.append(_in_forked_child(plain))
        result[name] = {
            "safeprobe": ours,
            "baseline": theirs,
            "plain_in_child": in_child,
            "output": plain_out.strip(),
            "profile": _profile(body, expose),
        }
    return result


def _in_forked_child(plain: Callable[[], tuple[float, str]]) -> float:
    """The plain body's ms in a forked child of this process, as a fork attempt runs its
    probe: the floor of a walk there (each page the walk writes, reference counts
    included, is copied once after the fork), not counting the fork itself."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run, report, leave without any cleanup
        try:
            os.write(writer, repr(plain()[0]).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    return float(text)


# ---- hot paths: the per-operation costs behind the guard overhead ---------------------------


def _per_op_us(policy: Path, empty: Path, ops: int) -> float:
    """Microseconds per operation: an attempt doing ``ops`` of them, minus one that only
    loops as often (so loop, tick and the attempt's fixed costs cancel)."""
    return (_attempt(policy) - _attempt(empty)) * 1000 / ops


def _plain_per_op_us(body: str, empty: str, names: dict[str, object], ops: int) -> float:
    full_ms = _plain_runner(body, names)()[0]
    empty_ms = _plain_runner(empty, names)()[0]
    return (full_ms - empty_ms) * 1000 / ops


def hotpaths(quick: bool) -> Result:
    """Per-operation costs of proxy attribute reads, guarded iteration and audit appends."""
    ops, rounds, appends = (2000, 2, 20) if quick else (200_000, 7, 300)
    module = types.ModuleType("bench_hot")
    module.node = Node(1, [])  # type: ignore[attr-defined]
    module.items = list(range(ops))  # type: ignore[attr-defined]
    sys.modules["bench_hot"] = module
    folder = Path(tempfile.mkdtemp(prefix="sp-hot-"))
    expose = {
        "node": {"target": "bench_hot:node", "allow": ["value"]},
        "items": {"target": "bench_hot:items"},
    }
    limits = {"timeout": "60s", "max_steps": 10**9, "max_items": max(ops, 100_000)}
    loop = f"for i in range({ops}):\n    pass\n"
    read = f"for i in range({ops}):\n    x = node.value\n"
    walk = "for x in items:\n    pass\n"
    settings = {"expose": expose, "limits": limits}
    bodies = {"empty": "pass\n", "loop": loop, "read": read, "walk": walk}
    policies = {name: _policy(folder, name, body, **settings) for name, body in bodies.items()}
    for policy in policies.values():
        _attempt(policy)  # compile and warm
    names: dict[str, object] = {"node": module.node, "items": module.items}
    result: Result = {"rounds": rounds, "ops": ops, "appends": appends}
    reads: tuple[list[float], list[float]] = ([], [])
    walks: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        # A read costs what a loop reading once per turn costs beyond the same bare loop.
        reads[0].append(_per_op_us(policies["read"], policies["loop"], ops))
        reads[1].append(_plain_per_op_us(read, loop, names, ops))
        # An item costs what walking the host list costs beyond an attempt that does nothing.
        walks[0].append(_per_op_us(policies["walk"], policies["empty"], ops))
        walks[1].append(_plain_per_op_us(walk, "pass\n", names, ops))
    result["attribute_read"] = {
        "safeprobe": reads[0],
        "baseline": reads[1],
        "profile": _profile(read, {"node": expose["node"]}),
    }
    result["iteration"] = {
        "safeprobe": walks[0],
        "baseline": walks[1],
        "profile": _profile(walk, {"items": expose["items"]}),
    }
    result["audit_append"] = _audit_appends(folder, rounds, appends)
    return result


def _audit_appends(folder: Path, rounds: int, appends: int) -> Result:
    """AuditSink.append (open, lock, find the last record, chain, write, fsync) to a log of
    500 records vs appending the same JSON line to an open file and fsyncing it."""
    fields: dict[str, object] = {
        "ts": "2026-11-27T00:00:00.000000Z",
        "host": {"pid": 1, "hostname": "bench", "argv": ["app.py"]},
        "outcome": "ok",
        "reason": "ok",
        "duration_ms": 1.0,
        "steps": 10,
        "output": {"bytes": 0, "digest": None, "truncated": False},
    }
    line = record_line({"seq": 1, **fields, "prev": "0" * 64, "mac": "0" * 64})
    ours: list[float] = []
    theirs: list[float] = []
    for index in range(rounds):
        sink = AuditSink(str(folder / f"audit-{index}.jsonl"))
        for _ in range(500):
            sink.append(fields)  # a log with history: the sink reads its tail to chain
        started = time.perf_counter()
        for _ in range(appends):
            sink.append(fields)
        ours.append((time.perf_counter() - started) * 1e6 / appends)
        fd = os.open(folder / f"plain-{index}.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line * 500)
            started = time.perf_counter()
            for _ in range(appends):
                os.write(fd, line)
                os.fsync(fd)
            theirs.append((time.perf_counter() - started) * 1e6 / appends)
        finally:
            os.close(fd)
    return {"safeprobe": ours, "baseline": theirs}


# ---- 4. deadline overshoot -------------------------------------------------------------------


def overshoot(quick: bool) -> Result:
    """``while True: pass`` under a 100 ms timeout: how long after it the attempt ends."""
    timeout_ms, rounds, runs = (20, 2, 3) if quick else (100, 5, 40)
    folder = Path(tempfile.mkdtemp(prefix="sp-overshoot-"))
    result: Result = {"rounds": rounds, "runs": runs, "timeout_ms": timeout_ms}
    for isolation in ("thread", "fork"):
        policy = _policy(
            folder,
            f"spin-{isolation}",
            "while True:\n    pass\n",
            isolation=isolation,
            limits={"timeout": f"{timeout_ms}ms", "max_steps": 10**12},
        )
        p50: list[float] = []
        p99: list[float] = []
        for _ in range(rounds):
            values = []
            for _ in range(runs):
                attempt = safeprobe.run_probe(policy)
                if attempt.outcome != "timeout":
                    raise RuntimeError(f"{isolation}: {attempt.outcome}: {attempt.reason}")
                values.append(attempt.duration_ms - timeout_ms)
            p50.append(percentile(values, 50))
            p99.append(percentile(values, 99))
        result[isolation] = {"p50": p50, "p99": p99}
    return result


# ---- 7. fork mode ----------------------------------------------------------------------------


def fork(quick: bool) -> Result:
    """Attempt latency in fork and thread isolation at two host sizes, against calling the
    original reload-and-call handler in the same process, and against the floor of a fork
    attempt: a bare ``fork()`` + ``_exit`` + ``waitpid`` of the same process, in turns."""
    sizes_mb, rounds, runs = ((60, 120), 2, 3) if quick else ((100, 1000), 5, 20)
    folder = Path(tempfile.mkdtemp(prefix="sp-fork-"))
    sys.modules["__main__"].my_object = MyObject()  # type: ignore[attr-defined]
    expose = {"my_object": {"target": "__main__:my_object", "allow": ["data"]}}
    policies = {
        isolation: _policy(folder, isolation, STORY_PROBE, expose=expose, isolation=isolation)
        for isolation in ("fork", "thread")
    }
    write_probe(folder / "bar.py", BASELINE_BAR)
    sys.dont_write_bytecode = False
    sys.path.insert(0, str(folder))
    bar = importlib.import_module("bar")

    def baseline() -> float:
        started = time.perf_counter()
        importlib.reload(bar)
        bar.execute()
        return (time.perf_counter() - started) * 1000

    runners: dict[str, Callable[[], float]] = {
        "fork": lambda: _attempt(policies["fork"]),
        "thread": lambda: _attempt(policies["thread"]),
        "baseline": baseline,
        "bare_fork": _bare_fork_ms,
    }
    for run in runners.values():
        run()  # compile, cache, warm
    result: Result = {"rounds": rounds, "runs": runs}
    ballast: list[bytearray] = []
    for size in sizes_mb:
        missing = int(size - _rss_mb())
        if missing > 0:
            block = bytearray(missing * 1024 * 1024)
            for offset in range(0, len(block), 4096):
                block[offset] = 1  # touch every page so it is resident
            ballast.append(block)
        figures: dict[str, dict[str, list[float]]] = {
            name: {"p50": [], "p99": []} for name in runners
        }
        for index in range(rounds):
            samples: dict[str, list[float]] = {name: [] for name in runners}
            names = list(runners)
            for run_index in range(runs):
                shift = (index + run_index) % len(names)
                for name in names[shift:] + names[:shift]:
                    samples[name].append(runners[name]())
            for name, values in samples.items():
                figures[name]["p50"].append(percentile(values, 50))
                figures[name]["p99"].append(percentile(values, 99))
        result[str(size)] = {"rss_mb": round(_rss_mb()), **figures}
    del ballast
    return result


def _bare_fork_ms() -> float:
    """The floor of a fork attempt in this host: fork, the child exits at once, reap it."""
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os._exit(0)
    os.waitpid(pid, 0)
    return (time.perf_counter() - started) * 1000


FIGURES: dict[str, Callable[[bool], Result]] = {
    "idle": idle,
    "guard": guard,
    "hotpaths": hotpaths,
    "overshoot": overshoot,
    "fork": fork,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figure", choices=sorted([*FIGURES, "forkcost"]))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--size-mb", type=int, default=100, help="forkcost: the host's RSS")
    parser.add_argument("--huge-pages", action="store_true", help="forkcost: in THP")
    args = parser.parse_args()
    _silence_stderr()
    if args.figure == "forkcost":
        # One host size per process: only one big host is alive at a time.
        result = forkcost.measure(args.size_mb, quick=args.quick, huge_pages=args.huge_pages)
    else:
        result = FIGURES[args.figure](args.quick)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
