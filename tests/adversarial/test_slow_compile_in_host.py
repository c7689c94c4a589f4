"""Technique: make the host compile a probe. Fork isolation compiles a probe in the child,
under its deadline and kill, because ``ast.parse`` and ``compile`` are single C calls that
no tick interrupts (a "compiler bomb": deeply nested or huge sources that take the
compiler seconds, e.g. CPython issues gh-95185 and bpo-46503 for the AST and the parser).
Issue 16 lets the host compile a probe's bytes itself once a child has compiled the very
same bytes quickly, so that later fork attempts skip the child's compile. The attack:
a probe that compiles slowly, triggered again and again, hoping a later attempt compiles it
in the host, where it would hold the GIL for as long as it takes.
"""

from __future__ import annotations

import hashlib
import sys
import types
from pathlib import Path

import pytest

from safeprobe.attempt import Outcome
from safeprobe.host.runner import Runner
from tests.harness import write_policy

MODULE = "safeprobe_test_compile_host"

# 4,550 syntax nodes (under the node cap): ~100 ms for the transformer and the compiler,
# against a bound of 10 ms for what a host compiles itself.
SLOW_COMPILE_PROBE = "x = a.b.c.d.e\n" * 350

# The same bytes as a quick probe's, which the host may compile once a child has: a second
# path for them is a second key, compiled in a child first again.
QUICK_PROBE = "print(state['count'])\n"


@pytest.fixture
def host_module() -> types.ModuleType:
    module = types.ModuleType(MODULE)
    module.state = {"count": 3}  # type: ignore[attr-defined]
    sys.modules[MODULE] = module
    yield module
    del sys.modules[MODULE]


def _runner(tmp_path: Path, probe: str, **limits: object) -> tuple[Runner, Path]:
    policy = write_policy(
        tmp_path,
        {
            "version": 1,
            "probe": {"path": "probe.py"},
            "expose": {"state": {"target": f"{MODULE}:state", "allow": ["**"]}},
            "audit": {"path": "audit.jsonl", "fsync": False},
            "isolation": "fork",
            "limits": {"timeout": "5s", **limits},
        },
        probe,
    )
    return Runner(policy, write_stderr=lambda _text: None), (tmp_path / "probe.py").absolute()


def _cached(runner: Runner, probe_path: Path) -> bool:
    digest = hashlib.sha256(probe_path.read_bytes()).hexdigest()
    return runner.code_cache.get(path=str(probe_path), sha256=digest) is not None


@pytest.mark.slow
def test_a_slow_compiling_probe_is_never_compiled_in_the_host(
    tmp_path: Path, host_module: types.ModuleType
) -> None:
    """A probe whose child compile took longer than the bound is compiled in a child at
    every attempt: the host never compiles it, however often it is triggered."""
    runner, probe = _runner(tmp_path, SLOW_COMPILE_PROBE)
    for _ in range(3):
        attempt = runner.attempt()
        assert attempt.outcome is Outcome.DENIED, attempt.reason  # `a` is not exposed
        assert not _cached(runner, probe)
    assert runner.code_cache.misses == 0


@pytest.mark.slow
def test_a_probe_killed_while_compiling_is_never_compiled_in_the_host(
    tmp_path: Path, host_module: types.ModuleType
) -> None:
    """A child killed at the deadline while compiling vouches for nothing: the next
    attempts compile in a child again (and are killed again)."""
    runner, probe = _runner(tmp_path, SLOW_COMPILE_PROBE, timeout="30ms")
    for _ in range(3):
        attempt = runner.attempt()
        assert attempt.outcome is Outcome.TIMEOUT, attempt.reason
        assert not _cached(runner, probe)
    assert runner.code_cache.misses == 0


@pytest.mark.slow
def test_the_host_compiles_only_bytes_a_child_compiled_quickly(
    tmp_path: Path, host_module: types.ModuleType
) -> None:
    """A quick probe is compiled in the child at its first attempt and by the host from the
    next one (the child then reuses the host's code); edited bytes start over in a child."""
    runner, probe = _runner(tmp_path, QUICK_PROBE)
    first = runner.attempt()
    assert (first.outcome, first.output) == (Outcome.OK, "3\n")
    assert not _cached(runner, probe)
    for _ in range(2):
        attempt = runner.attempt()
        assert (attempt.outcome, attempt.output) == (Outcome.OK, "3\n")
        assert _cached(runner, probe)
    assert runner.code_cache.misses == 1  # compiled once in the host, then reused
    probe.write_text(SLOW_COMPILE_PROBE)
    assert runner.attempt().outcome is Outcome.DENIED
    assert not _cached(runner, probe)
    assert runner.code_cache.misses == 1
