"""Technique: hand the probe host values whose every hook is host code: str, int, float,
tuple, list, dict, set, frozenset and bytes subclasses and a plain class, all under a
metaclass that hooks ``__instancecheck__``, ``__subclasscheck__``, ``__iter__``,
``__len__``, ``__getitem__``, ``__contains__``, ``__call__``, ``__or__`` and ``__repr__``,
plus an IntEnum under a hostile EnumMeta; then use them the ways C code calls hooks
(``len``, ``in``, ``%``, f-strings, ``sorted``, indexing with an ``__index__`` value,
``range``, ``isinstance``, ``int()``, unpacking, ``dict(...)``, subscripting a class).
Each hook counts itself in memory shared with the fork child (tests/hosts/app_host.py,
``_SHARED_CALLS``), so host code that ran in the child, which the host's own counters
cannot see, changes the host's digest too.
Source: Python data model, "Special method lookup" and "Customizing instance and subclass
checks"; enum docs, "EnumType"."""

import pytest

ZOO = {"zoo": {"target": "__main__:zoo", "allow": ["**"]}}

PROBES = [
    "print(zoo.s, f'{zoo.s}', '%s' % zoo.s, str(zoo.s), {zoo.s: 1})",
    "print(zoo.s == 'abc', zoo.s in {'a'}, len(zoo.s))",
    "print([1, 2, 3, 4][zoo.i])",
    "print(range(zoo.i), 'x' * zoo.i, int(zoo.i), hex(zoo.i))",
    "print(f'{zoo.i:d}', zoo.i < 3, zoo.i + 1)",
    "print(float(zoo.f), zoo.f + 1)",
    "print(len(zoo.t), list(zoo.t), zoo.t[0], 1 in zoo.t, zoo.t)\na, b, c = zoo.t",
    "print(sorted(zoo.l), zoo.l, len(zoo.l), zoo.l[1:])",
    "print(zoo.d, dict(zoo.d), {**zoo.d}, list(zoo.d), zoo.d.get('zz'), zoo.d['a'])",
    "print(zoo.d['zz'])",
    "print(zoo.st, zoo.fs, 1 in zoo.st, len(zoo.fs), zoo.st | {3})",
    "print(zoo.b, len(zoo.b), zoo.b + b'x')",
    "print(zoo.o, zoo.o == 1, bool(zoo.o))",
    "print(isinstance(zoo.o, zoo.cls))",
    "print(zoo.cls[int])",
    "print(zoo.cls(), zoo.cls)",
    "print(list(zoo.enum_cls), zoo.enum_cls['LOW'], 1 in zoo.enum_cls)",
    "print(zoo.member, f'{zoo.member}', {zoo.member: 1}, zoo.member == 1)",
    "print(zoo.by_level, list(zoo.by_level.items()), zoo.by_level.get(1))",
    "print(zoo.keyed, zoo.keyed.get('k'), zoo.keyed.get(5), zoo.keyed.get((1,)))",
    "print(zoo.in_list, zoo.in_list.count(1), 1 in zoo.in_list, sorted(zoo.in_list))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_hostile_subclass_hooks_never_run(held, probe: str) -> None:
    """No hook of a hostile host subclass runs, in the host or the fork child."""
    held(probe, frozenset({"ok", "error", "denied"}), expose=ZOO)
