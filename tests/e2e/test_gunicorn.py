"""Real gunicorn (prefork, sync workers) with safeprobe: installed in each worker by the
example's gunicorn_conf.py, and in the master by `safeprobe run`; each worker's probe reads
that worker's own counters, every attempt is one record of one audit chain, and the workers
keep serving. `safeprobe trigger --children MASTER` reaches every worker at once."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from safeprobe.tools.sender import announced_family, children_of
from tests.harness import ExampleApp, copy_example, read_records, run_cli, wait_until

try:
    import gunicorn
except ImportError:  # pragma: no cover - the test extra installs it
    gunicorn = None
if gunicorn is None and os.environ.get("SAFEPROBE_CI") == "1":
    pytest.fail("CI must run this: gunicorn is in the test extra (pip install -e '.[test]')")
pytestmark = pytest.mark.skipif(gunicorn is None, reason="needs gunicorn (the test extra)")

WORKERS = 2
REQUESTS = 12
BIN = str(Path(sys.executable).parent)  # where pip put the gunicorn console script


def _start(folder: Path, *launcher: str) -> tuple[ExampleApp, int]:
    """gunicorn with the example's config and 2 sync workers on a free loopback port (port
    0: gunicorn binds and logs it); the app and its port once every worker runs safeprobe.
    HOME is the test's, so gunicorn's control socket (~/.gunicorn) is private to it."""
    argv = [*launcher, "-c", "gunicorn_conf.py", "-w", str(WORKERS), "-b", "127.0.0.1:0"]
    app = ExampleApp(
        [*argv, "app:application"],
        cwd=folder,
        HOME=str(folder),
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    port = int(app.wait_for(r"Listening at: http://127\.0\.0\.1:(\d+)")[0][1])
    app.wait_for(r"safeprobe: installed \S+worker\.yaml", count=WORKERS)
    wait_until(lambda: len(_workers(app)) == WORKERS, "both workers announced")
    return app, port


def _workers(app: ExampleApp) -> list[int]:
    return [pid for pid in announced_family(app.proc.pid) if pid != app.proc.pid]


def _get(port: int, path: str) -> tuple[int, int]:
    """One request; the pid of the worker that served it and that worker's count so far."""
    url = f"http://127.0.0.1:{port}{path}"
    with urllib.request.urlopen(url, timeout=30) as response:
        body = response.read().decode()
    match = re.fullmatch(r"worker (\d+): (\d+) served\n", body)
    assert match is not None, body
    return int(match[1]), int(match[2])


def _serve(port: int, count: int, prefix: str) -> dict[int, int]:
    """count requests; each worker's last count, by pid."""
    last: dict[int, int] = {}
    for number in range(count):
        pid, served = _get(port, f"/{prefix}/{number}")
        last[pid] = served
    return last


def test_each_worker_answers_with_its_own_counters_in_one_chain(tmp_path: Path) -> None:
    """Installed by gunicorn's worker hook, each worker's probe shows that worker's own
    request count; one audit record per attempt names the worker's pid; workers keep serving."""
    folder = copy_example("gunicorn_service", tmp_path)
    app, port = _start(folder, "-m", "gunicorn")
    try:
        workers = _workers(app)
        last = _serve(port, REQUESTS, "page")
        assert set(last) <= set(workers)
        log = folder / "audit.jsonl"
        for seq, pid in enumerate(workers, start=1):
            done = run_cli("trigger", str(pid), cwd=folder)
            assert done.returncode == 0, done.stdout + done.stderr
            lines = done.stdout.splitlines()
            assert lines[0].startswith(f"#{seq} default in process {pid}: ok in ")
            assert lines[1].startswith(f"{last.get(pid, 0)} requests served, last ")
            assert f"Process {pid} (parent {app.proc.pid})," in done.stdout
            assert len(read_records(log)) == seq
        records = read_records(log)
        assert [r["host"]["pid"] for r in records] == workers
        assert {r["outcome"] for r in records} == {"ok"}
        assert {r["policy"]["name"] for r in records} == {"gunicorn-worker"}
        after = _serve(port, REQUESTS, "again")
        assert set(after) <= set(workers)
        assert sum(after.values()) == sum(last.values()) + REQUESTS
        verify = run_cli("audit", "verify", str(log))
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert verify.stdout.startswith(f"ok: {WORKERS} records, chain intact\n")
    finally:
        app.stop()


def test_trigger_children_reaches_every_worker_under_its_pid(tmp_path: Path) -> None:
    """`trigger --children MASTER` runs the probe in each worker that runs safeprobe and prints
    each result under its pid; the master, which does not announce, is not signalled."""
    folder = copy_example("gunicorn_service", tmp_path)
    app, port = _start(folder, "-m", "gunicorn")
    try:
        workers = _workers(app)
        assert children_of(app.proc.pid) == set(workers)  # gunicorn starts no other child
        last = _serve(port, REQUESTS, "page")
        done = run_cli("trigger", "--children", str(app.proc.pid), cwd=folder)
        assert done.returncode == 0, done.stdout + done.stderr
        sections = re.split(r"^== (\w+) (\d+) ==\n", done.stdout, flags=re.MULTILINE)
        assert sections[0] == ""
        heads = list(zip(sections[1::3], sections[2::3], strict=True))
        assert heads == [("worker", str(pid)) for pid in workers]
        for pid, text in zip(workers, sections[3::3], strict=True):
            assert f" in process {pid}: ok in " in text.splitlines()[0]
            assert text.splitlines()[1].startswith(f"{last.get(pid, 0)} requests served")
        records = read_records(folder / "audit.jsonl")
        assert [r["host"]["pid"] for r in records] == workers
        assert [r["seq"] for r in records] == list(range(1, WORKERS + 1))
        assert _get(port, "/still")[0] in workers
    finally:
        app.stop()


def test_trigger_children_json_and_a_worker_that_does_not_answer(tmp_path: Path) -> None:
    """--json gives one record per worker per line; a stopped worker costs its --wait, the
    others still answer, and the exit code is the failure's (5, no record)."""
    folder = copy_example("gunicorn_service", tmp_path)
    app, _port = _start(folder, "-m", "gunicorn")
    try:
        workers = _workers(app)
        done = run_cli("trigger", "--children", "--json", str(app.proc.pid), cwd=folder)
        cooldown_over = time.monotonic() + 0.6
        assert done.returncode == 0, done.stdout + done.stderr
        shown = [json.loads(line) for line in done.stdout.splitlines()]
        assert [one["record"]["host"]["pid"] for one in shown] == workers
        assert all(one["output"].startswith("0 requests served") for one in shown)
        # Past the policy's 500 ms cooldown, so the answering worker is not rate-limited.
        wait_until(lambda: time.monotonic() > cooldown_over, "the cooldown")
        os.kill(workers[0], signal.SIGSTOP)
        try:
            late = run_cli("trigger", "--children", "--wait", "2", str(app.proc.pid), cwd=folder)
        finally:
            os.kill(workers[0], signal.SIGCONT)
        assert late.returncode == 5, late.stdout + late.stderr
        assert f"no record of the attempt in process {workers[0]}" in late.stderr
        heads = re.findall(r"^== worker (\d+) ==$", late.stdout, flags=re.MULTILINE)
        assert heads == [str(pid) for pid in workers]
        assert f"#3 default in process {workers[1]}: ok in " in late.stdout
    finally:
        app.stop()


def test_trigger_children_fails_when_nothing_below_the_pid_runs_safeprobe(
    tmp_path: Path,
) -> None:
    """A master whose workers run no safeprobe: exit 3 and a line that says so, nothing sent."""
    folder = copy_example("gunicorn_service", tmp_path)
    (folder / "empty_conf.py").write_text("", encoding="utf-8")
    app = ExampleApp(
        [
            "-m",
            "gunicorn",
            "-c",
            "empty_conf.py",
            "-w",
            "1",
            "-b",
            "127.0.0.1:0",
            "app:application",
        ],
        cwd=folder,
        HOME=str(folder),
    )
    try:
        app.wait_for(r"Booting worker with pid: (\d+)")
        done = run_cli("trigger", "--children", str(app.proc.pid), cwd=folder)
        assert done.returncode == 3, done.stdout + done.stderr
        assert "neither it nor any of its children runs safeprobe" in done.stderr
        assert done.stdout == ""
        assert app.proc.poll() is None
    finally:
        app.stop()


def _blocked(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigBlk:"):
            return int(line.split()[1], 16)
    raise AssertionError("no SigBlk")


def test_safeprobe_run_installs_the_master_and_workers_inherit_nothing(tmp_path: Path) -> None:
    """`safeprobe run -- gunicorn` installs in the master only: each worker starts with the
    master's signal unblocked and gunicorn's meaning for it (QUIT ends a worker, and the
    master replaces it), and installs through the hook; --children reaches all three."""
    folder = copy_example("gunicorn_service", tmp_path)
    run = ["-m", "safeprobe", "run", "--policy", "policies/master.yaml", "--", "gunicorn"]
    app, port = _start(folder, *run)
    try:
        master = app.proc.pid
        assert announced_family(master)[0] == master
        workers = _workers(app)
        for pid in workers:
            assert not _blocked(pid) & (1 << (signal.SIGQUIT - 1))
        last = _serve(port, REQUESTS, "page")
        done = run_cli("trigger", "--children", str(master), cwd=folder)
        assert done.returncode == 0, done.stdout + done.stderr
        heads = re.findall(r"^== (\w+) (\d+) ==$", done.stdout, flags=re.MULTILINE)
        assert heads == [("master", str(master))] + [("worker", str(p)) for p in workers]
        assert f"Process {master} (parent " in done.stdout
        for pid in workers:
            assert f"{last.get(pid, 0)} requests served" in done.stdout
        # gunicorn set its own QUIT handler after install(): that handler no longer runs,
        # and the master's stderr says so once, naming it.
        app.wait_for(
            r"safeprobe: warning: SIGQUIT's handler was replaced after install\(\) by "
            r"gunicorn\.arbiter\.Arbiter\.signal"
        )
        records = read_records(folder / "audit.jsonl")
        assert [r["host"]["pid"] for r in records] == [master, *workers]
        assert Counter(r["policy"]["name"] for r in records) == {
            "gunicorn-master": 1,
            "gunicorn-worker": WORKERS,
        }
        # gunicorn's own QUIT still ends a worker (safeprobe is on USR2 there), and the
        # master, whose QUIT is safeprobe's, replaces it with a worker that installs too.
        os.kill(workers[0], signal.SIGQUIT)
        wait_until(lambda: workers[0] not in _workers(app), "the worker quit")
        wait_until(lambda: len(_workers(app)) == WORKERS, "a replacement worker announced")
        assert _get(port, "/still")[0] in _workers(app)
    finally:
        app.stop()


def test_installing_in_post_fork_is_refused_loudly(tmp_path: Path) -> None:
    """Why the example installs in post_worker_init: at post_fork the worker still holds the
    master's Python handler for every signal safeprobe allows, so install() refuses to replace
    it, the worker fails to boot, and gunicorn stops instead of serving half-installed."""
    folder = copy_example("gunicorn_service", tmp_path)
    (folder / "post_fork_conf.py").write_text(
        "import safeprobe\n\n\ndef post_fork(server, worker):\n"
        "    safeprobe.install('policies/worker.yaml')\n",
        encoding="utf-8",
    )
    app = ExampleApp(
        [
            "-m",
            "gunicorn",
            "-c",
            "post_fork_conf.py",
            "-w",
            "1",
            "-b",
            "127.0.0.1:0",
            "app:application",
        ],
        cwd=folder,
        HOME=str(folder),
    )
    try:
        assert app.proc.wait(timeout=60) != 0
        app.wait_for(r"SIGUSR2 already has a Python handler \(gunicorn\.arbiter\.Arbiter\.signal\)")
        assert not (folder / "audit.jsonl").exists() or not read_records(folder / "audit.jsonl")
    finally:
        app.stop()
