"""Technique: make the fast paths of issue 16's second pass answer what their full path
would not. An attribute read is planned once per (path, name, exact type)
(views.planned_getattr, ReadPlan) and then only the value is read: a plan reused for an
instance dict of the same size that holds a hostile key compares that key (a memo keyed
on size alone), a plan made for a slot serves a subclass whose property shadows it (a
plan keyed on the class name or an isinstance test), a hidden name's plan leaks its value
once cached. A small walk in a forked child is charged at once, not per item: a fast
path that charges nothing lets nested small loops run past max_steps. A probe list is
unpacked in C a batch at a time after a check of the batch: items the loop body swaps in
must still unpack as plain Python unpacks them. Source: cache-key confusion in memoised
access checks (CWE-524 family; CPython's type attribute cache keys on the exact type's
version tag and the name, gh-91603), and read-ahead bugs of batched iteration
(gh-100458-style "list changed during iteration" semantics).
"""

import pytest

from tests.adversarial.conftest import CANARY, REFUSED

PLANNED = {"planned": {"target": "__main__:planned", "allow": ["value", "other"]}}
SLOTTED = {"slotted": {"target": "__main__:slotted", "allow": ["value"]}}
CREDS = {"creds": {"target": "__main__:creds", "allow": ["user", "password"]}}
SMALL = {"small": {"target": "__main__:small"}}
PAIRS = {"pairs": {"target": "__main__:pairs"}}


def test_plan_rechecks_the_keys_of_another_instance_dict_of_the_same_size(held) -> None:
    """After a plain instance's ``other`` is read (plan made, its dict remembered), the
    same read of an instance whose dict of the same size holds a hostile key hashing like
    "other" never compares with it: held's digest counts every comparison."""
    # The second read of planned[0].other takes the plan and remembers its dict as plain.
    probe = "print(planned[0].other)\nprint(planned[0].other)\nprint(planned[1].other)\n"
    record = held(probe, REFUSED | {"ok"}, expose=PLANNED)
    assert "2" in str(record["_report"])


def test_plan_reads_each_instance_dict_live(held) -> None:
    """One plan, two objects: each read gives that object's value, many times over."""
    probe = "for i in range(50):\n    a = planned[0].value\n    b = planned[1].value\nprint(a, b)\n"
    record = held(probe, frozenset({"ok"}), expose=PLANNED)
    assert "1 1" in str(record["_report"])


def test_slot_plan_does_not_serve_a_subclass_whose_property_shadows_it(held) -> None:
    """A slot read planned for one class is refused for a subclass (same name) whose
    ``value`` is a property: its code never runs."""
    probe = "for i in range(3):\n    print(slotted[0].value)\nprint(slotted[1].value)\n"
    record = held(probe, frozenset({"denied"}), expose=SLOTTED)
    assert "host-code" in str(record["reason"]), record["reason"]
    assert "slot value" in str(record["_report"])


def test_planned_secret_stays_redacted_on_every_read(held) -> None:
    """A secret-named attribute read through its plan again and again shows the marker."""
    probe = "for i in range(20):\n    for c in creds:\n        s = c.password\nprint(s, creds[1].user)\n"
    record = held(probe, frozenset({"ok"}), expose=CREDS)
    assert "app" in str(record["_report"])
    assert CANARY not in str(record["_report"])


def test_small_walks_are_charged_every_step(held) -> None:
    """Nested walks of an 8-item host list (262,144 bodies) stop at max_steps: a small
    walk charged at once still charges each item."""
    probe = (
        "n = 0\nfor a in small:\n    for b in small:\n        for c in small:\n"
        "            for d in small:\n                for e in small:\n"
        "                    for f in small:\n                        n += 1\nprint(n)\n"
    )
    record = held(probe, frozenset({"limit"}), expose=SMALL, limits={"max_steps": 5000})
    assert "max_steps" in str(record["reason"]), record["reason"]


@pytest.mark.parametrize(
    ("probe", "expected"),
    [
        # A str swapped in further on: unpacked into its two characters, as Python does.
        (
            "xs = [(1, 2)] * 20\nout = []\nfor a, b in xs:\n    xs[5] = 'ab'\n"
            "    out.append(a)\nprint(out[:7])\n",
            "[1, 1, 1, 1, 1, 'a', 1]",
        ),
        # A view of a host list swapped in: unpacked through its own guarded snapshot.
        (
            "xs = [(0, 0)] * 20\nout = []\nfor a, b in xs:\n    xs[3] = pairs[1]\n"
            "    out.append(a + b)\nprint(out[:5])\n",
            "[0, 0, 0, 7, 0]",
        ),
        # A 3-tuple swapped in: the loop raises as Python's does.
        (
            "xs = [(1, 2)] * 20\ntry:\n    for a, b in xs:\n        xs[4] = (1, 2, 3)\n"
            "except ValueError as e:\n    print('raised', e)\n",
            "raised too many values to unpack (expected 2)",
        ),
    ],
)
def test_items_swapped_in_by_the_loop_unpack_as_python_unpacks(
    held, probe: str, expected: str
) -> None:
    """The batch was checked before the body ran; what the body swaps in is unpacked by
    the loop itself, with plain Python's answer."""
    record = held(probe, frozenset({"ok"}), expose=PAIRS)
    assert expected in str(record["_report"]), record["_report"]


def test_a_host_list_view_has_no_pop(held) -> None:
    """list.pop is a plain method of the probe's own lists only: a view of a host list
    refuses it, and the host list keeps its items (held's digest covers ``small``)."""
    held("small.pop()\n", REFUSED, expose=SMALL)
