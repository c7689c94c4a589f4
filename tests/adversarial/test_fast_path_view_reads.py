"""Technique: reach the views' fast paths with what they must not take. A walk of a host list
is handed over as it is when every item is an exact builtin scalar (views.py
``_wrap_each``): a list of exact strs that ends with a host str subclass (hooked
``__len__``, ``__eq__``, ``__str__`` …) must still hand that item over as a view, or the
probe calls the host's hooks; a naive check of the first item's type, or an
``isinstance`` test, hands it over raw. And the allowlist's answer for an attribute read
is taken once per (path, name) (``ViewContext.reads``): a naive cache keyed by the name
alone lets ``pair.b.n`` through because ``pair.a.n`` was allowed. Source: cache-key
confusion, the classic of memoised access checks (CWE-524 family; Python's own type
attribute cache keys on type version and name, never the name alone).
"""

import pytest

from tests.adversarial.conftest import CANARY, REFUSED

MIXED = {"mixed": {"target": "__main__:mixed_scalars"}}
# b is traversable (towards b.m), so only the cached answer for "n" could let b.n through.
PAIR = {"pair": {"target": "__main__:pair", "allow": ["a.n", "b.m"]}}

MIXED_PROBES = [
    "n = 0\nfor x in mixed:\n    n += len(x)\nprint(n)",
    "seen = [x == 'x' for x in mixed]\nprint(seen.count(True))",
    "print(sorted(set(mixed))[:3], len(list(mixed)))",
    "print(''.join([f'{x}' for x in mixed])[-5:])",
]


@pytest.mark.parametrize("probe", MIXED_PROBES)
def test_scalar_list_fast_path_wraps_a_trailing_host_subclass(held, probe: str) -> None:
    """Exact strs come as they are; the host str subclass after them comes as a view, so
    none of its hooks runs (held's digest counts them)."""
    held(probe, REFUSED | {"ok"}, expose=MIXED)


def test_cached_allowlist_answer_is_per_path(held) -> None:
    """``pair.a.n`` is allowed; ``pair.b.n``, the same name on another path, stays refused."""
    record = held("print(pair.a.n)\nprint(pair.b.n)\n", frozenset({"denied"}), expose=PAIR)
    assert "pair.b.n" in str(record["reason"]), record["reason"]
    assert CANARY not in str(record["_report"])


def test_cached_allowlist_answer_survives_many_views_of_one_path(held) -> None:
    """Reads through many views of one path share one cached answer, each read live."""
    probe = "total = 0\nfor i in range(1000):\n    total += pair.a.n\nprint(total >= 0)\n"
    record = held(probe, frozenset({"ok", "timeout"}), expose=PAIR)
    if record["outcome"] == "ok":
        assert "True" in str(record["_report"])
