"""Technique: a host enum member whose value nests tuples deeper than the recursion limit.
Deciding whether a value is closed walked tuples recursively, so merely wrapping such a
member (as every exposure and every read is wrapped) raised RecursionError inside
safeprobe: the attempt ended as an internal error, and a policy exposing the enum class or
any object reaching the member could run no probe at all.
Source: Python docs, sys.setrecursionlimit; CPython Lib/enum.py (any value is allowed)."""

import pytest

STDVALS = {"stdvals": {"target": "__main__:stdvals", "allow": ["**"]}}

PROBES = [
    "print(stdvals.deep)",
    "print(typename(stdvals.deep), isinstance(stdvals.deep, Enum))",
    "print([stdvals.deep, 1])",
    "print(f'{stdvals.deep}')",
]


@pytest.mark.parametrize("probe", PROBES)
def test_deeply_nested_member_value_is_a_view(held, probe: str) -> None:
    """Such a member is judged not closed (a view), and the probe runs."""
    record = held(probe, frozenset({"ok"}), expose=STDVALS)
    assert "internal error" not in str(record["reason"])
    assert "Deep" in record["_report"], record["_report"]
