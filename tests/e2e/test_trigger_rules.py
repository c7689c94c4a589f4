"""Who may trigger, and what happens when the audit log cannot be written, via real signals."""

from __future__ import annotations

import os
from pathlib import Path

from tests.harness import Host, base_policy, wait_until


def test_sender_outside_allowed_uids_is_unauthorized(make_host, tmp_path: Path) -> None:
    """A signal from a uid the policy does not list is refused and audited as unauthorized."""
    others = 12345 if os.getuid() != 12345 else 12346
    policy = base_policy(
        tmp_path, trigger={"signal": "SIGQUIT", "cooldown": "0s", "allowed_uids": [others]}
    )
    host: Host = make_host("print('must not run')\n", policy)
    record = host.probe()
    assert record["outcome"] == "unauthorized"
    assert f"uid {os.getuid()} is not allowed" in record["reason"]
    assert "must not run" not in host.stderr()


def test_sender_in_allowed_uids_runs(make_host, tmp_path: Path) -> None:
    """A sender whose uid is in allowed_uids gets the probe run."""
    policy = base_policy(
        tmp_path, trigger={"signal": "SIGQUIT", "cooldown": "0s", "allowed_uids": [os.getuid()]}
    )
    host: Host = make_host("print('ran')\n", policy)
    assert host.probe()["outcome"] == "ok"


def test_audit_replaced_by_symlink_refuses_the_attempt(make_host) -> None:
    """Fail-closed through the real path: no record can be written, so nothing runs, the
    refusal goes to stderr and the host keeps running."""
    host: Host = make_host("print('must not run')\n")
    host.probe()  # one good attempt first, so the file exists
    decoy = host.folder / "decoy.jsonl"
    decoy.write_text("")
    host.audit_path.unlink()
    host.audit_path.symlink_to(decoy)
    host.send()
    wait_until(lambda: "fail-closed" in host.stderr(), "the refusal on stderr")
    assert decoy.read_text() == ""
    assert host.stderr().count("must not run") == 1  # only the first, audited attempt
    assert host.alive()


def test_handler_mode_runs_without_sender(make_host, tmp_path: Path) -> None:
    """mode: handler needs no blocked signal; the sender is recorded as unknown."""
    policy = base_policy(
        tmp_path, trigger={"signal": "SIGQUIT", "cooldown": "0s", "mode": "handler"}
    )
    host: Host = make_host("print('via handler')\n", policy)
    record = host.probe()
    assert record["outcome"] == "ok"
    assert record["trigger"]["received"] == "handler"
    assert record["trigger"]["sender_uid"] is None
