"""Technique: make the top level compiled as a function (probe/top_level.py: names as fast
locals, copied back in a ``finally``, ``global`` names kept, closures over the locals) give a
different answer than the module it was: a function reading a name rebound after it was
made, late-binding lambdas in a comprehension, ``global`` written from a function, a
builtin shadowed after a function that uses it was made, a generator expression whose source
name is rebound, a walrus in a comprehension, a
``for``/``else`` binding, a tuple rebound while it is walked, an ``execute`` that reads the
top level's final value. Each probe must print what plain Python prints (a wrong answer is
worse than a refusal). Source: the Python language reference, 4.2.2 "Resolution of names",
and PEP 227 ("Statically Nested Scopes"), whose module-versus-function differences are what
such a rewrite can get wrong. Already right when written (red16): kept as the guard of each.
"""

import pytest

PROBES = {
    "closure_late": "x = 1\ndef f():\n    return x\nx = 2\nprint('r', f())",
    "lambdas": "fs = [lambda: i for i in range(3)]\nprint('r', [f() for f in fs])",
    "global_fn": "def g():\n    global y\n    y = 5\ng()\nprint('r', y)",
    "shadow_builtin": "def f():\n    return len([1, 2])\nlen = lambda v: 99\nprint('r', f())",
    "genexp": "xs = [1, 2, 3]\ng = (a * 2 for a in xs)\nxs = [9]\nprint('r', list(g))",
    "iadd_global": "t = 0\ndef f():\n    global t\n    t += 4\nf()\nf()\nprint('r', t)",
    "walrus": "print('r', [(y := a) for a in range(3)], y)",
    "for_else": "for i in []:\n    pass\nelse:\n    i = 'e'\nprint('r', i)",
    "tuple_rebound": "xs = (1, 2, 3)\nt = 0\nfor x in xs:\n    xs = (9, 9, 9)\n    t += x\nprint('r', t, xs)",
    "execute_reads_final": "n = 0\ndef execute():\n    print('r', n)\nn = 3",
}


def _native(probe: str) -> str:
    lines: list[str] = []
    namespace: dict[str, object] = {"print": lambda *a: lines.append(" ".join(map(str, a)))}
    exec(probe, namespace)
    if "execute" in namespace:
        namespace["execute"]()  # type: ignore[operator]
    return lines[-1]


@pytest.mark.parametrize("name", sorted(PROBES))
def test_top_level_as_a_function_gives_the_module_answer(held, name: str) -> None:
    """The probe prints what plain Python prints for the same module."""
    probe = PROBES[name]
    record = held(probe, frozenset({"ok"}))
    expected = _native(probe)
    assert expected in str(record["_report"]), (record["_mode"], expected, record["_report"])
