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

import collections
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from safeprobe.errors import InstallError
from safeprobe.runner import Outcome, Runner, TriggerInfo

# Refusals waiting for the runner to audit them. A storm beyond this is counted and
# audited as one record, so thousands of signals cost bounded memory.
MAX_PENDING_REFUSALS: Final = 64
_JOIN_TIMEOUT_S: Final = 5.0


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
    refusals: collections.deque[tuple[TriggerInfo, Outcome, str]] | None = None
    dropped_refusals: int = 0
    stopping: bool = False
    listener: threading.Thread | None = None
    worker: threading.Thread | None = None
    attempts: int = 0
    blocked_here: bool = False


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
        from safeprobe.runner import _sink_for  # noqa: PLC0415 - same package, avoids a public name

        _sink_for(policy).preflight()
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
            refusals=collections.deque(),
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
        _register_fork_hook()
        _current = inst
        inst.worker.start()
        if inst.listener is not None:
            inst.listener.start()


def uninstall() -> None:
    """Stop listening, restore the previous handler and signal mask. Idempotent."""
    global _current  # noqa: PLW0603
    with _install_lock:
        inst = _current
        if inst is None:
            return
        _current = None
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


def installed_runner() -> Runner | None:
    """The runner of the current installation, for tools and tests."""
    inst = _current
    return inst.runner if inst else None


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
        _request(inst, TriggerInfo(name, info.si_pid, info.si_uid, "sigwaitinfo"))


def _request(inst: _Installation, trigger: TriggerInfo) -> None:
    """Decide at once whether the request may run; never blocks on a probe."""
    with inst.lock:
        refusal = _refusal(inst, trigger)
        if refusal is None:
            inst.pending = trigger
        else:
            assert inst.refusals is not None
            if len(inst.refusals) < MAX_PENDING_REFUSALS:
                inst.refusals.append((trigger, *refusal))
            else:
                inst.dropped_refusals += 1
        inst.lock.notify_all()


def _refusal(inst: _Installation, trigger: TriggerInfo) -> tuple[Outcome, str] | None:
    if inst.allowed_uids is not None and trigger.sender_uid not in inst.allowed_uids:
        who = "unknown sender" if trigger.sender_uid is None else f"uid {trigger.sender_uid}"
        return Outcome.UNAUTHORIZED, f"trigger.allowed_uids: {who} is not allowed"
    if inst.running or inst.pending is not None:
        return Outcome.BUSY, "one attempt at a time: an attempt is already running"
    if inst.last_finished is not None and inst.cooldown_s > 0:
        since = inst.clock() - inst.last_finished
        if since < inst.cooldown_s:
            return Outcome.RATE_LIMITED, (
                f"trigger.cooldown: {since * 1000:.0f} ms since the last attempt, "
                f"cooldown is {inst.cooldown_s * 1000:.0f} ms"
            )
    return None


# ---- the runner thread ------------------------------------------------------------------------


def _work(inst: _Installation) -> None:
    while True:
        with inst.lock:
            while (
                not inst.stopping
                and inst.pending is None
                and not inst.refusals
                and not inst.dropped_refusals
            ):
                inst.lock.wait()
            if inst.stopping:
                return
            refusals = list(inst.refusals or ())
            if inst.refusals is not None:
                inst.refusals.clear()
            dropped, inst.dropped_refusals = inst.dropped_refusals, 0
            trigger, inst.pending = inst.pending, None
            if trigger is not None:
                inst.running = True
        for refused_trigger, outcome, reason in refusals:
            inst.runner.refuse(refused_trigger, outcome, reason)
        if dropped:
            last = refusals[-1][0] if refusals else TriggerInfo(None, None, None, "handler")
            inst.runner.refuse(last, Outcome.BUSY, f"signal storm: {dropped} more requests refused")
        if trigger is not None:
            try:
                inst.runner.attempt(trigger)  # audits and reports; never raises
            finally:
                with inst.lock:
                    inst.running = False
                    inst.last_finished = inst.clock()
                    inst.attempts += 1
                    inst.lock.notify_all()


def _register_fork_hook() -> None:
    # Registered on first install, not at import: importing safeprobe changes nothing.
    global _fork_hook_registered  # noqa: PLW0603
    if not _fork_hook_registered:
        os.register_at_fork(after_in_child=_reset_after_fork)
        _fork_hook_registered = True


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
