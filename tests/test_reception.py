"""What the signal paths learn of a request: its sender, verified only when the kernel says."""

from __future__ import annotations

import signal

import pytest

from safeprobe.host.reception import (
    KERNEL_FILLED_SENDER,
    SI_QUEUE,
    SI_TKILL,
    SI_USER,
    handler_trigger,
    trigger_from,
)


def _siginfo(
    code: int, *, pid: int = 42, uid: int = 1000, status: int = 0
) -> signal.struct_siginfo:
    # struct_siginfo: (si_signo, si_code, si_errno, si_pid, si_uid, si_status, si_band)
    return signal.struct_siginfo((signal.SIGQUIT, code, 0, pid, uid, status, 0))


@pytest.mark.parametrize("code", [SI_USER, SI_TKILL])
def test_kill_and_tgkill_senders_are_verified(code: int) -> None:
    """The kernel fills in the sender of kill(2) and tgkill(2)."""
    trigger = trigger_from(_siginfo(code), 1.5)
    assert (trigger.signal, trigger.sender_pid, trigger.sender_uid) == ("SIGQUIT", 42, 1000)
    assert trigger.sender_verified
    assert (trigger.received, trigger.request, trigger.received_at) == ("sigwaitinfo", 0, 1.5)


def test_a_queued_signal_carries_its_request_code_and_an_unverified_sender() -> None:
    """sigqueue's caller writes si_pid and si_uid itself: claimed, not verified."""
    trigger = trigger_from(_siginfo(SI_QUEUE, uid=0, status=7), 0.0)
    assert trigger.request == 7
    assert trigger.sender_uid == 0
    assert not trigger.sender_verified


def test_only_a_queued_signal_carries_a_request_code() -> None:
    """A kill(2) leaves si_status 0; whatever lies there is not read as a request."""
    assert trigger_from(_siginfo(SI_USER, status=7), 0.0).request == 0


def test_si_queue_is_not_a_kernel_filled_code() -> None:
    """The one home of the si_code values keeps sigqueue out of the verified set."""
    assert SI_QUEUE not in KERNEL_FILLED_SENDER
    assert {SI_USER, SI_TKILL} == KERNEL_FILLED_SENDER


def test_a_handler_or_wakeup_request_has_no_sender() -> None:
    """The plain handler and the wakeup byte do not tell who sent the signal."""
    trigger = handler_trigger(signal.SIGQUIT, "wakeup", 3.0)
    assert (trigger.sender_pid, trigger.sender_uid, trigger.sender_verified) == (None, None, False)
    assert (trigger.signal, trigger.received, trigger.received_at) == ("SIGQUIT", "wakeup", 3.0)
