"""A host for the built-in policies: `python builtin_policy_host.py MODE [POLICY]`.

MODE threads: the main thread and a worker named "parked-worker" wait on events.
MODE asyncio: the main thread runs an event loop with tasks "ticker" and "parked".
With POLICY, the host calls ``safeprobe.install(POLICY)`` itself (a built-in name works
there as a path does); without, it expects ``safeprobe run --policy NAME`` to have done so.
Announces itself on stderr, then runs until SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import safeprobe


def parked_worker(event: threading.Event) -> None:
    event.wait()


async def ticker() -> None:
    while True:
        await asyncio.sleep(0.05)


async def parked(event: asyncio.Event) -> None:
    await event.wait()


async def serve() -> None:
    event = asyncio.Event()
    tasks = [
        asyncio.create_task(ticker(), name="ticker"),
        asyncio.create_task(parked(event), name="parked"),
    ]
    await asyncio.sleep(0)
    sys.stderr.write(f"builtin host: pid {os.getpid()}\n")
    await asyncio.gather(*tasks)


def main() -> None:
    mode = sys.argv[1]
    if len(sys.argv) > 2:
        safeprobe.install(sys.argv[2])
    if mode == "asyncio":
        asyncio.run(serve())
        return
    event = threading.Event()
    threading.Thread(target=parked_worker, args=(event,), name="parked-worker").start()
    sys.stderr.write(f"builtin host: pid {os.getpid()}\n")
    event.wait()


if __name__ == "__main__":
    main()
