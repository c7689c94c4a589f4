"""Fixtures shared by the test folders."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import settings

from safeprobe.registry import ENV_DIR
from tests.harness import Host, base_policy
from tests.rsyslog import Rsyslog, start_rsyslogd

# No per-example deadline: these tests assert behaviour, not speed (the benchmarks measure
# speed), and a loaded 2-core CI machine must not turn a slow example into a failure.
settings.register_profile("safeprobe", deadline=None)
settings.load_profile("safeprobe")


@pytest.fixture(scope="session", autouse=True)
def _private_runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Hosts announce themselves (registry.py) in a folder of this test run, not in
    /run/safeprobe; hosts and `safeprobe trigger` inherit it through the environment."""
    folder = tmp_path_factory.mktemp("runtime")
    folder.chmod(0o755)
    previous = os.environ.get(ENV_DIR)
    os.environ[ENV_DIR] = str(folder / "safeprobe")
    yield
    if previous is None:
        os.environ.pop(ENV_DIR, None)
    else:
        os.environ[ENV_DIR] = previous


@pytest.fixture
def make_host(tmp_path: Path) -> Iterator[Callable[..., Host]]:
    hosts: list[Host] = []

    def start(
        probe: str,
        policy: dict[str, object] | None = None,
        script: str = "app_host.py",
        prefix: Sequence[str] = (),
    ) -> Host:
        folder = tmp_path / f"host{len(hosts)}"
        folder.mkdir()
        if policy is None:
            policy = base_policy(folder)
        host = Host(folder, policy, probe, script, prefix)
        hosts.append(host)
        return host

    yield start
    for host in hosts:
        host.stop()


@pytest.fixture(scope="session")
def rsyslogd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rsyslog]:
    """One real rsyslogd for the session (tests/rsyslog.py)."""
    daemon = start_rsyslogd(tmp_path_factory.mktemp("rsyslog"))
    yield daemon
    daemon.stop()
