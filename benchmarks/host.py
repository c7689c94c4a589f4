"""The host program the signal benchmarks start: a small service with a heartbeat thread,
set up either with safeprobe or with the unguarded original trick.

Usage: python -m benchmarks.host safeprobe POLICY.yaml
       python -m benchmarks.host baseline PROBE_DIR

``safeprobe`` installs safeprobe with the policy. ``baseline`` installs the trick safeprobe
grew out of: a SIGQUIT handler that ``importlib.reload``s ``bar`` from PROBE_DIR and calls
``bar.execute()``, in the main thread, with nothing between the probe and the host.

Both start a heartbeat thread that sleeps ``HEARTBEAT_S`` and stamps the monotonic clock
(system-wide on Linux, so the benchmark can compare its stamps with its own), then print
``ready PID`` and answer one command per stdin line:

    beats T0 T1   number of heartbeats stamped in [T0, T1] and the longest gap (ms)
    alive         "alive"
    quit          exit
"""

from __future__ import annotations

import collections
import importlib
import itertools
import os
import signal
import sys
import threading
import time
import types

# A service's heartbeat: short enough to show a few milliseconds of disturbance, long
# enough that the thread is idle almost all the time, as real heartbeats are.
HEARTBEAT_S = 0.01
_MAX_BEATS = 200_000


class MyObject:
    """The object from the original story: ``foo.my_object.data``."""

    def __init__(self) -> None:
        self.data = {"a": "aaa", "b": "bbb", "c": "ccc"}


my_object = MyObject()
beats: collections.deque[float] = collections.deque(maxlen=_MAX_BEATS)


def _heartbeat() -> None:
    while True:
        time.sleep(HEARTBEAT_S)
        beats.append(time.monotonic())


def _beats_between(start: float, end: float) -> tuple[int, float]:
    stamps = [t for t in list(beats) if start <= t <= end]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    return len(stamps), max(gaps, default=0.0) * 1000


def install_baseline(probe_dir: str) -> None:
    """The original trick, as it was: reload bar.py and call bar.execute() on SIGQUIT."""
    # The trick ran with bytecode caching on: an unchanged bar.py reloads from its .pyc,
    # a changed one is compiled again. Force it, whatever PYTHONDONTWRITEBYTECODE says.
    sys.dont_write_bytecode = False
    sys.path.insert(0, probe_dir)
    bar = importlib.import_module("bar")

    def handler(_signum: int, _frame: types.FrameType | None) -> None:
        importlib.reload(bar)
        bar.execute()

    signal.signal(signal.SIGQUIT, handler)


def main() -> None:
    mode, where = sys.argv[1], sys.argv[2]
    if mode == "safeprobe":
        import safeprobe  # noqa: PLC0415 - the baseline host must not even import it

        safeprobe.install(where)
    elif mode == "baseline":
        install_baseline(where)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    # Started after install(), so it inherits the blocked signal as a host's threads would.
    threading.Thread(target=_heartbeat, name="heartbeat", daemon=True).start()
    print(f"ready {os.getpid()}", flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "beats":
            count, gap_ms = _beats_between(float(args[0]), float(args[1]))
            print(f"{count} {gap_ms:.3f}", flush=True)
        elif command == "alive":
            print("alive", flush=True)
        elif command == "quit":
            break


if __name__ == "__main__":
    main()
