"""Technique: have a vouched property hand back a host object whose hooks are host code
(``__repr__``, ``__str__``, ``__eq__``, ``__hash__``, ``__format__``) and use it in every way
that would call them: printing, formatting, comparing, hashing. The result is wrapped like
any host value, so none of them runs. The hooks count in memory shared with the fork child.
Source: Ned Batchelder, "Eval really is dangerous" (side effects through dunder hooks)."""

from __future__ import annotations

EXPOSE = {"ledger": {"target": "__main__:ledger", "allow": ["hostile"], "evaluate": ["hostile"]}}

# Render it every way a probe can.
RENDER = (
    "h = ledger.hostile\n"
    "print(h)\n"
    "print(repr(h), str(h), f'{h}', f'{h!r:>10}', '%s %r' % (h, h), '{}'.format(h))\n"
)
# Compare and hash it.
COMPARE = (
    "h = ledger.hostile\n"
    "print(h == 1, h != 1, h == ledger.hostile, h in [1, 2], {h: 1}[h], len({h, h}))\n"
)


def test_a_vouched_result_is_rendered_without_its_hooks(held) -> None:
    """The hostile result prints as a view: structure, never its __repr__/__format__."""
    record = held(RENDER, frozenset({"ok"}), expose=EXPOSE)
    assert "Hostile()" in record["_report"]
    assert record["evaluated"] == {"ledger.hostile": 1}


def test_a_vouched_result_is_compared_without_its_hooks(held) -> None:
    """Equality and hashing of the result are the view's identity, not the host's hooks."""
    record = held(COMPARE, frozenset({"ok"}), expose=EXPOSE)
    assert "False True False False 1 1" in record["_report"]
    assert record["evaluated"] == {"ledger.hostile": 2}
