"""Which requests run: one attempt at a time, the cooldown, the allowed sender uids, and
the runner thread that runs them or audits their refusal.

Promise: ``admit`` decides at once and never blocks on a probe; at most one attempt runs
and at most one waits; a request refused (busy, rate limited, unauthorized) is audited,
coalesced with others of its kind and sender into one record per burst with a count, in
memory bounded by ``MAX_REFUSAL_BUCKETS``. Refusals wait at most ``COALESCE_WINDOW_S`` to
be audited together, always before the next attempt (so the log keeps their order), and
``flush_refusals`` writes those still waiting (uninstall, exit), so none is lost to a
normal exit. Threat model: SECURITY.md, "Availability" and "Sender".
"""

from __future__ import annotations

import _thread
import signal
from typing import Final

from safeprobe.attempt import Outcome, TriggerInfo
from safeprobe.host.installation import Burst, Installation
from safeprobe.host.stack_dump import note_request_taken

# Refusals are coalesced: one audit record per (outcome, sender uid) per burst, with a
# count. Distinct senders beyond this share one bucket, so a storm costs bounded memory.
MAX_REFUSAL_BUCKETS: Final = 64
# How long an idle runner gathers a burst of refusals before auditing it: a storm of
# thousands of signals in ten seconds becomes about ten records, not thousands.
COALESCE_WINDOW_S: Final = 1.0


def admit(inst: Installation, trigger: TriggerInfo, *, chain: bool = True) -> None:
    """Decide at once whether the request may run; never blocks on a probe. With a chained
    handler, ask the main thread to run it too (it runs only there)."""
    if chain and inst.chain is not None:
        with inst.lock:
            inst.chain_due += 1
        _thread.interrupt_main(signal.Signals(inst.signum))
    with inst.lock:
        if inst.stack_dump is not None:  # the sender sees the host runs Python: no dump
            note_request_taken(inst.stack_dump)
        outcome = _refusal(inst, trigger)
        if outcome is None:
            inst.pending = trigger
        else:
            key = (outcome, trigger.sender_uid)
            if key not in inst.bursts and len(inst.bursts) >= MAX_REFUSAL_BUCKETS:
                key = (outcome, None)
            burst = inst.bursts.get(key)
            if burst is None:
                inst.bursts[key] = Burst(trigger, outcome)
            else:
                burst.count += 1
            if inst.burst_started is None:
                inst.burst_started = inst.clock()
        inst.lock.notify_all()


def _refusal(inst: Installation, trigger: TriggerInfo) -> Outcome | None:
    if inst.allowed_uids is not None and (
        not trigger.sender_verified or trigger.sender_uid not in inst.allowed_uids
    ):
        return Outcome.UNAUTHORIZED
    if inst.running or inst.pending is not None:
        return Outcome.BUSY
    if inst.last_finished is None or inst.cooldown_s <= 0:
        return None
    if inst.clock() - inst.last_finished < inst.cooldown_s:
        return Outcome.RATE_LIMITED
    return None


def burst_reason(burst: Burst, *, cooldown_s: float) -> str:
    """The audit reason for a coalesced burst: the rule, and how many requests. Pure."""
    many = f" ({burst.count} requests)" if burst.count > 1 else ""
    if burst.outcome is Outcome.UNAUTHORIZED:
        uid = burst.first.sender_uid
        if uid is None:
            who = "an unknown sender"
        elif not burst.first.sender_verified:
            who = f"uid {uid} is only claimed (a queued signal), so it"
        else:
            who = f"uid {uid}"
        return f"trigger.allowed_uids: {who} is not allowed{many}"
    if burst.outcome is Outcome.BUSY:
        return f"one attempt at a time: an attempt was running{many}"
    return f"trigger.cooldown: within {cooldown_s * 1000:.0f} ms of the last attempt{many}"


def work(inst: Installation) -> None:
    """The runner thread: audit due refusals, run the waiting request, until stopping."""
    while True:
        with inst.lock:
            while not inst.stopping and inst.pending is None and not _burst_due(inst):
                inst.lock.wait(_wait_s(inst))
            bursts = _take_bursts(inst)
            if inst.stopping:
                trigger = None
            else:
                trigger, inst.pending = inst.pending, None
                inst.running = trigger is not None
        # Refusals are audited before the next attempt, so the log keeps their order.
        for burst in bursts:
            reason = burst_reason(burst, cooldown_s=inst.cooldown_s)
            inst.runner.refuse(burst.first, burst.outcome, reason, count=burst.count)
        if trigger is None:
            if inst.stopping:
                return
            continue
        done = _Done(inst)
        try:
            inst.runner.attempt(trigger, on_recorded=done)  # audits, reports; never raises
        finally:
            done()


class _Done:
    """Marks the attempt finished once: when its record is written (so a request that
    comes while its output is delivered waits as the next one instead of being refused as
    busy: the caller who read that output may ask again at once), or at the latest when the
    runner returns."""

    __slots__ = ("called", "inst")

    def __init__(self, inst: Installation) -> None:
        self.inst = inst
        self.called = False

    def __call__(self) -> None:
        if self.called:
            return
        self.called = True
        with self.inst.lock:
            self.inst.running = False
            self.inst.last_finished = self.inst.clock()
            self.inst.lock.notify_all()


def _burst_due(inst: Installation) -> bool:
    """A burst is audited once the runner is idle and the window has passed."""
    if inst.burst_started is None or inst.running:
        return False
    return inst.clock() - inst.burst_started >= COALESCE_WINDOW_S


def _wait_s(inst: Installation) -> float | None:
    if inst.burst_started is None:
        return None
    return max(COALESCE_WINDOW_S - (inst.clock() - inst.burst_started), 0.01)


def _take_bursts(inst: Installation) -> list[Burst]:
    """Hand over the bursts to audit now: all of them before an attempt or at the end."""
    if inst.burst_started is None:
        return []
    if not (inst.stopping or inst.pending is not None or _burst_due(inst)):
        return []
    bursts = list(inst.bursts.values())
    inst.bursts.clear()
    inst.burst_started = None
    return bursts


def flush_refusals(inst: Installation) -> None:
    """Audit every refusal still waiting, now (uninstall, exit)."""
    with inst.lock:
        bursts = list(inst.bursts.values())
        inst.bursts.clear()
        inst.burst_started = None
    for burst in bursts:
        reason = burst_reason(burst, cooldown_s=inst.cooldown_s)
        inst.runner.refuse(burst.first, burst.outcome, reason, count=burst.count)
