"""Technique: learn the sandbox's internals from error messages. Calling a wrapper builtin or
a view method with the wrong arguments, or using a view with an operator it lacks, raises
a TypeError whose message CPython builds from the callable's qualified name and the
operand's class: ``Sandbox._make_builtins.<locals>.<lambda>()``, ``View.sp_m_get()``,
``'View' and 'int'``. The probe can print the message, and the runner copies it to the
report.
Source: Ned Batchelder, "Eval really is dangerous" (2012: reading internals from errors);
pyjail CTF writeups (error messages as an oracle for the jail's implementation)."""

import pytest

from tests.adversarial.conftest import internal_names_in

ALLOWED = frozenset({"ok", "error", "denied"})
CATCH = "try:\n    {0}\nexcept TypeError as e:\n    print(e)\n"

PROBES = [
    CATCH.format("sorted()"),
    CATCH.format("service.cache.get()"),
    CATCH.format("service.cache.keys(1)"),
    CATCH.format("x = service.cache + 1"),
    CATCH.format("x = sorted([service.cache, service.queue])"),
    # Each of the Sandbox's collaborators (builtins, print) named by a wrong call.
    CATCH.format("pow()"),
    CATCH.format("hasattr()"),
    CATCH.format("print(foo=1)"),
    "sorted()",
]


@pytest.mark.parametrize("probe", PROBES)
def test_error_messages_do_not_name_internals(attack, probe: str) -> None:
    record = attack(probe, ALLOWED)
    assert not internal_names_in(record["_report"]), record["_report"]
