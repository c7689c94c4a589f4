"""A log rotated away under a running host: the next record starts a new chain that names
the head it last saw, never silently continuing or restarting."""

from __future__ import annotations

from safeprobe.audit.chain import GENESIS
from safeprobe.audit.trail import verify_chain
from tests.harness import Host, base_policy


def test_renamed_log_starts_a_new_chain_naming_the_old_head(make_host) -> None:
    """After the log is renamed, a new chain starts whose first record names the old head."""
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
    """After the log is truncated, the next record names the head it followed."""
    host: Host = make_host("print(1)\n")
    last = host.probe()
    host.audit_path.write_bytes(b"")
    first = host.probe()
    assert first["rotated_from"]["head"] == last["mac"]


def test_a_growing_shared_log_is_not_rotation(make_host) -> None:
    """A log that only grows is not taken for a rotation."""
    host: Host = make_host("print(1)\n")
    host.probe()
    second = host.probe()
    assert "rotated_from" not in second


def test_a_restarted_host_continues_the_chain_it_finds(make_host, tmp_path) -> None:
    """Host restarts are not rotation: the new process chains to the file's last record."""
    policy = base_policy(tmp_path, audit={"path": str(tmp_path / "shared.jsonl")})
    first: Host = make_host("print(1)\n", policy)
    first.audit_path = tmp_path / "shared.jsonl"
    first.probe()
    before = first.probe()
    first.stop()
    second: Host = make_host("print(2)\n", policy)
    second.audit_path = tmp_path / "shared.jsonl"
    after = second.probe()
    assert (after["seq"], after["prev"]) == (before["seq"] + 1, before["mac"])
    assert "rotated_from" not in after
    assert after["host"]["pid"] != before["host"]["pid"]
    assert verify_chain(str(tmp_path / "shared.jsonl")).records == 3
