"""The benchmark suite runs in quick mode and produces every figure (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.driver import child_env
from benchmarks.forkcost import longest_gaps_ms, parts_ms
from tests.harness import REPO

# One id per row of BENCHMARKS.md; the fork rows are per host size, checked by count.
EXPECTED_ROWS = {
    "idle_cpu",
    "idle_io",
    "idle_cpu_threaded",
    "idle_io_threaded",
    "trigger_cached_p50",
    "trigger_cached_p99",
    "trigger_changed_p50",
    "trigger_changed_p99",
    "trigger_cached_inside_p50",
    "guard_dict",
    "guard_tree",
    "hot_attribute_read",
    "hot_iteration",
    "hot_audit_append",
    "overshoot_thread_p50",
    "overshoot_thread_p99",
    "overshoot_fork_p50",
    "overshoot_fork_p99",
    "disturbance_thread",
    "disturbance_fork",
    "disturbance_gap_thread",
    "storm_survived",
    "storm_rss_growth",
    "storm_probe_runs",
    "storm_audit_records",
    "storm_audit_bytes",
}


@pytest.mark.slow
def test_quick_mode_writes_every_figure(tmp_path: Path) -> None:
    """`python -m benchmarks --quick` writes BENCHMARKS.md and benchmarks.json with a row for
    every figure, each with its median, min and max, and a goal verdict where one is set."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out-dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    document = json.loads((tmp_path / "benchmarks.json").read_text())
    rows = {row["id"]: row for row in document["rows"]}
    assert set(rows) >= EXPECTED_ROWS
    fork_rows = [name for name in rows if name.startswith("fork_")]
    # 2 host sizes x fork/thread x p50/p99, and per size the attempt against a bare fork
    assert len(fork_rows) == 10, fork_rows
    floors = [rows[name] for name in fork_rows if name.endswith("_floor_p50")]
    assert len(floors) == 2, floors
    assert all(row["baseline"] is not None for row in floors), floors
    assert all(row["goal"] is not None for row in floors), floors
    # Fork cost: per host size, the attempt beside its floor, the stall, the idle gap and
    # the stall per GB; and the table of where an attempt's time goes, one column a size.
    kinds = ("latency", "stall", "idle_gap", "stall_per_gb")
    sizes = {name.split("_")[1] for name in rows if name.startswith("forkcost_")}
    assert len(sizes) == 2, sizes
    assert {f"forkcost_{size}_{kind}" for size in sizes for kind in kinds} <= set(rows)
    assert rows[f"forkcost_{min(sizes)}_stall"]["baseline"] is not None  # the bare fork
    for row in rows.values():
        assert {"median", "min", "max", "n"} <= set(row["safeprobe"]), row["id"]
        assert row["met"] in (True, False, None)
        if row["goal"] is not None:
            assert row["met"] is not None, row["id"]
    assert {"cpu", "cores", "python"} <= set(document["machine"])
    text = (tmp_path / "BENCHMARKS.md").read_text()
    assert "| figure | safeprobe | baseline | ratio | goal | machine |" in text
    assert text.count("\n| ") >= len(rows) + 1
    assert "## Closing note" in text
    section = text[text.index("## Fork isolation: what the host pays") :]
    assert "| `os.fork()` in the parent: page-table copy" in section
    assert "| audit append (lock, chain, write, fsync) |" in section


def test_a_stall_overlapping_a_window_counts_whole() -> None:
    """A heartbeat gap that starts before a window or ends after it is the window's stall."""
    stamps = [0.000, 0.001, 0.002, 0.090, 0.091, 0.092]
    assert longest_gaps_ms(stamps, [(0.0012, 0.0018)]) == pytest.approx([1.0])  # on time
    assert longest_gaps_ms(stamps, [(0.0025, 0.0030)]) == pytest.approx([88.0])  # inside
    assert longest_gaps_ms(stamps, [(0.0895, 0.0915)]) == pytest.approx([88.0])  # ends in it
    assert longest_gaps_ms(stamps, [(0.0905, 0.0915)]) == pytest.approx([1.0])  # after it


def test_a_missing_mark_merges_its_part_into_the_next() -> None:
    """A safeprobe function renamed since the figure was written does not break the table:
    the part it marked is counted in the part after it."""
    marks = {"prepared": 1.001, "forked": 1.011, "done": 1.020}
    parts = parts_ms(marks, started=1.000)
    assert list(parts) == ["prepared", "forked", "done"]
    assert parts["forked"] == pytest.approx(10.0)
    assert sum(parts.values()) == pytest.approx(20.0)
