"""examples/orders end to end: the shipped app, policy and probe, a real kill -3, the real
audit file; and the README's walkthrough shows exactly what it prints."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

from safeprobe.audit.trail import verify_chain
from tests.harness import REPO, ExampleApp, copy_example, read_records

MARKER = "<!-- output of examples/orders/probes/oncall.py"
DB_PASSWORD = "corpus-db-pw-7Qx2"


def readme_output() -> str:
    """The text block after the README's marker."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    after = text[text.index(MARKER) :]
    block = re.search(r"```text\n(.*?)```", after, re.DOTALL)
    assert block is not None
    return block.group(1)


def test_the_readme_walkthrough_prints_what_the_example_prints(tmp_path: Path) -> None:
    """kill -3 on examples/orders/app.py prints the README's block byte for byte, with the
    password redacted in the output and absent from the audit log."""
    folder = copy_example("orders", tmp_path)
    app = ExampleApp(["orders/app.py"], cwd=tmp_path)
    try:
        pid = int(app.wait_for(r"orders: pid (\d+)")[0][1])
        assert pid == app.proc.pid
        os.kill(pid, signal.SIGQUIT)
        report = app.report(1)
        assert report.startswith("--- safeprobe orders #1 oncall.py: ok in ")
        body = report.split("\n", 1)[1].removesuffix("--- end safeprobe #1 ---\n")
        assert body == readme_output()
        assert DB_PASSWORD not in app.stderr()
        assert DB_PASSWORD not in (folder / "audit.jsonl").read_text()
        records = read_records(folder / "audit.jsonl")
        assert [(r["seq"], r["outcome"]) for r in records] == [(1, "ok")]
        assert verify_chain(str(folder / "audit.jsonl")).records == 1
    finally:
        app.stop()
