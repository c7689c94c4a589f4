"""The audit record (safeprobe.audit.record): one dataclass tree writes and parses records."""

from __future__ import annotations

import dataclasses
import json
import sys
import types
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from safeprobe import Outcome, run_probe
from safeprobe.audit.chain import SINK_FIELDS, next_record, record_line
from safeprobe.audit.record import (
    FIELD_DOCS,
    RECORD_FIELDS,
    AuditRecord,
    ChildRecord,
    HostRecord,
    IsolationRecord,
    OutputRecord,
    PolicyRecord,
    ProbeRecord,
    RotatedFromRecord,
    StackDumpRecord,
    TriggerRecord,
    child_record,
)
from safeprobe.errors import AuditRecordError

MODULE = "safeprobe_test_record_module"
# What a thread attempt that ran a probe, with include_output, leaves out: evaluate was
# not used, the log was not rotated, the text was not cut, no child was forked, and no
# stuck-host dump was requested.
_ABSENT_FROM_A_PLAIN_ATTEMPT = frozenset(
    {
        "evaluated",
        "rotated_from",
        "rotated_from.seq",
        "rotated_from.head",
        "output.text_cut",
        "isolation.child.pid",
        "isolation.child.status",
        "stack_dump",
        "stack_dump.requests",
        "stack_dump.bytes",
        "stack_dump.requested_at",
        "stack_dump.sender_pid",
        "stack_dump.sender_uid",
    }
)


def _flat_keys(value: object, prefix: str = "") -> set[str]:
    """Every key of a JSON object, nested ones dotted."""
    if not isinstance(value, dict):
        return set()
    keys: set[str] = set()
    for name, inner in value.items():
        keys.add(prefix + name)
        keys |= _flat_keys(inner, f"{prefix}{name}.")
    return keys


def _real_line(tmp_path: Path, *, isolation: str) -> bytes:
    """The line a real attempt (run_probe) wrote to its audit log."""
    module = types.ModuleType(MODULE)
    module.state = {"count": 3}  # type: ignore[attr-defined]
    sys.modules[MODULE] = module
    try:
        (tmp_path / "probe.py").write_text("print(state['count'])\n")
        (tmp_path / "probe.py").chmod(0o644)
        policy = {
            "version": 1,
            "probe": {"path": "probe.py"},
            "expose": {"state": {"target": f"{MODULE}:state", "allow": ["**"]}},
            "audit": {"path": "audit.jsonl", "include_output": True},
            "isolation": isolation,
        }
        (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy))
        attempt = run_probe(tmp_path / "policy.yaml")
    finally:
        del sys.modules[MODULE]
    assert attempt.outcome is Outcome.OK, attempt.reason
    (line,) = (tmp_path / "audit.jsonl").read_bytes().splitlines(keepends=True)
    return line


def test_the_record_fields_are_exactly_those_of_a_real_attempt(tmp_path: Path) -> None:
    """Every field a real attempt writes is documented, and every documented field that
    applies to it is written: the dataclass is the record, not a description of it."""
    line = _real_line(tmp_path, isolation="thread")
    written = json.loads(line)
    documented = {name for name, _doc in FIELD_DOCS}
    assert _flat_keys(written) == documented - _ABSENT_FROM_A_PLAIN_ATTEMPT
    assert list(written) == [name for name in RECORD_FIELDS if name in written]
    record = AuditRecord.parse(line)
    assert list(record.fields()) == [name for name in written if name not in SINK_FIELDS]
    assert _flat_keys(record.fields()) == _flat_keys(written) - SINK_FIELDS


def test_a_real_record_parses_and_writes_back_byte_for_byte(tmp_path: Path) -> None:
    """parse then written() then record_line gives the very line the sink wrote."""
    line = _real_line(tmp_path, isolation="thread")
    record = AuditRecord.parse(line)
    assert record.isolation == IsolationRecord(mode="thread", child=None)
    assert record.output.text == "3\n"
    assert record_line(record.written()) == line


@pytest.mark.slow
def test_a_fork_attempt_records_its_child(tmp_path: Path) -> None:
    """In isolation: fork the record names the child; the rest is as in thread."""
    line = _real_line(tmp_path, isolation="fork")
    record = AuditRecord.parse(line)
    assert record.isolation.mode == "fork"
    assert record.isolation.child is not None
    assert record.isolation.child.status.startswith("exit 0")
    documented = {name for name, _doc in FIELD_DOCS}
    present = _ABSENT_FROM_A_PLAIN_ATTEMPT - {"isolation.child.pid", "isolation.child.status"}
    assert _flat_keys(json.loads(line)) == documented - present
    assert record_line(record.written()) == line


def test_every_field_has_a_one_line_doc() -> None:
    """The docs table is made from FIELD_DOCS: each name once, each doc one line, and its
    top-level names are RECORD_FIELDS."""
    names = [name for name, _doc in FIELD_DOCS]
    assert len(names) == len(set(names))
    for name, doc in FIELD_DOCS:
        assert doc.strip(), name
        assert "\n" not in doc, name
    assert [name for name in names if "." not in name] == list(RECORD_FIELDS)
    assert "isolation" in RECORD_FIELDS


# -- round trip ---------------------------------------------------------------------------

_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_INT = st.integers(-(2**40), 2**40)
_FLOAT = st.floats(allow_nan=False, allow_infinity=False)
_HEX = st.text("0123456789abcdef", min_size=64, max_size=64)

_RECORDS = st.builds(
    AuditRecord,
    ts=_TEXT,
    host=st.builds(HostRecord, pid=_INT, hostname=_TEXT, argv=st.lists(_TEXT).map(tuple)),
    trigger=st.builds(
        TriggerRecord,
        signal=st.none() | _TEXT,
        sender_pid=st.none() | _INT,
        sender_uid=st.none() | _INT,
        sender_verified=st.booleans(),
        received=_TEXT,
        request=_INT,
        requests=_INT,
    ),
    policy=st.builds(PolicyRecord, path=_TEXT, sha256=st.none() | _TEXT, name=_TEXT),
    probe=st.builds(
        ProbeRecord,
        name=st.none() | _TEXT,
        path=st.none() | _TEXT,
        sha256=st.none() | _TEXT,
        bytes=st.none() | _INT,
        owner=st.none() | _INT,
        mode=st.none() | _TEXT,
    ),
    outcome=st.sampled_from(Outcome),
    reason=_TEXT,
    duration_ms=_FLOAT,
    queue_ms=st.none() | _FLOAT,
    steps=_INT,
    output=st.builds(
        OutputRecord,
        bytes=_INT,
        digest=st.none() | _TEXT,
        truncated=st.booleans(),
        text=st.none() | _TEXT,
        text_cut=st.none() | st.booleans(),
    ),
    isolation=st.builds(
        IsolationRecord,
        mode=_TEXT,
        child=st.none() | st.builds(ChildRecord, pid=_INT, status=_TEXT),
    ),
    evaluated=st.none()
    | st.dictionaries(_TEXT, st.none() | _INT, max_size=3).map(lambda d: tuple(d.items())),
    rotated_from=st.none() | st.builds(RotatedFromRecord, seq=_INT, head=_HEX),
    stack_dump=st.none()
    | st.builds(
        StackDumpRecord,
        requests=_INT,
        bytes=_INT,
        requested_at=st.none() | _TEXT,
        sender_pid=st.none() | _INT,
        sender_uid=st.none() | _INT,
    ),
)


@given(
    _RECORDS, st.none() | st.tuples(st.integers(1, 2**40), _HEX), st.none() | st.binary(min_size=1)
)
def test_fields_chained_by_the_sink_parse_back_to_the_record(
    record: AuditRecord, last: tuple[int, str] | None, key: bytes | None
) -> None:
    """fields() → the chain → the line → parse() gives the record, seq, prev and mac added,
    and writing that back gives the same line."""
    line = record_line(next_record(record.fields(), last=last, key=key))
    parsed = AuditRecord.parse(line)
    written = json.loads(line)
    assert parsed == dataclasses.replace(
        record, seq=written["seq"], prev=written["prev"], mac=written["mac"]
    )
    assert record_line(parsed.written()) == line
    assert AuditRecord.from_json(record.fields()) == record


# -- strictness ---------------------------------------------------------------------------


def _good(tmp_path: Path) -> dict[str, object]:
    value: dict[str, object] = json.loads(_real_line(tmp_path, isolation="thread"))
    return value


def _line(value: dict[str, object]) -> bytes:
    return json.dumps(value).encode("utf-8") + b"\n"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r.update(extra=1), "extra"),
        (lambda r: r.pop("isolation"), "isolation"),
        (lambda r: r.pop("mac"), "mac"),
        (lambda r: r["host"].update(user="x"), "host.user"),
        (lambda r: r["trigger"].pop("requests"), "trigger.requests"),
        (lambda r: r.update(steps=True), "steps"),
        (lambda r: r.update(steps=1.0), "steps"),
        (lambda r: r.update(duration_ms="1"), "duration_ms"),
        (lambda r: r.update(outcome="maybe"), "outcome"),
        (lambda r: r["output"].update(text=None), "output.text"),
        (lambda r: r.update(evaluated=None), "evaluated"),
        (lambda r: r.update(evaluated={"x.y()": "2"}), "evaluated"),
        (lambda r: r["host"].update(argv="a b"), "host.argv"),
        (lambda r: r.update(isolation={"mode": "fork", "child": {"pid": 1}}), "isolation.child"),
    ],
)
def test_parse_refuses_unknown_missing_and_mistyped_fields(
    tmp_path: Path, change: object, field: str
) -> None:
    """Strict: a field the record does not have, one it lacks, or a value of the wrong
    type is an AuditRecordError naming the field, never the value."""
    value = _good(tmp_path)
    change(value)  # type: ignore[operator]
    with pytest.raises(AuditRecordError) as caught:
        AuditRecord.parse(_line(value))
    assert caught.value.field.startswith(field)


@pytest.mark.parametrize("line", [b"", b"[]\n", b"{nope\n", b'{"steps": NaN}\n'])
def test_parse_refuses_a_line_that_is_no_json_object(line: bytes) -> None:
    """Not a record at all: the same strict JSON as the verifier (no NaN)."""
    with pytest.raises(AuditRecordError, match="not a JSON object"):
        AuditRecord.parse(line)


def test_an_unwritten_record_has_no_written_form() -> None:
    """written() is for records the sink chained; fields() is what goes to the sink."""
    record = AuditRecord.from_json(
        {k: v for k, v in json.loads(_sample_line()).items() if k not in SINK_FIELDS}
    )
    with pytest.raises(ValueError, match="not written"):
        record.written()


def test_a_fork_childs_report_becomes_the_records_child() -> None:
    """The runner's child report (pid, status) is checked as the record's child."""
    assert child_record(None) is None
    assert child_record({"pid": 7, "status": "exit 0"}) == ChildRecord(pid=7, status="exit 0")
    with pytest.raises(AuditRecordError, match=r"isolation\.child\.status"):
        child_record({"pid": 7})


def _sample_line() -> bytes:
    record = AuditRecord(
        ts="2026-11-27T02:53:22.123456Z",
        host=HostRecord(pid=1, hostname="h", argv=("app.py",)),
        trigger=TriggerRecord(
            signal="SIGQUIT",
            sender_pid=None,
            sender_uid=None,
            sender_verified=False,
            received="handler",
            request=0,
            requests=1,
        ),
        policy=PolicyRecord(path="/p.yaml", sha256=None, name="p"),
        probe=ProbeRecord(name=None, path=None, sha256=None, bytes=None, owner=None, mode=None),
        outcome=Outcome.BUSY,
        reason="busy",
        duration_ms=0.0,
        queue_ms=None,
        steps=0,
        output=OutputRecord(bytes=0, digest=None, truncated=False),
        isolation=IsolationRecord(mode="thread", child=None),
    )
    return record_line(next_record(record.fields(), last=None, key=None))
