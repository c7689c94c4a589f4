"""The host from the original story, made safe.

It used to install a SIGQUIT handler that reloaded /tmp/my_modules/bar.py and called
bar.execute(). Now one line installs safeprobe, and `kill -3 PID` runs probes/bar.py
under policies/seed.yaml: read-only, time-limited and audited.
"""

import os
import sys
import threading
import time
from pathlib import Path

import safeprobe


class MyObject:
    def __init__(self) -> None:
        self.data = {"a": "aaa", "b": "bbb", "c": "ccc"}


my_object = MyObject()


def print_time() -> None:
    while True:
        print(time.strftime("%H:%M:%S"), flush=True)
        time.sleep(2)


if __name__ == "__main__":
    safeprobe.install(Path(__file__).resolve().parent / "policies" / "seed.yaml")
    print(f"foo: pid {os.getpid()}; try: kill -3 {os.getpid()}", file=sys.stderr, flush=True)
    threading.Thread(target=print_time, name="print-time", daemon=True).start()
    while True:
        time.sleep(3600)
