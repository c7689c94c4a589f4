"""Technique: reach the attribute guard's one-lookup path for the probe's own values
(sandbox.guarded_getattr, ``_PLAIN_READS``) with something that is not exactly the builtin
type the answer was made for: host subclasses of str, int, list and dict whose hooks count
host code, an IntEnum member of a host enum with a hostile metaclass, and a probe name
bound to a list on one turn of a loop and to a view of a host list on the next. A fast
path keyed by ``isinstance`` on the builtin base would hand out a host subclass's bound
method (a hooked ``upper``, ``append`` on the host's list) if a probe ever held one; one
keyed by the name alone, or by the first value's type, lets a view through to ``getattr``,
so a write to the host's list fails as an AttributeError naming safeprobe's view class
instead of being refused (the last two probes catch that version).
Source: the "subclass of a builtin overrides the method" escapes of Python sandboxes
(pysandbox's post-mortem, Victor Stinner, 2013: "pysandbox is broken by design").
"""

import pytest

from tests.adversarial.conftest import REFUSED

ZOO = {"zoo": {"target": "__main__:zoo", "allow": ["**"]}}

PROBES = [
    "print(zoo.s.upper(), zoo.s.lower(), zoo.s.strip())",
    "print(zoo.i.bit_length(), zoo.f.is_integer())",
    "zoo.l.append(4)\nprint(zoo.l)",
    "x = zoo.d.keys()\nprint(sorted(x))",
    "print(zoo.member.bit_length())",
    # The same name bound to the probe's own list, then to a view of the host's list.
    "for xs in [[1], zoo.l, [2], zoo.l]:\n    xs.append(9)\nprint('appended')",
]


@pytest.mark.parametrize("probe", PROBES)
def test_plain_method_fast_path_takes_exact_builtin_types_only(held, probe: str) -> None:
    """Methods of host subclasses and of views never come from the one-lookup path: no
    host hook runs and no host object is written (held's digest)."""
    record = held(probe, REFUSED | {"ok"}, expose=ZOO)
    if "append" in probe:
        assert record["outcome"] == "denied", record["reason"]
        assert "appended" not in str(record["_report"])
