"""examples/asyncio_service end to end: the loop runs in the host's main thread, and a
kill -3 lists its tasks from safeprobe's runner thread."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from safeprobe.audit.trail import verify_chain
from tests.harness import ExampleApp, copy_example, read_records

TASKS = ("heartbeat", "producer", "worker-1", "worker-2", "report-uploader")


def test_task_dump_shows_every_task_and_where_it_waits(tmp_path: Path) -> None:
    """Each named task, its state, and its await chain; the stuck uploader is in Event.wait."""
    folder = copy_example("asyncio_service", tmp_path)
    app = ExampleApp(["asyncio_service/app.py"], cwd=tmp_path)
    try:
        pid = int(app.wait_for(r"asyncio: pid (\d+)")[0][1])
        os.kill(pid, signal.SIGQUIT)
        report = app.report(1)
        assert "--- safeprobe asyncio #1 tasks.py: ok in " in report
        assert report.splitlines()[1].startswith("jobs: ")
        assert "asyncio tasks (6 tasks in 1 loop, most recent call first)" in report
        assert 'Loop 1 (6 tasks), running in thread "MainThread"' in report
        for name in TASKS:
            assert f'Task "{name}" pending, coroutine ' in report
        uploader = next(b for b in report.split("\n\n") if b.startswith('Task "report-uploader"'))
        assert uploader.splitlines()[0].endswith("awaiting Future pending")
        assert uploader.splitlines()[1].endswith("in Event.wait")
        assert uploader.splitlines()[2].endswith("in upload_report")
        assert "  report-uploader pending  upload_report:" in report
        records = read_records(folder / "audit.jsonl")
        assert [(r["seq"], r["outcome"]) for r in records] == [(1, "ok")]
        assert verify_chain(str(folder / "audit.jsonl")).records == 1
    finally:
        app.stop()
