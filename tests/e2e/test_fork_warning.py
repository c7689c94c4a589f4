"""CPython 3.12+ warns in the parent after fork() when other threads exist (gh-100228).
A host run with ``-W default`` (or ``-X dev``) would print that warning on every attempt;
safeprobe silences exactly that warning at its own fork call, and the attempt still works.
Needs a Python 3.12+ with safeprobe's dependencies: this interpreter, one named in
SAFEPROBE_TEST_PYTHONS (os.pathsep-separated), or a pyenv 3.12+ that has them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness import REPO, Host, base_policy

WARNING_TEXT = "is multi-threaded, use of fork() may lead to deadlocks"


def _candidates() -> list[str]:
    found = [p for p in os.environ.get("SAFEPROBE_TEST_PYTHONS", "").split(os.pathsep) if p]
    if sys.version_info >= (3, 12):
        found.append(sys.executable)
    found += sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.1[2-9]*/bin/python3"))
    return found


def _with_deps(python: str) -> bool:
    check = "import sys, pydantic, yaml, RestrictedPython; assert sys.version_info >= (3, 12)"
    try:
        done = subprocess.run(
            [python, "-c", check],
            env=dict(os.environ, PYTHONPATH=str(REPO)),
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


PYTHONS = [python for python in dict.fromkeys(_candidates()) if _with_deps(python)]


@pytest.mark.skipif(not PYTHONS, reason="no Python 3.12+ with safeprobe's dependencies")
@pytest.mark.parametrize("python", PYTHONS)
def test_fork_warning_is_not_printed_and_the_attempt_works(
    make_host: Callable[..., Host], tmp_path: Path, python: str
) -> None:
    """Under -W default on 3.12+, a multi-threaded host forks for a probe without the warning."""
    # The harness starts hosts with its own interpreter; this prefix replaces it (exec, so
    # the pid the test signals is the host's) with ``python -W default``.
    prefix = ["sh", "-c", f'shift; exec "{python}" -W default "$@"', "sh"]
    host = make_host("print(my_object.data)\n", base_policy(tmp_path), prefix=prefix)
    assert len(host.ask("threads").split(",")) > 1  # other threads exist at the fork
    for _ in range(2):
        record = host.probe()
        assert record["outcome"] == "ok", record["reason"]
        assert record["isolation"]["mode"] == "fork"
        assert "'a': 'aaa'" in host.report(record["seq"])
    assert WARNING_TEXT not in host.stderr(), host.stderr()
