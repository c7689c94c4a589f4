"""The hash chain: pure functions that link, mac, write and verify audit records.

Promise: ``next_record`` chains a record to the one before (``prev``: its mac, GENESIS for
a file's first) under SHA-256, or HMAC-SHA256 with a key; ``record_line`` is the only byte
form a record has on disk; ``verify_lines`` recomputes the chain and raises
``AuditChainError`` naming the first bad line and what is wrong with it (it never returns a
failure to be forgotten), and tells a write torn by a crash from an edit. Each line must be
byte for byte what the sink writes, so equal JSON in other bytes (spacing, escapes, a
repeated key that another reader would take instead) fails too. Error texts name lines and
fields, never the values in a record. Everything here is pure: the sink (``sink``) and the
file verifier (``trail``) do the I/O.

What the chain does not promise: without a key, whoever can write the file can rewrite
every record and recompute every link, so the plain chain catches accidents and careless
edits, not a careful forger. With a key (HMAC-SHA256), nobody without the key can edit,
insert or reorder records undetected. In both cases dropping the newest records leaves a
valid, shorter chain; only a head kept elsewhere (``expect_head``), or a newer log's
``rotated_from`` naming a record the older log no longer holds (``trail.verify_trail``),
catches that. Threat model: SECURITY.md, "Audit integrity".

The fields of a record are ``record.AuditRecord``'s; the sink adds seq (first), prev and
mac (last), and the mac covers every field but itself, prev included.

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

import hashlib
import hmac
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from safeprobe.errors import AuditChainError

GENESIS: Final = "0" * 64

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
        "not-a-log",
    }
)

# A record is a few hundred bytes plus the probe's output, which the policy caps (64 KiB by
# default). 16 MiB is far beyond any honest record; it bounds one line in memory for the
# verifier and how far back the sink looks for the last record.
MAX_RECORD_BYTES: Final = 16 * 1024 * 1024
_HEX_DIGITS: Final = frozenset("0123456789abcdef")
# Domain separation: output digests and record macs share the key, and a probe chooses
# its output. Without the label, a probe printing the canonical body of a record it wants
# to forge would get that record's mac published in the log. Record bodies start with "{".
_OUTPUT_DIGEST_LABEL: Final = b"safeprobe-output\x00"


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


def next_record(
    fields: Mapping[str, object], *, last: tuple[int, str] | None, key: bytes | None
) -> dict[str, object]:
    """The record that follows last (its seq and mac; None for an empty file). Pure.

    Raises ValueError when fields names seq, prev or mac, and TypeError or ValueError when
    a value has no JSON form (append turns the latter into AuditError).
    """
    check_fields(fields)
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


class LineError(Exception):
    """One line fails a check; verify_lines adds the path and line number, and the sink
    says the last record is damaged."""

    def __init__(self, kind: str, problem: str) -> None:
        self.kind, self.problem = kind, problem
        super().__init__(f"{kind}: {problem}")


def chain_fields(record: Mapping[str, object], *, keyed: bool) -> tuple[int, str, str]:
    """A record's seq, prev and mac, checked for form (LineError otherwise). Pure."""
    seq, prev, mac = record.get("seq"), record.get("prev"), record.get("mac")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise LineError("edited", "field 'seq' is missing or not a positive integer")
    if not isinstance(prev, str) or not is_hex_digest(prev):
        raise LineError("edited", "field 'prev' is missing or not 64 lowercase hex digits")
    if not isinstance(mac, str) or not is_hex_digest(mac):
        kind = "bad-mac" if keyed else "edited"
        raise LineError(kind, "field 'mac' is missing or not 64 lowercase hex digits")
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
    seq, prev, mac = chain_fields(record, keyed=key is not None)
    try:
        expected_mac = chain_link(canonical_bytes(record), key)
        written = record_line(record)
    except (ValueError, RecursionError):
        # JSON can escape a lone surrogate ("\ud800"), which has no UTF-8 form; the sink
        # never writes one.
        raise LineError("edited", "a text field holds an escape that is not Unicode") from None
    if not hmac.compare_digest(expected_mac, mac):
        if key is None:
            raise LineError(
                "edited",
                "field 'mac' does not match the record's content (edited, or a keyed file "
                "verified without its key)",
            )
        raise LineError(
            "bad-mac",
            "field 'mac' does not verify with the key (edited, the wrong key, or a file "
            "written without a key)",
        )
    if written != body + b"\n":
        raise LineError(
            "edited",
            "the line is not byte for byte what the sink writes (spacing, escapes, number "
            "forms or repeated keys were changed)",
        )
    if seq <= last_seq:
        raise LineError("reordered", "field 'seq' goes backwards: the line was moved or copied")
    if not hmac.compare_digest(prev, head):
        raise LineError(
            "broken-link",
            "field 'prev' is not the previous record's mac: lines were inserted, deleted "
            "or reordered",
        )
    if seq != last_seq + 1:
        raise LineError(
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
    check_key(key)
    head, last_seq, records, last_record_line = GENESIS, 0, 0, 0
    first_seq: int | None = None
    rotations: list[RotationRef] = []
    macs: dict[int, str] = {}
    torn: list[int] = []
    pending: list[int] = []  # lines that do not parse, until a record vouches for them
    expected_at: int | None = None
    whole_junk = 0  # the first line that does not parse and yet ends in a newline
    for line_no, raw in enumerate(lines, start=1):
        if len(raw) > MAX_RECORD_BYTES:
            raise AuditChainError(
                path, line_no, "unparseable", f"line is over the {MAX_RECORD_BYTES}-byte cap"
            )
        body = raw.removesuffix(b"\n")
        record = parse_line(body)
        if record is None:
            pending.append(line_no)
            if not whole_junk and raw.endswith(b"\n"):
                whole_junk = line_no
            continue
        try:
            last_seq, head = _check_line(body, record, head=head, last_seq=last_seq, key=key)
        except LineError as error:
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
    if records == 0 and whole_junk:
        # A crash can tear only the write in progress, and the sink then starts a line of
        # its own: a file with no record but a whole line of something else (a policy or
        # a script handed to verify) was never an audit log, and "0 records" would be a lie.
        raise AuditChainError(
            path, whole_junk, "not-a-log", "no line is an audit record: not an audit log"
        )
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
    if not isinstance(head, str) or not is_hex_digest(head):
        raise AuditChainError(path, line, "edited", "field 'rotated_from' has no valid 'head'")
    return RotationRef(line, seq, head)


def check_fields(fields: Mapping[str, object]) -> None:
    """ValueError when fields name seq, prev or mac, which the sink sets. Pure."""
    reserved = sorted(SINK_FIELDS.intersection(fields))
    if reserved:
        raise ValueError(f"the sink sets {', '.join(reserved)}; fields must not")


def check_key(key: bytes | None) -> None:
    """ValueError for an empty key: None, not b\"\", means a plain chain."""
    if key is not None and not key:
        raise ValueError("an HMAC key must not be empty; pass key=None for a plain chain")


def is_hex_digest(value: str) -> bool:
    """Whether value is 64 lowercase hex digits, as a link is. Pure."""
    return len(value) == 64 and _HEX_DIGITS.issuperset(value)


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value
