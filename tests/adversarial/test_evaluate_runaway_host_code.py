"""Technique: hold the runner with host code the policy vouches for: a named method that
loops forever (``while True: pass``), and one called in the probe's own loop. Host code
does not tick, so the attempt traces it; the attempt must end at its timeout with one
record, the host alive and its state unchanged, in fork and thread isolation.
Source: Python docs, ``sys.settrace`` (a trace function runs on every line of every frame
of its thread); CPython issue 9215 and SECURITY.md "Time" (why a sandbox needs a deadline
that reaches into code it did not compile)."""

from __future__ import annotations

EXPOSE = {
    "ledger": {
        "target": "__main__:ledger",
        "allow": ["spin", "size"],
        "evaluate": ["spin()", "size()"],
    }
}

# A vouched method that never returns.
SPIN = "ledger.spin()\n"
# The stop caught by the probe, then the method called again.
SPIN_CAUGHT = "for _ in range(3):\n    try:\n        ledger.spin()\n    except:\n        pass\n"
# A cheap vouched method called in a tight loop: each run takes a step, and its lines too.
MANY_CALLS = "while True:\n    ledger.size()\n"


# Steps so many that the deadline, not the step cap, is what must end the attempt.
NO_STEP_CAP = {"max_steps": 10**12}


def test_a_looping_vouched_method_ends_at_the_step_cap(held) -> None:
    """The trace ticks the attempt's budget on every line: the default step cap ends it."""
    record = held(SPIN, frozenset({"limit", "timeout"}), expose=EXPOSE)
    assert set(record["evaluated"]) == {"ledger.spin()"}


def test_a_looping_vouched_method_ends_at_the_timeout(held) -> None:
    """With steps to spare, the deadline checked on those ticks ends it: one record."""
    record = held(SPIN, frozenset({"timeout"}), expose=EXPOSE, limits=NO_STEP_CAP)
    assert "limits.timeout" in record["reason"]
    # Announced before it ran; its count is null only if a fork child was killed in it.
    assert set(record["evaluated"]) == {"ledger.spin()"}


def test_catching_the_stop_does_not_restart_the_loop(held) -> None:
    """The stop is sticky: the probe's bare except cannot run the method again."""
    record = held(SPIN_CAUGHT, frozenset({"timeout"}), expose=EXPOSE, limits=NO_STEP_CAP)
    assert set(record["evaluated"]) == {"ledger.spin()"}


def test_a_vouched_method_in_a_probe_loop_is_stopped(held) -> None:
    """Many short runs are bounded as one long one: by the deadline or the step cap."""
    record = held(MANY_CALLS, frozenset({"timeout", "limit"}), expose=EXPOSE)
    assert record["evaluated"]["ledger.size()"] > 1
