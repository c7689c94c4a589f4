"""Technique: print the sandbox's stand-ins for the builtins and read the name each shows.
A wrapper a factory makes (``Builtins._reducer``'s closure for ``min`` and ``max``) keeps the
factory's inner name unless it is renamed, so ``print(min)`` showed ``<function reduce>``:
a wrong answer, and the name of safeprobe's own closure (an oracle for its internals).
perfprep renamed lambdas in place but left other per-attempt closures as they were made.
Source: the "wrapper hides the wrapped function's identity" pitfall that
``functools.wraps``/``update_wrapper`` exist for (Python docs, functools.update_wrapper).
"""

import pytest

from tests.adversarial.conftest import internal_names_in

NAMES = ["min", "max", "sorted", "sum", "len", "any", "all", "pow", "isinstance", "abs"]


@pytest.mark.parametrize("name", NAMES)
def test_a_builtin_shows_its_own_name(held, name: str) -> None:
    """``print(NAME)`` of a builtin shows ``<function NAME>`` (or the builtin's own text)."""
    record = held(f"print('shown', {name})", frozenset({"ok"}))
    report = str(record["_report"])
    line = next(x for x in report.splitlines() if x.startswith("shown"))
    assert f" {name}" in line or f" {name}>" in line, (record["_mode"], line)
    assert "reduce" not in line, (record["_mode"], line)
    assert "wrapper" not in line, (record["_mode"], line)
    assert not internal_names_in(line), line
