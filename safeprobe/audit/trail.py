"""Verifying logs on disk: one file's chain, and a trail of logs rotated away before it.

Promise: ``verify_chain`` reads a log through the reader (no symlink, no FIFO, regular
files only) and recomputes its chain with ``chain.verify_lines``, raising
``AuditChainError`` at the first bad line; a file that cannot be read is "unreadable" at
line 0, so a mistyped path never verifies as an empty log. ``verify_trail`` does that for
a log and its older ones and checks that every ``rotated_from`` names a record an older
log holds, so records cut from a rotated log's end are found. Threat model: SECURITY.md,
"Audit integrity".
"""

from __future__ import annotations

import functools
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass

from safeprobe.audit.chain import (
    MAX_RECORD_BYTES,
    ChainReport,
    RotationRef,
    check_key,
    verify_lines,
)
from safeprobe.audit.reader import NotARegularFile, describe_os_error, open_log
from safeprobe.errors import AuditChainError


def verify_chain(
    path: str,
    *,
    key: bytes | None = None,
    expect_head: str | None = None,
    want: frozenset[int] = frozenset(),
) -> ChainReport:
    """Recompute a file's chain, streaming; raise AuditChainError at the first bad line.

    A file that cannot be read raises AuditChainError of kind "unreadable" at line 0, so a
    mistyped path never verifies as an empty log.
    """
    check_key(key)
    try:
        log = open_log(path)
    except NotARegularFile as exc:
        raise AuditChainError(path, 0, "unreadable", exc.problem) from None
    except OSError as exc:
        raise AuditChainError(path, 0, "unreadable", describe_os_error(exc, "opening")) from None
    try:
        with log:
            # One byte over the cap, so that verify_lines sees an over-long line as one.
            lines = iter(functools.partial(log.readline, MAX_RECORD_BYTES + 1), b"")
            return verify_lines(lines, path=path, key=key, expect_head=expect_head, want=want)
    except OSError as exc:
        raise AuditChainError(path, 0, "unreadable", describe_os_error(exc, "reading")) from None


@dataclass(frozen=True, slots=True)
class RotationLink:
    """A ``rotated_from`` resolved: the record at ``path``:``line`` continues the chain
    whose record ``seq`` is in ``found_in`` (None: the oldest log's predecessor, accepted
    as gone with ``start_here``)."""

    path: str
    line: int
    seq: int
    head: str
    found_in: str | None
    at_end: bool  # the record named is the older log's last one


@dataclass(frozen=True, slots=True)
class TrailReport:
    """What verify_trail found in logs that all verify and link up: one report per file,
    newest first, and how each rotation was resolved."""

    files: tuple[ChainReport, ...]
    links: tuple[RotationLink, ...]

    @property
    def unnamed(self) -> tuple[str, ...]:
        """Older logs that no rotated_from in a newer log names (a writer that started
        after the rotation records none): linked by nothing but the order given."""
        named = {link.found_in for link in self.links}
        return tuple(report.path for report in self.files[1:] if report.path not in named)


def verify_trail(
    paths: Sequence[str],
    *,
    key: bytes | None = None,
    expect_head: str | None = None,
    start_here: bool = False,
) -> TrailReport:
    """Verify a log and the logs rotated away before it (``paths`` newest first), and that
    every ``rotated_from`` names a record an older log holds.

    Raises AuditChainError: for a bad line in any file (as verify_chain); "truncated" on
    the older log when it ends before the record a newer one names (records were cut
    from its end; a torn line there is a released record cut short, not a crash
    mid-write); "broken-link" when the older log holds another record at that seq; and
    "missing-predecessor" when no older log was given, unless ``start_here`` says the
    oldest log's predecessor is gone on purpose (retention). ``expect_head`` applies to
    the newest log.
    """
    if not paths:
        raise ValueError("verify_trail needs at least one log")
    files = [
        verify_chain(path, key=key, expect_head=expect_head if n == 0 else None)
        for n, path in enumerate(paths)
    ]
    # A record named in the middle of an older log (other writers went on appending to it
    # before they saw the rotation) needs that log's mac at that seq: one more pass there.
    wanted: dict[int, set[int]] = {}
    for n, report in enumerate(files):
        for ref in report.rotations:
            for m in range(n + 1, len(files)):
                older = files[m]
                if older.first_seq is not None and older.first_seq <= ref.seq < older.last_seq:
                    wanted.setdefault(m, set()).add(ref.seq)
    for m, seqs in wanted.items():
        files[m] = verify_chain(files[m].path, key=key, want=frozenset(seqs))
    links = [
        _resolve(files, n, ref, start_here=start_here)
        for n, report in enumerate(files)
        for ref in report.rotations
    ]
    return TrailReport(tuple(files), tuple(links))


def _resolve(
    files: Sequence[ChainReport], n: int, ref: RotationRef, *, start_here: bool
) -> RotationLink:
    path = files[n].path
    for older in files[n + 1 :]:
        if older.last_seq == ref.seq and hmac.compare_digest(older.head, ref.head):
            return RotationLink(path, ref.line, ref.seq, ref.head, older.path, at_end=True)
        held = older.macs.get(ref.seq)
        if held is not None and hmac.compare_digest(held, ref.head):
            return RotationLink(path, ref.line, ref.seq, ref.head, older.path, at_end=False)
    where = f"{path}:{ref.line}"
    if n + 1 == len(files):
        if start_here:
            return RotationLink(path, ref.line, ref.seq, ref.head, None, at_end=False)
        raise AuditChainError(
            path,
            ref.line,
            "missing-predecessor",
            f"field 'rotated_from' says this log continues one whose head was seq {ref.seq}, "
            "and no older log was given or found: pass it after this one, or --start-here "
            "if retention removed it",
        )
    older = files[n + 1]
    if older.last_seq < ref.seq:
        if older.torn_tail and older.last_seq + 1 == ref.seq:
            problem = (
                f"{where} names seq {ref.seq} as this log's head, and that record is cut "
                "short here: a released record was cut, not a crash mid-write"
            )
        else:
            problem = (
                f"the log ends at seq {older.last_seq}, and {where} says it reached seq "
                f"{ref.seq}: records at its end were removed"
            )
        raise AuditChainError(older.path, older.last_line + 1, "truncated", problem)
    raise AuditChainError(
        path,
        ref.line,
        "broken-link",
        f"field 'rotated_from' names seq {ref.seq} with a head that {older.path} does not "
        "hold: a different or rewritten log",
    )


def rotated_siblings(path: str) -> list[str]:
    """The logs logrotate's default scheme keeps beside ``path``: path.1, path.2, …, newest
    first, up to the first number missing. Compressed ones cannot be read and end the list."""
    found: list[str] = []
    number = 1
    while os.path.isfile(f"{path}.{number}"):  # noqa: PTH113 - a str API for str paths
        found.append(f"{path}.{number}")
        number += 1
    return found
