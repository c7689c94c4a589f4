"""A host that starts 50 threads before install() and then blocks its main thread in
time.sleep: every one of those threads has the trigger signal unblocked, and the main
thread runs no bytecode, so a signal the kernel hands to any of them reaches no Python
handler until the sleep ends.

Usage: python many_early_threads_host.py POLICY.yaml
"""

from __future__ import annotations

import os
import sys
import threading
import time

import safeprobe


class MyObject:
    def __init__(self) -> None:
        self.data = {"a": "aaa", "b": "bbb", "c": "ccc"}


my_object = MyObject()
service = MyObject()
_never = threading.Event()


def _spin() -> None:
    while True:
        time.sleep(0.002)


def _commands() -> None:
    # The harness stops a host by writing "quit"; the main thread is asleep, so a thread
    # started before install() (one more early one) answers it.
    for line in sys.stdin:
        if line.strip() == "quit":
            os._exit(0)


def main() -> None:
    threading.Thread(target=_commands, name="commands", daemon=True).start()
    for number in range(50):
        # Half run bytecode now and then, half sit in one C call forever: both kinds are
        # common in services (pollers, pool workers waiting on a queue).
        target = _spin if number % 2 else _never.wait
        threading.Thread(target=target, name=f"early-{number}", daemon=True).start()
    safeprobe.install(sys.argv[1])
    print(f"ready {os.getpid()}", flush=True)
    time.sleep(3600)


if __name__ == "__main__":
    main()
