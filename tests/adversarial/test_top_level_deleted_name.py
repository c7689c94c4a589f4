"""Technique: ``del`` a top-level name (explicitly, or implicitly as ``except ... as NAME``
does at the handler's end) that shadows a builtin or an exposure, then read the name again.
At a module's top level the name is deleted from the globals and the read falls back to the
builtins, as a module's functions' reads do; a top level compiled as a function
(probe/top_level.py: its names made fast locals) turns the same read into an
UnboundLocalError, so a probe plain Python runs fails. Source: the Python language reference,
4.2.2 "Resolution of names" (a name deleted from the globals is looked up in the builtins)
and 7.5 "The del statement"; the compiler change is the classic "scope optimisation changes
the meaning of del" pitfall (PEP 227, "Statically Nested Scopes", on ``del`` of names).
"""

import pytest

PROBES = [
    ("len = lambda v: 99\ndel len\nprint('r', len([1, 2]))", "r 2"),
    ("def f():\n    return len([1])\nlen = 5\ndel len\nprint('r', f())", "r 1"),
    (
        "len = 3\ntry:\n    1 / 0\nexcept ZeroDivisionError as len:\n    pass\n"
        "print('r', len([1, 2, 3]))",
        "r 3",
    ),
    ("for i in range(2):\n    sorted = 5\n    del sorted\nprint('r', sorted([2, 1]))", "r [1, 2]"),
]


@pytest.mark.parametrize(("probe", "expected"), PROBES)
def test_deleted_top_level_name_falls_back_to_the_builtin(held, probe: str, expected: str) -> None:
    """A top-level name deleted again reads the builtin it shadowed, as plain Python does."""
    record = held(probe, frozenset({"ok"}))
    assert expected in str(record["_report"]), (record["_mode"], record["_report"])
