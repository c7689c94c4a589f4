"""A log rotated away under a running host: the next record starts a new chain that names
the head it last saw, never silently continuing or restarting."""

from __future__ import annotations

from safeprobe.audit import GENESIS, verify_chain
from tests.harness import Host


def test_renamed_log_starts_a_new_chain_naming_the_old_head(make_host) -> None:
    host: Host = make_host("print(1)\n")
    host.probe()
    last = host.probe()
    old = host.folder / "audit.jsonl.1"
    host.audit_path.rename(old)
    first = host.probe()
    assert (first["seq"], first["prev"]) == (1, GENESIS)
    assert first["rotated_from"] == {"seq": last["seq"], "head": last["mac"]}
    assert verify_chain(str(old)).head == last["mac"]
    assert verify_chain(str(host.audit_path)).records == 1


def test_truncated_log_is_noticed_too(make_host) -> None:
    host: Host = make_host("print(1)\n")
    last = host.probe()
    host.audit_path.write_bytes(b"")
    first = host.probe()
    assert first["rotated_from"]["head"] == last["mac"]


def test_a_growing_shared_log_is_not_rotation(make_host) -> None:
    host: Host = make_host("print(1)\n")
    host.probe()
    second = host.probe()
    assert "rotated_from" not in second
