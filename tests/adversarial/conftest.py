"""The attack harness: run a hostile probe through the real path and check the invariants
every attack must leave intact."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness import Host, base_policy, peak_rss_kib

CANARY = "CANARY-7f3a9c-secret"
REFUSED = frozenset({"denied", "compile_error", "error", "limit", "timeout", "rejected"})
# What no text a probe sees may show: a memory address, or a name of safeprobe's own classes,
# methods and closures (an oracle for the sandbox's internals). One list, so an internal
# name added to the code is added once for every test that looks for them.
ADDRESS = re.compile(r"0x[0-9a-f]{6,}")
INTERNAL_NAMES = (
    "Sandbox",
    "Builtins",
    "OwnMethods",
    "Formatting",
    "Printer",
    "_call_print",
    "_make_builtins",
    "_sized_method",
    "_split_method",
    "View",
    "ContainerReads",
    "sp_",
    "Redacted",
    "TickingIterator",
    "<locals>",
    "safeprobe.",
)


def internal_names_in(text: str) -> list[str]:
    """The INTERNAL_NAMES that ``text`` shows."""
    return [name for name in INTERNAL_NAMES if name in text]


@pytest.fixture
def attack(make_host: Callable[..., Host]) -> Callable[..., dict[str, object]]:
    """Run ``probe`` once against the app host and assert: the outcome is in ``allowed``,
    the host's state digest is unchanged, no canary secret is in the output or the audit,
    the host is alive, and exactly one audit record was written. Returns the record with
    the operator's report under ``"_report"``."""

    def run(
        probe: str, allowed: frozenset[str] = REFUSED, policy: dict[str, object] | None = None
    ) -> dict[str, object]:
        host = make_host(probe, policy)
        digest = host.ask("digest")
        record = host.probe()
        report = host.report(record["seq"])
        assert record["outcome"] in allowed, (record["outcome"], record["reason"], report)
        assert host.alive()
        assert host.ask("digest") == digest, "host state changed"
        assert CANARY not in report, "canary leaked to the output"
        assert CANARY not in host.audit_path.read_text(), "canary leaked to the audit log"
        assert len(host.records()) == 1
        return {**record, "_report": report}

    return run


def audit_json(record: dict[str, object]) -> str:
    return json.dumps({k: v for k, v in record.items() if k != "_report"})


# The promise every attack must keep in the default policy (issue 11): the attempt ends
# within its timeout plus this much, and the host's peak RSS grows by less than this.
OVERSHOOT_MS = 100
MAX_HOST_GROWTH_KIB = 64 * 1024
HELD_TIMEOUT = "500ms"


@pytest.fixture(params=["default", "thread"])
def held(
    request: pytest.FixtureRequest, make_host: Callable[..., Host], tmp_path: Path
) -> Callable[..., dict[str, object]]:
    """Run ``probe`` once in the default policy (no ``isolation`` key, 500 ms timeout) and,
    as a second parametrization, in ``isolation: thread``; assert every invariant of the
    ``attack`` fixture plus: the attempt ended within timeout + ``OVERSHOOT_MS`` and the
    host's peak RSS grew by less than ``MAX_HOST_GROWTH_KIB``. Host code calls are part of
    the host's digest, so "no host code ran" is checked with "host unchanged". ``script``
    names another host program in tests/hosts/ (one that sets up a hostile process)."""
    mode = request.param

    def run(
        probe: str,
        allowed: frozenset[str] = REFUSED,
        *,
        expose: dict[str, object] | None = None,
        limits: dict[str, object] | None = None,
        audit: dict[str, object] | None = None,
        script: str = "app_host.py",
    ) -> dict[str, object]:
        folder = tmp_path / f"held-{mode}"
        folder.mkdir(exist_ok=True)
        policy = base_policy(folder)
        policy["limits"] = {"timeout": HELD_TIMEOUT, "max_output": "64KiB", **(limits or {})}
        if expose is not None:
            policy["expose"] = expose
        if audit is not None:
            policy["audit"] = {"path": "audit.jsonl", **audit}
        if mode == "thread":
            policy["isolation"] = "thread"
        host = make_host(probe, policy, script=script)
        digest = host.ask("digest")
        peak_before = peak_rss_kib(host.pid)
        record = host.probe()
        report = host.report(record["seq"])
        growth = peak_rss_kib(host.pid) - peak_before
        assert record["outcome"] in allowed, (mode, record["outcome"], record["reason"], report)
        assert host.alive()
        assert host.ask("digest") == digest, "host state changed (or host code ran)"
        assert CANARY not in report, "canary leaked to the output"
        assert CANARY not in host.audit_path.read_text(), "canary leaked to the audit log"
        assert len(host.records()) == 1
        timeout_ms = _milliseconds(str(policy["limits"]["timeout"]))  # type: ignore[index]
        assert float(record["duration_ms"]) <= timeout_ms + OVERSHOOT_MS, (  # type: ignore[arg-type]
            mode,
            record["duration_ms"],
            record["reason"],
        )
        assert growth < MAX_HOST_GROWTH_KIB, (mode, f"host peak RSS grew {growth} KiB")
        return {**record, "_report": report, "_mode": mode}

    return run


def _milliseconds(text: str) -> float:
    if text.endswith("ms"):
        return float(text[:-2])
    assert text.endswith("s"), text
    return float(text[:-1]) * 1000
