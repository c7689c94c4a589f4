"""The public API: small, sorted, and importing it changes nothing in the process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import safeprobe
from tests.harness import REPO


def test_all_is_sorted_and_every_name_exists() -> None:
    """__all__ is sorted, and every name in it exists in the package."""
    assert list(safeprobe.__all__) == sorted(safeprobe.__all__)
    for name in safeprobe.__all__:
        assert hasattr(safeprobe, name), name


def test_every_error_derives_from_safeprobe_error() -> None:
    """Every exception class the package exports derives from SafeprobeError."""
    for name in safeprobe.__all__:
        value = getattr(safeprobe, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, safeprobe.SafeprobeError), name


@pytest.mark.slow
def test_import_starts_no_thread_handler_or_file() -> None:
    """Importing safeprobe only defines things (checked in a fresh interpreter)."""
    code = (
        "import signal, threading, os\n"
        "def state():\n"
        "    return (signal.getsignal(signal.SIGQUIT), threading.active_count(),\n"
        "            sorted(os.listdir('.')), signal.pthread_sigmask(signal.SIG_BLOCK, []))\n"
        "before = state()\n"
        "import safeprobe\n"
        "assert before == state(), (before, state())\n"
        "print('unchanged')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.stdout.strip() == "unchanged", result.stderr
