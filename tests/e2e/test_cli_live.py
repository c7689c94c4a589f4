"""`safeprobe trigger` and `safeprobe run` as an operator calls them: subprocesses against
real hosts, with each documented exit code."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from safeprobe.policy.named_probes import request_code
from safeprobe.tools.sender import send
from tests.harness import REPO, Host, base_policy, run_cli, wait_until, write_policy

NOBODY = 65534


def _policy(folder: Path, **extra: object) -> dict[str, object]:
    (folder / "keys.py").write_text("print(sorted(my_object.data))\n", encoding="utf-8")
    (folder / "broken.py").write_text("print(1/0)\n", encoding="utf-8")
    policy = base_policy(folder, output="file")
    policy["probes"] = {
        "keys": {"path": str(folder / "keys.py")},
        "broken": {"path": str(folder / "broken.py")},
    }
    policy.update(extra)
    return policy


def test_trigger_runs_the_default_probe_and_prints_its_output(make_host, tmp_path: Path) -> None:
    host: Host = make_host("print('hello from', len(my_object.data))\n", _policy(tmp_path))
    done = run_cli("trigger", str(host.pid))
    assert done.returncode == 0, done.stderr
    first, *rest = done.stdout.splitlines()
    assert first.startswith(f"#1 default in process {host.pid}: ok in ")
    assert rest == ["hello from 3"]
    [record] = host.records()
    assert record["trigger"]["sender_pid"] > 0
    assert record["trigger"]["request"] == 0
    result = host.folder / "results" / f"{host.pid}-1-{record['mac'][:16]}.txt"
    assert oct(result.stat().st_mode & 0o777) == "0o600"
    assert result.read_text() == "hello from 3\n"
    assert "output in" in host.stderr()
    assert "hello from" not in host.stderr()  # output: file keeps it off the host's stderr


def test_trigger_selects_a_named_probe_by_request_code(make_host, tmp_path: Path) -> None:
    host: Host = make_host("print('default')\n", _policy(tmp_path))
    done = run_cli("trigger", str(host.pid), "--probe", "keys", "--json")
    assert done.returncode == 0, done.stderr
    import json  # noqa: PLC0415

    shown = json.loads(done.stdout)
    assert shown["output"] == "['a', 'b', 'c']\n"
    assert shown["output_from"] == "file"
    assert shown["record"]["probe"]["name"] == "keys"
    assert shown["record"]["trigger"]["request"] == request_code("keys")
    assert shown["record"]["probe"]["path"].endswith("keys.py")


def test_trigger_reports_a_failed_probe_with_exit_1(make_host, tmp_path: Path) -> None:
    host: Host = make_host("print('default')\n", _policy(tmp_path))
    done = run_cli("trigger", str(host.pid), "--probe", "broken")
    assert done.returncode == 1
    assert ": error in " in done.stdout
    assert "ZeroDivisionError" in done.stdout


def test_trigger_refuses_an_unknown_probe_name_without_signalling(
    make_host, tmp_path: Path
) -> None:
    host: Host = make_host("print('default')\n", _policy(tmp_path))
    done = run_cli("trigger", str(host.pid), "--probe", "../../etc/passwd")
    assert done.returncode == 2
    assert "no probe named" in done.stderr
    assert "known: default, broken, keys" in done.stderr
    assert host.records() == []


def test_a_request_code_the_policy_does_not_know_is_rejected_and_audited(
    make_host, tmp_path: Path
) -> None:
    """Whatever number a sender queues, the host runs only probes its policy names."""
    host: Host = make_host("print('default')\n", _policy(tmp_path))
    send(host.pid, signal.SIGQUIT, 12345)
    wait_until(host.records, "the record")
    [record] = host.records()
    assert record["outcome"] == "rejected"
    assert "request 12345 names no probe" in record["reason"]
    assert record["probe"]["name"] is None


def test_trigger_output_from_the_audit_record_and_from_stderr(make_host, tmp_path: Path) -> None:
    """output: stderr: with include_output the record carries it; without, say where."""
    policy = base_policy(tmp_path, audit={"path": "audit.jsonl", "include_output": True})
    host: Host = make_host("print('in the record')\n", policy)
    done = run_cli("trigger", str(host.pid))
    assert done.returncode == 0
    assert done.stdout.splitlines()[1:] == ["in the record"]

    other = tmp_path / "plain"
    other.mkdir()
    host2: Host = make_host("print('on stderr')\n", base_policy(other))
    done = run_cli("trigger", str(host2.pid))
    assert done.returncode == 0
    assert "went to the host's stderr" in done.stdout


def test_trigger_exit_3_for_no_process_and_for_a_process_without_safeprobe() -> None:
    done = run_cli("trigger", "999999999")
    assert done.returncode == 3
    assert "no process 999999999" in done.stderr
    with subprocess.Popen(["sleep", "30"]) as plain:
        try:
            done = run_cli("trigger", str(plain.pid))
            assert done.returncode == 3
            assert "does not run safeprobe" in done.stderr
        finally:
            plain.kill()


def test_trigger_exit_5_when_no_record_comes(make_host, tmp_path: Path) -> None:
    host: Host = make_host("print('x')\n", _policy(tmp_path))
    os.kill(host.pid, signal.SIGSTOP)
    try:
        done = run_cli("trigger", str(host.pid), "--wait", "0.5")
    finally:
        os.kill(host.pid, signal.SIGCONT)
    assert done.returncode == 5
    assert "no record of the attempt" in done.stderr
    wait_until(host.records, "the attempt once the host runs again")


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv"
)
def test_trigger_exit_4_for_a_user_who_may_not_read_the_hosts_policy(
    make_host, tmp_path: Path
) -> None:
    host: Host = make_host("print('x')\n", _policy(tmp_path))
    drop = ("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")
    done = run_cli("trigger", str(host.pid), prefix=drop, cwd=Path("/"))
    assert done.returncode == 4, done.stderr
    assert "Permission denied" in done.stderr
    assert host.records() == []


def test_run_starts_an_unmodified_script_with_main_objects_exposed(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(
        textwrap.dedent(
            """
            import sys, time
            class Box:
                def __init__(self):
                    self.data = {"argv": sys.argv[1:]}
            my_object = Box()
            print("ready", flush=True)
            for _ in range(600):
                time.sleep(0.05)
            """
        ),
        encoding="utf-8",
    )
    policy = base_policy(tmp_path, output="file")
    policy["expose"] = {"my_object": {"target": "__main__:my_object", "allow": ["data"]}}
    write_policy(tmp_path, policy, "print(my_object.data)\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "safeprobe", "run", "--policy", "policy.yaml", "--"]
    with subprocess.Popen(
        [*cmd, "app.py", "--port", "8080"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
    ) as app_process:
        try:
            assert app_process.stdout is not None
            assert app_process.stdout.readline().strip() == "ready"
            done = run_cli("trigger", str(app_process.pid))
            assert done.returncode == 0, done.stderr
            assert done.stdout.splitlines()[1] == "{'argv': ['--port', '8080']}"
        finally:
            app_process.kill()


def test_run_passes_the_programs_exit_code_and_runs_modules(tmp_path: Path) -> None:
    write_policy(tmp_path, {"version": 1, "probe": {"path": "probe.py"}}, "print(1)\n")
    (tmp_path / "quits.py").write_text("import sys\nsys.exit(7)\n", encoding="utf-8")
    done = run_cli("run", "--policy", "policy.yaml", "--", "quits.py", cwd=tmp_path)
    assert done.returncode == 7
    (tmp_path / "greet.py").write_text(
        "import sys\nprint('module', __name__, sys.argv[1:])\n", encoding="utf-8"
    )
    done = run_cli("run", "--policy", "policy.yaml", "-m", "greet", "x", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "module __main__ ['x']"


def test_run_refuses_a_bad_policy_before_the_program_starts(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text("version: 1\nprobe: {path: p.py, colour: red}\n")
    (tmp_path / "app.py").write_text("print('started')\n", encoding="utf-8")
    done = run_cli("run", "--policy", "policy.yaml", "--", "app.py", cwd=tmp_path)
    assert done.returncode == 1
    assert "policy.yaml:2" in done.stderr
    assert "probe.colour" in done.stderr
    assert "started" not in done.stdout


def test_trigger_sends_the_announced_signal_not_the_policy_files_current_one(
    make_host, tmp_path: Path
) -> None:
    """The policy file changed to SIGUSR1 after the host installed SIGQUIT: trigger sends
    SIGQUIT (whose default action the host has replaced), never a signal that kills it."""
    host: Host = make_host("print('still here')\n", _policy(tmp_path))
    edited = yaml.safe_load(host.policy_path.read_text())
    edited["trigger"]["signal"] = "SIGUSR1"
    host.policy_path.write_text(yaml.safe_dump(edited))
    done = run_cli("trigger", str(host.pid))
    assert host.alive()
    assert done.returncode in (0, 1), done.stderr
    [record] = host.records()
    assert record["trigger"]["signal"] == "SIGQUIT"


def test_trigger_with_policy_refuses_a_process_that_does_not_listen(tmp_path: Path) -> None:
    """--policy skips discovery, not the check: a process that neither blocks nor catches
    the signal would be killed by it, so nothing is sent."""
    write_policy(tmp_path, {"version": 1, "probe": {"path": "probe.py"}}, "print(1)\n")
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as victim:
        try:
            done = run_cli("trigger", str(victim.pid), "--policy", str(tmp_path / "policy.yaml"))
            assert done.returncode == 3
            assert "neither blocks nor handles SIGQUIT" in done.stderr
            assert victim.poll() is None
        finally:
            victim.kill()


def test_a_named_request_reaches_the_listener_despite_threads_started_before_install(
    make_host, tmp_path: Path
) -> None:
    """Threads the host started before install() have the signal unblocked; a named probe
    is queued to the listener thread itself, so it always runs what was asked for."""
    host: Host = make_host("print('DEFAULT')\n", _policy(tmp_path), script="early_threads_host.py")
    for _ in range(6):
        done = run_cli("trigger", str(host.pid), "--probe", "keys")
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.splitlines()[1:] == ["['a', 'b', 'c']"]
    assert {r["probe"]["name"] for r in host.records()} == {"keys"}


def test_an_earlier_chains_result_file_is_never_shown(make_host, tmp_path: Path) -> None:
    """After the log is rotated away, seq starts at 1 again: the result file of the old #1
    has another mac in its name, so trigger shows only this attempt's output."""
    host: Host = make_host("print('old answer')\n", _policy(tmp_path))
    assert run_cli("trigger", str(host.pid)).stdout.splitlines()[1:] == ["old answer"]
    host.audit_path.rename(host.folder / "audit.jsonl.1")
    host.write_probe("print('new answer')\n")
    done = run_cli("trigger", str(host.pid))
    assert done.returncode == 0
    assert done.stdout.splitlines()[0].startswith("#1 ")
    assert done.stdout.splitlines()[1:] == ["new answer"]


def test_a_result_folder_another_user_owns_is_refused(make_host, tmp_path: Path) -> None:
    folder = tmp_path / "planted"
    folder.mkdir(mode=0o755)
    if os.geteuid() == 0:
        os.chown(folder, NOBODY, NOBODY)
    else:
        folder.chmod(0o777)
    host: Host = make_host("print('secret-ish')\n", _policy(tmp_path, output_dir=str(folder)))
    done = run_cli("trigger", str(host.pid))
    assert done.returncode == 0
    assert "no result file appeared" in done.stdout
    assert "not ours alone" in host.stderr()
    assert list(folder.iterdir()) == []
