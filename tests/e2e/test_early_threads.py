"""Threads a host started before install() have the trigger signal unblocked, and the kernel
may hand a process-directed signal to any of them. Every request must still reach safeprobe
and be audited, and `safeprobe trigger` must still name its sender."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from safeprobe.tools.sender import trigger
from tests.harness import REPO, Host, base_policy, read_records, wait_until

HOST = "many_early_threads_host.py"


def _policy(folder: Path) -> dict[str, object]:
    return base_policy(
        folder,
        trigger={"signal": "SIGQUIT", "cooldown": "0s", "allowed_uids": [os.getuid()]},
        output="file",
    )


def test_trigger_reaches_the_listener_100_times_with_its_sender(make_host, tmp_path: Path) -> None:
    """50 early threads and a sleeping main thread: 100 of 100 `safeprobe trigger` calls run
    the probe, and each record names the caller's uid and pid as kernel-verified."""
    host: Host = make_host("print('ran')\n", _policy(tmp_path), script=HOST)
    for _ in range(100):
        result = trigger(host.pid, wait_s=10.0)
        assert result.record["outcome"] == "ok", (result.record["outcome"], result.record["reason"])
        assert result.output == "ran\n", (result.output_from, result.record["seq"])
        sent = result.record["trigger"]
        assert sent["sender_uid"] == os.getuid()
        assert sent["sender_pid"] == os.getpid()
        assert sent["sender_verified"] is True
    assert len(host.records()) == 100


def test_a_kill_taken_by_an_early_thread_is_audited_at_once(make_host, tmp_path: Path) -> None:
    """A plain kill -3 that an early thread takes, while the main thread sleeps in C, is not
    swallowed: each one leaves a record (sender unknown, so refused under allowed_uids)."""
    host: Host = make_host("print('ran')\n", _policy(tmp_path), script=HOST)
    for count in range(1, 6):
        os.kill(host.pid, signal.SIGQUIT)
        wait_until(lambda c=count: _requests(host) >= c, f"request {count} audited")
    assert {r["trigger"]["received"] for r in host.records()} <= {"sigwaitinfo", "wakeup"}


def test_install_names_the_threads_that_could_take_the_signal(make_host, tmp_path: Path) -> None:
    """install() warns on stderr how many threads do not block the signal, and the fallback."""
    host: Host = make_host("print('ran')\n", _policy(tmp_path), script=HOST)
    wait_until(lambda: "do not block SIGQUIT" in host.stderr(), "the install warning")
    warning = next(line for line in host.stderr().splitlines() if "do not block" in line)
    assert "51 threads started before install()" in warning
    assert "early-0" in warning
    assert "wakeup" in warning


def _requests(host: Host) -> int:
    """How many requests the records account for (coalesced refusals count each one)."""
    return sum(int(r["trigger"]["requests"]) for r in host.records())


ASYNCIO_HOST = """
import asyncio, os, signal, sys, threading
import safeprobe

class MyObject:
    data = {"a": 1}

my_object = service = MyObject()
for number in range(3):
    threading.Thread(target=threading.Event().wait, name=f"early-{number}", daemon=True).start()

async def main() -> None:
    loop = asyncio.get_running_loop()
    # asyncio's signal handling owns the wakeup descriptor before install() runs.
    loop.add_signal_handler(signal.SIGUSR1, lambda: print("usr1", flush=True))
    safeprobe.install(sys.argv[1])
    print("ready", flush=True)
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if line == "uninstall":
            safeprobe.uninstall()
            print("uninstalled", flush=True)
        elif line in ("", "quit"):
            return

asyncio.run(main())
"""


def test_the_hosts_asyncio_signal_handling_keeps_working(tmp_path: Path) -> None:
    """With early threads, install() takes the wakeup descriptor from asyncio: every byte
    is passed on, so asyncio's own handlers still run, and uninstall() gives it back."""
    policy = base_policy(tmp_path, trigger={"signal": "SIGQUIT", "cooldown": "0s"})
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    (tmp_path / "probe.py").write_text("print('ran')\n", encoding="utf-8")
    with subprocess.Popen(
        [sys.executable, "-c", ASYNCIO_HOST, str(tmp_path / "policy.yaml")],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    ) as host:
        assert host.stdout is not None
        assert host.stdin is not None
        try:
            assert host.stdout.readline() == "ready\n"
            host.send_signal(signal.SIGUSR1)
            assert host.stdout.readline() == "usr1\n"
            host.send_signal(signal.SIGQUIT)
            wait_until(lambda: read_records(tmp_path / "audit.jsonl"), "the probe's record")
            host.stdin.write("uninstall\n")
            host.stdin.flush()
            assert host.stdout.readline() == "uninstalled\n"
            host.send_signal(signal.SIGUSR1)
            assert host.stdout.readline() == "usr1\n"
        finally:
            host.kill()
            host.communicate()
    [record] = read_records(tmp_path / "audit.jsonl")
    assert record["outcome"] == "ok"
