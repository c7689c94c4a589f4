"""Signal reception: the listener thread, the wakeup-descriptor reader, and what each
learns of the sender. Each path records the trigger and hands it to ``admit``, nothing else.

In ``listener`` mode (the default, Linux) the signal is blocked in the installing thread
(and so in every thread it starts later) and a listener thread takes it with
``sigwaitinfo``, which reports the sender's pid and uid. A thread that existed before
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
handler``, trigger.py).

Promise: a sender is ``sender_verified`` only when the kernel filled it in (kill(2),
tgkill(2)); a queued signal's sender is only claimed. Threat model: SECURITY.md, "Every
signal heard" and "Sender".
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Final

from safeprobe.attempt import TriggerInfo
from safeprobe.host.admission import admit
from safeprobe.host.foreign_handlers import late_handler_warning
from safeprobe.host.installation import Installation, Wakeup

# The install warning names this many threads that could take the signal, then counts.
_TAKERS_SHOWN: Final = 8

# si_code values (Linux, <asm-generic/siginfo.h>).
SI_USER: Final = 0  # kill(2): the kernel fills in the sender's pid and uid
SI_QUEUE: Final = -1  # sigqueue(3): the caller fills them in, and may lie
SI_TKILL: Final = -6  # tgkill(2): the kernel fills them in
KERNEL_FILLED_SENDER: Final = frozenset({SI_USER, SI_TKILL})


def listen(inst: Installation) -> None:
    """The listener thread: take each signal with sigwaitinfo and hand it over, until a
    wake-up from uninstall() or exit."""
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
                admit(inst, trigger_from(pending, inst.clock()))
            return
        _warn_if_replaced(inst)
        admit(inst, trigger_from(info, received_at))


def _warn_if_replaced(inst: Installation) -> None:
    """Once per install: the host set its own handler for the signal after install()."""
    if inst.replaced_warned or inst.handler is None:
        return
    current = signal.getsignal(inst.signum)
    if current is not inst.handler:
        inst.replaced_warned = True
        sys.stderr.write(late_handler_warning(inst.signum, current))


def trigger_from(info: signal.struct_siginfo, received_at: float) -> TriggerInfo:
    """What sigwaitinfo says of a signal: its sender, verified only when the kernel
    filled it in, and a queued signal's request code."""
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


def stop_listener(inst: Installation, timeout_s: float) -> None:
    """Wake the listener out of sigwaitinfo and wait for it: a signal it has already taken,
    or that is still pending, is handed over (and, if refused, waits in a burst) first."""
    if inst.listener is not None and inst.listener.ident is not None:
        inst.wakeups += 1
        signal.pthread_kill(inst.listener.ident, inst.signum)
        inst.listener.join(timeout_s)


def handler_trigger(signum: int, received: str, received_at: float) -> TriggerInfo:
    """A signal whose sender the kernel did not tell (a plain handler, the wakeup byte)."""
    return TriggerInfo(signal.Signals(signum).name, None, None, received, received_at=received_at)


def take_wakeup_fd(inst: Installation) -> Wakeup | None:
    """Take the wakeup descriptor (chaining to the host's), and start its reader."""
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
    os.set_blocking(write_fd, False)  # set_wakeup_fd requires it: a handler must never block
    try:
        previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except ValueError:
        os.close(read_fd)
        os.close(write_fd)
        return None
    wakeup = Wakeup(read_fd, write_fd, previous_fd)
    wakeup.reader = threading.Thread(
        target=_read_wakeups, args=(inst, wakeup), name="safeprobe-wakeup", daemon=True
    )
    wakeup.reader.start()
    return wakeup


def _read_wakeups(inst: Installation, wakeup: Wakeup) -> None:
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
            admit(inst, handler_trigger(inst.signum, "wakeup", received_at))


def still_own_wakeup(wakeup: Wakeup) -> bool:
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


def give_back_wakeup_fd(wakeup: Wakeup, *, timeout_s: float) -> None:
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
        wakeup.reader.join(timeout_s)
    os.close(wakeup.read_fd)


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


def warn_takers(signum: int, takers: list[tuple[int, str]], wakeup: Wakeup | None) -> None:
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
