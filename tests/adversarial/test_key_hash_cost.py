"""Technique: make hashing cost far more than building. Each key of a set or dict is
checked on its own against the 100,000-node cap, so thousands of keys of 99,999 parts each
hash for seconds in C with no step counted; and a built-in fact record hashed as a key ran
its dataclass-generated __hash__ over every thread and frame, in Python code no budget
ticks. Either way the timeout did not hold.
Source: found by this project's escape hunt; the same family as
test_tuple_key_shared_subtuples.py and CPython gh-154318 (cheap to build, expensive to
hash), and the "billion laughs" shape."""

from pathlib import Path

import pytest

from tests.adversarial.conftest import CANARY
from tests.harness import base_policy

POLICY = base_policy(Path(), limits={"timeout": "200ms"}, facts=["threads", "gc", "process"])

PROBES = [
    "k = (0,) * 99999\ns = set([k] * 3000)",
    "k = (0,) * 99999\nd = dict([(k, 1)] * 3000)",
    "k = (threads,) * 99999\nd = {k: 1}",
    "s = set([(gc,) * 99999] * 10)",
    "s = {threads, process, gc}\nprint(len(s))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_hashing_keys_stays_within_the_timeout(make_host, probe: str) -> None:
    """Hashing costly keys ends soon after the timeout and leaves the host unchanged."""
    host = make_host(probe, POLICY)
    digest = host.ask("digest")
    record = host.probe()
    assert record["outcome"] in ("ok", "timeout", "limit"), record["reason"]
    # 200 ms of budget: a generous bound for the tick after the last key, never seconds.
    assert record["duration_ms"] < 1500, record["duration_ms"]
    assert host.alive()
    assert host.ask("digest") == digest
    assert CANARY not in host.report(record["seq"])
