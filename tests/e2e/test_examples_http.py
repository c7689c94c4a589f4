"""examples/http_service end to end: the shipped app, policies and probes, a real kill -3,
the real audit file."""

from __future__ import annotations

import json
import os
import signal
import threading
import urllib.request
from pathlib import Path

from safeprobe.audit.trail import verify_chain
from tests.harness import ExampleApp, copy_example, read_records, wait_until

SECRETS = ("tok_live_5f2a9c0d7e1b", "sk-3b8e41f09a7c")


def get(port: int, path: str) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        body: dict[str, object] = json.loads(response.read())
        return body


def start(tmp_path: Path, *args: str) -> tuple[ExampleApp, int]:
    app = ExampleApp(["http_service/app.py", *args], cwd=tmp_path)
    match = app.wait_for(r"http: pid (\d+), port (\d+)")[0]
    assert int(match[1]) == app.proc.pid
    return app, int(match[2])


def test_counters_and_the_cache_with_its_credentials_redacted(tmp_path: Path) -> None:
    """probes/requests.py shows live counters and the cache; both secrets read <redacted>."""
    folder = copy_example("http_service", tmp_path)
    app, port = start(tmp_path)
    try:
        for user in ("1", "2", "3", "1", "2", "3", "7"):
            get(port, f"/users/{user}")
        os.kill(app.proc.pid, signal.SIGQUIT)
        report = app.report(1)
        assert "--- safeprobe http #1 requests.py: ok in " in report
        assert "requests: 7 total, 0 in flight\n" in report
        assert "  /users       7\n" in report
        assert "by status: {200: 7}\n" in report
        assert "cache: 4 users, 3 hits, 4 misses\n" in report
        assert "api_token=<redacted>, signing_key=<redacted>)" in report
        assert f"Process {app.proc.pid} (parent " in report
        audit = (folder / "audit.jsonl").read_text()
        for secret in SECRETS:
            assert secret not in app.stderr()
            assert secret not in audit
        records = read_records(folder / "audit.jsonl")
        assert [(r["seq"], r["outcome"]) for r in records] == [(1, "ok")]
        assert verify_chain(str(folder / "audit.jsonl")).records == 1
    finally:
        app.stop()


def test_print_threads_finds_the_stuck_request(tmp_path: Path) -> None:
    """policies/threads.yaml: the one-line probe print(threads) shows the handler thread
    waiting on the upstream, with its whole stack."""
    folder = copy_example("http_service", tmp_path)
    app, port = start(tmp_path, "http_service/policies/threads.yaml")
    export = threading.Thread(target=get, args=(port, "/export"), daemon=True)
    try:
        export.start()
        # /health counts itself as in flight, so the export makes two.
        wait_until(lambda: get(port, "/health")["in_flight"] == 2, "the export in flight")
        os.kill(app.proc.pid, signal.SIGQUIT)
        report = app.report(1)
        assert report.splitlines()[1].startswith("Thread dump (")
        stuck = next(block for block in report.split("\n\n") if "wait_for_upstream" in block)
        assert stuck.startswith('Thread "Thread-')
        assert "(process_request_thread)" in stuck.splitlines()[0]
        frames = [line.rsplit(" in ", 1)[-1] for line in stuck.splitlines()[1:]]
        assert frames.index("wait_for_upstream") < frames.index("Handler.do_GET")
        assert 'Thread "MainThread"' in report
        assert "in BaseServer.serve_forever" in report
        assert "(running this probe)" in report
        records = read_records(folder / "audit.jsonl")
        assert [(r["policy"]["name"], r["outcome"]) for r in records] == [("http-threads", "ok")]
    finally:
        get(port, "/recover")
        export.join(10)
        app.stop()
