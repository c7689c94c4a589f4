"""A WSGI app for gunicorn with prefork sync workers; each worker counts its own requests.

    cd examples/gunicorn_service
    gunicorn -c gunicorn_conf.py -w 2 -b 127.0.0.1:8000 app:application

``gunicorn_conf.py`` installs safeprobe in every worker once gunicorn has set the worker up
(its ``post_worker_init`` hook), with ``policies/worker.yaml``; a probe reads ``app:worker``,
the counters of the worker it runs in. Without ``--preload`` each worker imports this module
itself, so each has its own ``worker``; with it, each has its own copy after the fork.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

Environ = dict[str, object]
StartResponse = Callable[[str, list[tuple[str, str]]], object]


class Worker:
    """One worker's own counters."""

    def __init__(self) -> None:
        self.served = 0
        self.last_path = ""
        self.by_path: dict[str, int] = {}


worker = Worker()


def application(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Count the request in this worker and answer with the worker's pid and count."""
    path = str(environ.get("PATH_INFO", ""))
    worker.served += 1
    worker.last_path = path
    worker.by_path[path] = worker.by_path.get(path, 0) + 1
    body = f"worker {os.getpid()}: {worker.served} served\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
