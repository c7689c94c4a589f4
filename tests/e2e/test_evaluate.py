"""expose.NAME.evaluate through the real path (host subprocess, policy file, signal, audit
log), in both isolation modes: named host code runs and is recorded, nothing else runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.harness import Host, base_policy

LEDGER_ALLOW = ["label", "size", "grow", "entries", "stats", "stats.*", "boom", "account"]
LEDGER_EVALUATE = [
    "label",
    "size()",
    "grow()",
    "stats.ratio",
    "stats.snapshot()",
    "boom()",
    "account",
]
MODES = ["fork", "thread"]


def _policy(tmp: Path, mode: str, **ledger: object) -> dict[str, object]:
    exposure: dict[str, object] = {
        "target": "__main__:ledger",
        "allow": LEDGER_ALLOW,
        "evaluate": LEDGER_EVALUATE,
        **ledger,
    }
    policy = base_policy(tmp, isolation=mode, limits={"timeout": "2s", "max_output": "64KiB"})
    policy["expose"] = {"ledger": exposure}
    return policy


@pytest.mark.parametrize("mode", MODES)
def test_named_property_and_method_run_and_are_recorded(
    make_host, tmp_path: Path, mode: str
) -> None:
    """Named host code runs, its values print, and each path and its runs are audited."""
    probe = (
        "print(ledger.label)\n"
        "print(ledger.size(), ledger.size())\n"
        "print(ledger.stats.ratio)\n"
        "print(ledger.stats.snapshot())\n"
    )
    host: Host = make_host(probe, _policy(tmp_path, mode))
    digest = host.ask("digest")
    record = host.probe()
    report = host.report(record["seq"])
    assert record["outcome"] == "ok", (record["reason"], report)
    assert "ledger:3\n3 3\n0.75\n{'hits': 3, 'misses': 1, 'api_token': <redacted>}" in report
    assert record["evaluated"] == {
        "ledger.label": 1,
        "ledger.size()": 2,
        "ledger.stats.ratio": 1,
        "ledger.stats.snapshot()": 1,
    }
    assert host.ask("digest") == digest


@pytest.mark.parametrize("mode", MODES)
def test_attempts_that_evaluate_nothing_carry_no_field(
    make_host, tmp_path: Path, mode: str
) -> None:
    """`evaluated` appears only when named host code ran; static reads stay static."""
    host: Host = make_host("print(ledger.entries)\n", _policy(tmp_path, mode))
    record = host.probe()
    assert record["outcome"] == "ok", record["reason"]
    assert "evaluated" not in record


def test_a_mutating_method_leaves_the_host_unchanged_in_fork_mode(
    make_host, tmp_path: Path
) -> None:
    """In the forked child a vouched method's writes land in the child's copy only."""
    host: Host = make_host("print(ledger.grow())\n", _policy(tmp_path, "fork"))
    digest = host.ask("digest")
    record = host.probe()
    assert record["outcome"] == "ok", record["reason"]
    assert "4" in host.report(record["seq"])
    assert record["evaluated"] == {"ledger.grow()": 1}
    assert host.ask("digest") == digest


def test_a_mutating_method_changes_the_host_in_thread_mode(make_host, tmp_path: Path) -> None:
    """isolation: thread runs vouched code in the host itself: its writes are real (the
    documented price of the opt-in; SECURITY.md, "Evaluated host code")."""
    host: Host = make_host("print(ledger.grow())\n", _policy(tmp_path, "thread"))
    digest = host.ask("digest")
    record = host.probe()
    assert record["outcome"] == "ok", record["reason"]
    assert record["evaluated"] == {"ledger.grow()": 1}
    assert host.ask("digest") != digest


def test_a_method_blocked_in_c_is_killed_with_the_fork_child(make_host, tmp_path: Path) -> None:
    """Tracing cannot interrupt one long C call (time.sleep); the child's kill at the
    deadline does, and the path it was in is still recorded, its count unknown (null).
    (In isolation: thread nothing interrupts it: SECURITY.md, "Evaluated host code".)"""
    policy = _policy(tmp_path, "fork", allow=["nap"], evaluate=["nap()"])
    policy["limits"] = {"timeout": "500ms", "max_output": "64KiB"}
    host: Host = make_host("ledger.nap()\n", policy)
    digest = host.ask("digest")
    record = host.probe()
    assert record["outcome"] == "timeout", record["reason"]
    assert "killed with SIGKILL" in record["reason"]
    assert record["evaluated"] == {"ledger.nap()": None}
    assert float(record["duration_ms"]) < 5000
    assert host.alive()
    assert host.ask("digest") == digest
    assert len(host.records()) == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_raising_method_is_an_error_naming_the_path_not_the_message(
    make_host, tmp_path: Path, mode: str
) -> None:
    """The host's exception message may hold a host value: only its class is said."""
    host: Host = make_host("ledger.boom()\n", _policy(tmp_path, mode))
    record = host.probe()
    report = host.report(record["seq"])
    assert record["outcome"] == "error", record["reason"]
    assert "ledger.boom() raised ValueError" in report
    assert "CANARY" not in report
    assert "CANARY" not in host.audit_path.read_text()
    assert record["evaluated"] == {"ledger.boom()": 1}


@pytest.mark.parametrize("mode", MODES)
def test_an_evaluate_path_not_in_allow_is_refused(make_host, tmp_path: Path, mode: str) -> None:
    """evaluate does not widen allow: a named path the allowlist leaves out is refused."""
    policy = _policy(tmp_path, mode, allow=["entries"])
    host: Host = make_host("print(ledger.label)\n", policy)
    digest = host.ask("digest")
    record = host.probe()
    assert record["outcome"] == "denied", record["reason"]
    assert "allowlist" in record["reason"]
    assert "evaluated" not in record
    assert host.ask("digest") == digest


@pytest.mark.parametrize("mode", MODES)
def test_model_fields_read_without_evaluate(make_host, tmp_path: Path, mode: str) -> None:
    """A pydantic v2 model's and an attrs class's fields read statically: no evaluate."""
    policy = base_policy(tmp_path, isolation=mode)
    policy["expose"] = {
        "models": {"target": "__main__:models", "allow": ["pydantic", "attrs", "*.*"]},
    }
    # attrs is not a dependency: its half runs where it is installed (it is, with hypothesis).
    has_attrs = importlib.util.find_spec("attrs") is not None
    probe = "print(models.pydantic.name, models.pydantic.retries)\nprint(models.pydantic)\n"
    if has_attrs:
        probe += "print(models.attrs.name, models.attrs.retries)\nprint(models.attrs)\n"
    host: Host = make_host(probe, policy)
    record = host.probe()
    report = host.report(record["seq"])
    assert record["outcome"] == "ok", (record["reason"], report)
    assert report.count("svc 3\n") == (2 if has_attrs else 1)
    # print() of a model is pydantic's own str: its fields, space-separated.
    assert "name='svc' retries=3 password=<redacted>\n" in report
    if has_attrs:
        # Slots render in the class's slot order (name, password, retries), not field order.
        assert "AttrsSettings(name='svc', password=<redacted>, retries=3)" in report
    assert "CANARY" not in report
    assert "evaluated" not in record
