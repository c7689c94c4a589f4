"""Budgets with an injected clock: no sleeps, deterministic."""

from __future__ import annotations

import os
import resource
import signal
import time

import pytest

from safeprobe.limits import (
    FORK_KILL_GRACE_S,
    MAX_CALL_DEPTH,
    MAX_RSS_GROWTH_BYTES,
    RSS_SAMPLE_INTERVAL_S,
    Budget,
    OutputBuffer,
    ProbeStopped,
    run_forked,
)


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


def test_forked_work_returns_its_bytes_and_exit_code() -> None:

    report = run_forked(lambda: b"hello", deadline_s=5, max_payload_bytes=100, memory_bytes=2**28)
    assert (report.payload, report.exit_code, report.signal) == (b"hello", 0, None)
    assert not report.killed_at_deadline


def test_forked_child_stuck_in_c_is_killed_at_the_deadline() -> None:
    """A C call no tick can interrupt (here a sleep) ends with SIGKILL at the deadline."""

    started = time.monotonic()
    report = run_forked(
        lambda: time.sleep(30) or b"", deadline_s=0.2, max_payload_bytes=100, memory_bytes=2**28
    )
    elapsed = time.monotonic() - started
    assert report.killed_at_deadline
    assert report.signal == 9
    assert elapsed < 0.2 + FORK_KILL_GRACE_S + 5  # generous: only "not 30 s" is the claim


def test_forked_child_crash_is_reported_not_raised() -> None:

    report = run_forked(
        lambda: os.kill(os.getpid(), signal.SIGSEGV) or b"",
        deadline_s=5,
        max_payload_bytes=100,
        memory_bytes=2**28,
    )
    assert report.signal == signal.SIGSEGV
    assert report.status() == "signal SIGSEGV"


def test_forked_child_memory_is_limited_in_the_child_only() -> None:
    """RLIMIT_AS is set in the child: allocating past it fails there, the parent is untouched."""

    before = resource.getrlimit(resource.RLIMIT_AS)

    def allocate() -> bytes:
        try:
            _ = bytearray(512 * 1024 * 1024)
        except MemoryError:
            return b"memory error"
        return b"allocated"

    report = run_forked(allocate, deadline_s=5, max_payload_bytes=100, memory_bytes=64 * 2**20)
    assert report.payload == b"memory error"
    assert resource.getrlimit(resource.RLIMIT_AS) == before


def test_forked_child_sending_too_much_is_cut() -> None:

    report = run_forked(
        lambda: b"x" * 10**6, deadline_s=5, max_payload_bytes=1000, memory_bytes=2**28
    )
    assert report.payload_cut
    assert len(report.payload) <= 1000 + 65536


def test_quiet_tick_reports_a_spent_budget_without_raising() -> None:
    """Rendering asks the budget without raising; the stop is kept for the next tick."""
    clock = FakeClock()
    budget = Budget(timeout_s=0.5, max_steps=10**9, max_items=10, clock=clock)
    assert budget.tick_quietly()
    clock.now += 1
    assert not budget.tick_quietly()
    with pytest.raises(ProbeStopped, match=r"limits\.timeout"):
        budget.tick()


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_rss_backstop_stops_a_probe_once_the_process_grew() -> None:
    """With the backstop on, a tick after the sample interval stops the attempt once the
    resident set grew past MAX_RSS_GROWTH_BYTES since the budget was made."""
    clock = FakeClock()
    budget = Budget(timeout_s=5, max_steps=10**9, max_items=10, clock=clock, rss_backstop=True)
    grown = bytearray(MAX_RSS_GROWTH_BYTES + 8 * 2**20)  # zero-filled: touched, resident
    budget.tick()  # within the interval: no sample yet
    clock.now += RSS_SAMPLE_INTERVAL_S * 2
    with pytest.raises(ProbeStopped, match="grew by more than"):
        budget.tick()
    del grown


def test_rss_backstop_is_off_unless_asked() -> None:
    """Without the backstop (isolation: fork, unit tests) growth alone never stops a probe."""
    clock = FakeClock()
    budget = Budget(timeout_s=5, max_steps=10**9, max_items=10, clock=clock)
    grown = bytearray(MAX_RSS_GROWTH_BYTES + 8 * 2**20)
    clock.now += 1
    budget.tick()
    del grown


def test_item_checks_charge_each_item_its_size() -> None:
    """check_items refuses a call whose items, at their real size, are over the one-call cap."""
    budget = Budget(timeout_s=5, max_steps=10**9, max_items=10**6, clock=FakeClock())
    budget.check_items(1000, "small", item_bytes=5000)
    with pytest.raises(ProbeStopped, match="size"):
        budget.check_items(100_000, "big ints", item_bytes=5000)
