"""Announcements for `safeprobe trigger PID`: believed only when fresh and trusted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from safeprobe.errors import NotAnnounced
from safeprobe.host.registry import ENV_DIR, announce, lookup, withdraw


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "run"
    monkeypatch.setenv(ENV_DIR, str(folder))
    return folder


def test_announce_lookup_withdraw(runtime: Path) -> None:
    """An announcement is a 0644 file found by pid, with its policy and signal, until withdrawn."""
    path = announce("/etc/app/policy.yaml", signal="SIGQUIT", listener_tid=7)
    assert path == runtime / f"{os.getpid()}.json"
    assert path.stat().st_mode & 0o777 == 0o644
    found = lookup(os.getpid())
    assert (found.policy_path, found.signal, found.listener_tid) == (
        "/etc/app/policy.yaml",
        "SIGQUIT",
        7,
    )
    withdraw(path)
    with pytest.raises(NotAnnounced, match="does not run safeprobe"):
        lookup(os.getpid())


def test_a_builtin_policys_data_dir_is_announced_and_read_back(runtime: Path) -> None:
    """A host on a built-in policy announces where its audit log is (its working directory
    at install), so `safeprobe trigger PID` from elsewhere finds that log."""
    path = announce("/site/threads.yaml", signal="SIGQUIT", listener_tid=7, data_dir="/srv/app")
    assert lookup(os.getpid()).data_dir == "/srv/app"
    withdraw(path)
    announce("/etc/app/policy.yaml", signal="SIGQUIT", listener_tid=7)
    assert lookup(os.getpid()).data_dir is None


def test_an_announcement_without_data_dir_still_reads(runtime: Path) -> None:
    """An announcement written before data_dir existed (a host on an older safeprobe)."""
    path = announce("/p.yaml", signal="SIGQUIT", listener_tid=None)
    body = json.loads(path.read_text())
    del body["data_dir"]
    path.write_text(json.dumps(body))
    assert lookup(os.getpid()).data_dir is None


def test_a_stale_announcement_for_a_reused_pid_is_not_believed(runtime: Path) -> None:
    """An announcement whose start time differs from the process's is refused as stale."""
    path = announce("/p.yaml", signal="SIGQUIT", listener_tid=None)
    assert path is not None
    body = json.loads(path.read_text())
    path.write_text(json.dumps({**body, "start_time": body["start_time"] - 1}))
    with pytest.raises(NotAnnounced, match="stale"):
        lookup(os.getpid())


def test_an_announcement_others_can_write_is_not_believed(runtime: Path) -> None:
    """An announcement file others can write is not trusted."""
    path = announce("/p.yaml", signal="SIGQUIT", listener_tid=None)
    assert path is not None
    path.chmod(0o666)
    with pytest.raises(NotAnnounced, match="not trusted"):
        lookup(os.getpid())


def test_announcements_of_dead_processes_are_swept(runtime: Path) -> None:
    """Announcing sweeps away the announcements of dead processes."""
    runtime.mkdir(mode=0o755)
    dead = runtime / "999999999.json"
    dead.write_text("{}")
    announce("/p.yaml", signal="SIGQUIT", listener_tid=None)
    assert not dead.exists()


def test_no_process_and_an_unsafe_runtime_dir(runtime: Path) -> None:
    """Lookup of a missing pid says so, and announcing into a world-writable folder is refused."""
    with pytest.raises(NotAnnounced, match="no process"):
        lookup(999_999_999)
    runtime.mkdir(mode=0o777)
    runtime.chmod(0o777)
    with pytest.raises(PermissionError):
        announce("/p.yaml", signal="SIGQUIT", listener_tid=None)


def test_a_squatted_runtime_dir_is_not_believed(runtime: Path) -> None:
    """Another user's dir in /tmp, or one anybody can write: lookups refuse it."""
    announce("/p.yaml", signal="SIGQUIT", listener_tid=None)
    runtime.chmod(0o777)
    with pytest.raises(NotAnnounced, match="not trusted"):
        lookup(os.getpid())


# Technique: a trusted file with hostile values (CWE-20, improper input validation): the
# host's user writes its own announcement, and `safeprobe trigger` (often root) computed
# signal masks from it: "SIG_DFL" is signal 0 (`1 << -1` raised), "__name__" is no number,
# and a dump signal of SIGTERM or 0 is no stuck-host dump safeprobe registers (red15).
@pytest.mark.parametrize(
    "forged",
    [
        {"signal": "SIG_DFL"},
        {"signal": "__name__"},
        {"signal": "SIGKILL"},
        {"dump_signal": 0},
        {"dump_signal": 15},
        {"dump_signal": 99},
        {"listener_tid": -1},
    ],
)
def test_an_announcement_naming_what_safeprobe_never_announces_is_not_believed(
    runtime: Path, forged: dict[str, object]
) -> None:
    """Only a trigger signal a policy may name, a real-time dump signal and a positive
    listener thread id are believed; anything else is no safeprobe announcement."""
    path = announce("/p.yaml", signal="SIGQUIT", listener_tid=None, dump_signal=None)
    body = json.loads(path.read_text())
    path.write_text(json.dumps({**body, **forged}))
    with pytest.raises(NotAnnounced, match="not a safeprobe announcement"):
        lookup(os.getpid())
