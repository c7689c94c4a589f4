"""Technique: look a host mapping up with a shared-subtuple key. ``Sandbox.guarded_getitem``
hands a view's subscript straight to ``View.sp_getitem`` without ``Sandbox.key``, and
``view.get()`` goes the same way, so the key-node cap never applies. ``is_plain_key`` then
walks ``x = (x, x)`` as a tree in pure Python with no ticks (2**24 nodes: ~20 s past a 2 s
deadline; 40 levels: forever, so the attempt never ends, no audit record is written and
every later signal is "busy"), and ``dict.get`` hashes the same tree again in C.
Source: CPython issue gh-154318 (tuple hash recursion); the "billion laughs" shared
expansion; pyjail CTF writeups on CPU exhaustion through hashing."""

from pathlib import Path

import pytest

from tests.harness import base_policy

POLICY = base_policy(Path(), limits={"timeout": "200ms", "max_output": "64KiB"})
BUILD = "x = 'user:1'\nfor i in range(21):\n    x = (x, x)\n"

PROBES = [
    BUILD + "print(service.cache.get(x))",
    BUILD + "try:\n    print(service.cache[x])\nexcept KeyError:\n    print('missing')",
    BUILD + "print(service.keyed.get(x, 0))",
    BUILD + "print(my_object.data.get(x))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_view_lookup_with_shared_subtuple_key_stops_near_the_deadline(attack, probe: str) -> None:
    record = attack(probe, policy=POLICY)
    assert record["duration_ms"] < 1500, f"ran {record['duration_ms']} ms past a 200 ms timeout"
