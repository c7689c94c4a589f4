"""Fail-closed on real faults of the audit file, through a real host and real signals: a full
disk, a read-only file system, permission denied, a directory at the path, a write that fails
after the probe ran. (A symlink at the path: test_trigger_rules.py.)

Each host first runs one attempt, so the file exists and the setup is proven; then the
fault; then kill -3 with a probe that prints a marker. The marker must never reach the
operator, the refusal must reach stderr naming the fault, and the host must keep running.

Real faults need root: a small tmpfs in the host's own mount namespace (unshare -m), a
remount read-only from inside that namespace (nsenter), and root without CAP_DAC_OVERRIDE
(setpriv) so file modes bind it.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.harness import Host, base_policy, wait_until

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(c) for c in ("unshare", "nsenter", "setpriv")),
    reason="needs root and util-linux unshare, nsenter, setpriv",
)

FIRST = "print('first attempt ran')\n"
MARKER = "MUST-NOT-REACH-THE-OPERATOR"
BLOCKED = f"print('{MARKER}')\n"


def _tmpfs_prefix(mountpoint: Path, size: str) -> list[str]:
    """Run the host in a private mount namespace with a small tmpfs at mountpoint."""
    script = 'mount -t tmpfs -o "size=$1,mode=0755" safeprobe-test "$0" && shift && exec "$@"'
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, str(mountpoint), size]


def _host_on_tmpfs(make_host, tmp_path: Path, size: str = "2m") -> tuple[Host, Path]:
    """A host whose audit file is on its own tmpfs; returns it and the mount point as seen
    from the host's namespace."""
    logs = tmp_path / "logs"
    logs.mkdir()
    policy = base_policy(tmp_path, audit={"path": str(logs / "audit.jsonl")})
    host: Host = make_host(FIRST, policy, prefix=_tmpfs_prefix(logs, size))
    # The tmpfs exists only in the host's namespace; root reaches it through /proc.
    inside = Path(f"/proc/{host.pid}/root{logs}")
    host.audit_path = inside / "audit.jsonl"
    return host, inside


def _first_attempt_then(host: Host) -> None:
    assert host.probe()["outcome"] == "ok"
    host.write_probe(BLOCKED)


def _assert_refused(host: Host, records_before: int, fault: str) -> None:
    host.send()
    wait_until(lambda: "fail-closed" in host.stderr(), "the refusal on stderr")
    text = host.stderr()
    refusal = text[text.rfind("safeprobe:", 0, text.find("fail-closed")) :]
    assert fault in refusal.lower(), refusal
    assert MARKER not in text
    assert host.alive()
    assert len(host.records()) == records_before


def _fill(path: Path) -> int:
    """Write zeros to path until the file system refuses; return the errno it gave."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        return exc.errno or 0
    finally:
        os.close(fd)


def test_full_disk_refuses_before_the_probe_is_read(make_host, tmp_path: Path) -> None:
    """On a full disk the attempt fails closed, naming the cause, and the probe does not run."""
    host, inside = _host_on_tmpfs(make_host, tmp_path)
    _first_attempt_then(host)
    assert _fill(inside / "filler") == errno.ENOSPC
    _assert_refused(host, 1, "no space left on device")


def test_read_only_file_system_refuses(make_host, tmp_path: Path) -> None:
    """On a file system remounted read-only the attempt fails closed, naming the cause."""
    host, _ = _host_on_tmpfs(make_host, tmp_path)
    _first_attempt_then(host)
    subprocess.run(
        ["nsenter", "-t", str(host.pid), "-m", "mount", "-o", "remount,ro", str(tmp_path / "logs")],
        check=True,
    )
    _assert_refused(host, 1, "read-only file system")


def test_permission_denied_refuses(make_host, tmp_path: Path) -> None:
    """The host runs as root without CAP_DAC_OVERRIDE, so a mode without write binds it."""
    drop = "-dac_override,-dac_read_search"
    host: Host = make_host(FIRST, prefix=["setpriv", "--bounding-set", drop, "--inh-caps", drop])
    _first_attempt_then(host)
    host.audit_path.chmod(0o400)
    _assert_refused(host, 1, "permission denied")


def test_directory_at_the_path_refuses(make_host) -> None:
    """A directory at the audit path fails the attempt closed: no probe runs, nothing is written."""
    host: Host = make_host(FIRST)
    _first_attempt_then(host)
    kept = host.audit_path.with_name("kept.jsonl")
    host.audit_path.rename(kept)
    host.audit_path.mkdir()
    host.send()
    wait_until(lambda: "fail-closed" in host.stderr(), "the refusal on stderr")
    assert "directory" in host.stderr().lower()
    assert MARKER not in host.stderr()
    assert host.alive()
    assert list(host.audit_path.iterdir()) == []


def test_a_write_that_fails_after_the_run_withholds_the_output(make_host) -> None:
    """The file may not grow (RLIMIT_FSIZE: writes fail with EFBIG, as on a quota): the
    probe ran, but its record could not be written, so its output is withheld."""
    host: Host = make_host(FIRST)
    _first_attempt_then(host)
    size = host.audit_path.stat().st_size
    subprocess.run(["prlimit", f"--pid={host.pid}", f"--fsize={size}"], check=True)
    host.send()
    wait_until(lambda: "output withheld (fail-closed)" in host.stderr(), "the refusal")
    assert "file too large" in host.stderr().lower()
    assert MARKER not in host.stderr()
    assert host.alive()
    assert host.audit_path.stat().st_size == size
