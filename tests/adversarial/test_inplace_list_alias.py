"""Technique: ``+=`` and ``*=`` on a probe's own list that another name (or a container)
also holds. Python extends or repeats the list in place (``list.__iadd__``/``__imul__``),
so every alias sees the change and ``xs += (1, 2)`` takes any iterable; a sandbox that
rewrites ``a += b`` as ``a = a + b`` (RestrictedPython's ``_inplacevar_`` routed to the
guarded ``+``) builds a new list: the alias keeps the old one, a wrong answer with no
error, and ``xs += (1, 2)`` is refused as ``list + tuple``. Source: the Python language
reference, 7.2.1 "Augmented assignment statements" ("the actual operation is performed
in-place ... when possible") and the Python FAQ "Why does a_tuple[i] += ['item'] raise an
exception when the addition works?".
"""

import pytest

from tests.adversarial.conftest import REFUSED

PROBES = [
    "xs = [1]\nys = xs\nxs += [2]\nprint('r', xs, ys)",
    "xs = [1, 2]\nbox = {'k': xs}\nxs *= 2\nprint('r', box)",
    "xs = [1]\nxs += (2, 3)\nxs += range(2)\nxs += 'ab'\nprint('r', xs)",
    "rows = [[0]] * 1\nfor r in rows:\n    r += [1]\nprint('r', rows)",
    "def add(acc):\n    acc += [len(acc)]\nacc = []\nadd(acc)\nadd(acc)\nprint('r', acc)",
]


def _native(probe: str) -> str:
    lines: list[str] = []
    exec(probe, {"print": lambda *a: lines.append(" ".join(map(str, a)))})
    return lines[-1]


@pytest.mark.parametrize("probe", PROBES)
def test_inplace_add_on_a_list_changes_it_in_place(held, probe: str) -> None:
    """``xs += ...``/``xs *= n`` change the list every alias holds, as in plain Python."""
    record = held(probe, frozenset({"ok"}))
    expected = _native(probe)
    assert expected in str(record["_report"]), (record["_mode"], expected, record["_report"])


@pytest.mark.parametrize(
    "probe",
    [
        "xs = [0]\nfor i in range(40):\n    xs += xs\nprint(len(xs))",
        "xs = [0] * 1000\nxs *= 10 ** 9\nprint(len(xs))",
        "xs = []\nxs += range(10 ** 9)\nprint(len(xs))",
        "xs = []\nxs += zoo.in_list\nxs *= 10 ** 9\nprint(len(xs))",
    ],
)
def test_inplace_growth_of_a_list_is_still_bounded(held, probe: str) -> None:
    """Doubling, repeating and extending a list in place stay under the item and size caps."""
    record = held(probe, REFUSED, expose={"zoo": {"target": "__main__:zoo", "allow": ["**"]}})
    assert record["outcome"] in {"limit", "denied", "error", "timeout"}, record["reason"]
