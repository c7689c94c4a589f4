"""Fixtures shared by the test folders."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn

import pytest
from hypothesis import settings

from safeprobe.host.registry import ENV_DIR
from tests.harness import Host, base_policy
from tests.rsyslog import Rsyslog, start_rsyslogd

# No per-example deadline: these tests assert behaviour, not speed (the benchmarks measure
# speed), and a loaded 2-core CI machine must not turn a slow example into a failure.
settings.register_profile("safeprobe", deadline=None)
settings.load_profile("safeprobe")

# ---- the two tiers ------------------------------------------------------------------------
# `pytest -m "not slow"` is the fast tier: unit and property tests that start no process.
# A test is slow when it lives in a folder of real-path tests, uses a fixture that starts a
# host, or runs in fork isolation; any other test that starts a process fails in the fast
# tier (``_no_processes_in_the_fast_tier``) until it is marked slow, so the tier stays fast.
TESTS = Path(__file__).resolve().parent
SLOW_FOLDERS = frozenset({"e2e", "adversarial"})
SLOW_FIXTURES = frozenset({"make_host", "held", "attack", "rsyslogd"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.resolve().relative_to(TESTS).parts
        callspec = getattr(item, "callspec", None)
        forked = callspec is not None and any(
            value in ("fork", None) and key in ("isolation", "mode")
            for key, value in callspec.params.items()
        )
        if parts[0] in SLOW_FOLDERS or SLOW_FIXTURES & set(item.fixturenames) or forked:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _no_processes_in_the_fast_tier(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test not marked slow may not start a process (fork, exec, spawn)."""
    if request.node.get_closest_marker("slow") is not None:
        return

    def refuse(*_args: object, **_kwargs: object) -> NoReturn:
        raise AssertionError(
            f"{request.node.nodeid} starts a process: mark it @pytest.mark.slow "
            "(the fast tier runs no subprocess)"
        )

    for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "execv", "execve"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, refuse)
    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


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


@pytest.fixture(params=["thread", "fork"])
def isolation(request: pytest.FixtureRequest) -> str:
    """Each isolation mode in turn, for a claim both modes must keep (the behaviour the
    thread and fork implementations share); a test takes it as an argument."""
    mode: str = request.param
    return mode


@pytest.fixture(scope="session")
def rsyslogd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rsyslog]:
    """One real rsyslogd for the session (tests/rsyslog.py)."""
    daemon = start_rsyslogd(tmp_path_factory.mktemp("rsyslog"))
    yield daemon
    daemon.stop()
