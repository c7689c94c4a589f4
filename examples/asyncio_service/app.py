"""An asyncio job service with safeprobe installed: a producer, two workers, a heartbeat,
and a report uploader stuck waiting for an upload that never finishes.

    python examples/asyncio_service/app.py

It prints `asyncio: pid PID` on stderr. The event loop runs in the main thread; safeprobe's
runner thread reads the tasks from outside it (facts: [asyncio]).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import safeprobe


class Service:
    """What the service has done so far."""

    def __init__(self) -> None:
        self.heartbeats = 0
        self.queued = 0
        self.done = 0
        self.by_worker: dict[str, int] = {}


service = Service()


async def heartbeat() -> None:
    while True:
        service.heartbeats += 1
        await asyncio.sleep(0.5)


async def produce(jobs: asyncio.Queue[int]) -> None:
    number = 0
    while True:
        number += 1
        await jobs.put(number)
        service.queued += 1
        await asyncio.sleep(0.2)


async def work(name: str, jobs: asyncio.Queue[int]) -> None:
    while True:
        job = await jobs.get()
        await asyncio.sleep(0.05 * (job % 3))  # the job itself
        service.done += 1
        service.by_worker[name] = service.by_worker.get(name, 0) + 1


async def upload_report(uploaded: asyncio.Event) -> None:
    """The bug an operator is looking for: nothing ever sets `uploaded`."""
    await uploaded.wait()


async def main() -> None:
    jobs: asyncio.Queue[int] = asyncio.Queue(maxsize=10)
    async with asyncio.TaskGroup() as group:
        group.create_task(heartbeat(), name="heartbeat")
        group.create_task(produce(jobs), name="producer")
        group.create_task(work("worker-1", jobs), name="worker-1")
        group.create_task(work("worker-2", jobs), name="worker-2")
        group.create_task(upload_report(asyncio.Event()), name="report-uploader")
        print(f"asyncio: pid {os.getpid()}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    safeprobe.install(Path(__file__).resolve().parent / "policies" / "asyncio.yaml")
    asyncio.run(main())
