"""A host whose main thread spends its time in C calls that hold the GIL (sum over a
range), back to back: every other thread, safeprobe's included, waits for each to end.

Usage: python gil_holding_host.py POLICY.yaml
"""

from __future__ import annotations

import os
import sys
import threading

import safeprobe


class MyObject:
    def __init__(self) -> None:
        self.data = {"a": "aaa"}


my_object = MyObject()
service = MyObject()


def _commands() -> None:
    for line in sys.stdin:
        if line.strip() == "quit":
            os._exit(0)


def main() -> None:
    safeprobe.install(sys.argv[1])
    threading.Thread(target=_commands, name="commands", daemon=True).start()
    print(f"ready {os.getpid()}", flush=True)
    while True:
        # About a second each on this hardware: far over the policy's 100 ms timeout.
        sum(range(30_000_000))


if __name__ == "__main__":
    main()
