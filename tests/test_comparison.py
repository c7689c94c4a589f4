"""The comparison guards: the cost model, the refusals and Python's own semantics kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from safeprobe import Outcome, run_probe
from safeprobe.errors import ProbeStopped
from safeprobe.probe.budget import Budget, OutputBuffer
from safeprobe.probe.comparison import Comparisons
from safeprobe.probe.comparison_cost import MAX_COMPARE_COST, hash_group_cost, leaf_cost, walk_cost
from safeprobe.probe.compiler import compile_probe
from safeprobe.probe.render import RenderLimits
from safeprobe.probe.sandbox import AttemptState, Sandbox
from safeprobe.probe.top_level import code_names


def _no_tick() -> None:
    pass


def _comparisons(cap: int = MAX_COMPARE_COST) -> Comparisons:
    budget = Budget(timeout_s=60, max_steps=10**9, max_items=100_000)
    return Comparisons(budget, lambda value: value, cap=cap)


def test_scalars_cost_by_their_size() -> None:
    """A number costs 1 (more for a big int), a string its bytes in 64-byte units."""
    assert leaf_cost(5) == leaf_cost(1.5) == leaf_cost(None) == 1
    assert leaf_cost(1 << 40_000) > 300
    assert leaf_cost("a" * 6400) == 101
    assert leaf_cost("é" * 1600) == 101  # up to 4 bytes a character
    assert leaf_cost([]) == -1


def test_aliases_are_counted_each_time_they_are_reached() -> None:
    """[row] * 3 costs three rows, though the walk visits the row once."""
    row = [0] * 10
    assert walk_cost(row, 10**9, _no_tick) == 4 + 10 + 10
    assert walk_cost([row] * 3, 10**9, _no_tick) == 4 + 3 + 3 * 24
    assert walk_cost({1: row}, 10**9, _no_tick) == 4 + 1 + 1 + 24


def test_flat_containers_are_bounded_by_their_largest_item() -> None:
    """A list of one scalar type is costed by C loops, never below its item-by-item walk."""
    for items in ([5] * 100, ["é" * 64] * 50 + ["a"] * 50, [b"x" * 640] * 40, [0.5] * 33):
        bound = walk_cost(items, 10**9, _no_tick)
        assert bound >= 4 + len(items) + sum(leaf_cost(i) for i in items)
    assert walk_cost([1 << 20_000] * 100, 10**9, _no_tick) == 4 + 100 + 100 * leaf_cost(1 << 20_000)
    mixed = [0] * 50 + [[0] * 10]
    assert walk_cost(mixed, 10**9, _no_tick) == 4 + 51 + 50 + 24


def test_the_walk_stops_over_the_cap_and_on_a_cycle() -> None:
    """Over the cap (or around a cycle) the answer is cap + 1, found without the full walk."""
    row = [0] * 100_000
    assert walk_cost([row] * 10**6, 1000, _no_tick) == 1001
    loop: list[object] = []
    loop.append(loop)
    assert walk_cost(loop, 1000, _no_tick) == 1001


def test_an_expensive_pair_is_refused_and_a_cheap_one_passes() -> None:
    """The cost of ``a == b`` is the cheaper walk; refused only when both are over the cap."""
    comparisons = _comparisons(cap=1000)
    big = [[0] * 100] * 100
    comparisons.check_pair(big, [0], "==")
    comparisons.check_pair(big, [[0] * 100] * 99, "==")  # lengths differ: C stops there
    comparisons.check_pair(big, big, "<=")  # one object: every item pair is identical
    with pytest.raises(ProbeStopped, match="comparison"):
        comparisons.check_pair(big, [[0] * 100] * 100, "<")


def test_membership_counts_the_item_once_per_element() -> None:
    """``x in c`` of a list costs len(c) walks of x; in a range, a non-int walks the range."""
    comparisons = _comparisons(cap=1000)
    comparisons.check_membership([0] * 10, [[0]] * 50, "in")
    with pytest.raises(ProbeStopped):
        comparisons.check_membership("a" * 64_000, ["b" * 64_000] * 100, "in")
    comparisons.check_membership(10**30, range(10**20), "in")
    with pytest.raises(ProbeStopped):
        comparisons.check_membership(0.5, range(10**20), "in")


def test_literals_and_identity_compile_without_a_guard() -> None:
    """``x == 5``, ``x is y`` and ``x in (1, 2)`` stay native; ``x == y`` is guarded."""
    assert "_eq_" not in code_names(compile_probe("x == 5", path="p.py"))
    assert "_in_" not in code_names(compile_probe("x in (1, 'a')", path="p.py"))
    assert "_key_" in code_names(compile_probe("x in {1, 2}", path="p.py"))
    assert "_link_" not in code_names(compile_probe("x is y", path="p.py"))
    assert "_lt_" in code_names(compile_probe("x < y", path="p.py"))
    assert "_link_" in code_names(compile_probe("x < f(y) < z", path="p.py"))
    plain_chain = code_names(compile_probe("0 <= i < n", path="p.py"))
    assert "_lt_" in plain_chain
    assert "_le_" not in plain_chain
    assert "_link_" not in plain_chain


SEMANTICS = """
calls = []
def f(x):
    calls.append(x)
    return x
assert (f(1) < f(2) < f(3)) is True and calls == [1, 2, 3]
calls.clear()
assert (f(1) < f(0) < f(5)) is False and calls == [1, 0]
calls.clear()
assert f(1) < f(2) == f(2) in [f(2)] and calls == [1, 2, 2, 2]
calls.clear()
assert (f(1) is f(1) is not None) and calls == [1, 1]
assert (0 < (1 < 2 < 3) <= 1) is True
a, b, c = 1, 2, 3
assert a < b < c and not (a < c < b) and (a < b <= 2 == b) is True and (c < a < f(9)) is False
assert calls == [1, 1]
assert (f(1) < f(2) < (f(0) < f(9) < f(8))) is False
assert [1, 2] < [1, 3] and (1, 2) != (1, 2, 3) and not ({1: 2} == {1: 3})
assert 'b' in 'abc' and 3 not in [1, 2] and (1, 2) in {(1, 2)} and 2 in {2: 0}
try:
    [1] < 1
except TypeError:
    print('TypeError')
assert [1, 2, 3].count(2) == 1 and (1, 2).index(2) == 1 and 'ab'.startswith('a')
x = [3, 1, 2]
x.sort(key=lambda v: -v)
assert x == [3, 2, 1] and sorted(x, reverse=True) == [3, 2, 1]
assert max(['a', 'bb'], key=len) == 'bb' and min([[2], [1]]) == [1]
x.remove(2)
assert x == [3, 1]
n = 6
assert n | 1 == 7 and n & 3 == 2 and n - 2 == 4 and n ^ 3 == 5
assert {1, 2} - {2} == {1} and {1: 2} | {3: 4} == {1: 2, 3: 4} and {1, 2} ^ {2} == {1}
s = {1}
s |= {2}
s -= {1}
assert s == {2}
print('same')
"""


def test_guarded_comparisons_keep_pythons_semantics(tmp_path: Path) -> None:
    """Chains evaluate each operand once, in order, short-circuit, and give Python's value."""
    outcome, output, reason = _run(tmp_path, SEMANTICS)
    assert outcome == Outcome.OK, reason
    assert output == "TypeError\nsame\n"


def _run(tmp_path: Path, probe: str) -> tuple[Outcome, str, str]:
    (tmp_path / "probe.py").write_text(probe)
    os.chmod(tmp_path / "probe.py", 0o644)
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "probe": {"path": "probe.py"},
                "audit": {"path": "audit.jsonl"},
                "limits": {"timeout": "5s"},
                "isolation": "thread",
            }
        )
    )
    attempt = run_probe(policy)
    return attempt.outcome, attempt.output, attempt.reason


_VALUES = st.one_of(
    st.integers(-3, 3),
    st.sampled_from(["", "a", "ab"]),
    st.lists(st.integers(0, 2), max_size=3),
    st.tuples(st.integers(0, 2)),
    st.frozensets(st.integers(0, 2), max_size=2),
)
_OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in", "is", "is not"])


@settings(max_examples=150, deadline=None)
@given(st.lists(_VALUES, min_size=2, max_size=4), st.data())
def test_a_guarded_chain_gives_pythons_value(values: list[object], data: st.DataObject) -> None:
    """Any chain over probe values, through names or calls, gives Python's value or error."""
    ops = [data.draw(_OPS) for _ in values[1:]]
    names = [f"v{i}" for i in range(len(values))]
    for operand in (lambda n: n, lambda n: f"f({n})"):
        expr = names[0] + "".join(
            f" {op} {operand(n)}" for op, n in zip(ops, names[1:], strict=True)
        )
        source = f"def f(x):\n    return x\nresult = {expr}\n"
        expected: object
        try:
            expected = eval(expr, {"f": lambda x: x, **dict(zip(names, values, strict=True))})
        except TypeError:
            expected = TypeError
        sandbox = Sandbox(
            AttemptState(
                Budget(timeout_s=60, max_steps=10**6, max_items=1000),
                OutputBuffer(1024),
                RenderLimits(),
            )
        )
        scope = {**sandbox.globals({}, name="probe"), **dict(zip(names, values, strict=True))}
        try:
            exec(compile_probe(source, path="p.py"), scope)
            got = scope["result"]
        except TypeError:
            got = TypeError
        assert got == expected, (expr, values)
        assert type(got) is type(expected)


def test_hash_groups_tell_equal_duplicates_from_a_flood() -> None:
    """100,000 equal keys of one hash pass; 6,000 distinct keys of one hash are refused."""
    comparisons = _comparisons()
    copies = [str(i % 7) + "x" for i in range(100_000)]
    assert comparisons.check_hash_groups(copies, "keys", distinct=False) == 100_000 - 7
    flood = [1 + i * (2**61 - 1) for i in range(6_000)]
    with pytest.raises(ProbeStopped):
        comparisons.check_hash_groups(flood, "keys", distinct=False)
    with pytest.raises(ProbeStopped):
        comparisons.check_hash_groups(set(flood[:3000]), "keys", distinct=True)
    assert hash_group_cost(set(flood[:100])) == 100 * 100
    assert hash_group_cost(set(range(1000))) == 0
