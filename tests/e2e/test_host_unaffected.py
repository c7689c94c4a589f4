"""After any probe, the host's interpreter state is as before: recursion limit, trace and
profile functions, signal handlers and mask, sys.modules, threads, switch interval."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import Host, base_policy

PROBES = [
    "print(my_object.data)\n",
    "while True:\n    pass\n",
    "def f(n):\n    return f(n + 1)\nf(0)\n",
    "x = 'a' * 10**10\n",
    "import os\n",
    "print('x'.encode('cp1252'))\n",
    "raise ValueError('boom')\n",
    "while True:\n    print('y' * 1000)\n",
]


@pytest.mark.parametrize("probe", PROBES)
def test_interpreter_state_is_unchanged(
    make_host, tmp_path: Path, probe: str, isolation: str
) -> None:
    policy = base_policy(
        tmp_path, isolation=isolation, limits={"timeout": "300ms", "max_output": "4KiB"}
    )
    host: Host = make_host(probe, policy)
    before = host.ask("interpreter")
    host.probe()
    assert host.ask("interpreter") == before
