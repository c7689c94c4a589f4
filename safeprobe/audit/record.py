"""The audit record: one frozen dataclass tree that both writes and parses a record.

Promise: ``AuditRecord.fields()`` is the dict the runner hands the sink, in the order on
disk, so every record safeprobe writes has exactly these fields; ``AuditRecord.parse``
reads a written line back and is strict: a missing or unknown field, or a value of the
wrong type, raises ``AuditRecordError`` naming the field, never the value. Each field
carries a one-line doc (``field(metadata={"doc": ...})``), the one place the record's
vocabulary is written down; the docs' table of fields is made from it (``FIELD_DOCS``).

Nullable fields are always present and may be null; optional ones (``omit_if_none``) are
absent when they do not apply, and never null when present. The sink's own fields (seq,
prev, mac) are set by ``sink.AuditSink.append``: ``fields()`` leaves them out, and a parsed
record has them.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Final, TypeVar, Union, get_args, get_origin

from safeprobe.attempt import Outcome
from safeprobe.audit.chain import SINK_FIELDS, parse_line
from safeprobe.errors import AuditRecordError

_T = TypeVar("_T")


def _doc(text: str, *, omit_if_none: bool = False) -> Mapping[str, object]:
    return {"doc": text, "omit_if_none": omit_if_none}


@dataclass(frozen=True, slots=True, kw_only=True)
class HostRecord:
    """The process that took the attempt."""

    pid: int = field(metadata=_doc("the host's process id"))
    hostname: str = field(metadata=_doc("the host's name (socket.gethostname())"))
    argv: tuple[str, ...] = field(
        metadata=_doc(
            "the host's argv: at most 16 arguments of at most 200 characters, values of "
            "secret-looking options replaced by <redacted>"
        )
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerRecord:
    """Who asked for the attempt and how the request arrived."""

    signal: str | None = field(metadata=_doc("the signal's name (SIGQUIT); null for run_probe()"))
    sender_pid: int | None = field(
        metadata=_doc("the sender's process id; null when the kernel did not say")
    )
    sender_uid: int | None = field(
        metadata=_doc("the sender's user id; null when the kernel did not say")
    )
    sender_verified: bool = field(
        metadata=_doc(
            "true when the kernel filled in sender_pid and sender_uid (kill, tgkill); a "
            "queued signal's sender wrote them itself"
        )
    )
    received: str = field(
        metadata=_doc("how it arrived: sigwaitinfo, wakeup, handler or api (run_probe())")
    )
    request: int = field(
        metadata=_doc("the named probe asked for (sigqueue's value); 0 is the default probe")
    )
    requests: int = field(
        metadata=_doc("how many requests this attempt answers (coalesced signals)")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyRecord:
    """The policy the attempt ran under."""

    path: str = field(metadata=_doc("the policy file's path"))
    sha256: str | None = field(
        metadata=_doc(
            "hex SHA-256 of the policy file; null when it did not parse and the last good "
            "policy's log took the record"
        )
    )
    name: str = field(metadata=_doc("the policy's name"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeRecord:
    """The probe asked for, and its file as it was checked (null before it was read)."""

    name: str | None = field(
        metadata=_doc("the probe's name in the policy; null when the request named none")
    )
    path: str | None = field(metadata=_doc("the probe file's path; null when none was named"))
    sha256: str | None = field(metadata=_doc("hex SHA-256 of the file; null when it was not read"))
    bytes: int | None = field(metadata=_doc("the file's size in bytes; null when it was not read"))
    owner: int | None = field(metadata=_doc("the file owner's uid; null when it was not read"))
    mode: str | None = field(
        metadata=_doc('the file\'s permission bits in octal ("0644"); null when it was not read')
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputRecord:
    """What the probe printed, as bytes and digest; as text only when the policy asks."""

    bytes: int = field(metadata=_doc("length of the whole output in bytes (UTF-8)"))
    digest: str | None = field(
        metadata=_doc(
            '"sha256:<hex>" of the whole output, or "hmac-sha256:<hex>" with a key; null '
            "when the attempt was refused before it began (busy, rate_limited, unauthorized, a "
            "broken policy, syslog required and down)"
        )
    )
    truncated: bool = field(metadata=_doc("true when the output passed limits.max_output"))
    text: str | None = field(
        default=None,
        metadata=_doc("the output itself, only with audit.include_output", omit_if_none=True),
    )
    text_cut: bool | None = field(
        default=None,
        metadata=_doc(
            "true when text had to be cut for the record to fit 16 MiB (text is then a "
            "prefix of the output)",
            omit_if_none=True,
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildRecord:
    """The forked child an attempt ran in (isolation: fork)."""

    pid: int = field(metadata=_doc("the child's process id"))
    status: str = field(
        metadata=_doc('how it ended: "exit N", "signal SIGKILL" or "exit 0 (reaped later)"')
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class IsolationRecord:
    """Where the probe ran."""

    mode: str = field(metadata=_doc("the policy's isolation: fork or thread"))
    child: ChildRecord | None = field(
        metadata=_doc("the forked child; null in isolation: thread or when none was forked")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RotatedFromRecord:
    """The head its writer last saw in a log that was rotated away under it."""

    seq: int = field(metadata=_doc("seq of the last record this process wrote there"))
    head: str = field(metadata=_doc("that record's mac; verify_trail finds it in the older log"))


@dataclass(frozen=True, slots=True, kw_only=True)
class StackDumpRecord:
    """What was added to this process's stuck-host stacks file since its previous record:
    C-level stack dumps (faulthandler) and the requests for them."""

    requests: int = field(
        metadata=_doc(
            "how many requests for a dump were written there (safeprobe trigger writes one "
            "before it sends the dump signal)"
        )
    )
    bytes: int = field(metadata=_doc("how many bytes were added: the requests and the dumps"))
    requested_at: str | None = field(
        metadata=_doc(
            "the first request's UTC time as its sender wrote it; null when a dump came with "
            "no request (the signal sent by hand)"
        )
    )
    sender_pid: int | None = field(
        metadata=_doc(
            "the first request's sender as it wrote itself (only the host's user and root "
            "can write there; the kernel tells faulthandler's handler nothing); null as above"
        )
    )
    sender_uid: int | None = field(
        metadata=_doc("that sender's user id, as written; null as above")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """One attempt's record: what the runner builds, the sink chains, the reader parses."""

    seq: int | None = field(
        default=None,
        metadata=_doc("1 for a file's first record, then one more per record (set by the sink)"),
    )
    ts: str = field(
        metadata=_doc('UTC wall-clock time, RFC 3339 with microseconds ("...22.123456Z")')
    )
    host: HostRecord = field(metadata=_doc("the process that took the attempt"))
    trigger: TriggerRecord = field(metadata=_doc("who asked, and how the request arrived"))
    policy: PolicyRecord = field(metadata=_doc("the policy the attempt ran under"))
    probe: ProbeRecord = field(metadata=_doc("the probe asked for and its file as checked"))
    outcome: Outcome = field(
        metadata=_doc(
            "ok, error, denied, compile_error, timeout, limit, rejected, busy, "
            "rate_limited or unauthorized"
        )
    )
    reason: str = field(
        metadata=_doc(
            "the rule that decided, named, never the value it saw; cut after 1000 characters"
        )
    )
    duration_ms: float = field(
        metadata=_doc("the attempt, from its start to its record, in ms to 3 decimals")
    )
    queue_ms: float | None = field(
        metadata=_doc(
            "from the signal reaching safeprobe to the attempt's start; null when not "
            "signalled; over limits.timeout the probe is not run"
        )
    )
    steps: int = field(metadata=_doc("budget ticks the probe used"))
    output: OutputRecord = field(metadata=_doc("the probe's output: size, digest, maybe text"))
    isolation: IsolationRecord = field(metadata=_doc("where the probe ran"))
    evaluated: tuple[tuple[str, int | None], ...] | None = field(
        default=None,
        metadata=_doc(
            "only when host code named under evaluate ran: each path as the policy names "
            'it, prefixed with the exposure ("ledger.size()"), and how many times it ran '
            "(null when a fork child was killed before it could say); at most 64 paths, "
            'more counted under "(more)"',
            omit_if_none=True,
        ),
    )
    rotated_from: RotatedFromRecord | None = field(
        default=None,
        metadata=_doc(
            "only on the first record a process writes after the log was rotated away "
            "under it (renamed, replaced, cut)",
            omit_if_none=True,
        ),
    )
    stack_dump: StackDumpRecord | None = field(
        default=None,
        metadata=_doc(
            "only when the host's stuck-host stacks file grew since this process's previous "
            "record: a C-level stack dump was requested while the host could not run Python, "
            "noted by the first record it wrote after",
            omit_if_none=True,
        ),
    )
    prev: str | None = field(
        default=None,
        metadata=_doc(
            "the previous record's mac; 64 zeros for a file's first record (set by the sink)"
        ),
    )
    mac: str | None = field(
        default=None,
        metadata=_doc(
            "hex SHA-256, or HMAC-SHA256 with a key, of every field but mac, prev included "
            "(set by the sink)"
        ),
    )

    def fields(self) -> dict[str, object]:
        """The dict the runner hands the sink: every field but seq, prev and mac, in the
        order on disk, optional ones left out when they do not apply."""
        return {name: value for name, value in _to_json(self).items() if name not in SINK_FIELDS}

    def written(self) -> dict[str, object]:
        """The record as the sink wrote it, seq first and prev, mac last (ValueError when
        the record was never written, so has no seq, prev or mac)."""
        if self.seq is None or self.prev is None or self.mac is None:
            raise ValueError("the record was not written: it has no seq, prev or mac")
        return _to_json(self)

    @classmethod
    def parse(cls, line: bytes) -> AuditRecord:
        """The record on a written line (its newline may be there); strict: see the
        module docstring. Raises AuditRecordError."""
        value = parse_line(line.removesuffix(b"\n"))
        if value is None:
            raise AuditRecordError("", "the line is not a JSON object")
        record = _from_json(cls, value, "")
        for name in sorted(SINK_FIELDS):
            if getattr(record, name) is None:
                raise AuditRecordError(name, "missing (set by the sink on every record)")
        return record

    @classmethod
    def from_json(cls, value: Mapping[str, object]) -> AuditRecord:
        """A record from its JSON object, strict as ``parse`` but for seq, prev and mac,
        which a record not yet written lacks (``fields()`` round-trips through here)."""
        return _from_json(cls, value, "")


def child_record(child: Mapping[str, object] | None) -> ChildRecord | None:
    """A forked child's report (pid and status) as the record's ``isolation.child``."""
    return None if child is None else _from_json(ChildRecord, child, "isolation.child.")


def utc_timestamp(now: float) -> str:
    """RFC 3339 UTC with microseconds and "Z", e.g. "2026-11-27T02:53:22.123456Z". Pure."""
    moment = datetime.fromtimestamp(now, tz=UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds") + "Z"


def _walk(cls: type, prefix: str) -> Iterator[tuple[str, str]]:
    hints = typing.get_type_hints(cls)
    for spec in dataclasses.fields(cls):
        name = f"{prefix}{spec.name}"
        yield name, str(spec.metadata["doc"])
        inner = _dataclass_in(hints[spec.name])
        if inner is not None:
            yield from _walk(inner, f"{name}.")


@dataclass(frozen=True, slots=True)
class _Slot:
    """One field of a record class, as writing and parsing it need it."""

    name: str
    hint: object
    omit_if_none: bool


def _slots(cls: type) -> tuple[_Slot, ...]:
    return _SLOTS[cls]


def _names(cls: type) -> frozenset[str]:
    return _NAMES[cls]


def _plan(cls: type) -> tuple[_Slot, ...]:
    hints = typing.get_type_hints(cls)
    return tuple(
        _Slot(spec.name, hints[spec.name], bool(spec.metadata["omit_if_none"]))
        for spec in dataclasses.fields(cls)
    )


def _dataclass_in(hint: object) -> type | None:
    options = get_args(hint) if _is_union(hint) else (hint,)
    return next((o for o in options if isinstance(o, type) and dataclasses.is_dataclass(o)), None)


def _is_union(hint: object) -> bool:
    return get_origin(hint) in (Union, types.UnionType)


def _to_json(record: object) -> dict[str, object]:
    out: dict[str, object] = {}
    for slot in _slots(type(record)):
        value = getattr(record, slot.name)
        if value is None and slot.omit_if_none:
            continue
        out[slot.name] = _value_to_json(value, evaluated=slot.name == "evaluated")
    return out


def _value_to_json(value: object, *, evaluated: bool) -> object:
    if id(type(value)) in _SLOT_IDS:  # a record class (by identity, as every type test)
        return _to_json(value)
    if evaluated and isinstance(value, tuple):
        return dict(value)
    if isinstance(value, Outcome):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _from_json(cls: type[_T], value: object, where: str) -> _T:
    if not isinstance(value, dict):
        raise AuditRecordError(where.rstrip(".") or "record", "not a JSON object")
    known: type = cls
    unknown = sorted(set(value) - _names(known))
    if unknown:
        raise AuditRecordError(f"{where}{unknown[0]}", "unknown field")
    kwargs: dict[str, object] = {}
    for slot in _slots(known):
        name = f"{where}{slot.name}"
        if slot.name not in value:
            if slot.omit_if_none or (slot.name in SINK_FIELDS and not where):
                continue
            raise AuditRecordError(name, "missing")
        if value[slot.name] is None and slot.omit_if_none:
            raise AuditRecordError(name, "null; leave the field out instead")
        kwargs[slot.name] = _check(slot.hint, value[slot.name], name)
    return cls(**kwargs)


def _check(hint: object, value: object, name: str) -> object:
    if _is_union(hint):
        options = [o for o in get_args(hint) if o is not type(None)]
        if value is None and len(options) < len(get_args(hint)):
            return None
        (hint,) = options
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _from_json(hint, value, f"{name}.")
    if hint is Outcome:
        if value not in set(Outcome):
            raise AuditRecordError(name, "not an outcome safeprobe knows")
        return Outcome(str(value))
    if hint in (bool, int, float, str):
        # JSON's true and false are Python's bool, a subclass of int: not a count.
        if hint is int and isinstance(value, bool):
            raise AuditRecordError(name, "not an int")
        return _typed(value, typing.cast("type[object]", hint), name)
    if get_origin(hint) is tuple and get_args(hint) == (str, Ellipsis):
        if not isinstance(value, list):
            raise AuditRecordError(name, "not a list")
        return tuple(_typed(item, str, name) for item in value)
    # The only other shape is evaluated: {path: runs or null}.
    if not isinstance(value, dict):
        raise AuditRecordError(name, "not a JSON object")
    return tuple((path, _check(int | None, runs, name)) for path, runs in value.items())


def _typed(value: object, kind: type[_T], name: str) -> _T:
    if not isinstance(value, kind):
        raise AuditRecordError(name, f"not a {kind.__name__}")
    return value


# Every field a record can have, nested ones dotted ("output.text"), in the order on
# disk, with its one-line doc: what the docs' table of record fields is made from.
FIELD_DOCS: Final[tuple[tuple[str, str], ...]] = tuple(_walk(AuditRecord, ""))
# The top-level fields, in the order on disk: seq first, prev and mac last.
RECORD_FIELDS: Final[tuple[str, ...]] = tuple(spec.name for spec in dataclasses.fields(AuditRecord))
# Resolving the string annotations costs tens of microseconds and every attempt writes a
# record, so each record class is planned once, here.
_RECORD_CLASSES: Final = (
    AuditRecord,
    HostRecord,
    TriggerRecord,
    PolicyRecord,
    ProbeRecord,
    OutputRecord,
    ChildRecord,
    IsolationRecord,
    RotatedFromRecord,
    StackDumpRecord,
)
_SLOTS: Final[Mapping[type, tuple[_Slot, ...]]] = MappingProxyType(
    {cls: _plan(cls) for cls in _RECORD_CLASSES}
)
_SLOT_IDS: Final = frozenset(map(id, _SLOTS))
_NAMES: Final[Mapping[type, frozenset[str]]] = MappingProxyType(
    {cls: frozenset(slot.name for slot in slots) for cls, slots in _SLOTS.items()}
)
