"""Reading an audit trail for people: filter records, format them as a table, follow a file.

Promise: reading never changes the log and never trusts it: files are opened by
``audit.reader`` (no symlink, no FIFO, regular files only). A line that does not parse is
skipped here and counted; whether the chain is intact is ``audit.verify_chain``'s job, and
``safeprobe audit show`` says so. Threat model: SECURITY.md, "Audit integrity".
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Final

from safeprobe.audit.reader import open_log, parse_record
from safeprobe.audit.record import utc_timestamp
from safeprobe.policy.units import excerpt, parse_duration

HEADER: Final = (
    f"{'time (UTC)':<26} {'pid':>7} {'sender':>13} {'probe':<16} {'sha256':<8} "
    f"{'outcome':<13} {'ms':>8}  reason"
)
_REASON_CHARS: Final = 70


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Which records to show. Times are RFC 3339 strings as the log writes them."""

    since: str | None = None
    until: str | None = None
    outcomes: frozenset[str] = frozenset()
    pid: int | None = None
    probe: str | None = None

    def matches(self, record: dict[str, object]) -> bool:
        """Pure: whether ``record`` passes every criterion that is set."""
        ts = str(record.get("ts", ""))
        if self.since is not None and ts < self.since:
            return False
        if self.until is not None and ts > self.until:
            return False
        if self.outcomes and record.get("outcome") not in self.outcomes:
            return False
        if self.pid is not None and _field(record, "host", "pid") != self.pid:
            return False
        return self.probe is None or self.probe in str(_field(record, "probe", "path") or "")


WHEN_FORMS: Final = (
    "an ISO time such as 2026-12-03T10:00 (UTC unless it names a zone: "
    "2026-12-03T10:00+02:00) or a duration ago such as 45s, 30m, 1h or 2d"
)


def parse_when(text: str, *, now: float) -> str:
    """The log's own timestamp form (RFC 3339, UTC) of an ISO time or a duration ago.

    A naive ISO time is UTC, as every ``ts`` in the log is; one with a zone is converted.
    A duration ("45s", "30m", "1h", "2d") counts back from ``now``. Raises ValueError
    naming both forms. Pure."""
    stripped = text.strip()
    if stripped[:4].isdigit() and stripped[4:5] == "-":
        try:
            when = datetime.fromisoformat(stripped)
        except ValueError:
            raise ValueError(f"{excerpt(text)} is not {WHEN_FORMS}") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return utc_timestamp(when.timestamp())
    try:
        seconds = parse_duration(stripped)
    except ValueError:
        raise ValueError(f"{excerpt(text)} is not {WHEN_FORMS}") from None
    return utc_timestamp(now - seconds)


def follow(
    path: str,
    *,
    from_start: bool = False,
    poll_s: float = 0.2,
    keep_going: Callable[[], bool] = lambda: True,
    sleep: Callable[[float], None] = time.sleep,
    on_caught_up: Callable[[int], None] | None = None,
) -> Iterator[dict[str, object]]:
    """Records appended to ``path`` from now on (``from_start``: every record, then those),
    as they arrive, like ``tail -F``.

    One open file is read from start to end and then followed, so no record written
    between reading and following is missed. When the path names another file (the log
    was rotated) the rest of the old file is read and the new one followed from its start;
    when the file was cut shorter, it is read again from its start. ``on_caught_up`` is
    called once, at the first end of file, with how many lines did not parse so far.
    """
    log = open_log(path)  # replaced on rotation, closed below
    try:
        if not from_start:
            log.seek(0, 2)
        pending, skipped, caught_up = b"", 0, False
        while keep_going():
            chunk = log.readline()
            if chunk:
                pending += chunk
                if not pending.endswith(b"\n"):
                    continue  # a record still being written
                line, pending = pending, b""
                record = parse_record(line)
                if record is not None:
                    yield record
                elif line.strip():
                    skipped += 1
                continue
            if not caught_up:
                caught_up = True
                if on_caught_up is not None:
                    on_caught_up(skipped)
            if _replaced(path, log):
                log.close()
                log = open_log(path)
                pending = b""
                continue
            if _cut(log):
                log.seek(0)
                pending = b""
                continue
            sleep(poll_s)
    finally:
        log.close()


def _replaced(path: str, log: BinaryIO) -> bool:
    """Whether ``path`` now names another file than the one open (checked at its end)."""
    try:
        now = os.stat(path)  # noqa: PTH116 - compared with fstat's fields
    except OSError:
        return False  # removed and not yet replaced: keep the one we have
    held = os.fstat(log.fileno())
    return (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino)


def _cut(log: BinaryIO) -> bool:
    return os.fstat(log.fileno()).st_size < log.tell()


def format_row(record: dict[str, object]) -> str:
    """One line of the table. Pure."""
    uid = _field(record, "trigger", "sender_uid")
    sender_pid = _field(record, "trigger", "sender_pid")
    sender = "?" if uid is None else f"{uid}/{sender_pid}"
    probe = Path(str(_field(record, "probe", "path") or "-")).name
    digest = str(_field(record, "probe", "sha256") or "-")[:8]
    reason = str(record.get("reason", ""))
    evaluated = record.get("evaluated")
    if isinstance(evaluated, dict) and evaluated:
        # Host code the policy vouched for ran: said before the cut, so it is always seen.
        runs = ", ".join(
            f"{path}" if count == 1 else f"{path} x{'?' if count is None else count}"
            for path, count in evaluated.items()
        )
        reason = f"[evaluated {runs}] {reason}"
    dumped = record.get("stack_dump")
    if isinstance(dumped, dict):
        # The host was busy in C and its stacks were dumped before this record (stack_dump.py).
        reason = f"[stack dump x{dumped.get('requests')}] {reason}"
    if len(reason) > _REASON_CHARS:
        reason = reason[: _REASON_CHARS - 1] + "…"
    duration = record.get("duration_ms", 0)
    return (
        f"{record.get('ts', '?')!s:<26} {_field(record, 'host', 'pid')!s:>7} {sender:>13} "
        f"{probe[:16]:<16} {digest:<8} {record.get('outcome', '?')!s:<13} "
        f"{duration!s:>8}  {reason}"
    )


def _field(record: dict[str, object], group: str, name: str) -> object:
    section = record.get(group)
    return section.get(name) if isinstance(section, dict) else None
