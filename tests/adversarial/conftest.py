"""The attack harness: run a hostile probe through the real path and check the invariants
every attack must leave intact."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.harness import Host

CANARY = "CANARY-7f3a9c-secret"
REFUSED = frozenset({"denied", "compile_error", "error", "limit", "timeout", "rejected"})


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
