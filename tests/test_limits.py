"""Budgets with an injected clock: no sleeps, deterministic."""

from __future__ import annotations

import pytest

from safeprobe.limits import MAX_CALL_DEPTH, Budget, OutputBuffer, ProbeStopped


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_deadline_stops_at_the_first_tick_past_it() -> None:
    clock = FakeClock()
    budget = Budget(timeout_s=0.5, max_steps=10**9, max_items=10, clock=clock)
    budget.tick()
    clock.now += 0.6
    with pytest.raises(ProbeStopped) as info:
        budget.tick()
    assert (info.value.outcome, info.value.rule) == ("timeout", "limits.timeout")


def test_stop_is_sticky_after_being_caught() -> None:
    """Catching the stop does not help: every later tick raises it again."""
    budget = Budget(timeout_s=1, max_steps=3, max_items=10, clock=FakeClock())
    for _ in range(3):
        budget.tick()
    for _ in range(5):
        with pytest.raises(ProbeStopped):
            budget.tick()
    with pytest.raises(ProbeStopped):
        budget.check_expired()


def test_call_depth_is_capped() -> None:
    budget = Budget(timeout_s=1, max_steps=10**9, max_items=10, clock=FakeClock())
    for _ in range(MAX_CALL_DEPTH):
        budget.enter()
    with pytest.raises(ProbeStopped, match="recursion"):
        budget.enter()


def test_output_is_capped_on_a_character_boundary() -> None:
    out = OutputBuffer(max_bytes=5)
    out.write("abcé")  # 5 bytes
    out.write("é")
    assert out.truncated
    assert out.getvalue() == "abcé".encode()
    out2 = OutputBuffer(max_bytes=4)
    out2.write("abcé")
    assert out2.getvalue() == b"abc"
    assert "output truncated at 4 bytes" in out2.text()
