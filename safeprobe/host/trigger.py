"""install()/uninstall(): the one installation per process, its threads and its handler.

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

The parts: how a signal is received and what is known of its sender (reception.py), which
requests run and the runner thread (admission.py), the handlers safeprobe refuses to
replace (foreign_handlers.py), the stuck-host dump on a second signal (stack_dump.py), and
the state they share (installation.py).

Side effect to know: a blocked signal mask is inherited across ``exec``, so programs the
host starts with ``subprocess`` start with the signal blocked; ``mode: handler`` avoids
that at the cost of not knowing the sender. Forked children get the signal unblocked and
start uninstalled. ``uninstall()`` restores the handler and wakeup descriptor it found.
Refusals still waiting are audited at ``uninstall()`` and at interpreter exit.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Final

from safeprobe.errors import InstallError
from safeprobe.host.admission import admit, flush_refusals, work
from safeprobe.host.foreign_handlers import foreign_handler
from safeprobe.host.installation import Installation
from safeprobe.host.isolation import reap_finished_children
from safeprobe.host.reception import (
    give_back_wakeup_fd,
    handler_trigger,
    listen,
    still_own_wakeup,
    stop_listener,
    take_wakeup_fd,
    threads_taking,
    warn_takers,
)
from safeprobe.host.registry import announce, own_runtime_dir, withdraw
from safeprobe.host.reporting import write_host_stderr
from safeprobe.host.runner import Runner
from safeprobe.host.stack_dump import forget_stack_dump, register_stack_dump
from safeprobe.policy.builtins import resolve_policy
from safeprobe.policy.models import Policy

_JOIN_TIMEOUT_S: Final = 5.0
# At interpreter exit, how long the listener may take to hand over a signal it took.
_EXIT_JOIN_TIMEOUT_S: Final = 0.5

_current: Installation | None = None
_install_lock = threading.Lock()
_fork_hook_registered = False


def install(
    policy_path: str | os.PathLike[str],
    *,
    clock: Callable[[], float] = time.monotonic,
    main_pending: bool = False,
) -> None:
    """Validate the policy and start listening for its signal. Call from the main thread.

    ``policy_path`` is a policy file or a built-in policy's name (``"threads"``: see
    ``safeprobe policies``); a path that exists wins over a name.
    Writes a warning to stderr for each exposure whose target does not resolve yet;
    ``main_pending``: ``__main__`` is not the host's program yet (``safeprobe run``
    installs before its first line), so its targets are not checked.

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
        ref = resolve_policy(policy_path)
        runner = Runner(ref.path, data_dir=ref.data_dir, clock=clock)
        policy = runner.load()
        for line in unresolved_targets(policy, runner.policy_path, sys.modules, main_pending):
            write_host_stderr(line)
        said = isolation_line(policy, runner.policy_path, can_fork=hasattr(os, "fork"))
        runner.preflight_audit(policy)
        signum = int(getattr(signal, policy.trigger.signal))
        mode = policy.trigger.mode
        if mode == "listener" and not hasattr(signal, "sigwaitinfo"):
            mode = "handler"
        uids = policy.trigger.allowed_uids
        previous = signal.getsignal(signum)
        chain = foreign_handler(signum, previous, policy.trigger.foreign_handler)
        inst = Installation(
            runner=runner,
            signum=signum,
            mode=mode,
            previous_handler=previous,
            cooldown_s=policy.trigger.cooldown_s,
            allowed_uids=frozenset(uids) if uids is not None else None,
            clock=clock,
            lock=threading.Condition(),
            chain=chain,
            handler=_fallback_handler,
        )
        signal.signal(signum, _fallback_handler)
        if mode == "listener":
            already = signal.pthread_sigmask(signal.SIG_BLOCK, {signum})
            # uninstall() unblocks only what install() blocked: the host's mask comes back.
            inst.blocked_here = signum not in already
            inst.listener = threading.Thread(
                target=listen, args=(inst,), name="safeprobe-listener", daemon=True
            )
        inst.worker = threading.Thread(
            target=work, args=(inst,), name="safeprobe-runner", daemon=True
        )
        _register_process_hooks()
        _current = inst
        inst.worker.start()
        if inst.listener is not None:
            inst.listener.start()
            takers = threads_taking(signum, ignore={inst.listener.native_id})
            if takers:
                inst.wakeup = take_wakeup_fd(inst)
                warn_takers(signum, takers, inst.wakeup)
        write_host_stderr(said)
        listener_tid = inst.listener.native_id if inst.listener is not None else None
        try:
            # The stuck-host dump lives beside the announcement, which names its signal.
            inst.stack_dump = register_stack_dump(own_runtime_dir())
            runner.records.stack_dump = inst.stack_dump
            inst.announcement = announce(
                runner.policy_path,
                signal=policy.trigger.signal,
                listener_tid=listener_tid,
                data_dir=ref.data_dir,
                dump_signal=inst.stack_dump.signum if inst.stack_dump is not None else None,
            )
        except OSError as exc:
            write_host_stderr(
                f"safeprobe: not announced for 'safeprobe trigger' ({exc.strerror}); "
                "pass it --policy for this process\n"
            )


def unresolved_targets(
    policy: Policy, policy_path: str, modules: Mapping[str, object], main_pending: bool = False
) -> list[str]:
    """A warning line per exposure whose target does not resolve yet: its module is not in
    ``modules`` (sys.modules), or the module has no such top-level attribute. Only a
    warning: a host may import the module or set the name after install(). Reads module
    dicts only (no attribute hook or property runs) and skips what cannot be told that
    way: a module with ``__getattr__``, and ``__main__`` while ``main_pending`` says it is
    not the program yet. Pure."""
    lines: list[str] = []
    for name, exposure in policy.expose.items():
        module_name, _, attr_path = exposure.target.partition(":")
        if main_pending and module_name == "__main__":
            continue
        module = modules.get(module_name)
        where = f"safeprobe: warning: {policy_path}: expose.{name}.target: {exposure.target}"
        if module is None:
            lines.append(
                f"{where}: module {module_name!r} is not loaded yet; safeprobe never imports "
                "it, so a probe fails until the host has\n"
            )
            continue
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict) or "__getattr__" in namespace:
            continue
        first = attr_path.split(".", 1)[0]
        if first not in namespace:
            lines.append(f"{where}: module {module_name!r} has no {first!r} yet\n")
    return lines


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
        if inst.stack_dump is not None:
            forget_stack_dump(inst.stack_dump, remove=True)
        with inst.lock:
            inst.stopping = True
            inst.lock.notify_all()
        # Wake the listener out of sigwaitinfo; it sees ``stopping`` and exits.
        stop_listener(inst, _JOIN_TIMEOUT_S)
        if inst.worker is not None:
            inst.worker.join(_JOIN_TIMEOUT_S)
        in_main = threading.current_thread() is threading.main_thread()
        if inst.wakeup is not None and in_main:
            give_back_wakeup_fd(inst.wakeup, timeout_s=_JOIN_TIMEOUT_S)
        # Whatever the runner did not get to (it was stuck, or requests came in late).
        flush_refusals(inst)
        reap_finished_children()
        if in_main:
            signal.signal(inst.signum, inst.previous_handler)  # type: ignore[arg-type]
            if inst.blocked_here:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {inst.signum})


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
    if due == 0 and not (inst.wakeup is not None and still_own_wakeup(inst.wakeup)):
        admit(inst, handler_trigger(signum, "handler", inst.clock()), chain=False)
        due = 1
    if inst.chain is not None:
        for _ in range(due):
            inst.chain(signum, frame)


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
        if inst.stack_dump is not None:
            forget_stack_dump(inst.stack_dump, remove=True)
        # A signal the listener took just before exit is handed over first (bounded: exit
        # must not hang on a listener that cannot run).
        with inst.lock:
            inst.stopping = True
            inst.lock.notify_all()
        with contextlib.suppress(OSError, RuntimeError):
            stop_listener(inst, _EXIT_JOIN_TIMEOUT_S)
        # Told to stop, the runner takes the waiting refusals and writes them; it is a
        # daemon thread, which the interpreter freezes once atexit is done, so wait for it
        # (bounded) or a record it is writing is lost. Then audit what it did not take.
        if inst.worker is not None:
            inst.worker.join(_EXIT_JOIN_TIMEOUT_S)
        flush_refusals(inst)


def _reset_after_fork() -> None:
    """In a forked child the threads are gone: start uninstalled, signal unblocked."""
    global _current  # noqa: PLW0603
    inst = _current
    _current = None
    if inst is not None and inst.stack_dump is not None:
        # The registration and its descriptor came across the fork; the files stay the
        # parent's (a probe's fork child included: it is never sent the dump signal).
        forget_stack_dump(inst.stack_dump, remove=False, in_child=True)
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
