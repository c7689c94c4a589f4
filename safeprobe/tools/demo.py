"""``safeprobe demo``: the seed story end to end, narrated, in a temporary folder.

It starts examples/seed/foo.py as a real host process, sends it real SIGQUITs, edits the
probe between signals, tries two forbidden probes, and verifies the audit chain. Returns
True only when every step showed what it should, so the demo doubles as a smoke test.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

from safeprobe.audit.reader import read_records
from safeprobe.audit.record import AuditRecord
from safeprobe.audit.trail import verify_chain

_WAIT_S: Final = 5.0
_EDITED_PROBE: Final = """\
def execute():
    for key, value in sorted(my_object.data.items()):
        print(f"{key} -> {value.upper()}")
    print("keys:", len(my_object.data))
"""
_IMPORT_PROBE: Final = "import os\nprint(os.environ)\n"
_WRITE_PROBE: Final = "my_object.data['a'] = 'changed by a probe'\n"


class _StderrReader:
    """Collects the host's stderr lines on a thread, so the demo can wait for them."""

    def __init__(self, stream: object) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_for(self, needle: str, start: int) -> int | None:
        """Index of the first line from ``start`` on containing ``needle``, or None."""
        deadline = time.monotonic() + _WAIT_S
        with self._cond:
            while True:
                for index in range(start, len(self.lines)):
                    if needle in self.lines[index]:
                        return index
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)


def _say(text: str) -> None:
    print(text, flush=True)


def _seed_files() -> Traversable:
    """The shipped examples: installed as safeprobe_examples, or beside a source checkout."""
    try:
        return resources.files("safeprobe_examples") / "seed"
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "examples" / "seed"


def _copy_seed(target: Path) -> Path:
    seed = _seed_files()
    for relative in ("foo.py", "probes/bar.py", "policies/seed.yaml"):
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes((seed / relative).read_bytes())
        destination.chmod(0o644)
    return target


def _probe_once(host: subprocess.Popen[str], reader: _StderrReader, label: str) -> list[str] | None:
    start = len(reader.lines)
    _say(f"\n$ kill -3 {host.pid}    # {label}")
    os.kill(host.pid, signal.SIGQUIT)
    end = reader.wait_for("--- end safeprobe", start)
    if end is None:
        _say("  (no answer from the host)")
        return None
    shown = reader.lines[start : end + 1]
    for line in shown:
        _say(f"  {line}")
    return shown


def _write_probe(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o644)


# Each step: what it shows, the probe it writes first (None keeps the current one), the
# label of the kill -3, and a line the host's report must contain for the step to pass.
_STEPS: Final = (
    (
        "1. The probe probes/bar.py prints my_object.data:",
        None,
        "runs probes/bar.py",
        "{'a': 'aaa', 'b': 'bbb', 'c': 'ccc'}",
    ),
    (
        "2. Edit the probe and signal again, no restart:",
        _EDITED_PROBE,
        "runs the edited probe",
        "a -> AAA",
    ),
    (
        "3. A probe that imports os is refused before it runs:",
        _IMPORT_PROBE,
        "tries `import os`",
        "compile_error",
    ),
    (
        "4. A probe that writes to my_object.data is denied:",
        _WRITE_PROBE,
        "tries my_object.data['a'] = ...",
        "read-only",
    ),
    (
        "5. The host is unchanged:",
        "print(my_object.data['a'])\n",
        "reads my_object.data['a'] again",
        "aaa",
    ),
)
# The seed policy's cooldown is 500 ms; wait a little longer between signals.
_COOLDOWN_S: Final = 0.6


def _show_audit(audit: Path) -> bool:
    _say(f"\n6. The audit trail, {audit.name}: one record per signal, hash-chained:")
    prefix = f"{audit.parent}/"
    found, _skipped = read_records(str(audit))
    for written in found:
        record = AuditRecord.from_json(written)
        sender = record.trigger
        reason = record.reason.replace(prefix, "")[:70]
        _say(
            f"  #{record.seq} {record.ts} sender uid={sender.sender_uid} "
            f"pid={sender.sender_pid} {record.outcome:<13} {reason}"
        )
    report = verify_chain(str(audit))
    _say(f"\n$ safeprobe audit verify {audit.name}\n  ok: {report.records} records, chain intact")
    return report.records == len(_STEPS)


def _run_steps(workdir: Path) -> list[bool]:
    probe = workdir / "probes" / "bar.py"
    checks: list[bool] = []
    with subprocess.Popen(
        [sys.executable, "foo.py"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as host:
        try:
            reader = _StderrReader(host.stderr)
            if reader.wait_for("try: kill -3", 0) is None:
                _say("The host did not start.")
                return [False]
            _say(f"Host started, pid {host.pid}.")
            for index, (title, new_probe, label, expected) in enumerate(_STEPS):
                _say(f"\n{title}")
                if new_probe is not None:
                    _write_probe(probe, new_probe)
                if index:
                    time.sleep(_COOLDOWN_S)
                shown = _probe_once(host, reader, label) or []
                checks.append(any(expected in line for line in shown))
        finally:
            host.terminate()
            try:
                host.wait(timeout=_WAIT_S)
            except subprocess.TimeoutExpired:
                host.kill()
    checks.append(_show_audit(workdir / "audit.jsonl"))
    return checks


def run_demo(*, keep: bool = False) -> bool:
    """Run the story; True when every step showed what it should."""
    workdir = Path(tempfile.mkdtemp(prefix="safeprobe-demo-"))
    try:
        _copy_seed(workdir)
        _say(f"safeprobe demo, in {workdir}")
        _say("The host, foo.py, holds my_object.data and prints the time every 2 s.")
        _say("One line installs safeprobe: safeprobe.install('policies/seed.yaml').")
        checks = _run_steps(workdir)
    finally:
        if keep:
            _say(f"\nKept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    passed = all(checks) and len(checks) == len(_STEPS) + 1
    _say("\nDemo " + ("finished: every step behaved as shown." if passed else "FAILED: see above."))
    return passed
