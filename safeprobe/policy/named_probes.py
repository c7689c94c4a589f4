"""Named probes: their names, and the request code a sender asks for one with.

Promise: ``request_code`` gives every probe name a fixed nonzero 31-bit number (0 for the
default probe, what a plain kill(2) carries), the same in the sender and in the host; a
policy whose names share a code is refused (policy/models.py). Pure.
"""

from __future__ import annotations

import re
import zlib
from typing import Final

from safeprobe.policy.units import excerpt

_PROBE_NAME_RE: Final = re.compile(r"[a-z][a-z0-9_-]{0,62}")
DEFAULT_PROBE: Final = "default"  # the name of `probe:`, the one a plain kill -3 runs


def request_code(name: str) -> int:
    """The number a sender puts in sigqueue's value to ask for the named probe: nonzero,
    31-bit, and 0 for the default probe (what kill(2) delivers). Pure."""
    if name == DEFAULT_PROBE:
        return 0
    return zlib.crc32(name.encode("ascii")) & 0x7FFFFFFF or 1


def check_probe_name(value: str) -> str:
    if value == DEFAULT_PROBE or not _PROBE_NAME_RE.fullmatch(value):
        raise ValueError(
            f"{excerpt(value)} is not a probe name: lower-case letters, digits, '_' and '-', "
            f"starting with a letter, at most 63, and not {DEFAULT_PROBE!r} (that is `probe`)"
        )
    return value
