"""Which requests run: one at a time, cooldown, allowed uids, refusals coalesced and bounded."""

from __future__ import annotations

import threading

from safeprobe.attempt import Outcome, TriggerInfo
from safeprobe.host.admission import MAX_REFUSAL_BUCKETS, admit, burst_reason
from safeprobe.host.installation import Burst, Installation
from safeprobe.host.runner import Runner


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _installation(
    clock: _Clock, *, cooldown_s: float = 1.0, uids: frozenset[int] | None = None
) -> Installation:
    return Installation(
        runner=Runner("/nonexistent/policy.yaml", clock=clock),
        signum=3,
        mode="listener",
        previous_handler=None,
        cooldown_s=cooldown_s,
        allowed_uids=uids,
        clock=clock,
        lock=threading.Condition(),
    )


def _sent_by(uid: int | None, *, verified: bool = True) -> TriggerInfo:
    return TriggerInfo("SIGQUIT", 1, uid, "sigwaitinfo", sender_verified=verified)


def test_the_first_request_waits_for_the_runner() -> None:
    """An idle installation takes a request as the pending one."""
    inst = _installation(_Clock())
    trigger = _sent_by(1000)
    admit(inst, trigger)
    assert inst.pending is trigger
    assert not inst.bursts


def test_a_request_while_one_waits_or_runs_is_refused_as_busy() -> None:
    """At most one attempt runs and one waits; the rest are refused, coalesced with a count."""
    inst = _installation(_Clock())
    admit(inst, _sent_by(1000))
    admit(inst, _sent_by(1000))
    admit(inst, _sent_by(1000))
    burst = inst.bursts[(Outcome.BUSY, 1000)]
    assert (burst.outcome, burst.count) == (Outcome.BUSY, 2)


def test_a_request_inside_the_cooldown_is_rate_limited() -> None:
    """Within cooldown_s of the last attempt's end, a request is refused."""
    clock = _Clock()
    inst = _installation(clock, cooldown_s=1.0)
    inst.last_finished = clock.now - 0.5
    admit(inst, _sent_by(1000))
    assert inst.pending is None
    assert (Outcome.RATE_LIMITED, 1000) in inst.bursts
    clock.now += 1.0
    admit(inst, _sent_by(1000))
    assert inst.pending is not None


def test_an_unverified_or_unlisted_sender_is_unauthorized() -> None:
    """With allowed_uids, only a kernel-verified listed uid may run a probe."""
    inst = _installation(_Clock(), uids=frozenset({0}))
    admit(inst, _sent_by(0, verified=False))
    admit(inst, _sent_by(1000))
    admit(inst, _sent_by(None, verified=False))
    assert inst.pending is None
    assert set(inst.bursts) == {
        (Outcome.UNAUTHORIZED, 0),
        (Outcome.UNAUTHORIZED, 1000),
        (Outcome.UNAUTHORIZED, None),
    }


def test_refusal_buckets_are_bounded_however_many_senders() -> None:
    """A storm from many uids costs bounded memory: the excess shares one bucket."""
    inst = _installation(_Clock(), uids=frozenset({0}))
    for uid in range(1, 1000):
        admit(inst, _sent_by(uid))
    assert len(inst.bursts) == MAX_REFUSAL_BUCKETS + 1
    assert sum(burst.count for burst in inst.bursts.values()) == 999


def test_burst_reasons_name_the_rule_and_the_count() -> None:
    """The audit reason names the policy rule, the sender when known, and how many."""
    one = Burst(_sent_by(1000), Outcome.UNAUTHORIZED)
    assert burst_reason(one, cooldown_s=1) == "trigger.allowed_uids: uid 1000 is not allowed"
    claimed = Burst(_sent_by(0, verified=False), Outcome.UNAUTHORIZED, count=3)
    assert burst_reason(claimed, cooldown_s=1) == (
        "trigger.allowed_uids: uid 0 is only claimed (a queued signal), so it is not allowed"
        " (3 requests)"
    )
    busy = Burst(_sent_by(None), Outcome.BUSY, count=2)
    assert burst_reason(busy, cooldown_s=1) == (
        "one attempt at a time: an attempt was running (2 requests)"
    )
    limited = Burst(_sent_by(None), Outcome.RATE_LIMITED)
    assert burst_reason(limited, cooldown_s=0.25) == (
        "trigger.cooldown: within 250 ms of the last attempt"
    )
