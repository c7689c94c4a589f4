"""install()/uninstall() in this very process: real signal, real threads, clean restore."""

from __future__ import annotations

import os
import signal
import sys
import threading
import types
from pathlib import Path

import pytest
import yaml

import safeprobe
from safeprobe.errors import InstallError, PolicyError
from safeprobe.host.trigger import isolation_line, unresolved_targets
from safeprobe.policy.loading import parse_policy
from tests.harness import read_records, wait_until, write_policy

MODULE = "safeprobe_trigger_test_module"


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    module = types.ModuleType(MODULE)
    module.counter = {"n": 1}  # type: ignore[attr-defined]
    sys.modules[MODULE] = module
    policy = {
        "version": 1,
        "trigger": {"signal": "SIGUSR2", "cooldown": "0s"},
        "probe": {"path": "probe.py"},
        "expose": {"counter": {"target": f"{MODULE}:counter", "allow": ["**"]}},
        "audit": {"path": "audit.jsonl"},
    }
    yield write_policy(tmp_path, policy, "print(counter['n'])\n")
    safeprobe.uninstall()
    del sys.modules[MODULE]


@pytest.mark.slow
def test_install_signal_uninstall_restores_everything(policy: Path) -> None:
    handler = signal.getsignal(signal.SIGUSR2)
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    threads = threading.active_count()
    safeprobe.install(policy)
    assert signal.SIGUSR2 in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    os.kill(os.getpid(), signal.SIGUSR2)
    audit = policy.parent / "audit.jsonl"
    wait_until(lambda: read_records(audit), "the attempt's record")
    record = read_records(audit)[0]
    assert record["outcome"] == "ok"
    assert record["trigger"]["sender_pid"] == os.getpid()
    safeprobe.uninstall()
    assert signal.getsignal(signal.SIGUSR2) == handler
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == mask
    wait_until(lambda: threading.active_count() == threads, "the threads to end")


def test_install_twice_is_refused(policy: Path) -> None:
    safeprobe.install(policy)
    with pytest.raises(InstallError, match="already installed"):
        safeprobe.install(policy)


def test_install_off_the_main_thread_is_refused(policy: Path) -> None:
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            safeprobe.install(policy)
        except InstallError as exc:
            errors.append(exc)

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    assert len(errors) == 1
    assert "main thread" in str(errors[0])


def test_install_with_a_bad_policy_raises_and_installs_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nprobe: {path: p.py}\nexpsoe: {}\n")
    handler = signal.getsignal(signal.SIGQUIT)
    with pytest.raises(safeprobe.PolicyError, match="expsoe"):
        safeprobe.install(bad)
    assert signal.getsignal(signal.SIGQUIT) == handler


def test_uninstall_leaves_a_signal_the_host_had_blocked_blocked(policy: Path) -> None:
    """uninstall() restores the mask it found: a signal the host blocked stays blocked."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
    try:
        safeprobe.install(policy)
        safeprobe.uninstall()
        assert signal.SIGUSR2 in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR2})


def test_install_says_it_chose_fork_by_default(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The host's stderr says which isolation runs probes, and that fork is the default."""
    safeprobe.install(policy)
    err = capsys.readouterr().err
    assert (
        f"safeprobe: installed {policy} on SIGUSR2; isolation: fork (the default: probes run "
        "in a forked child killed at the deadline)\n"
    ) in err


def test_install_says_thread_is_the_policys_opt_in(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A policy that asks for thread isolation hears what it gives up."""
    data = yaml.safe_load(policy.read_text())
    policy.write_text(yaml.safe_dump({**data, "isolation": "thread"}))
    safeprobe.install(policy)
    err = capsys.readouterr().err
    assert "isolation: thread (policy opt-in: C calls are bounded by cost checks only)\n" in err


def test_fork_where_fork_is_unavailable_is_refused_unless_thread(tmp_path: Path) -> None:
    """Without os.fork the default refuses to install instead of silently weakening limits."""
    base = "version: 1\nprobe: {path: p.py}\n"
    default = parse_policy(base, path=str(tmp_path / "a.yaml"))
    with pytest.raises(InstallError, match=r"isolation: fork \(the default\) is unavailable"):
        isolation_line(default, "a.yaml", can_fork=False)
    thread = parse_policy(base + "isolation: thread\n", path=str(tmp_path / "a.yaml"))
    assert "isolation: thread (policy opt-in" in isolation_line(thread, "a.yaml", can_fork=False)
    chosen = parse_policy(base + "isolation: fork\n", path=str(tmp_path / "a.yaml"))
    assert "isolation: fork (policy: probes run" in isolation_line(chosen, "a.yaml", can_fork=True)


def test_install_warns_once_per_exposure_whose_target_does_not_resolve_yet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo in a target is said at install, on stderr, not first at signal time."""
    module = types.ModuleType(MODULE)
    module.counter = {"n": 1}  # type: ignore[attr-defined]
    sys.modules[MODULE] = module
    expose = {
        "good": {"target": f"{MODULE}:counter", "allow": ["**"]},
        "typo": {"target": f"{MODULE}:countr", "allow": ["**"]},
        "gone": {"target": "safeprobe_no_such_module:thing", "allow": ["**"]},
    }
    policy = {
        "version": 1,
        "trigger": {"signal": "SIGUSR2", "cooldown": "0s"},
        "probe": {"path": "probe.py"},
        "expose": expose,
        "audit": {"path": "audit.jsonl"},
    }
    path = write_policy(tmp_path, policy, "print(1)\n")
    try:
        safeprobe.install(path)
    finally:
        safeprobe.uninstall()
        del sys.modules[MODULE]
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 2
    assert any("expose.typo.target" in w and "countr" in w for w in warnings)
    assert any("expose.gone.target" in w and "not loaded" in w for w in warnings)


def test_a_yaml_error_at_install_is_a_policy_error_with_file_and_line(tmp_path: Path) -> None:
    """Broken YAML surfaces as PolicyError naming file:line, never raw PyYAML text."""
    path = tmp_path / "policy.yaml"
    path.write_text("version: 1\nexpose:\n  a: [\n")
    with pytest.raises(PolicyError, match=rf"^{path}:\d+: yaml: "):
        safeprobe.install(path)


def test_main_targets_are_not_checked_while_main_is_pending() -> None:
    """`safeprobe run` installs before the program binds its names: no warning for them."""
    policy = parse_policy(
        "version: 1\nprobe: {path: p.py}\n"
        "expose:\n  a: {target: '__main__:not_yet'}\n  b: {target: 'safeprobe_nope:x'}\n",
        path="p.yaml",
    )
    pending = unresolved_targets(policy, "p.yaml", sys.modules, main_pending=True)
    assert [line for line in pending if "__main__" in line] == []
    assert len(pending) == 1
    assert len(unresolved_targets(policy, "p.yaml", sys.modules)) == 2


@pytest.mark.slow
def test_a_handler_the_host_sets_after_install_is_named_once_on_stderr(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A host that takes the signal after install() (gunicorn's master does) learns, once,
    that its handler never runs while safeprobe listens; the attempts still run."""
    heard: list[int] = []

    def host_handler(signum: int, _frame: object) -> None:
        heard.append(signum)

    safeprobe.install(policy)
    signal.signal(signal.SIGUSR2, host_handler)
    audit = policy.parent / "audit.jsonl"
    for count in (1, 2):
        os.kill(os.getpid(), signal.SIGUSR2)
        wait_until(lambda count=count: len(read_records(audit)) == count, f"record {count}")
    safeprobe.uninstall()
    warnings = [
        line for line in capsys.readouterr().err.splitlines() if "was replaced after" in line
    ]
    assert warnings == [
        "safeprobe: warning: SIGUSR2's handler was replaced after install() by "
        "tests.test_trigger.test_a_handler_the_host_sets_after_install_is_named_once_on_stderr"
        ".<locals>.host_handler; safeprobe's listener still takes SIGUSR2, so that handler "
        "never runs: give the policy a trigger.signal the host does not use"
    ]
    assert heard == []
    assert read_records(audit)[0]["outcome"] == "ok"  # the second may find it still busy


def test_the_late_handler_warning_names_default_and_ignore() -> None:
    """SIG_DFL and SIG_IGN are named as what they are, not as a function."""
    from safeprobe.host.foreign_handlers import late_handler_warning  # noqa: PLC0415

    assert "by the default action (SIG_DFL);" in late_handler_warning(
        signal.SIGUSR2, signal.SIG_DFL
    )
    assert "by SIG_IGN;" in late_handler_warning(signal.SIGHUP, signal.SIG_IGN)
