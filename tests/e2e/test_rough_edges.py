"""Issue 15's rough edges as an operator meets them: the real command, one line on stderr,
the documented exit code, no traceback (each was measured at 1-3 out of 5 before)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

import safeprobe
from tests.harness import REPO, Host, base_policy, run_cli

SEED_POLICY = REPO / "examples" / "seed" / "policies" / "seed.yaml"


def _one_line_no_traceback(stderr: str) -> None:
    assert stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr


def test_audit_verify_of_a_policy_file_is_refused() -> None:
    """`audit verify policy.yaml` is not "ok: 0 records, chain intact" and exit 0."""
    done = run_cli("audit", "verify", str(SEED_POLICY))
    assert done.returncode == 1
    assert done.stdout == ""
    _one_line_no_traceback(done.stderr)
    assert "not-a-log: no line is an audit record: not an audit log" in done.stderr


def test_audit_show_since_yesterday_is_a_usage_error_and_iso_times_work(tmp_path: Path) -> None:
    """A word is exit 2 in one line; an ISO time and a duration are taken."""
    log = tmp_path / "audit.jsonl"
    log.write_text("")
    done = run_cli("audit", "show", str(log), "--since", "yesterday")
    assert done.returncode == 2
    _one_line_no_traceback(done.stderr)
    for when in ("2026-12-03T10:00", "2026-12-03T10:00+01:00", "1h", "2d"):
        assert run_cli("audit", "show", str(log), "--since", when).returncode == 0


def test_run_of_a_missing_script_or_module_is_exit_2_naming_it(tmp_path: Path) -> None:
    """No traceback, and nothing installed: the program's name is the whole message."""
    for args, named in (
        (["--", "missing.py"], "missing.py"),
        (["-m", "missing_mod"], "missing_mod"),
    ):
        done = run_cli("run", "--policy", str(SEED_POLICY), *args, cwd=tmp_path)
        assert done.returncode == 2
        _one_line_no_traceback(done.stderr)
        assert named in done.stderr
        assert "installed" not in done.stderr


def test_a_malformed_expect_head_is_usage_not_tampering(tmp_path: Path) -> None:
    """The operator's typo is exit 2 naming the form, never "truncated"."""
    log = tmp_path / "audit.jsonl"
    log.write_text("")
    done = run_cli("audit", "verify", str(log), "--expect-head", "deadbeef")
    assert done.returncode == 2
    assert "64 lowercase hex digits" in done.stderr
    assert "truncated" not in done.stderr


def test_version_and_every_positional_has_help() -> None:
    """`safeprobe --version` names the version; `trigger -h` says what PID is."""
    done = run_cli("--version")
    assert (done.returncode, done.stdout.strip()) == (0, f"safeprobe {safeprobe.__version__}")
    assert "the host process" in run_cli("trigger", "-h").stdout


def test_trigger_with_another_policy_sends_nothing_and_says_so_at_once(
    make_host, tmp_path: Path
) -> None:
    """--policy OTHER.yaml for an announced host: exit 2 naming both, no probe ran, no wait."""
    host: Host = make_host("print('ran')\n", base_policy(tmp_path))
    other = tmp_path / "other"
    other.mkdir()
    (other / "probe.py").write_text("print(2)\n")
    (other / "other.yaml").write_text(yaml.safe_dump(base_policy(other)))
    # With --wait 60, a trigger that sent and waited for a record would outlast the 30 s
    # bound; one that refuses before sending returns in the CLI's start-up time, which a
    # loaded machine can stretch past a few seconds.
    policy = str(other / "other.yaml")
    done = run_cli("trigger", str(host.pid), "--policy", policy, "--wait", "60", timeout=30)
    assert done.returncode == 2
    _one_line_no_traceback(done.stderr)
    assert "other.yaml" in done.stderr
    assert str(host.policy_path) in done.stderr
    assert host.records() == []


def test_trigger_json_says_how_the_signal_was_sent(make_host, tmp_path: Path) -> None:
    """With pidfds the host is pinned before the signal goes; --json names the method."""
    policy = base_policy(tmp_path, audit={"path": "audit.jsonl", "include_output": True})
    host: Host = make_host("print('hello')\n", policy)
    done = run_cli("trigger", str(host.pid), "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["sent_with"] in ("tgkill (pid pinned by pidfd)", "tgkill", "pidfd_send_signal")
