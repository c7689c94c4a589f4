"""What the operator sees of an attempt: its output framed on the host's stderr, or in the
attempt's result file with one line on stderr.

Promise: writing to the host's stderr never raises into host code (a closed or broken
``sys.stderr`` falls back to fd 2, then to nothing); a probe's output is shown only for an
attempt whose record is written (the runner calls ``report_output`` after the append), and
with ``output: file`` it goes only to that attempt's own result file (results.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from safeprobe.attempt import Attempt, Outcome
from safeprobe.errors import ResultFileError
from safeprobe.host.execution import Result
from safeprobe.host.results import write_result
from safeprobe.policy.models import Policy
from safeprobe.policy.named_probes import DEFAULT_PROBE
from safeprobe.probe.budget import OutputBuffer


def report_output(
    policy: Policy,
    record: Mapping[str, object],
    *,
    probe_name: str | None,
    probe_path: str | None,
    result: Result,
    output: OutputBuffer,
    duration_ms: float,
    write_stderr: Callable[[str], None],
) -> None:
    """Show the operator the probe's output: framed on the host's stderr, or with
    ``output: file`` in the attempt's result file, with one line on stderr."""
    seq, mac = record["seq"], record["mac"]
    body = output.text()
    if body and not body.endswith("\n"):
        body += "\n"
    tail = ""
    if result.outcome is not Outcome.OK:
        tail = f"safeprobe: {result.reason}\n"
        if result.detail:
            tail += f"safeprobe: {result.detail}\n"
    shown = probe_name or "?"
    if probe_path is not None and probe_name == DEFAULT_PROBE:
        shown = Path(probe_path).name
    summary = f"safeprobe {policy.name} #{seq} {shown}: {result.outcome} in {duration_ms:.1f} ms"
    if policy.output == "file" and isinstance(seq, int) and isinstance(mac, str):
        try:
            where = write_result(policy.output_dir, os.getpid(), seq, mac, body + tail)
        except ResultFileError as exc:
            write_stderr(f"safeprobe: #{seq}: {exc}; output not delivered\n")
            return
        write_stderr(f"{summary}; output in {where}\n")
        return
    write_stderr(f"--- {summary} ---\n{body}{tail}--- end safeprobe #{seq} ---\n")


def unaudited(outcome: Outcome, reason: str) -> Attempt:
    """An attempt that has no audit record (no valid policy, or the log cannot be written)."""
    return Attempt(
        outcome=outcome,
        reason=reason,
        output="",
        output_truncated=False,
        duration_ms=0.0,
        steps=0,
        probe_path=None,
        probe_sha256=None,
        seq=None,
        audited=False,
    )


def write_host_stderr(text: str) -> None:
    """Write to the host's sys.stderr; if it is gone or broken, to fd 2; never raise."""
    stream = sys.stderr
    if stream is not None:
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            pass
        else:
            return
    try:
        os.write(2, text.encode("utf-8", "replace"))
    except OSError:
        return
