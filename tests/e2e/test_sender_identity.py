"""Who sent the signal, with a real second user: `setpriv` runs `kill` as nobody (uid
65534, kept able to signal root with CAP_KILL), so the kernel reports that uid."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.harness import Host, base_policy, wait_until

NOBODY = 65534
SETPRIV = shutil.which("setpriv")
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or SETPRIV is None, reason="needs root and util-linux setpriv"
)


def _kill_as_nobody(pid: int) -> None:
    assert SETPRIV is not None
    subprocess.run(
        [
            SETPRIV,
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            "--inh-caps=+kill",
            "--ambient-caps=+kill",
            "kill",
            "-QUIT",
            str(pid),
        ],
        check=True,
    )


def _wait_for_records(host: Host, count: int) -> list[dict[str, object]]:
    wait_until(lambda: len(host.records()) >= count, f"{count} records")
    return host.records()


def test_another_user_is_refused_as_unauthorized_and_recorded(make_host, tmp_path: Path) -> None:
    """allowed_uids: [0]: nobody's signal is refused with its uid; root's then runs."""
    policy = base_policy(
        tmp_path, trigger={"signal": "SIGQUIT", "cooldown": "0s", "allowed_uids": [0]}
    )
    host: Host = make_host("print('ran')\n", policy)
    _kill_as_nobody(host.pid)
    refused = _wait_for_records(host, 1)[0]
    assert refused["outcome"] == "unauthorized"
    assert refused["trigger"]["sender_uid"] == NOBODY
    assert f"uid {NOBODY} is not allowed" in refused["reason"]
    ran = host.probe()
    assert ran["outcome"] == "ok"
    assert ran["trigger"]["sender_uid"] == 0


def test_a_listed_second_user_may_trigger(make_host, tmp_path: Path) -> None:
    """A second user listed in allowed_uids may trigger, and is recorded as the sender."""
    policy = base_policy(
        tmp_path, trigger={"signal": "SIGQUIT", "cooldown": "0s", "allowed_uids": [0, NOBODY]}
    )
    host: Host = make_host("print('ran')\n", policy)
    _kill_as_nobody(host.pid)
    record = _wait_for_records(host, 1)[0]
    assert record["outcome"] == "ok"
    assert record["trigger"]["sender_uid"] == NOBODY
