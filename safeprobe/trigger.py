"""install()/uninstall(): the signal listener, one attempt at a time, cooldown, sender checks.

Promise: until a signal arrives, an installed safeprobe only waits (one listener thread
blocked in ``sigwaitinfo`` and one runner thread blocked on a condition). The signal path
does no work of its own: it records who sent the signal and hands the request to the
runner thread, so the host's main thread is never held for a probe. At most one attempt
runs; a request that arrives while one runs, inside the cooldown, or from a uid the policy
does not allow, is refused and audited, and refusals waiting to be audited are bounded.
Threat model: SECURITY.md, "Availability" and "Sender".

Signal reception. In ``listener`` mode (the default, Linux) the signal is blocked in the
installing thread (and so in every thread it starts later) and a listener thread takes it
with ``sigwaitinfo``, which reports the sender's pid and uid. A thread that existed before
``install()`` still has the signal unblocked; if the kernel picks it, a plain handler runs
in the main thread instead and the sender is recorded as unknown. Side effect to know:
a blocked signal mask is inherited across ``exec``, so programs the host starts with
``subprocess`` start with the signal blocked; ``mode: handler`` avoids that at the cost of
not knowing the sender. Forked children get the signal unblocked and start uninstalled.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from safeprobe.errors import InstallError
from safeprobe.execution import Outcome
from safeprobe.policy import Policy
from safeprobe.registry import announce, withdraw
from safeprobe.runner import Runner, TriggerInfo

# Refusals are coalesced: one audit record per (outcome, sender uid) per burst, with a
# count. Distinct senders beyond this share one bucket, so a storm costs bounded memory.
MAX_REFUSAL_BUCKETS: Final = 64
# How long an idle runner gathers a burst of refusals before auditing it: a storm of
# thousands of signals in ten seconds becomes about ten records, not thousands.
COALESCE_WINDOW_S: Final = 1.0
_JOIN_TIMEOUT_S: Final = 5.0


@dataclass(slots=True)
class _Burst:
    """Refused requests of one kind from one sender, waiting to be audited together."""

    first: TriggerInfo
    outcome: Outcome
    count: int = 1


@dataclass(slots=True)
class _Installation:
    runner: Runner
    signum: int
    mode: str
    previous_handler: object
    cooldown_s: float
    allowed_uids: frozenset[int] | None
    clock: Callable[[], float]
    lock: threading.Condition
    pending: TriggerInfo | None = None
    running: bool = False
    last_finished: float | None = None
    bursts: dict[tuple[Outcome, int | None], _Burst] = field(default_factory=dict)
    burst_started: float | None = None
    stopping: bool = False
    listener: threading.Thread | None = None
    worker: threading.Thread | None = None
    blocked_here: bool = False
    announcement: Path | None = None  # for `safeprobe trigger PID` (registry.py)


_current: _Installation | None = None
_install_lock = threading.Lock()
_fork_hook_registered = False


def install(
    policy_path: str | os.PathLike[str],
    *,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Validate the policy and start listening for its signal. Call from the main thread.

    Raises PolicyError for a bad policy and AuditError when the audit log cannot be
    written, so a broken setup fails at start-up rather than at the first signal.
    """
    global _current  # noqa: PLW0603 - one installation per process, like a signal handler
    with _install_lock:
        if _current is not None:
            raise InstallError("safeprobe is already installed; call uninstall() first")
        if threading.current_thread() is not threading.main_thread():
            raise InstallError(
                "install() must be called from the main thread (signal handlers live there)"
            )
        runner = Runner(policy_path)
        policy = runner.load()
        said = isolation_line(policy, runner.policy_path, can_fork=hasattr(os, "fork"))
        runner.preflight_audit(policy)
        signum = int(getattr(signal, policy.trigger.signal))
        mode = policy.trigger.mode
        if mode == "listener" and not hasattr(signal, "sigwaitinfo"):
            mode = "handler"
        uids = policy.trigger.allowed_uids
        inst = _Installation(
            runner=runner,
            signum=signum,
            mode=mode,
            previous_handler=signal.getsignal(signum),
            cooldown_s=policy.trigger.cooldown_s,
            allowed_uids=frozenset(uids) if uids is not None else None,
            clock=clock,
            lock=threading.Condition(),
        )
        signal.signal(signum, _fallback_handler)
        if mode == "listener":
            signal.pthread_sigmask(signal.SIG_BLOCK, {signum})
            inst.blocked_here = True
            inst.listener = threading.Thread(
                target=_listen, args=(inst,), name="safeprobe-listener", daemon=True
            )
        inst.worker = threading.Thread(
            target=_work, args=(inst,), name="safeprobe-runner", daemon=True
        )
        _register_process_hooks()
        _current = inst
        inst.worker.start()
        if inst.listener is not None:
            inst.listener.start()
        sys.stderr.write(said)
        listener_tid = inst.listener.native_id if inst.listener is not None else None
        try:
            inst.announcement = announce(
                runner.policy_path, signal=policy.trigger.signal, listener_tid=listener_tid
            )
        except OSError as exc:
            sys.stderr.write(
                f"safeprobe: not announced for 'safeprobe trigger' ({exc.strerror}); "
                "pass it --policy for this process\n"
            )


def isolation_line(policy: Policy, policy_path: str, *, can_fork: bool) -> str:
    """The line install() writes to the host's stderr: which isolation, and why. Raises
    InstallError when the policy runs probes in a forked child and this platform cannot
    fork: falling back to a thread would silently weaken every limit the policy states
    (C calls would no longer be killed at the deadline), so the policy must say thread."""
    chosen = "isolation" in policy.model_fields_set
    if policy.isolation == "thread":
        why = "policy opt-in: C calls are bounded by cost checks only"
    elif not can_fork:
        origin = "the policy's" if chosen else "the default"
        raise InstallError(
            f"{policy_path}: isolation: fork ({origin}) is unavailable here (no os.fork); "
            "set isolation: thread in the policy to run probes in a thread, where C calls "
            "are bounded by cost checks only"
        )
    else:
        origin = "policy" if chosen else "the default"
        why = f"{origin}: probes run in a forked child killed at the deadline"
    return (
        f"safeprobe: installed {policy_path} on {policy.trigger.signal}; "
        f"isolation: {policy.isolation} ({why})\n"
    )


def uninstall() -> None:
    """Stop listening, restore the previous handler and signal mask. Idempotent."""
    global _current  # noqa: PLW0603
    with _install_lock:
        inst = _current
        if inst is None:
            return
        _current = None
        withdraw(inst.announcement)
        with inst.lock:
            inst.stopping = True
            inst.lock.notify_all()
        if inst.listener is not None and inst.listener.ident is not None:
            # Wake the listener out of sigwaitinfo; it sees ``stopping`` and exits.
            signal.pthread_kill(inst.listener.ident, inst.signum)
            inst.listener.join(_JOIN_TIMEOUT_S)
        if inst.worker is not None:
            inst.worker.join(_JOIN_TIMEOUT_S)
        if threading.current_thread() is threading.main_thread():
            signal.signal(inst.signum, inst.previous_handler)  # type: ignore[arg-type]
            if inst.blocked_here:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {inst.signum})


# si_code values (Linux, <asm-generic/siginfo.h>).
SI_USER: Final = 0  # kill(2): the kernel fills in the sender's pid and uid
SI_QUEUE: Final = -1  # sigqueue(3): the caller fills them in, and may lie
SI_TKILL: Final = -6  # tgkill(2): the kernel fills them in
KERNEL_FILLED_SENDER: Final = frozenset({SI_USER, SI_TKILL})


# ---- the signal paths: record and hand over, nothing else ----------------------------------


def _fallback_handler(signum: int, _frame: object) -> None:
    """Runs in the main thread when the signal reached a thread that did not block it."""
    inst = _current
    if inst is not None:
        _request(inst, TriggerInfo(signal.Signals(signum).name, None, None, "handler"))


def _listen(inst: _Installation) -> None:
    while True:
        try:
            info = signal.sigwaitinfo({inst.signum})
        except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for safety
            continue
        if inst.stopping:
            return
        name = signal.Signals(info.si_signo).name
        # Linux puts sigqueue's int value where si_status lies; kill(2) leaves it 0.
        request = info.si_status if info.si_code == SI_QUEUE else 0
        # Only kill(2) and tgkill(2) have the kernel fill in the sender: sigqueue's caller
        # writes si_pid and si_uid itself, so a queued signal's sender is only claimed.
        verified = info.si_code in KERNEL_FILLED_SENDER
        trigger = TriggerInfo(
            name, info.si_pid, info.si_uid, "sigwaitinfo", request, sender_verified=verified
        )
        _request(inst, trigger)


def _request(inst: _Installation, trigger: TriggerInfo) -> None:
    """Decide at once whether the request may run; never blocks on a probe."""
    with inst.lock:
        outcome = _refusal(inst, trigger)
        if outcome is None:
            inst.pending = trigger
        else:
            key = (outcome, trigger.sender_uid)
            if key not in inst.bursts and len(inst.bursts) >= MAX_REFUSAL_BUCKETS:
                key = (outcome, None)
            burst = inst.bursts.get(key)
            if burst is None:
                inst.bursts[key] = _Burst(trigger, outcome)
            else:
                burst.count += 1
            if inst.burst_started is None:
                inst.burst_started = inst.clock()
        inst.lock.notify_all()


def _refusal(inst: _Installation, trigger: TriggerInfo) -> Outcome | None:
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


def burst_reason(burst: _Burst, *, cooldown_s: float) -> str:
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


# ---- the runner thread ------------------------------------------------------------------------


def _work(inst: _Installation) -> None:
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
        try:
            inst.runner.attempt(trigger)  # audits and reports; never raises
        finally:
            with inst.lock:
                inst.running = False
                inst.last_finished = inst.clock()
                inst.lock.notify_all()


def _burst_due(inst: _Installation) -> bool:
    """A burst is audited once the runner is idle and the window has passed."""
    if inst.burst_started is None or inst.running:
        return False
    return inst.clock() - inst.burst_started >= COALESCE_WINDOW_S


def _wait_s(inst: _Installation) -> float | None:
    if inst.burst_started is None:
        return None
    return max(COALESCE_WINDOW_S - (inst.clock() - inst.burst_started), 0.01)


def _take_bursts(inst: _Installation) -> list[_Burst]:
    """Hand over the bursts to audit now: all of them before an attempt or at the end."""
    if inst.burst_started is None:
        return []
    if not (inst.stopping or inst.pending is not None or _burst_due(inst)):
        return []
    bursts = list(inst.bursts.values())
    inst.bursts.clear()
    inst.burst_started = None
    return bursts


def _register_process_hooks() -> None:
    # Registered on first install, not at import: importing safeprobe changes nothing.
    global _fork_hook_registered  # noqa: PLW0603
    if not _fork_hook_registered:
        os.register_at_fork(after_in_child=_reset_after_fork)
        atexit.register(_withdraw_at_exit)
        _fork_hook_registered = True


def _withdraw_at_exit() -> None:
    inst = _current
    if inst is not None:
        withdraw(inst.announcement)


def _reset_after_fork() -> None:
    """In a forked child the threads are gone: start uninstalled, signal unblocked."""
    global _current  # noqa: PLW0603
    inst = _current
    _current = None
    if inst is not None and inst.blocked_here:
        try:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {inst.signum})
            signal.signal(inst.signum, inst.previous_handler)  # type: ignore[arg-type]
        except (OSError, ValueError) as exc:
            print(f"safeprobe: could not reset signal in child: {exc}", file=sys.stderr)
