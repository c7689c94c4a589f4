"""`trigger --children MASTER` signals only the processes it listed, never a process that
took a listed worker's pid afterwards.

Technique: PID reuse between check and use (CWE-367, TOCTOU; the reason pidfd_open(2)
exists: "Pidfds ... avoid PID recycling races", Christian Brauner, LWN 2019,
https://lwn.net/Articles/794707/). The workers are triggered one after another, each
waiting up to --wait, so a worker listed at the start may have ended (gunicorn recycles
workers with max_requests) and its pid been given to another process before its turn: a
safeprobe host of another user would run its probe for the operator, and its output
would be shown under '== worker PID =='. The test makes the reuse certain inside a new pid
namespace, where root chooses the next pid (/proc/sys/kernel/ns_last_pid, as CRIU does).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.harness import REPO

MISSING = os.geteuid() != 0 or shutil.which("unshare") is None
if MISSING and os.environ.get("SAFEPROBE_CI") == "1":
    pytest.fail("CI must run this: needs root and util-linux unshare", pytrace=False)
pytestmark = pytest.mark.skipif(
    MISSING, reason="needs root and util-linux unshare (a pid namespace)"
)

WORKER = """
import signal, sys
import safeprobe
safeprobe.install(sys.argv[1])
while True:
    signal.pause()
"""

MASTER = """
import signal, subprocess, sys, time
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # a killed worker is reaped at once
worker, first, second = sys.argv[1:4]
one = subprocess.Popen([sys.executable, worker, first])
two = subprocess.Popen([sys.executable, worker, second])
print(one.pid, two.pid, flush=True)
time.sleep(120)
"""

# Runs as pid 1 of the new namespace: starts the master, waits for both workers to
# announce, starts `trigger --children`, and once the first worker's attempt is running
# (its fork child exists) kills the second worker and starts an impostor host on its pid.
DRIVER = """
import json, os, signal, subprocess, sys, time
from pathlib import Path
folder = Path(sys.argv[1])
runtime = Path(os.environ["SAFEPROBE_RUNTIME_DIR"])
py = sys.executable

def wait(what, check, limit=30):
    end = time.monotonic() + limit
    while not check():
        if time.monotonic() > end:
            print(json.dumps({"error": "timed out: " + what}), flush=True)
            sys.exit(1)
        time.sleep(0.01)

master = subprocess.Popen(
    [py, str(folder / "master.py"), str(folder / "worker.py"),
     str(folder / "w1.yaml"), str(folder / "w2.yaml")],
    stdout=subprocess.PIPE, text=True)
w1, w2 = map(int, master.stdout.readline().split())
wait("announcements", lambda: (runtime / f"{w1}.json").exists()
     and (runtime / f"{w2}.json").exists())
cli = subprocess.Popen(
    [py, "-m", "safeprobe", "trigger", "--children", str(master.pid), "--wait", "30",
     "--busy-after", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

def attempt_running():  # the runner thread forked the probe's child
    for task in Path(f"/proc/{w1}/task").iterdir():
        try:
            if (task / "children").read_text().split():
                return True
        except OSError:
            pass
    return False

wait("the first worker's attempt", attempt_running)
os.kill(w2, signal.SIGKILL)
wait("the second worker's end", lambda: not Path(f"/proc/{w2}").exists())
Path("/proc/sys/kernel/ns_last_pid").write_text(str(w2 - 1))
impostor = subprocess.Popen([py, str(folder / "worker.py"), str(folder / "impostor.yaml")])
wait("the impostor's announcement", lambda: (runtime / f"{impostor.pid}.json").exists()
     and json.loads((runtime / f"{impostor.pid}.json").read_text())["pid"] == impostor.pid)
out, err = cli.communicate(timeout=120)
print(json.dumps({"w2": w2, "impostor": impostor.pid, "code": cli.returncode,
                  "stdout": out, "stderr": err}), flush=True)
impostor.kill()
master.kill()
"""


def _policy(folder: Path, name: str, probe: str) -> None:
    (folder / f"{name}.py").write_text(probe, encoding="utf-8")
    policy = {
        "version": 1,
        "name": name,
        "trigger": {"signal": "SIGQUIT", "cooldown": "0s"},
        "probe": {"path": f"{name}.py"},
        "limits": {"timeout": "20s", "max_steps": 100_000_000},
        "output": "file",
        "output_dir": str(folder / f"{name}-out"),
        "audit": {"path": str(folder / f"{name}.jsonl")},
    }
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")


def test_a_pid_reused_after_the_children_were_listed_is_not_triggered(tmp_path: Path) -> None:
    """The impostor that took a listed worker's pid runs nothing and shows nothing."""
    folder = tmp_path
    folder.chmod(0o755)
    (folder / "worker.py").write_text(WORKER, encoding="utf-8")
    (folder / "master.py").write_text(MASTER, encoding="utf-8")
    (folder / "driver.py").write_text(DRIVER, encoding="utf-8")
    # The first worker's probe runs a few seconds: the window the impostor uses.
    _policy(folder, "w1", "n = 0\nfor i in range(3000000):\n    n += 1\nprint('W1 done', n)\n")
    _policy(folder, "w2", "print('W2')\n")
    _policy(folder, "impostor", "print('IMPOSTOR RAN')\n")
    runtime = folder / "runtime"
    env = dict(os.environ, PYTHONPATH=str(REPO), SAFEPROBE_RUNTIME_DIR=str(runtime))
    done = subprocess.run(
        [
            "unshare",
            "--pid",
            "--fork",
            "--mount-proc",
            sys.executable,
            str(folder / "driver.py"),
            str(folder),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert done.stdout.strip(), done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "error" not in result, (result, done.stderr)
    assert result["impostor"] == result["w2"], "the pid was not reused; the test proves nothing"
    assert "W1 done" in result["stdout"], result
    assert "IMPOSTOR RAN" not in result["stdout"], result["stdout"]
    impostor_log = folder / "impostor.jsonl"
    assert not impostor_log.exists() or not impostor_log.read_text().strip()
    assert f"process {result['w2']}" in result["stderr"], result["stderr"]
