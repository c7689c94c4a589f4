"""The probe's top level compiled as a function (probe/top_level.py): same meaning as the
module it was, its names fast locals."""

from __future__ import annotations

from pathlib import Path

import pytest

from safeprobe import Outcome, run_probe
from safeprobe.errors import ProbeCompileError, ProbeStopped
from safeprobe.probe.budget import Budget, OutputBuffer
from safeprobe.probe.compiler import compile_probe
from safeprobe.probe.render import RenderLimits
from safeprobe.probe.sandbox import AttemptState, Sandbox
from safeprobe.probe.top_level import BODY_NAME, unbound_top_level_name
from tests.harness import write_policy


def _run(source: str, **names: object) -> tuple[dict[str, object], str]:
    state = AttemptState(
        Budget(timeout_s=10, max_steps=100_000, max_items=10_000),
        OutputBuffer(4096),
        RenderLimits(),
    )
    namespace = Sandbox(state).globals(names, name="probe")
    exec(compile_probe(source, path="p.py"), namespace)
    return namespace, state.output.text()


def test_top_level_names_are_locals_of_one_function() -> None:
    """A loop's names are the function's fast locals, not namespace lookups."""
    code = compile_probe("total = 0\nfor i in range(3):\n    total += i\n", path="p.py")
    body = next(c for c in code.co_consts if getattr(c, "co_name", None) == BODY_NAME)
    assert {"total", "i"} <= set(body.co_varnames)


def test_a_rebound_exposure_reads_the_exposure_first() -> None:
    """``threads = sorted(threads)`` reads the namespace's value, as a module would."""
    _, output = _run("threads = sorted(threads)\nprint(threads)", threads=[3, 1, 2])
    assert output == "[1, 2, 3]\n"


def test_names_are_in_the_namespace_when_the_top_level_ends() -> None:
    """Top-level names, ``execute`` and the names a function declares global, end up in the
    namespace where a module's would be; compiler-only names do not."""
    source = (
        "def execute():\n    return total\n"
        "def setup():\n    global ready\n    ready = True\n"
        "total = 0\nfor i in range(4):\n    total += i\nsetup()\n"
    )
    namespace, _ = _run(source)
    assert namespace["total"] == 6
    assert namespace["ready"] is True
    execute = namespace["execute"]
    assert callable(execute)
    assert execute() == 6
    assert not any(name.startswith("_sp_") for name in namespace)


def test_names_are_exported_when_the_top_level_raises() -> None:
    """The copy into the namespace happens however the top level ends."""
    state = AttemptState(
        Budget(timeout_s=10, max_steps=1000, max_items=100), OutputBuffer(64), RenderLimits()
    )
    namespace = Sandbox(state).globals({}, name="probe")
    with pytest.raises(ZeroDivisionError):
        exec(compile_probe("x = 1\ny = x / 0\n", path="p.py"), namespace)
    assert namespace["x"] == 1


def test_top_level_return_is_still_refused() -> None:
    """A function body would accept ``return``; the module it stands for does not."""
    with pytest.raises(ProbeCompileError, match="'return' outside function"):
        compile_probe("x = 1\nif x:\n    return\n", path="p.py")


def test_a_function_may_still_return() -> None:
    """Only a ``return`` outside every function is refused."""
    namespace, _ = _run("def f():\n    return 1\nlambda: 2\nx = f()\n")
    assert namespace["x"] == 1


def test_top_level_global_statement_keeps_working() -> None:
    """``global x`` at the top level, after a use of x, is accepted as a module accepts it."""
    namespace, output = _run("x = 1\nglobal x\nx += 1\nprint(x)\n")
    assert output == "2\n"
    assert namespace["x"] == 2


def test_a_top_level_loop_still_ticks() -> None:
    """``while True`` at the top level stops at the step budget."""
    with pytest.raises(ProbeStopped, match="max_steps"):
        _run("while True:\n    pass\n")


def test_error_lines_are_the_probe_lines() -> None:
    """A traceback's innermost probe frame names the statement's own line."""
    try:
        _run("x = 1\n\ny = [x][5]\n")
    except IndexError as error:
        frames = []
        tb = error.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == "p.py":
                frames.append(tb.tb_lineno)
            tb = tb.tb_next
        assert frames[-1] == 3
    else:
        pytest.fail("no IndexError")


def test_probe_functions_are_named_as_in_a_module() -> None:
    """A probe's function prints, and its call errors read, without the top level's
    function in its name (no safeprobe internals in the output)."""
    source = (
        "def f():\n    def g():\n        pass\n    return g\n"
        "print(f, f(), (lambda: 0))\n"
        "try:\n    f(1)\nexcept TypeError as error:\n    print(error)\n"
    )
    _, output = _run(source)
    assert "_probe_top_level_" not in output
    assert "<function f> <function f.<locals>.g> <function <lambda>>" in output
    assert "f() takes 0 positional arguments" in output


def _raised(source: str) -> BaseException:
    try:
        _run(source)
    except BaseException as exc:
        return exc
    raise AssertionError("the probe raised nothing")


def test_a_top_level_name_read_before_it_is_bound_is_named() -> None:
    """`print(x)` before `x = 1` at the top level names x (a module would raise NameError)."""
    assert unbound_top_level_name(_raised("print(x)\nx = 1\n")) == "x"


def test_an_unbound_local_in_the_probes_own_function_is_its_own_error() -> None:
    """An UnboundLocalError in a probe's own function is plain Python's, not the top level's."""
    exc = _raised("def f():\n    print(y)\n    y = 1\nf()\n")
    assert type(exc) is UnboundLocalError
    assert unbound_top_level_name(exc) is None
    assert unbound_top_level_name(NameError("name 'z' is not defined")) is None


def test_a_name_read_before_the_top_level_binds_it_is_a_name_denial(
    tmp_path: Path, isolation: str
) -> None:
    """The attempt is denied under the `name` rule naming x, as before the top level was a
    function, not an error that shows an UnboundLocalError."""
    policy = {
        "version": 1,
        "isolation": isolation,
        "probe": {"path": "probe.py"},
        "audit": {"path": "audit.jsonl"},
    }
    attempt = run_probe(write_policy(tmp_path, policy, "print(x)\nx = 1\n"))
    assert attempt.outcome is Outcome.DENIED, attempt.reason
    assert attempt.reason.endswith("probe.py:1: name: 'x' is read before the probe assigns it")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("len = 5\ndel len\nprint(len([1, 2]))", "2\n"),
        ("def f():\n    return len([1])\nlen = 5\ndel len\nprint(f())", "1\n"),
        (
            "len = 3\ntry:\n    1 / 0\nexcept ZeroDivisionError as len:\n    pass\nprint(len([1]))",
            "1\n",
        ),
    ],
)
def test_a_deleted_name_falls_back_to_the_builtin(source: str, expected: str) -> None:
    """A top-level name deleted (``del``, ``except ... as``) reads the builtin again."""
    assert _run(source)[1] == expected
