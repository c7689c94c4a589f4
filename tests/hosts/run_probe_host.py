"""A host that runs ``safeprobe.run_probe()`` in its main thread on request, for tests of
what an interrupt (SIGINT, or a SIGTERM handler raising SystemExit) does mid-attempt.

Usage: python run_probe_host.py POLICY.yaml
Commands on stdin: alive, run (prints "interrupted <ExceptionName>" or "done <outcome>"), quit.
A watcher thread prints "inside" once the attempt holds the runner's lock, so the test
signals only while run_probe is running.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

import safeprobe


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(3)


def _announce_inside(policy: str) -> None:
    # The runner is private; a test host may look, so the test signals at the right time.
    # Any runner of this host (it runs one policy): run_probe's key is its own business.
    del policy
    while True:
        if any(runner._lock.locked() for runner in list(safeprobe._runners.values())):
            print("inside", flush=True)
            return
        threading.Event().wait(0.005)


def main() -> None:
    policy = sys.argv[1]
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    print(f"ready {os.getpid()}", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "run":
            threading.Thread(target=_announce_inside, args=(policy,), daemon=True).start()
            try:
                attempt = safeprobe.run_probe(policy)
            except (KeyboardInterrupt, SystemExit) as exc:
                print(f"interrupted {type(exc).__name__}", flush=True)
            else:
                print(f"done {attempt.outcome}", flush=True)
        elif command == "alive":
            print("alive", flush=True)
        elif command == "quit":
            break


if __name__ == "__main__":
    main()
