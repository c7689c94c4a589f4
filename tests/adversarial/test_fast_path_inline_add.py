"""Technique: feed the compiler's inlined ``n += v`` (compiler.py ``visit_AugAssign``: the
plain ``+`` of two exact ints) operands it must not add natively: a name bound to an int on
one turn of a loop and to a large str on the next, so that ``s += s`` doubles a string;
a host int subclass with hooked ``__add__``/``__radd__`` (a view); a bool. The inline
path is taken only when both operands are exactly ``int``; a naive one that tested only
that both operands have the same type would double the string natively, 30 turns to a
gigabyte, without the size guard. Source: the "type confusion in a specialised fast path"
pattern of CPython's own specialising interpreter (PEP 659: every specialised instruction
re-checks its operand types and deoptimises when they change).
"""

import pytest

ZOO = {"zoo": {"target": "__main__:zoo", "allow": ["**"]}}

DOUBLING_PROBE = """\
s = 1
for i in range(40):
    if i == 1:
        s = 'x' * 1000000
    s += s
print(len(s))
"""

PROBES = [
    # A host int subclass (a view): its hooks must not run (held's digest).
    ("n = 0\nfor i in range(3):\n    n += zoo.i\nprint(n)", frozenset({"denied", "error", "ok"})),
    ("n = zoo.i\nn += 1\nprint(n)", frozenset({"denied", "error", "ok"})),
    # bool is not int: the guarded path, same result as Python.
    ("b = True\nb += True\nprint(b)", frozenset({"ok"})),
]


def test_inline_add_refuses_a_string_doubled_after_an_int(held) -> None:
    """A name that was an int and is now a 1 MB str is doubled through the size guard."""
    record = held(DOUBLING_PROBE, frozenset({"limit"}))
    assert "size" in str(record["reason"]), record["reason"]


@pytest.mark.parametrize(("probe", "allowed"), PROBES)
def test_inline_add_takes_exact_ints_only(held, probe: str, allowed: frozenset[str]) -> None:
    """Int subclasses (views of host values) and bools take the guarded path."""
    record = held(probe, allowed, expose=ZOO)
    if "True" in probe:
        assert "2" in str(record["_report"])
