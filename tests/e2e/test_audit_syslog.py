"""Audit records shipped to a real rsyslogd from a real host on kill -3, and what the host
does when syslog cannot be reached: with `required: true` (the default) the probe does not
run and the file says why; with `required: false` it runs and stderr says the copy is
missing. The host keeps running either way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.harness import HOSTS, REPO, Host, base_policy, wait_until
from tests.rsyslog import Rsyslog, start_rsyslogd

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
    address = f"tcp://127.0.0.1:{rsyslogd.tcp_port}"
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
