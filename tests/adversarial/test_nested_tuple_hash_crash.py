"""Technique: build a tuple nested a few hundred thousand levels deep and make CPython hash
it (a set or dict key, `in` on a set, a set builtin). tuple_hash recurses in C without a
recursion guard, so the C stack overflows and the whole host process dies with SIGSEGV.
RestrictedPython does not stop it; each line below crashed an unguarded host.
Source: CPython issue gh-154318, "tuple_hash ... recurse without a guard: hashing a deeply
nested tuple ... segfaults" (open in 2026, all versions)."""

import pytest

_BUILD = "x = ()\nfor i in range(300000):\n    x = (x,)\n"
_BUILD_IMPLICIT = "def wrap(*a):\n    return a\nx = ()\nfor i in range(300000):\n    x = wrap(x)\n"
_BUILD_VIA_ITEMS = "x = ()\nfor i in range(300000):\n    x = list({0: x}.items())[0]\n"

PROBES = [
    _BUILD + "s = {x}\n",
    _BUILD + "d = {x: 1}\n",
    _BUILD + "d = {}\nd[x] = 1\n",
    _BUILD + "print(x in {1})\n",
    _BUILD + "print(x in {1: 2})\n",
    _BUILD + "print(set([x]))\n",
    _BUILD + "print(frozenset([x]))\n",
    _BUILD + "print(dict([(x, 1)]))\n",
    _BUILD + "s = set()\ns.add(x)\n",
    _BUILD + "print({1: 2}.get(x))\n",
    _BUILD + "s = {y for y in [x]}\n",
    _BUILD + "d = {y: 1 for y in [x]}\n",
    _BUILD + "s = {*[x]}\n",
    _BUILD + "print(isinstance(1, (x,)))\n",
    _BUILD + "print('a'.encode(x))\n",
    _BUILD + "d = {}\nd |= [(x, 1)]\n",
    _BUILD + "print({1: 2}.keys() & [x])\n",
    _BUILD_IMPLICIT + "s = {x}\n",
    _BUILD_VIA_ITEMS + "s = {x}\n",
]


@pytest.mark.parametrize("probe", PROBES)
def test_hashing_a_deeply_nested_tuple_does_not_crash_the_host(attack, probe: str) -> None:
    """Hashing a deeply nested tuple ends as an outcome, and the host survives."""
    record = attack(probe, policy=None)
    assert record["outcome"] in ("denied", "limit", "error", "timeout"), record["reason"]
