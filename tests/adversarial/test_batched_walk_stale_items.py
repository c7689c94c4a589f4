"""Technique: change a list's later items (or shorten it) from inside a loop that walks it,
so a walk that took its next items early (budget.batched_walk's batch, sliced off the list
before the bodies ran) hands over items the list no longer holds: a wrong answer, with no
error. Python's list iterator reads the list by position at every step ("Changing a list
while iterating over it": the Python tutorial, 4.2 "for Statements", and the language
reference, 8.3 "The for statement"), and a probe's loop must print what plain Python prints.
A stale read ahead is the classic hazard of a prefetching iterator (the CPython issue
"list iterator must see mutations", bpo-20986-style bugs in C accelerators).
"""

import pytest

# Each probe prints what plain Python prints; the expected line is computed here by
# running the same code natively.
PROBES = [
    # A later item replaced by the body: seen new by Python.
    "xs = list(range(300))\nseen = 0\nfor x in xs:\n    if x + 1 < len(xs):\n"
    "        xs[x + 1] = -1 if x >= 0 else x\n    seen += x\nprint('sum', seen)",
    # The list shortened by the body: Python stops early.
    "xs = list(range(300))\nn = 0\nfor x in xs:\n    n += 1\n    if x == 20:\n"
    "        xs.clear()\nprint('count', n)",
    # Removing while iterating (the classic skip): Python skips the item after each removal.
    "xs = list(range(300))\nkept = []\nfor x in xs:\n    if x % 3 == 0:\n"
    "        xs.remove(x)\n    kept.append(x)\nprint('kept', len(kept), sum(kept))",
    # Lazy iterators and comprehensions over the list walk it through the same guarded
    # walk: enumerate, zip, map and a list comprehension whose function changes it.
    "xs = list(range(300))\nt = 0\nfor i, x in enumerate(xs):\n    if i + 1 < len(xs):\n"
    "        xs[i + 1] = 0\n    t += x\nprint('enumerate', t)",
    "xs = list(range(300))\nt = 0\nfor a, b in zip(xs, xs):\n    if a + 1 < len(xs):\n"
    "        xs[a + 1] = 0\n    t += b\nprint('zip', t)",
    "xs = list(range(300))\ndef f(x):\n    if x + 1 < len(xs):\n        xs[x + 1] = 0\n"
    "    return x\nprint('map', sum(list(map(f, xs))), sum([f(x) for x in xs]))",
    # The unpacking walk: a later pair replaced by the body.
    "ps = [(i, i) for i in range(300)]\nt = 0\nfor a, b in ps:\n    if a + 1 < len(ps):\n"
    "        ps[a + 1] = (0, 0)\n    t += a + b\nprint('pairs', t)",
]


def _native(probe: str) -> str:
    lines: list[str] = []
    exec(probe, {"print": lambda *a: lines.append(" ".join(map(str, a)))})
    return lines[-1]


@pytest.mark.parametrize("probe", PROBES)
def test_walk_of_a_list_changed_by_its_loop_reads_it_live(held, probe: str) -> None:
    """A loop that changes or shortens the list it walks sees what plain Python sees."""
    record = held(probe, frozenset({"ok"}))
    expected = _native(probe)
    assert expected in str(record["_report"]), (record["_mode"], expected, record["_report"])
