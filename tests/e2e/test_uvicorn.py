"""Real uvicorn (asyncio) with safeprobe installed in the app's lifespan startup: a probe
reads the app's counters and every task of the running event loop with what it awaits,
from outside the loop, and the server keeps serving."""

from __future__ import annotations

import os
import threading
import urllib.request
from pathlib import Path

import pytest

from tests.harness import ExampleApp, copy_example, read_records, run_cli, wait_until

try:
    import uvicorn
except ImportError:  # pragma: no cover - the test extra installs it
    uvicorn = None
if uvicorn is None and os.environ.get("SAFEPROBE_CI") == "1":
    pytest.fail("CI must run this: uvicorn is in the test extra (pip install -e '.[test]')")
pytestmark = pytest.mark.skipif(uvicorn is None, reason="needs uvicorn (the test extra)")

REQUESTS = 10


def _get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        assert response.status == 200
        return response.read().decode()


def test_a_probe_reads_the_app_and_its_tasks_while_uvicorn_serves(tmp_path: Path) -> None:
    """The probe shows the requests served, the one in flight and the await chain of each
    task (the stuck request in wait_for_release, the ticker, uvicorn's server); one record per
    attempt with uvicorn's pid; requests are answered between and after the attempts."""
    folder = copy_example("uvicorn_service", tmp_path)
    argv = ["-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", "0", "--loop", "asyncio"]
    app = ExampleApp(argv, cwd=folder)
    slow: list[str] = []
    waiter = threading.Thread(target=lambda: slow.append(_get(port, "/slow")), daemon=True)
    try:
        app.wait_for(r"safeprobe: installed \S+service\.yaml on SIGQUIT")
        port = int(app.wait_for(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")[0][1])
        for number in range(REQUESTS):
            assert _get(port, f"/page/{number}") == f"{number + 1} served\n"
        waiter.start()
        wait_until(lambda: _get(port, "/health").endswith(" 1 in flight\n"), "/slow in flight")

        first = run_cli("trigger", str(app.proc.pid), cwd=folder)
        assert first.returncode == 0, first.stdout + first.stderr
        lines = first.stdout.splitlines()
        assert lines[0].startswith(f"#1 default in process {app.proc.pid}: ok in ")
        assert lines[1].startswith(f"{REQUESTS} served, 1 in flight, ")
        tasks = {line.split()[0]: line for line in lines[2:]}
        assert "ticker" in tasks
        assert "sleep:" in tasks["ticker"]
        assert " < ticker:" in tasks["ticker"]
        stuck = [line for line in lines[2:] if "< wait_for_release:" in line]
        assert len(stuck) == 1
        assert stuck[0].split()[2].startswith("Event.wait:")
        assert any("Server.serve:" in line for line in lines[2:])

        assert _get(port, "/release") == f"{REQUESTS + 1} served\n"
        waiter.join(timeout=30)
        assert slow == [f"{REQUESTS + 2} served\n"]
        second = run_cli("trigger", str(app.proc.pid), cwd=folder)
        assert second.returncode == 0, second.stdout + second.stderr
        assert second.stdout.splitlines()[1].startswith(f"{REQUESTS + 2} served, 0 in flight, ")
        assert "wait_for_release" not in second.stdout

        records = read_records(folder / "audit.jsonl")
        assert [r["seq"] for r in records] == [1, 2]
        assert {r["host"]["pid"] for r in records} == {app.proc.pid}
        assert {r["outcome"] for r in records} == {"ok"}
        assert _get(port, "/after") == f"{REQUESTS + 3} served\n"
    finally:
        app.stop()
        waiter.join(timeout=5)
