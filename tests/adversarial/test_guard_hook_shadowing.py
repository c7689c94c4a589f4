"""Technique: rebind one of the guard hooks the compiled probe calls by name (``_getattr_``,
``_getiter_``, ``_write_``, ``_tick_``, ``_format_`` …) so later code calls the probe's
function instead: through positional-only parameters (fixed in RestrictedPython 8.3),
keyword-only and star parameters, loop and comprehension targets, ``except ... as``,
``with ... as``, walrus, ``del``, ``global``, ``def`` names and ``match`` captures.
Source: RestrictedPython advisory GHSA-ffg3-p8fm-mjx2 (positional-only parameters shadowing
guard functions, fixed in 8.3); RestrictedPython transformer ``check_name``."""

import pytest

PROBES = [
    "def f(_getattr_, /):\n    return service.api_key\nprint(f(1))",
    "f = lambda _getiter_, /: [x for x in service.cache]\nprint(f(1))",
    "def f(*, _write_=None):\n    service.requests = 1\nf()",
    "def f(*_tick_):\n    while True:\n        pass\nf()",
    "def f(**_tick_):\n    while True:\n        pass\nf()",
    "def f(_tick_=len):\n    while True:\n        pass\nf()",
    "for _tick_ in [1]:\n    pass",
    "x = [1 for _getiter_ in [1]]",
    "try:\n    1 / 0\nexcept ZeroDivisionError as _tick_:\n    pass",
    "(_tick_ := 1)",
    "def _tick_():\n    pass\nwhile True:\n    pass",
    "del _write_",
    "global _format_\n_format_ = 1",
    "match 1:\n    case _tick_:\n        pass",
    "match {'a': 1}:\n    case {**_tick_}:\n        pass",
    "import os as _tick_",
    "_print_ = 1",
]


@pytest.mark.parametrize("probe", PROBES)
def test_guard_hooks_cannot_be_rebound(attack, probe: str) -> None:
    """A probe that rebinds a guard hook's name is refused at compile time."""
    record = attack(probe)
    assert record["outcome"] == "compile_error", record["reason"]
