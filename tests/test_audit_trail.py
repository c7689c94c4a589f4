"""`safeprobe audit verify` across rotated logs (safeprobe.audit.trail.verify_trail): every
rotated_from is followed into the older log, and the report says what it saw there."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeprobe.audit.sink import AuditSink
from safeprobe.audit.trail import verify_trail
from safeprobe.errors import AuditChainError
from tests.harness import run_cli


def _log(path: Path, count: int, first: dict[str, object] | None = None) -> list[dict[str, object]]:
    """``count`` records written by the real sink; ``first`` adds fields to the first one."""
    sink = AuditSink(str(path), fsync=False)
    records = []
    for n in range(count):
        extra = first if n == 0 and first else {}
        records.append(sink.append({"outcome": "ok", "reason": f"r{n}", **extra}))
    return records


def _rotated(folder: Path, older_count: int = 3) -> tuple[Path, Path, list[dict[str, object]]]:
    """audit.jsonl.1 (older_count records) rotated away; audit.jsonl names its head."""
    older, newer = folder / "audit.jsonl.1", folder / "audit.jsonl"
    records = _log(older, older_count)
    last = records[-1]
    _log(newer, 2, first={"rotated_from": {"seq": last["seq"], "head": last["mac"]}})
    return newer, older, records


@pytest.mark.slow
def test_an_intact_rotation_verifies_and_says_where_it_links(tmp_path: Path) -> None:
    """LOG.1 is found beside LOG, and the link to its last record is reported."""
    newer, older, _ = _rotated(tmp_path)
    done = run_cli("audit", "verify", str(newer))
    assert done.returncode == 0, done.stderr
    assert f"{newer}:1 continues {older} at seq 3 (its last record)" in done.stdout
    shown = json.loads(run_cli("audit", "verify", str(newer), "--json").stdout)
    assert [f["path"] for f in shown["files"]] == [str(newer), str(older)]
    assert shown["links"][0]["found_in"] == str(older)


@pytest.mark.slow
def test_a_released_record_cut_short_is_a_cut_not_a_torn_write(tmp_path: Path) -> None:
    """The older log's last record, which the newer log names as its head, lost its last
    40 bytes: verify says records were cut, on the older log, instead of 'torn'."""
    newer, older, _ = _rotated(tmp_path)
    data = older.read_bytes()
    older.write_bytes(data[:-40])
    done = run_cli("audit", "verify", str(newer))
    assert done.returncode == 1
    assert f"{older}:3: truncated:" in done.stderr
    assert "a released record was cut, not a crash mid-write" in done.stderr


@pytest.mark.slow
def test_records_removed_from_the_older_log_are_a_cut(tmp_path: Path) -> None:
    """Whole records dropped from the older log's end: the newer log's rotated_from tells."""
    newer, older, _ = _rotated(tmp_path)
    lines = older.read_bytes().splitlines(keepends=True)
    older.write_bytes(b"".join(lines[:1]))
    done = run_cli("audit", "verify", str(newer), str(older))
    assert done.returncode == 1
    assert f"{older}:2: truncated: the log ends at seq 1" in done.stderr


@pytest.mark.slow
def test_a_deleted_predecessor_is_reported_not_passed(tmp_path: Path) -> None:
    """A log whose predecessor is gone does not verify as plain 'ok': it names the break,
    and passes only when the operator says the predecessor was removed on purpose."""
    newer, older, _ = _rotated(tmp_path)
    older.unlink()
    done = run_cli("audit", "verify", str(newer))
    assert done.returncode == 1
    assert f"{newer}:1: missing-predecessor:" in done.stderr
    accepted = run_cli("audit", "verify", str(newer), "--start-here")
    assert accepted.returncode == 0, accepted.stderr
    assert "continues a log that is gone (seq 3)" in accepted.stdout


@pytest.mark.slow
def test_a_predecessor_that_other_writers_went_on_with_links(tmp_path: Path) -> None:
    """rotated_from may name a record before the older log's end (another process wrote
    there before it noticed the rotation): that is a link, and says so."""
    older, newer = tmp_path / "old.jsonl", tmp_path / "audit.jsonl"
    records = _log(older, 4)
    seen = records[1]
    _log(newer, 1, first={"rotated_from": {"seq": seen["seq"], "head": seen["mac"]}})
    done = run_cli("audit", "verify", str(newer), str(older))
    assert done.returncode == 0, done.stderr
    assert "a record other writers went past" in done.stdout


@pytest.mark.slow
def test_a_rotated_from_naming_another_log_is_a_broken_link(tmp_path: Path) -> None:
    """The older log given holds another record at that seq: not its successor."""
    older, newer = tmp_path / "old.jsonl", tmp_path / "audit.jsonl"
    _log(older, 3)
    _log(newer, 1, first={"rotated_from": {"seq": 2, "head": "ab" * 32}})
    done = run_cli("audit", "verify", str(newer), str(older))
    assert done.returncode == 1
    assert f"{newer}:1: broken-link:" in done.stderr


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(min_value=2, max_value=10_000))
def test_any_cut_into_the_older_logs_records_is_found(cut: int) -> None:
    """Cutting the older log anywhere inside its records (more than the final newline) makes
    verify_trail name that log as truncated: the newer log's rotated_from remembers its end."""
    with tempfile.TemporaryDirectory() as folder:
        newer, older, _ = _rotated(Path(folder), older_count=5)
        data = older.read_bytes()
        older.write_bytes(data[: max(0, len(data) - cut)])
        with pytest.raises(AuditChainError) as raised:
            verify_trail([str(newer), str(older)])
        assert (raised.value.path, raised.value.kind) == (str(older), "truncated")
