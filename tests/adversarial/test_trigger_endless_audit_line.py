"""`safeprobe trigger` holds a bounded amount of the audit file while it waits for the
record, however the host's user grows that file.

Technique: unbounded buffering of attacker-fed input (CWE-770, "Allocation of Resources
Without Limits or Throttling"; the classic line-reader flaw, e.g. CVE-2021-41182-style
readline memory exhaustion): the audit file is the host's, written by the host's user, who
may be hostile to the operator running `trigger` as root. A line that never ends (here a
sparse run of NUL bytes appended without a newline) was kept whole in memory, growing by a
megabyte every 10 ms poll until --wait ran out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from tests.harness import REPO, Host, base_policy

# The trigger's peak RSS, measured by its parent: a wrapper that runs it and reports
# ru_maxrss of its children (KiB on Linux).
MEASURE = """
import resource, subprocess, sys
done = subprocess.run([sys.executable, "-m", "safeprobe", *sys.argv[1:]], capture_output=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode)
"""
GROWTH = 64 * 1024 * 1024  # each step: 64 MiB more of one line, sparse (no disk used)
PEAK_LIMIT_KIB = 120 * 1024  # a trigger needs ~40 MiB, plus a line of at most 16 MiB


def test_an_audit_line_that_never_ends_does_not_grow_the_trigger(make_host, tmp_path: Path) -> None:
    """trigger's peak memory stays bounded while the audit file grows one endless line."""
    host: Host = make_host("print('x')\n", base_policy(tmp_path, output="file"))
    host.probe()  # the audit file exists, with one record
    stop = threading.Event()

    def grow() -> None:
        while not stop.is_set():
            size = host.audit_path.stat().st_size
            os.truncate(host.audit_path, size + GROWTH)
            stop.wait(0.05)

    grower = threading.Thread(target=grow, daemon=True)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    grower.start()
    try:
        done = subprocess.run(
            [sys.executable, "-c", MEASURE, "trigger", str(host.pid), "--wait", "10"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=True,
        )
    finally:
        stop.set()
        grower.join(timeout=5)
        os.truncate(host.audit_path, 0)  # give the disk its apparent size back
    peak_kib, code = map(int, done.stdout.split())
    assert code in (0, 5), done.stdout  # the record, or none within --wait: never a crash
    assert peak_kib < PEAK_LIMIT_KIB, f"trigger peaked at {peak_kib // 1024} MiB"
