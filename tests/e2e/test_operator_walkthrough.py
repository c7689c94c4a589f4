"""docs/operators.md's first-minute walkthrough, command by command, as a person new to the project
would type it: lint the probes, start the HTTP example, trigger it, read the result, show
and verify the audit trail."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from tests.harness import ExampleApp, copy_example, run_cli


def test_lint_trigger_read_the_result_and_the_audit_trail(tmp_path: Path) -> None:
    """The docs/operators.md walkthrough works: lint, trigger two probes, read, verify the log."""
    folder = copy_example("http_service", tmp_path)
    policy = "http_service/policies/ops.yaml"
    for named in ("default", "threads"):
        linted = run_cli("lint", "--policy", policy, "--named", named, cwd=tmp_path)
        assert linted.returncode == 0, linted.stdout
        assert linted.stdout.endswith(": ok against ops.yaml\n")

    app = ExampleApp(["http_service/app.py", policy], cwd=tmp_path)
    try:
        match = app.wait_for(r"http: pid (\d+), port (\d+)")[0]
        pid, port = match[1], int(match[2])
        for user in ("1", "2", "3", "1", "7"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/users/{user}", timeout=30):
                pass

        done = run_cli("trigger", pid, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0].startswith(f"#1 default in process {pid}: ok in ")
        assert lines[1:4] == [
            "requests: 5 total, 0 in flight",
            "  /users       5",
            "by status: {200: 5}",
        ]
        assert "api_token=<redacted>, signing_key=<redacted>)" in done.stdout

        dump = run_cli("trigger", pid, "--probe", "threads", cwd=tmp_path)
        assert dump.returncode == 0, dump.stderr
        assert dump.stdout.splitlines()[1].startswith("Thread dump (")
        assert 'Thread "MainThread"' in dump.stdout
        assert "(running this probe)" in dump.stdout

        results = sorted((folder / "results").iterdir())
        assert [p.name.split("-")[:2] for p in results] == [[pid, "1"], [pid, "2"]]
        assert {p.stat().st_mode & 0o777 for p in results} == {0o600}
    finally:
        app.stop()

    shown = run_cli("audit", "show", "http_service/audit.jsonl", cwd=tmp_path)
    assert shown.returncode == 0
    rows = shown.stdout.splitlines()[1:]
    assert [row.split()[3] for row in rows] == ["requests.py", "threads.py"]
    verified = run_cli("audit", "verify", "http_service/audit.jsonl", "--json", cwd=tmp_path)
    assert verified.returncode == 0
    assert json.loads(verified.stdout)["records"] == 2
