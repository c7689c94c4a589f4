"""An attempt's time as the host let it pass: the wait between the signal and the attempt's
start, and an attempt that ran past ``limits.timeout`` around a probe that did not.

Promise: pure decisions on clock readings the runner passes in. A request the host held
off (a long C call holding the GIL) for longer than the whole attempt may take is not run;
an ``ok`` whose attempt took longer than the timeout says why in its reason.
"""

from __future__ import annotations

from safeprobe.attempt import Outcome, TriggerInfo
from safeprobe.host.execution import Result


def queued_ms(trigger: TriggerInfo, started: float) -> float | None:
    """How long the request waited between the signal path and the attempt's start."""
    if trigger.received_at is None:
        return None
    return max(0.0, (started - trigger.received_at) * 1000.0)


def late_start(waited_ms: float | None, timeout_ms: float) -> Result | None:
    """The outcome of a request that waited longer than the whole attempt may take (it is
    not run), or None when it may run."""
    if waited_ms is None or waited_ms <= timeout_ms:
        return None
    # The host held the runner off (a long C call holding the GIL) for longer than the
    # whole attempt may take: what the operator asked about is long past.
    return Result(
        Outcome.TIMEOUT,
        f"limits.timeout: the attempt could not start within {timeout_ms:.0f} ms of "
        f"the signal (it waited {waited_ms:.0f} ms; the host held the GIL), not run",
    )


def late_finish(result: Result, duration_ms: float, timeout_ms: float) -> Result:
    """``result``, or for an ``ok`` whose attempt took longer than the timeout, an ``ok``
    whose reason says why."""
    if result.outcome is not Outcome.OK or duration_ms <= timeout_ms:
        return result
    # The probe finished within its limits, but the attempt around it (fork, wait, read
    # back) could not get the GIL: an ok that took this long must say why.
    return Result(
        Outcome.OK,
        f"ok; the attempt took {duration_ms:.0f} ms, over limits.timeout "
        f"({timeout_ms:.0f} ms): the host held the GIL",
        result.detail,
        result.child,
    )
