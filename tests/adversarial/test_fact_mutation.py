"""Technique: change a fact so that a later reader sees a forged value (the probe itself
after a check, the next attempt, or the host): assignment and del on records and on the
tuples inside them, and object.__setattr__ / setattr, the documented way around a frozen
dataclass.
Source: Python docs, dataclasses, "Frozen instances" (object.__setattr__ bypasses the
freeze); RestrictedPython docs, "Guards" (_write_ decides which objects may be written)."""

from pathlib import Path

import pytest

from tests.harness import base_policy

POLICY = base_policy(Path(), facts=["threads", "process", "gc", "asyncio"])

PROBES = [
    "threads[0].name = 'forged'",
    "del threads[0].name",
    "threads[0].stack[0] = 1",
    "del threads[0]",
    "threads.entries = ()",
    "process.pid = 1",
    "process.argv[0] = 'forged'",
    "gc.generations = ()",
    "asyncio.note = 'forged'",
    "object.__setattr__(threads[0], 'name', 'forged')",
    "setattr(threads[0], 'name', 'forged')",
    "t = threads[0]\nt.name = 'forged'",
]


@pytest.mark.parametrize("probe", PROBES)
def test_facts_cannot_be_changed(attack, probe: str) -> None:
    """A probe cannot change a fact it was given."""
    record = attack(probe, policy=POLICY)
    assert record["outcome"] in ("denied", "compile_error"), record["reason"]


def test_a_rebound_fact_is_fresh_in_the_next_attempt(make_host) -> None:
    """Rebinding the name is the probe's own business; the next attempt has a new snapshot."""
    host = make_host("threads = 'forged'\nprint(threads)\n", POLICY)
    first = host.probe()
    assert first["outcome"] == "ok"
    host.write_probe("print(sorted(t.name for t in threads))\n")
    second = host.probe()
    report = host.report(second["seq"])
    assert second["outcome"] == "ok"
    assert "'MainThread'" in report
    assert "forged" not in report
