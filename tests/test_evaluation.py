"""evaluation.py: the policy's evaluate grammar, what resolves to runnable host code, the
runs under the budget, and what the audit record gets."""

from __future__ import annotations

import functools
import re
import sys
import threading
import time

import attrs
import pydantic
import pytest

from safeprobe.errors import EvaluationError, PolicyError, ProbeDenied, ProbeStopped
from safeprobe.policy.defaults import MAX_EVALUATE_ENTRIES
from safeprobe.policy.loading import parse_policy
from safeprobe.probe.allowlist import Allowlist
from safeprobe.probe.budget import Budget
from safeprobe.probe.evaluation import (
    MAX_RECORDED_PATHS,
    METHOD,
    PROPERTY,
    EvaluatePlan,
    Evaluations,
    Evaluator,
    HostCall,
    host_function,
    merge_reports,
    parse_entry,
)
from safeprobe.probe.redaction import REDACTED, Redactor
from safeprobe.probe.render import RenderLimits
from safeprobe.probe.view_context import ViewContext
from safeprobe.probe.views import View


def _policy(evaluate: str) -> str:
    return (
        "version: 1\nprobe:\n  path: probe.py\nexpose:\n  ledger:\n"
        f"    target: '__main__:ledger'\n    allow: ['**']\n    evaluate: {evaluate}\n"
    )


# -- the policy's grammar -----------------------------------------------------------------


def test_evaluate_entries_parse_as_exact_paths() -> None:
    """A property path and a zero-argument call parse; the policy keeps them as written."""
    policy = parse_policy(_policy("['stats.label', 'snapshot()', 'cache.size()']"), path="p.yaml")
    assert policy.expose["ledger"].evaluate == ("stats.label", "snapshot()", "cache.size()")
    assert parse_entry("cache.size()") == (("cache", "size"), METHOD)
    assert parse_entry("stats.label") == (("stats", "label"), PROPERTY)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("'stats.*'", "without '*'"),
        ("'**'", "without '*'"),
        ("'size(1)'", "zero-argument call"),
        ("'size()()'", "zero-argument call"),
        ("'a().b'", "zero-argument call"),
        ("'_private()'", "starts with '_'"),
        ("'__class__'", "starts with '_'"),
        ("'a..b'", "empty"),
        ("'class'", "keyword"),
        ("1", "string"),
    ],
)
def test_evaluate_entries_outside_the_grammar_are_policy_errors(entry: str, problem: str) -> None:
    """Globs, arguments, calls mid-path and private names are refused with the field named."""
    with pytest.raises(PolicyError, match=r"expose\.ledger\.evaluate") as caught:
        parse_policy(_policy(f"[{entry}]"), path="p.yaml")
    assert problem in str(caught.value)
    assert caught.value.line == 8


def test_the_same_path_named_twice_is_a_policy_error() -> None:
    """'size' and 'size()' cannot both be what the author read."""
    with pytest.raises(PolicyError, match="named more than once"):
        parse_policy(_policy("['size', 'size()']"), path="p.yaml")


def test_evaluate_list_is_capped() -> None:
    """A reviewer reads the list entry by entry; the cap bounds the audit field too."""
    entries = ", ".join(f"'m{i}()'" for i in range(MAX_EVALUATE_ENTRIES + 1))
    with pytest.raises(PolicyError, match="more than"):
        parse_policy(_policy(f"[{entries}]"), path="p.yaml")


def test_misspelled_evaluate_key_is_an_error() -> None:
    """A typo does not silently drop the list (unknown keys are errors)."""
    text = _policy("[]").replace("evaluate:", "evalute:")
    with pytest.raises(PolicyError, match="did you mean 'evaluate'"):
        parse_policy(text, path="p.yaml")


# -- what resolves to host code -----------------------------------------------------------


class Shapes:
    def __init__(self) -> None:
        self.data = 1
        self.bound = self.method

    @property
    def prop(self) -> int:
        return 1

    @functools.cached_property
    def cached(self) -> int:
        return 2

    def method(self) -> int:
        return 3

    def defaults(self, extra: int = 1, *, flag: bool = False) -> int:
        return extra

    def needs(self, extra: int) -> int:
        return extra

    def needs_keyword(self, *, flag: bool) -> bool:
        return flag

    def generator(self) -> object:
        yield 1

    async def coroutine(self) -> int:
        return 1

    @classmethod
    def klass(cls) -> int:
        return 1

    @staticmethod
    def static() -> int:
        return 1

    @functools.partialmethod
    def partial(self) -> int:
        return 1

    def __getattr__(self, name: str) -> object:
        return 1


@pytest.mark.parametrize(
    ("name", "kind"),
    [("prop", PROPERTY), ("cached", PROPERTY), ("method", METHOD), ("defaults", METHOD)],
)
def test_properties_and_zero_argument_methods_resolve(name: str, kind: str) -> None:
    """What the grammar names resolves to one function of the instance."""
    function = host_function(Shapes, name, kind)
    assert callable(function)
    assert function(Shapes()) in (1, 2, 3)


@pytest.mark.parametrize(
    ("name", "kind", "problem"),
    [
        ("method", PROPERTY, "is a method: name it 'method()'"),
        ("prop", METHOD, "is a property: name it without '()'"),
        ("cached", METHOD, "is a property"),
        ("needs", METHOD, "needs arguments"),
        ("needs_keyword", METHOD, "needs arguments"),
        ("generator", METHOD, "generator or coroutine"),
        ("coroutine", METHOD, "generator or coroutine"),
        ("klass", METHOD, "not a plain method"),
        ("static", METHOD, "not a plain method"),
        ("partial", METHOD, "not a plain method"),
        ("klass", PROPERTY, "is not a property"),
    ],
)
def test_near_misses_do_not_resolve(name: str, kind: str, problem: str) -> None:
    """Anything but the named kind of plain code is refused before anything runs."""
    with pytest.raises(ProbeDenied, match=re.escape(problem)):
        host_function(Shapes, name, kind)


def test_names_only_getattr_would_answer_do_not_resolve() -> None:
    """__getattr__ is never consulted: a name the class does not hold is missing."""
    with pytest.raises(AttributeError):
        host_function(Shapes, "dynamic", PROPERTY)


def test_cached_property_is_computed_without_storing_its_cache() -> None:
    """The cache write would be a write to the host: the function runs, the dict stays."""
    shapes = Shapes()
    assert host_function(Shapes, "cached", PROPERTY)(shapes) == 2
    assert "cached" not in vars(shapes)


# -- runs under the budget ----------------------------------------------------------------


def _budget(timeout_s: float = 5.0, max_steps: int = 1_000_000) -> Budget:
    return Budget(timeout_s=timeout_s, max_steps=max_steps, max_items=1000)


def test_a_run_is_counted_and_ticks_per_line() -> None:
    """Host code's lines take steps of the attempt's budget, and each run is counted."""
    budget = _budget()
    runs = Evaluations(budget)

    def work(obj: object) -> int:
        total = 0
        for i in range(100):
            total += i
        return total

    assert runs.run("x.work()", work, None) == 4950
    assert runs.run("x.work()", work, None) == 4950
    assert runs.record() == {"x.work()": 2}
    assert budget.steps > 200


def test_a_looping_method_stops_at_the_step_cap() -> None:
    """Host code does not tick by itself; traced, a loop stops at the budget."""
    runs = Evaluations(_budget(max_steps=10_000))

    def spin(obj: object) -> None:
        while True:
            pass

    with pytest.raises(ProbeStopped, match="max_steps"):
        runs.run("x.spin()", spin, None)


def test_a_looping_method_stops_at_the_deadline() -> None:
    """The deadline is checked on the ticks the trace takes."""
    runs = Evaluations(_budget(timeout_s=0.05, max_steps=10**12))

    def spin(obj: object) -> None:
        while True:
            pass

    started = time.monotonic()
    with pytest.raises(ProbeStopped, match="timeout"):
        runs.run("x.spin()", spin, None)
    assert time.monotonic() - started < 5


def test_a_stop_the_host_code_swallowed_still_ends_the_attempt() -> None:
    """The stop is sticky: a method that catches it and returns does not win."""
    runs = Evaluations(_budget(max_steps=1000))

    def swallow(obj: object) -> int:
        try:
            while True:
                pass
        except BaseException:
            return 1

    with pytest.raises(ProbeStopped):
        runs.run("x.swallow()", swallow, None)


def test_host_exceptions_become_evaluation_errors_without_their_message() -> None:
    """A host message may hold a host value: only the path and the class are said."""
    runs = Evaluations(_budget())

    def boom(obj: object) -> None:
        raise ValueError("secret-value")

    with pytest.raises(EvaluationError) as caught:
        runs.run("x.boom()", boom, None)
    assert str(caught.value) == "x.boom() raised ValueError"
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None


def test_a_method_raising_systemexit_in_the_runner_thread_is_its_error() -> None:
    """sys.exit() in a vouched method must not end the runner thread: it is the method's."""
    runs = Evaluations(_budget())
    caught: list[BaseException] = []

    def leave(obj: object) -> None:
        raise SystemExit(3)

    def runner() -> None:
        try:
            runs.run("x.leave()", leave, None)
        except BaseException as exc:
            caught.append(exc)

    thread = threading.Thread(target=runner)
    thread.start()
    thread.join(timeout=10)
    assert [type(e) for e in caught] == [EvaluationError]
    assert str(caught[0]) == "x.leave() raised SystemExit"


def test_the_runner_threads_trace_function_is_restored() -> None:
    """A host's own tracer (a debugger, coverage) is back in place after a run."""
    previous = sys.gettrace()
    Evaluations(_budget()).run("x.f()", lambda obj: 1, None)
    assert sys.gettrace() is previous


def test_recorded_paths_are_capped() -> None:
    """Past MAX_RECORDED_PATHS, runs are counted together, never listed."""
    runs = Evaluations(_budget())
    for i in range(MAX_RECORDED_PATHS + 3):
        runs.run(f"x.m{i}()", lambda obj: None, None)
    record = runs.record()
    assert len(record) == MAX_RECORDED_PATHS + 1
    assert record["(more)"] == 3


def test_announce_is_told_each_path_once() -> None:
    """The fork child announces a path before its first run, once."""
    heard: list[str] = []
    runs = Evaluations(_budget(), announce=heard.append)
    for _ in range(3):
        runs.run("x.f()", lambda obj: None, None)
    assert heard == ["x.f()"]


def test_a_childs_report_keeps_only_paths_the_policy_names() -> None:
    """A compromised child cannot write text of its choosing into the audit record."""
    known = frozenset({"x.f()", "x.label"})
    merged = merge_reports(known, ["x.f()", "evil\n"], {"x.label": 2, "other": 5, "x.f()": "1"})
    assert merged == {"x.f()": None, "x.label": 2}


# -- through a view -----------------------------------------------------------------------


class Ledger:
    def __init__(self) -> None:
        self.entries = [1, 2]
        self.stats = Stats()

    @property
    def label(self) -> str:
        return f"ledger:{len(self.entries)}"

    @property
    def other(self) -> str:
        raise AssertionError("not named: must not run")

    def size(self) -> int:
        return len(self.entries)

    @property
    def api_token(self) -> str:
        raise AssertionError("secret-named: must not run")

    def session_key(self) -> str:
        raise AssertionError("secret-named: must not run")


class Stats:
    @property
    def ratio(self) -> float:
        return 0.5

    def snapshot(self) -> dict[str, object]:
        return {"hits": 1, "password": "hunter2"}


def _view(evaluate: tuple[str, ...], denials: list[ProbeDenied] | None = None) -> View:
    budget = _budget()
    sink = denials if denials is not None else []
    ctx = ViewContext(
        exposure="ledger",
        allowlist=Allowlist.parse(["**"]),
        redactor=Redactor.with_defaults(),
        max_items=1000,
        render_limits=RenderLimits(max_depth=6, max_items=1000, max_str_chars=10_000),
        on_denied=sink.append,
        budget=budget,
        evaluator=Evaluator(EvaluatePlan.parse("ledger", evaluate), Evaluations(budget)),
    )
    return View(Ledger(), (), ctx)


def test_named_paths_run_through_a_view_and_results_are_wrapped() -> None:
    """A named property reads as its value; a named method as a call; results are views."""
    view = _view(("label", "size()", "stats.snapshot()"))
    assert view.sp_getattr("label") == "ledger:2"
    size = view.sp_getattr("size")
    assert type(size) is HostCall
    assert size() == 2
    snapshot = view.sp_getattr("stats").sp_getattr("snapshot")()
    assert type(snapshot) is View
    assert snapshot["password"] is REDACTED
    assert "hunter2" not in repr(snapshot)
    ctx = view.sp_ctx
    assert ctx.evaluator is not None
    assert ctx.evaluator.evaluations.record() == {
        "ledger.label": 1,
        "ledger.size()": 1,
        "ledger.stats.snapshot()": 1,
    }


def test_unnamed_paths_are_refused_as_before() -> None:
    """Another attribute of the same object, or the same name elsewhere, never runs."""
    view = _view(("label", "stats.ratio"))
    with pytest.raises(ProbeDenied, match="host-code"):
        view.sp_getattr("other")
    with pytest.raises(ProbeDenied, match="host-code"):
        view.sp_getattr("size")


def test_secret_named_entries_never_run() -> None:
    """A named property or method whose name is secret reads as the marker, unrun."""
    view = _view(("api_token", "session_key()"))
    assert view.sp_getattr("api_token") is REDACTED
    assert view.sp_getattr("session_key")() is REDACTED


def test_a_named_method_called_with_arguments_is_refused() -> None:
    """Only the zero-argument call the author vouched for."""
    denials: list[ProbeDenied] = []
    size = _view(("size()",), denials).sp_getattr("size")
    with pytest.raises(ProbeDenied, match="without arguments"):
        size(1)
    with pytest.raises(ProbeDenied, match="without arguments"):
        size(extra=1)
    assert denials


# -- fields of models read without evaluation ---------------------------------------------


class Model(pydantic.BaseModel):
    name: str = "svc"
    retries: int = 3


@attrs.define
class Slotted:
    name: str = "svc"
    retries: int = 3


@attrs.frozen
class Frozen:
    name: str = "svc"


@pytest.mark.parametrize("obj", [Model(), Slotted(), Frozen()])
def test_model_fields_read_without_evaluate(obj: object) -> None:
    """Pydantic v2 and attrs fields are instance data or slots: read statically, no evaluate."""
    view = View(obj, (), _view(()).sp_ctx)
    assert view.sp_getattr("name") == "svc"
    assert "name='svc'" in repr(view)
