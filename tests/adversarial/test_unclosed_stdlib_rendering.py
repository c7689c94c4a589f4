"""Technique: hand the probe a stdlib value that is not closed and read how it prints. A
datetime holding a host tzinfo, a Decimal subclass, a Fraction whose slot the host
replaced and an enum member holding a host object are views (their code would be the
host's, or would read host objects), and a view of a class without a known repr printed
structurally: ``datetime()``, ``HostDecimal()``, ``Fraction()``, ``Hostile()``, exactly
the wrong rendering issue 13 set out to remove (an operator reads an empty value that is
not there). The state of these values lives in C slots or private fields, which the
structural form does not show.
Source: issue 13 ("a wrong rendering is worse than a refusal"); CPython
Modules/_datetimemodule.c (datetime's fields are C members)."""

import pytest

STDVALS = {"stdvals": {"target": "__main__:stdvals", "allow": ["**"]}}

# Plain Python's output is the value; safeprobe may show it only when its code is known,
# and otherwise must say that it is not shown, never print an empty constructor.
CASES = [
    ("print(stdvals.zoned)", "<datetime object>"),
    ("print(stdvals.zoned_time)", "<time object>"),
    ("print(stdvals.price)", "<HostDecimal object>"),
    ("print(stdvals.ratio)", "<Fraction object>"),
    ("print(stdvals.member)", "<Hostile object>"),
    ("print([stdvals.zoned, stdvals.price])", "[<datetime object>, <HostDecimal object>]"),
    ("print(f'{stdvals.zoned}|{stdvals.ratio!r}')", "<datetime object>|<Fraction object>"),
]


@pytest.mark.parametrize(("probe", "shown"), CASES)
def test_unclosed_stdlib_value_prints_as_not_shown(held, probe: str, shown: str) -> None:
    """A view of a stdlib value type prints as an opaque marker, not as an empty value."""
    record = held(probe, frozenset({"ok"}), expose=STDVALS)
    assert f"\n{shown}\n" in record["_report"], record["_report"]


def test_closed_stdlib_value_still_prints_as_python(held) -> None:
    """A closed datetime beside them prints exactly as plain Python prints it."""
    record = held("print(stdvals.plain, [stdvals.plain])", frozenset({"ok"}), expose=STDVALS)
    shown = "\n2026-01-02 03:04:05 [datetime.datetime(2026, 1, 2, 3, 4, 5)]\n"
    assert shown in record["_report"], record["_report"]
