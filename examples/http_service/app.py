"""A threaded HTTP service with safeprobe installed: request counters, and a user cache whose
upstream credentials a probe must never see.

    python examples/http_service/app.py [POLICY]     (default: policies/http.yaml)

It listens on 127.0.0.1 on a free port and prints `http: pid PID, port PORT` on stderr.
GET /users/<id> answers from the cache (filling it on a miss), GET /export waits for an
upstream that is down (until GET /recover), GET /health reports the counters as JSON.
"""

from __future__ import annotations

import http.server
import json
import os
import sys
import threading
from pathlib import Path

import safeprobe


class Stats:
    """Request counters, updated by every handler thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.in_flight = 0
        self.by_path: dict[str, int] = {}
        self.by_status: dict[int, int] = {}

    def begin(self, path: str) -> None:
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.by_path[path] = self.by_path.get(path, 0) + 1

    def end(self, status: int) -> None:
        with self._lock:
            self.in_flight -= 1
            self.by_status[status] = self.by_status.get(status, 0) + 1


class UserCache:
    """Users fetched from an upstream service, with the credentials for that service."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, str]] = {}
        self.hits = 0
        self.misses = 0
        self.upstream = "https://users.internal.example"
        self.api_token = "tok_live_5f2a9c0d7e1b"  # hidden by the default *token* pattern
        self.signing_key = "sk-3b8e41f09a7c"  # hidden by the policy's *signing_key* pattern

    def get(self, user_id: str) -> dict[str, str]:
        user = self.entries.get(user_id)
        if user is not None:
            self.hits += 1
            return user
        self.misses += 1
        user = {"name": f"user{user_id}", "plan": "pro" if int(user_id) % 3 == 0 else "free"}
        self.entries[user_id] = user
        return user


stats = Stats()
cache = UserCache()
upstream_back = threading.Event()


def wait_for_upstream() -> None:
    """The export calls an upstream that is down; it waits, as real clients too often do."""
    upstream_back.wait(600)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = "/" + self.path.strip("/").split("/")[0]
        stats.begin(path)
        status, body = 404, {"error": "not found"}
        try:
            if path == "/users" and self.path.rsplit("/", 1)[-1].isdigit():
                status, body = 200, cache.get(self.path.rsplit("/", 1)[-1])
            elif path == "/export":
                wait_for_upstream()
                status, body = 200, {"exported": len(cache.entries)}
            elif path == "/recover":
                upstream_back.set()
                status, body = 200, {"upstream": "back"}
            elif path == "/health":
                status, body = 200, {"requests": stats.requests, "in_flight": stats.in_flight}
        finally:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            stats.end(status)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the terminal is for safeprobe's reports here."""


def main() -> None:
    here = Path(__file__).resolve().parent
    policy = sys.argv[1] if len(sys.argv) > 1 else here / "policies" / "http.yaml"
    # Installed before the server starts its threads, so they all leave the signal to
    # safeprobe's listener.
    safeprobe.install(policy)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    print(f"http: pid {os.getpid()}, port {port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
