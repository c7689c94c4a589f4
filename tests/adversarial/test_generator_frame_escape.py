"""Technique: reach a frame through a generator (`gi_frame.f_back.f_globals`) or an async
generator (`ag_frame`) and walk to the host's globals or builtins.
Source: simpleeval issue #138 (gi_frame escape); RestrictedPython CVE-2023-37271
(stack frame escape through generators, fixed by INSPECT_ATTRIBUTES in 6.1)."""

import pytest

PROBES = [
    "g = (x for x in [1])\nprint(g.gi_frame.f_back.f_globals)",
    "g = (x for x in [1])\nf = g.gi_frame\nprint(f)",
    "g = (x for x in [1])\nprint(g.gi_code)",
    "def f():\n    yield 1\nprint(f().gi_frame)",
]


@pytest.mark.parametrize("probe", PROBES)
def test_generator_frames_are_unreachable(attack, probe: str) -> None:
    """A probe cannot reach the frame of a generator it made."""
    record = attack(probe)
    assert record["outcome"] in ("compile_error", "denied")
