"""A host whose own thread swaps one key of an object's instance dict back and forth at the
same size: ``other`` (an exact str) and a str subclass key of the same text whose
``__eq__`` is host code, counted in shared memory. A probe that remembers the dict as
plain by identity and size and then looks ``other`` up in it runs that ``__eq__``.

Usage: python swapping_host.py POLICY.yaml
Commands (one per line on stdin): digest, alive, quit.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import sys
import threading
import time

import safeprobe

_SHARED_CALLS = mmap.mmap(-1, mmap.PAGESIZE)


def _host_code_ran() -> None:
    count = int.from_bytes(_SHARED_CALLS[:8], "little") + 1
    _SHARED_CALLS[:8] = count.to_bytes(8, "little")


class _EqKey(str):
    """Hashes like its text; comparing with it is host code."""

    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        _host_code_ran()
        return str.__eq__(self, other)


class _Swapped:
    def __init__(self) -> None:
        self.value = 1
        self.other = 2


swapped = _Swapped()


def _swap() -> None:
    # Neither step compares keys: each deletion finds its key by identity, and each
    # insertion meets no live key of the same hash.
    instance = swapped.__dict__
    hostile = _EqKey("other")
    while True:
        time.sleep(0.001)
        del instance["other"]
        instance[hostile] = 2
        time.sleep(0.001)
        del instance[hostile]
        instance["other"] = 2


def digest() -> str:
    calls = int.from_bytes(_SHARED_CALLS[:8], "little")
    return hashlib.sha256(f"{calls}".encode()).hexdigest()


def main() -> None:
    safeprobe.install(sys.argv[1])
    threading.Thread(target=_swap, name="swapper", daemon=True).start()
    print(f"ready {os.getpid()}", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "digest":
            print(digest(), flush=True)
        elif command == "alive":
            print("alive", flush=True)
        elif command == "quit":
            break


if __name__ == "__main__":
    main()
