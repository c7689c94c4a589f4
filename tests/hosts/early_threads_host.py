"""app_host with four busy threads started before install(): they have the trigger signal
unblocked, so a process-directed signal may be delivered to any of them."""

from __future__ import annotations

import runpy
import sys
import threading
import time
from pathlib import Path


def _spin() -> None:
    while True:
        time.sleep(0.001)


for number in range(4):
    threading.Thread(target=_spin, name=f"early-{number}", daemon=True).start()

sys.argv[0] = str(Path(__file__).with_name("app_host.py"))
runpy.run_path(sys.argv[0], run_name="__main__")
