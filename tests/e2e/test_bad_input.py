"""Bad input through the real path: each gets a clear message on the host's stderr naming
file, line and rule, exactly one audit record with the right outcome, and the host keeps
running with its state unchanged."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.harness import Host, base_policy


def _attempt(host: Host) -> tuple[dict[str, object], str]:
    digest = host.ask("digest")
    before = len(host.records())
    record = host.probe()
    assert len(host.records()) == before + 1
    assert host.alive()
    assert host.ask("digest") == digest, "host state changed"
    return record, host.report(record["seq"])


PROBE_CASES = [
    # (probe source, outcome, text the reason must contain, line)
    ("x = 1\nif x\n", "compile_error", "SyntaxError", 2),
    ("import os\nprint(os.environ)\n", "compile_error", "imports are not allowed", 1),
    ("from os import path\n", "compile_error", "imports are not allowed", 1),
    ("print(1)\nprint(secret_thing)\n", "denied", "'secret_thing' is not exposed", 2),
    ("print(my_object.__class__)\n", "compile_error", 'starts with "_"', 1),
    ("print(my_object.other)\n", "denied", "my_object.other is not in the allowlist", 1),
    ("\n\nmy_object.data['a'] = 'x'\n", "denied", "read-only", 3),
    ("my_object.data = {}\n", "denied", "read-only", 1),
    ("del my_object.data['a']\n", "denied", "read-only", 1),
    ("my_object.data.clear()\n", "denied", "allowlist", 1),
    ("my_object.data.update(a=1)\n", "denied", "allowlist", 1),
    ("d = my_object.data\nd += {}\n", "denied", "read-only", 2),
    ("print(1)\nraise ValueError('boom')\n", "error", "raised ValueError", 2),
    ("def execute():\n    return 1 / 0\n", "error", "raised ZeroDivisionError", 2),
    ("class X:\n    pass\n", "compile_error", "class definitions", 1),
    ("x = service.expensive\n", "denied", "property", 1),
    ("service.reset()\n", "denied", "method", 1),
]


@pytest.mark.parametrize(("probe", "outcome", "reason", "line"), PROBE_CASES)
def test_bad_probe_is_refused_with_file_line_and_rule(
    make_host, probe, outcome, reason, line
) -> None:
    """Each bad probe is audited once with its outcome, and the message names file:line."""
    host: Host = make_host(probe)
    record, report = _attempt(host)
    assert record["outcome"] == outcome, record["reason"]
    assert reason in record["reason"]
    assert f"{host.probe_path}:{line}:" in record["reason"]
    assert reason in report
    assert f"{host.probe_path}:{line}:" in report


def test_exception_message_goes_to_stderr_not_to_the_audit(make_host) -> None:
    """A probe's exception text may hold host data, so the audit names only its type."""
    host: Host = make_host("raise ValueError('host says: ' + my_object.data['a'])\n")
    record, report = _attempt(host)
    assert record["outcome"] == "error"
    # Not "aaa" alone: three hex letters turn up in digests and macs by chance.
    assert "host says" not in json.dumps(record)
    assert "ValueError: host says: aaa" in report


def test_missing_probe_file_is_rejected(make_host) -> None:
    """A missing probe file is rejected, and the reason names the path."""
    host: Host = make_host("print(1)\n")
    host.probe_path.unlink()
    record, report = _attempt(host)
    assert record["outcome"] == "rejected"
    assert f"{host.probe_path}: missing" in record["reason"]
    assert "missing" in report


def test_symlinked_probe_is_rejected(make_host) -> None:
    """A probe file that is a symlink is rejected without running its target."""
    host: Host = make_host("print(1)\n")
    real = host.folder / "real.py"
    real.write_text("print('via link')\n")
    real.chmod(0o644)
    host.probe_path.unlink()
    host.probe_path.symlink_to(real)
    record, report = _attempt(host)
    assert record["outcome"] == "rejected"
    assert "symlink" in record["reason"]
    assert "via link" not in report


def test_directory_probe_is_rejected(make_host) -> None:
    """A directory at the probe path is rejected by the file-type rule."""
    host: Host = make_host("print(1)\n")
    host.probe_path.unlink()
    host.probe_path.mkdir()
    record, _ = _attempt(host)
    assert record["outcome"] == "rejected"
    assert "file-type" in record["reason"]


def test_world_writable_probe_is_rejected(make_host) -> None:
    """A probe file writable by others is rejected, and the report says its mode."""
    host: Host = make_host("print(1)\n")
    host.probe_path.chmod(0o666)
    record, report = _attempt(host)
    assert record["outcome"] == "rejected"
    assert "mode: mode 0666 is writable by group or others" in record["reason"]
    assert "mode 0666" in report


def test_probe_owned_by_another_user_is_rejected(make_host) -> None:
    """A probe file owned by another user is rejected by the owner rule."""
    host: Host = make_host("print(1)\n")
    if os.geteuid() != 0:
        pytest.skip("changing a file's owner needs root")
    os.chown(host.probe_path, 65534, 65534)
    record, _ = _attempt(host)
    assert record["outcome"] == "rejected"
    assert "owner" in record["reason"]


def test_oversized_probe_is_rejected(make_host, tmp_path: Path) -> None:
    """A probe file over the policy's max_size is rejected by the size rule."""
    policy = base_policy(tmp_path, probe={"path": "probe.py", "max_size": "1KiB"})
    host: Host = make_host("print(1)\n" + "#" * 2000 + "\n", policy)
    record, _ = _attempt(host)
    assert record["outcome"] == "rejected"
    assert "size" in record["reason"]


@pytest.mark.parametrize(
    ("policy_text", "field", "line"),
    [
        ("version: 1\nprobe: {path: probe.py\n", "yaml", None),
        (
            "version: 1\nprobe:\n  path: probe.py\nexpsoe: {}\naudit: {path: audit.jsonl}\n",
            "expsoe",
            4,
        ),
        (
            "version: 1\nprobe:\n  path: probe.py\nlimits:\n  timeout: soon\n"
            "audit: {path: audit.jsonl}\n",
            "limits.timeout",
            5,
        ),
    ],
)
def test_broken_policy_after_install_is_rejected_and_audited(
    make_host, policy_text, field, line
) -> None:
    """A policy broken after install is refused with file:line:field, audited with the
    last good policy's audit settings, and the probe does not run."""
    host: Host = make_host("print('must not run')\n")
    host.policy_path.write_text(policy_text)
    record, report = _attempt(host)
    assert record["outcome"] == "rejected"
    assert field in record["reason"]
    if line is not None:
        assert f"{host.policy_path}:{line}:" in record["reason"]
    assert "must not run" not in report
