"""Durations, sizes and signals as an operator writes them in a policy.

Promise: ``parse_duration``, ``parse_size`` and ``normalize_signal`` take what a human
writes (``500ms``, ``64KiB``, ``QUIT``) and return seconds, bytes or a canonical signal
name, or raise ValueError whose message quotes at most a short excerpt of the input
(``excerpt``, the one way every policy error shows what was written). Pure.
"""

from __future__ import annotations

import math
import re
import signal
from fractions import Fraction
from typing import Final

SIGNALS_ALLOWED: Final[frozenset[str]] = frozenset({"SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGHUP"})
# Left out on purpose: SIGKILL and SIGSTOP cannot be caught; SIGINT, SIGTERM, SIGALRM,
# SIGCHLD, SIGPIPE and SIGWINCH already mean something to hosts and their supervisors
# (stop, timers, children, pipes, terminals); SIGSEGV, SIGBUS, SIGFPE, SIGILL and
# SIGABRT report a crash and must keep their default action.


_NUMBER: Final = r"(?P<number>\d{1,15}(?:\.\d{1,15})?|\.\d{1,15})"
# One case rule for durations and sizes: units are read case-insensitively (500MS, 1S,
# 64kib), so no spelling works in one and fails in the other; `check` prints the
# documented ones (500ms, 64KiB).
_DURATION_RE: Final = re.compile(_NUMBER + r"\s*(?P<unit>ms|s|m|h|d)", re.IGNORECASE)
_SIZE_RE: Final = re.compile(_NUMBER + r"\s*(?P<unit>[A-Za-z]{1,3})")
_ZERO_RE: Final = re.compile(r"0+(?:\.0+)?")
_SECONDS_PER_UNIT: Final = {
    "ms": Fraction(1, 1000),
    "s": Fraction(1),
    "m": Fraction(60),
    "h": Fraction(3600),
    "d": Fraction(86400),
}
_BYTES_PER_UNIT: Final = {
    "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3,
}  # fmt: skip
# The longest piece of what an operator wrote that an error message quotes.
SHOWN_CHARS: Final = 32


def excerpt(value: object) -> str:
    """A short repr of something the user wrote, cut so an error never echoes much."""
    if isinstance(value, str) and len(value) > SHOWN_CHARS:
        return f"{value[:SHOWN_CHARS]!r}…"
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS + 2 else f"a {type(value).__name__} value"


def parse_duration(text: str | int | float) -> float:
    """Seconds from "500ms", "2s", "1.5s", "1m", "1h", "2d", "0" or a number of seconds.

    Units are read case-insensitively, as sizes' are. A string needs a unit unless it is
    zero, since a bare "500" could mean either; a number (as a dumped policy holds) is
    seconds. Raises ValueError.
    """
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError("expected a duration such as 500ms, 2s or 1m")  # noqa: TRY004
    if not isinstance(text, str):
        try:
            seconds = float(text)
        except OverflowError:
            raise ValueError("duration is too large") from None
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"{excerpt(text)} is not a duration: must be finite and not negative")
        return seconds
    stripped = text.strip()
    if stripped.startswith("-"):
        raise ValueError(f"{excerpt(text)} is negative; durations must not be")
    if _ZERO_RE.fullmatch(stripped):
        return 0.0
    match = _DURATION_RE.fullmatch(stripped)
    if match is None:
        raise ValueError(f"{excerpt(text)} is not a duration such as 500ms, 2s, 1.5s, 1m, 1h or 2d")
    return float(Fraction(match["number"]) * _SECONDS_PER_UNIT[match["unit"].lower()])


def parse_size(text: str | int) -> int:
    """Bytes from "64KiB", "1MiB", "1GiB", "100B", "10KB" (10 000), "10MB" or an int.

    KB/MB/GB are powers of 1000 and KiB/MiB/GiB powers of 1024; units are read
    case-insensitively. A string needs a unit unless it is zero. Raises ValueError.
    """
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise ValueError("expected a size such as 64KiB, 1MiB or 100B (whole bytes)")  # noqa: TRY004
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"{excerpt(text)} is negative; sizes must not be")
        return text
    stripped = text.strip()
    if stripped.startswith("-"):
        raise ValueError(f"{excerpt(text)} is negative; sizes must not be")
    if _ZERO_RE.fullmatch(stripped):
        return 0
    match = _SIZE_RE.fullmatch(stripped)
    per_unit = _BYTES_PER_UNIT.get(match["unit"].lower()) if match else None
    if match is None or per_unit is None:
        raise ValueError(f"{excerpt(text)} is not a size such as 64KiB, 1MiB, 10KB or 100B")
    size = Fraction(match["number"]) * per_unit
    if size.denominator != 1:
        raise ValueError(f"{excerpt(text)} is not a whole number of bytes")
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
            raise ValueError(f"{excerpt(value)} is not a signal number here") from None
    elif not name.startswith("SIG"):
        name = "SIG" + name
    if name not in SIGNALS_ALLOWED:
        allowed = ", ".join(sorted(SIGNALS_ALLOWED))
        raise ValueError(f"{excerpt(value)} is not allowed; use one of {allowed}")
    return name
