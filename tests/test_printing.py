"""print for probes: rendered by us, written to the capped buffer, stopped once full."""

from __future__ import annotations

import pytest

from safeprobe.errors import ProbeDenied, ProbeStopped
from safeprobe.probe.budget import Budget, OutputBuffer
from safeprobe.probe.printing import Printer
from safeprobe.probe.render import RenderLimits
from safeprobe.probe.sandbox import AttemptState


def _state(max_bytes: int = 1000) -> AttemptState:
    return AttemptState(
        budget=Budget(timeout_s=5.0, max_steps=10**6, max_items=1000),
        output=OutputBuffer(max_bytes),
        render_limits=RenderLimits(),
    )


def test_print_writes_rendered_text_with_sep_and_end() -> None:
    """As Python's print does, to the attempt's output buffer."""
    state = _state()
    Printer(state)._call_print(1, "a", [2], sep="-", end="!\n")
    assert state.output.text() == "1-a-[2]!\n"


def test_print_to_a_file_is_refused() -> None:
    """Output goes to the operator only."""
    state = _state()
    with pytest.raises(ProbeDenied, match="print"):
        Printer(state)._call_print("x", file=object())
    assert state.denial is not None


def test_print_past_the_output_cap_stops_the_attempt() -> None:
    """A full buffer ends the attempt with a limit outcome."""
    state = _state(max_bytes=10)
    with pytest.raises(ProbeStopped) as caught:
        Printer(state)._call_print("x" * 100)
    assert caught.value.outcome == "limit"
