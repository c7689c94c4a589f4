"""Technique: read the sandbox's class names from error messages that name a type without
quotes. The scrubber rewords ``'View'`` (quoted), but CPython also writes a bare type name:
``sequence item 0: expected str instance, View found``, ``list indices must be integers or
slices, not View``; and the redaction marker's class shows as ``'Redacted'`` in operator
errors (``unsupported operand type(s) for +: 'Redacted' and 'int'``, ``object of type
'Redacted' has no len()``). The probe can print the message, and the runner copies it to
the report.
Source: Ned Batchelder, "Eval really is dangerous" (2012: reading internals from errors);
CPython Objects/stringlib/join.h and Objects/listobject.c (the bare ``%.200s`` type name)."""

import pytest

from tests.adversarial.conftest import internal_names_in

ALLOWED = frozenset({"ok", "error", "denied"})
CATCH = "try:\n    {0}\nexcept (TypeError, ValueError) as e:\n    print(e)\n"

PROBES = [
    CATCH.format("x = ''.join([service.queue])"),
    CATCH.format("x = [1][service.queue]"),
    CATCH.format("x = service.api_key + 1"),
    CATCH.format("x = ''.join([service.api_key])"),
    CATCH.format("x = len(service.api_key)"),
    CATCH.format("x = 'a' < service.api_key"),
    "x = ''.join([service.queue])",
    "x = [1][service.api_key]",
]


@pytest.mark.parametrize("probe", PROBES)
def test_error_messages_name_no_internal_class(held, probe: str) -> None:
    """No message a probe can see names View, Redacted or another internal class."""
    record = held(probe, ALLOWED)
    assert not internal_names_in(record["_report"]), record["_report"]
