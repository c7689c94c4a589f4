"""The state of one installation: what install() set up, and what the signal paths, the
runner thread and uninstall() share under its lock.

Promise: plain data, no behaviour. What the signal paths and the runner thread decide on
together (``pending``, ``running``, ``last_finished``, ``bursts``, ``stopping``,
``chain_due``) changes under ``lock``, a ``threading.Condition`` the runner thread waits
on. trigger.py owns the one live installation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from safeprobe.attempt import Outcome, TriggerInfo
from safeprobe.host.runner import Runner
from safeprobe.host.stack_dump import StackDump


@dataclass(slots=True)
class Burst:
    """Refused requests of one kind from one sender, waiting to be audited together."""

    first: TriggerInfo
    outcome: Outcome
    count: int = 1


@dataclass(slots=True)
class Installation:
    """One install(): its runner, signal and rules, its threads, and what they share."""

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
    bursts: dict[tuple[Outcome, int | None], Burst] = field(default_factory=dict)
    burst_started: float | None = None
    stopping: bool = False
    # Wake-ups uninstall() or exit sent the listener (pthread_kill): not requests.
    wakeups: int = 0
    listener: threading.Thread | None = None
    worker: threading.Thread | None = None
    blocked_here: bool = False
    announcement: Path | None = None  # for `safeprobe trigger PID` (registry.py)
    wakeup: Wakeup | None = None
    chain: Callable[[int, object], object] | None = None  # foreign_handler: chain
    # safeprobe's own handler, to tell when the host replaced it after install()
    # (foreign_handlers.late_handler_warning, written once).
    handler: object = None
    replaced_warned: bool = False
    chain_due: int = 0  # requests whose chained handler has yet to run in the main thread
    stack_dump: StackDump | None = None  # the stuck-host dump (stack_dump.py)


@dataclass(slots=True)
class Wakeup:
    """The wakeup descriptor safeprobe took from the host, and the thread that reads it."""

    read_fd: int
    write_fd: int
    previous_fd: int  # the host's, -1 for none: every byte is passed on to it
    reader: threading.Thread | None = None
    displaced: bool = False  # the host set another descriptor after install()
