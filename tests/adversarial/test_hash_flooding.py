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
ALLOWED = frozenset({"limit", "timeout"})
FLOOD = "xs = [1 + i * (2 ** 61 - 1) for i in range(20000)]\n"

PROBES = [
    FLOOD + "print(len(set(xs)))",
    FLOOD + "print(len(dict([(x, 0) for x in xs])))",
]


# Was a strict xfail (one set() of colliding keys quadratic in one C call); now every bulk
# insertion counts its keys per hash first and refuses a group costing over the cap
# (comparison.py, check_hash_groups; test_hash_flooding_bulk_inserts.py has the rest).
@pytest.mark.parametrize("probe", PROBES)
def test_colliding_keys_stop_near_the_deadline(attack, probe: str) -> None:
    """Building a set or dict of keys with one hash stops near the deadline."""
    record = attack(probe, ALLOWED, policy=POLICY)
    assert record["duration_ms"] < 1500, f"ran {record['duration_ms']} ms past a 500 ms timeout"
