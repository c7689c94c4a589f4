"""examples/prefork end to end: workers forked from one master, each installing safeprobe
after the fork, each answering its own kill -3, all appending to one audit chain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.harness import REPO, ExampleApp, copy_example, read_records, wait_until

WORKERS = 3
REQUESTS = 12


def test_every_worker_answers_and_one_chain_holds_every_record(tmp_path: Path) -> None:
    """Every prefork worker answers its own signal, and one intact chain holds every record."""
    folder = copy_example("prefork", tmp_path)
    app = ExampleApp(["prefork/app.py", str(WORKERS)], cwd=tmp_path)
    try:
        master = app.wait_for(r"prefork: master (\d+), port (\d+)")[0]
        assert int(master[1]) == app.proc.pid
        ready = app.wait_for(r"prefork: worker (\d+) ready, pid (\d+)", count=WORKERS)
        workers = {int(m[2]): int(m[1]) for m in ready}  # pid -> worker index
        for number in range(REQUESTS):
            url = f"http://127.0.0.1:{master[2]}/page/{number}"
            with urllib.request.urlopen(url, timeout=30) as response:
                assert response.read().startswith(b"worker ")
        log = folder / "audit.jsonl"
        served = 0
        for seq, pid in enumerate(workers, start=1):
            os.kill(pid, signal.SIGQUIT)
            wait_until(lambda seq=seq: len(read_records(log)) >= seq, f"record #{seq}")
            report = app.report(seq)
            assert f"--- safeprobe prefork #{seq} worker.py: ok in " in report
            line = report.splitlines()[1]
            assert line.startswith(f"worker {workers[pid]}: ")
            served += int(line.split()[2])
            assert f"Process {pid} (parent {app.proc.pid})," in report
        assert served == REQUESTS
        records = read_records(log)
        assert [r["seq"] for r in records] == list(range(1, WORKERS + 1))
        assert [r["host"]["pid"] for r in records] == list(workers)
        assert {r["outcome"] for r in records} == {"ok"}
        verify = subprocess.run(
            [sys.executable, "-m", "safeprobe", "audit", "verify", str(log)],
            capture_output=True,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
            timeout=60,
            check=False,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert verify.stdout.startswith(f"ok: {WORKERS} records, chain intact\n")
    finally:
        app.stop()
