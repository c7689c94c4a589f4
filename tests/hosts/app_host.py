"""A host for end-to-end tests: realistic state, a secret canary, a busy thread, and a
command loop on stdin so tests can ask for a digest of its state without a probe.

Usage: python app_host.py POLICY.yaml
Commands (one per line on stdin): digest, ticks, threads, alive, recursionlimit, quit.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import hashlib
import json
import os
import signal
import sys
import threading
import time

import safeprobe

CANARY = "CANARY-7f3a9c-secret"
# Counts every call of host code that a probe must never cause.
HOST_CODE_CALLS = {"meta": 0}


class _Meta(type):
    """A metaclass whose __hash__/__eq__ are host code: type tests must not call them."""

    def __hash__(cls) -> int:
        HOST_CODE_CALLS["meta"] += 1
        return 1

    def __eq__(cls, other: object) -> bool:
        HOST_CODE_CALLS["meta"] += 1
        return False


class Weird(metaclass=_Meta):
    def __init__(self) -> None:
        self.value = 1


class Field(enum.StrEnum):
    TOKEN = "api_token"
    NAME = "name"


class MyObject:
    def __init__(self) -> None:
        self.data = {"a": "aaa", "b": "bbb", "c": "ccc"}


@dataclasses.dataclass
class Settings:
    name: str
    retries: int
    password: str
    tags: list[str]


class Service:
    """Plain object with a property and a method: probes must not run either."""

    def __init__(self) -> None:
        self.requests = 0
        self.cache = {"user:1": {"name": "ada", "session_token": CANARY}, "user:2": {"name": "bob"}}
        self.queue = collections.deque([1, 2, 3])
        self.settings = Settings("svc", 3, CANARY, ["x", "y"])
        self.api_key = CANARY
        self.history = [("GET", 200), ("POST", 500)]
        self.flags = frozenset({"beta"})
        self.property_calls = 0
        self.weird = Weird()
        self.keyed = {b"password": CANARY, Field.TOKEN: CANARY, Field.NAME: "ada", "ok": 1}
        self.method_calls = 0

    @property
    def expensive(self) -> int:
        self.property_calls += 1
        return 42

    def reset(self) -> None:
        self.method_calls += 1
        self.requests = 0


my_object = MyObject()
service = Service()
# A large host sequence for slicing and iteration attacks: a million references to one
# tuple, so it costs the host 8 MB while each item a probe sees would be a view of its own.
bulk = [("GET", 200)] * 1_000_000
progress = {"ticks": 0}


def _state() -> object:
    return {
        "my_object": my_object.data,
        "requests": service.requests,
        "cache": service.cache,
        "queue": list(service.queue),
        "settings": dataclasses.asdict(service.settings),
        "api_key": service.api_key,
        "history": service.history,
        "flags": sorted(service.flags),
        "property_calls": service.property_calls,
        "method_calls": service.method_calls,
        "host_code_calls": dict(HOST_CODE_CALLS),
        "attrs": sorted(vars(service)),
        "my_object_attrs": sorted(vars(my_object)),
    }


def digest() -> str:
    return hashlib.sha256(json.dumps(_state(), sort_keys=True, default=repr).encode()).hexdigest()


def _interpreter_state() -> object:
    """What a probe must leave as it found it, beyond the host's own data."""
    return {
        "recursionlimit": sys.getrecursionlimit(),
        "trace": repr(sys.gettrace()),
        "profile": repr(sys.getprofile()),
        "modules": sorted(sys.modules),
        "threads": sorted(t.name for t in threading.enumerate()),
        "handlers": {
            name: repr(signal.getsignal(getattr(signal, name)))
            for name in ("SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGINT", "SIGTERM", "SIGALRM")
        },
        "mask": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
        "switchinterval": sys.getswitchinterval(),
    }


def _count() -> None:
    while True:
        progress["ticks"] += 1
        time.sleep(0.005)


def main() -> None:
    safeprobe.install(sys.argv[1])
    threading.Thread(target=_count, name="counter", daemon=True).start()
    print(f"ready {os.getpid()}", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "digest":
            print(digest(), flush=True)
        elif command == "ticks":
            print(progress["ticks"], flush=True)
        elif command == "threads":
            print(",".join(sorted(t.name for t in threading.enumerate())), flush=True)
        elif command == "recursionlimit":
            print(sys.getrecursionlimit(), flush=True)
        elif command == "interpreter":
            print(json.dumps(_interpreter_state(), sort_keys=True), flush=True)
        elif command == "alive":
            print("alive", flush=True)
        elif command == "quit":
            break


if __name__ == "__main__":
    main()
