"""Real uvicorn (asyncio) with safeprobe installed in the app's lifespan startup: a probe
reads the app's counters and every task of the running event loop with what it awaits,
from outside the loop, and the server keeps serving."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
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
        time.sleep(0.6)  # past the policy's 500 ms cooldown since the first attempt
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


# An ASGI app that knows nothing of safeprobe: `safeprobe run` installs it before uvicorn.
PLAIN_APP = """
import asyncio

napping = 0


async def app(scope, receive, send):
    global napping
    if scope["type"] != "http":
        return
    if scope["path"] == "/nap":
        napping += 1
        await asyncio.sleep(3600)
    body = f"{napping} napping\\n".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
"""


def _nap(port: Callable[[], int]) -> None:
    """A request that naps in the app until the server stops and drops it."""
    with contextlib.suppress(OSError):
        _get(port(), "/nap")


def test_safeprobe_run_with_the_builtin_asyncio_policy_under_uvicorn(tmp_path: Path) -> None:
    """`safeprobe run --policy asyncio -- uvicorn plain:app` installs before uvicorn starts
    an app that knows nothing of safeprobe; the built-in probe lists uvicorn's tasks, a
    request napping in the app among them, and the server keeps serving."""
    (tmp_path / "plain.py").write_text(PLAIN_APP, encoding="utf-8")
    bin_dir = str(Path(sys.executable).parent)
    argv = ["-m", "safeprobe", "run", "--policy", "asyncio", "--", "uvicorn", "plain:app"]
    app = ExampleApp(
        [*argv, "--host", "127.0.0.1", "--port", "0", "--loop", "asyncio"],
        cwd=tmp_path,
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    napper = threading.Thread(target=_nap, args=(lambda: port,), daemon=True)
    try:
        app.wait_for(r"safeprobe: installed \S+asyncio\.yaml on SIGQUIT")
        port = int(app.wait_for(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")[0][1])
        assert _get(port, "/one") == "0 napping\n"
        napper.start()
        wait_until(lambda: _get(port, "/count") == "1 napping\n", "the nap to start")
        done = run_cli("trigger", str(app.proc.pid), cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "the output went to the host's stderr" in done.stdout
        report = app.report(1)
        assert "Server.serve" in report
        assert "RequestResponseCycle.run_asgi" in report
        assert "plain.py" in report  # the napping request's frame in the app
        records = read_records(tmp_path / "safeprobe-audit.jsonl")
        assert [(r["host"]["pid"], r["outcome"]) for r in records] == [(app.proc.pid, "ok")]
        assert _get(port, "/two") == "1 napping\n"
    finally:
        app.stop()
