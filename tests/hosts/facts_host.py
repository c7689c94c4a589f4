"""A host for fact tests: a thread and an asyncio task whose names come from outside the
program (as a request path or a user name might) and are crafted to forge lines of a dump
and to send terminal control sequences.

Usage: python facts_host.py POLICY.yaml
Commands (one per line on stdin): alive, quit.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import safeprobe

FORGED = 'evil"\n  File "/forged.py", line 1 in forged\x1b[2J\r'


def _serve_loop(ready: threading.Event) -> None:
    async def idle() -> None:
        await asyncio.Event().wait()

    async def main() -> None:
        task = asyncio.create_task(idle(), name=FORGED)
        ready.set()
        await task

    asyncio.run(main())


def main() -> None:
    # Installed first, so every thread started below inherits the blocked signal.
    safeprobe.install(sys.argv[1])
    threading.Thread(target=threading.Event().wait, name=FORGED, daemon=True).start()
    ready = threading.Event()
    threading.Thread(target=_serve_loop, args=(ready,), name="event-loop", daemon=True).start()
    ready.wait(10)
    print(f"ready {os.getpid()}", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "alive":
            print("alive", flush=True)
        elif command == "quit":
            break


if __name__ == "__main__":
    main()
