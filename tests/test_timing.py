"""How long the host let an attempt wait and run: pure decisions on clock readings."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from safeprobe.attempt import Outcome, TriggerInfo
from safeprobe.host.execution import Result
from safeprobe.host.timing import late_finish, late_start, queued_ms


def _trigger(received_at: float | None) -> TriggerInfo:
    return TriggerInfo("SIGQUIT", None, None, "handler", received_at=received_at)


def test_queue_time_is_unknown_without_a_receipt_time() -> None:
    """run_probe() calls have no signal, so no wait to report."""
    assert queued_ms(_trigger(None), 5.0) is None


def test_queue_time_runs_from_receipt_to_start_and_is_never_negative() -> None:
    """Milliseconds from the signal path to the attempt's start; clock skew gives 0."""
    assert queued_ms(_trigger(1.0), 1.25) == 250.0
    assert queued_ms(_trigger(2.0), 1.0) == 0.0


def test_a_request_held_off_longer_than_the_timeout_is_not_run() -> None:
    """What the operator asked about is long past: a timeout saying the host held the GIL."""
    result = late_start(750.0, 500.0)
    assert result is not None
    assert result.outcome is Outcome.TIMEOUT
    assert "could not start within 500 ms" in result.reason
    assert "waited 750 ms" in result.reason


@given(st.one_of(st.none(), st.floats(0, 500)))
def test_a_request_within_the_timeout_may_run(waited_ms: float | None) -> None:
    """Waiting up to the whole timeout (or an unknown wait) still runs the probe."""
    assert late_start(waited_ms, 500.0) is None


def test_a_late_ok_says_why_and_keeps_its_detail_and_child() -> None:
    """An ok attempt that took longer than the timeout names the host's GIL."""
    ok = Result(Outcome.OK, "ok", "detail", {"pid": 7})
    late = late_finish(ok, 900.0, 500.0)
    assert late.outcome is Outcome.OK
    assert "took 900 ms, over limits.timeout (500 ms)" in late.reason
    assert (late.detail, late.child) == ("detail", {"pid": 7})


@given(st.sampled_from(list(Outcome)), st.floats(0, 2000))
def test_only_a_late_ok_is_changed(outcome: Outcome, duration_ms: float) -> None:
    """Other outcomes, and an ok within the timeout, are returned as they are."""
    result = Result(outcome, "reason")
    changed = late_finish(result, duration_ms, 500.0)
    if outcome is Outcome.OK and duration_ms > 500.0:
        assert changed is not result
    else:
        assert changed is result
