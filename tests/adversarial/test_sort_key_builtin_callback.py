"""Technique: a builtin method as a sort or min/max key, so that C calls it once per item
with no step between calls. A probe's own function ticks when called; ``d.get`` does
not. With ``d`` a dict grown a store at a time with 3,000 colliding ints (equal modulo
2**61 - 1) and a list of 100,000 copies of the last one stored, each ``d.get`` walks
the whole group (~60 us), and ``sorted(xs, key=d.get)`` computed all 100,000 keys in one
C call: 6.6 s on a 500 ms timeout in isolation: thread. Any slow builtin works the same
way; the flood only makes each call slow.
Source: Python docs, "Sorting Techniques" (the key function is called exactly once for
each item); Crosby and Wallach (USENIX Security 2003) for the collisions."""

import pytest

OK_OR_REFUSED = frozenset({"ok", "limit", "timeout"})
GROWN = (
    "P = 2 ** 61 - 1\n"
    "d = {}\n"
    "for i in range(3000):\n"
    "    d[1 + i * P] = i\n"
    "xs = [1 + 2999 * P] * 100000\n"
)

PROBES = [
    GROWN + "print(len(sorted(xs, key=d.get)))",
    GROWN + "print(min(xs, key=d.get))",
    GROWN + "xs.sort(key=d.get)\nprint(len(xs))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_builtin_key_callbacks_stop_at_the_deadline(held, probe: str) -> None:
    """A sort or min/max whose key is a builtin method stops within the deadline."""
    held(probe, OK_OR_REFUSED)
