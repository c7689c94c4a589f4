"""install()/uninstall(): the signal listener, one attempt at a time, cooldown, sender checks.

Promise: until a signal arrives, an installed safeprobe only waits (one listener thread
blocked in ``sigwaitinfo``, one runner thread blocked on a condition, and, when threads
started before ``install()`` could take the signal, one wakeup reader blocked in ``read``).
The signal path does no work of its own: it records who sent the signal and hands the
request to the runner thread, so the host's main thread is never held for a probe. Every
signal that reaches the process is audited, whichever thread the kernel hands it to. At
most one attempt runs; a request that arrives while one runs, inside the cooldown, or from
a uid the policy does not allow, is refused and audited, and refusals waiting to be
audited are bounded. Threat model: SECURITY.md, "Availability", "Every signal heard",
"Foreign handlers" and "Sender".

Signal reception. In ``listener`` mode (the default, Linux) the signal is blocked in the
installing thread (and so in every thread it starts later) and a listener thread takes it
with ``sigwaitinfo``, which reports the sender's pid and uid. A thread that existed before
``install()`` still has the signal unblocked, and no Python code can change another
thread's mask; the kernel may hand a process-directed ``kill -3`` to such a thread. Then
Python's C-level handler runs in that thread and writes the signal number to the wakeup
descriptor: when ``install()`` finds such threads (/proc/self/task/*/status, SigBlk) it
takes that descriptor (chaining to one the host set, e.g. asyncio's), and a second thread,
``safeprobe-wakeup``, turns each byte into a request at once (sender unknown: the kernel
did not tell), so no request waits for the main thread to run bytecode, and none is lost.
``install()`` warns on stderr naming those threads and the fallback. ``safeprobe
trigger`` sends to the listener thread itself (tgkill), so its sender is always known.
Without the wakeup descriptor a plain handler runs in the main thread (``received:
handler``). Side effect to know: a blocked signal mask is inherited across ``exec``, so
programs the host starts with ``subprocess`` start with the signal blocked; ``mode:
handler`` avoids that at the cost of not knowing the sender. Forked children get the
signal unblocked and start uninstalled.

A handler for the signal that safeprobe did not install (a Python one, or one set outside
the ``signal`` module such as ``faulthandler.register``, which only /proc's SigCgt shows)
is refused by default; ``trigger.foreign_handler: chain`` keeps a Python one running after
safeprobe's request. ``uninstall()`` restores the handler and wakeup descriptor it found.

Refusals wait at most ``COALESCE_WINDOW_S`` to be audited together, and are written at
``uninstall()`` and at interpreter exit, so none is lost to a normal exit.
"""

from __future__ import annotations

import _thread
import atexit
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from safeprobe.attempt import Outcome, TriggerInfo
from safeprobe.errors import InstallError
from safeprobe.host.isolation import reap_finished_children
from safeprobe.host.registry import announce, withdraw
from safeprobe.host.runner import Runner
from safeprobe.policy.models import Policy

# Refusals are coalesced: one audit record per (outcome, sender uid) per burst, with a
# count. Distinct senders beyond this share one bucket, so a storm costs bounded memory.
MAX_REFUSAL_BUCKETS: Final = 64
# How long an idle runner gathers a burst of refusals before auditing it: a storm of
# thousands of signals in ten seconds becomes about ten records, not thousands.
COALESCE_WINDOW_S: Final = 1.0
_JOIN_TIMEOUT_S: Final = 5.0
# At interpreter exit, how long the listener may take to hand over a signal it took.
_EXIT_JOIN_TIMEOUT_S: Final = 0.5
# The install warning names this many threads that could take the signal, then counts.
_TAKERS_SHOWN: Final = 8


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
    # Wake-ups uninstall() or exit sent the listener (pthread_kill): not requests.
    wakeups: int = 0
    listener: threading.Thread | None = None
    worker: threading.Thread | None = None
    blocked_here: bool = False
    announcement: Path | None = None  # for `safeprobe trigger PID` (registry.py)
    wakeup: _Wakeup | None = None
    chain: Callable[[int, object], object] | None = None  # foreign_handler: chain
    chain_due: int = 0  # requests whose chained handler has yet to run in the main thread


@dataclass(slots=True)
class _Wakeup:
    """The wakeup descriptor safeprobe took from the host, and the thread that reads it."""

    read_fd: int
    write_fd: int
    previous_fd: int  # the host's, -1 for none: every byte is passed on to it
    reader: threading.Thread | None = None
    displaced: bool = False  # the host set another descriptor after install()


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
        runner = Runner(policy_path, clock=clock)
        policy = runner.load()
        said = isolation_line(policy, runner.policy_path, can_fork=hasattr(os, "fork"))
        runner.preflight_audit(policy)
        signum = int(getattr(signal, policy.trigger.signal))
        mode = policy.trigger.mode
        if mode == "listener" and not hasattr(signal, "sigwaitinfo"):
            mode = "handler"
        uids = policy.trigger.allowed_uids
        previous = signal.getsignal(signum)
        chain = _foreign_handler(signum, previous, policy.trigger.foreign_handler)
        inst = _Installation(
            runner=runner,
            signum=signum,
            mode=mode,
            previous_handler=previous,
            cooldown_s=policy.trigger.cooldown_s,
            allowed_uids=frozenset(uids) if uids is not None else None,
            clock=clock,
            lock=threading.Condition(),
            chain=chain,
        )
        signal.signal(signum, _fallback_handler)
        if mode == "listener":
            already = signal.pthread_sigmask(signal.SIG_BLOCK, {signum})
            # uninstall() unblocks only what install() blocked: the host's mask comes back.
            inst.blocked_here = signum not in already
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
            takers = threads_taking(signum, ignore={inst.listener.native_id})
            if takers:
                inst.wakeup = _take_wakeup_fd(inst)
                _warn_takers(signum, takers, inst.wakeup)
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


def threads_taking(signum: int, *, ignore: set[int | None] | None = None) -> list[tuple[int, str]]:
    """The (tid, name) of this process's threads that do not block ``signum`` now, from
    /proc/self/task/*/status; Python threads are named as ``threading`` names them."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    bit = 1 << (signum - 1)
    found: list[tuple[int, str]] = []
    try:
        tasks = sorted(int(entry.name) for entry in Path("/proc/self/task").iterdir())
    except OSError:
        return found  # no /proc: nothing to report, the main-thread handler remains
    for tid in tasks:
        if ignore is not None and tid in ignore:
            continue
        try:
            status = Path(f"/proc/self/task/{tid}/status").read_text(encoding="utf-8")
        except OSError:
            continue  # the thread ended meanwhile
        fields = dict(line.partition(":")[::2] for line in status.splitlines())
        blocked = int(fields.get("SigBlk", "0").strip() or "0", 16)
        if not blocked & bit:
            found.append((tid, names.get(tid) or fields.get("Name", "?").strip()))
    return found


def _warn_takers(signum: int, takers: list[tuple[int, str]], wakeup: _Wakeup | None) -> None:
    # Name a few: a service with hundreds of pool threads should get one readable line.
    shown = ", ".join(f"{name} ({tid})" for tid, name in takers[:_TAKERS_SHOWN])
    more = f" and {len(takers) - _TAKERS_SHOWN} more" if len(takers) > _TAKERS_SHOWN else ""
    name = signal.Signals(signum).name
    if wakeup is not None:
        fallback = (
            "a signal they take is audited at once through the wakeup descriptor, sender "
            "unknown (received: wakeup)"
        )
    else:
        fallback = (
            "a signal they take waits for the main thread's handler, sender unknown "
            "(received: handler)"
        )
    sys.stderr.write(
        f"safeprobe: {len(takers)} threads started before install() do not block {name}: "
        f"{shown}{more}; {fallback}; 'safeprobe trigger PID' signals the listener thread, "
        "whose sender is always known\n"
    )


def _take_wakeup_fd(inst: _Installation) -> _Wakeup | None:
    """Take the wakeup descriptor (chaining to the host's), and start its reader."""
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
    os.set_blocking(write_fd, False)  # set_wakeup_fd requires it: a handler must never block
    try:
        previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except ValueError:
        os.close(read_fd)
        os.close(write_fd)
        return None
    wakeup = _Wakeup(read_fd, write_fd, previous_fd)
    wakeup.reader = threading.Thread(
        target=_read_wakeups, args=(inst, wakeup), name="safeprobe-wakeup", daemon=True
    )
    wakeup.reader.start()
    return wakeup


def _foreign_handler(
    signum: int, previous: object, policy_choice: str
) -> Callable[[int, object], object] | None:
    """Refuse (InstallError) a handler safeprobe did not install, or return the Python one
    to chain to; None when there is none."""
    name = signal.Signals(signum).name
    if callable(previous) and previous is not signal.default_int_handler:
        if policy_choice == "chain":
            return previous
        raise InstallError(
            f"{name} already has a Python handler ({_describe_handler(previous)}); "
            "safeprobe would replace it: remove it, or set trigger.foreign_handler: chain"
        )
    # getsignal answers None for a handler Python did not install, and SIG_DFL for one
    # installed after Python started (faulthandler.register calls sigaction itself).
    if previous is None or (previous in (signal.SIG_DFL, signal.SIG_IGN) and _os_catches(signum)):
        raise InstallError(
            f"{name} has a handler installed outside the signal module (faulthandler."
            "register or a C extension; /proc/self/status SigCgt): safeprobe cannot "
            "chain to it or restore it; remove it, or use another trigger.signal"
        )
    return None


def _describe_handler(handler: object) -> str:
    module = getattr(handler, "__module__", None) or "?"
    qualname = getattr(handler, "__qualname__", None) or type(handler).__name__
    return f"{module}.{qualname}"


def _os_catches(signum: int) -> bool:
    """Whether the kernel has a handler for ``signum`` in this process (SigCgt)."""
    try:
        status = Path("/proc/self/status").read_text(encoding="utf-8")
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signum - 1)))
    return False


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
    """Stop listening, audit waiting refusals, restore the previous handler, wakeup
    descriptor and signal mask. Idempotent."""
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
        # Wake the listener out of sigwaitinfo; it sees ``stopping`` and exits.
        _stop_listener(inst, _JOIN_TIMEOUT_S)
        if inst.worker is not None:
            inst.worker.join(_JOIN_TIMEOUT_S)
        in_main = threading.current_thread() is threading.main_thread()
        if inst.wakeup is not None and in_main:
            _give_back_wakeup_fd(inst.wakeup)
        # Whatever the runner did not get to (it was stuck, or requests came in late).
        _flush_refusals(inst)
        reap_finished_children()
        if in_main:
            signal.signal(inst.signum, inst.previous_handler)  # type: ignore[arg-type]
            if inst.blocked_here:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {inst.signum})


def _give_back_wakeup_fd(wakeup: _Wakeup) -> None:
    """Restore the host's wakeup descriptor (or the one it set after us), then end the
    reader by closing the pipe: no handler writes to it any more."""
    try:
        current = signal.set_wakeup_fd(wakeup.previous_fd)
    except ValueError:  # the host closed its descriptor meanwhile: leave none
        current = signal.set_wakeup_fd(-1)
    if current != wakeup.write_fd:
        signal.set_wakeup_fd(current)  # the host replaced ours after install(): keep its
    os.close(wakeup.write_fd)
    if wakeup.reader is not None:
        wakeup.reader.join(_JOIN_TIMEOUT_S)
    os.close(wakeup.read_fd)


# si_code values (Linux, <asm-generic/siginfo.h>).
SI_USER: Final = 0  # kill(2): the kernel fills in the sender's pid and uid
SI_QUEUE: Final = -1  # sigqueue(3): the caller fills them in, and may lie
SI_TKILL: Final = -6  # tgkill(2): the kernel fills them in
KERNEL_FILLED_SENDER: Final = frozenset({SI_USER, SI_TKILL})


# ---- the signal paths: record and hand over, nothing else ----------------------------------


def _fallback_handler(signum: int, frame: object) -> None:
    """Runs in the main thread when the signal reached a thread that did not block it, or
    when a chained handler is due (``_thread.interrupt_main``)."""
    inst = _current
    if inst is None:
        return
    with inst.lock:
        due, inst.chain_due = inst.chain_due, 0
    # due > 0: _thread.interrupt_main asked for the chained handler. Otherwise this is a
    # delivery, which is ours to request unless the wakeup reader owns deliveries.
    if due == 0 and not (inst.wakeup is not None and _still_own_wakeup(inst.wakeup)):
        _request(inst, _trigger(signum, "handler", inst.clock()), chain=False)
        due = 1
    if inst.chain is not None:
        for _ in range(due):
            inst.chain(signum, frame)


def _still_own_wakeup(wakeup: _Wakeup) -> bool:
    """Whether the host left our wakeup descriptor in place; main thread only."""
    if wakeup.displaced:
        return False
    current = signal.set_wakeup_fd(wakeup.write_fd, warn_on_full_buffer=False)
    if current == wakeup.write_fd:
        return True
    # asyncio and others set their own after install(): give it back and stop relying on
    # the reader; from now on this handler takes the requests.
    signal.set_wakeup_fd(current)
    wakeup.displaced = True
    return False


def _read_wakeups(inst: _Installation, wakeup: _Wakeup) -> None:
    """One byte per delivery to a thread that did not block the signal: each is a request."""
    while True:
        try:
            data = os.read(wakeup.read_fd, 512)
        except OSError:
            return
        if not data:
            return  # uninstall closed the pipe
        received_at = inst.clock()
        if wakeup.previous_fd >= 0:
            # The host's own signal handling (asyncio) reads the same bytes.
            with contextlib.suppress(OSError):
                os.write(wakeup.previous_fd, data)
        if inst.stopping:
            continue
        for _ in range(data.count(inst.signum)):
            _request(inst, _trigger(inst.signum, "wakeup", received_at))


def _trigger(signum: int, received: str, received_at: float) -> TriggerInfo:
    return TriggerInfo(signal.Signals(signum).name, None, None, received, received_at=received_at)


def _listen(inst: _Installation) -> None:
    while True:
        try:
            info = signal.sigwaitinfo({inst.signum})
        except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for safety
            continue
        received_at = inst.clock()
        if inst.stopping and inst.wakeups and info.si_pid == os.getpid():
            # Our own wake-up (uninstall or exit). It was sent to this thread, so it never
            # merged with a request sent to the process, but it is taken first: requests
            # still pending for the process are handed over before the listener ends.
            inst.wakeups -= 1
            while (pending := signal.sigtimedwait({inst.signum}, 0)) is not None:
                _request(inst, _trigger_from(pending, inst.clock()))
            return
        _request(inst, _trigger_from(info, received_at))


def _trigger_from(info: signal.struct_siginfo, received_at: float) -> TriggerInfo:
    name = signal.Signals(info.si_signo).name
    # Linux puts sigqueue's int value where si_status lies; kill(2) leaves it 0.
    request = info.si_status if info.si_code == SI_QUEUE else 0
    # Only kill(2) and tgkill(2) have the kernel fill in the sender: sigqueue's caller
    # writes si_pid and si_uid itself, so a queued signal's sender is only claimed.
    verified = info.si_code in KERNEL_FILLED_SENDER
    return TriggerInfo(
        name,
        info.si_pid,
        info.si_uid,
        "sigwaitinfo",
        request,
        sender_verified=verified,
        received_at=received_at,
    )


def _stop_listener(inst: _Installation, timeout_s: float) -> None:
    """Wake the listener out of sigwaitinfo and wait for it: a signal it has already taken,
    or that is still pending, is handed over (and, if refused, waits in a burst) first."""
    if inst.listener is not None and inst.listener.ident is not None:
        inst.wakeups += 1
        signal.pthread_kill(inst.listener.ident, inst.signum)
        inst.listener.join(timeout_s)


def _request(inst: _Installation, trigger: TriggerInfo, *, chain: bool = True) -> None:
    """Decide at once whether the request may run; never blocks on a probe. With a chained
    handler, ask the main thread to run it too (it runs only there)."""
    if chain and inst.chain is not None:
        with inst.lock:
            inst.chain_due += 1
        _thread.interrupt_main(signal.Signals(inst.signum))
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

    def __init__(self, inst: _Installation) -> None:
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


def _flush_refusals(inst: _Installation) -> None:
    """Audit every refusal still waiting, now (uninstall, exit)."""
    with inst.lock:
        bursts = list(inst.bursts.values())
        inst.bursts.clear()
        inst.burst_started = None
    for burst in bursts:
        reason = burst_reason(burst, cooldown_s=inst.cooldown_s)
        inst.runner.refuse(burst.first, burst.outcome, reason, count=burst.count)


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
        # A signal the listener took just before exit is handed over first (bounded: exit
        # must not hang on a listener that cannot run).
        with inst.lock:
            inst.stopping = True
            inst.lock.notify_all()
        with contextlib.suppress(OSError, RuntimeError):
            _stop_listener(inst, _EXIT_JOIN_TIMEOUT_S)
        # The runner is a daemon thread and is not joined at exit: refusals still waiting
        # for their coalescing window would be lost with it.
        _flush_refusals(inst)


def _reset_after_fork() -> None:
    """In a forked child the threads are gone: start uninstalled, signal unblocked."""
    global _current  # noqa: PLW0603
    inst = _current
    _current = None
    if inst is not None and inst.wakeup is not None:
        # The child has no reader: give the host its descriptor back where we may (only
        # a child forked from the main thread may set it; elsewhere the pipe stays set, and
        # a full pipe only drops wakeup bytes).
        with contextlib.suppress(OSError, ValueError):
            signal.set_wakeup_fd(inst.wakeup.previous_fd)
            os.close(inst.wakeup.write_fd)
        with contextlib.suppress(OSError):
            os.close(inst.wakeup.read_fd)
    if inst is not None and inst.blocked_here:
        try:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {inst.signum})
            signal.signal(inst.signum, inst.previous_handler)  # type: ignore[arg-type]
        except (OSError, ValueError) as exc:
            print(f"safeprobe: could not reset signal in child: {exc}", file=sys.stderr)
