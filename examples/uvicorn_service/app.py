"""An ASGI app for uvicorn (asyncio) that installs safeprobe in its lifespan startup.

    cd examples/uvicorn_service
    uvicorn app:app --host 127.0.0.1 --port 8000

The lifespan startup runs in the event loop, in the main thread, where ``install()`` must be
called; shutdown uninstalls. GET /slow waits until GET /release (a request an operator would
want to find), GET /health reports the counters without counting itself, GET /anything
else answers at once; a ``ticker`` task runs in the background.
The probe (policies/service.yaml) reads ``app:service`` and the loop's tasks (facts: asyncio)
from safeprobe's runner thread, outside the loop: the loop keeps serving meanwhile.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path

import safeprobe

Message = MutableMapping[str, object]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

POLICY = Path(__file__).resolve().parent / "policies" / "service.yaml"


class Service:
    """What the service has done so far."""

    def __init__(self) -> None:
        self.served = 0
        self.in_flight = 0
        self.ticks = 0
        self.by_path: dict[str, int] = {}


service = Service()
_release = asyncio.Event()  # set by GET /release; /slow waits for it
_background: set[asyncio.Task[None]] = set()


async def ticker() -> None:
    while True:
        service.ticks += 1
        await asyncio.sleep(0.2)


async def wait_for_release() -> None:
    """The request an operator is looking for: it waits until someone calls /release."""
    await _release.wait()


async def app(scope: Message, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    path = str(scope["path"])
    if path == "/health":  # not counted: what a load balancer asks
        await _answer(send, f"{service.served} served, {service.in_flight} in flight\n")
        return
    service.in_flight += 1
    try:
        if path == "/slow":
            await wait_for_release()
        elif path == "/release":
            _release.set()
        service.served += 1
        service.by_path[path] = service.by_path.get(path, 0) + 1
        text = f"{service.served} served\n"
    finally:
        service.in_flight -= 1
    await _answer(send, text)


async def _answer(send: Send, text: str) -> None:
    body = text.encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            safeprobe.install(POLICY)  # the main thread, before the first request
            task = asyncio.get_running_loop().create_task(ticker(), name="ticker")
            _background.add(task)
            print(f"uvicorn-app: pid {os.getpid()}", file=sys.stderr, flush=True)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            for task in _background:
                task.cancel()
            safeprobe.uninstall()
            await send({"type": "lifespan.shutdown.complete"})
            return
