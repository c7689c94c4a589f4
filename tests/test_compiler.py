"""Restricted compilation: what compiles, what is refused with a line, and the cache."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeprobe.errors import ProbeCompileError, ProbeCompileTimeout
from safeprobe.probe.compiler import (
    MAX_PROBE_NODES,
    MAX_PROBE_SCOPES,
    CodeCache,
    compile_probe,
    probe_compile_errors,
)
from safeprobe.probe.top_level import code_names


@pytest.mark.parametrize(
    ("source", "line", "problem"),
    [
        ("import os\n", 1, "imports are not allowed"),
        ("x = 1\nfrom os import path\n", 2, "imports are not allowed"),
        ("class A:\n    pass\n", 1, "class definitions"),
        ("def g():\n    yield 1\n", 2, "generators"),
        ("print(printed)\n", 1, "printed"),
        ("x = ().__class__\n", 1, '"__class__" is an invalid attribute name'),
        ("_getattr_ = 1\n", 1, "starts with"),
        ("def f(_getiter_, /):\n    pass\n", 1, "starts with"),
        ("try:\n    pass\nexcept* ValueError:\n    pass\n", 1, "TryStar"),
        ("async def f():\n    pass\n", 1, "AsyncFunctionDef"),
        ("x = (\n", 1, "SyntaxError"),
        ("exec('1')\n", 1, "Exec calls are not allowed"),
    ],
)
def test_refused_constructs_name_their_line(source: str, line: int, problem: str) -> None:
    """Each refusal is a ProbeCompileError with the line of the construct."""
    with pytest.raises(ProbeCompileError) as info:
        compile_probe(source, path="p.py")
    assert info.value.line == line
    assert problem in info.value.problem


def test_compiler_crash_is_a_refusal_not_a_fallback() -> None:
    """Deep nesting makes the compiler fail; the probe is refused, never compiled otherwise."""
    with pytest.raises(ProbeCompileError, match="compile"):
        compile_probe("x = " + "(" * 10000 + ")" * 10000 + "\n", path="p.py")


def test_nul_byte_is_refused() -> None:
    """Source with a NUL byte is refused as a compile error."""
    with pytest.raises(ProbeCompileError):
        compile_probe("x = 1\x00\n", path="p.py")


def test_ticks_are_added_to_loops_functions_and_lambdas() -> None:
    """Compiled loops, functions and lambdas call the tick, enter and leave hooks."""
    code = compile_probe("while x:\n    pass\ndef f():\n    return 1\ng = lambda: 2\n", path="p.py")
    assert {"_tick_", "_enter_", "_leave_"} <= code_names(code)


def test_guarded_operators_and_fstrings_go_through_hooks() -> None:
    """Guarded operators and f-string formatting compile to calls of their hooks."""
    code = compile_probe("a = b * c\nd = e ** f\ng = f'{h!r:>3}'\n", path="p.py")
    assert {"_binop_", "_format_"} <= code_names(code)


def test_cache_compiles_once_per_digest() -> None:
    """The code cache compiles once per source digest and reuses the code after."""
    cache = CodeCache()
    first = cache.get_or_compile("x = 1\n", path="p.py", sha256="aa")
    again = cache.get_or_compile("x = 1\n", path="p.py", sha256="aa")
    other = cache.get_or_compile("x = 2\n", path="p.py", sha256="bb")
    assert first is again
    assert first is not other
    assert (cache.hits, cache.misses) == (1, 2)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_compiles_or_raises_compile_error(text: str) -> None:
    """Whatever bytes a probe holds, the compiler answers with code or ProbeCompileError."""
    with contextlib.suppress(ProbeCompileError):
        compile_probe(text, path="p.py")


def test_all_compile_errors_are_listed_and_the_first_is_compile_probes() -> None:
    """A pre-deployment check sees every refusal, and the host refuses for the first of them."""
    source = "import os\nx = 1\nclass A:\n    pass\ny = ().__class__\n"
    errors = probe_compile_errors(source, path="p.py")
    assert [e.line for e in errors] == [1, 3, 5]
    with pytest.raises(ProbeCompileError) as info:
        compile_probe(source, path="p.py")
    assert str(info.value) == str(errors[0])
    assert probe_compile_errors("print(1)\n", path="p.py") == ()


# ---- compiling within the attempt's deadline, and the size caps that bound the C parts ----


class _StepClock:
    """A clock that advances by ``step`` on every reading: compiling "takes time"."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step
        self.readings = 0

    def __call__(self) -> float:
        self.now += self.step
        self.readings += 1
        return self.now


def test_probe_over_the_node_cap_is_refused_naming_file_and_rule() -> None:
    """A tree larger than MAX_PROBE_NODES is refused before the transformer walks it."""
    source = "a = 1\n" * (MAX_PROBE_NODES // 3)
    with pytest.raises(
        ProbeCompileError, match=r"^big\.py: compile: size: more than 5000 syntax nodes"
    ):
        compile_probe(source, path="big.py")


def test_probe_with_too_many_functions_is_refused() -> None:
    """Code objects per scope are capped: CPython's compile is quadratic in them."""
    source = "f = lambda: 1\n" * (MAX_PROBE_SCOPES + 1)
    with pytest.raises(
        ProbeCompileError,
        match=r"size: 201 functions, lambdas and comprehensions, over the fixed 200",
    ):
        compile_probe(source, path="p.py")


def test_probe_at_the_caps_compiles() -> None:
    """The caps leave room: a probe just under both still compiles."""
    source = "def f():\n    return 1\n" * MAX_PROBE_SCOPES
    assert compile_probe(source, path="p.py").co_filename == "p.py"


def test_compiling_past_the_deadline_stops_with_a_timeout() -> None:
    """The Python passes over the tree look at the deadline and stop with limits.timeout."""
    clock = _StepClock(0.001)
    source = "x = a.b.c\n" * 400  # 3,600 nodes: many deadline checks at 1 ms per reading
    with pytest.raises(ProbeCompileTimeout) as info:
        compile_probe(source, path="p.py", deadline=clock.now + 0.005, clock=clock)
    assert str(info.value) == "p.py: limits.timeout: still compiling at the deadline"
    assert isinstance(info.value, ProbeCompileError)  # lint and callers treat it as one


def test_compiling_inside_the_deadline_reads_the_clock_sparingly() -> None:
    """The check costs one clock reading per few hundred nodes, not one per node."""
    clock = _StepClock(0.0)
    compile_probe("x = a.b.c\n" * 400, path="p.py", deadline=1.0, clock=clock)
    assert 0 < clock.readings < 100


def test_cache_get_does_not_compile() -> None:
    """get() answers from the cache only; a miss is None."""
    cache = CodeCache()
    assert cache.get(path="p.py", sha256="aa") is None
    code = cache.get_or_compile("x = 1\n", path="p.py", sha256="aa")
    assert cache.get(path="p.py", sha256="aa") is code
