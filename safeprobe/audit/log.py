"""The audit log: one hash-chained JSON record per line, appended by a file sink.

Owns the record format and its field vocabulary, the chain, the sink that appends to a
file, and the verifier that recomputes the chain.

Promise: ``AuditSink.append`` writes a whole record or raises ``AuditError``, so the
runner can fail closed. It writes only to a regular file with one link that group and
others cannot write, never through a symlink at the path's last component, and creates
it 0600. Processes sharing one file append under an exclusive lock, one write per record,
so the chain stays linear. ``verify_chain`` recomputes the chain and raises
``AuditChainError`` naming the first bad line and what is wrong with it (it never returns
a failure to be forgotten), and tells a write torn by a crash from an edit. Each line
must be byte for byte what the sink writes, so equal JSON in other bytes (spacing,
escapes, a repeated key that another reader would take instead) fails too. Error texts
name lines and fields, never the values in a record.

What the chain does not promise: without a key, whoever can write the file can rewrite
every record and recompute every link, so the plain chain catches accidents and careless
edits, not a careful forger. With a key (HMAC-SHA256), nobody without the key can edit,
insert or reorder records undetected. In both cases dropping the newest records leaves a
valid, shorter chain; only a head kept elsewhere (``expect_head``), or a newer log's
``rotated_from`` naming a record the older log no longer holds (``verify_trail``), catches
that. Threat
model: SECURITY.md, "Audit integrity" and "Fail-closed".

Record fields. The runner fills every field but seq, prev and mac, which the sink adds;
a record may carry a subset (a refusal has no probe output), and the order below is the
order on disk, with seq first and prev, mac last:

    seq          int, 1 for a file's first record, then one more per record (sink)
    ts           str, UTC wall-clock time, RFC 3339 with microseconds ("...22.123456Z")
    host         {pid, hostname, argv}: the process that took the attempt, argv redacted
    trigger      {signal, sender_pid, sender_uid, received, request, requests}: who asked,
                 how it arrived, which named probe (request code, 0 for the default) and
                 how many coalesced requests; sender_pid and sender_uid are null when the
                 kernel did not say
    policy       {path, sha256, name}: the policy the attempt ran under
    probe        {name, path, sha256, bytes, owner, mode}: the probe asked for (name null
                 when the request named none) and its file as it was checked
    outcome      str: ok, error, denied, compile_error, timeout, limit, rejected, busy,
                 rate_limited or unauthorized
    reason       str: the rule that decided, named, never the value it saw
    duration_ms  float: the attempt, from its start to its record
    queue_ms     float or null: from the signal reaching safeprobe to the attempt's start
                 (null when not signalled); over limits.timeout, the probe is not run
    steps        int: budget ticks the probe used
    output       {bytes, digest, truncated[, text[, text_cut]]}: bytes and digest are of the
                 whole output (digest is output_digest()); text only when the policy asks
                 for output in the log, and text_cut: true when the text had to be cut for
                 the record to fit MAX_RECORD_BYTES (text is then a prefix of the output)
    evaluated    {path: runs}: only when host code named under the policy's evaluate ran:
                 each such path as the policy names it, prefixed with the exposure
                 ("ledger.size()", "ledger.stats.ratio"), and how many times it ran (null
                 when a fork child was killed before it could say; at most 64 paths, the
                 runs of any more counted under "(more)")
    rotated_from {seq, head}: only on the first record a process writes after the log was
                 rotated away under it (renamed, replaced, cut): the seq and mac of the
                 last record it wrote there; verify_trail finds that record in the older log
    prev         str: the previous record's mac, GENESIS for a file's first record (sink)
    mac          str: chain_link(canonical_bytes(record), key), over every field but mac
                 itself, prev included, which is what chains the records (sink)

Torn writes. A record and its newline go out in one write, but a crash, a full disk or a
file-size limit can still leave a prefix of one: a line that does not parse. ``append``
treats an unterminated last line that does not parse as torn: it starts the new record
on a line of its own (writing "\\n" first) and chains it to the last line that does parse.
``verify_chain`` mirrors that: a line that does not parse is a torn write, not an error,
when the next record chains straight past it (its prev is the head and its seq the next
number) or when only torn lines follow it to the end of the file; it is listed in
``ChainReport.torn_lines``, and ``torn_tail`` says the file ends in one. Any other line
that does not parse is "unparseable". So a crash loses at most the record being written
and never makes the file fail to verify, while a line with a record in it cannot be
replaced or removed unnoticed. The price: a
line of non-JSON junk inserted between records passes verification. It hides nothing,
and the report lists it. An unterminated last line that does parse is a record whose
newline was lost; both sides treat it as a record.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import hashlib
import hmac
import json
import math
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Final

from safeprobe.errors import AuditChainError, AuditError
from safeprobe.files import NO_FOLLOW_FLAGS, READ_NO_FOLLOW

GENESIS: Final = "0" * 64

RECORD_FIELDS: Final = (
    "seq",
    "ts",
    "host",
    "trigger",
    "policy",
    "probe",
    "outcome",
    "reason",
    "duration_ms",
    "queue_ms",
    "steps",
    "output",
    "evaluated",
    "prev",
    "mac",
)
RECORD_SUBFIELDS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "host": ("pid", "hostname", "argv"),
        "trigger": ("signal", "sender_pid", "sender_uid", "received"),
        "policy": ("path", "sha256", "name"),
        "probe": ("path", "sha256", "bytes", "owner", "mode"),
        "output": ("bytes", "digest", "truncated", "text", "text_cut"),
    }
)
# The sink owns these: a caller that could set them could fork or rewind the chain.
SINK_FIELDS: Final = frozenset({"seq", "prev", "mac"})

# The kinds an AuditChainError carries (see verify_lines); "unreadable", at line 0, is a
# file that cannot be opened or read, so that a wrong path never passes as an empty log.
CHAIN_ERROR_KINDS: Final = frozenset(
    {
        "unparseable",
        "edited",
        "bad-mac",
        "broken-link",
        "gap",
        "reordered",
        "truncated",
        "missing-predecessor",
        "unreadable",
    }
)

# A record is a few hundred bytes plus the probe's output, which the policy caps (64 KiB by
# default). 16 MiB is far beyond any honest record; it bounds one line in memory for the
# verifier and how far back the sink looks for the last record.
MAX_RECORD_BYTES: Final = 16 * 1024 * 1024
# preflight refuses a filesystem with less free space than this: a record with a full
# default output is under 100 KiB, and a disk this full is about to refuse writes anyway.
MIN_FREE_BYTES: Final = 1024 * 1024
# Key files hold a secret of a few dozen bytes; a big one is the wrong file.
MAX_KEY_BYTES: Final = 4096

# O_RDWR, not O_WRONLY: append reads the last record to chain to it, and preflight must
# prove what append needs. The no-follow flags (no symlink, no FIFO hang, no terminal) are
# files.py's, shared with every file safeprobe opens at a path someone else may control.
_SINK_OPEN_FLAGS: Final = os.O_RDWR | os.O_APPEND | os.O_CREAT | NO_FOLLOW_FLAGS
_READ_OPEN_FLAGS: Final = READ_NO_FOLLOW
_SINK_FILE_MODE: Final = 0o600
_WRITABLE_BY_OTHERS: Final = stat.S_IWGRP | stat.S_IWOTH
_OTHERS_ACCESS: Final = stat.S_IRWXG | stat.S_IRWXO
_TAIL_CHUNK_BYTES: Final = 64 * 1024
# The first look at the tail: a record without output is under 1 KiB, so this usually
# holds the whole last line, and splitting 64 KiB twice per attempt (preflight, append)
# was a tenth of an attempt's cost.
_FIRST_TAIL_BYTES: Final = 4096
# The last record may sit behind a torn one; both are under the record cap.
_MAX_TAIL_SCAN_BYTES: Final = 2 * MAX_RECORD_BYTES + _TAIL_CHUNK_BYTES
_HEX_DIGITS: Final = frozenset("0123456789abcdef")
# Domain separation: output digests and record macs share the key, and a probe chooses
# its output. Without the label, a probe printing the canonical body of a record it wants
# to forge would get that record's mac published in the log. Record bodies start with "{".
_OUTPUT_DIGEST_LABEL: Final = b"safeprobe-output\x00"

_ERRNO_PROBLEMS: Final[Mapping[int, str]] = MappingProxyType(
    {
        errno.ELOOP: "is a symlink; safeprobe never opens an audit or key file through one",
        errno.EISDIR: "is a directory, not a regular file",
        errno.ENOTDIR: "a component of the path is not a directory",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.ENOSPC: "no space left on device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EROFS: "read-only file system",
        errno.EFBIG: "file too large",
        errno.EIO: "input/output error",
    }
)


# -- the chain: pure functions ------------------------------------------------------------


def canonical_bytes(record: Mapping[str, object]) -> bytes:
    """The bytes a record's mac covers: every field but mac, keys sorted, compact UTF-8."""
    body = {name: value for name, value in record.items() if name != "mac"}
    text = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def chain_link(body: bytes, key: bytes | None) -> str:
    """Hex SHA-256 of body, or hex HMAC-SHA256 of body under key. Pure."""
    if key is None:
        return hashlib.sha256(body).hexdigest()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def output_digest(data: bytes, key: bytes | None) -> str:
    """Digest of probe output: "sha256:<hex>", or with a key "hmac-sha256:<hex>".

    The keyed digest is HMAC-SHA256(key, b"safeprobe-output\\0" + data), so it can never be
    the mac of a record (see _OUTPUT_DIGEST_LABEL). Pure.
    """
    if key is None:
        return "sha256:" + hashlib.sha256(data).hexdigest()
    return "hmac-sha256:" + hmac.new(key, _OUTPUT_DIGEST_LABEL + data, hashlib.sha256).hexdigest()


def utc_timestamp(now: float) -> str:
    """RFC 3339 UTC with microseconds and "Z", e.g. "2026-11-27T02:53:22.123456Z". Pure."""
    moment = datetime.fromtimestamp(now, tz=UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds") + "Z"


def next_record(
    fields: Mapping[str, object], *, last: tuple[int, str] | None, key: bytes | None
) -> dict[str, object]:
    """The record that follows last (its seq and mac; None for an empty file). Pure.

    Raises ValueError when fields names seq, prev or mac, and TypeError or ValueError when
    a value has no JSON form (append turns the latter into AuditError).
    """
    _check_fields(fields)
    seq, prev = (1, GENESIS) if last is None else (last[0] + 1, last[1])
    record: dict[str, object] = {"seq": seq, **fields, "prev": prev}
    record["mac"] = chain_link(canonical_bytes(record), key)
    return record


# Room for the "text_cut" field the cut adds, and for an escape or character at the cut.
_CUT_SLACK_BYTES: Final = 64
# A JSON escape is at most 6 characters ("\u0001") and a character at most 4 UTF-8 bytes.
_LONGEST_ESCAPE: Final = 6


def cut_output_text(fields: Mapping[str, object], excess_bytes: int) -> Mapping[str, object]:
    """``fields`` with ``output.text`` shortened so the record's line shrinks by at least
    ``excess_bytes``, and ``output.text_cut: true``; the output's byte count and digest
    stay those of the whole output. Fields without output text come back as they are. Pure.
    """
    output = fields.get("output")
    if not isinstance(output, Mapping) or not isinstance(output.get("text"), str):
        return fields
    text: str = output["text"]
    # The text's JSON body as record_line writes it (same flags), cut by bytes, then backed
    # off to the last whole escape or character, so it parses and is a prefix of the text.
    body = json.dumps(text, ensure_ascii=False, allow_nan=False)[1:-1].encode("utf-8")
    keep = max(len(body) - excess_bytes - _CUT_SLACK_BYTES, 0)
    shown = ""
    for back in range(_LONGEST_ESCAPE + 1):
        prefix = body[: max(keep - back, 0)].decode("utf-8", "ignore")
        try:
            candidate = json.loads(f'"{prefix}"')
        except ValueError:
            continue
        if isinstance(candidate, str) and text.startswith(candidate):
            shown = candidate
            break
    return {**fields, "output": {**output, "text": shown, "text_cut": True}}


def record_line(record: Mapping[str, object]) -> bytes:
    """The record as the sink writes it: compact JSON in field order, UTF-8, newline. Pure."""
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8") + b"\n"


def parse_line(body: bytes) -> dict[str, object] | None:
    """The JSON object on a line (newline removed), or None when there is none. Pure.

    Strict: UTF-8 only, no NaN or infinities, no numbers out of float range.
    """
    try:
        value: object = json.loads(
            body.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite_float
        )
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        return None
    return value if isinstance(value, dict) else None


class _LineError(Exception):
    """One line fails a check; verify_lines adds the path and line number."""

    def __init__(self, kind: str, problem: str) -> None:
        self.kind, self.problem = kind, problem
        super().__init__(f"{kind}: {problem}")


def _chain_fields(record: Mapping[str, object], *, keyed: bool) -> tuple[int, str, str]:
    seq, prev, mac = record.get("seq"), record.get("prev"), record.get("mac")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise _LineError("edited", "field 'seq' is missing or not a positive integer")
    if not isinstance(prev, str) or not _is_hex_digest(prev):
        raise _LineError("edited", "field 'prev' is missing or not 64 lowercase hex digits")
    if not isinstance(mac, str) or not _is_hex_digest(mac):
        kind = "bad-mac" if keyed else "edited"
        raise _LineError(kind, "field 'mac' is missing or not 64 lowercase hex digits")
    return seq, prev, mac


def _check_line(
    body: bytes, record: Mapping[str, object], *, head: str, last_seq: int, key: bytes | None
) -> tuple[int, str]:
    """Check one parsed record against the chain so far; return its seq and mac. Pure.

    The order makes each tampering show on the line where it happened: content first
    (edited, bad-mac), then seq going backwards (a copied or moved-back line), then the
    link (a deleted line shows on the line after it, an inserted one on itself, a swapped
    pair on its first line), and a seq gap last, which only a rewritten chain can have.
    """
    seq, prev, mac = _chain_fields(record, keyed=key is not None)
    try:
        expected_mac = chain_link(canonical_bytes(record), key)
        written = record_line(record)
    except (ValueError, RecursionError):
        # JSON can escape a lone surrogate ("\ud800"), which has no UTF-8 form; the sink
        # never writes one.
        raise _LineError("edited", "a text field holds an escape that is not Unicode") from None
    if not hmac.compare_digest(expected_mac, mac):
        if key is None:
            raise _LineError(
                "edited",
                "field 'mac' does not match the record's content (edited, or a keyed file "
                "verified without its key)",
            )
        raise _LineError(
            "bad-mac",
            "field 'mac' does not verify with the key (edited, the wrong key, or a file "
            "written without a key)",
        )
    if written != body + b"\n":
        raise _LineError(
            "edited",
            "the line is not byte for byte what the sink writes (spacing, escapes, number "
            "forms or repeated keys were changed)",
        )
    if seq <= last_seq:
        raise _LineError("reordered", "field 'seq' goes backwards: the line was moved or copied")
    if not hmac.compare_digest(prev, head):
        raise _LineError(
            "broken-link",
            "field 'prev' is not the previous record's mac: lines were inserted, deleted "
            "or reordered",
        )
    if seq != last_seq + 1:
        raise _LineError(
            "gap", "field 'seq' skips numbers although field 'prev' links: the chain was rewritten"
        )
    return seq, mac


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What verify_chain found in a file that verifies."""

    path: str
    records: int  # complete, verified records
    head: str  # mac of the last verified record, or GENESIS for a file without records
    torn_tail: bool  # the file ends in a torn write (a crash mid-write), which is not tampering
    torn_lines: tuple[int, ...] = ()  # every line accepted as a torn write, tail included
    # Where the chain starts and ends, for verify_trail; not compared, so two reports of
    # the same verdict stay equal whatever extra detail one of them carries.
    first_seq: int | None = field(default=None, compare=False)  # 1 unless the log was cut
    last_seq: int = field(default=0, compare=False)  # of the last verified record, 0: none
    last_line: int = field(default=0, compare=False)  # line of the last verified record
    # Records that say the log was rotated away under their writer: they continue a chain
    # kept in an older file (``rotated_from``); verify_trail looks for it.
    rotations: tuple[RotationRef, ...] = field(default=(), compare=False)
    # The mac of each record whose seq verify_lines was asked for (``want``).
    macs: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}), compare=False)


@dataclass(frozen=True, slots=True)
class RotationRef:
    """A record's ``rotated_from``: the head (seq, mac) its writer last saw in the log that
    was rotated away."""

    line: int
    seq: int
    head: str


def verify_lines(
    lines: Iterable[bytes],
    *,
    path: str,
    key: bytes | None = None,
    expect_head: str | None = None,
    want: frozenset[int] = frozenset(),
) -> ChainReport:
    """Recompute the chain over lines (each with its newline, the last maybe without).

    Raises AuditChainError at the first bad line; see the module docstring for torn
    writes. ``want``: seqs whose macs the report keeps (``macs``). Pure: path only names
    the file in the report and in errors.
    """
    _check_key(key)
    head, last_seq, records, last_record_line = GENESIS, 0, 0, 0
    first_seq: int | None = None
    rotations: list[RotationRef] = []
    macs: dict[int, str] = {}
    torn: list[int] = []
    pending: list[int] = []  # lines that do not parse, until a record vouches for them
    expected_at: int | None = None
    for line_no, raw in enumerate(lines, start=1):
        if len(raw) > MAX_RECORD_BYTES:
            raise AuditChainError(
                path, line_no, "unparseable", f"line is over the {MAX_RECORD_BYTES}-byte cap"
            )
        body = raw.removesuffix(b"\n")
        record = parse_line(body)
        if record is None:
            pending.append(line_no)
            continue
        try:
            last_seq, head = _check_line(body, record, head=head, last_seq=last_seq, key=key)
        except _LineError as error:
            if pending:
                raise AuditChainError(
                    path,
                    pending[0],
                    "unparseable",
                    "not a JSON object, and the next record does not chain past it, so it "
                    "is not a torn write",
                ) from None
            raise AuditChainError(path, line_no, error.kind, error.problem) from None
        torn += pending
        pending.clear()
        records, last_record_line = records + 1, line_no
        if first_seq is None:
            first_seq = last_seq
        if last_seq in want:
            macs[last_seq] = head
        if "rotated_from" in record:
            rotations.append(_rotation_ref(record["rotated_from"], path=path, line=line_no))
        if expect_head is not None and head == expect_head:
            expected_at = line_no
    torn += pending
    if expect_head is not None and not hmac.compare_digest(
        head.encode("utf-8"), expect_head.encode("utf-8")
    ):
        problem = (
            "the chain does not end at the expected head: records at the end were removed "
            "or replaced"
            if expected_at is None
            else f"the expected head is the record on line {expected_at}, and the chain "
            "goes on past it"
        )
        raise AuditChainError(path, last_record_line + 1, "truncated", problem)
    return ChainReport(
        path,
        records,
        head,
        torn_tail=bool(pending),
        torn_lines=tuple(torn),
        first_seq=first_seq,
        last_seq=last_seq,
        last_line=last_record_line,
        rotations=tuple(rotations),
        macs=MappingProxyType(macs),
    )


def _rotation_ref(value: object, *, path: str, line: int) -> RotationRef:
    seq = value.get("seq") if isinstance(value, dict) else None
    head = value.get("head") if isinstance(value, dict) else None
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise AuditChainError(path, line, "edited", "field 'rotated_from' has no valid 'seq'")
    if not isinstance(head, str) or not _is_hex_digest(head):
        raise AuditChainError(path, line, "edited", "field 'rotated_from' has no valid 'head'")
    return RotationRef(line, seq, head)


# -- the file edges -----------------------------------------------------------------------


def check_sink_stat(st: os.stat_result, *, path: str) -> None:
    """Refuse anything but a regular file with one link that only its owner can write. Pure."""
    if not stat.S_ISREG(st.st_mode):
        raise AuditError(path, f"is {_file_kind(st.st_mode)}, not a regular file")
    if st.st_nlink == 0:
        raise AuditError(path, "was removed while it was being opened")
    if st.st_nlink > 1:
        # A hard link planted at the path would send our records into another file.
        raise AuditError(path, f"has {st.st_nlink} hard links; an audit file must have one")
    if st.st_mode & _WRITABLE_BY_OTHERS:
        raise AuditError(
            path,
            f"mode {stat.S_IMODE(st.st_mode):04o} lets group or others write it; make it 0600",
        )


def check_free_space(vfs: os.statvfs_result, *, path: str, privileged: bool) -> None:
    """Refuse a filesystem with under MIN_FREE_BYTES free for us. Pure.

    Root may use the blocks a filesystem reserves for it, so privileged counts those.
    """
    if vfs.f_blocks == 0:
        # Some virtual filesystems report no sizes at all; the write itself will tell.
        return
    free_blocks = vfs.f_bfree if privileged else vfs.f_bavail
    if free_blocks * vfs.f_frsize < MIN_FREE_BYTES:
        raise AuditError(path, f"no space left on device (under {MIN_FREE_BYTES} bytes free)")


class AuditSink:
    """Appends chained records to one file; processes may share the file."""

    __slots__ = ("fsync", "key", "path")

    def __init__(self, path: str, *, key: bytes | None = None, fsync: bool = True) -> None:
        _check_key(key)
        self.path = path
        self.key = key
        self.fsync = fsync

    def preflight(self) -> None:
        """Prove a record could be written now: raise AuditError saying why it could not.

        Opens the file as append does (creating it 0600), checks it is a regular file
        only we can write, that its filesystem has room for a record, and that its last
        record can be found to chain to. Takes no lock: a record being written meanwhile
        reads as a torn line, which is skipped.
        """
        fd = self._open()
        try:
            try:
                vfs = os.fstatvfs(fd)
                _read_last_record(fd, os.fstat(fd).st_size, path=self.path)
            except OSError as exc:
                raise AuditError(self.path, _describe(exc, "checking the file")) from None
            check_free_space(vfs, path=self.path, privileged=os.geteuid() == 0)
        finally:
            _close(fd)

    def append(self, fields: Mapping[str, object]) -> dict[str, object]:
        """Append the record after the file's last one and return it as written.

        Raises ValueError when fields names seq, prev or mac, and AuditError when the
        record cannot be written whole (AuditError means: do not run the attempt).
        """
        _check_fields(fields)
        fd = self._open()
        try:
            # flock waits for other writers; EINTR is retried by Python (PEP 475).
            fcntl.flock(fd, fcntl.LOCK_EX)
            st = os.fstat(fd)
            # The file may have been renamed or replaced while we waited for the lock.
            check_sink_stat(st, path=self.path)
            last, unterminated = _read_last_record(fd, st.st_size, path=self.path)
            line = self._serialise(fields, last)
            if len(line) > MAX_RECORD_BYTES:
                # Every attempt leaves a record: output text cut to fit, never the record.
                line = self._serialise(cut_output_text(fields, len(line) - MAX_RECORD_BYTES), last)
            if len(line) > MAX_RECORD_BYTES:
                raise AuditError(self.path, f"record is over the {MAX_RECORD_BYTES}-byte cap")
            # After a torn line, or a record that lost its newline, start a line of our own.
            _write_all(fd, b"\n" + line if unterminated else line)
            if self.fsync:
                os.fsync(fd)
        except OSError as exc:
            raise AuditError(self.path, _describe(exc, "appending a record")) from None
        finally:
            # Unlock explicitly: a child forked meanwhile shares the lock until it closes
            # its copy of the descriptor, and would otherwise hold up every writer.
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            _close(fd)
        written: dict[str, object] = json.loads(line)
        return written

    def last_record(self) -> dict[str, object] | None:
        """The file's last record as written (None for an empty file), unverified: for a
        writer that must learn whether its own append landed before an interrupt."""
        fd = self._open()
        try:
            return _last_parsed_record(fd, os.fstat(fd).st_size, path=self.path)
        except OSError as exc:
            raise AuditError(self.path, _describe(exc, "reading the last record")) from None
        finally:
            _close(fd)

    def _open(self) -> int:
        try:
            fd = os.open(self.path, _SINK_OPEN_FLAGS, _SINK_FILE_MODE)
        except OSError as exc:
            raise AuditError(self.path, _describe(exc, "opening", creating=True)) from None
        try:
            check_sink_stat(os.fstat(fd), path=self.path)
        except OSError as exc:
            _close(fd)
            raise AuditError(self.path, _describe(exc, "opening")) from None
        except AuditError:
            _close(fd)
            raise
        return fd

    def _serialise(self, fields: Mapping[str, object], last: tuple[int, str] | None) -> bytes:
        try:
            return record_line(next_record(fields, last=last, key=self.key))
        except (TypeError, ValueError, RecursionError):
            culprit = next((name for name in fields if not _has_json_form(fields[name])), None)
            what = "a field name" if culprit is None else f"field {culprit!r}"
            raise AuditError(
                self.path,
                f"{what} cannot be written as JSON (text that is not valid Unicode, NaN or "
                "infinity, or a type JSON lacks)",
            ) from None


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
    _check_key(key)
    try:
        fd = os.open(path, _READ_OPEN_FLAGS)
    except OSError as exc:
        raise AuditChainError(path, 0, "unreadable", _describe(exc, "opening")) from None
    try:
        with os.fdopen(fd, "rb") as file:
            st = os.fstat(file.fileno())
            if not stat.S_ISREG(st.st_mode):
                kind = _file_kind(st.st_mode)
                raise AuditChainError(path, 0, "unreadable", f"is {kind}, not a regular file")
            # One byte over the cap, so that verify_lines sees an over-long line as one.
            lines = iter(functools.partial(file.readline, MAX_RECORD_BYTES + 1), b"")
            return verify_lines(lines, path=path, key=key, expect_head=expect_head, want=want)
    except OSError as exc:
        raise AuditChainError(path, 0, "unreadable", _describe(exc, "reading")) from None


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


def load_hmac_key(path: str) -> bytes:
    """Read an HMAC key: a regular file, not a symlink, no access for group or others.

    One trailing newline ("\\n" or "\\r\\n") is dropped; an empty key is refused.
    """
    try:
        fd = os.open(path, _READ_OPEN_FLAGS)
    except OSError as exc:
        raise AuditError(path, f"key file: {_describe(exc, 'opening')}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise AuditError(path, f"key file is {_file_kind(st.st_mode)}, not a regular file")
        if st.st_mode & _OTHERS_ACCESS:
            raise AuditError(
                path,
                f"key file mode {stat.S_IMODE(st.st_mode):04o} gives group or others "
                "access; make it 0600 or 0400",
            )
        data = os.read(fd, MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise AuditError(path, f"key file: {_describe(exc, 'reading')}") from None
    finally:
        _close(fd)
    if len(data) > MAX_KEY_BYTES:
        raise AuditError(path, f"key file is over the {MAX_KEY_BYTES}-byte cap")
    key = data.removesuffix(b"\n").removesuffix(b"\r") if data.endswith(b"\n") else data
    if not key:
        raise AuditError(path, "key file is empty")
    return key


# -- helpers ------------------------------------------------------------------------------


def _read_last_record(fd: int, size: int, *, path: str) -> tuple[tuple[int, str] | None, bool]:
    """The (seq, mac) of the file's last record, and whether the file lacks a final newline.

    Reads backwards from the end in chunks, never the whole file. Lines that do not parse
    are torn writes and are skipped, as verify_lines skips them; an unterminated last line
    that parses is a record that lost only its newline.
    """
    if size == 0:
        return None, False
    unterminated = _pread_exact(fd, 1, size - 1) != b"\n"
    record = _last_parsed_record(fd, size, path=path)
    return (None if record is None else _last_links(record, path=path)), unterminated


def _last_parsed_record(fd: int, size: int, *, path: str) -> dict[str, object] | None:
    """The file's last line that parses as a record (see _read_last_record), or None."""
    if size == 0:
        return None
    end, carry, chunk = size, b"", _FIRST_TAIL_BYTES
    while True:
        start = max(0, end - chunk)
        chunk = _TAIL_CHUNK_BYTES
        segments = (_pread_exact(fd, end - start, start) + carry).split(b"\n")
        # The first segment is a whole line only at the start of the file.
        for segment in reversed(segments if start == 0 else segments[1:]):
            record = parse_line(segment)
            if record is not None:
                return record
        if start == 0:
            return None
        end, carry = start, segments[0]
        if size - end > _MAX_TAIL_SCAN_BYTES:
            raise AuditError(
                path,
                f"no record in the last {_MAX_TAIL_SCAN_BYTES} bytes: the file is damaged "
                "or not a safeprobe audit log",
            )


def _last_links(record: Mapping[str, object], *, path: str) -> tuple[int, str]:
    try:
        seq, _prev, mac = _chain_fields(record, keyed=False)
    except _LineError as error:
        raise AuditError(
            path, f"the last record is damaged ({error.problem}); run safeprobe audit verify"
        ) from None
    return seq, mac


def _pread_exact(fd: int, size: int, offset: int) -> bytes:
    chunks: list[bytes] = []
    while size > 0:
        chunk = os.pread(fd, size, offset)
        if not chunk:
            break  # the file shrank under us; what is there is what we chain to
        chunks.append(chunk)
        size -= len(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def _close(fd: int) -> None:
    # A failed close after a good write loses nothing fsync has not already reported.
    with contextlib.suppress(OSError):
        os.close(fd)


def _check_fields(fields: Mapping[str, object]) -> None:
    reserved = sorted(SINK_FIELDS.intersection(fields))
    if reserved:
        raise ValueError(f"the sink sets {', '.join(reserved)}; fields must not")


def _check_key(key: bytes | None) -> None:
    if key is not None and not key:
        raise ValueError("an HMAC key must not be empty; pass key=None for a plain chain")


def _describe(exc: OSError, action: str, *, creating: bool = False) -> str:
    if exc.errno == errno.ENOENT:
        problem = "a directory in the path does not exist" if creating else "no such file"
    else:
        known = _ERRNO_PROBLEMS.get(exc.errno or 0)
        problem = known or (os.strerror(exc.errno).lower() if exc.errno else "unexpected error")
    return f"{problem} ({action})"


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symlink"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def _is_hex_digest(value: str) -> bool:
    return len(value) == 64 and _HEX_DIGITS.issuperset(value)


def _has_json_form(value: object) -> bool:
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError, RecursionError):
        return False
    return True


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value
