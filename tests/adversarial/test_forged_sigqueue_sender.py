"""Technique: forge the sender of a signal. rt_sigqueueinfo(2) lets the caller fill in the
whole siginfo, si_pid and si_uid included; the kernel only insists that si_code is negative
(not a kernel code, not SI_TKILL). A user allowed to signal the host (its own uid, or
CAP_KILL) but not listed in trigger.allowed_uids queues SIGQUIT claiming uid 0.
Source: Linux man-pages, rt_sigqueueinfo(2), NOTES ("the caller ... can set si_pid and
si_uid"); kernel/signal.c, do_rt_sigqueueinfo (the si_code check is the only check)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.harness import Host, base_policy, wait_until

NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"
RT_SIGQUEUEINFO = {"x86_64": 129, "aarch64": 138}.get(platform.machine())

MISSING = (
    os.geteuid() != 0
    or shutil.which("setpriv") is None
    or not Path(SYSTEM_PYTHON).exists()
    or RT_SIGQUEUEINFO is None
)
if MISSING and os.environ.get("SAFEPROBE_CI") == "1":
    pytest.fail("CI must run this: needs root, setpriv, /usr/bin/python3, x86_64 or aarch64")
pytestmark = pytest.mark.skipif(
    MISSING, reason="needs root, setpriv, /usr/bin/python3 and x86_64 or aarch64"
)

# Runs as nobody: queue SIGQUIT to the host with a siginfo claiming uid 0 and pid 1.
FORGE = """
import ctypes, sys
pid, nr = int(sys.argv[1]), int(sys.argv[2])
info = (ctypes.c_int * 32)()
info[0], info[1], info[2] = 3, 0, -1   # si_signo SIGQUIT, si_errno, si_code SI_QUEUE
info[4], info[5] = 1, 0                # si_pid 1, si_uid 0: both lies
libc = ctypes.CDLL(None, use_errno=True)
sys.exit(0 if libc.syscall(nr, pid, 3, info) == 0 else ctypes.get_errno())
"""


def _forge_as_nobody(pid: int) -> None:
    subprocess.run(
        [
            "setpriv",
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            "--inh-caps=+kill",
            "--ambient-caps=+kill",
            SYSTEM_PYTHON,
            "-c",
            FORGE,
            str(pid),
            str(RT_SIGQUEUEINFO),
        ],
        check=True,
        cwd="/",
    )


def test_a_queued_signal_claiming_root_is_not_trusted_by_allowed_uids(
    make_host, tmp_path: Path
) -> None:
    """A queued signal that claims root is refused as unauthorized, and the probe does not run."""
    policy = base_policy(
        tmp_path, trigger={"signal": "SIGQUIT", "cooldown": "0s", "allowed_uids": [0]}
    )
    host: Host = make_host("print('MUST-NOT-RUN')\n", policy)
    _forge_as_nobody(host.pid)
    wait_until(host.records, "the refusal's record")
    [record] = host.records()
    assert record["outcome"] == "unauthorized"
    assert record["trigger"]["sender_uid"] == 0  # what it claimed, recorded as claimed
    assert record["trigger"]["sender_verified"] is False
    assert "only claimed" in record["reason"]
    assert "MUST-NOT-RUN" not in host.stderr()
    assert host.alive()


def test_without_allowed_uids_the_claim_is_recorded_as_unverified(make_host) -> None:
    """Without allowed_uids a queued signal runs, its claimed sender recorded as unverified."""
    host: Host = make_host("print('ran')\n")
    _forge_as_nobody(host.pid)
    wait_until(host.records, "the record")
    [record] = host.records()
    assert record["outcome"] == "ok"
    assert (record["trigger"]["sender_pid"], record["trigger"]["sender_verified"]) == (1, False)
    ran = host.probe()  # a plain kill: the kernel vouches for the sender
    assert (ran["trigger"]["sender_uid"], ran["trigger"]["sender_verified"]) == (0, True)
