"""The shared vocabulary, below every layer: how an attempt ended (Outcome), what asked for
it (TriggerInfo), what it gave (Attempt), and the names of the facts a policy may enable.

Promise: plain data; imports nothing of safeprobe. Every layer speaks of attempts in these
words, so none has to import the layer that produces them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal, get_args

# The facts a policy's ``facts:`` may enable (probe/facts/ takes them).
FactName = Literal["threads", "process", "gc", "asyncio"]
FACT_NAMES: Final[frozenset[str]] = frozenset(get_args(FactName))


class Outcome(StrEnum):
    """How an attempt ended; the audit log's ``outcome`` field."""

    OK = "ok"
    ERROR = "error"
    DENIED = "denied"
    COMPILE_ERROR = "compile_error"
    TIMEOUT = "timeout"
    LIMIT = "limit"
    REJECTED = "rejected"
    BUSY = "busy"
    RATE_LIMITED = "rate_limited"
    UNAUTHORIZED = "unauthorized"


@dataclass(frozen=True, slots=True)
class TriggerInfo:
    """What is known about the request for an attempt."""

    signal: str | None
    sender_pid: int | None
    sender_uid: int | None
    received: str  # "sigwaitinfo", "wakeup", "handler" or "api"
    # sigqueue's value: which named probe the sender asks for (policy.request_code); 0 is
    # the default probe, and what a plain kill(2) carries.
    request: int = 0
    # True when the kernel filled in sender_pid and sender_uid (kill, tgkill); a queued
    # signal's sender wrote them itself.
    sender_verified: bool = False
    # The runner's clock when the signal reached safeprobe: the attempt's queue delay (the
    # host held the GIL, or the runner was starting) is measured from here.
    received_at: float | None = None


API_TRIGGER: Final = TriggerInfo(signal=None, sender_pid=None, sender_uid=None, received="api")


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """The result of one attempt, as the host or a test sees it."""

    outcome: Outcome
    reason: str
    output: str
    output_truncated: bool
    duration_ms: float
    steps: int
    probe_path: str | None
    probe_sha256: str | None
    seq: int | None
    audited: bool

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK
