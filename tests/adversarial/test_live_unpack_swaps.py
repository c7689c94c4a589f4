"""Technique: make a loop's fast path answer what plain Python would not, or run past its
limits. ``for a, b in probe_list`` unpacks live batches in C after a check of the batch's
slice (walks.py ``_unpack_live``); a small view walk in a forked child is charged at once
(``tick_many``). The body swaps a probe generator in ahead of the loop, shortens the list
from either end, replaces it wholesale with a mix of tuples, lists and a str, or grows it;
nested small walks run against the timeout. Each is stopped (or answers as Python) today:
these keep the fast paths honest. Source: read-ahead bugs of batched iteration (CPython's
own "list modified during iteration" semantics, listobject.c listiter_next) and the
time-of-check to time-of-use class (CWE-367).
"""

import pytest

EXPOSE = {"small": {"target": "__main__:small"}, "pairs": {"target": "__main__:pairs"}}


@pytest.mark.parametrize(
    ("probe", "expected"),
    [
        # A generator swapped in ahead: the loop itself unpacks it, as Python does.
        (
            "xs = [(1, 2)] * 20\nout = []\nfor a, b in xs:\n    xs[3] = (c for c in 'ab')\n"
            "    out.append(a)\nprint(out[:5])\n",
            "[1, 1, 1, 'a', 1]",
        ),
        # Shortened from the end and from the front while the batch is walked.
        (
            "xs = [(i, i) for i in range(10)]\nout = []\nfor a, b in xs:\n"
            "    out.append(a)\n    xs.pop()\nprint(out)\n",
            "[0, 1, 2, 3, 4]",
        ),
        (
            "xs = [(i, i) for i in range(10)]\nout = []\nfor a, b in xs:\n"
            "    out.append(a)\n    xs.pop(0)\nprint(out)\n",
            "[0, 2, 4, 6, 8]",
        ),
        # Replaced wholesale by a mix: the str is unpacked into its characters.
        (
            "xs = [(i, i) for i in range(40)]\nout = []\nfor a, b in xs:\n    out.append(a)\n"
            "    if a == 2:\n        xs[:] = [(7, 7), (8, 8), [9, 9], 'ab']\nprint(out)\n",
            "[0, 1, 2, 'a']",
        ),
        # Grown by the body: appended items are walked, as Python walks them.
        (
            "xs = [(1, 2)] * 5\nys = []\nfor a, b in xs:\n    ys.append(len(xs))\n"
            "    if len(xs) < 12:\n        xs.append((3, 4))\nprint(ys)\n",
            "[5, 6, 7, 8, 9, 10, 11, 12, 12, 12, 12, 12]",
        ),
    ],
)
def test_live_unpacking_answers_as_python(held, probe: str, expected: str) -> None:
    """Each loop prints what plain Python prints for it."""
    record = held(probe, frozenset({"ok"}), expose=EXPOSE)
    assert expected in str(record["_report"]), record["_report"]


def test_nested_small_walks_stop_at_the_timeout(held) -> None:
    """Nested walks of an 8-item host list (16.7 million bodies), no step cap to stop them
    first: the attempt ends by its timeout, or by the cumulative charge for the views each
    walk makes (64 MiB in all, reached first in a forked child), within the timeout (held
    checks the overshoot)."""
    probe = (
        "n = 0\nfor a in small:\n    for b in small:\n        for c in small:\n"
        "            for d in small:\n                for e in small:\n"
        "                    for f in small:\n                        for g in small:\n"
        "                            for h in small:\n"
        "                                n += 1\nprint(n)\n"
    )
    record = held(
        probe, frozenset({"timeout", "limit"}), expose=EXPOSE, limits={"max_steps": 10**12}
    )
    reason = str(record["reason"])
    assert "timeout" in reason or "bytes in all" in reason, reason
