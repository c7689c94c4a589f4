"""Audit records shipped to a real rsyslogd from a real host on kill -3, and what the host
does when syslog cannot be reached: with `required: true` (the default) the probe does not
run and the file says why; with `required: false` it runs and stderr says the copy is
missing. The host keeps running either way."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.harness import HOSTS, REPO, Host, base_policy, wait_until
from tests.rsyslog import Rsyslog, start_rsyslogd
from tests.syslog_listener import StreamListener, message_of

PROBE = "print('probe ran:', sorted(my_object.data))\n"


def _syslog_policy(folder: Path, address: str, **syslog: object) -> dict[str, object]:
    return base_policy(
        folder, audit={"path": "audit.jsonl", "syslog": {"address": address, **syslog}}
    )


def _copies_of(daemon: Rsyslog, host: Host) -> list[str]:
    return [
        m["msg"]
        for m in daemon.messages()
        if m["app_name"] == "safeprobe" and m["procid"] == str(host.pid)
    ]


def test_each_attempt_reaches_rsyslog_byte_for_byte(
    make_host, rsyslogd: Rsyslog, tmp_path: Path
) -> None:
    """Over TCP: three attempts (ok, error, ok) arrive as the file's three lines."""
    address = rsyslogd.address("tcp")
    host: Host = make_host(PROBE, _syslog_policy(tmp_path, address))
    assert host.probe()["outcome"] == "ok"
    host.write_probe("print(1/0)\n")
    assert host.probe()["outcome"] == "error"
    host.write_probe(PROBE)
    assert host.probe()["outcome"] == "ok"
    assert "probe ran: ['a', 'b', 'c']" in host.stderr()
    lines = host.audit_path.read_text("utf-8").rstrip("\n").split("\n")
    wait_until(lambda: len(_copies_of(rsyslogd, host)) >= 3, "three copies in rsyslog")
    assert _copies_of(rsyslogd, host) == lines


def test_required_syslog_down_means_the_probe_does_not_run(make_host, tmp_path: Path) -> None:
    """rsyslogd stops: the next kill -3 is refused before the probe is read, the file has
    its one record naming the rule, nothing of the probe reaches stderr; when rsyslogd is
    back, the next attempt runs and ships."""
    daemon = start_rsyslogd(tmp_path / "rsyslog")
    try:
        host: Host = make_host(PROBE, _syslog_policy(tmp_path, str(daemon.socket_path)))
        assert host.probe()["outcome"] == "ok"
        daemon.stop()
        host.write_probe("print('must not run')\n")
        refused = host.probe()
        assert refused["outcome"] == "rejected"
        assert "audit.syslog.required" in refused["reason"]
        assert refused["probe"]["sha256"] is None  # never read
        assert refused["steps"] == 0
        assert "must not run" not in host.stderr()
        assert "probe not run (fail-closed)" in host.report(refused["seq"])
        assert host.alive()

        daemon = start_rsyslogd(tmp_path / "rsyslog")
        host.write_probe(PROBE)
        again = host.probe()
        assert again["outcome"] == "ok"
        wait_until(
            lambda: any(f'"seq":{again["seq"]},' in m for m in _copies_of(daemon, host)),
            "the attempt after rsyslogd came back",
        )
        assert len(host.records()) == 3
    finally:
        daemon.stop()


def test_optional_syslog_down_runs_the_probe_and_says_the_copy_is_missing(
    make_host, tmp_path: Path
) -> None:
    daemon = start_rsyslogd(tmp_path / "rsyslog")
    host: Host = make_host(PROBE, _syslog_policy(tmp_path, str(daemon.socket_path), required=False))
    daemon.stop()
    record = host.probe()
    assert record["outcome"] == "ok"
    report = host.report(record["seq"])
    assert "probe ran:" in report
    wait_until(lambda: "kept in the audit file only" in host.stderr(), "the warning")
    assert host.alive()


def test_install_refuses_a_required_syslog_it_cannot_reach(tmp_path: Path) -> None:
    """A broken setup fails at start-up with the address named, not at the first signal."""
    folder = tmp_path / "host"
    folder.mkdir()
    (folder / "probe.py").write_text(PROBE, encoding="utf-8")
    policy = _syslog_policy(folder, str(tmp_path / "nobody-listens.sock"))
    (folder / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, str(HOSTS / "app_host.py"), str(folder / "policy.yaml")],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "ready" not in done.stdout
    assert "nobody-listens.sock" in done.stderr
    assert "syslog" in done.stderr


# About two seconds of work under a generous timeout: the window in which the test's
# receiver drops the connection that the attempt's preflight has just made.
SLOW_PROBE = "n = 0\nfor i in range(4_000_000):\n    n += 1\nprint('slow probe done:', n)\n"


def test_a_send_that_fails_after_the_preflight_withholds_the_output(
    make_host, tmp_path: Path
) -> None:
    """The receiver accepts the attempt's connection and closes it while the probe runs:
    the record cannot be sent, so stderr says the output is withheld and shows none of it;
    the file has the attempt, and the host keeps running."""
    with StreamListener.unix(tmp_path / "drops.sock", drop=True) as listener:
        limits = {"timeout": "30s", "max_steps": 100_000_000, "max_output": "64KiB"}
        policy = _syslog_policy(tmp_path, listener.address) | {"limits": limits}
        host: Host = make_host(SLOW_PROBE, policy)
        record = host.probe()
        assert listener.accepted() == 2  # install's check, then the attempt's
    assert record["outcome"] == "ok"
    assert f"attempt #{record['seq']} output withheld (fail-closed): " in host.stderr()
    assert "slow probe done" not in host.stderr()
    assert host.alive()


def test_attempts_share_one_tcp_connection(make_host, tmp_path: Path) -> None:
    """A healthy TCP connection is kept: install's check and three attempts use one
    connection, and its frames are the file's lines."""
    with StreamListener.tcp() as listener:
        host: Host = make_host(PROBE, _syslog_policy(tmp_path, listener.address))
        for _ in range(3):
            assert host.probe()["outcome"] == "ok"
        wait_until(lambda: len(listener.frames()) == 3, "three frames")
        assert listener.accepted() == 1
        lines = host.audit_path.read_bytes().rstrip(b"\n").split(b"\n")
        assert [message_of(frame) for frame in listener.frames()] == lines


def test_a_large_record_reaches_a_stream_socket_whole(make_host, tmp_path: Path) -> None:
    """With include_output, a 1 MB output makes a 1 MB record: the stream socket gets it
    whole, as one frame, and the operator sees the output."""
    with StreamListener.unix(tmp_path / "stream.sock") as listener:
        policy = base_policy(
            tmp_path,
            audit={
                "path": "audit.jsonl",
                "include_output": True,
                "syslog": {"address": listener.address, "timeout": "10s"},
            },
            limits={"timeout": "10s", "max_output": "1MiB"},
        )
        host: Host = make_host("print('y' * 1_000_000)\n", policy)
        record = host.probe()
        wait_until(listener.frames, "the large frame")
        [frame] = listener.frames()
    assert record["outcome"] == "ok"
    assert message_of(frame) == host.audit_path.read_bytes().rstrip(b"\n")
    assert len(frame) > 1_000_000
    assert "y" * 1_000_000 in host.report(record["seq"])


def test_a_receiver_that_stops_reading_costs_a_timeout_not_the_runner(
    make_host, tmp_path: Path
) -> None:
    """A local datagram receiver that never reads: once its queue is full, each attempt's
    send gives up within about the timeout and withholds the output; the next attempt
    still runs (the runner thread is not stuck, nothing is refused as busy)."""
    path = tmp_path / "full.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(str(path))
        host: Host = make_host(PROBE, _syslog_policy(tmp_path, str(path), timeout="500ms"))
        for _ in range(40):
            started = time.monotonic()
            record = host.probe()
            assert time.monotonic() - started < 5.0  # ten timeouts: generous, but no hang
            assert record["outcome"] == "ok"
            if host.stderr().count("output withheld") == 2:
                break
        else:
            pytest.fail(f"no send failed in 40 attempts: {host.stderr()[-2000:]}")
        assert "busy" not in host.stderr()
        assert host.alive()
