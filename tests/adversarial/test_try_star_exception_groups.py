"""Technique: ``try/except*`` binds an ExceptionGroup and splits exceptions in C, which
RestrictedPython once let through as a type-confusion escape; also build or catch an
ExceptionGroup by name.
Source: RestrictedPython CVE-2025-22153 (try/except* sandbox escape, fixed in 8.0 by
refusing TryStar)."""

import pytest

PROBES = [
    "try:\n    raise ValueError(1)\nexcept* ValueError as eg:\n    print(eg)",
    "try:\n    pass\nexcept* Exception:\n    pass",
    "raise ExceptionGroup('x', [ValueError(service.cache)])",
    "try:\n    pass\nexcept BaseExceptionGroup as eg:\n    pass\nraise BaseExceptionGroup('x', [ValueError()])",
]


@pytest.mark.parametrize("probe", PROBES)
def test_exception_groups_are_refused(attack, probe: str) -> None:
    """except* and exception groups are refused."""
    record = attack(probe)
    assert record["outcome"] in ("compile_error", "denied"), record["reason"]
