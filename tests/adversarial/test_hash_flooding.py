"""Technique: hash flooding. Ints equal modulo 2**61 - 1 share one hash (CPython randomises
the hashes of str and bytes, not of ints or tuples), so each of them going into a set or
dict is compared with every one already there: g keys of one hash cost g²/2 comparisons,
in one C call when the container is built at once (``set(xs)``, ``dict(pairs)``,
``s.update(xs)``). 20,000 such ints take ~4.5 s here.
Source: Crosby and Wallach, "Denial of Service via Algorithmic Complexity Attacks" (USENIX
Security 2003); CPython's hash docs (``sys.hash_info.modulus``)."""

from pathlib import Path

import pytest

from tests.harness import base_policy

POLICY = base_policy(Path(), limits={"timeout": "500ms"}, isolation="thread")
ALLOWED = frozenset({"ok", "limit", "timeout"})
FLOOD = "xs = [1 + i * (2 ** 61 - 1) for i in range(20000)]\n"

PROBES = [
    FLOOD + "print(len(set(xs)))",
    FLOOD + "print(len(dict([(x, 0) for x in xs])))",
]


# Known gap, kept as a strict xfail so it cannot silently start (or stop) passing: counting
# keys per hash cannot tell 100,000 copies of one value (cheap: each stops at the first,
# equal, entry) from 100,000 distinct values of one hash without the comparisons
# themselves, so no cost check before the call was added; building the set a key at a time
# with a tick between would bound it. isolation: fork kills it at the deadline.
@pytest.mark.xfail(strict=True, reason="one set() of colliding keys is quadratic in one C call")
@pytest.mark.parametrize("probe", PROBES)
def test_colliding_keys_stop_near_the_deadline(attack, probe: str) -> None:
    """Building a set or dict of keys with one hash stops near the deadline."""
    record = attack(probe, ALLOWED, policy=POLICY)
    assert record["duration_ms"] < 1500, f"ran {record['duration_ms']} ms past a 500 ms timeout"
