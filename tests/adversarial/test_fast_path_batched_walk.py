"""Technique: use the batched walk (walks.Walks.guarded_iter, budget.batched_walk) to skip the
guards a per-item tick gave: steps charged per batch instead of per item, the deadline
looked at once per batch while each loop body does a long C call, an unpacking fast path
taking an item that is not an exact tuple, and a list that grows while it is walked.
Fast paths that trade a per-item check for a per-batch one are the classic way a sandbox's
limit becomes approximate (Python's own ``sys.setswitchinterval`` and the eval loop's
"eval breaker" check only at back-edges: the CPython devguide, "The bytecode interpreter").
Issue 16 asks for each fast path to have an attack that the naive version lets through.
"""

from tests.adversarial.conftest import CANARY

ZOO = {"zoo": {"target": "__main__:zoo", "allow": ["**"]}}

# Walks of 90,000 items against a budget of 50,000 steps. A batch charged one step
# (instead of one per item) walks each list in ~700 steps.
STEPS_PROBE = """\
xs = list(range(90000))
for x in xs:
    pass
for a, b in [(1, 2)] * 90000:
    pass
print("walked")
"""

# Each loop body is one C call of several milliseconds, with no tick of its own (a search
# of a 1 MB string). Looking at the clock once per batch of up to 128 bodies lets the probe
# run a second past its deadline: in the host process (isolation: thread) nothing else
# stops it; a forked child would be killed late, reported as killed rather than stopped.
SLOW_BODY_PROBE = """\
t = 'a' * 1000000
n = 0
for x in list(range(100000)):
    n += t.count('ab')
print(n)
"""

# Pairs that are exact tuples for a few batches, then a host tuple subclass with hooked
# __iter__/__len__ (a view) and a host named tuple holding a secret: a fast path that
# checked only the first batch, or took any item whose len() matched, would unpack them
# natively (running the host's hooks, reading the secret slot).
MIXED_PAIRS_PROBE = """\
pairs = [(1, 2, 3)] * 300 + [zoo.t] + [(4, 5, 6)] * 300
total = 0
for a, b, c in pairs:
    total += a
print(total)
names = [("u", "p")] * 300 + [zoo.creds]
for user, secret in names:
    pass
print(user, secret)
"""

# A work list that grows while it is walked: each batch is taken from the live list, so
# the walk sees the new items and stops at the step budget, not after the first batch.
WORKLIST_PROBE = """\
work = [0]
for item in work:
    work.append(item + 1)
print(len(work))
"""


def test_batched_walk_is_charged_a_step_per_item(held) -> None:
    """A walk of 90,000 items stops at a 50,000-step budget although it ticks per batch."""
    record = held(STEPS_PROBE, frozenset({"limit"}), limits={"max_steps": 50_000})
    assert "max_steps" in str(record["reason"]), record["reason"]
    assert "walked" not in str(record["_report"])


def test_batched_walk_with_slow_bodies_stops_at_the_deadline(held) -> None:
    """A loop whose bodies are long C calls stops itself within timeout + overshoot, in
    both isolations (item by item in a thread; in a forked child, batches stay single
    items while bodies are slow)."""
    record = held(SLOW_BODY_PROBE, frozenset({"timeout"}), limits={"max_items": 200_000})
    assert "ran past" in str(record["reason"]), record["reason"]  # stopped itself, not killed


def test_unpacking_fast_path_takes_exact_tuples_only(held) -> None:
    """A host tuple subclass and a named tuple in a walk are unpacked through their views:
    no host hook runs (held's digest), and the secret field comes out redacted."""
    record = held(MIXED_PAIRS_PROBE, frozenset({"ok"}), expose=ZOO)
    report = str(record["_report"])
    assert "1501" in report, report  # 300 * 1, the subclass's first item 1, 300 * 4
    assert CANARY not in report


def test_list_grown_during_a_batched_walk_is_walked_to_the_limit(held) -> None:
    """A list appended to while it is walked yields the new items, batch after batch,
    until the step budget stops it (a walk of a one-time copy would end after one item)."""
    record = held(WORKLIST_PROBE, frozenset({"limit"}), limits={"max_steps": 20_000})
    assert "max_steps" in str(record["reason"]), record["reason"]
