"""Shipping an attempt's one audit record: appended to the policy's file, copied to syslog.

Promise: a record is appended only through the policy's ``AuditSink`` (locked, chained,
fail-closed); if the file was rotated away since this process's last record (renamed,
replaced, truncated), the record names the head it last saw (``rotated_from``), so a chain
is never continued or restarted silently; what the host's stuck-host stacks file gained since
its last record (a C-level dump requested while it could not run Python) is noted in the
next record (``stack_dump``), and counted as noted only once that record is written; and
after an interrupt, ``landed`` tells whether
the record being appended was written anyway, so an attempt never gets two records.
Threat model: SECURITY.md, "Audit integrity".
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from safeprobe.audit.sink import AuditSink, load_hmac_key
from safeprobe.audit.syslog import SyslogCopy
from safeprobe.errors import AuditError, SafeprobeError
from safeprobe.host.stack_dump import StackDump, mark_noted, pending_note
from safeprobe.policy.models import Policy


class RecordShipper:
    """Appends the records of one runner's attempts, remembering how it left each file."""

    def __init__(self, write_stderr: Callable[[str], None]) -> None:
        self._audit_seen: dict[str, _SeenLog] = {}
        self.syslog = SyslogCopy(write_stderr)
        # Whether the running attempt has its record yet, and the record being appended: an
        # interrupt that ends the attempt records it only if neither landed (Runner.attempt).
        self.recorded = False
        self._appending: dict[str, object] | None = None
        # The installation's stuck-host dump (install() sets it), noted in our records.
        self.stack_dump: StackDump | None = None

    def start_attempt(self) -> None:
        """A new attempt begins: it has no record yet."""
        self.recorded, self._appending = False, None

    def append(
        self, policy: Policy, sink: AuditSink, fields: dict[str, object]
    ) -> dict[str, object]:
        """Append one record; if the log was rotated away since our last record (renamed,
        replaced, truncated), the record names the head it last saw, so a chain is never
        continued or restarted silently."""
        path = policy.audit.path
        seen = self._audit_seen.get(path)
        if seen is not None and _rotated(path, seen):
            fields = {**fields, "rotated_from": {"seq": seen.seq, "head": seen.head}}
        note = pending_note(self.stack_dump) if self.stack_dump is not None else None
        if note is not None:
            fields = {**fields, "stack_dump": note.fields}
        self._appending = fields
        record = sink.append(fields)
        self.recorded = True
        if note is not None and self.stack_dump is not None:
            mark_noted(self.stack_dump, note)
        try:
            st = Path(path).lstat()
        except OSError:
            return record
        seq, head = record.get("seq"), record.get("mac")
        if isinstance(seq, int) and isinstance(head, str):
            self._audit_seen[path] = _SeenLog(st.st_dev, st.st_ino, st.st_size, seq, head)
        return record

    def landed(self, policy: Policy | None) -> bool:
        """Whether the record being appended when an interrupt came was written anyway (the
        interrupt landed after the write, before the append returned)."""
        fields = self._appending
        if fields is None or policy is None:
            return False
        try:
            last = sink_for(policy).last_record()
        except (AuditError, SafeprobeError):
            return False
        host = last.get("host") if last is not None else None
        return (
            last is not None
            and last.get("ts") == fields.get("ts")
            and isinstance(host, dict)
            and host.get("pid") == os.getpid()
        )


def sink_for(policy: Policy) -> AuditSink:
    """The policy's audit file, with its HMAC key when it names one."""
    return AuditSink(policy.audit.path, key=_hmac_key(policy), fsync=policy.audit.fsync)


def _hmac_key(policy: Policy) -> bytes | None:
    key_file = policy.audit.hmac_key_file
    return load_hmac_key(key_file) if key_file else None


@dataclass(frozen=True, slots=True)
class _SeenLog:
    """The audit file as this runner last left it."""

    dev: int
    ino: int
    size: int
    seq: int
    head: str


def _rotated(path: str, seen: _SeenLog) -> bool:
    """Whether the file at ``path`` is no longer the one we appended to, or was cut: other
    processes sharing it only ever make it longer."""
    try:
        st = Path(path).lstat()
    except OSError:
        return True
    return (st.st_dev, st.st_ino) != (seen.dev, seen.ino) or st.st_size < seen.size
