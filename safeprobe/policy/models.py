"""The policy: what a probe may see and how far it may go, read from YAML.

Owns the pydantic models of a version-1 policy, the YAML loading that turns a file into
one, and the policy's JSON Schema.

Promise: a policy either loads completely, with every value checked, or fails with a
PolicyError naming the file, the 1-based line and the field (YAML key names joined by
dots). Nothing is ignored: an unknown key, a duplicate key, a YAML type a policy does
not use, or a feature not supported yet is an error, because a silently dropped line
can weaken a policy. YAML is read with PyYAML's safe loader only. Threat model:
SECURITY.md, "Allowlist" (the policy is the allowlist; its author is trusted, the
probe's author is not).
"""

from __future__ import annotations

import difflib
import keyword
import math
import os
import re
import signal
import zlib
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Final, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    PlainSerializer,
    Strict,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from safeprobe.attempt import FACT_NAMES, FactName
from safeprobe.errors import PolicyError
from safeprobe.policy.syslog_address import parse_syslog_address

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

# -- defaults and bounds --------------------------------------------------------------------

# DESIGN.md: one attempt at a time; a second kill -3 within a second is almost always
# an impatient repeat, not a new question.
DEFAULT_COOLDOWN_S: Final = 1.0
# DESIGN.md's example policy: a probe that reads a few attributes finishes in
# microseconds, and half a second is the longest the runner thread is lent by default.
DEFAULT_TIMEOUT_S: Final = 0.5
# The watchdog stops a probe by raising into it; a minute is past any interactive look
# and bounds how long one probe can hold the one-at-a-time slot.
MAX_TIMEOUT_S: Final = 60.0
# DESIGN.md's example policy: about a second of simple Python bytecode.
DEFAULT_MAX_STEPS: Final = 1_000_000
# An operator reads probe output in a terminal, and the audit log may hash it on each
# attempt: 64 KiB holds a thread dump of a busy service and stays cheap to hash.
DEFAULT_MAX_OUTPUT_BYTES: Final = 64 * 1024
# Output is buffered in the host's memory; 16 MiB is the most a policy may ask for.
MAX_OUTPUT_BYTES_CAP: Final = 16 * 1024 * 1024
# The audit sink refuses a record line over 16 MiB (audit.MAX_RECORD_BYTES; a test keeps the
# two equal). With audit.include_output the output is in the record as JSON text, where a
# control byte takes 6 bytes ("\u0001"); the rest of a record (argv, paths and the reason
# are each capped) fits in far less than 1 MiB. So the largest max_output whose worst case
# fits is (16 MiB - 1 MiB) / 6 = 2.5 MiB; but the host builds that line, its canonical bytes
# and its digest input in memory at once (~4 copies: measured +67 MiB of host RSS at 2.5 MiB,
# over the 64 MiB an attempt may cost), so included output is capped at 1 MiB (6 MiB of
# JSON at worst), which no operator reading a record needs more of.
AUDIT_RECORD_CAP_BYTES: Final = 16 * 1024 * 1024
_JSON_BYTES_PER_OUTPUT_BYTE: Final = 6
_RECORD_ROOM_BYTES: Final = 1024 * 1024
MAX_INCLUDED_OUTPUT_BYTES: Final = 1024 * 1024
assert MAX_INCLUDED_OUTPUT_BYTES * _JSON_BYTES_PER_OUTPUT_BYTE + _RECORD_ROOM_BYTES <= (
    AUDIT_RECORD_CAP_BYTES
)
# DESIGN.md's example policy: the largest container a builtin may build or walk.
DEFAULT_MAX_ITEMS: Final = 100_000
# repr() of a host object: three levels, 100 items each and 256 characters per string
# show the shape of a structure on one screen without dumping it.
DEFAULT_MAX_DEPTH: Final = 3
DEFAULT_MAX_REPR_ITEMS: Final = 100
DEFAULT_MAX_STR_CHARS: Final = 256
# isolation: fork: what a probe's child may map beyond the host's own address space. A
# probe's data is bounded by max_items and the size checks; 256 MiB covers those with room
# and keeps a runaway child far from the machine's memory.
DEFAULT_MAX_MEMORY_BYTES: Final = 256 * 1024 * 1024
# Below 16 MiB the interpreter in the child cannot even allocate its own working set.
MIN_MEMORY_BYTES: Final = 16 * 1024 * 1024
# Below 16 characters a string cannot show even a short identifier and its quotes.
MIN_STR_CHARS: Final = 16
# A probe is a short hand-written script (the examples are 15-400 bytes); 32 KiB is ~800
# lines, far beyond one. The cap also bounds ``ast.parse``, one C call no deadline can
# interrupt in isolation: thread: the densest shapes parse at ~3 ms per KiB here, so 32 KiB
# parses in ~100 ms, inside the default 500 ms timeout (compiler.py bounds the rest).
# A policy that raises it lifts that bound with it.
DEFAULT_PROBE_MAX_BYTES: Final = 32 * 1024
# The probe file is read whole into the host's memory, so a policy may not lift the cap
# past 16 MiB (the same bound as output).
MAX_PROBE_BYTES_CAP: Final = 16 * 1024 * 1024
# A policy is a page of YAML; 1 MiB refuses a wrong file before PyYAML walks all of it.
MAX_POLICY_BYTES: Final = 1024 * 1024
# Names, patterns and owner names are short labels; these caps keep them readable in
# audit records and in error messages.
MAX_NAME_CHARS: Final = 100
MAX_PATTERN_CHARS: Final = 200
# Host code a policy vouches for is a short list a reviewer reads entry by entry; the cap
# also bounds the audit record's ``evaluated`` field (one entry per path run).
MAX_EVALUATE_ENTRIES: Final = 64
MAX_PATH_CHARS: Final = 4096

SIGNALS_ALLOWED: Final[frozenset[str]] = frozenset({"SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGHUP"})
# Left out on purpose: SIGKILL and SIGSTOP cannot be caught; SIGINT, SIGTERM, SIGALRM,
# SIGCHLD, SIGPIPE and SIGWINCH already mean something to hosts and their supervisors
# (stop, timers, children, pipes, terminals); SIGSEGV, SIGBUS, SIGFPE, SIGILL and
# SIGABRT report a crash and must keep their default action.

# Names an exposure may not take, because the probe already sees them (its builtins,
# the constants and exceptions it may name) or the runner looks them up (execute).
# Keywords are refused separately, through keyword.iskeyword.
RESERVED_NAMES: Final[frozenset[str]] = frozenset(
    {
        # builtins a probe calls, and the ones it is refused (so the refusal stays clear)
        "abs", "aiter", "all", "anext", "any", "ascii", "bin", "bool", "breakpoint",
        "bytearray", "bytes", "callable", "chr", "classmethod", "compile", "complex",
        "delattr", "dict", "dir", "divmod", "enumerate", "eval", "exec", "filter", "float",
        "format", "frozenset", "getattr", "globals", "hasattr", "hash", "help", "hex", "id",
        "input", "int", "isinstance", "issubclass", "iter", "len", "list", "locals", "map",
        "max", "memoryview", "min", "next", "object", "oct", "open", "ord", "pow", "print",
        "property", "range", "repr", "reversed", "round", "set", "setattr", "slice",
        "sorted", "staticmethod", "str", "sum", "super", "tuple", "type", "vars", "zip",
        "typename", "asdict",
        # stdlib types a probe names for isinstance() (values.ISINSTANCE_TYPES; a test
        # checks the two agree)
        "date", "datetime", "time", "timedelta", "timezone", "tzinfo", "ZoneInfo", "Decimal",
        "Fraction", "UUID", "Enum", "IntEnum", "StrEnum", "Flag", "IntFlag", "IPv4Address",
        "IPv6Address", "IPv4Network", "IPv6Network", "PurePath", "Path", "deque",
        "defaultdict", "Counter", "OrderedDict", "ChainMap", "SimpleNamespace", "array",
        # constants and the exception classes a probe may raise and catch
        "Ellipsis", "NotImplemented", "ArithmeticError", "AssertionError",
        "AttributeError", "BaseException", "Exception", "IndexError", "KeyError",
        "LookupError", "NameError", "NotImplementedError", "OverflowError",
        "RuntimeError", "StopIteration", "TypeError", "ValueError", "ZeroDivisionError",
        # the runner calls the probe's execute() after its top-level statements
        "execute",
    }
)  # fmt: skip

# -- durations, sizes, signals --------------------------------------------------------------

_NUMBER: Final = r"(?P<number>\d{1,15}(?:\.\d{1,15})?|\.\d{1,15})"
_DURATION_RE: Final = re.compile(_NUMBER + r"\s*(?P<unit>ms|s|m|h)")
_SIZE_RE: Final = re.compile(_NUMBER + r"\s*(?P<unit>[A-Za-z]{1,3})")
_ZERO_RE: Final = re.compile(r"0+(?:\.0+)?")
_SECONDS_PER_UNIT: Final = {
    "ms": Fraction(1, 1000),
    "s": Fraction(1),
    "m": Fraction(60),
    "h": Fraction(3600),
}
_BYTES_PER_UNIT: Final = {
    "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3,
}  # fmt: skip
_SHOWN_CHARS: Final = 32


def _shown(value: object) -> str:
    """A short repr of something the user wrote, cut so an error never echoes much."""
    if isinstance(value, str) and len(value) > _SHOWN_CHARS:
        return f"{value[:_SHOWN_CHARS]!r}…"
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS + 2 else f"a {type(value).__name__} value"


def parse_duration(text: str | int | float) -> float:
    """Seconds from "500ms", "2s", "1.5s", "1m", "1h", "0" or a number of seconds.

    A string needs a unit unless it is zero, since a bare "500" could mean either;
    a number (as a dumped policy holds) is seconds. Raises ValueError.
    """
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError("expected a duration such as 500ms, 2s or 1m")  # noqa: TRY004
    if not isinstance(text, str):
        try:
            seconds = float(text)
        except OverflowError:
            raise ValueError("duration is too large") from None
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"{_shown(text)} is not a duration: must be finite and not negative")
        return seconds
    stripped = text.strip()
    if stripped.startswith("-"):
        raise ValueError(f"{_shown(text)} is negative; durations must not be")
    if _ZERO_RE.fullmatch(stripped):
        return 0.0
    match = _DURATION_RE.fullmatch(stripped)
    if match is None:
        raise ValueError(f"{_shown(text)} is not a duration such as 500ms, 2s, 1.5s or 1m")
    return float(Fraction(match["number"]) * _SECONDS_PER_UNIT[match["unit"]])


def parse_size(text: str | int) -> int:
    """Bytes from "64KiB", "1MiB", "1GiB", "100B", "10KB" (10 000), "10MB" or an int.

    KB/MB/GB are powers of 1000 and KiB/MiB/GiB powers of 1024; units are read
    case-insensitively. A string needs a unit unless it is zero. Raises ValueError.
    """
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise ValueError("expected a size such as 64KiB, 1MiB or 100B (whole bytes)")  # noqa: TRY004
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"{_shown(text)} is negative; sizes must not be")
        return text
    stripped = text.strip()
    if stripped.startswith("-"):
        raise ValueError(f"{_shown(text)} is negative; sizes must not be")
    if _ZERO_RE.fullmatch(stripped):
        return 0
    match = _SIZE_RE.fullmatch(stripped)
    per_unit = _BYTES_PER_UNIT.get(match["unit"].lower()) if match else None
    if match is None or per_unit is None:
        raise ValueError(f"{_shown(text)} is not a size such as 64KiB, 1MiB, 10KB or 100B")
    size = Fraction(match["number"]) * per_unit
    if size.denominator != 1:
        raise ValueError(f"{_shown(text)} is not a whole number of bytes")
    return int(size)


def normalize_signal(value: str | int) -> str:
    """The canonical name of an allowed signal: QUIT, SIGQUIT, sigquit and 3 are SIGQUIT.

    Raises ValueError for a signal outside SIGNALS_ALLOWED or an unknown number.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("expected a signal name such as SIGQUIT, or its number")  # noqa: TRY004
    name = value.strip().upper() if isinstance(value, str) else str(value)
    if name.isdigit() and len(name) <= 3:
        try:
            name = signal.Signals(int(name)).name
        except ValueError:
            raise ValueError(f"{_shown(value)} is not a signal number here") from None
    elif not name.startswith("SIG"):
        name = "SIG" + name
    if name not in SIGNALS_ALLOWED:
        allowed = ", ".join(sorted(SIGNALS_ALLOWED))
        raise ValueError(f"{_shown(value)} is not allowed; use one of {allowed}")
    return name


# -- field checks -----------------------------------------------------------------------------

_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OWNER_RE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?")
_SHA256_RE: Final = re.compile(r"[0-9a-fA-F]{64}")


def _check_segment(segment: str, what: str) -> None:
    """One dotted segment of a target or allow path: a public Python name."""
    if not segment:
        raise ValueError(f"empty {what} (two dots in a row, or a dot at an end)")
    if segment.startswith("_"):
        raise ValueError(
            f"{what} {_shown(segment)} starts with '_': private names are never exposed"
        )
    if not _NAME_RE.fullmatch(segment):
        raise ValueError(f"{what} {_shown(segment)} is not a Python name")
    if keyword.iskeyword(segment):
        raise ValueError(f"{what} {_shown(segment)} is a Python keyword")


def _check_target(value: str) -> str:
    module, colon, attributes = value.partition(":")
    if len(value) > MAX_PATTERN_CHARS or not colon or not attributes or ":" in attributes:
        raise ValueError("expected 'module:attribute.path', like '__main__:my_object'")
    if module != "__main__":
        for segment in module.split("."):
            _check_segment(segment, "module name")
    for segment in attributes.split("."):
        _check_segment(segment, "attribute")
    return value


def _check_allow(value: str) -> str:
    if len(value) > MAX_PATTERN_CHARS:
        raise ValueError(f"longer than {MAX_PATTERN_CHARS} characters")
    for segment in value.split("."):
        if segment not in ("*", "**"):
            _check_segment(segment, "attribute")
    return value


def _check_evaluate(value: str) -> str:
    """One ``evaluate`` entry: an exact attribute path ending in a property name or a
    zero-argument call, ``stats.label`` or ``cache.size()``. No ``*``/``**``: the policy
    author vouches for specific code, so every entry names it exactly."""
    if len(value) > MAX_PATTERN_CHARS:
        raise ValueError(f"longer than {MAX_PATTERN_CHARS} characters")
    path = value.removesuffix("()")
    if "(" in path or ")" in path:
        raise ValueError(
            f"{_shown(value)}: only a zero-argument call is allowed, written 'name()' at the end"
        )
    for segment in path.split("."):
        if segment in ("*", "**"):
            raise ValueError(f"{_shown(value)}: evaluate names exact paths, without '*' or '**'")
        _check_segment(segment, "attribute")
    return value


def _check_evaluate_list(value: tuple[str, ...]) -> tuple[str, ...]:
    if len(value) > MAX_EVALUATE_ENTRIES:
        raise ValueError(f"more than {MAX_EVALUATE_ENTRIES} entries")
    seen: set[str] = set()
    for entry in value:
        path = entry.removesuffix("()")
        if path in seen:
            # "size" and "size()" cannot both be what the author read: one is a mistake.
            raise ValueError(f"{_shown(path)} is named more than once")
        seen.add(path)
    return value


def _check_expose_name(value: str) -> str:
    _check_segment(value, "exposure name")
    if value in RESERVED_NAMES:
        raise ValueError(f"{_shown(value)} would shadow a name the probe already has")
    if value in FACT_NAMES:
        # Refused whether or not the fact is enabled, so enabling it later cannot change
        # what a probe's name means.
        raise ValueError(f"{_shown(value)} is the name of a built-in fact; choose another name")
    return value


_PROBE_NAME_RE: Final = re.compile(r"[a-z][a-z0-9_-]{0,62}")
DEFAULT_PROBE: Final = "default"  # the name of `probe:`, the one a plain kill -3 runs


def request_code(name: str) -> int:
    """The number a sender puts in sigqueue's value to ask for the named probe: nonzero,
    31-bit, and 0 for the default probe (what kill(2) delivers). Pure."""
    if name == DEFAULT_PROBE:
        return 0
    return zlib.crc32(name.encode("ascii")) & 0x7FFFFFFF or 1


def _check_probe_name(value: str) -> str:
    if value == DEFAULT_PROBE or not _PROBE_NAME_RE.fullmatch(value):
        raise ValueError(
            f"{_shown(value)} is not a probe name: lower-case letters, digits, '_' and '-', "
            f"starting with a letter, at most 63, and not {DEFAULT_PROBE!r} (that is `probe`)"
        )
    return value


def _frozen_probes(value: Mapping[str, ProbeSpec]) -> Mapping[str, ProbeSpec]:
    codes: dict[int, str] = {}
    for name in value:
        other = codes.setdefault(request_code(name), name)
        if other != name:  # one in two billion: ask for another name rather than guess
            raise ValueError(f"probe names {other!r} and {name!r} share a request code")
    return MappingProxyType(dict(value))


def _probes_as_dict(value: Mapping[str, ProbeSpec]) -> dict[str, ProbeSpec]:
    return dict(value)


def _no_probes() -> Mapping[str, ProbeSpec]:
    return MappingProxyType({})


def _check_label(value: str) -> str:
    if len(value) > MAX_NAME_CHARS or not value.isprintable():
        raise ValueError(f"must be printable text of at most {MAX_NAME_CHARS} characters")
    return value


def _check_pattern(value: str) -> str:
    if not value or len(value) > MAX_PATTERN_CHARS or not value.isprintable():
        raise ValueError(f"must be a printable pattern of 1 to {MAX_PATTERN_CHARS} characters")
    return value


def _check_path(value: str) -> str:
    if not value or len(value) > MAX_PATH_CHARS or "\0" in value:
        raise ValueError(f"must be a path of 1 to {MAX_PATH_CHARS} characters, without NUL")
    return value


def _check_owner(value: str) -> str:
    if not _OWNER_RE.fullmatch(value):
        raise ValueError(f"{_shown(value)} is not a user name, uid or 'current'")
    return value


def _check_sha256(value: str) -> str:
    if not _SHA256_RE.fullmatch(value):
        raise ValueError("expected 64 hexadecimal digits")
    return value.lower()


def _check_timeout(value: float) -> float:
    if not 0 < value <= MAX_TIMEOUT_S:
        raise ValueError(f"must be more than 0s and at most {MAX_TIMEOUT_S:g}s")
    return value


def _check_output_bytes(value: int) -> int:
    if not 0 < value <= MAX_OUTPUT_BYTES_CAP:
        raise ValueError("must be more than 0 bytes and at most 16MiB")
    return value


def _check_probe_bytes(value: int) -> int:
    if not 0 < value <= MAX_PROBE_BYTES_CAP:
        raise ValueError("must be more than 0 bytes and at most 16MiB")
    return value


def _check_signal(value: object) -> str:
    if isinstance(value, str | int):
        return normalize_signal(value)
    raise ValueError("expected a signal name such as SIGQUIT, or its number")


def _check_duration(value: object) -> float:
    if isinstance(value, str | int | float):
        return parse_duration(value)
    raise ValueError("expected a duration such as 500ms, 2s or 1m")


def _check_size(value: object) -> int:
    if isinstance(value, str | int):
        return parse_size(value)
    raise ValueError("expected a size such as 64KiB, 1MiB or 100B (whole bytes)")


def _not_empty(values: tuple[object, ...]) -> tuple[object, ...]:
    if not values:
        raise ValueError("must list at least one entry")
    return values


def _literal_text(value: object) -> object:
    # pydantic's Literal accepts True for 1 and the like; a policy says what it means.
    # Validators raise ValueError, never TypeError: pydantic turns only the former into
    # a validation error with a location, which is what the operator needs.
    if not isinstance(value, str):
        raise ValueError("expected a string")  # noqa: TRY004
    return value


def _version_one(value: object) -> object:
    if type(value) is not int or value != 1:
        raise ValueError("must be 1, the only policy version so far")
    return value


def _check_syslog_address(value: str) -> str:
    """A socket path (/dev/log), udp://host:port or tcp://host:port (syslog_address.py)."""
    if parse_syslog_address(value).socket_path is not None:
        return _check_path(value)
    return value


def _facts_once(values: tuple[str, ...]) -> tuple[str, ...]:
    for index, value in enumerate(values):
        if value in values[:index]:
            raise ValueError(f"fact {value!r} is listed twice")
    return values


def _frozen_expose(value: Mapping[str, Exposure]) -> Mapping[str, Exposure]:
    return MappingProxyType(dict(value))


def _expose_as_dict(value: Mapping[str, Exposure]) -> dict[str, Exposure]:
    return dict(value)


def _no_exposures() -> Mapping[str, Exposure]:
    return MappingProxyType({})


_Int = Annotated[int, Strict()]
_Text = Annotated[str, Strict()]
_Label = Annotated[str, Strict(), AfterValidator(_check_label)]
_PathText = Annotated[str, Strict(), AfterValidator(_check_path)]
_DURATION_SCHEMA: Final = {
    "anyOf": [
        {"type": "string", "examples": ["500ms", "2s", "1m"]},
        {"type": "number", "minimum": 0},
    ],
    "description": "a duration: a string with a unit (ms, s, m, h), or seconds as a number",
}
_SIZE_SCHEMA: Final = {
    "anyOf": [
        {"type": "string", "examples": ["64KiB", "1MiB", "10KB"]},
        {"type": "integer", "minimum": 0},
    ],
    "description": "a size: a string with a unit (B, KB, MB, GB, KiB, MiB, GiB), or bytes",
}
_Duration = Annotated[float, BeforeValidator(_check_duration), WithJsonSchema(_DURATION_SCHEMA)]
_Size = Annotated[int, BeforeValidator(_check_size), WithJsonSchema(_SIZE_SCHEMA)]

# -- the models -------------------------------------------------------------------------------


class Trigger(BaseModel, frozen=True, extra="forbid"):
    """Which signal starts an attempt, how often, and from whom."""

    signal: Annotated[
        str, BeforeValidator(_check_signal), WithJsonSchema({"type": ["string", "integer"]})
    ] = "SIGQUIT"
    cooldown_s: _Duration = Field(default=DEFAULT_COOLDOWN_S, alias="cooldown")
    # None lets any sender through; an empty list would refuse everyone, and reads like
    # "no restriction" (as an empty sha256 list does), so it is refused as ambiguous.
    allowed_uids: (
        Annotated[tuple[Annotated[_Int, Field(ge=0)], ...], AfterValidator(_not_empty)] | None
    ) = None
    # listener: a sigwaitinfo thread, which knows the sender; handler: a plain signal
    # handler, which does not.
    mode: Annotated[Literal["listener", "handler"], BeforeValidator(_literal_text)] = "listener"
    # A handler for the signal that safeprobe did not install: refuse (install fails and
    # says so), or chain (a Python handler still runs after safeprobe's request; one set
    # outside the signal module, e.g. faulthandler.register, is always refused).
    foreign_handler: Annotated[Literal["refuse", "chain"], BeforeValidator(_literal_text)] = (
        "refuse"
    )

    @model_validator(mode="after")
    def _sender_known_when_checked(self) -> Trigger:
        # A handler never learns the sender, so allowed_uids would refuse every attempt:
        # a policy that can never run is a mistake to report now, not at the first signal.
        if self.mode == "handler" and self.allowed_uids is not None:
            raise ValueError("allowed_uids needs mode: listener (a handler cannot see the sender)")
        return self


class ProbeSpec(BaseModel, frozen=True, extra="forbid"):
    """Which file is the probe, who may own it, and what it may contain."""

    # Relative to the policy file's directory; parse_policy makes it absolute.
    path: _PathText
    owners: Annotated[
        tuple[Annotated[_Text, AfterValidator(_check_owner)], ...], AfterValidator(_not_empty)
    ] = ("root", "current")
    sha256: tuple[Annotated[_Text, AfterValidator(_check_sha256)], ...] = ()
    max_bytes: Annotated[_Size, AfterValidator(_check_probe_bytes)] = Field(
        default=DEFAULT_PROBE_MAX_BYTES, alias="max_size"
    )


class Exposure(BaseModel, frozen=True, extra="forbid"):
    """One host object a probe may read, and the attribute paths it may follow."""

    # "module:attr.path": looked up in sys.modules, never imported.
    target: Annotated[_Text, AfterValidator(_check_target)]
    # Dotted paths relative to target: names, "*" (one name) or "**" (any depth).
    allow: tuple[Annotated[_Text, AfterValidator(_check_allow)], ...] = ()
    # Exact paths relative to target of properties ("stats.label") and zero-argument
    # methods ("snapshot()") that may run when the probe reads them; see evaluation.py.
    evaluate: Annotated[
        tuple[Annotated[_Text, AfterValidator(_check_evaluate)], ...],
        AfterValidator(_check_evaluate_list),
    ] = ()


class Limits(BaseModel, frozen=True, extra="forbid"):
    """The budgets of one attempt and the bounds on rendering host values."""

    timeout_s: Annotated[_Duration, AfterValidator(_check_timeout)] = Field(
        default=DEFAULT_TIMEOUT_S, alias="timeout"
    )
    max_steps: Annotated[_Int, Field(gt=0)] = DEFAULT_MAX_STEPS
    max_output_bytes: Annotated[_Size, AfterValidator(_check_output_bytes)] = Field(
        default=DEFAULT_MAX_OUTPUT_BYTES, alias="max_output"
    )
    max_items: Annotated[_Int, Field(gt=0)] = DEFAULT_MAX_ITEMS
    max_depth: Annotated[_Int, Field(ge=1)] = DEFAULT_MAX_DEPTH
    max_repr_items: Annotated[_Int, Field(ge=1)] = DEFAULT_MAX_REPR_ITEMS
    max_str_chars: Annotated[_Int, Field(ge=MIN_STR_CHARS)] = DEFAULT_MAX_STR_CHARS
    # isolation: fork only: address space the child may add to what the host already maps.
    max_memory_bytes: Annotated[_Size, Field(ge=MIN_MEMORY_BYTES)] = Field(
        default=DEFAULT_MAX_MEMORY_BYTES, alias="max_memory"
    )


class SyslogConfig(BaseModel, frozen=True, extra="forbid"):
    """Where each audit record is also sent, as an RFC 5424 syslog message."""

    address: Annotated[_Text, AfterValidator(_check_syslog_address)] = "/dev/log"
    facility: Annotated[
        Literal[
            "auth", "authpriv", "daemon", "user", "security", "syslog",
            "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
        ],
        BeforeValidator(_literal_text),
    ] = "auth"  # fmt: skip
    # true: fail closed. The probe does not run unless syslog is reachable first, and its
    # output is withheld if the record could not be sent after. false: a warning on stderr.
    required: Annotated[bool, Strict()] = True
    timeout_s: Annotated[_Duration, AfterValidator(_check_timeout)] = Field(
        default=1.0, alias="timeout"
    )


class AuditConfig(BaseModel, frozen=True, extra="forbid"):
    """Where the audit trail goes and what it keeps."""

    # Both paths are relative to the policy file's directory; parse_policy resolves them.
    path: _PathText = "./audit.jsonl"
    hmac_key_file: _PathText | None = None
    include_output: Annotated[bool, Strict()] = False
    fsync: Annotated[bool, Strict()] = True
    syslog: SyslogConfig | None = None


class Policy(BaseModel, frozen=True, extra="forbid"):
    """A whole version-1 policy. Build it with parse_policy or load_policy."""

    version: Annotated[Literal[1], BeforeValidator(_version_one)]
    name: _Label = ""  # parse_policy fills in the policy file's stem when empty
    trigger: Trigger = Trigger()
    probe: ProbeSpec
    # Named probes besides `probe` (which is "default"): `safeprobe trigger --probe NAME`
    # asks for one by number (sigqueue); the host runs only what this mapping names.
    probes: Annotated[
        Mapping[Annotated[_Text, AfterValidator(_check_probe_name)], ProbeSpec],
        AfterValidator(_frozen_probes),
        PlainSerializer(_probes_as_dict, return_type=dict[str, ProbeSpec]),
    ] = Field(default_factory=_no_probes)
    # A read-only mapping: validated as a dict, kept as a MappingProxyType, dumped as a dict.
    expose: Annotated[
        Mapping[Annotated[_Text, AfterValidator(_check_expose_name)], Exposure],
        AfterValidator(_frozen_expose),
        PlainSerializer(_expose_as_dict, return_type=dict[str, Exposure]),
    ] = Field(default_factory=_no_exposures)
    # Built-in read-only snapshots the probe sees as globals of these names (facts.py).
    facts: Annotated[
        tuple[Annotated[FactName, BeforeValidator(_literal_text)], ...],
        AfterValidator(_facts_once),
    ] = ()
    # Added to the built-in name patterns (*password*, *token*, ...), never replacing them.
    redact: tuple[Annotated[_Text, AfterValidator(_check_pattern)], ...] = ()
    # fork (the default): the probe runs in a forked child that is killed at the deadline
    # and runs under limits.max_memory, so every limit holds even for one long C call;
    # thread: in the host's runner thread, an opt-in for hosts that cannot fork, where C
    # calls are bounded by cost checks only (SECURITY.md, "Isolation").
    isolation: Annotated[Literal["thread", "fork"], BeforeValidator(_literal_text)] = "fork"
    # stderr: the host's stderr; file: a result file per attempt in output_dir, mode 0600,
    # which `safeprobe trigger` prints.
    output: Annotated[Literal["stderr", "file"], BeforeValidator(_literal_text)] = "stderr"
    output_dir: _PathText = "./results"
    limits: Limits = Limits()
    audit: AuditConfig = AuditConfig()

    @model_validator(mode="after")
    def _included_output_fits_a_record(self) -> Policy:
        # A record over the sink's cap could only be written with its output cut: refuse the
        # combination now, naming both fields, rather than at the first large output.
        if self.audit.include_output and self.limits.max_output_bytes > MAX_INCLUDED_OUTPUT_BYTES:
            raise ValueError(
                f"audit.include_output: true needs limits.max_output of at most "
                f"{MAX_INCLUDED_OUTPUT_BYTES} bytes (1MiB): output is stored in the record as "
                f"JSON, up to 6 bytes per output byte, and a record is capped at 16MiB"
            )
        return self

    @model_validator(mode="after")
    def _named_probes_need_the_sender(self) -> Policy:
        # A handler never sees sigqueue's value, so it would run `probe` for every request.
        if self.probes and self.trigger.mode == "handler":
            raise ValueError("probes needs trigger.mode: listener (a handler cannot see which)")
        # Named probes are asked for with sigqueue, whose caller writes its own sender
        # fields; allowed_uids trusts only senders the kernel vouches for (kill, tgkill).
        if self.probes and self.trigger.allowed_uids is not None:
            raise ValueError(
                "probes cannot be combined with trigger.allowed_uids: a named probe is asked "
                "for with sigqueue, whose sender uid the kernel does not vouch for"
            )
        return self

    def probe_for(self, name: str) -> ProbeSpec | None:
        """The probe of that name (DEFAULT_PROBE is `probe`), or None."""
        return self.probe if name == DEFAULT_PROBE else self.probes.get(name)

    def probe_named_by(self, code: int) -> str | None:
        """The name of the probe a sender's request code asks for, or None."""
        if code == 0:
            return DEFAULT_PROBE
        return next((name for name in self.probes if request_code(name) == code), None)


# -- YAML with line numbers -------------------------------------------------------------------

_YAML_TAG: Final = "tag:yaml.org,2002:"
_STR_TAG: Final = _YAML_TAG + "str"
_MERGE_TAG: Final = _YAML_TAG + "merge"
# The YAML types a policy is written in. Left out on purpose: timestamps, binary, sets,
# omaps and pairs (no policy field holds one, and `name: 2024-01-01` becoming a date is
# a surprise best reported at its line), and every application tag.
_SCALAR_TAGS: Final = frozenset(
    _YAML_TAG + kind for kind in ("str", "int", "float", "bool", "null")
)
_PROBLEM_CHARS: Final = 160

_Loc = tuple[int | str, ...]


class _PolicyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reporting a value it cannot build at that value's line."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> object:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError):
            # e.g. an integer longer than Python's int-from-text digit limit.
            raise yaml.constructor.ConstructorError(
                None, None, "this value cannot be read", node.start_mark
            ) from None


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _field(loc: _Loc) -> str:
    """YAML key names joined by dots, list indexes as [2]; keys shown safely."""
    text = ""
    for segment in loc:
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif segment != "[key]":
            shown = (
                segment
                if segment.isprintable() and len(segment) <= _SHOWN_CHARS
                else _shown(segment)
            )
            text += f".{shown}" if text else shown
    return text or "policy"


# Most YAML errors in a hand-written policy are a line indented one step off, a tab, or an
# unquoted value holding ": " (PyYAML reports them where it noticed, often a line later).
_YAML_HINT: Final = "; check the indentation (spaces, not tabs) and quoting here and just above"
# What to write, for the required keys an operator leaves out.
_MISSING_HINTS: Final = {
    "version": "add 'version: 1' as the first line",
    "probe": "add 'probe: {path: probes/NAME.py}' (relative to this file)",
    "path": "add 'path: probes/NAME.py' (relative to the policy file)",
    "target": "add 'target: \"__main__:my_object\"' (module:attribute.path)",
}


def _short(problem: str) -> str:
    return problem if len(problem) <= _PROBLEM_CHARS else problem[: _PROBLEM_CHARS - 1] + "…"


def _yaml_error(exc: yaml.YAMLError, text: str, path: str) -> PolicyError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        parts = [part for part in (exc.context, exc.problem) if part]
        problem = _short(": ".join(parts) or "not valid YAML") + _YAML_HINT
        return PolicyError(path, line, "yaml", problem)
    if isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.position, int):
        line = text.count("\n", 0, exc.position) + 1
        code = (
            exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        )
        return PolicyError(path, line, "yaml", f"character U+{code:04X} is not allowed in YAML")
    return PolicyError(path, None, "yaml", "not valid YAML")


def _check_nodes(root: yaml.Node, path: str) -> None:
    """Refuse duplicate keys, non-string keys and YAML types a policy does not use.

    PyYAML keeps the last of two equal keys without a word; a policy with two `allow:`
    lines would then mean something its reviewer did not read. Walks in document order,
    visiting a node reached again through an alias once.
    """
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, _Loc]] = [(root, ())]
    while stack:
        node, loc = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        children: list[tuple[yaml.Node, _Loc]] = []
        if isinstance(node, yaml.MappingNode) and node.tag == _YAML_TAG + "map":
            first_line: dict[str, int] = {}
            for key, value in node.value:
                if key.tag == _MERGE_TAG:
                    children.append((value, loc))
                    continue
                if not isinstance(key, yaml.ScalarNode) or key.tag != _STR_TAG:
                    shown = (
                        _shown(key.value)
                        if isinstance(key, yaml.ScalarNode)
                        else "a list or mapping"
                    )
                    raise PolicyError(path, _line(key), _field(loc), f"key {shown} is not a string")
                if key.value in first_line:
                    problem = f"duplicate key (first at line {first_line[key.value]})"
                    raise PolicyError(path, _line(key), _field((*loc, key.value)), problem)
                first_line[key.value] = _line(key)
                children.append((value, (*loc, key.value)))
        elif isinstance(node, yaml.SequenceNode) and node.tag == _YAML_TAG + "seq":
            children.extend((item, (*loc, index)) for index, item in enumerate(node.value))
        elif not isinstance(node, yaml.ScalarNode) or node.tag not in _SCALAR_TAGS:
            kind = node.tag.removeprefix(_YAML_TAG)
            problem = f"YAML type {_shown(kind)} is not used in policies"
            if isinstance(node, yaml.ScalarNode):
                problem += "; quote the value if it is text"
            raise PolicyError(path, _line(node), _field(loc), problem)
        stack.extend(reversed(children))


def _read_yaml(text: str, path: str) -> tuple[yaml.Node | None, object]:
    """Compose the document (for lines), check it, then build plain data from it."""
    try:
        loader = _PolicyLoader(text)  # checks every character up front
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, path) from None
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        _check_nodes(root, path)
        return root, loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, path) from None
    except RecursionError:
        raise PolicyError(path, None, "yaml", "nested too deeply") from None
    finally:
        loader.dispose()


def _locate(root: yaml.Node, loc: _Loc) -> tuple[int, int]:
    """Lines of the deepest node along loc: (its key, its value)."""
    node, key_line, value_line = root, _line(root), _line(root)
    for segment in loc:
        found: tuple[yaml.Node, yaml.Node] | None = None
        if isinstance(node, yaml.MappingNode):
            # The last match wins, as in PyYAML: merged keys come before explicit ones.
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == segment:
                    found = (key, value)
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(segment, int)
            and 0 <= segment < len(node.value)
        ):
            found = (node.value[segment], node.value[segment])
        if found is None:
            break
        node = found[1]
        key_line, value_line = _line(found[0]), _line(found[1])
    return key_line, value_line


def _model_at(loc: _Loc) -> type[BaseModel] | None:
    """The model that validates the mapping at loc, to list its keys."""
    model: type[BaseModel] = Policy
    rest = list(loc)
    while rest:
        segment = rest.pop(0)
        if model is Policy and segment == "expose" and rest:
            rest.pop(0)
            model = Exposure
            continue
        fields = model.model_fields.items()
        annotation = next((f.annotation for n, f in fields if (f.alias or n) == segment), None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _problem(error: ErrorDetails) -> str:
    kind, loc, value = error["type"], error["loc"], error["input"]
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        known = [field.alias or name for name, field in model.model_fields.items()] if model else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown key{hint}; known keys: {', '.join(known)}"
    if kind == "missing":
        return "required key is missing"
    if kind == "value_error" and "ctx" in error:
        return _short(str(error["ctx"]["error"]))
    plain = {
        "model_type": "expected a mapping of keys",
        "dict_type": "expected a mapping of keys",
        "tuple_type": "expected a list",
        "string_type": "expected a string",
        "int_type": "expected a whole number",
        "bool_type": "expected true or false",
    }
    problem = plain.get(kind) or error["msg"].replace("Input should be", "must be", 1)
    if value is None or isinstance(value, str | int | float | bool):
        problem += f", got {_shown(value)}"
    return _short(problem)


def _hint(error: ErrorDetails) -> str:
    """What the operator most likely meant, as "; hint", or "" when there is no good guess."""
    kind, loc, value = error["type"], error["loc"], error["input"]
    hint: str | None = None
    if kind == "missing":
        hint = _MISSING_HINTS.get(str(loc[-1]))
    elif kind == "literal_error" and isinstance(value, str):
        allowed = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        close = difflib.get_close_matches(value, allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else None
    elif kind == "int_type" and isinstance(value, str) and value.strip().isdigit():
        hint = "write the number without quotes"
    elif kind == "bool_type" and isinstance(value, str):
        hint = "write true or false, without quotes"
    elif (
        kind == "value_error"
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and value > 0
        and _holds_seconds(loc)
    ):
        hint = f"a bare number is seconds; write {value:g}ms for milliseconds"
    return f"; {hint}" if hint else ""


def _holds_seconds(loc: _Loc) -> bool:
    """Whether the key at loc is a duration (its field name ends in _s, STYLE.md §6)."""
    model = _model_at(loc[:-1])
    fields = model.model_fields.items() if model else ()
    return any((f.alias or n) == loc[-1] and n.endswith("_s") for n, f in fields)


def _policy_error(exc: ValidationError, root: yaml.Node, path: str) -> PolicyError:
    """The first problem in file order, at its line, counting the others."""
    located = []
    for error in exc.errors(include_url=False):
        key_line, value_line = _locate(root, error["loc"])
        at_key = error["type"] in ("extra_forbidden", "missing") or "[key]" in error["loc"]
        located.append((key_line if at_key else value_line, error))
    located.sort(key=lambda pair: pair[0])
    line, first = located[0]
    problem = _problem(first) + _hint(first)
    if len(located) > 1:
        problem += f" (and {len(located) - 1} more problem{'s' if len(located) > 2 else ''})"
    return PolicyError(path, line, _field(first["loc"]), problem)


def _resolved(policy: Policy, path: str) -> Policy:
    """Paths made absolute against the policy file's directory; the name filled in."""
    # Lexical, like os.path.abspath: symlinks are not followed, because the probe
    # reader refuses a symlinked probe file itself and must see the path as written.
    base = Path(path).absolute().parent

    def at(value: str) -> str:
        return os.path.normpath(base / value)

    name = policy.name or Path(path).stem
    try:
        _check_label(name)
    except ValueError as exc:
        raise PolicyError(path, None, "name", f"taken from the file name: {exc}") from None
    key_file = policy.audit.hmac_key_file
    audit = policy.audit.model_copy(
        update={
            "path": at(policy.audit.path),
            "hmac_key_file": None if key_file is None else at(key_file),
        }
    )
    probe = policy.probe.model_copy(update={"path": at(policy.probe.path)})
    named = policy.probes.items()
    probes = MappingProxyType(
        {name: spec.model_copy(update={"path": at(spec.path)}) for name, spec in named}
    )
    return policy.model_copy(
        update={
            "name": name,
            "probe": probe,
            "probes": probes,
            "audit": audit,
            "output_dir": at(policy.output_dir),
        }
    )


# -- the public functions ---------------------------------------------------------------------


def parse_policy(text: str, *, path: str) -> Policy:
    """YAML text in, Policy out, or PolicyError naming path, line and field. Pure.

    Relative paths in the policy are resolved, lexically, against the directory of
    `path` (itself taken from the working directory when relative); nothing is read.
    """
    if len(text) > MAX_POLICY_BYTES:
        raise PolicyError(path, None, "file", "larger than 1 MiB; a policy is a page of YAML")
    root, data = _read_yaml(text, path)
    if root is None or data is None:
        raise PolicyError(
            path, None, "policy", "the file is empty; a policy needs version and probe"
        )
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        raise PolicyError(path, _line(root), "policy", f"expected a mapping of keys, found {kind}")
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise _policy_error(exc, root, path) from None
    return _resolved(policy, path)


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """Read the policy file and parse it; a missing or unreadable file is a PolicyError."""
    name = os.fspath(path)
    try:
        with Path(name).open("rb") as file:
            data = file.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise PolicyError(name, None, "file", exc.strerror or "cannot be read") from None
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(name, None, "file", "larger than 1 MiB; a policy is a page of YAML")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(name, None, "file", f"not UTF-8 (byte {exc.start})") from None
    return parse_policy(text, path=name)


def policy_json_schema() -> dict[str, object]:
    """The JSON Schema of a policy file as written (YAML key names, durations and sizes)."""
    schema: dict[str, object] = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    schema.update(Policy.model_json_schema(by_alias=True, mode="validation"))
    return schema
