"""One attempt in-process through run_probe: outcomes, audit records, fail-closed."""

from __future__ import annotations

import os
import sys
import time
import types
from pathlib import Path

import pytest

from safeprobe import Outcome, run_probe
from safeprobe.attempt import TriggerInfo
from safeprobe.audit.trail import verify_chain
from safeprobe.errors import PolicyError
from safeprobe.host.execution import policy_redactor
from safeprobe.host.runner import Runner
from safeprobe.policy.defaults import MAX_POLICY_BYTES
from safeprobe.policy.loading import load_policy, parse_policy
from safeprobe.probe.redaction import Redactor
from tests.harness import read_records, write_policy

MODULE = "safeprobe_test_host_module"


@pytest.fixture
def host_module() -> types.ModuleType:
    module = types.ModuleType(MODULE)
    module.state = {"count": 3, "token": "tok-123"}  # type: ignore[attr-defined]
    sys.modules[MODULE] = module
    yield module
    del sys.modules[MODULE]


def _setup(tmp_path: Path, probe: str, **policy: object) -> Path:
    data: dict[str, object] = {
        "version": 1,
        "probe": {"path": "probe.py"},
        "expose": {"state": {"target": f"{MODULE}:state", "allow": ["**"]}},
        "audit": {"path": "audit.jsonl"},
        **policy,
    }
    return write_policy(tmp_path, data, probe)


@pytest.mark.slow
def test_run_probe_returns_output_and_audits_once(tmp_path: Path, host_module, capsys) -> None:
    """run_probe returns the redacted output and writes one audit record without the secret."""
    policy = _setup(tmp_path, "print(state['count'], state['token'])\n")
    attempt = run_probe(policy)
    assert attempt.outcome is Outcome.OK
    assert attempt.output == "3 <redacted>\n"
    assert attempt.audited
    records = read_records(tmp_path / "audit.jsonl")
    assert [r["seq"] for r in records] == [attempt.seq] == [1]
    assert "tok-123" not in (tmp_path / "audit.jsonl").read_text()
    assert "--- safeprobe" in capsys.readouterr().err


@pytest.mark.slow
def test_probe_edits_are_seen_and_cached_code_reused(tmp_path: Path, host_module) -> None:
    """An edited probe is run as edited, and each attempt is audited."""
    policy = _setup(tmp_path, "print(1)\n")
    assert run_probe(policy).output == "1\n"
    assert run_probe(policy).output == "1\n"
    (tmp_path / "probe.py").write_text("print(2)\n")
    assert run_probe(policy).output == "2\n"
    assert verify_chain(str(tmp_path / "audit.jsonl")).records == 3


def test_missing_module_is_an_error_not_an_import(tmp_path: Path) -> None:
    """An exposure naming a module not loaded is an error, and the module is not imported."""
    policy = _setup(tmp_path, "print(1)\n", expose={"x": {"target": "json_not_loaded_xyz:a"}})
    attempt = run_probe(policy)
    assert attempt.outcome is Outcome.ERROR
    assert "is not loaded" in attempt.reason
    assert "json_not_loaded_xyz" not in sys.modules


def test_unwritable_audit_means_the_probe_does_not_run(tmp_path: Path, host_module, capsys) -> None:
    """Fail-closed: a symlink at the audit path refuses the attempt before the probe is read."""
    policy = _setup(tmp_path, "print('ran')\n")
    target = tmp_path / "elsewhere.jsonl"
    target.write_text("")
    (tmp_path / "audit.jsonl").symlink_to(target)
    attempt = run_probe(policy)
    assert attempt.outcome is Outcome.REJECTED
    assert not attempt.audited
    assert attempt.output == ""
    err = capsys.readouterr().err
    assert "fail-closed" in err
    assert "ran" not in err.replace("not run", "")
    assert target.read_text() == ""


def test_policy_broken_before_any_good_load_is_refused_unaudited(tmp_path: Path) -> None:
    """A policy broken before any good load is rejected, unaudited, naming the problem."""
    path = tmp_path / "policy.yaml"
    path.write_text("version: 2\n")
    attempt = run_probe(path)
    assert attempt.outcome is Outcome.REJECTED
    assert not attempt.audited
    assert "version" in attempt.reason


@pytest.mark.slow
def test_execute_bound_to_a_view_is_refused(tmp_path: Path, host_module) -> None:
    """A probe binding execute to a view is denied: execute must be a function."""
    policy = _setup(tmp_path, "execute = state\n")
    attempt = run_probe(policy)
    assert attempt.outcome is Outcome.DENIED
    assert "'execute' must be a function" in attempt.reason


@pytest.mark.slow
def test_keyed_audit_keys_the_chain_and_the_output_digest(tmp_path: Path, host_module) -> None:
    """With audit.hmac_key_file, records verify only with the key and the output digest is
    an HMAC, so a log reader without the key cannot confirm a guessed output."""
    key = tmp_path / "audit.key"
    key.write_bytes(b"k" * 32)
    key.chmod(0o600)
    policy = _setup(
        tmp_path, "print(1)\n", audit={"path": "audit.jsonl", "hmac_key_file": "audit.key"}
    )
    assert run_probe(policy).outcome is Outcome.OK
    record = read_records(tmp_path / "audit.jsonl")[0]
    assert str(record["output"]["digest"]).startswith("hmac-sha256:")
    assert verify_chain(str(tmp_path / "audit.jsonl"), key=b"k" * 32).records == 1


def test_queue_delay_is_recorded_apart_from_the_attempts_duration(
    tmp_path: Path, host_module
) -> None:
    """The record says how long the request waited before its attempt started (queue_ms)
    and, apart from that, how long the attempt took (duration_ms)."""
    policy = _setup(tmp_path, "print('ran')\n", limits={"timeout": "2s"}, isolation="thread")
    now = [100.0]
    runner = Runner(policy, clock=lambda: now[0], write_stderr=lambda _text: None)
    waited = TriggerInfo("SIGQUIT", 1, 0, "sigwaitinfo", received_at=99.75)
    attempt = runner.attempt(waited)
    assert attempt.outcome is Outcome.OK
    [record] = read_records(tmp_path / "audit.jsonl")
    assert record["queue_ms"] == 250.0
    assert record["duration_ms"] == 0.0


def test_an_attempt_that_could_not_start_within_its_timeout_is_recorded_so(
    tmp_path: Path, host_module
) -> None:
    """A request held off longer than limits.timeout (the host held the GIL) is a timeout
    that says it never started, not an ok with a long duration; the probe does not run."""
    policy = _setup(tmp_path, "print('ran')\n", limits={"timeout": "500ms"}, isolation="thread")
    now = [100.0]
    runner = Runner(policy, clock=lambda: now[0], write_stderr=lambda _text: None)
    late = TriggerInfo("SIGQUIT", 1, 0, "sigwaitinfo", received_at=64.0)
    attempt = runner.attempt(late)
    assert attempt.outcome is Outcome.TIMEOUT
    assert attempt.output == ""
    [record] = read_records(tmp_path / "audit.jsonl")
    assert record["queue_ms"] == 36000.0
    assert "could not start within 500 ms" in record["reason"]
    assert record["steps"] == 0


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "No such file or directory"),
        (b"version: 1\nname: \xff\n", "not UTF-8 (byte 17)"),
        (b"#" * (MAX_POLICY_BYTES + 1), "larger than 1 MiB"),
        # Under the cap in characters, over it in bytes: the cap is on what is read.
        (("# " + "é" * (MAX_POLICY_BYTES // 2)).encode(), "larger than 1 MiB"),
    ],
)
def test_load_reads_the_policy_file_as_load_policy_does(
    tmp_path: Path, content: bytes | None, problem: str
) -> None:
    """Runner.load reads through the one policy loader: the same size cap, the same errors."""
    path = tmp_path / "policy.yaml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(PolicyError) as by_runner:
        Runner(path, write_stderr=lambda _text: None).load()
    with pytest.raises(PolicyError) as by_loader:
        load_policy(path)
    assert str(by_runner.value) == str(by_loader.value)
    assert (by_runner.value.field, by_runner.value.line) == ("file", None)
    assert problem in by_runner.value.problem


def test_each_attempt_gets_a_new_redactor_with_the_policys_patterns() -> None:
    """The patterns are normalized once per policy, but no redactor (and so no memo of the
    names one probe looked up) is shared between attempts."""
    text = "version: 1\nprobe: {path: p.py}\nredact: ['*pin*']\n"
    policy = parse_policy(text, path="p.yaml")
    first, second = policy_redactor(policy), policy_redactor(policy)
    assert first is not second
    assert first.patterns == second.patterns == Redactor.with_defaults(("*pin*",)).patterns
    assert first.hides("card_PIN")
    assert not first.hides("card_number")


@pytest.mark.slow
def test_exposing_a_module_runs_no_host_key_eq_in_sys_modules(
    tmp_path: Path, host_module: types.ModuleType
) -> None:
    """A target module is looked up without comparing the policy's name with a host key:
    a str subclass key in sys.modules equal to the name (whose ``__eq__`` a plain
    ``sys.modules.get`` would call) is never asked, and the target is refused as not
    loaded, as for a name that is not there."""
    calls: list[object] = []

    class HostKey(str):
        __hash__ = str.__hash__

        def __eq__(self, other: object) -> bool:
            calls.append(other)
            return str.__eq__(self, other)

    key = HostKey(MODULE)
    module = sys.modules.pop(MODULE)
    sys.modules[key] = module  # the only entry for the name: its key is the host's
    try:
        policy = _setup(tmp_path, "print(state['count'])\n")
        attempt = run_probe(policy)
        assert calls == []
        assert attempt.outcome is Outcome.ERROR
        assert "is not loaded" in attempt.reason
    finally:
        del sys.modules[key]
        sys.modules[MODULE] = module


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each path the runner reads a policy file from, in order (the real read runs)."""
    import safeprobe.host.runner as runner_module  # noqa: PLC0415 - patched for this test

    reads: list[str] = []
    real = runner_module.read_policy_bytes

    def counting(path: str) -> bytes:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(runner_module, "read_policy_bytes", counting)
    return reads


_POLICY_TEXT = "version: 1\nname: {name}\nprobe: {{path: p.py}}\n"


def test_an_unchanged_policy_file_is_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A policy file whose stat (device, inode, size, mtime, ctime) is as it was when last
    read, and was already old then, is not read and hashed again: the cached policy is used."""
    path = tmp_path / "policy.yaml"
    path.write_text(_POLICY_TEXT.format(name="aaaa"))
    reads = _counting_reads(monkeypatch)
    # A wall clock a minute ahead: the file's times look settled, not racy.
    runner = Runner(path, write_stderr=lambda _text: None, wall_clock=lambda: time.time() + 60)
    first = runner.load()
    assert runner.load() is first
    assert runner.load() is first
    assert len(reads) == 1


def test_a_policy_file_changed_within_the_racy_window_is_read_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A policy file changed within the last three seconds is read every time: a second edit
    in the same timestamp tick, of the same size, would leave its stat as it was."""
    path = tmp_path / "policy.yaml"
    path.write_text(_POLICY_TEXT.format(name="aaaa"))
    reads = _counting_reads(monkeypatch)
    runner = Runner(path, write_stderr=lambda _text: None)
    runner.load()
    runner.load()
    assert len(reads) == 2


def test_an_edited_policy_file_is_read_after_a_cached_load(tmp_path: Path) -> None:
    """An edit (same size, or another size, or a new file renamed over it) is seen at the
    next load, even when the old stat was cached and the edit put the mtime back."""
    path = tmp_path / "policy.yaml"
    path.write_text(_POLICY_TEXT.format(name="aaaa"))
    runner = Runner(path, write_stderr=lambda _text: None, wall_clock=lambda: time.time() + 60)
    assert runner.load().name == "aaaa"
    old = path.stat()
    path.write_text(_POLICY_TEXT.format(name="bbbb"))
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))  # ctime still moves
    assert runner.load().name == "bbbb"
    path.write_text(_POLICY_TEXT.format(name="longer-name"))
    assert runner.load().name == "longer-name"
    renamed = tmp_path / "new.yaml"
    renamed.write_text(_POLICY_TEXT.format(name="renamed"))
    renamed.replace(path)
    assert runner.load().name == "renamed"
