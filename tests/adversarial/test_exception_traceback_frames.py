"""Technique: walk from a caught exception to frames and globals:
``e.__traceback__.tb_frame.f_globals``, ``e.__context__``, ``e.with_traceback``; then from
the frame to the sandbox's own globals (the guard functions, the host's modules).
Source: RestrictedPython CVE-2023-37271 (frames reached through generators and
tracebacks, INSPECT_ATTRIBUTES); pyjail CTF writeups (``tb_frame.f_back.f_globals``)."""

import pytest

PROBES = [
    "try:\n    1 / 0\nexcept Exception as e:\n    print(e.__traceback__.tb_frame.f_globals)",
    "try:\n    1 / 0\nexcept Exception as e:\n    print(e.__context__)",
    "try:\n    1 / 0\nexcept Exception as e:\n    f = e.tb_frame",
    "try:\n    1 / 0\nexcept Exception as e:\n    e.with_traceback(None)",
    "try:\n    service.reset()\nexcept Exception as e:\n    print(e.__cause__)",
    "try:\n    1 / 0\nexcept Exception as e:\n    print(e.f_back)",
]


@pytest.mark.parametrize("probe", PROBES)
def test_tracebacks_and_frames_are_unreachable(attack, probe: str) -> None:
    """A probe cannot reach a traceback or a frame from an exception it catches."""
    record = attack(probe)
    assert record["outcome"] in ("denied", "compile_error"), record["reason"]
