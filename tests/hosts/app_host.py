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
HOST_CODE_CALLS = {"meta": 0, "key_eq": 0, "enum": 0, "descriptor": 0}


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


class HostileDescriptor(metaclass=_Meta):
    """A data descriptor whose class's metaclass is hostile: reading an attribute it guards
    must be refused without comparing its type with ``==``."""

    def __get__(self, obj: object, owner: object = None) -> object:
        HOST_CODE_CALLS["descriptor"] += 1
        return CANARY

    def __set__(self, obj: object, value: object) -> None:
        HOST_CODE_CALLS["descriptor"] += 1


class EvilKey(str):
    """A str subclass key that hashes like its text and counts every comparison: a lookup of
    the same text in a dict holding it compares the two with this ``__eq__``."""

    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        HOST_CODE_CALLS["key_eq"] += 1
        return str.__eq__(self, other)


class Guarded:
    """Attribute reads here meet a hostile descriptor type, a hostile ``__dict__`` entry in
    the class, and an instance dict keyed by a hostile str."""

    guarded = HostileDescriptor()

    def __init__(self) -> None:
        self.value = 1
        self.__dict__[EvilKey("label")] = "host label"


class MaskedDict:
    """The class stores a hostile object under ``__dict__``: the instance-dict read must
    test its type by identity."""

    __dict__ = HostileDescriptor()  # type: ignore[assignment]  # the attack


# A class whose own namespace holds a hostile key: a static class-attribute lookup of
# "shade" compares with it.
Shaded = type("Shaded", (), {EvilKey("shade"): "host shade", "plain": 2})


class _HostileEnumType(enum.EnumType):
    """An Enum metaclass whose ``__eq__``/``__hash__`` are host code."""

    def __hash__(cls) -> int:
        HOST_CODE_CALLS["meta"] += 1
        return 1

    def __eq__(cls, other: object) -> bool:
        HOST_CODE_CALLS["meta"] += 1
        return False


class Mode(enum.Enum, metaclass=_HostileEnumType):
    """Enum keys whose name or value is secret-looking; ``name``/``value`` reads run host
    ``__getattribute__`` unless read statically."""

    PRIVATE_KEY = 1
    FIRST = "session_id"
    PLAIN = 3

    def __getattribute__(self, name: str) -> object:
        if not name.startswith("_"):
            HOST_CODE_CALLS["enum"] += 1
        return super().__getattribute__(name)


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
        self.guarded_obj = Guarded()
        self.masked = MaskedDict()
        self.shaded = Shaded()
        self.evil_map = {EvilKey("k"): "host value", "ok": 2}
        self.compound = {
            ("db", "password"): CANARY,
            ("db", ("nested", "api_token")): CANARY,
            frozenset({"session_key"}): CANARY,
            Mode.PRIVATE_KEY: CANARY,
            Mode.FIRST: CANARY,
            Mode.PLAIN: "plain",
            ("db", "host"): "localhost",
        }

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
