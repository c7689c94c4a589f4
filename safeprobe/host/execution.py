"""Running a probe: its file read (source.py), its namespace (exposures, facts, the
sandbox), in the runner's thread or a forked child, and how it ended: an ``Outcome`` and a
reason naming file, line and rule. The runner around it audits and reports; this module
only reads and runs.
"""

from __future__ import annotations

import decimal
import functools
import json
import signal
import sys
import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final, cast

from safeprobe.attempt import Outcome
from safeprobe.errors import (
    ProbeCompileError,
    ProbeCompileTimeout,
    ProbeDenied,
    ProbeRejected,
    SafeprobeError,
)
from safeprobe.host.isolation import ChildReport, run_forked
from safeprobe.host.source import ProbeSource, read_probe
from safeprobe.policy.models import Policy, ProbeSpec
from safeprobe.probe.allowlist import Allowlist
from safeprobe.probe.budget import Budget, OutputBuffer
from safeprobe.probe.compiler import BUILTIN_HINTS, CodeCache, compile_probe
from safeprobe.probe.evaluation import (
    EvaluatePlan,
    Evaluations,
    Evaluator,
    known_paths,
    merge_reports,
)
from safeprobe.probe.facts.take import take_facts
from safeprobe.probe.host_keys import NOT_FOUND, KeyMemo, find_name
from safeprobe.probe.redaction import Redactor
from safeprobe.probe.render import RenderLimits
from safeprobe.probe.sandbox import AttemptState, Sandbox
from safeprobe.probe.static_reads import read_attribute
from safeprobe.probe.text import to_text
from safeprobe.probe.top_level import unbound_top_level_name
from safeprobe.probe.values import FIXED_DECIMAL_CONTEXT
from safeprobe.probe.view_context import ViewContext
from safeprobe.probe.views import wrap

# Bounds on what a probe can make the runner write: the exception text shown to the
# operator, a name quoted in a refusal.
_MAX_DETAIL_CHARS: Final = 1000
_MAX_NAME_CHARS: Final = 100
# Room on the child's pipe for the JSON header beside the probe's (capped) output.
_HEADER_ROOM_BYTES: Final = 64 * 1024
# The forked child sends this byte once the probe has compiled, before any of it runs, so
# a child killed at the deadline is reported as still compiling or as running. A header
# starts with "{", so the two never mix up. It is followed, in the same write (one write of
# a few bytes to a pipe is atomic), by how long the child's compile took, in microseconds.
_COMPILED: Final = b"c"
_COMPILE_US_BYTES: Final = 4
_MAX_COMPILE_US: Final = 2 ** (8 * _COMPILE_US_BYTES) - 1
# Fork isolation compiles a probe in the child, under its deadline and kill (SECURITY.md,
# "Isolation"): a compile that would hold the GIL for seconds, or take the host's memory,
# dies there. Compiling there cost a fork attempt of a ~100 MB host ~2.5 ms, most of it the
# compiler's first writes to pages the fork shared (BENCHMARKS.md, "Profiles"). So the host
# compiles a probe itself only when a child has compiled the very same bytes (path and
# sha256) within this bound, timed in the child before any probe code ran there: compiling
# is deterministic, so the host's one compile of those bytes is bounded as the child's was
# (real probes compile in 0.1-1.5 ms). A probe whose compile is slower, or was killed, is
# compiled in a child at every attempt.
_HOST_COMPILE_BOUND_S: Final = 0.01
_MAX_QUICK_COMPILES: Final = 64


class _QuickCompiles:
    """Probe bytes (path, sha256) a forked child compiled within _HOST_COMPILE_BOUND_S."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, str], None] = {}
        self._lock = threading.Lock()

    def vouched(self, path: str, sha256: str) -> bool:
        return (path, sha256) in self._keys

    def note(self, path: str, sha256: str, compile_s: float) -> None:
        if compile_s > _HOST_COMPILE_BOUND_S:
            return
        with self._lock:
            self._keys[(path, sha256)] = None
            while len(self._keys) > _MAX_QUICK_COMPILES:
                del self._keys[next(iter(self._keys))]


_quick_compiles = _QuickCompiles()
# Before it first runs a path named under evaluate, the child sends this byte, the path and
# a newline, so a child killed inside host code still has that path in the audit record.
_EVALUATING: Final = b"e"


def policy_redactor(policy: Policy) -> Redactor:
    """A new redactor for the policy's patterns and the defaults: its memo of names starts
    empty, so what one attempt's probe looked up does not carry into the next; only the
    normalized patterns, a pure function of the policy, are computed once per process."""
    return Redactor(_normalized_patterns(policy.redact))


# Normalizing the defaults and the policy's patterns cost ~20-40 µs, three times an
# attempt (profile of a cached attempt, BENCHMARKS.md "Profiles"); a process has one or a
# few policies, each edit of one is a new tuple.
@functools.lru_cache(maxsize=16)
def _normalized_patterns(extra: tuple[str, ...]) -> tuple[str, ...]:
    return Redactor.with_defaults(extra).patterns


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    reason: str
    detail: str = ""  # for the operator's stderr only: may hold the probe's own exception text
    child: dict[str, object] | None = None  # isolation: fork: the child's pid and end
    # The audit record's ``evaluated``: each path named under evaluate that ran, and how
    # many times (null when a fork child ended before it could say).
    evaluated: dict[str, int | None] = field(default_factory=dict)


def read_and_run(
    policy: Policy,
    spec: ProbeSpec,
    output: OutputBuffer,
    *,
    argv: tuple[str, ...],
    clock: Callable[[], float],
    code_cache: CodeCache,
) -> tuple[Result, int, ProbeSource | None]:
    """Read, check, compile (cached by digest: in isolation thread, and in fork once a
    child compiled the same bytes quickly) and run one probe file, all within the
    attempt's timeout. Never raises: whatever went wrong, the attempt is audited."""
    source: ProbeSource | None = None
    steps = 0
    # The attempt's timeout runs from here: reading, compiling and running.
    started = clock()
    try:
        source = read_probe(
            spec.path, owners=spec.owners, max_bytes=spec.max_bytes, sha256_pins=spec.sha256
        )
        result, steps = run_code(
            policy,
            source,
            output,
            clock=clock,
            argv=argv,
            started=started,
            code_cache=code_cache,
        )
    except ProbeRejected as error:
        result = Result(Outcome.REJECTED, str(error))
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the attempt is audited
        where = source.path if source else spec.path
        result = Result(Outcome.ERROR, f"{where}: internal error ({type(exc).__name__})")
    return result, steps, source


def run_code(
    policy: Policy,
    source: ProbeSource,
    output: OutputBuffer,
    *,
    clock: Callable[[], float],
    argv: tuple[str, ...],
    started: float,
    code_cache: CodeCache,
) -> tuple[Result, int]:
    """Compile and run a probe under the policy's limits, exposures and facts, in this
    thread or a forked child; its output goes to ``output``. Returns how it ended and
    the steps it used. ``started`` is the ``clock()`` reading when the attempt began to
    read the probe: the timeout covers reading, compiling and running. ``argv`` is the
    host's, already redacted, for the process fact."""
    limits = policy.limits
    code: types.CodeType | None = None
    if policy.isolation == "fork" and not _quick_compiles.vouched(source.path, source.sha256):
        # Compiled in the child, under its deadline and kill; only code this process
        # compiled itself (in isolation: thread, same bytes) is reused from the cache.
        code = code_cache.get(path=source.path, sha256=source.sha256)
    else:
        # Thread isolation, or bytes a child compiled within _HOST_COMPILE_BOUND_S.
        try:
            code = code_cache.get_or_compile(
                source.text,
                path=source.path,
                sha256=source.sha256,
                deadline=started + limits.timeout_s,
                clock=clock,
            )
        except ProbeCompileError as error:
            return _compile_failure(error), 0
    redactor = policy_redactor(policy)
    # Snapshots of the host, taken before the probe runs (and, in isolation: fork, in the
    # host before the fork, so the child reads no host structure another thread may be
    # changing); their time is added to the deadline so that a large thread dump does not
    # eat into the probe's timeout; plain data, bounded (facts.py).
    facts_started = clock()
    facts = take_facts(policy.facts, argv=argv, max_items=limits.max_items)
    budget = Budget(
        timeout_s=limits.timeout_s,
        max_steps=limits.max_steps,
        max_items=limits.max_items,
        clock=clock,
        started=started + (clock() - facts_started),
        # The RSS backstop measures this process: meaningful where the probe runs in it.
        rss_backstop=policy.isolation == "thread",
    )
    render_limits = RenderLimits(
        max_depth=limits.max_depth,
        max_items=limits.max_repr_items,
        max_str_chars=limits.max_str_chars,
    )
    state = AttemptState(budget=budget, output=output, render_limits=render_limits)
    evaluations = Evaluations(budget)
    plans = {
        name: EvaluatePlan.parse(name, exposure.evaluate)
        for name, exposure in policy.expose.items()
        if exposure.evaluate
    }
    try:
        exposures = {
            name: _expose(
                name,
                exposure.target,
                exposure.allow,
                redactor,
                state,
                Evaluator(plans[name], evaluations) if name in plans else None,
                host_frozen=policy.isolation == "fork",
            )
            for name, exposure in policy.expose.items()
        }
    except _ExposeError as error:
        return Result(Outcome.ERROR, str(error)), 0
    sandbox = Sandbox(state)
    namespace = sandbox.globals({**exposures, **facts}, name=Path(source.path).stem)
    late_ms = (clock() - budget.deadline) * 1000.0
    if late_ms > 0:
        # The whole timeout went before the probe could start: a host thread held the GIL
        # in a long C call while this attempt read, compiled or prepared. Say so, rather
        # than fork a child only to have it stop at once "while compiling".
        timeout_ms = limits.timeout_s * 1000.0
        return Result(
            Outcome.TIMEOUT,
            f"{source.path}: limits.timeout: the attempt could not start within "
            f"{timeout_ms:.0f} ms (the host held the GIL), not run",
        ), 0
    if policy.isolation == "fork":
        known = known_paths(plans.values())
        # Only the child needs the namespace (views, builtins, facts): the host lets go of
        # it right after the fork, while the child runs, instead of after the child's
        # result, when freeing it was ~0.3 ms of page faults on the attempt's path
        # (BENCHMARKS.md, "Profiles"). The child has its own copy, held by ``work``.
        held = [namespace]
        del namespace, sandbox, exposures, facts
        return _run_forked(policy, source, code, held, state, clock, evaluations, known)
    assert code is not None
    result = _execute(code, namespace, state, source.path)
    return replace(result, evaluated=evaluations.record()), budget.steps


def _compile_failure(error: ProbeCompileError) -> Result:
    if type(error) is ProbeCompileTimeout:
        return Result(Outcome.TIMEOUT, str(error))
    return Result(Outcome.COMPILE_ERROR, str(error))


def _run_forked(
    policy: Policy,
    source: ProbeSource,
    code: types.CodeType | None,
    held: list[dict[str, object]],
    state: AttemptState,
    clock: Callable[[], float],
    evaluations: Evaluations,
    known: frozenset[str],
) -> tuple[Result, int]:
    """Compile (unless cached) and run the probe in a forked child, under the child's
    deadline and kill; its result and output come back on a pipe. ``held`` holds the
    namespace, which the host drops once the child exists."""
    path = source.path

    def work(send: Callable[[bytes], None]) -> bytes:
        evaluations.announce = lambda dotted: send(_EVALUATING + dotted.encode() + b"\n")
        compiled = code
        compile_us = 0
        if compiled is None:
            # The compiled code is never sent back for the host's cache: the host would
            # have to unmarshal bytes from a process that runs probe code. How long the
            # compile took is sent, before any probe code runs, and the host compiles the
            # same bytes itself next time if it was quick (_HOST_COMPILE_BOUND_S).
            compile_started = time.monotonic()
            try:
                compiled = compile_probe(
                    source.text, path=path, deadline=state.budget.deadline, clock=clock
                )
            except ProbeCompileError as error:
                return _header(_compile_failure(error), state, evaluations) + b"\n"
            compile_us = min(int((time.monotonic() - compile_started) * 1e6), _MAX_COMPILE_US)
        send(_COMPILED + compile_us.to_bytes(_COMPILE_US_BYTES, "big"))
        result = _execute(compiled, held[0], state, path)
        return _header(result, state, evaluations) + b"\n" + state.output.getvalue()

    limits = policy.limits
    report = run_forked(
        work,
        deadline_s=max(state.budget.deadline - clock(), 0.0),
        max_payload_bytes=limits.max_output_bytes + _HEADER_ROOM_BYTES,
        memory_bytes=limits.max_memory_bytes,
        clock=clock,
        after_fork=held.clear,
    )
    child = {"pid": report.pid, "status": report.status()}
    payload = report.payload
    compiled = payload.startswith(_COMPILED)
    if compiled:
        timing = payload[len(_COMPILED) : len(_COMPILED) + _COMPILE_US_BYTES]
        payload = payload[len(_COMPILED) + _COMPILE_US_BYTES :]
        if code is None and len(timing) == _COMPILE_US_BYTES:
            compile_s = int.from_bytes(timing, "big") / 1e6
            _quick_compiles.note(source.path, source.sha256, compile_s)
    announced: list[str] = []
    while payload.startswith(_EVALUATING):
        notice, newline, rest = payload.partition(b"\n")
        if not newline:
            break
        announced.append(notice[len(_EVALUATING) :].decode("utf-8", "replace"))
        payload = rest
    header_line, newline, body = payload.partition(b"\n")
    if report.exit_code == 0 and newline:
        header = json.loads(header_line)
        state.output.restore(body, truncated=bool(header["truncated"]))
        outcome = Outcome(header["outcome"])
        evaluated = merge_reports(known, announced, header.get("evaluated"))
        result = Result(outcome, header["reason"], header["detail"], child, evaluated)
        return result, header["steps"]
    failure = _child_failure(report, path, child, compiled=compiled)
    return replace(failure, evaluated=merge_reports(known, announced, None)), 0


def _header(result: Result, state: AttemptState, evaluations: Evaluations) -> bytes:
    header = {
        "outcome": str(result.outcome),
        "reason": result.reason,
        "detail": result.detail,
        "steps": state.budget.steps,
        "truncated": state.output.truncated,
        "evaluated": evaluations.counts,
    }
    return json.dumps(header).encode()


class _ExposeError(SafeprobeError):
    """An exposure's target cannot be found in the host."""


def _expose(
    name: str,
    target: str,
    allow: tuple[str, ...],
    redactor: Redactor,
    state: AttemptState,
    evaluator: Evaluator | None,
    *,
    host_frozen: bool,
) -> object:
    module_name, _, attr_path = target.partition(":")
    module = find_name(cast("dict[str, object]", sys.modules), module_name)  # no host key __eq__
    if module is NOT_FOUND or module is None:
        raise _ExposeError(
            f"expose.{name}.target: module {module_name!r} is not loaded (safeprobe never imports)"
        )
    value: object = module
    for attr in attr_path.split("."):
        try:
            value = read_attribute(value, attr)
        except (AttributeError, ProbeDenied):
            raise _ExposeError(f"expose.{name}.target: {target} not found in the host") from None
    context = ViewContext(
        exposure=name,
        allowlist=Allowlist.parse(allow),
        redactor=redactor,
        max_items=state.budget.max_items,
        render_limits=state.render_limits,
        on_denied=state.record_denial,
        budget=state.budget,
        evaluator=evaluator,
        keys=KeyMemo(host_frozen=host_frozen),
    )
    return wrap(value, (), context)


def _execute(
    code: types.CodeType, namespace: dict[str, object], state: AttemptState, path: str
) -> Result:
    """Run top-level code, then ``execute()`` if defined; classify how it ended."""
    try:
        # Decimal arithmetic in plain Python's default context, not this thread's (the
        # host may have changed decimal.DefaultContext); restored when the probe ends.
        with decimal.localcontext(FIXED_DECIMAL_CONTEXT):
            exec(code, namespace)  # noqa: S102 - restricted code, guarded namespace
            entry = namespace.get("execute")
            if entry is not None:
                # The probe's own def, compiled from its file; not a builtin wrapper or a view.
                if type(entry) is not types.FunctionType or entry.__code__.co_filename != path:
                    state.deny("execute", "'execute' must be a function the probe defines")
                entry()
        state.budget.check_expired()
    except (KeyboardInterrupt, SystemExit):
        # Never the probe's (it cannot name or raise either): the host's signal handlers, in
        # run_probe's main thread; the runner records the attempt and lets them through.
        raise
    except BaseException as exc:  # noqa: BLE001 - anything the probe raises is data here
        try:
            return _classify(exc, state, path)
        except Exception as failure:  # noqa: BLE001 - a hostile exception must not skip the audit
            problem = f"raised an exception that could not be shown ({type(failure).__name__})"
            return Result(Outcome.ERROR, f"{path}: {problem}")
    if state.denial is not None:
        return Result(Outcome.DENIED, f"{path}: {state.denial.rule}: {state.denial.problem}")
    return Result(Outcome.OK, "ok")


def _classify(exc: BaseException, state: AttemptState, path: str) -> Result:
    """How a probe that raised ended. A stop or a refusal decides the outcome even when the
    probe caught it and raised something else (``except BaseException`` is a NameError)."""
    where = _where(path, exc)
    stop = state.budget.stopped
    if stop is not None:
        return Result(Outcome(stop.outcome), where + f"{stop.rule}: {stop.problem}")
    denial = state.denial or (exc if type(exc) is ProbeDenied else None)
    if denial is not None:
        return Result(Outcome.DENIED, where + f"{denial.rule}: {denial.problem}")
    if type(exc) is MemoryError:
        return Result(Outcome.LIMIT, where + "limits.max_memory: the probe ran out of memory")
    unbound = unbound_top_level_name(exc)
    if unbound is not None:
        # Plain Python's module level raises NameError here; the top level is a function.
        return Result(
            Outcome.DENIED, where + f"name: {unbound!r} is read before the probe assigns it"
        )
    if type(exc) is NameError:
        # A probe can raise NameError(name=<anything>): only a short identifier is shown.
        name = exc.name if type(exc.name) is str else ""
        shown = repr(name) if name.isidentifier() and len(name) <= _MAX_NAME_CHARS else "a name"
        problem = f"{shown} is not exposed by the policy nor defined by the probe"
        if name in BUILTIN_HINTS:
            problem += f" ({BUILTIN_HINTS[name]})"
        return Result(Outcome.DENIED, where + f"name: {problem}")
    text = to_text(exc, state.render_limits)
    if len(text) > _MAX_DETAIL_CHARS:
        text = text[:_MAX_DETAIL_CHARS] + f"…(+{len(text) - _MAX_DETAIL_CHARS} chars)"
    detail = f"{type(exc).__name__}: {text}"
    return Result(Outcome.ERROR, where + f"raised {type(exc).__name__}", detail)


def _child_failure(
    report: ChildReport, path: str, child: dict[str, object], *, compiled: bool
) -> Result:
    """A forked child that did not report back: why, by how it ended."""
    if report.killed_at_deadline:
        doing = "" if compiled else " while compiling"
        reason = f"{path}: limits.timeout: child killed with SIGKILL at the deadline{doing}"
        return Result(Outcome.TIMEOUT, reason, child=child)
    if report.payload_cut:
        return Result(Outcome.LIMIT, f"{path}: limits.max_output: child sent too much", child=child)
    if report.signal in (signal.SIGXCPU, signal.SIGKILL):
        reason = f"{path}: limits.timeout: child stopped by the CPU limit ({report.status()})"
        return Result(Outcome.TIMEOUT, reason, child=child)
    return Result(
        Outcome.ERROR, f"{path}: child ended without a result ({report.status()})", child=child
    )


def _where(path: str, exc: BaseException) -> str:
    """``path:line: `` of the innermost probe frame in the traceback."""
    line: int | None = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"{path}:{line}: " if line is not None else f"{path}: "
