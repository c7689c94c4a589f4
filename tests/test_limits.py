"""Budgets with an injected clock: no sleeps, deterministic."""

from __future__ import annotations

import gc
import mmap
import os
import resource
import signal
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from safeprobe.errors import ProbeStopped
from safeprobe.host.isolation import (
    _DONE,
    FORK_KILL_GRACE_S,
    _split_done,
    reap_finished_children,
    run_forked,
)
from safeprobe.probe.budget import (
    MAX_CALL_DEPTH,
    MAX_RSS_GROWTH_BYTES,
    RSS_SAMPLE_INTERVAL_S,
    Budget,
    OutputBuffer,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_deadline_stops_at_the_first_tick_past_it() -> None:
    """The first tick past the deadline stops the probe as a timeout under limits.timeout."""
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
    """Entering one call past MAX_CALL_DEPTH stops the probe for recursion."""
    budget = Budget(timeout_s=1, max_steps=10**9, max_items=10, clock=FakeClock())
    for _ in range(MAX_CALL_DEPTH):
        budget.enter()
    with pytest.raises(ProbeStopped, match="recursion"):
        budget.enter()


def test_output_is_capped_on_a_character_boundary() -> None:
    """Output is cut at the byte cap on a character boundary, and the cut is marked."""
    out = OutputBuffer(max_bytes=5)
    out.write("abcé")  # 5 bytes
    out.write("é")
    assert out.truncated
    assert out.getvalue() == "abcé".encode()
    out2 = OutputBuffer(max_bytes=4)
    out2.write("abcé")
    assert out2.getvalue() == b"abc"
    assert "output truncated at 4 bytes" in out2.text()


@pytest.mark.slow
def test_forked_work_returns_its_bytes_and_exit_code() -> None:
    """Work run in a forked child returns its bytes and a clean exit."""

    report = run_forked(
        lambda _send: b"hello", deadline_s=5, max_payload_bytes=100, memory_bytes=2**28
    )
    assert (report.payload, report.exit_code, report.signal) == (b"hello", 0, None)
    assert not report.killed_at_deadline


@pytest.mark.slow
def test_forked_child_whose_result_came_is_reaped_now_or_later() -> None:
    """A complete result is taken at once; a child not yet exited is reaped afterwards,
    so no zombie outlives the next attempt."""
    report = run_forked(
        lambda send: send(b"c") or b"hello", deadline_s=5, max_payload_bytes=100, memory_bytes=2**28
    )
    assert (report.payload, report.exit_code, report.signal) == (b"chello", 0, None)
    deadline = time.monotonic() + 10
    while True:
        reap_finished_children()
        try:
            os.waitpid(report.pid, os.WNOHANG)
        except ChildProcessError:
            break  # reaped, by us now or by run_forked then
        assert time.monotonic() < deadline, "the child was never reaped"
        time.sleep(0.01)


def test_a_result_without_its_trailer_is_not_complete() -> None:
    """Only the child's own trailer, with the right length, makes a result complete:
    a crash mid-send or a payload that merely contains the marker is waited for."""
    body = b"{}\nout"
    good = body + _DONE + len(body).to_bytes(8, "big")
    assert _split_done(good) == body
    assert _split_done(good[:-1]) is None
    assert _split_done(body + _DONE + (len(body) + 1).to_bytes(8, "big")) is None
    assert _split_done(body) is None
    assert _split_done(b"") is None


@pytest.mark.slow
def test_forked_child_stuck_in_c_is_killed_at_the_deadline() -> None:
    """A C call no tick can interrupt (here a sleep) ends with SIGKILL at the deadline."""

    started = time.monotonic()
    report = run_forked(
        lambda _send: time.sleep(30) or b"",
        deadline_s=0.2,
        max_payload_bytes=100,
        memory_bytes=2**28,
    )
    elapsed = time.monotonic() - started
    assert report.killed_at_deadline
    assert report.signal == 9
    assert elapsed < 0.2 + FORK_KILL_GRACE_S + 5  # generous: only "not 30 s" is the claim


@pytest.mark.slow
def test_forked_child_crash_is_reported_not_raised() -> None:
    """A forked child that crashes is reported with its signal, not raised."""

    report = run_forked(
        lambda _send: os.kill(os.getpid(), signal.SIGSEGV) or b"",
        deadline_s=5,
        max_payload_bytes=100,
        memory_bytes=2**28,
    )
    assert report.signal == signal.SIGSEGV
    assert report.status() == "signal SIGSEGV"


@pytest.mark.slow
def test_forked_child_memory_is_limited_in_the_child_only() -> None:
    """RLIMIT_AS is set in the child: allocating past it fails there, the parent is untouched."""

    before = resource.getrlimit(resource.RLIMIT_AS)

    def allocate(_send: object) -> bytes:
        try:
            _ = bytearray(512 * 1024 * 1024)
        except MemoryError:
            return b"memory error"
        return b"allocated"

    report = run_forked(allocate, deadline_s=5, max_payload_bytes=100, memory_bytes=64 * 2**20)
    assert report.payload == b"memory error"
    assert resource.getrlimit(resource.RLIMIT_AS) == before


@pytest.mark.slow
def test_forked_child_sending_too_much_is_cut() -> None:
    """A forked child sending more than the payload cap is cut near the cap, and says so."""

    report = run_forked(
        lambda _send: b"x" * 10**6, deadline_s=5, max_payload_bytes=1000, memory_bytes=2**28
    )
    assert report.payload_cut
    assert len(report.payload) <= 1000 + 65536


@pytest.mark.slow
def test_forked_child_sends_before_it_returns() -> None:
    """What work sends arrives before what it returns, in order."""

    def work(send: Callable[[bytes], None]) -> bytes:
        send(b"first ")
        return b"last"

    report = run_forked(work, deadline_s=5, max_payload_bytes=100, memory_bytes=2**28)
    assert report.payload == b"first last"


@pytest.mark.slow
def test_forked_child_runs_without_the_garbage_collector() -> None:
    """gc is off in the child, so no collection runs a host finalizer there."""
    report = run_forked(
        lambda _send: str(gc.isenabled()).encode(),
        deadline_s=5,
        max_payload_bytes=100,
        memory_bytes=2**28,
    )
    assert report.payload == b"False"
    assert gc.isenabled()


_SEEN_IN_CHILD_HOOK: list[bool] = []


@pytest.mark.slow
def test_forked_child_hooks_already_run_without_the_garbage_collector() -> None:
    """The host's at-fork hooks run in the child before safeprobe's code: gc is off for
    them too, so a collection they trigger cannot run a host finalizer there."""
    os.register_at_fork(after_in_child=lambda: _SEEN_IN_CHILD_HOOK.append(gc.isenabled()))
    report = run_forked(
        lambda _send: str(_SEEN_IN_CHILD_HOOK[-1]).encode(),
        deadline_s=5,
        max_payload_bytes=100,
        memory_bytes=2**28,
    )
    assert report.payload == b"False"
    assert gc.isenabled()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/oom_score_adj").exists(), reason="Linux /proc only")
def test_forked_child_is_the_oom_killers_first_choice() -> None:
    """The child's oom_score_adj is 1000, so the kernel kills it before the host."""

    def read_score(_send: object) -> bytes:
        return Path("/proc/self/oom_score_adj").read_bytes().strip()

    report = run_forked(read_score, deadline_s=5, max_payload_bytes=100, memory_bytes=2**28)
    assert report.payload == b"1000"
    assert Path("/proc/self/oom_score_adj").read_bytes().strip() != b"1000"


@pytest.mark.slow
def test_fork_warning_filter_is_narrow_and_installed_once() -> None:
    """Our filter names the exact message, category and module, and is not duplicated."""
    before = list(warnings.filters)
    try:
        for _ in range(3):
            run_forked(lambda _send: b"", deadline_s=5, max_payload_bytes=100, memory_bytes=2**28)
        ours = [f for f in warnings.filters if f not in before]
        assert len(ours) <= 1
        action, message, category, module, _line = next(
            f for f in warnings.filters if f[3] is not None and "safeprobe" in f[3].pattern
        )
        assert (action, category) == ("ignore", DeprecationWarning)
        assert message is not None
        assert message.match(
            "This process (pid=42) is multi-threaded, use of fork() may lead to deadlocks "
            "in the child."
        )
        assert not message.match("something else")
        assert module is not None
        assert module.match("safeprobe.host.isolation")
        assert not module.match("host_app")
        assert not module.match("safeprobe.host.isolation_other")
    finally:
        warnings.filters[:] = before


@pytest.mark.slow
def test_forked_child_has_no_host_streams() -> None:
    """The child cannot write to the host's stdout or stderr (a warning is dropped)."""

    def streams(_send: object) -> bytes:
        with warnings.catch_warnings():
            warnings.simplefilter("always")  # printed, were there a stream to print to
            warnings.warn("from the child", SyntaxWarning, stacklevel=1)
        return repr((sys.stdout, sys.stderr)).encode()

    report = run_forked(streams, deadline_s=5, max_payload_bytes=100, memory_bytes=2**28)
    assert report.payload == b"(None, None)"


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
    # Fresh pages from the kernel, each written so it is resident: a bytearray could reuse
    # heap memory an earlier test freed (glibc keeps it, already resident), and then the
    # process would not grow at all (CI saw that on 3.12).
    size = MAX_RSS_GROWTH_BYTES + 8 * 2**20
    grown = mmap.mmap(-1, size)
    for offset in range(0, size, mmap.PAGESIZE):
        grown[offset] = 1
    budget.tick()  # within the interval: no sample yet
    clock.now += RSS_SAMPLE_INTERVAL_S * 2
    with pytest.raises(ProbeStopped, match="grew by more than"):
        budget.tick()
    grown.close()


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
