"""The seed story through the real path: a host process, kill -3, the audit file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from safeprobe.audit.trail import verify_chain
from safeprobe.policy.loading import load_policy
from safeprobe.policy.models import Exposure
from tests.harness import REPO, Host, base_policy, read_records

SEED = REPO / "examples" / "seed"


def test_kill_3_prints_my_object_data(make_host) -> None:
    """The original bar.py shape prints the host's dict exactly as the old trick did."""
    host: Host = make_host("def execute():\n    print(my_object.data)\n")
    record = host.probe()
    assert record["outcome"] == "ok"
    assert "{'a': 'aaa', 'b': 'bbb', 'c': 'ccc'}\n" in host.report(record["seq"])


def test_edited_probe_runs_without_restart(make_host) -> None:
    """Editing the probe file and signalling again runs the new code in the same process."""
    host: Host = make_host("print('first')\n")
    first = host.probe()
    host.write_probe("print('second', len(my_object.data))\n")
    second = host.probe()
    assert (first["outcome"], second["outcome"]) == ("ok", "ok")
    assert "first" in host.report(first["seq"])
    assert "second 3" in host.report(second["seq"])
    assert first["probe"]["sha256"] != second["probe"]["sha256"]
    assert first["host"]["pid"] == second["host"]["pid"] == host.pid


def test_every_signal_adds_one_record_and_the_chain_verifies(make_host) -> None:
    """N signals give N records with seq 1..N, each linked to the one before."""
    host: Host = make_host("print(sorted(my_object.data))\n")
    for _ in range(5):
        host.probe()
    records = host.records()
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    report = verify_chain(str(host.audit_path))
    assert report.records == 5
    assert report.head == records[-1]["mac"]


def test_record_names_sender_pid_and_uid(make_host) -> None:
    """sigwaitinfo tells who sent the signal; the record keeps it."""
    host: Host = make_host("print(1)\n")
    record = host.probe()
    assert record["trigger"]["sender_pid"] == os.getpid()
    assert record["trigger"]["sender_uid"] == os.getuid()
    assert record["trigger"]["received"] == "sigwaitinfo"
    assert record["trigger"]["signal"] == "SIGQUIT"


def test_install_changes_nothing_until_a_signal(make_host) -> None:
    """Before any signal: no audit file, no output but install's one line, the host's state
    and threads as normal."""
    host: Host = make_host("print(1)\n")
    digest = host.ask("digest")
    assert not host.audit_path.exists() or read_records(host.audit_path) == []
    said = host.stderr().splitlines()
    assert len(said) == 1, said
    assert said[0].startswith("safeprobe: installed "), said
    assert said[0].endswith(
        "isolation: fork (the default: probes run in a forked child killed at the deadline)"
    )
    threads = host.ask("threads").split(",")
    assert set(threads) == {"MainThread", "counter", "safeprobe-listener", "safeprobe-runner"}
    assert host.ask("digest") == digest


def test_usr1_policy_signal_is_honoured(make_host, tmp_path: Path) -> None:
    """trigger.signal picks the signal; SIGQUIT then keeps its default meaning elsewhere."""
    policy = base_policy(tmp_path, trigger={"signal": "USR1", "cooldown": "0s"})
    host: Host = make_host("print('usr1')\n", policy)
    record = host.probe(signal.SIGUSR1)
    assert record["trigger"]["signal"] == "SIGUSR1"
    assert "usr1" in host.report(record["seq"])


def test_the_shipped_seed_example_runs(tmp_path: Path) -> None:
    """examples/seed/foo.py as shipped answers kill -3 with my_object.data."""
    for relative in ("foo.py", "probes/bar.py", "policies/seed.yaml"):
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((SEED / relative).read_bytes())
        target.chmod(0o644)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "foo.py"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        lines.append(proc.stderr.readline())
        assert "isolation: fork (the default" in lines[0]
        lines.append(proc.stderr.readline())
        assert "kill -3" in lines[1]
        os.kill(proc.pid, signal.SIGQUIT)
        while "--- end safeprobe" not in lines[-1]:
            lines.append(proc.stderr.readline())
        assert "{'a': 'aaa', 'b': 'bbb', 'c': 'ccc'}\n" in lines
        records = read_records(tmp_path / "audit.jsonl")
        assert [r["outcome"] for r in records] == ["ok"]
    finally:
        proc.kill()
        proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()


def test_seed_policy_is_valid_and_exposes_only_data() -> None:
    """The shipped policy allows exactly my_object.data."""
    policy = load_policy(SEED / "policies" / "seed.yaml")
    assert dict(policy.expose) == {
        "my_object": Exposure(target="__main__:my_object", allow=("data",))
    }


@pytest.mark.timeout(60)
def test_safeprobe_demo_passes() -> None:
    """`safeprobe demo` runs the whole story and reports success."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-m", "safeprobe", "demo"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "{'a': 'aaa', 'b': 'bbb', 'c': 'ccc'}" in result.stdout
    assert "a -> AAA" in result.stdout
    assert "chain intact" in result.stdout
