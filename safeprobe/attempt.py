"""The shared vocabulary, below every layer: how an attempt ended (Outcome), what asked for
it (TriggerInfo), what it gave (Attempt), the names of the facts a policy may enable, and the
names a probe sees without any policy (its builtins, and the ones it is refused).

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

# The probe's builtins namespace (probe/safe_builtins.py builds it; a test keeps the two equal),
# True, False and None aside (keywords).
PROBE_BUILTINS: Final[frozenset[str]] = frozenset(
    {
        # functions, each passed through or wrapped in a bounded form
        "abs", "all", "any", "asdict", "bin", "bool", "bytes", "chr", "dict", "divmod",
        "enumerate", "filter", "float", "frozenset", "hasattr", "hex", "int", "isinstance",
        "len", "list", "map", "max", "min", "oct", "ord", "pow", "range", "repr", "reversed",
        "round", "set", "sorted", "str", "sum", "tuple", "typename", "zip",
        # stdlib types a probe names for isinstance() (probe/values.py, ISINSTANCE_TYPES)
        "date", "datetime", "time", "timedelta", "timezone", "tzinfo", "ZoneInfo", "Decimal",
        "Fraction", "UUID", "Enum", "IntEnum", "StrEnum", "Flag", "IntFlag", "IPv4Address",
        "IPv6Address", "IPv4Network", "IPv6Network", "PurePath", "Path", "deque",
        "defaultdict", "Counter", "OrderedDict", "ChainMap", "SimpleNamespace", "array",
        "bytearray", "memoryview",
        # exception classes a probe may raise and catch (probe/safe_builtins.py, SAFE_EXCEPTIONS)
        "ArithmeticError", "AssertionError", "AttributeError", "Exception", "IndexError",
        "KeyError", "LookupError", "NameError", "NotImplementedError", "OverflowError",
        "RuntimeError", "StopIteration", "TypeError", "ValueError", "ZeroDivisionError",
    }
)  # fmt: skip
# Python builtins a probe is refused (probe/safe_builtins.py says why, next to what it passes
# through); named here so that no exposure can take one and blur the refusal.
PROBE_REFUSED_BUILTINS: Final[frozenset[str]] = frozenset(
    {
        "aiter", "anext", "ascii", "breakpoint", "callable", "classmethod", "compile",
        "complex", "delattr", "dir", "eval", "exec", "format", "getattr", "globals", "hash",
        "help", "id", "input", "issubclass", "iter", "locals", "next", "object", "open",
        "property", "setattr", "slice", "staticmethod", "super", "type", "vars",
        "Ellipsis", "NotImplemented", "BaseException",
    }
)  # fmt: skip
# Every name that means something to a probe before the policy adds any: its builtins, the
# refused ones, print (the compiler turns it into the probe's captured output) and execute
# (the runner calls it after the top-level statements). An exposure may not take one
# (policy/fields.py); keywords are refused there separately.
PROBE_NAMES: Final[frozenset[str]] = PROBE_BUILTINS | PROBE_REFUSED_BUILTINS | {"print", "execute"}


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
    # sigqueue's value: which named probe the sender asks for (request_code in
    # policy/named_probes.py); 0 is the default probe, and what a plain kill(2) carries.
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
