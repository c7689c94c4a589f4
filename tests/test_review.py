"""audit show: filters, table, JSON and follow, through the library and the command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from safeprobe.audit.reader import read_records
from safeprobe.audit.sink import AuditSink
from safeprobe.tools.review import RecordFilter, follow, format_row, parse_when
from tests.harness import REPO


def _record(ts: str, outcome: str, pid: int, probe: str) -> dict[str, object]:
    return {
        "ts": ts,
        "host": {"pid": pid, "hostname": "h", "argv": []},
        "trigger": {"signal": "SIGQUIT", "sender_pid": 10, "sender_uid": 0, "received": "x"},
        "probe": {"path": f"/p/{probe}", "sha256": "ab" * 32},
        "outcome": outcome,
        "reason": "ok" if outcome == "ok" else "rule: problem",
        "duration_ms": 1.5,
    }


def _log(tmp_path: Path) -> Path:
    log = tmp_path / "audit.jsonl"
    sink = AuditSink(str(log))
    sink.append(_record("2026-11-27T01:00:00.000000Z", "ok", 1, "bar.py"))
    sink.append(_record("2026-11-27T02:00:00.000000Z", "denied", 2, "bar.py"))
    sink.append(_record("2026-11-27T03:00:00.000000Z", "ok", 2, "other.py"))
    return log


def test_filters_combine_and_each_narrows(tmp_path: Path) -> None:
    """Record filters by pid, outcome, time window and probe each narrow, and combine."""
    records, skipped = read_records(str(_log(tmp_path)))
    assert skipped == 0
    pick = [r["seq"] for r in records if RecordFilter(pid=2).matches(r)]
    assert pick == [2, 3]
    pick = [r["seq"] for r in records if RecordFilter(outcomes=frozenset({"denied"})).matches(r)]
    assert pick == [2]
    window = RecordFilter(since="2026-11-27T01:30", until="2026-11-27T02:30", probe="bar")
    assert [r["seq"] for r in records if window.matches(r)] == [2]


def test_relative_times_become_timestamps() -> None:
    """A duration ago, and an ISO time, both become the log's own timestamp form."""
    assert parse_when("1m", now=120.0) == "1970-01-01T00:01:00.000000Z"
    assert parse_when("2026-11-27T02:00", now=0) == "2026-11-27T02:00:00.000000Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-03T10:00", "2026-12-03T10:00:00.000000Z"),  # naive: UTC, as the log
        ("2026-12-03 10:00:30", "2026-12-03T10:00:30.000000Z"),
        ("2026-12-03T10:00Z", "2026-12-03T10:00:00.000000Z"),
        ("2026-12-03T12:00+02:00", "2026-12-03T10:00:00.000000Z"),
        ("2026-12-03", "2026-12-03T00:00:00.000000Z"),
        ("1h", "1970-01-01T23:00:00.000000Z"),
        ("30m", "1970-01-01T23:30:00.000000Z"),
        ("45s", "1970-01-01T23:59:15.000000Z"),
        ("1d", "1970-01-01T00:00:00.000000Z"),
    ],
)
def test_since_takes_iso_times_in_any_zone_and_durations(text: str, expected: str) -> None:
    """ISO times (naive ones are UTC, the log's zone) and durations ago become timestamps."""
    assert parse_when(text, now=86400.0) == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-13-45T10:00", "1w", "", "-1h", "10"])
def test_a_time_that_is_neither_iso_nor_a_duration_is_a_value_error(text: str) -> None:
    """What parse_when cannot read is a ValueError that names both forms it takes."""
    with pytest.raises(ValueError, match=r"2026-12-03T10:00.*1h"):
        parse_when(text, now=0.0)


def test_row_shows_time_sender_probe_digest_outcome_and_reason() -> None:
    """A table row shows the time, sender, probe, digest, outcome and reason."""
    row = format_row(_record("2026-11-27T02:00:00.000000Z", "denied", 2, "bar.py"))
    for part in ("2026-11-27T02:00:00", "0/10", "bar.py", "abababab", "denied", "rule: problem"):
        assert part in row


def test_row_says_which_vouched_host_code_ran() -> None:
    """Evaluated paths lead the reason, so the table's cut never hides them."""
    record = _record("2026-11-27T02:00:00.000000Z", "ok", 2, "bar.py")
    record["evaluated"] = {"ledger.label": 1, "ledger.size()": 3, "ledger.spin()": None}
    row = format_row(record)
    assert "[evaluated ledger.label, ledger.size() x3, ledger.spin() x?]" in row
    assert "evaluated" not in format_row(_record("2026-11-27T02:00:00.000000Z", "ok", 2, "b"))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "safeprobe", "audit", "show", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.mark.slow
def test_show_command_table_and_json(tmp_path: Path) -> None:
    """audit show prints a filtered table, or one JSON record a line."""
    log = _log(tmp_path)
    table = _cli(str(log), "--outcome", "ok")
    assert table.returncode == 0
    assert table.stdout.count("\n") == 3  # header and two rows
    lines = _cli(str(log), "--json", "--pid", "2").stdout.splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [2, 3]


@pytest.mark.slow
def test_show_follow_prints_new_records(tmp_path: Path) -> None:
    """audit show --follow prints the existing records, then each new one as it is appended."""
    log = _log(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with subprocess.Popen(
        [sys.executable, "-m", "safeprobe", "audit", "show", str(log), "--json", "--follow"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as proc:
        assert proc.stdout is not None
        seen = [json.loads(proc.stdout.readline())["seq"] for _ in range(3)]
        AuditSink(str(log)).append(_record("2026-11-27T04:00:00.000000Z", "busy", 3, "bar.py"))
        seen.append(json.loads(proc.stdout.readline())["seq"])
        proc.terminate()
    assert seen == [1, 2, 3, 4]


# Appends a record about every millisecond, so that records land while `audit show
# --follow` starts, prints what it found and turns to following.
_WRITER = """
import sys, time
from safeprobe.audit.sink import AuditSink
sink = AuditSink(sys.argv[1], fsync=False)
for n in range(int(sys.argv[2])):
    sink.append({"outcome": "ok", "reason": f"r{n}"})
    time.sleep(0.001)
"""


@pytest.mark.slow
def test_show_follow_misses_no_record_written_while_it_starts(tmp_path: Path) -> None:
    """Records appended between the first read and following all appear, once each, in
    order (13 were lost over 5 starts when follow reopened the file and sought its end)."""
    log = tmp_path / "audit.jsonl"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-c", _WRITER, str(log), "1500"], env=env, check=True)
    with (
        subprocess.Popen(
            [sys.executable, "-m", "safeprobe", "audit", "show", str(log), "--json", "--follow"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        ) as show,
        subprocess.Popen([sys.executable, "-c", _WRITER, str(log), "1500"], env=env) as writer,
    ):
        assert show.stdout is not None
        stream = show.stdout
        seen: list[int] = []
        reader = threading.Thread(
            target=lambda: seen.extend(json.loads(line)["seq"] for line in stream), daemon=True
        )
        reader.start()
        assert writer.wait(timeout=120) == 0
        deadline = time.monotonic() + 30
        while len(seen) < 3000 and time.monotonic() < deadline:
            time.sleep(0.05)
        show.terminate()
        reader.join(timeout=10)
    missing = sorted(set(range(1, 3001)) - set(seen))
    assert not missing, f"{len(missing)} records never shown, first {missing[:5]}"
    assert seen == list(range(1, 3001))


def test_follow_reads_on_into_the_log_that_replaced_a_rotated_one(tmp_path: Path) -> None:
    """After the log is renamed away and a new one started, follow reads what was left in
    the old file and then the new file from its start."""
    log = tmp_path / "audit.jsonl"
    sink = AuditSink(str(log), fsync=False)
    sink.append({"outcome": "ok", "reason": "old 1"})
    polls: list[int] = []

    def rotate_on_first_poll(_seconds: float) -> None:
        polls.append(1)
        if len(polls) == 1:
            sink.append({"outcome": "ok", "reason": "old 2"})
            log.rename(tmp_path / "audit.jsonl.1")
            sink.append({"outcome": "ok", "reason": "new 1"})

    reasons = [
        record["reason"]
        for record in follow(
            str(log), from_start=True, sleep=rotate_on_first_poll, keep_going=lambda: len(polls) < 3
        )
    ]
    assert reasons == ["old 1", "old 2", "new 1"]
