"""A prefork HTTP server: the master opens one listening socket and forks workers that
accept on it. Each worker installs safeprobe after the fork, and all of them append to one
audit file, so `safeprobe audit verify` checks a single chain across the workers.

    python examples/prefork/app.py [WORKERS]     (default: 3)

The master prints `prefork: master PID, port PORT`, then starts the workers one after
another; each prints `prefork: worker N ready, pid PID` on stderr before the next starts.
Signal a worker: `kill -3 PID`. The master does not install safeprobe (SIGQUIT keeps its
default meaning there); SIGTERM to the master stops every worker.
"""

from __future__ import annotations

import http.server
import os
import signal
import socket
import sys
from pathlib import Path
from types import FrameType

import safeprobe

POLICY = Path(__file__).resolve().parent / "policies" / "prefork.yaml"


class Worker:
    """One worker's own counters (each worker has its own copy after the fork)."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.served = 0
        self.last_path = ""


worker: Worker | None = None


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        assert worker is not None
        worker.served += 1
        worker.last_path = self.path
        data = f"worker {worker.index}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the terminal is for safeprobe's reports here."""


class WorkerServer(http.server.HTTPServer):
    """Serves on the master's listening socket instead of binding one of its own."""

    def __init__(self, listener: socket.socket, master: int) -> None:
        super().__init__(listener.getsockname(), Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = listener
        self.master = master

    def service_actions(self) -> None:
        # Orphaned (the master died without stopping us): stop too.
        if os.getppid() != self.master:
            raise SystemExit(0)


def run_worker(index: int, listener: socket.socket, master: int, ready: int) -> None:
    global worker  # noqa: PLW0603 - the object the policy exposes, one per worker process
    worker = Worker(index)
    # After the fork: safeprobe starts uninstalled in a forked child, and each worker
    # installs its own listener and runner threads.
    safeprobe.install(POLICY)
    print(f"prefork: worker {index} ready, pid {os.getpid()}", file=sys.stderr, flush=True)
    os.write(ready, b"!")
    os.close(ready)
    WorkerServer(listener, master).serve_forever(poll_interval=0.5)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)  # workers race for each connection; losers go back to select
    master = os.getpid()
    print(
        f"prefork: master {master}, port {listener.getsockname()[1]}", file=sys.stderr, flush=True
    )
    children = []
    # One worker after another: each says it is ready before the next starts, so the
    # startup lines come in order (docs/operators.md shows them).
    for index in range(1, count + 1):
        ready_read, ready_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(ready_read)
            try:
                run_worker(index, listener, master, ready_write)
            finally:
                os._exit(0)
        os.close(ready_write)
        os.read(ready_read, 1)  # b"" if the worker died before it was ready
        os.close(ready_read)
        children.append(pid)

    def stop(signum: int, _frame: FrameType | None) -> None:
        for pid in children:
            os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    for _ in children:
        os.wait()


if __name__ == "__main__":
    main()
