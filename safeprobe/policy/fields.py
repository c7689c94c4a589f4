"""The checks a policy's values pass, and the checked types the models are built from.

Promise: each ``check_*`` takes one value as pydantic hands it over and returns it (or its
canonical form) or raises ValueError saying what is wrong without echoing more than a short
excerpt of it; deny by default, so a name, path or pattern that is not plainly what a
policy means is refused. Pure. Threat model: SECURITY.md, "Allowlist".
"""

from __future__ import annotations

import keyword
import re
from typing import Annotated, Final

from pydantic import AfterValidator, BeforeValidator, Strict, WithJsonSchema

from safeprobe.attempt import FACT_NAMES, PROBE_NAMES
from safeprobe.policy.defaults import (
    MAX_EVALUATE_ENTRIES,
    MAX_NAME_CHARS,
    MAX_OUTPUT_BYTES_CAP,
    MAX_PATH_CHARS,
    MAX_PATTERN_CHARS,
    MAX_PROBE_BYTES_CAP,
    MAX_TIMEOUT_S,
)
from safeprobe.policy.syslog_address import parse_syslog_address
from safeprobe.policy.units import excerpt, normalize_signal, parse_duration, parse_size

_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OWNER_RE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?")
_SHA256_RE: Final = re.compile(r"[0-9a-fA-F]{64}")


def _check_segment(segment: str, what: str) -> None:
    """One dotted segment of a target or allow path: a public Python name."""
    if not segment:
        raise ValueError(f"empty {what} (two dots in a row, or a dot at an end)")
    if segment.startswith("_"):
        raise ValueError(
            f"{what} {excerpt(segment)} starts with '_': private names are never exposed"
        )
    if not _NAME_RE.fullmatch(segment):
        raise ValueError(f"{what} {excerpt(segment)} is not a Python name")
    if keyword.iskeyword(segment):
        raise ValueError(f"{what} {excerpt(segment)} is a Python keyword")


def check_target(value: str) -> str:
    module, colon, attributes = value.partition(":")
    if len(value) > MAX_PATTERN_CHARS or not colon or not attributes or ":" in attributes:
        raise ValueError("expected 'module:attribute.path', like '__main__:my_object'")
    if module != "__main__":
        for segment in module.split("."):
            _check_segment(segment, "module name")
    for segment in attributes.split("."):
        _check_segment(segment, "attribute")
    return value


def check_allow(value: str) -> str:
    if len(value) > MAX_PATTERN_CHARS:
        raise ValueError(f"longer than {MAX_PATTERN_CHARS} characters")
    for segment in value.split("."):
        if segment not in ("*", "**"):
            _check_segment(segment, "attribute")
    return value


def check_evaluate(value: str) -> str:
    """One ``evaluate`` entry: an exact attribute path ending in a property name or a
    zero-argument call, ``stats.label`` or ``cache.size()``. No ``*``/``**``: the policy
    author vouches for specific code, so every entry names it exactly."""
    if len(value) > MAX_PATTERN_CHARS:
        raise ValueError(f"longer than {MAX_PATTERN_CHARS} characters")
    path = value.removesuffix("()")
    if "(" in path or ")" in path:
        raise ValueError(
            f"{excerpt(value)}: only a zero-argument call is allowed, written 'name()' at the end"
        )
    for segment in path.split("."):
        if segment in ("*", "**"):
            raise ValueError(f"{excerpt(value)}: evaluate names exact paths, without '*' or '**'")
        _check_segment(segment, "attribute")
    return value


def check_evaluate_list(value: tuple[str, ...]) -> tuple[str, ...]:
    if len(value) > MAX_EVALUATE_ENTRIES:
        raise ValueError(f"more than {MAX_EVALUATE_ENTRIES} entries")
    seen: set[str] = set()
    for entry in value:
        path = entry.removesuffix("()")
        if path in seen:
            # "size" and "size()" cannot both be what the author read: one is a mistake.
            raise ValueError(f"{excerpt(path)} is named more than once")
        seen.add(path)
    return value


def check_expose_name(value: str) -> str:
    _check_segment(value, "exposure name")
    if value in PROBE_NAMES:
        raise ValueError(f"{excerpt(value)} would shadow a name the probe already has")
    if value in FACT_NAMES:
        # Refused whether or not the fact is enabled, so enabling it later cannot change
        # what a probe's name means.
        raise ValueError(f"{excerpt(value)} is the name of a built-in fact; choose another name")
    return value


def check_label(value: str) -> str:
    if len(value) > MAX_NAME_CHARS or not value.isprintable():
        raise ValueError(f"must be printable text of at most {MAX_NAME_CHARS} characters")
    return value


def check_pattern(value: str) -> str:
    if not value or len(value) > MAX_PATTERN_CHARS or not value.isprintable():
        raise ValueError(f"must be a printable pattern of 1 to {MAX_PATTERN_CHARS} characters")
    return value


def check_path(value: str) -> str:
    if not value or len(value) > MAX_PATH_CHARS or "\0" in value:
        raise ValueError(f"must be a path of 1 to {MAX_PATH_CHARS} characters, without NUL")
    return value


def check_owner(value: str) -> str:
    if not _OWNER_RE.fullmatch(value):
        raise ValueError(f"{excerpt(value)} is not a user name, uid or 'current'")
    return value


def check_sha256(value: str) -> str:
    if not _SHA256_RE.fullmatch(value):
        raise ValueError("expected 64 hexadecimal digits")
    return value.lower()


def check_timeout(value: float) -> float:
    if not 0 < value <= MAX_TIMEOUT_S:
        raise ValueError(f"must be more than 0s and at most {MAX_TIMEOUT_S:g}s")
    return value


def check_output_bytes(value: int) -> int:
    if not 0 < value <= MAX_OUTPUT_BYTES_CAP:
        raise ValueError("must be more than 0 bytes and at most 16MiB")
    return value


def check_probe_bytes(value: int) -> int:
    if not 0 < value <= MAX_PROBE_BYTES_CAP:
        raise ValueError("must be more than 0 bytes and at most 16MiB")
    return value


def check_signal(value: object) -> str:
    if isinstance(value, str | int):
        return normalize_signal(value)
    raise ValueError("expected a signal name such as SIGQUIT, or its number")


def check_duration(value: object) -> float:
    if isinstance(value, str | int | float):
        return parse_duration(value)
    raise ValueError("expected a duration such as 500ms, 2s or 1m")


def check_size(value: object) -> int:
    if isinstance(value, str | int):
        return parse_size(value)
    raise ValueError("expected a size such as 64KiB, 1MiB or 100B (whole bytes)")


def not_empty(values: tuple[object, ...]) -> tuple[object, ...]:
    if not values:
        raise ValueError("must list at least one entry")
    return values


def literal_text(value: object) -> object:
    # pydantic's Literal accepts True for 1 and the like; a policy says what it means.
    # Validators raise ValueError, never TypeError: pydantic turns only the former into
    # a validation error with a location, which is what the operator needs.
    if not isinstance(value, str):
        raise ValueError("expected a string")  # noqa: TRY004
    return value


def version_one(value: object) -> object:
    if type(value) is not int or value != 1:
        raise ValueError("must be 1, the only policy version so far")
    return value


def check_syslog_address(value: str) -> str:
    """A socket path (/dev/log), udp://host:port or tcp://host:port (syslog_address.py)."""
    if parse_syslog_address(value).socket_path is not None:
        return check_path(value)
    return value


# The checked types the models are built from: strict, so a policy says what it means.
Int = Annotated[int, Strict()]
Text = Annotated[str, Strict()]
Label = Annotated[str, Strict(), AfterValidator(check_label)]
PathText = Annotated[str, Strict(), AfterValidator(check_path)]
_DURATION_SCHEMA: Final = {
    "anyOf": [
        {"type": "string", "examples": ["500ms", "2s", "1m"]},
        {"type": "number", "minimum": 0},
    ],
    "description": (
        "a duration: a string with a unit (ms, s, m, h, d; any case), or seconds as a number"
    ),
}
_SIZE_SCHEMA: Final = {
    "anyOf": [
        {"type": "string", "examples": ["64KiB", "1MiB", "10KB"]},
        {"type": "integer", "minimum": 0},
    ],
    "description": (
        "a size: a string with a unit (B, KB, MB, GB, KiB, MiB, GiB; any case), or bytes"
    ),
}
Duration = Annotated[float, BeforeValidator(check_duration), WithJsonSchema(_DURATION_SCHEMA)]
Size = Annotated[int, BeforeValidator(check_size), WithJsonSchema(_SIZE_SCHEMA)]
