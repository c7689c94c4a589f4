"""Restricted compilation: what compiles, what is refused with a line, and the cache."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeprobe.compiler import CodeCache, compile_probe, probe_compile_errors
from safeprobe.errors import ProbeCompileError


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
    with pytest.raises(ProbeCompileError):
        compile_probe("x = 1\x00\n", path="p.py")


def test_ticks_are_added_to_loops_functions_and_lambdas() -> None:
    code = compile_probe("while x:\n    pass\ndef f():\n    return 1\ng = lambda: 2\n", path="p.py")
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= set(const.co_names)
    assert {"_tick_", "_enter_", "_leave_"} <= names


def test_guarded_operators_and_fstrings_go_through_hooks() -> None:
    code = compile_probe("a = b * c\nd = e ** f\ng = f'{h!r:>3}'\n", path="p.py")
    assert {"_binop_", "_format_"} <= set(code.co_names)


def test_cache_compiles_once_per_digest() -> None:
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
