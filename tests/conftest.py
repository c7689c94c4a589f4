"""Fixtures shared by the test folders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.harness import Host, base_policy


@pytest.fixture
def make_host(tmp_path: Path) -> Iterator[Callable[..., Host]]:
    hosts: list[Host] = []

    def start(
        probe: str, policy: dict[str, object] | None = None, script: str = "app_host.py"
    ) -> Host:
        folder = tmp_path / f"host{len(hosts)}"
        folder.mkdir()
        host = Host(folder, policy if policy is not None else base_policy(folder), probe, script)
        hosts.append(host)
        return host

    yield start
    for host in hosts:
        host.stop()
