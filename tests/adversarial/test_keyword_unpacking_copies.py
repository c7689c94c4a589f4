"""Technique: ``**d`` copies a dict in C. ``dict(**d)`` with 100,000 keys (50,000 here, so that building them fits the timeout) copies the table
into the call's keyword dict, again through each wrapper the call passes (``_apply_``, the
builtin's), and once more into the result: none of it was charged, and no tick ran
between twenty such statements, so the host of isolation: thread grew ~116 MiB and the
attempt ran 1.3 s on a 500 ms timeout. ``{**d}`` made one uncharged copy each.
Source: Python reference, "Calls" (``**expression`` must be a mapping whose contents are
treated as additional keyword arguments)."""

import pytest

OK_OR_REFUSED = frozenset({"ok", "limit", "timeout"})
KEYS = "d = {str(i): i for i in range(50000)}\n"

PROBES = [
    KEYS + "".join(f"x{i} = dict(**d)\n" for i in range(30)) + "print(len(x0))",
    KEYS + "".join(f"x{i} = {{**d}}\n" for i in range(40)) + "print(len(x0))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_keyword_unpacking_copies_are_charged(held, probe: str) -> None:
    """Every copy ``**d`` makes is charged before it is made."""
    record = held(probe, OK_OR_REFUSED)
    assert record["outcome"] != "ok", record["reason"]


def test_keyword_unpacking_still_works(held) -> None:
    """A call with ``**`` of a small dict still runs."""
    record = held("d = {'a': 1}\nprint(dict(**d, b=2), {**d})", frozenset({"ok"}))
    assert "{'a': 1, 'b': 2} {'a': 1}" in record["_report"]
