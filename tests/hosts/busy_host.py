"""A host whose main thread, on command, holds the GIL in one long C call: a catastrophic
regex (re does not release the GIL while it backtracks), so no other thread, safeprobe's
included, runs until it returns.

Usage: [BUSY_HOST_TAKES_DUMP_SIGNAL=1] python busy_host.py POLICY.yaml

With ``BUSY_HOST_TAKES_DUMP_SIGNAL=1`` it registers faulthandler on safeprobe's dump signal before install(),
as a host with its own use for that signal would. Commands on stdin, one per line:
``stall SECONDS`` (the main thread times the regex on 20 a's, picks the length that takes
about SECONDS, says ``stalling`` and matches it once), ``child`` (fork;
the child says whether it still catches the dump signal), ``alive``, ``quit``.
"""

from __future__ import annotations

import faulthandler
import math
import os
import queue
import re
import signal
import sys
import threading
import time

import safeprobe


class MyObject:
    def __init__(self) -> None:
        self.data = {"a": "aaa"}


my_object = MyObject()
service = MyObject()
_stalls: queue.Queue[float] = queue.Queue()
_PATTERN = re.compile(r"(a+)+$")
DUMP_SIGNAL = signal.SIGRTMIN + 6  # safeprobe's stuck-host dump (host/stack_dump.py)


def _catches_dump_signal() -> bool:
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) & (1 << (DUMP_SIGNAL - 1)))
    return False


def _child_catches() -> str:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write_end, b"catches" if _catches_dump_signal() else b"does not catch")
        os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 100).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    return answer


def _length_for(seconds: float) -> int:
    """How many a's keep the regex busy about ``seconds`` here: each one more doubles the
    backtracking, so the time of 20 says how many more are needed."""
    started = time.monotonic()
    _PATTERN.match("a" * 20 + "b")
    base = max(time.monotonic() - started, 1e-4)
    return 20 + max(0, math.ceil(math.log2(seconds / base)))


def _commands() -> None:
    for line in sys.stdin:
        command = line.split()
        if command == ["quit"]:
            os._exit(0)
        elif command == ["alive"]:
            print("alive", flush=True)
        elif command == ["child"]:
            print(_child_catches(), flush=True)
        elif command[:1] == ["stall"]:
            _stalls.put(float(command[1]))


def main() -> None:
    if os.environ.get("BUSY_HOST_TAKES_DUMP_SIGNAL") == "1":
        faulthandler.register(DUMP_SIGNAL, file=sys.stderr, all_threads=False)
    safeprobe.install(sys.argv[1])
    threading.Thread(target=_commands, name="commands", daemon=True).start()
    print(f"ready {os.getpid()}", flush=True)
    while True:
        seconds = _stalls.get()  # waits with the GIL released
        n = _length_for(seconds)
        print("stalling", flush=True)
        _PATTERN.match("a" * n + "b")  # STUCK HERE
        print("unstuck", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
